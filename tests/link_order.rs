//! scripts/link-ordered.sh, the linker of x86_64 Linux builds: it links as `cc` would, then links a saf-net binary
//! again with the functions of link/saf-net.order first, and keeps the plain link whenever the ordered one cannot be
//! made. Driven here through a fake `cc` that logs its calls and "links" by copying this test binary (an ELF with
//! symbols) to the output.
#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};
use std::process::Command;

const FAKE_CC: &str = r#"#!/bin/sh
echo "CALL $*" >>"$FAKE_LOG"
out=""
prev=""
ordered=no
for a in "$@"; do
    [ "$prev" = "-o" ] && out=$a
    case $a in -Wl,--symbol-ordering-file=*) ordered=yes; cat "${a#-Wl,--symbol-ordering-file=}" >>"$FAKE_LOG.order" ;; esac
    prev=$a
done
[ -n "${FAKE_FAIL_ALL:-}" ] && exit 7
[ "$ordered" = yes ] && [ -n "${FAKE_FAIL_ORDERED:-}" ] && exit 1
cp "$FAKE_ELF" "$out"
"#;

struct Fake {
    dir: tempfile::TempDir,
}

impl Fake {
    fn new() -> Fake {
        let dir = tempfile::tempdir().unwrap();
        let cc = dir.path().join("cc");
        std::fs::write(&cc, FAKE_CC).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        std::fs::set_permissions(&cc, mode).unwrap();
        Fake { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs the wrapper with `args` and the order list `list`; returns its exit code and the fake's calls.
    fn link(&self, args: &[String], list: &Path, env: &[(&str, &str)]) -> (i32, Vec<String>) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/link-ordered.sh");
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(script);
        cmd.args(args)
            .env("PATH", path)
            .env("FAKE_LOG", self.path("log"))
            .env("FAKE_ELF", std::env::current_exe().unwrap())
            .env("SAF_NET_LINK_ORDER", list);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let status = cmd.status().expect("run scripts/link-ordered.sh");
        let log = std::fs::read_to_string(self.path("log")).unwrap_or_default();
        (status.code().unwrap_or(-1), log.lines().map(str::to_string).collect())
    }

    fn ordered(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.path("log.order")).unwrap_or_default();
        text.lines().map(str::to_string).collect()
    }
}

/// A legacy-mangled name without its hash (`17h` + 16 hex digits + `E` → `E`), as the list holds it.
fn without_hash(sym: &str) -> Option<String> {
    let body = sym.strip_suffix('E')?;
    let (head, hash) = body.split_at(body.len().checked_sub(19)?);
    let hex = hash.strip_prefix("17h")?;
    (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("{head}E"))
}

/// Three functions of this binary whose hash-free names are unique, so each list line stands for one symbol.
fn three_functions() -> Vec<(String, String)> {
    let out = Command::new("nm")
        .arg("--defined-only")
        .arg(std::env::current_exe().unwrap())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut count = std::collections::HashMap::<String, usize>::new();
    let mut all = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() == 3
            && matches!(parts[1], "t" | "T")
            && let Some(short) = without_hash(parts[2])
        {
            *count.entry(short.clone()).or_default() += 1;
            all.push((short, parts[2].to_string()));
        }
    }
    let unique: Vec<_> = all.into_iter().filter(|(s, _)| count[s] == 1).collect();
    assert!(unique.len() >= 3, "this test binary has legacy-mangled functions");
    vec![
        unique[unique.len() / 2].clone(),
        unique[0].clone(),
        unique[unique.len() - 1].clone(),
    ]
}

fn lld_link(out: &Path) -> Vec<String> {
    ["-fuse-ld=lld", "a.o", "-o", out.to_str().unwrap(), "-Wl,--gc-sections"]
        .map(String::from)
        .to_vec()
}

#[test]
fn a_saf_net_binary_is_linked_again_in_the_lists_order() {
    let fake = Fake::new();
    let funcs = three_functions();
    let list = fake.path("list");
    // A line for a function that no longer exists is skipped.
    let lines: Vec<&str> = vec![&funcs[0].0, "_ZN7gone3fn_E", &funcs[1].0, &funcs[2].0];
    std::fs::write(&list, lines.join("\n") + "\n").unwrap();
    let out = fake.path("saf_net-0123abcd");
    let args = lld_link(&out);
    let (code, calls) = fake.link(&args, &list, &[]);
    assert_eq!(code, 0);
    assert_eq!(calls.len(), 2, "a plain link, then the ordered one: {calls:?}");
    assert!(!calls[0].contains("symbol-ordering"), "{}", calls[0]);
    assert!(calls[1].contains("-Wl,--no-warn-symbol-ordering"), "{}", calls[1]);
    let want: Vec<String> = funcs.iter().map(|(_, full)| full.clone()).collect();
    assert_eq!(fake.ordered(), want, "the list's order, with today's full names");
    assert!(
        !Path::new(&format!("{}.order", out.display())).exists(),
        "the order file is removed"
    );
}

#[test]
fn other_outputs_and_other_linkers_get_the_plain_link_only() {
    let fake = Fake::new();
    let funcs = three_functions();
    let list = fake.path("list");
    std::fs::write(&list, format!("{}\n", funcs[0].0)).unwrap();
    let other = fake.path("cli-0123abcd");
    let args = lld_link(&other);
    assert_eq!(
        fake.link(&args, &list, &[]).1.len(),
        1,
        "a test binary is not reordered"
    );

    let fake = Fake::new();
    let out = fake.path("saf_net-0123abcd");
    let gnu = ["a.o", "-o", out.to_str().unwrap()].map(String::from);
    let (code, calls) = fake.link(&gnu, &list, &[]);
    assert_eq!(
        (code, calls.len()),
        (0, 1),
        "GNU ld knows no --symbol-ordering-file: {calls:?}"
    );

    let fake = Fake::new();
    let args = lld_link(&out);
    let (code, calls) = fake.link(&args, &fake.path("missing-list"), &[]);
    assert_eq!((code, calls.len()), (0, 1), "no list, no second link");
}

#[test]
fn a_failed_ordered_link_falls_back_and_a_failed_link_fails() {
    let fake = Fake::new();
    let funcs = three_functions();
    let list = fake.path("list");
    std::fs::write(&list, format!("{}\n", funcs[0].0)).unwrap();
    let out = fake.path("saf_net-0123abcd");
    let args = lld_link(&out);
    let (code, calls) = fake.link(&args, &list, &[("FAKE_FAIL_ORDERED", "1")]);
    assert_eq!(code, 0, "the plain link is kept");
    assert_eq!(calls.len(), 3, "plain, ordered (failed), plain again: {calls:?}");
    assert!(!calls[2].contains("symbol-ordering"));

    let fake = Fake::new();
    let (code, calls) = fake.link(&args, &list, &[("FAKE_FAIL_ALL", "1")]);
    assert_eq!(
        (code, calls.len()),
        (7, 1),
        "the linker's own failure and status come through"
    );
}
