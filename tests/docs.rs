//! The documentation as a product: `docs/cli.md` is generated from clap and must be current, every link in
//! the Markdown documents resolves (files and `#anchors`, by GitHub's anchor rules), no document cites a
//! path outside the repository, the README stays a short front door whose commands parse, and the
//! CHANGELOG's newest release is the crate's version.
//!
//! Refresh `docs/cli.md` (and the help snapshots) after a CLI change:
//! `SAF_NET_BLESS=1 cargo test --no-fail-fast --test docs --test help`.

mod cli_support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use clap::{Arg, ArgAction, Command};
use cli_support::{BLESS_COMMAND, Check, root};

/// The README's size limit: what a newcomer reads before the docs take over.
const README_MAX_BYTES: usize = 12 * 1024;

// ---------------------------------------------------------------------------------------------------------
// docs/cli.md, generated from clap
// ---------------------------------------------------------------------------------------------------------

fn words(path: &[String]) -> String {
    std::iter::once("saf-net")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Text for one table cell: one line, `|` escaped, `<` not taken for HTML.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
}

/// A paragraph of help text for Markdown: `<` not taken for HTML, lines kept.
fn prose(text: &str) -> String {
    text.trim().replace('<', "&lt;")
}

/// How the argument is written: `-p, --port <N>`, `<HOST>`, `[HISTORY]...`, `-- <COMMAND>...`.
fn arg_spec(a: &Arg) -> String {
    let values = a
        .get_value_names()
        .map(|n| n.iter().map(|v| format!("<{v}>")).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| format!("<{}>", a.get_id().as_str().to_uppercase()));
    let many = a.get_num_args().is_some_and(|r| r.max_values() > 1);
    if a.is_positional() {
        // As clap's usage line writes them.
        let dots = if many { "..." } else { "" };
        let bare = values.trim_start_matches('<').trim_end_matches('>');
        return match (a.is_required_set(), a.is_last_set()) {
            (true, false) => format!("{values}{dots}"),
            (true, true) => format!("-- {values}{dots}"),
            (false, false) => format!("[{bare}]{dots}"),
            (false, true) => format!("[-- {values}{dots}]"),
        };
    }
    let mut names = Vec::new();
    if let Some(c) = a.get_short() {
        names.push(format!("-{c}"));
    }
    if let Some(l) = a.get_long() {
        names.push(format!("--{l}"));
    }
    let mut s = names.join(", ");
    if a.get_action().takes_values() {
        s.push(' ');
        s.push_str(&values);
    }
    if matches!(a.get_action(), ArgAction::Count) {
        s.push_str(" (repeatable)");
    }
    s
}

fn arg_default(a: &Arg) -> String {
    if !a.get_action().takes_values() || a.is_hide_default_value_set() {
        return String::new();
    }
    let defaults: Vec<String> = a
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if defaults.is_empty() {
        if a.is_required_set() {
            "required".into()
        } else {
            String::new()
        }
    } else {
        format!("`{}`", defaults.join(" "))
    }
}

