//! `sysctl -n NAME` and `sysctl -w NAME=VALUE`: the same words on macOS and Linux.

use std::collections::BTreeMap;

use super::TuneError;
use super::settings::normalize_value;
use crate::runner::{Cmd, Runner};

/// The read-only command that prints a sysctl's value.
pub fn read_command(name: &str) -> Cmd {
    Cmd::new("sysctl").args(["-n", name]).read_only()
}

/// The command that sets a sysctl. A vector value ("4096 131072 67108864") stays one argument.
pub fn write_command(name: &str, value: &str) -> Cmd {
    Cmd::new("sysctl").args(["-w", &format!("{name}={value}")])
}

/// A sysctl's value now, whitespace normalized.
pub fn read(r: &mut Runner, name: &str) -> Result<String, TuneError> {
    let cmd = read_command(name);
    let out = r.output(&cmd)?;
    let v = normalize_value(&out);
    if v.is_empty() {
        return Err(TuneError::Output {
            cmd: cmd.to_string(),
            detail: "it printed nothing".into(),
        });
    }
    Ok(v)
}

/// The values of `names` now; stops at the first that cannot be read.
pub fn read_all<'a>(
    r: &mut Runner,
    names: impl IntoIterator<Item = &'a String>,
) -> Result<BTreeMap<String, String>, TuneError> {
    names.into_iter().map(|n| Ok((n.clone(), read(r, n)?))).collect()
}

/// The sysctls that cap what applications may ask for: raised before the values that must fit under
/// them, lowered after.
pub fn is_cap(name: &str) -> bool {
    matches!(name, "kern.ipc.maxsockbuf" | "net.core.rmem_max" | "net.core.wmem_max")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_read_and_write() {
        assert_eq!(
            read_command("net.core.rmem_max").to_string(),
            "sysctl -n net.core.rmem_max"
        );
        assert!(read_command("x").read_only);
        let w = write_command("net.ipv4.tcp_rmem", "4096 131072 67108864");
        assert_eq!(w.args, ["-w", "net.ipv4.tcp_rmem=4096 131072 67108864"]);
        assert_eq!(w.to_string(), "sysctl -w 'net.ipv4.tcp_rmem=4096 131072 67108864'");
        assert!(!w.read_only);
        let mut r = Runner::record()
            .ok("sysctl -n net.ipv4.tcp_rmem", "4096\t131072\t6291456\n")
            .ok("sysctl -n empty", "\n")
            .fail(
                "sysctl -n nosuch",
                "sysctl: cannot stat /proc/sys/nosuch: No such file or directory",
            );
        assert_eq!(read(&mut r, "net.ipv4.tcp_rmem").unwrap(), "4096 131072 6291456");
        assert!(
            read(&mut r, "empty")
                .unwrap_err()
                .to_string()
                .contains("printed nothing")
        );
        let e = read(&mut r, "nosuch").unwrap_err().to_string();
        assert!(e.contains("No such file or directory"), "{e}");
        assert!(is_cap("kern.ipc.maxsockbuf") && !is_cap("net.inet.tcp.sendspace"));
    }
}
