//! Checks made before a lab command touches anything: root, and the programs it needs.

use std::path::Path;

use super::LabError;
use super::parse;

/// The programs the lab runs, with the Debian package that has each.
pub const TOOLS: [(&str, &str); 4] = [
    ("ip", "iproute2"),
    ("tc", "iproute2"),
    ("ethtool", "ethtool"),
    ("kill", "procps"),
];

/// The effective uid of this process, from /proc.
pub fn effective_uid() -> Option<u32> {
    parse::effective_uid(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// Fails unless running as root; `action` names the command for the message.
pub fn require_root(action: &str) -> Result<(), LabError> {
    match effective_uid() {
        Some(0) => Ok(()),
        _ => Err(LabError::NotRoot {
            action: action.to_string(),
        }),
    }
}

fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(program);
        p.is_file()
            && std::fs::metadata(&p)
                .is_ok_and(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
    })
}

/// Fails naming the first missing program and its package.
pub fn require_tools() -> Result<(), LabError> {
    for (tool, package) in TOOLS {
        if !on_path(tool) {
            return Err(LabError::MissingTool { tool, package });
        }
    }
    if !Path::new("/proc/self/ns/net").exists() {
        return Err(LabError::NoNetns);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_and_path_lookups_work_here() {
        assert!(effective_uid().is_some());
        assert!(on_path("sh"));
        assert!(!on_path("no-such-program-saf-net"));
    }
}
