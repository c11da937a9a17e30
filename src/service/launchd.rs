//! macOS: a launchd job. A LaunchDaemon in /Library/LaunchDaemons (domain `system`, starts at boot,
//! runs as root) or a LaunchAgent in ~/Library/LaunchAgents (domain `gui/UID`, starts at login).
//! Loaded with `launchctl bootstrap`, stopped with `launchctl bootout`, inspected with
//! `launchctl print`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::runner::{Cmd, RunError, Runner};
use super::{Role, Run, Scope, Status, Step, Target};

/// The server job's label (the monitor's is [`Role::label`]'s other answer).
pub const LABEL: &str = "net.saf-net.server";
/// Seconds launchd waits before starting the job again after it exited (launchd's own default is 10).
pub const THROTTLE_SECS: i64 = 5;

pub fn system_file(role: Role) -> PathBuf {
    PathBuf::from(format!("/Library/LaunchDaemons/{}.plist", role.label()))
}

pub fn user_file(home: &Path, role: Role) -> PathBuf {
    home.join(format!("Library/LaunchAgents/{}.plist", role.label()))
}

pub fn system_log(role: Role) -> PathBuf {
    Path::new("/var/log").join(role.log_name())
}

pub fn user_log(home: &Path, role: Role) -> PathBuf {
    home.join("Library/Logs").join(role.log_name())
}

/// The launchd domain: `system` for a daemon, `gui/UID` for an agent.
pub fn domain(target: &Target) -> String {
    match target.scope {
        Scope::System => "system".into(),
        Scope::User => format!("gui/{}", target.uid),
    }
}

/// The service target, `DOMAIN/LABEL`.
pub fn service(target: &Target) -> String {
    format!("{}/{}", domain(target), target.role.label())
}

/// The job's property list: the launchd keys saf-net sets, in this order (see `launchd.plist(5)`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Job<'a> {
    label: &'a str,
    program_arguments: &'a [String],
    run_at_load: bool,
    /// Restart after a crash or an error exit, like systemd's Restart=on-failure; a clean exit (a stop
    /// asked for) stays stopped.
    keep_alive: KeepAlive,
    throttle_interval: i64,
    /// `Interactive`: no background throttling of CPU and I/O, which would skew the measurements.
    process_type: &'a str,
    standard_out_path: &'a str,
    standard_error_path: &'a str,
}

/// `KeepAlive` as a dictionary of conditions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeepAlive {
    successful_exit: bool,
}

/// The job's plist, running `argv`: an XML property list written by the `plist` crate, tab-indented, ending
/// in a newline.
pub fn render(target: &Target, argv: &[String]) -> String {
    let log = target.log.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let job = Job {
        label: target.role.label(),
        program_arguments: argv,
        run_at_load: true,
        keep_alive: KeepAlive { successful_exit: false },
        throttle_interval: THROTTLE_SECS,
        process_type: "Interactive",
        standard_out_path: &log,
        standard_error_path: &log,
    };
    let mut out = Vec::new();
    // Strings, booleans and an integer written into memory: nothing here can fail.
    plist::to_writer_xml(&mut out, &job).expect("a launchd job serializes");
    let mut xml = String::from_utf8(out).expect("plist writes UTF-8");
    xml.push('\n');
    xml
}

fn launchctl() -> Cmd {
    Cmd::new("launchctl")
}

/// Write the plist; stop a job already loaded (new settings take effect only on a fresh load);
/// clear any `launchctl disable`; load it, which starts it (RunAtLoad).
pub fn install_steps(target: &Target, contents: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    if let Some(dir) = target.file.parent() {
        steps.push(Step::MkDir(dir.to_path_buf()));
    }
    if let (Scope::User, Some(dir)) = (target.scope, target.log.as_ref().and_then(|l| l.parent())) {
        // launchd does not create the log's folder, and a job whose log cannot be opened fails.
        steps.push(Step::MkDir(dir.to_path_buf()));
    }
    steps.push(Step::Write {
        path: target.file.clone(),
        contents: contents.to_string(),
    });
    steps.push(Run::may_fail(launchctl().arg("bootout").arg(service(target))));
    steps.push(Run::may_fail(launchctl().arg("enable").arg(service(target))));
    let hint = match target.scope {
        Scope::System => format!("`launchctl print {}` shows launchd's view", service(target)),
        Scope::User => format!(
            "a LaunchAgent needs you logged in at the Mac (domain {}); over ssh, install a LaunchDaemon with sudo",
            domain(target)
        ),
    };
    steps.push(Step::Run(Run {
        cmd: launchctl()
            .arg("bootstrap")
            .arg(domain(target))
            .arg(target.file.display().to_string()),
        may_fail: false,
        retry: true,
        hint: Some(hint),
    }));
    steps
}

