//! The iperf3 drop-in: `saf-net -c HOST …`, `saf-net -s …`, or the binary called through a link named
//! `iperf3`, take iperf3's options with iperf3's meanings ([`argv::translate`] into saf-net's own command
//! line), print iperf3's text (`kinds::throughput::iperf3_text`) or `-J`, and exit as iperf3 does: 0 or 1.
//! Which options are taken: `flags.rs` and docs/iperf3.md.

pub mod argv;
pub mod flags;
pub mod output;

use std::ffi::OsString;
use std::path::Path;

pub use argv::{ArgvError, Options, Request, translate};

/// Whether this command line is iperf3's: the program is called `iperf3`, or an iperf3-only option (`-c`,
/// `-s`, `-J`, also attached or clustered: `-c127.0.0.1`, `-uc`) comes before any saf-net subcommand. saf-net
/// itself takes no option but -h and -V before its subcommand, so nothing of its own is taken for iperf3's.
pub fn wanted(argv: &[OsString]) -> bool {
    let program = argv
        .first()
        .and_then(|p| Path::new(p).file_name())
        .and_then(|n| n.to_str());
    if program.is_some_and(|n| n == "iperf3" || n.starts_with("iperf3.")) {
        return true;
    }
    let subcommands: Vec<String> = <crate::cli::Cli as clap::CommandFactory>::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let mut value_next = false;
    for arg in argv.iter().skip(1).filter_map(|a| a.to_str()) {
        if value_next {
            value_next = false;
            continue;
        }
        if subcommands.iter().any(|s| s == arg) {
            return false;
        }
        let (only, takes) = iperf3_only(arg);
        if only {
            return true;
        }
        value_next = takes;
    }
    false
}

/// Whether `arg` names -c, -s or -J (long, short or in a cluster), and whether the next word is its value.
fn iperf3_only(arg: &str) -> (bool, bool) {
    if let Some(long) = arg.strip_prefix("--") {
        let name = long.split('=').next().unwrap_or_default();
        let only = ["client", "server", "json"].contains(&name);
        let takes = !long.contains('=')
            && flags::FLAGS
                .iter()
                .any(|f| f.long == name && f.takes == flags::Takes::Value);
        return (only, takes);
    }
    let Some(cluster) = arg.strip_prefix('-') else {
        return (false, false);
    };
    for (at, c) in cluster.char_indices() {
        if ['c', 's', 'J'].contains(&c) {
            return (true, false);
        }
        if flags::FLAGS
            .iter()
            .any(|f| f.short == Some(c) && f.takes == flags::Takes::Value)
        {
            return (false, at + c.len_utf8() == cluster.len());
        }
    }
    (false, false)
}

/// The text of `iperf3 -h` for the drop-in: the options it takes.
pub fn help() -> String {
    let mut text = String::from(
        "Usage: saf-net [-s|-c host] [options]   (or through a link named iperf3)\n\
         saf-net's iperf3 drop-in: iperf3's options with iperf3's meanings, iperf3's text or -J, exit 0 or 1.\n\
         Options taken:\n",
    );
    for f in flags::supported() {
        let short = f.short.map_or("    ".to_string(), |c| format!("-{c}, "));
        text.push_str(&format!("  {short}--{}\n", f.long));
    }
    text.push_str("Any other iperf3 option is refused with one line naming it. See docs/iperf3.md; saf-net --help for saf-net's own commands.\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn iperf3_command_lines_are_recognised() {
        assert!(wanted(&os(&["/usr/local/bin/iperf3", "-v"])));
        assert!(wanted(&os(&["iperf3"])));
        assert!(wanted(&os(&["saf-net", "-c", "host"])));
        assert!(wanted(&os(&["saf-net", "-c127.0.0.1"])));
        assert!(wanted(&os(&["saf-net", "-J", "-t", "2", "-c", "h"])));
        assert!(wanted(&os(&["saf-net", "-s"])));
        assert!(wanted(&os(&["saf-net", "--client=h"])));
        assert!(wanted(&os(&["saf-net", "-V", "-t", "5", "-c", "h"])));
        assert!(wanted(&os(&["saf-net", "-uc", "h"])));
    }

    #[test]
    fn saf_net_command_lines_are_left_alone() {
        assert!(!wanted(&os(&["saf-net"])));
        assert!(!wanted(&os(&["saf-net", "client", "-c", "cubic"])));
        assert!(!wanted(&os(&["saf-net", "server", "-s"])));
        assert!(!wanted(&os(&["saf-net", "--help"])));
        assert!(!wanted(&os(&["saf-net", "-V"])));
        assert!(!wanted(&os(&["/opt/saf-net", "lab", "up"])));
        assert!(!wanted(&os(&["saf-net", "-t", "-c"])), "-c as -t's value is not -c");
    }

    #[test]
    fn help_lists_what_is_taken_and_not_what_is_refused() {
        let h = help();
        assert!(h.contains("-c, --client") && h.contains("--connect-timeout") && h.contains("-Z, --zerocopy"));
        assert!(!h.contains("--tos") && !h.contains("--daemon"));
    }
}
