//! `saf-net service` end to end through the real binary, on any OS: `--print` output parsed back
//! (plist) or checked by `systemd-analyze verify` (unit), and install/status/uninstall driven
//! against fake `launchctl` and `systemctl` scripts first on PATH, with a temporary HOME, and
//! `SAF_NET_SERVICE_DESTDIR` set on every run so that no file lands outside the sandbox, even as
//! root. No real service is ever installed.

use std::collections::BTreeMap;
use std::fs;
use std::io::Cursor;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use plist::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_saf-net");
const LABEL: &str = "net.saf-net.server";

/// A fake `launchctl`: logs its arguments; `bootstrap` (of a plist that exists) loads, `bootout`
/// unloads, `print` answers like launchctl for a running job or fails like it for an unknown one.
const FAKE_LAUNCHCTL: &str = r#"#!/bin/sh
echo "launchctl $*" >> "$FAKE_LOG"
loaded="$FAKE_STATE/launchd.loaded"
case "$1" in
    print)
        if [ -e "$loaded" ]; then
            printf '%s = {\n\tactive count = 1\n\tstate = running\n\tpid = 4242\n\tlast exit code = (never exited)\n}\n' "$2"
        else
            echo "Could not find service \"$2\" in domain" >&2; exit 113
        fi ;;
    bootstrap)
        [ -f "${SAF_NET_SERVICE_DESTDIR}$3" ] || { echo "Bootstrap failed: 2: No such file or directory" >&2; exit 5; }
        touch "$loaded" ;;
    bootout)
        [ -e "$loaded" ] || { echo "Boot-out failed: 3: No such process" >&2; exit 3; }
        rm -f "$loaded" ;;
    enable) ;;
    *) echo "fake launchctl: unexpected $*" >&2; exit 64 ;;
esac
"#;

/// A fake `systemctl` ([--user] daemon-reload, enable, restart, disable --now, reset-failed,
/// is-enabled, is-active, show).
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "systemctl $*" >> "$FAKE_LOG"
[ "$1" = --user ] && shift
case "$1" in
    daemon-reload|reset-failed) ;;
    enable) touch "$FAKE_STATE/enabled" ;;
    restart) touch "$FAKE_STATE/active" ;;
    disable)
        [ -e "$FAKE_STATE/enabled" ] || { echo "Failed to disable unit: Unit file saf-net.service does not exist." >&2; exit 1; }
        rm -f "$FAKE_STATE/enabled" "$FAKE_STATE/active" ;;
    is-enabled) if [ -e "$FAKE_STATE/enabled" ]; then echo enabled; else echo "Failed to get unit file state" >&2; exit 1; fi ;;
    is-active) if [ -e "$FAKE_STATE/active" ]; then echo active; else echo inactive; exit 3; fi ;;
    show) echo 4242 ;;
    *) echo "fake systemctl: unexpected $*" >&2; exit 64 ;;
esac
"#;