/// Stop and unload the job (it may not be loaded), then remove the plist.
pub fn uninstall_steps(target: &Target, installed: bool) -> Vec<Step> {
    let mut steps = vec![Run::may_fail(launchctl().arg("bootout").arg(service(target)))];
    if installed {
        steps.push(Step::Remove(target.file.clone()));
    }
    steps
}

/// `launchctl print DOMAIN/LABEL`: succeeds when loaded; its `state`, `pid` and `last exit code`
/// lines say the rest.
pub fn query(target: &Target, runner: &mut Runner) -> Result<Status, RunError> {
    let out = runner.run(&launchctl().arg("print").arg(service(target)))?;
    if !out.success() {
        return Ok(Status::default());
    }
    Ok(parse_print(&out.stdout))
}

/// Reads the top-level `state = `, `pid = ` and `last exit code = ` lines of `launchctl print`.
pub fn parse_print(text: &str) -> Status {
    let field = |name: &str| {
        text.lines()
            .filter_map(|l| l.trim().strip_prefix(name)?.strip_prefix(" = "))
            .map(|v| v.trim().to_string())
            .next()
    };
    let state = field("state");
    let pid = field("pid").and_then(|p| p.parse().ok());
    Status {
        installed: false,
        loaded: true,
        running: state.as_deref() == Some("running") || pid.is_some(),
        state,
        pid,
        last_exit: field("last exit code"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Format, Host};
    use super::*;

    fn target(scope: Scope) -> Target {
        let host = Host {
            uid: Some(501),
            home: Some("/Users/ann".into()),
            ..Host::default()
        };
        Target::new(Format::Launchd, scope, &host).unwrap()
    }

    fn argv() -> Vec<String> {
        ["/usr/local/bin/saf-net", "server", "-p", "5301"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn markup_characters_round_trip() {
        let odd = [r#"a&b<c>d"e'f"#, "]]>", "Ünïcødé"].map(String::from).to_vec();
        let xml = render(&target(Scope::System), &odd);
        let job = plist::Value::from_reader_xml(xml.as_bytes()).unwrap();
        let args = job.as_dictionary().unwrap()["ProgramArguments"].as_array().unwrap();
        let args: Vec<&str> = args.iter().map(|a| a.as_string().unwrap()).collect();
        assert_eq!(args, odd);
        // quick-xml (under plist) writes quotes as entities too; the old hand-written escaper left them bare.
        assert!(xml.contains("a&amp;b&lt;c&gt;d&quot;e&apos;f"), "{xml}");
        assert!(xml.contains("]]&gt;"), "{xml}");
    }

    #[test]
    fn the_daemon_plist_has_every_key_in_apples_layout() {
        let xml = render(&target(Scope::System), &argv());
        let want = "\
<?xml version=\"1.0\" encoding=\"UTF-8\"?>
<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">
<plist version=\"1.0\">
<dict>
\t<key>Label</key>
\t<string>net.saf-net.server</string>
\t<key>ProgramArguments</key>
\t<array>
\t\t<string>/usr/local/bin/saf-net</string>
\t\t<string>server</string>
\t\t<string>-p</string>
\t\t<string>5301</string>
\t</array>
\t<key>RunAtLoad</key>
\t<true/>
\t<key>KeepAlive</key>
\t<dict>
\t\t<key>SuccessfulExit</key>
\t\t<false/>
\t</dict>
\t<key>ThrottleInterval</key>
\t<integer>5</integer>
\t<key>ProcessType</key>
\t<string>Interactive</string>
\t<key>StandardOutPath</key>
\t<string>/var/log/saf-net.log</string>
\t<key>StandardErrorPath</key>
\t<string>/var/log/saf-net.log</string>
</dict>
</plist>
";
        assert_eq!(xml, want);
    }

    #[test]
    fn the_agent_logs_to_the_users_library() {
        let xml = render(&target(Scope::User), &argv());
        assert!(
            xml.contains("<string>/Users/ann/Library/Logs/saf-net.log</string>"),
            "{xml}"
        );
        let odd = vec!["/Apps/a&b <x>/saf-net".to_string()];
        let xml = render(&target(Scope::User), &odd);
        assert!(
            xml.contains("<string>/Apps/a&amp;b &lt;x&gt;/saf-net</string>"),
            "{xml}"
        );
    }

    #[test]
    fn install_writes_then_reloads_in_the_right_domain() {
        let t = target(Scope::User);
        let steps = install_steps(&t, "<plist/>");
        let runs: Vec<String> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Run(r) => Some(r.cmd.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            runs,
            [
                "launchctl bootout gui/501/net.saf-net.server",
                "launchctl enable gui/501/net.saf-net.server",
                "launchctl bootstrap gui/501 /Users/ann/Library/LaunchAgents/net.saf-net.server.plist",
            ]
        );
        assert_eq!(steps[0], Step::MkDir("/Users/ann/Library/LaunchAgents".into()));
        assert_eq!(steps[1], Step::MkDir("/Users/ann/Library/Logs".into()));
        assert!(matches!(&steps[2], Step::Write { path, .. } if path == &t.file));
        let Step::Run(bootstrap) = steps.last().unwrap() else {
            panic!("bootstrap last")
        };
        assert!(bootstrap.retry && !bootstrap.may_fail);
        assert!(bootstrap.hint.as_deref().unwrap().contains("logged in"));

        let d = target(Scope::System);
        let steps = install_steps(&d, "<plist/>");
        assert_eq!(steps.len(), 5, "no log folder made for /var/log: {steps:?}");
        let Step::Run(last) = steps.last().unwrap() else {
            panic!()
        };
        assert_eq!(
            last.cmd.to_string(),
            "launchctl bootstrap system /Library/LaunchDaemons/net.saf-net.server.plist"
        );
    }

    #[test]
    fn uninstall_boots_out_then_removes() {
        let t = target(Scope::System);
        assert_eq!(
            uninstall_steps(&t, true),
            [
                Run::may_fail(Cmd::new("launchctl").args(["bootout", "system/net.saf-net.server"])),
                Step::Remove(t.file.clone()),
            ]
        );
        assert_eq!(uninstall_steps(&t, false).len(), 1);
    }

    #[test]
    fn reads_launchctl_print() {
        let text = "gui/501/net.saf-net.server = {\n\tactive count = 1\n\tpath = /Users/ann/Library/LaunchAgents/net.saf-net.server.plist\n\tstate = running\n\n\tprogram = /usr/local/bin/saf-net\n\tpid = 812\n\tlast exit code = (never exited)\n\tendpoints = {\n\t\tstate = active\n\t}\n}\n";
        let st = parse_print(text);
        assert_eq!(st.state.as_deref(), Some("running"));
        assert_eq!(st.pid, Some(812));
        assert_eq!(st.last_exit.as_deref(), Some("(never exited)"));
        assert!(st.loaded && st.running);
        let st = parse_print("x = {\n\tstate = not running\n\tlast exit code = 78: EX_CONFIG\n}\n");
        assert!(st.loaded && !st.running);
        assert_eq!(st.last_exit.as_deref(), Some("78: EX_CONFIG"));
    }

    #[test]
    fn query_treats_a_failing_print_as_not_loaded() {
        let t = target(Scope::User);
        let mut r = Runner::record().answer(
            "launchctl print",
            super::super::runner::Output::failed(113, "Could not find service"),
        );
        assert_eq!(query(&t, &mut r).unwrap(), Status::default());
        assert_eq!(r.log(), ["launchctl print gui/501/net.saf-net.server"]);
    }
}
