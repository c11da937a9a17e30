//! `saf-net completions SHELL` and `saf-net man` through the binary: scripts a shell accepts, a page man renders.

mod common;

use std::process::{Command, Stdio};

use common::{saf_net, text};

#[test]
fn completions_are_printed_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = saf_net().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {out:?}");
        let script = text(&out.stdout);
        assert!(script.len() > 1000, "{shell}: {script}");
        for sub in ["client", "server", "latency", "completions"] {
            assert!(script.contains(sub), "{shell} script does not name {sub}");
        }
    }
}

#[test]
fn bash_accepts_its_script() {
    let script = text(&saf_net().args(["completions", "bash"]).output().unwrap().stdout);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saf-net.bash");
    std::fs::write(&path, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&path).output().unwrap();
    assert!(check.status.success(), "bash -n: {}", text(&check.stderr));
    // Sourced, it registers the completion function for saf-net.
    let probe = format!("source {} && complete -p saf-net", path.display());
    let out = Command::new("bash").args(["-c", &probe]).output().unwrap();
    assert!(text(&out.stdout).contains("saf-net"), "{out:?}");
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = saf_net().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(text(&out.stderr).lines().count(), 1, "{out:?}");
}

#[test]
fn the_man_page_is_roff_that_man_renders() {
    let out = saf_net().arg("man").output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let page = text(&out.stdout);
    assert!(page.contains("\n.TH saf-net 1 "), "{}", &page[..300]);
    assert!(
        page.contains("client") && page.contains("tune"),
        "the subcommands are listed"
    );
    let Ok(mut man) = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        eprintln!("SKIPPED (man is not installed): the rendering of the man page was not checked");
        return;
    };
    std::io::Write::write_all(&mut man.stdin.take().unwrap(), page.as_bytes()).unwrap();
    let shown = man.wait_with_output().unwrap();
    assert!(shown.status.success(), "man -l: {}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(shown.contains("NAME") && shown.contains("SYNOPSIS"), "{shown}");
    assert!(!shown.contains(".TH"), "roff was rendered, not shown: {shown}");
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = saf_net().args(["man", "--dir"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    for page in ["saf-net.1", "saf-net-client.1", "saf-net-tune-apply.1", "saf-net-man.1"] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH "), "{page}");
    }
    let missing = saf_net()
        .args(["man", "--dir", "/nonexistent/saf-net-man"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(text(&missing.stderr).contains("no such folder"), "{missing:?}");
}