/// A temporary world for one test: HOME, a bin folder with the fakes, their log and state, and a
/// DESTDIR for system-wide files.
struct Sandbox {
    dir: TempDir,
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["home", "bin", "state", "dest"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        for (name, script) in [("launchctl", FAKE_LAUNCHCTL), ("systemctl", FAKE_SYSTEMCTL)] {
            let p = dir.path().join("bin").join(name);
            fs::write(&p, script).unwrap();
            fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
        }
        Sandbox { dir }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn dest(&self) -> PathBuf {
        self.path("dest")
    }

    /// Where a real path lands on disk: under the DESTDIR, which every run here sets.
    fn on_disk(&self, real: &Path) -> PathBuf {
        self.dest().join(real.strip_prefix("/").unwrap())
    }

    fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new(BIN);
        c.args(args)
            .env("HOME", self.home())
            .env("PATH", path)
            .env("FAKE_LOG", self.path("calls.log"))
            .env("FAKE_STATE", self.path("state"))
            .env("SAF_NET_SERVICE_DESTDIR", self.dest())
            .env("SAF_NET_HISTORY", self.path("history.csv"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("SAF_NET_PORT")
            .env_remove("SAF_NET_PSK");
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        output(self.command(args))
    }

    /// The fake tools' calls so far, one command line each.
    fn calls(&self) -> Vec<String> {
        fs::read_to_string(self.path("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// A private key file (mode 600) at `rel` under the sandbox.
    fn key(&self, rel: &str) -> PathBuf {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "0123456789abcdef0123456789abcdef\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        fs::canonicalize(p).unwrap()
    }
}

fn output(mut c: Command) -> Run {
    let out = c.output().expect("run saf-net");
    Run {
        code: out.status.code().expect("exit code"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn exe() -> String {
    fs::canonicalize(BIN).unwrap().display().to_string()
}

fn uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Parses a plist document and returns its top-level dictionary as (key → value).
fn parse_plist(xml: &str) -> BTreeMap<String, Value> {
    let v = Value::from_reader_xml(Cursor::new(xml.as_bytes()))
        .unwrap_or_else(|e| panic!("not a well-formed plist ({e}):\n{xml}"));
    let dict = v.into_dictionary().expect("a dictionary at the top");
    dict.into_iter().collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|s| s.as_string().expect("a string").to_string())
        .collect()
}

fn string(d: &BTreeMap<String, Value>, key: &str) -> String {
    d.get(key)
        .and_then(Value::as_string)
        .unwrap_or_else(|| panic!("no string {key}"))
        .to_string()
}

fn check_job(d: &BTreeMap<String, Value>, argv: &[&str], log: &str) {
    let label = if argv.get(1) == Some(&"monitor") {
        "net.saf-net.monitor"
    } else {
        LABEL
    };
    assert_eq!(string(d, "Label"), label);
    assert_eq!(strings(&d["ProgramArguments"]), argv);
    assert_eq!(d["RunAtLoad"].as_boolean(), Some(true));
    let keep = d["KeepAlive"].as_dictionary().expect("KeepAlive is a dictionary");
    assert_eq!(keep.get("SuccessfulExit").and_then(Value::as_boolean), Some(false));
    assert!(d["ThrottleInterval"].as_signed_integer().unwrap() > 0);
    assert_eq!(string(d, "StandardOutPath"), log);
    assert_eq!(string(d, "StandardErrorPath"), log);
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line on stderr, got: {stderr:?}");
    lines[0]
}

// ---------------------------------------------------------------------------------------------
// --print
// ---------------------------------------------------------------------------------------------

#[test]
fn print_launchd_is_a_well_formed_plist_with_the_expected_keys_and_changes_nothing() {
    let sb = Sandbox::new();
    let r = sb.run(&[
        "service",
        "install",
        "--print",
        "--format",
        "launchd",
        "--user",
        "--",
        "-p",
        "5301",
        "--max-concurrent",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let log = sb.home().join("Library/Logs/saf-net.log").display().to_string();
    let e = exe();
    check_job(
        &parse_plist(&r.stdout),
        &[&e, "server", "-p", "5301", "--max-concurrent", "1"],
        &log,
    );
    assert!(r.stderr.contains("LaunchAgent (starts at login"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("would run: launchctl bootstrap gui/{} ", uid())),
        "{}",
        r.stderr
    );

    let r = sb.run(&["service", "install", "--print", "--format", "launchd", "--system"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    check_job(&parse_plist(&r.stdout), &[&e, "server"], "/var/log/saf-net.log");
    assert!(r.stderr.contains("LaunchDaemon (starts at boot"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("would run: launchctl bootstrap system /Library/LaunchDaemons/net.saf-net.server.plist"),
        "{}",
        r.stderr
    );

    assert!(sb.calls().is_empty(), "--print ran {:?}", sb.calls());
    assert!(
        files(&sb.home()).is_empty() && files(&sb.dest()).is_empty(),
        "--print wrote files"
    );
}

#[test]
fn print_launchd_escapes_odd_paths() {
    let sb = Sandbox::new();
    let key = sb.key("keys/a&b <c> \"d\" 'e' ü ]]>/psk");
    let r = sb.run(&[
        "service",
        "install",
        "--print",
        "--format",
        "launchd",
        "--psk-file",
        key.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("a&amp;b &lt;c&gt;"), "{}", r.stdout);
    let d = parse_plist(&r.stdout);
    let argv = strings(&d["ProgramArguments"]);
    assert_eq!(argv[1..], ["server", "--psk-file", key.to_str().unwrap()]);
}

/// `systemd-analyze verify` on `unit` saved as saf-net.service; None when the tool is missing.
fn verify_unit(unit: &str, user: bool) -> Option<()> {
    if Command::new("systemd-analyze").arg("--version").output().is_err() {
        eprintln!(
            "\n*** SKIPPED systemd-analyze verify: systemd-analyze is not installed (apt-get install systemd; .ci/run does) ***\n"
        );
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saf-net.service");
    fs::write(&file, unit).unwrap();
    let runtime = dir.path().join("runtime");
    fs::create_dir(&runtime).unwrap();
    fs::set_permissions(&runtime, fs::Permissions::from_mode(0o700)).unwrap();
    let mut c = Command::new("systemd-analyze");
    if user {
        c.arg("--user").env("XDG_RUNTIME_DIR", &runtime);
    }
    let out = c.arg("verify").arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    // verify warns about unknown keys and bad quoting without failing: any line about our unit counts.
    let about_ours: Vec<&str> = stderr.lines().filter(|l| l.contains("saf-net.service")).collect();
    assert!(
        out.status.success() && about_ours.is_empty(),
        "systemd-analyze verify ({}): {stderr}\n{unit}",
        out.status
    );
    Some(())
}

#[test]
fn print_systemd_units_pass_systemd_analyze_verify() {
    let sb = Sandbox::new();
    // A key under the build's tmp dir (not /tmp, so PrivateTmp= stays on), in a folder whose name
    // needs quoting, % and $ included.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let key = tmp.path().join("my keys \"100%\" $HOME\\x/psk");
    fs::create_dir_all(key.parent().unwrap()).unwrap();
    fs::write(&key, "0123456789abcdef0123456789abcdef\n").unwrap();
    fs::set_permissions(&key, fs::Permissions::from_mode(0o600)).unwrap();
    let key = fs::canonicalize(key).unwrap();

    for (scope, wanted) in [("--system", "multi-user.target"), ("--user", "default.target")] {
        let r = sb.run(&[
            "service",
            "install",
            "--print",
            "--format",
            "systemd",
            scope,
            "--psk-file",
            key.to_str().unwrap(),
            "--",
            "-p",
            "5301",
            "--max-concurrent",
            "1",
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let unit = &r.stdout;
        assert!(unit.contains(&format!("\nWantedBy={wanted}\n")), "{unit}");
        assert!(unit.contains("\nRestart=on-failure\n"), "{unit}");
        let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("ExecStart");
        assert!(
            exec.ends_with(r#"$$HOME\\x/psk" -p 5301 --max-concurrent 1"#) && exec.contains(r#"\"100%%\""#),
            "{exec}"
        );
        if scope == "--system" {
            for line in [
                "After=network-online.target",
                "Wants=network-online.target",
                "NoNewPrivileges=yes",
            ] {
                assert!(unit.contains(&format!("\n{line}\n")), "{line} missing: {unit}");
            }
            // The unit relaxes ProtectHome and PrivateTmp when the program or key lives there; the clone may.
            let exe = env!("CARGO_BIN_EXE_saf-net");
            let paths = [exe, key.to_str().unwrap()];
            let under = |dirs: &[&str]| paths.iter().any(|p| dirs.iter().any(|d| p.starts_with(d)));
            let home = if under(&["/home/", "/root/", "/run/user/"]) {
                "ProtectHome=read-only"
            } else {
                "ProtectHome=yes"
            };
            assert!(unit.contains("\nProtectSystem=strict\n"), "{unit}");
            assert!(unit.contains(&format!("\n{home}\n")), "{home} missing: {unit}");
            assert_eq!(unit.contains("\nPrivateTmp=yes\n"), !under(&["/tmp/"]), "{unit}");
        }
        if verify_unit(unit, scope == "--user").is_none() {
            return;
        }
    }
    assert!(sb.calls().is_empty() && files(&sb.dest()).is_empty() && files(&sb.home()).is_empty());
}

// ---------------------------------------------------------------------------------------------
// install / status / uninstall against the fakes
// ---------------------------------------------------------------------------------------------

#[test]
fn launchd_agent_install_status_uninstall() {
    let sb = Sandbox::new();
    let key = sb.key("keys/psk");
    let r = sb.run(&[
        "service",
        "install",
        "--format",
        "launchd",
        "--user",
        "--psk-file",
        key.to_str().unwrap(),
        "--",
        "-p",
        "5301",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let plist = sb.home().join(format!("Library/LaunchAgents/{LABEL}.plist"));
    let log = sb.home().join("Library/Logs/saf-net.log");
    assert!(
        r.stdout.starts_with(&format!(
            "Installed a LaunchAgent (starts at login, runs as you): {}",
            plist.display()
        )),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("logs: tail -f {}", log.display())),
        "{}",
        r.stdout
    );
    let e = exe();
    let on_disk = sb.on_disk(&plist);
    check_job(
        &parse_plist(&fs::read_to_string(&on_disk).unwrap()),
        &[&e, "server", "--psk-file", key.to_str().unwrap(), "-p", "5301"],
        log.to_str().unwrap(),
    );
    assert_eq!(fs::metadata(&on_disk).unwrap().permissions().mode() & 0o777, 0o644);
    assert!(sb.on_disk(log.parent().unwrap()).is_dir(), "the log folder is made");
    assert_eq!(files(&sb.dest()).len(), 1, "{:?}", files(&sb.dest()));
    let svc = format!("gui/{}/{LABEL}", uid());
    assert_eq!(
        sb.calls(),
        [
            format!("launchctl bootout {svc}"),
            format!("launchctl enable {svc}"),
            format!("launchctl bootstrap gui/{} {}", uid(), plist.display()),
        ]
    );

    let r = sb.run(&["service", "status", "--format", "launchd", "--user"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .starts_with("saf-net LaunchAgent (starts at login, runs as you): installed, running (pid 4242)"),
        "{}",
        r.stdout
    );
    assert_eq!(sb.calls().last().unwrap(), &format!("launchctl print {svc}"));

    // Installing again replaces the running job: the bootout now succeeds and the load follows.
    let r = sb.run(&["service", "install", "--format", "launchd", "--user"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = parse_plist(&fs::read_to_string(&on_disk).unwrap());
    assert_eq!(strings(&d["ProgramArguments"]), [e.as_str(), "server"]);

    let r = sb.run(&["service", "uninstall", "--format", "launchd", "--user"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Stopped and removed the LaunchAgent"), "{}", r.stdout);
    assert!(!on_disk.exists());
    assert_eq!(sb.calls().last().unwrap(), &format!("launchctl bootout {svc}"));

    let r = sb.run(&["service", "status", "--format", "launchd", "--user"]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    assert!(r.stdout.contains("): not installed"), "{}", r.stdout);

    let r = sb.run(&["service", "uninstall", "--format", "launchd", "--user"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("No LaunchAgent was installed"), "{}", r.stdout);
}

#[test]
fn launchd_daemon_install_status_uninstall() {
    let sb = Sandbox::new();
    let r = sb.run(&["service", "install", "--format", "launchd", "--system"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.starts_with(
            "Installed a LaunchDaemon (starts at boot, runs as root): /Library/LaunchDaemons/net.saf-net.server.plist"
        ),
        "{}",
        r.stdout
    );
    assert_eq!(files(&sb.dest()), [format!("Library/LaunchDaemons/{LABEL}.plist")]);
    let written = fs::read_to_string(sb.dest().join(format!("Library/LaunchDaemons/{LABEL}.plist"))).unwrap();
    let e = exe();
    check_job(&parse_plist(&written), &[&e, "server"], "/var/log/saf-net.log");
    assert_eq!(
        sb.calls(),
        [
            format!("launchctl bootout system/{LABEL}"),
            format!("launchctl enable system/{LABEL}"),
            format!("launchctl bootstrap system /Library/LaunchDaemons/{LABEL}.plist"),
        ]
    );

    let r = sb.run(&["service", "status", "--format", "launchd", "--system"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("LaunchDaemon (starts at boot, runs as root): installed, running"),
        "{}",
        r.stdout
    );
    // The per-user status points at the daemon.
    let r = sb.run(&["service", "status", "--format", "launchd", "--user"]);
    assert!(
        r.stdout
            .contains("a LaunchDaemon is installed (/Library/LaunchDaemons/net.saf-net.server.plist): see `saf-net service status --system`"),
        "{}",
        r.stdout
    );

    let r = sb.run(&["service", "uninstall", "--format", "launchd", "--system"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(files(&sb.dest()).is_empty());
    let r = sb.run(&["service", "status", "--format", "launchd", "--system"]);
    assert_eq!(r.code, 3);
}

#[test]
fn systemd_units_install_status_uninstall() {
    for (scope, prefix) in [("--system", "systemctl"), ("--user", "systemctl --user")] {
        let sb = Sandbox::new();
        let r = sb.run(&[
            "service",
            "install",
            "--format",
            "systemd",
            scope,
            "--",
            "--max-concurrent",
            "1",
        ]);
        assert_eq!(r.code, 0, "{scope}: {}", r.stderr);
        let real = if scope == "--system" {
            PathBuf::from("/etc/systemd/system/saf-net.service")
        } else {
            sb.home().join(".config/systemd/user/saf-net.service")
        };
        assert!(r.stdout.contains(&format!(": {}\n", real.display())), "{}", r.stdout);
        let unit_path = sb.on_disk(&real);
        assert_eq!(files(&sb.dest()).len(), 1, "{:?}", files(&sb.dest()));
        let unit = fs::read_to_string(&unit_path).unwrap_or_else(|e| panic!("{scope}: {e}"));
        let e = exe();
        assert!(
            unit.contains(&format!("\nExecStart={e} server --max-concurrent 1\n")),
            "{unit}"
        );
        let kind = if scope == "--system" {
            "systemd system service (starts at boot)"
        } else {
            "systemd user service (starts at login, runs as you)"
        };
        assert!(r.stdout.starts_with(&format!("Installed a {kind}: ")), "{}", r.stdout);
        assert!(r.stdout.contains("logs: journalctl "), "{}", r.stdout);
        assert_eq!(
            sb.calls(),
            [
                format!("{prefix} daemon-reload"),
                format!("{prefix} enable saf-net.service"),
                format!("{prefix} restart saf-net.service"),
            ]
        );
        verify_unit(&unit, scope == "--user");

        let r = sb.run(&["service", "status", "--format", "systemd", scope]);
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert!(
            r.stdout.contains(&format!("{kind}: installed, running (pid 4242)")),
            "{}",
            r.stdout
        );

        let before = sb.calls().len();
        let r = sb.run(&["service", "uninstall", "--format", "systemd", scope]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(!unit_path.exists());
        assert_eq!(
            sb.calls()[before..],
            [
                format!("{prefix} disable --now saf-net.service"),
                format!("{prefix} daemon-reload"),
                format!("{prefix} reset-failed saf-net.service"),
            ]
        );
        let r = sb.run(&["service", "status", "--format", "systemd", scope]);
        assert_eq!(r.code, 3, "{}", r.stdout);
        assert!(r.stdout.contains(&format!("{kind}: not installed")), "{}", r.stdout);
    }
}

// ---------------------------------------------------------------------------------------------
// Bad input: one clear line and a non-zero exit each
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_input_gets_one_clear_line() {
    let sb = Sandbox::new();
    let r = sb.run(&["service", "install", "--print", "--format", "upstart"]);
    assert_eq!(r.code, 2);
    assert!(
        one_line(&r.stderr).contains("invalid value 'upstart' for '--format"),
        "{}",
        r.stderr
    );

    let missing = sb.path("nope/psk");
    let r = sb.run(&["service", "install", "--print", "--psk-file", missing.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert_eq!(
        one_line(&r.stderr),
        format!("error: key file {}: does not exist", missing.display())
    );

    let open = sb.key("open/psk");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).unwrap();
    let r = sb.run(&["service", "install", "--print", "--psk-file", open.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    let line = one_line(&r.stderr);
    assert!(
        line.contains("readable by everyone (mode 644)") && line.contains("chmod 600"),
        "{line}"
    );

    let short = sb.key("short/psk");
    fs::write(&short, "tooshort\n").unwrap();
    let r = sb.run(&["service", "install", "--print", "--psk-file", short.to_str().unwrap()]);
    assert_eq!(r.code, 2);
    assert!(
        one_line(&r.stderr).contains("is 8 bytes; use at least 16"),
        "{}",
        r.stderr
    );

    let r = sb.run(&["service", "install", "--print", "--", "--no-such-flag"]);
    assert_eq!(r.code, 2);
    assert!(one_line(&r.stderr).contains("server flags after --: unexpected argument '--no-such-flag'"));

    let r = sb.run(&["service", "install", "--system", "--user", "--print"]);
    assert_eq!(r.code, 2);
    one_line(&r.stderr);

    // launchd's tool is not there: nothing is written.
    let mut c = sb.command(&["service", "install", "--format", "launchd", "--user"]);
    c.env("PATH", "/usr/bin:/bin");
    let r = output(c);
    assert_eq!(r.code, 1);
    assert!(
        one_line(&r.stderr).contains("`launchctl` was not found on PATH"),
        "{}",
        r.stderr
    );
    assert!(files(&sb.dest()).is_empty());
    assert!(sb.calls().is_empty());
}

/// A user who may not write the system folders is told to use sudo or a per-user service. As root,
/// the binary runs as `nobody` (setpriv) so the refusal is the kernel's, not a simulation.
#[test]
fn a_system_service_without_permission_says_use_sudo() {
    let sb = Sandbox::new();
    for p in [sb.dir.path().to_path_buf(), sb.dest(), sb.home(), sb.path("bin")] {
        fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let args = ["service", "install", "--format", "systemd", "--system"];
    let r = if uid() == 0 {
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("\n*** SKIPPED permission test: running as root and setpriv (util-linux) is missing ***\n");
            return;
        }
        let base = sb.command(&args);
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", BIN])
            .args(args);
        for (k, v) in base.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        output(c)
    } else {
        sb.run(&args)
    };
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let line = one_line(&r.stderr);
    assert!(
        line.contains("permission denied") && line.contains("sudo") && line.contains("per-user service"),
        "{line}"
    );
    assert!(files(&sb.dest()).is_empty());
    assert!(sb.calls().is_empty(), "no command runs when the file cannot be written");
}

// ---------------------------------------------------------------------------------------------
// The monitor's service, beside the server's
// ---------------------------------------------------------------------------------------------

#[test]
fn the_monitor_gets_its_own_job_beside_the_servers() {
    let sb = Sandbox::new();
    let key = sb.key("keys/psk");
    let k = key.display().to_string();
    let r = sb.run(&[
        "service",
        "install",
        "--monitor",
        "--print",
        "--format",
        "launchd",
        "--user",
        "--psk-file",
        &k,
        "--",
        "--peer",
        "192.168.1.172",
        "--profile",
        "10gbe",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let job = parse_plist(&r.stdout);
    assert_eq!(string(&job, "Label"), "net.saf-net.monitor");
    let log = sb.home().join("Library/Logs/saf-net-monitor.log").display().to_string();
    let e = exe();
    check_job(
        &job,
        &[
            &e,
            "monitor",
            "--psk-file",
            &k,
            "--peer",
            "192.168.1.172",
            "--profile",
            "10gbe",
        ],
        &log,
    );
    assert!(
        r.stderr.contains("LaunchAgents/net.saf-net.monitor.plist"),
        "{}",
        r.stderr
    );

    // systemd: the server's unit and the monitor's side by side; uninstall --monitor takes only its own.
    let server = sb.run(&[
        "service",
        "install",
        "--format",
        "systemd",
        "--user",
        "--",
        "--max-concurrent",
        "1",
    ]);
    assert_eq!(server.code, 0, "{}", server.stderr);
    let monitor = sb.run(&[
        "service",
        "install",
        "--monitor",
        "--format",
        "systemd",
        "--user",
        "--psk-file",
        &k,
        "--",
        "--peer",
        "192.168.1.172",
    ]);
    assert_eq!(monitor.code, 0, "{}", monitor.stderr);
    let units = sb.on_disk(&sb.home().join(".config/systemd/user"));
    let unit = fs::read_to_string(units.join("saf-net-monitor.service")).unwrap();
    assert!(
        unit.contains(&format!(
            "\nExecStart={e} monitor --psk-file {k} --peer 192.168.1.172\n"
        )),
        "{unit}"
    );
    assert!(unit.contains("Description=saf-net monitor"), "{unit}");
    verify_unit(&unit, true);
    assert!(units.join("saf-net.service").exists());
    assert!(
        sb.calls()
            .contains(&"systemctl --user restart saf-net-monitor.service".to_string()),
        "{:?}",
        sb.calls()
    );
    let r = sb.run(&["service", "uninstall", "--monitor", "--format", "systemd", "--user"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!units.join("saf-net-monitor.service").exists());
    assert!(units.join("saf-net.service").exists(), "the server's unit stays");
    assert!(
        sb.calls()
            .contains(&"systemctl --user disable --now saf-net-monitor.service".to_string())
    );
    assert!(
        !sb.calls().iter().any(|c| c.contains("disable --now saf-net.service")),
        "{:?}",
        sb.calls()
    );
}

#[test]
fn monitor_flags_are_checked_before_anything_is_written() {
    let sb = Sandbox::new();
    let r = sb.run(&[
        "service",
        "install",
        "--monitor",
        "--format",
        "systemd",
        "--user",
        "--",
        "--budget",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        one_line(&r.stderr).starts_with("error: monitor flags after --:"),
        "{}",
        r.stderr
    );
    assert!(files(&sb.home()).is_empty() && sb.calls().is_empty());
}
