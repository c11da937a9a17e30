//! Linux: a systemd unit. A system service in /etc/systemd/system (starts at boot) or a user service
//! in ~/.config/systemd/user (`systemctl --user`, starts at login; `loginctl enable-linger` makes it
//! start at boot). Enabled and started with `systemctl`, inspected with `is-enabled`/`is-active`.

use std::path::{Path, PathBuf};

use super::runner::{Cmd, RunError, Runner};
use super::{Role, Run, Scope, Spec, Status, Step, Target};

/// The server's unit name (the monitor's is [`Role::unit`]'s other answer).
pub const UNIT: &str = "saf-net.service";
/// Seconds systemd waits before starting the server again after a failure.
pub const RESTART_SECS: u32 = 5;

pub fn system_file(role: Role) -> PathBuf {
    Path::new("/etc/systemd/system").join(role.unit())
}

/// The user unit under a config directory (`$XDG_CONFIG_HOME`, else `~/.config`).
pub fn user_file(config: &Path, role: Role) -> PathBuf {
    config.join("systemd/user").join(role.unit())
}

/// One word of a command line in a unit file (ExecStart=). Plain words stay as they are; others are
/// double-quoted with `\` and `"` escaped. `%` (specifiers) and `$` (variables) are doubled in every
/// word, since systemd expands them inside quotes too.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,%$".contains(c));
    let doubled = word.replace('%', "%%").replace('$', "$$");
    if plain {
        doubled
    } else {
        format!("\"{}\"", doubled.replace('\\', r"\\").replace('"', "\\\""))
    }
}

/// Directories that ProtectHome= hides, and that PrivateTmp= replaces.
const HOME_DIRS: [&str; 3] = ["/home", "/root", "/run/user"];
const TMP_DIRS: [&str; 2] = ["/tmp", "/var/tmp"];

fn under_any(paths: &[&Path], dirs: &[&str]) -> bool {
    paths.iter().any(|p| dirs.iter().any(|d| p.starts_with(d)))
}

/// The unit running `argv`.
pub fn render(target: &Target, spec: &Spec, argv: &[String]) -> String {
    let exec: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let mut read: Vec<&Path> = vec![&spec.exe];
    if let Some(k) = &spec.psk_file {
        read.push(k);
    }
    let mut u = String::new();
    u.push_str("# Written by `saf-net service install`; `saf-net service uninstall` removes it.\n");
    u.push_str(&format!("[Unit]\nDescription={}\n", target.role.description()));
    if target.scope == Scope::System {
        u.push_str("After=network-online.target\nWants=network-online.target\n");
    }
    u.push_str("\n[Service]\n");
    u.push_str(&format!("ExecStart={}\n", exec.join(" ")));
    u.push_str(&format!("Restart=on-failure\nRestartSec={RESTART_SECS}\n"));
    match target.scope {
        Scope::System => {
            u.push_str("# Hardening: the server only listens on its ports and reads its key file.\n");
            u.push_str("NoNewPrivileges=yes\nProtectSystem=strict\n");
            if under_any(&read, &HOME_DIRS) {
                u.push_str("# read-only rather than yes: the program or the key file is under a home directory.\n");
                u.push_str("ProtectHome=read-only\n");
            } else {
                u.push_str("ProtectHome=yes\n");
            }
            if under_any(&read, &TMP_DIRS) {
                u.push_str("# No PrivateTmp=: the program or the key file is under /tmp or /var/tmp.\n");
            } else {
                u.push_str("PrivateTmp=yes\n");
            }
            u.push_str(concat!(
                "PrivateDevices=yes\n",
                "ProtectKernelTunables=yes\n",
                "ProtectKernelModules=yes\n",
                "ProtectControlGroups=yes\n",
                "RestrictSUIDSGID=yes\n",
                "RestrictRealtime=yes\n",
                "LockPersonality=yes\n",
                "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK\n",
            ));
            u.push_str("\n[Install]\nWantedBy=multi-user.target\n");
        }
        Scope::User => {
            // The other sandboxing settings need privileges a user manager may not have.
            u.push_str("NoNewPrivileges=yes\n");
            u.push_str("\n[Install]\nWantedBy=default.target\n");
        }
    }
    u
}

fn systemctl(target: &Target) -> Cmd {
    let c = Cmd::new("systemctl");
    match target.scope {
        Scope::System => c,
        Scope::User => c.arg("--user"),
    }
}

fn hint(target: &Target) -> Option<String> {
    (target.scope == Scope::User)
        .then(|| "`systemctl --user` needs your own login session: log in as that user rather than via su".into())
}

