//! Shell completions (clap_complete) and the man page (clap_mangen), both generated from the clap command.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "saf-net", &mut out);
    out
}

/// The top-level man page (section 1) as roff.
pub fn man_page() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

/// Writes saf-net.1 and a page per subcommand (saf-net-client.1, saf-net-tune-apply.1, …) into `dir`, which
/// must exist; returns the files written.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut cmd = Cli::command();
    cmd.build();
    write_tree(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_tree(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_string();
    let path = dir.join(format!("{name}.1"));
    let mut text = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut text)?;
    std::fs::File::create(&path)?.write_all(&text)?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_tree(sub, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let text = String::from_utf8(completions(shell)).unwrap();
            for sub in ["client", "server", "tune", "completions", "man"] {
                assert!(text.contains(sub), "{shell}: no {sub}");
            }
        }
    }

    #[test]
    fn the_man_page_is_roff_with_every_subcommand() {
        let text = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(text.contains("\n.TH saf-net 1 "), "{}", &text[..200]);
        assert!(text.contains("\n.SH SYNOPSIS\n"), "{}", &text[..200]);
        for sub in ["client", "server", "latency", "tune"] {
            assert!(text.contains(sub), "no {sub}");
        }
    }
}