fn arg_meaning(a: &Arg) -> String {
    let mut text = a
        .get_long_help()
        .or(a.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    if a.get_action().takes_values() && !a.is_hide_possible_values_set() {
        let values: Vec<String> = a
            .get_possible_values()
            .iter()
            .filter(|v| !v.is_hide_set())
            .map(|v| match v.get_help() {
                Some(h) => format!("`{}`: {h}", v.get_name()),
                None => format!("`{}`", v.get_name()),
            })
            .collect();
        if !values.is_empty() {
            let sep = match text.trim_end().chars().last() {
                None => "",
                Some('.') => " ",
                Some(_) => ". ",
            };
            let _ = write!(text, "{sep}Values: {}.", values.join("; "));
        }
    }
    cell(&text)
}

fn command_section(md: &mut String, cmd: &Command, path: &[String]) {
    let _ = writeln!(md, "## `{}`\n", words(path));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = writeln!(md, "{}\n", prose(&about.to_string()));
    }
    let usage = cmd.clone().render_usage().to_string();
    let _ = writeln!(md, "```text\n{}\n```\n", usage.trim());

    let subs: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        md.push_str("| Command | What it does |\n|---|---|\n");
        for s in subs {
            let mut sub_path = path.to_vec();
            sub_path.push(s.get_name().to_string());
            let title = words(&sub_path);
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(md, "| [`{title}`](#{}) | {} |", slug(&title), cell(&about));
        }
        md.push('\n');
    }

    let args: Vec<&Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .collect();
    if !args.is_empty() {
        md.push_str("| Argument | Default | Environment | Meaning |\n|---|---|---|---|\n");
        for a in args {
            let env = match a.get_env() {
                Some(e) if !a.is_hide_env_set() => format!("`{}`", e.to_string_lossy()),
                _ => String::new(),
            };
            let _ = writeln!(
                md,
                "| `{}` | {} | {env} | {} |",
                arg_spec(a),
                arg_default(a),
                arg_meaning(a)
            );
        }
        md.push('\n');
    }
    if let Some(after) = cmd.get_after_long_help().or(cmd.get_after_help()) {
        let _ = writeln!(md, "{}\n", prose(&after.to_string()));
    }
}

/// The whole of `docs/cli.md`.
fn cli_markdown() -> String {
    let cmd = cli_support::built_command();
    let paths = cli_support::command_paths();
    let mut md = String::new();
    md.push_str(
        "# saf-net command-line reference\n\n\
         <!-- Generated from the clap definitions in src/cli/ by tests/docs.rs; do not edit by hand.\n     \
         Refresh: SAF_NET_BLESS=1 cargo test --no-fail-fast --test docs --test help -->\n\n\
         Every subcommand, argument, default and environment variable, generated from the same definitions as\n\
         `saf-net --help`, so it cannot drift from the binary. Every command also takes `-h`/`--help`, and\n\
         `saf-net -V`/`--version` prints the version. Sizes take 1024-based `K`/`M`/`G`/`T` suffixes, rates\n\
         1000-based ones, times are seconds; why the defaults are what they are, with examples, is in\n\
         [usage.md](usage.md), [client.md](client.md) and [server.md](server.md).\n\n",
    );
    for path in &paths {
        let title = words(path);
        let indent = "  ".repeat(path.len().saturating_sub(1));
        let _ = writeln!(md, "{indent}- [`{title}`](#{})", slug(&title));
    }
    md.push('\n');
    for path in &paths {
        command_section(&mut md, cli_support::find(&cmd, path), path);
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

#[test]
fn cli_md_is_generated_from_clap_and_current() {
    let generated = cli_markdown();
    if let Check::Stale(why) = cli_support::check_or_bless(&root().join("docs/cli.md"), &generated) {
        panic!(
            "docs/cli.md is not what clap's definitions generate ({why}).\nRegenerate it with\n    {BLESS_COMMAND}\n\
             and review `git diff docs/cli.md` before committing."
        );
    }
}

/// The generator really covers the tree: every user-facing command has a section, every visible flag a row.
#[test]
fn cli_md_has_every_command_and_flag() {
    let md = cli_markdown();
    let cmd = cli_support::built_command();
    for path in cli_support::command_paths() {
        let heading = format!("\n## `{}`\n", words(&path));
        assert!(md.contains(&heading), "no section {heading:?}");
        let section = md.split(&heading).nth(1).unwrap().split("\n## ").next().unwrap();
        for a in cli_support::find(&cmd, &path).get_arguments() {
            if a.is_hide_set() || matches!(a.get_id().as_str(), "help" | "version") {
                continue;
            }
            let row = format!("| `{}` |", arg_spec(a));
            assert!(section.contains(&row), "{}: no row {row}", words(&path));
        }
    }
    assert!(
        !md.contains("tune watch"),
        "the hidden internal command is not documented"
    );
    // Spot checks against what the flags really are.
    assert!(md.contains("| `-p, --port <PORT>` | `5301` | `SAF_NET_PORT` |"), "{md}");
    assert!(md.contains("| `--mode <MODE>` | `tcp` |"));
    assert!(md.contains("`connect`: TCP handshake time"));
    assert!(md.contains("| `[-- <SERVER_FLAGS>...]` |"));
    assert!(md.contains("| `[HISTORY]...` |"));
    assert!(md.contains("| `-- <COMMAND>...` | required |"));
    assert!(md.contains("| `<HOST>` | required |"));
}

// ---------------------------------------------------------------------------------------------------------
// Markdown: headings, anchors, links
// ---------------------------------------------------------------------------------------------------------

/// The documents whose links are checked.
fn documents() -> Vec<PathBuf> {
    let mut docs: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "CHANGELOG.md", "bench/README.md"]
        .iter()
        .map(|p| root().join(p))
        .collect();
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    docs.extend(pages);
    docs
}

fn rel(path: &Path) -> String {
    path.strip_prefix(root()).unwrap_or(path).display().to_string()
}

/// A line of a Markdown file, with whether it sits in a fenced code block.
struct Line<'a> {
    number: usize,
    text: &'a str,
    in_code: bool,
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut fence: Option<String> = None;
    let mut out = Vec::new();
    for (i, text) in text.lines().enumerate() {
        let trimmed = text.trim_start();
        let marker: String = trimmed.chars().take_while(|&c| c == '`' || c == '~').collect();
        let is_fence = marker.len() >= 3 && marker.chars().all(|c| c == marker.chars().next().unwrap());
        match &fence {
            Some(open) if is_fence && marker.starts_with(open.as_str()) && trimmed.trim() == marker => {
                out.push(Line {
                    number: i + 1,
                    text,
                    in_code: true,
                });
                fence = None;
                continue;
            }
            Some(_) => {}
            None if is_fence => {
                out.push(Line {
                    number: i + 1,
                    text,
                    in_code: true,
                });
                fence = Some(marker);
                continue;
            }
            None => {}
        }
        out.push(Line {
            number: i + 1,
            text,
            in_code: fence.is_some(),
        });
    }
    out
}