/// Write the unit; reload systemd's view of unit files; enable it for boot/login; (re)start it so
/// new settings take effect.
pub fn install_steps(target: &Target, contents: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(dir) = target.file.parent() {
        steps.push(Step::MkDir(dir.to_path_buf()));
    }
    steps.push(Step::Write {
        path: target.file.clone(),
        contents: contents.to_string(),
    });
    let unit = target.role.unit();
    for args in [vec!["daemon-reload"], vec!["enable", unit], vec!["restart", unit]] {
        steps.push(Step::Run(Run {
            cmd: systemctl(target).args(args),
            may_fail: false,
            retry: false,
            hint: hint(target),
        }));
    }
    steps
}

/// Stop and disable (it may be neither), remove the unit, reload, forget a failed state.
pub fn uninstall_steps(target: &Target, installed: bool) -> Vec<Step> {
    let mut steps = vec![Run::may_fail(systemctl(target).args([
        "disable",
        "--now",
        target.role.unit(),
    ]))];
    if installed {
        steps.push(Step::Remove(target.file.clone()));
        steps.push(Run::must(systemctl(target).arg("daemon-reload")));
    }
    steps.push(Run::may_fail(
        systemctl(target).args(["reset-failed", target.role.unit()]),
    ));
    steps
}

fn first_word(text: &str) -> Option<String> {
    text.split_whitespace().next().map(String::from)
}

