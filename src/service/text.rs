//! How the service's results read: what was installed or removed, and what `status` found.

use super::runner::shell_quote;
use super::workflow::{Install, Report, Uninstall};
use super::{Format, Scope, Status, Target};

/// The line `--print` writes to stderr before the steps.
pub fn nothing_changed(target: &Target) -> String {
    format!("# a {} ({}); nothing was changed", target.kind(), target.when())
}

/// What was installed, what it runs and where its logs go.
pub fn installed(i: &Install) -> String {
    let t = &i.target;
    let runs: Vec<String> = i.argv.iter().map(|w| shell_quote(w)).collect();
    let mut o = format!("Installed a {} ({}): {}\n", t.kind(), t.when(), t.file.display());
    o += &format!("  runs: {}\n", runs.join(" "));
    o += &format!("  logs: {}\n", t.logs_hint());
    if (t.format, t.scope) == (Format::Systemd, Scope::User) {
        o += "  to start it at boot rather than at login: sudo loginctl enable-linger $USER\n";
    }
    o
}

/// What was removed, or that there was nothing.
pub fn uninstalled(u: &Uninstall) -> String {
    let t = &u.target;
    if u.installed {
        format!("Stopped and removed the {}: {}\n", t.kind(), t.file.display())
    } else {
        format!("No {} was installed ({} does not exist)\n", t.kind(), t.file.display())
    }
}

/// The service's state in one line, its file, and its logs or the other scope's service.
pub fn status(r: &Report) -> String {
    let t = &r.target;
    let mut o = format!(
        "saf-net {} ({}): {}\n",
        t.kind(),
        t.when(),
        summary(&r.status, t.format)
    );
    o += &format!("  file: {}\n", t.file.display());
    if r.status.installed {
        o += &format!("  logs: {}\n", t.logs_hint());
    } else if let Some(other) = &r.other {
        let flag = match other.scope {
            Scope::System => "--system",
            Scope::User => "--user",
        };
        o += &format!(
            "  a {} is installed ({}): see `saf-net service status {flag}`\n",
            other.kind(),
            other.file.display()
        );
    }
    o
}

/// Installed or not, loaded (enabled) or not, running or not, with what the manager adds.
fn summary(st: &Status, format: Format) -> String {
    let pid = st.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    let detail = detail(st);
    let manager = match format {
        Format::Launchd => "loaded",
        Format::Systemd => "enabled",
    };
    match (st.installed, st.loaded, st.running) {
        (true, _, true) => format!("installed, running{pid}"),
        (true, true, false) => format!("installed, not running{detail}"),
        (true, false, false) => format!("installed, not {manager}, not running{detail}"),
        (false, _, true) => format!("not installed, but running{pid}: `saf-net service uninstall` stops it"),
        (false, true, false) => format!("not installed, but still {manager}: `saf-net service uninstall` clears it"),
        (false, false, false) => "not installed".to_string(),
    }
}

/// A stopped service's state and last exit code, when the manager gives them.
fn detail(st: &Status) -> String {
    let mut detail: Vec<String> = Vec::new();
    if let Some(state) = st.state.as_deref().filter(|s| !st.running && *s != "inactive") {
        detail.push(format!("state: {state}"));
    }
    if let Some(code) = st.last_exit.as_deref().filter(|_| !st.running) {
        detail.push(format!("last exit code: {code}"));
    }
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", detail.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Host;

    fn target(scope: Scope) -> Target {
        let host = Host {
            uid: Some(501),
            home: Some("/home/ann".into()),
            ..Host::default()
        };
        Target::new(Format::Systemd, scope, &host).unwrap()
    }

    #[test]
    fn a_stopped_service_says_why_and_where_its_logs_are() {
        let st = Status {
            installed: true,
            loaded: true,
            state: Some("failed".into()),
            ..Status::default()
        };
        let r = Report {
            target: target(Scope::User),
            status: st,
            other: None,
        };
        assert_eq!(
            status(&r),
            "saf-net systemd user service (starts at login, runs as you): installed, not running (state: failed)
  file: /home/ann/.config/systemd/user/saf-net.service
  logs: journalctl --user -u saf-net.service -f
"
        );
    }

    #[test]
    fn a_service_missing_here_points_at_the_other_scope() {
        let r = Report {
            target: target(Scope::User),
            status: Status::default(),
            other: Some(target(Scope::System)),
        };
        let text = status(&r);
        assert!(text.starts_with("saf-net systemd user service (starts at login, runs as you): not installed\n"));
        assert!(
            text.ends_with(
                "  a systemd system service is installed (/etc/systemd/system/saf-net.service): see `saf-net service status --system`\n"
            ),
            "{text}"
        );
    }
}