/// The line without its inline code spans.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|&c| c == '`').count();
        let ticks = &rest[start..start + run];
        let after = &rest[start + run..];
        match after.find(ticks) {
            Some(end) => rest = &after[end + run..],
            None => {
                out.push_str(ticks);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// GitHub's anchor for a heading: lowercase, letters, digits, `-` and `_` kept, spaces → `-`, the rest dropped.
fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `[text](url)` → `text`, `![alt](url)` → `alt`: what a heading shows.
fn link_texts(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(close) = rest.find("](") {
        let Some(open) = rest[..close].rfind('[') else { break };
        let Some(end) = rest[close..].find(')') else { break };
        let prefix = rest[..open].strip_suffix('!').unwrap_or(&rest[..open]);
        out.push_str(prefix);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[close + end + 1..];
    }
    out.push_str(rest);
    out
}

/// Every anchor a Markdown file has: one per heading, duplicates numbered `-1`, `-2`, … as GitHub does.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in lines(text) {
        if line.in_code {
            continue;
        }
        let t = line.text.trim_start();
        let hashes = t.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !t[hashes..].starts_with(' ') {
            continue;
        }
        let title = t[hashes..].trim().trim_end_matches('#').trim();
        let base = slug(&link_texts(title));
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

/// Every link target in a Markdown file with its line: inline links and images, and reference definitions.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for line in lines(text) {
        if line.in_code {
            continue;
        }
        let plain = without_code_spans(line.text);
        // Reference definition: `[name]: target`.
        let t = plain.trim_start();
        if t.starts_with('[')
            && let Some(end) = t.find("]:")
        {
            if let Some(target) = t[end + 2..].split_whitespace().next() {
                out.push((line.number, target.to_string()));
            }
            continue;
        }
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let mut depth = 0usize;
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' => depth -= 1,
                    _ => {}
                }
            }
            let target = after[..end].split_whitespace().next().unwrap_or("");
            let target = target.trim_start_matches('<').trim_end_matches('>');
            out.push((line.number, target.to_string()));
            rest = &after[end.min(after.len())..];
        }
    }
    out
}