/// `systemctl is-enabled`, `is-active`, and the main pid when active.
pub fn query(target: &Target, runner: &mut Runner) -> Result<Status, RunError> {
    let enabled = runner.run(&systemctl(target).args(["is-enabled", target.role.unit()]))?;
    let active = runner.run(&systemctl(target).args(["is-active", target.role.unit()]))?;
    // No answer on stdout means systemctl itself failed (e.g. no user manager): its reason is the state.
    let state =
        first_word(&active.stdout).or_else(|| Some(active.reason()).filter(|_| !active.stderr.trim().is_empty()));
    let running = state.as_deref() == Some("active");
    let pid = if running {
        let out = runner.run(&systemctl(target).args(["show", "--property=MainPID", "--value", target.role.unit()]))?;
        first_word(&out.stdout).and_then(|p| p.parse().ok()).filter(|&p| p != 0)
    } else {
        None
    };
    Ok(Status {
        installed: false,
        loaded: first_word(&enabled.stdout).is_some_and(|w| w == "enabled" || w == "enabled-runtime"),
        running,
        state,
        pid,
        last_exit: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::runner::Output;
    use super::super::{Format, Host};
    use super::*;

    fn target(scope: Scope) -> Target {
        let host = Host {
            uid: Some(1000),
            home: Some("/home/ann".into()),
            ..Host::default()
        };
        Target::new(Format::Systemd, scope, &host).unwrap()
    }

    fn spec(exe: &str, key: Option<&str>) -> Spec {
        Spec {
            role: Role::Server,
            exe: exe.into(),
            psk_file: key.map(PathBuf::from),
            server_args: vec!["-p".into(), "5301".into(), "--max-concurrent".into(), "1".into()],
        }
    }

    fn unit(scope: Scope, s: &Spec) -> String {
        render(&target(scope), s, &s.argv().unwrap())
    }

    #[test]
    fn quotes_words_the_way_systemd_reads_them() {
        assert_eq!(quote("/usr/bin/saf-net"), "/usr/bin/saf-net");
        assert_eq!(quote("--max-concurrent"), "--max-concurrent");
        assert_eq!(quote("50%"), "50%%");
        assert_eq!(quote("$HOME"), "$$HOME");
        assert_eq!(quote("/opt/my dir/saf-net"), "\"/opt/my dir/saf-net\"");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quote("it's 100% $x"), "\"it's 100%% $$x\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote(";"), "\";\"");
    }

    #[test]
    fn the_system_unit_is_hardened_and_wanted_at_boot() {
        let u = unit(Scope::System, &spec("/usr/local/bin/saf-net", Some("/etc/saf-net/psk")));
        let want = "\
# Written by `saf-net service install`; `saf-net service uninstall` removes it.
[Unit]
Description=saf-net server (network throughput and latency tests)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/saf-net server --psk-file /etc/saf-net/psk -p 5301 --max-concurrent 1
Restart=on-failure
RestartSec=5
# Hardening: the server only listens on its ports and reads its key file.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectControlGroups=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK

[Install]
WantedBy=multi-user.target
";
        assert_eq!(u, want);
    }

    #[test]
    fn a_key_or_program_under_home_or_tmp_stays_readable() {
        let u = unit(
            Scope::System,
            &spec("/usr/bin/saf-net", Some("/home/ann/.config/saf-net/psk")),
        );
        assert!(
            u.contains("\nProtectHome=read-only\n") && u.contains("\nPrivateTmp=yes\n"),
            "{u}"
        );
        let u = unit(Scope::System, &spec("/root/.cargo/bin/saf-net", None));
        assert!(u.contains("\nProtectHome=read-only\n"), "{u}");
        let u = unit(Scope::System, &spec("/usr/bin/saf-net", Some("/tmp/psk")));
        assert!(
            u.contains("\nProtectHome=yes\n") && !u.contains("\nPrivateTmp=yes"),
            "{u}"
        );
        // A look-alike prefix is not the directory.
        let u = unit(Scope::System, &spec("/homework/saf-net", Some("/tmpfiles/psk")));
        assert!(
            u.contains("\nProtectHome=yes\n") && u.contains("\nPrivateTmp=yes\n"),
            "{u}"
        );
    }

    #[test]
    fn the_user_unit_is_wanted_at_login_without_privileged_sandboxing() {
        let u = unit(Scope::User, &spec("/home/ann/.cargo/bin/saf-net", None));
        assert!(u.contains("\nWantedBy=default.target\n"), "{u}");
        assert!(u.contains("\nNoNewPrivileges=yes\n"), "{u}");
        for absent in ["ProtectSystem", "PrivateTmp", "network-online", "multi-user"] {
            assert!(!u.contains(absent), "{absent} in {u}");
        }
    }

    #[test]
    fn odd_paths_are_quoted_in_exec_start() {
        let u = unit(Scope::System, &spec("/opt/saf net/saf-net", Some("/etc/k 100%/$psk\"")));
        let line = u.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
        assert_eq!(
            line,
            r#"ExecStart="/opt/saf net/saf-net" server --psk-file "/etc/k 100%%/$$psk\"" -p 5301 --max-concurrent 1"#
        );
    }

    #[test]
    fn install_and_uninstall_sequences() {
        let show = |steps: Vec<Step>| -> Vec<String> {
            steps
                .into_iter()
                .map(|s| match s {
                    Step::MkDir(p) => format!("mkdir {}", p.display()),
                    Step::Write { path, .. } => format!("write {}", path.display()),
                    Step::Remove(p) => format!("rm {}", p.display()),
                    Step::Run(r) => format!("{}{}", r.cmd, if r.may_fail { " || true" } else { "" }),
                })
                .collect()
        };
        let u = target(Scope::User);
        assert_eq!(
            show(install_steps(&u, "x")),
            [
                "mkdir /home/ann/.config/systemd/user",
                "write /home/ann/.config/systemd/user/saf-net.service",
                "systemctl --user daemon-reload",
                "systemctl --user enable saf-net.service",
                "systemctl --user restart saf-net.service",
            ]
        );
        let s = target(Scope::System);
        assert_eq!(
            show(uninstall_steps(&s, true)),
            [
                "systemctl disable --now saf-net.service || true",
                "rm /etc/systemd/system/saf-net.service",
                "systemctl daemon-reload",
                "systemctl reset-failed saf-net.service || true",
            ]
        );
        assert_eq!(
            show(uninstall_steps(&s, false)),
            [
                "systemctl disable --now saf-net.service || true",
                "systemctl reset-failed saf-net.service || true",
            ]
        );
    }

    #[test]
    fn status_reads_is_enabled_is_active_and_the_pid() {
        let t = target(Scope::User);
        let mut r = Runner::record()
            .answer("systemctl --user is-enabled", Output::ok("enabled\n"))
            .answer("systemctl --user is-active", Output::ok("active\n"))
            .answer("systemctl --user show", Output::ok("4242\n"));
        let st = query(&t, &mut r).unwrap();
        assert!(st.loaded && st.running);
        assert_eq!((st.state.as_deref(), st.pid), (Some("active"), Some(4242)));
        assert_eq!(
            r.log(),
            [
                "systemctl --user is-enabled saf-net.service",
                "systemctl --user is-active saf-net.service",
                "systemctl --user show --property=MainPID --value saf-net.service",
            ]
        );
        let mut r = Runner::record()
            .answer("systemctl is-enabled", Output::failed(1, ""))
            .answer(
                "systemctl is-active",
                Output {
                    code: 3,
                    stdout: "failed\n".into(),
                    stderr: String::new(),
                },
            );
        let st = query(&target(Scope::System), &mut r).unwrap();
        assert!(!st.loaded && !st.running);
        assert_eq!(st.state.as_deref(), Some("failed"));
        assert_eq!(r.log().len(), 2, "no pid asked for when not active");
        let mut r = Runner::record().answer(
            "systemctl --user",
            Output::failed(1, "Failed to connect to bus: No medium found\n"),
        );
        let st = query(&target(Scope::User), &mut r).unwrap();
        assert_eq!(st.state.as_deref(), Some("Failed to connect to bus: No medium found"));
    }
}