/// `path` with `.` and `..` folded away, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What is wrong with one link of `doc`, if anything.
fn check_link(doc: &Path, target: &str, cache: &mut BTreeMap<PathBuf, BTreeSet<String>>) -> Option<String> {
    if target.is_empty() {
        return Some("empty link".into());
    }
    if ["http://", "https://", "mailto:"].iter().any(|s| target.starts_with(s)) {
        return None;
    }
    let (file, anchor) = match target.split_once('#') {
        Some((f, a)) => (f, Some(a)),
        None => (target, None),
    };
    let resolved = if file.is_empty() {
        doc.to_path_buf()
    } else if let Some(from_root) = file.strip_prefix('/') {
        root().join(from_root)
    } else {
        normalize(&doc.parent().unwrap().join(file.replace("%20", " ")))
    };
    if !resolved.starts_with(root()) {
        return Some(format!("{target}: outside the repository"));
    }
    if !resolved.exists() {
        return Some(format!("{target}: no such file {}", rel(&resolved)));
    }
    let anchor = anchor?;
    if resolved.extension().is_none_or(|e| e != "md") {
        return Some(format!("{target}: an anchor into a file that is not Markdown"));
    }
    let known = cache
        .entry(resolved.clone())
        .or_insert_with(|| anchors(&std::fs::read_to_string(&resolved).unwrap()));
    if known.contains(anchor) {
        None
    } else {
        Some(format!(
            "{target}: {} has no heading with anchor #{anchor}",
            rel(&resolved)
        ))
    }
}

#[test]
fn every_link_in_the_documents_resolves() {
    let mut cache = BTreeMap::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{}: {e}", rel(&doc)));
        for (line, target) in links(&text) {
            checked += 1;
            if let Some(why) = check_link(&doc, &target, &mut cache) {
                problems.push(format!("{}:{line}: {why}", rel(&doc)));
            }
        }
    }
    assert!(checked > 100, "only {checked} links found: is the link parser broken?");
    assert!(
        problems.is_empty(),
        "{} broken links:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// Relative paths (`../x`) that leave the repository or name nothing in it, in links, code spans and code blocks
/// alike: a document cites only what a clone has.
fn paths_outside(doc: &Path, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let dir = doc.parent().unwrap();
    for line in lines(text) {
        let s = line.text;
        for (at, _) in s.match_indices("../") {
            let before = s[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '/' | '_' | '-')) {
                continue; // in the middle of a path that starts earlier
            }
            let token: String = s[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && !"`)]\"'<>,;*{$#".contains(*c))
                .collect();
            let resolved = normalize(&dir.join(&token));
            if !resolved.starts_with(root()) {
                out.push(format!(
                    "{}:{}: {token} (outside the repository)",
                    rel(doc),
                    line.number
                ));
            } else if !resolved.exists() {
                out.push(format!("{}:{}: {token} (not in the repository)", rel(doc), line.number));
            }
        }
    }
    out
}

#[test]
fn no_document_cites_a_path_outside_the_repository() {
    let mut problems = Vec::new();
    for doc in documents() {
        problems.extend(paths_outside(&doc, &std::fs::read_to_string(&doc).unwrap()));
    }
    assert!(
        problems.is_empty(),
        "paths outside the repository:\n  {}",
        problems.join("\n  ")
    );
}

/// The checker itself: GitHub's anchor rules, code blocks and spans, and what counts as broken.
#[test]
fn the_link_checker_finds_what_is_wrong() {
    assert_eq!(slug("Run history (schema v4)"), "run-history-schema-v4");
    assert_eq!(slug("`saf-net client HOST`"), "saf-net-client-host");
    assert_eq!(slug("UDP throughput (`-u`)"), "udp-throughput--u");
    assert_eq!(
        slug("The link-rate model (`src/model.rs`)"),
        "the-link-rate-model-srcmodelrs"
    );
    assert_eq!(slug("[0.2.0] - 2026-12-04"), "020---2026-12-04");
    assert_eq!(slug("`saf_net` fields"), "saf_net-fields");
    assert_eq!(
        slug("Latency: saf-net vs sockperf → µs"),
        "latency-saf-net-vs-sockperf--µs"
    );

    let text = "# A\n\n## Tests\n\n```sh\n# not a heading\nsee [x](nowhere.md)\n```\n\n## Tests\n\
                ### [Linked](elsewhere.md) title\nSee `[y](gone.md)` and [z](README.md#a) and [w](#tests-1).\n\
                [ref]: ../LICENSE\n";
    let found = anchors(text);
    assert_eq!(
        found,
        ["a", "tests", "tests-1", "linked-title"]
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>()
    );
    let targets: Vec<String> = links(text).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets, ["elsewhere.md", "README.md#a", "#tests-1", "../LICENSE"]);

    let doc = root().join("docs/x.md");
    let mut cache = BTreeMap::new();
    assert_eq!(check_link(&doc, "../README.md", &mut cache), None);
    assert_eq!(check_link(&doc, "https://example.com/a", &mut cache), None);
    assert!(
        check_link(&doc, "../README.md#no-such-heading", &mut cache)
            .unwrap()
            .contains("no heading")
    );
    assert!(
        check_link(&doc, "nothing-here.md", &mut cache)
            .unwrap()
            .contains("no such file")
    );
    assert!(
        check_link(&doc, "../../shared/ARCHITECTURE.md", &mut cache)
            .unwrap()
            .contains("outside")
    );
    assert!(
        check_link(&doc, "../Cargo.toml#x", &mut cache)
            .unwrap()
            .contains("not Markdown")
    );

    let cited = "Where this deviates from `../shared/ARCHITECTURE.md`\nbut `../src/lib.rs` is here, a/../b too\n";
    assert_eq!(
        paths_outside(&root().join("README.md"), cited),
        [
            "README.md:1: ../shared/ARCHITECTURE.md (outside the repository)",
            "README.md:2: ../src/lib.rs (outside the repository)"
        ]
    );
    assert_eq!(
        paths_outside(&root().join("docs/x.md"), cited),
        ["docs/x.md:1: ../shared/ARCHITECTURE.md (not in the repository)"]
    );
    assert!(
        paths_outside(
            &root().join("docs/x.md"),
            "see [it](../src/lib.rs) and `../reports/example/`"
        )
        .is_empty()
    );
}

// ---------------------------------------------------------------------------------------------------------
// README and CHANGELOG
// ---------------------------------------------------------------------------------------------------------

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).unwrap()
}

#[test]
fn readme_is_a_short_front_door() {
    let text = readme();
    assert!(
        text.len() <= README_MAX_BYTES,
        "README.md is {} bytes, over {README_MAX_BYTES}: move the detail into docs/ and link it",
        text.len()
    );
    // The quick start's two commands (`.ci/run` runs the second one).
    let quick = text.split("## Quick start").nth(1).expect("a Quick start section");
    let quick = quick.split("\n## ").next().unwrap();
    for command in ["cargo run --release -- demo", "cargo test"] {
        assert!(
            quick.lines().any(|l| l.trim_start().starts_with(command)),
            "Quick start lacks `{command}`"
        );
    }
    assert!(
        text.contains("\n## On a Mac: run `scripts/mac-check.sh` first\n"),
        "the Mac owner's section"
    );
    // Every page of docs/ is reachable from the front door, and so are the other documents.
    let targets: BTreeSet<String> = links(&text).into_iter().map(|(_, t)| t).collect();
    let mut pages: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    pages.extend(["ARCHITECTURE.md", "CHANGELOG.md", "bench/README.md"].map(String::from));
    for page in pages {
        assert!(
            targets.iter().any(|t| t.split('#').next() == Some(page.as_str())),
            "README.md does not link {page}"
        );
    }
}

/// Shell words of one command line: quotes group, `#` starts a comment, `&&`, `;`, `|` and `>` end the command.
fn shell_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '#') if !in_word => break,
            (None, c) if c.is_whitespace() || matches!(c, '&' | ';' | '|' | '>') => {
                if in_word {
                    commands.last_mut().unwrap().push(std::mem::take(&mut word));
                    in_word = false;
                }
                if !c.is_whitespace() {
                    while chars.peek().is_some_and(|&n| n == c) {
                        chars.next();
                    }
                    commands.push(Vec::new());
                    if c == '>' {
                        // The redirect's target is not part of any command.
                        while chars.peek().is_some_and(|n| n.is_whitespace()) {
                            chars.next();
                        }
                        while chars.peek().is_some_and(|n| !n.is_whitespace()) {
                            chars.next();
                        }
                    }
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        commands.last_mut().unwrap().push(word);
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// Every `saf-net …` command in a document's shell code blocks, as its words (after `sudo` and `VAR=x`).
fn saf_net_examples(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in lines(text) {
        let t = line.text.trim_start();
        if t.starts_with("```") {
            in_sh = line.in_code && (t == "```sh" || t == "```bash") && !in_sh;
            continue;
        }
        if !in_sh {
            continue;
        }
        for words in shell_commands(line.text) {
            let mut words = words.as_slice();
            while let Some((first, rest)) = words.split_first() {
                if first == "sudo" || (first.contains('=') && !first.starts_with('-')) {
                    words = rest;
                } else {
                    break;
                }
            }
            if words.first().is_some_and(|w| w == "saf-net") {
                out.push((line.number, words.to_vec()));
            }
        }
    }
    out
}

/// The commands a newcomer copies from the README and the usage pages are commands the binary accepts.
#[test]
fn documented_commands_parse() {
    use clap::Parser;
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in ["README.md", "docs/usage.md", "docs/client.md", "docs/server.md"] {
        let text = std::fs::read_to_string(root().join(page)).unwrap();
        for (line, words) in saf_net_examples(&text) {
            checked += 1;
            if let Err(e) = saf_net::cli::Cli::try_parse_from(&words) {
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                problems.push(format!("{page}:{line}: {}: {first}", words.join(" ")));
            }
        }
    }
    assert!(checked >= 20, "only {checked} example commands found");
    assert!(
        problems.is_empty(),
        "documented commands saf-net refuses:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_example_parser_splits_shell_lines() {
    assert_eq!(
        shell_commands(r#"SAF_NET_PSK="$(cat ~/k)" saf-net latency h -J > run.json # note"#),
        [vec!["SAF_NET_PSK=$(cat ~/k)", "saf-net", "latency", "h", "-J"]]
    );
    assert_eq!(
        shell_commands("cargo build --release && scripts/mac-check.sh 1.2.3.4"),
        [
            vec!["cargo", "build", "--release"],
            vec!["scripts/mac-check.sh", "1.2.3.4"]
        ]
    );
    let text = "```sh\nsudo saf-net lab up 1gbe   # x\n```\n```text\nsaf-net nope\n```\n";
    assert_eq!(
        saf_net_examples(text),
        [(2, vec!["saf-net".into(), "lab".into(), "up".into(), "1gbe".into()])]
    );
    use clap::Parser;
    assert!(saf_net::cli::Cli::try_parse_from(["saf-net", "client", "h", "--no-such-flag"]).is_err());
}

/// `## [Unreleased]` on top, then the crate's own version as the newest release, releases newest first.
#[test]
fn changelog_releases_match_the_crate_version() {
    let text = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    let sections: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("## [")).collect();
    assert_eq!(
        sections.first(),
        Some(&"Unreleased]"),
        "the first section is ## [Unreleased]"
    );
    let releases: Vec<(&str, &str)> = sections[1..]
        .iter()
        .map(|s| {
            let (version, date) = s
                .split_once("] - ")
                .unwrap_or_else(|| panic!("## [{s}: not [VERSION] - DATE"));
            assert!(
                date.len() == 10 && date.chars().enumerate().all(|(i, c)| matches!(i, 4 | 7) == (c == '-')),
                "## [{s}: the date is not YYYY-MM-DD"
            );
            (version, date)
        })
        .collect();
    assert_eq!(
        releases.first().map(|r| r.0),
        Some(env!("CARGO_PKG_VERSION")),
        "the newest release in CHANGELOG.md is not Cargo.toml's version"
    );
    assert!(
        releases.windows(2).all(|w| w[0].1 >= w[1].1),
        "releases are not newest first: {releases:?}"
    );
}
