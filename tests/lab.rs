//! End-to-end tests of `saf-net lab` with the real binary, real namespaces and real shaping.
//!
//! Each test builds its own uniquely named lab and a drop guard takes it down, even when the test
//! fails. Lab tests run one at a time (a lock in this binary). Without root or network namespaces,
//! a lab test prints a loud SKIPPED line and returns; the input-checking tests run everywhere.
#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{BIN, KillOnDrop, free_port, is_root, text};
use serde_json::Value;

/// TCP goodput ceilings (IPv4, timestamps on) from docs and `model.rs`.
const CEILING_1GBE: f64 = 941.47;
const CEILING_10GBE_JUMBO: f64 = 9900.4;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why lab tests cannot run here, if they cannot.
fn lab_unavailable() -> Option<String> {
    if !is_root() {
        return Some("not running as root".into());
    }
    for tool in ["ip", "tc", "ethtool"] {
        let ok = Command::new(tool)
            .arg(if tool == "ethtool" { "--version" } else { "-V" })
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Some(format!("`{tool}` is missing"));
        }
    }
    let probe = format!("safnet-probe-{}", std::process::id());
    let ok = Command::new("ip")
        .args(["netns", "add", &probe])
        .output()
        .is_ok_and(|o| o.status.success());
    let _ = Command::new("ip").args(["netns", "del", &probe]).output();
    if !ok {
        return Some("`ip netns add` fails here".into());
    }
    None
}

macro_rules! require_lab {
    ($what:expr) => {
        if let Some(why) = lab_unavailable() {
            eprintln!("\n========================================================================");
            eprintln!("SKIPPED (needs root + network namespaces): {} — {why}", $what);
            eprintln!("========================================================================\n");
            return;
        }
    };
}

/// Runs saf-net with `args`, killed after `limit`.
fn saf_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .envs(common::sandbox_env())
        .args(args)
        .env_remove("SAF_NET_PROFILE")
        .env_remove("SAF_NET_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("saf-net starts");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("saf-net {args:?} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn saf(args: &[&str]) -> Output {
    saf_within(args, Duration::from_secs(60))
}

/// A lab that is taken down when the test ends, however it ends.
struct Lab {
    name: String,
}

impl Lab {
    fn up(tag: &str, extra: &[&str]) -> Lab {
        // Short, unique per process and test: lab names are at most 32 characters.
        let name = format!("t{}-{tag}", std::process::id() % 100_000);
        let lab = Lab { name };
        let mut args = vec!["lab", "up"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--name", &lab.name]);
        let out = saf(&args);
        assert!(
            out.status.success(),
            "lab up {extra:?} failed: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        lab
    }

    fn state(&self) -> Value {
        let path = Path::new("/run/saf-net/labs").join(&self.name).join("state.json");
        serde_json::from_str(&std::fs::read_to_string(path).expect("state file")).expect("state JSON")
    }

    fn far(&self) -> String {
        self.state()["far_addr"].as_str().unwrap().to_string()
    }

    /// Runs `argv` in the near host through `lab exec`, killed after `limit`.
    fn exec(&self, argv: &[&str], limit: Duration) -> Output {
        let mut args = vec!["lab", "exec", "--name", &self.name, "--"];
        args.extend_from_slice(argv);
        saf_within(&args, limit)
    }

    /// Receiver goodput (Mbit/s) of a `-t SECS` client run from near to far, after a 1 s warm-up (`-O 1`):
    /// TCP's slow start overfills the switch queue and recovers from the losses within the first second,
    /// which is TCP's doing, not the emulator's, and costs a 3 s debug-build run up to 1 %.
    fn goodput(&self, secs: &str) -> f64 {
        let doc = self.client_json(&["-O", "1", "-t", secs]);
        assert_eq!(
            doc["saf_net"]["profile"],
            self.state()["profile"],
            "SAF_NET_PROFILE reached the client"
        );
        doc["end"]["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e6
    }

    /// The `-J` document of a successful `saf-net client FAR ARGS -J --no-history` run from near.
    fn client_json(&self, args: &[&str]) -> Value {
        let far = self.far();
        let mut argv = vec![BIN, "client", &far];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["-J", "--no-history"]);
        let out = self.exec(&argv, Duration::from_secs(40));
        assert!(out.status.success(), "client {args:?} failed: {}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("client JSON")
    }

    fn namespaces_left(name: &str) -> Vec<String> {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&format!("safnet-{name}-")))
            .map(String::from)
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = saf(&["lab", "down", "--name", &self.name]);
    }
}

/// Measures up to `tries` times: any run above `max` fails at once (the emulation must never be
/// faster than the wire); a run in [min, max] passes; runs below `min` (a busy machine) are retried.
fn measure(lab: &Lab, secs: &str, min: f64, max: f64, tries: usize) -> Vec<f64> {
    let mut seen = Vec::new();
    for _ in 0..tries {
        let g = lab.goodput(secs);
        seen.push(g);
        assert!(
            g <= max,
            "receiver goodput {g:.2} Mbit/s is above {max:.2}: runs {seen:?}"
        );
        if g >= min {
            break;
        }
    }
    seen
}

#[test]
fn lab_1gbe_carries_the_wire_ceiling_and_goes_down_clean() {
    let _serial = serial();
    require_lab!("lab 1gbe goodput");
    let lab = Lab::up("1g", &["1gbe"]);
    let name = lab.name.clone();

    let status = text(&saf(&["lab", "status"]).stdout);
    let far = lab.far();
    assert!(status.contains(&format!("Lab '{name}': up; profile 1gbe")), "{status}");
    assert!(status.contains(&format!("eth0 {far}/24 MTU 1500")), "{status}");
    assert!(status.contains("tbf 983.08 Mbit/s"), "{status}");
    // Both hosts run the congestion control the lab recorded: cubic where allowed, else reno.
    let cc = lab.state()["congestion_control"].as_str().unwrap().to_string();
    assert!(cc == "cubic" || cc == "reno", "{cc}");
    for host in ["near", "far"] {
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("safnet-{name}-{host}"), "sysctl", "-n"])
            .arg("net.ipv4.tcp_congestion_control")
            .output()
            .unwrap();
        assert_eq!(text(&out.stdout).trim(), cc, "{host}");
    }
    assert!(
        status.contains(&format!("congestion control {cc} in both hosts")),
        "{status}"
    );

    let runs = measure(&lab, "3", CEILING_1GBE * 0.995, CEILING_1GBE * 1.002, 5);
    let best = runs.iter().copied().fold(0.0, f64::max);
    eprintln!("lab 1gbe: receiver goodput {runs:?} Mbit/s (ceiling {CEILING_1GBE})");
    assert!(
        best >= CEILING_1GBE * 0.995,
        "no run within 0.5 % of {CEILING_1GBE}: {runs:?}"
    );

    // A text run scores itself against the profile the lab set.
    let out = lab.exec(
        &[BIN, "client", &far, "-t", "1", "--no-history"],
        Duration::from_secs(30),
    );
    let t = text(&out.stdout);
    assert!(
        t.contains("Profile 1gbe: receiver goodput") && t.contains("% of the 941.5 Mbit/s TCP ceiling"),
        "{t}"
    );

    let down = saf(&["lab", "down", "--name", &name]);
    assert!(down.status.success());
    assert!(text(&down.stdout).contains("is down"), "{}", text(&down.stdout));
    assert!(Lab::namespaces_left(&name).is_empty());
    assert!(!Path::new("/run/saf-net/labs").join(&name).exists());
    let again = saf(&["lab", "down", "--name", &name]);
    assert!(again.status.success());
    assert!(text(&again.stdout).contains("is not up; nothing to remove"));
}

#[test]
fn lab_10gbe_jumbo_carries_jumbo_frames_near_the_ceiling() {
    let _serial = serial();
    require_lab!("lab 10gbe-jumbo goodput");
    let lab = Lab::up("jumbo", &["10gbe-jumbo"]);
    // A jumbo frame crosses whole.
    let far = lab.far();
    let ping = lab.exec(
        &["ping", "-c", "1", "-W", "2", "-M", "do", "-s", "8972", &far],
        Duration::from_secs(10),
    );
    assert!(ping.status.success(), "9000-byte ping: {}", text(&ping.stdout));
    let strict = std::env::var_os("SAF_NET_LAB_STRICT").is_some();
    let min = CEILING_10GBE_JUMBO * if strict { 0.97 } else { 0.20 };
    let runs = measure(&lab, "3", CEILING_10GBE_JUMBO * 0.97, CEILING_10GBE_JUMBO * 1.002, 3);
    let best = runs.iter().copied().fold(0.0, f64::max);
    let share = 100.0 * best / CEILING_10GBE_JUMBO;
    eprintln!("lab 10gbe-jumbo: receiver goodput {runs:?} Mbit/s, best {share:.1} % of {CEILING_10GBE_JUMBO}");
    if best < CEILING_10GBE_JUMBO * 0.97 {
        eprintln!(
            "NOTE: below 97 % of the ceiling; on a small or busy machine the lab is CPU-bound at 10 Gbit/s \
             (set SAF_NET_LAB_STRICT=1 to make this a failure)"
        );
    }
    assert!(
        best >= min,
        "10gbe-jumbo best run {best:.1} Mbit/s is below {min:.1}: {runs:?}"
    );
}

#[test]
fn switch_mtu_below_the_hosts_is_a_jumbo_black_hole() {
    let _serial = serial();
    require_lab!("jumbo black hole");
    let lab = Lab::up("hole", &["10gbe-jumbo", "--switch-mtu", "1500"]);
    let far = lab.far();
    let small = lab.exec(
        &["ping", "-c", "1", "-W", "2", "-s", "1400", &far],
        Duration::from_secs(10),
    );
    assert!(small.status.success(), "a small ping crosses: {}", text(&small.stdout));
    let big = lab.exec(
        &["ping", "-c", "1", "-W", "1", "-M", "do", "-s", "8972", &far],
        Duration::from_secs(10),
    );
    assert!(!big.status.success(), "a jumbo ping must vanish: {}", text(&big.stdout));
    let out = lab.exec(
        &["timeout", "30", BIN, "client", &far, "-t", "2", "-J", "--no-history"],
        Duration::from_secs(40),
    );
    let received = serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .and_then(|d| d["end"]["sum_received"]["bits_per_second"].as_f64())
        .unwrap_or(0.0)
        / 1e6;
    eprintln!(
        "black hole: client exit {:?}, receiver goodput {received:.3} Mbit/s",
        out.status.code()
    );
    assert!(
        !out.status.success() || received < 0.01 * CEILING_10GBE_JUMBO,
        "TCP must stall through the black hole, got {received} Mbit/s"
    );
    let status = text(&saf(&["lab", "status"]).stdout);
    assert!(status.contains("near MTU 1500, far MTU 1500"), "{status}");
}

#[test]
fn two_labs_coexist_with_their_own_addresses_and_profiles() {
    let _serial = serial();
    require_lab!("two labs at once");
    let a = Lab::up("a", &["1gbe"]);
    let b = Lab::up("b", &["10gbe"]);
    assert_ne!(a.far(), b.far());
    let status = text(&saf(&["lab", "status"]).stdout);
    for (lab, profile) in [(&a, "1gbe"), (&b, "10gbe")] {
        assert!(
            status.contains(&format!("Lab '{}': up; profile {profile}", lab.name)),
            "{status}"
        );
        let env = lab.exec(
            &["sh", "-c", "echo $SAF_NET_PROFILE $SAF_NET_LAB"],
            Duration::from_secs(10),
        );
        assert_eq!(text(&env.stdout).trim(), format!("{profile} {}", lab.name));
    }
    // Far runs commands too, and exit codes come back.
    let far = saf(&[
        "lab", "exec", "--name", &a.name, "--host", "far", "--", "sh", "-c", "exit 7",
    ]);
    assert_eq!(far.status.code(), Some(7));
    let down = saf(&["lab", "down", "--name", &a.name]);
    assert!(down.status.success());
    assert!(Lab::namespaces_left(&a.name).is_empty());
    assert_eq!(Lab::namespaces_left(&b.name).len(), 3, "the other lab is untouched");
}

#[test]
fn a_lab_that_is_up_or_left_over_is_reported_not_rebuilt() {
    let _serial = serial();
    require_lab!("already up / leftovers");
    let lab = Lab::up("dup", &["1gbe"]);
    let again = saf(&["lab", "up", "10gbe", "--name", &lab.name]);
    assert_eq!(again.status.code(), Some(1));
    let err = text(&again.stderr);
    assert!(
        err.contains(&format!("lab '{}' is already up: profile 1gbe", lab.name)),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // A crash that left one namespace and no state.
    let crashed = format!("t{}-crash", std::process::id() % 100_000);
    let guard = Lab { name: crashed.clone() };
    let ns = format!("safnet-{crashed}-switch");
    assert!(
        Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .unwrap()
            .success()
    );
    let up = saf(&["lab", "up", "1gbe", "--name", &crashed]);
    assert_eq!(up.status.code(), Some(1));
    assert!(
        text(&up.stderr).contains("leftovers of an earlier run"),
        "{}",
        text(&up.stderr)
    );
    let down = saf(&["lab", "down", "--name", &crashed]);
    assert!(down.status.success());
    assert!(
        text(&down.stdout).contains("leftovers of a crashed run"),
        "{}",
        text(&down.stdout)
    );
    assert!(Lab::namespaces_left(&crashed).is_empty());
    drop(guard);
}

#[test]
fn not_root_gets_one_clear_line() {
    let _serial = serial();
    let out = if is_root() {
        if Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("SKIPPED (needs setpriv to drop root): not-root message");
            return;
        }
        Command::new("setpriv")
            .envs(common::sandbox_env())
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                BIN,
                "lab",
                "up",
                "1gbe",
                "--name",
                "nobody",
            ])
            .output()
            .unwrap()
    } else {
        Command::new(BIN)
            .envs(common::sandbox_env())
            .args(["lab", "up", "1gbe", "--name", "nobody"])
            .output()
            .unwrap()
    };
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("needs root"), "{err}");
}

#[test]
fn bad_input_is_one_line_and_a_usage_exit() {
    let cases: [(&[&str], &str); 5] = [
        (
            &["lab", "up", "nosuch"],
            "unknown profile 'nosuch'; known profiles: 10gbe, 10gbe-jumbo, 1gbe, thunderbolt",
        ),
        (&["lab", "up", "1gbe", "--name", "a/b"], "is not a lab name"),
        (
            &["lab", "up", "1gbe", "--switch-mtu", "100", "--dry-run"],
            "--switch-mtu 100",
        ),
        (
            &["client", "127.0.0.1", "-p", "9", "--profile", "nosuch"],
            "known profiles: 10gbe, 10gbe-jumbo, 1gbe, thunderbolt",
        ),
        (&["lab", "exec", "--host", "middle", "--", "true"], "middle"),
    ];
    for (args, want) in cases {
        let out = saf(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn a_broken_profile_file_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typo.toml");
    std::fs::write(
        &path,
        "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtuu = 1500\n",
    )
    .unwrap();
    let out = saf(&["lab", "up", path.to_str().unwrap(), "--dry-run"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:4:", path.display())) && err.contains("mtuu"),
        "{err}"
    );
}

#[test]
fn dry_run_prints_the_plan_without_root() {
    let out = saf(&[
        "lab",
        "up",
        "10gbe-jumbo",
        "--name",
        "plan",
        "--switch-mtu",
        "1500",
        "--dry-run",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("ip netns add safnet-plan-near"), "{t}");
    assert!(
        t.contains("ip -n safnet-plan-switch link set near mtu 1500 master br0"),
        "{t}"
    );
    assert!(t.contains("ip -n safnet-plan-near link set eth0 mtu 9000"), "{t}");
    assert!(
        t.contains("tc -n safnet-plan-switch qdisc replace dev far root tbf rate 9960147520bit"),
        "{t}"
    );
    assert!(t.contains("ethtool -K eth0 tso off gso off gro on"), "{t}");
}

#[test]
fn a_thunderbolt_lab_says_in_one_line_it_is_beyond_this_machine() {
    // --profile works as well as PROFILE, without root in a dry run.
    let out = saf(&["lab", "up", "--profile", "thunderbolt", "--name", "tbplan", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ip -n safnet-tbplan-near link set eth0 mtu 9000"));
    let _serial = serial();
    require_lab!("lab up --profile thunderbolt");
    let name = format!("t{}-tb", std::process::id() % 100_000);
    let out = saf(&["lab", "up", "--profile", "thunderbolt", "--name", &name]);
    let lab = Lab { name };
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}{}", text(&out.stderr));
    assert!(t.contains("profile thunderbolt, 40000 Mbit/s, MTU 9000"), "{t}");
    let notes: Vec<&str> = t
        .lines()
        .filter(|l| l.contains("beyond what the lab reaches"))
        .collect();
    assert_eq!(notes.len(), 1, "{t}");
    assert_eq!(lab.state()["profile"], "thunderbolt");
}

#[test]
fn down_with_nothing_up_says_so() {
    let _serial = serial();
    require_lab!("down with nothing up");
    let out = saf(&["lab", "down", "--name", "never-up-here"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Lab 'never-up-here' is not up; nothing to remove."));
    let out = saf(&["lab", "exec", "--name", "never-up-here", "--", "true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no lab named 'never-up-here' is up"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn client_scores_goodput_against_the_profile_and_flags_the_impossible() {
    // Loopback is far faster than 1 Gbit/s: the score must say the figure cannot have crossed 1GbE.
    let port = free_port();
    let _server = KillOnDrop(
        Command::new(BIN)
            .envs(common::sandbox_env())
            .args(["server", "-B", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let port = port.to_string();
    let args = [
        "client",
        "127.0.0.1",
        "-p",
        &port,
        "-t",
        "0.5",
        "--csv",
        csv.to_str().unwrap(),
    ];
    let out = Command::new(BIN)
        .envs(common::sandbox_env())
        .args(args)
        .env("SAF_NET_PROFILE", "profiles/1gbe.toml")
        .output()
        .unwrap();
    let t = text(&out.stdout);
    assert!(out.status.success(), "{t}{}", text(&out.stderr));
    let line = t
        .lines()
        .find(|l| l.starts_with("Profile 1gbe: receiver goodput"))
        .expect(&t);
    assert!(
        line.contains("% of the 941.5 Mbit/s TCP ceiling (1000 Mbit/s, MTU 1500, timestamps on)"),
        "{line}"
    );
    assert!(
        line.ends_with("above what this link can carry: is the profile right?"),
        "{line}"
    );
    // The history records the profile's name, not the path it was given as.
    let history = std::fs::read_to_string(&csv).unwrap();
    assert!(history.lines().nth(1).unwrap().contains(",1gbe,"), "{history}");
}

/// Runs `saf-net mtu FAR -J` in near; returns (exit code, document, seconds).
fn mtu_probe(lab: &Lab) -> (Option<i32>, Value, f64) {
    let far = lab.far();
    let t = std::time::Instant::now();
    let out = lab.exec(&[BIN, "mtu", &far, "-J", "--no-history"], Duration::from_secs(30));
    let secs = t.elapsed().as_secs_f64();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("mtu JSON: {e}: {}", text(&out.stderr)));
    (out.status.code(), doc, secs)
}

fn kinds(path: &Value) -> Vec<String> {
    path["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn mtu_probe_names_the_jumbo_black_hole_and_the_stalled_test() {
    let _serial = serial();
    require_lab!("mtu probe through a jumbo black hole");
    let lab = Lab::up("mtuhole", &["10gbe-jumbo", "--switch-mtu", "1500"]);
    let (code, doc, secs) = mtu_probe(&lab);
    let p = &doc["path"];
    assert_eq!(code, Some(4), "a diagnosed problem exits 4: {doc}");
    assert_eq!(p["mtu_probe"]["forward_path_mtu"], 1500, "{p}");
    assert_eq!(p["mtu_probe"]["reverse_path_mtu"], 1500, "{p}");
    assert_eq!(p["mtu_probe"]["forward_udp_payload"], 1472, "{p}");
    assert_eq!(p["local"]["mtu"], 9000);
    assert_eq!(p["remote"]["mtu"], 9000);
    assert!(kinds(p).contains(&"jumbo_black_hole".to_string()), "{p}");
    let msg = p["diagnoses"][0]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("frames larger than 1500 bytes are dropped between this host and"),
        "{msg}"
    );
    assert!(secs < 3.0, "the probe takes {secs:.2} s; it must finish within 3 s");
    // A throughput test probes first, then stalls; it ends early with both diagnoses instead of printing zeros.
    let far = lab.far();
    let t = std::time::Instant::now();
    let out = lab.exec(
        &[BIN, "client", &far, "-t", "10", "-J", "--no-history"],
        Duration::from_secs(40),
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
    let k = kinds(&doc["saf_net"]["path"]);
    assert!(
        k.contains(&"jumbo_black_hole".to_string()) && k.contains(&"stall".to_string()),
        "{k:?}"
    );
    assert_eq!(out.status.code(), Some(3), "incomplete");
    assert!(t.elapsed() < Duration::from_secs(9), "ended early: {:?}", t.elapsed());
}

#[test]
fn clean_paths_report_their_mtu_and_mss() {
    let _serial = serial();
    require_lab!("clean jumbo and 1500 paths");
    for (profile, mtu, adv, eff) in [("10gbe-jumbo", 9000, 8960, 8948), ("1gbe", 1500, 1460, 1448)] {
        let lab = Lab::up(&format!("clean{mtu}"), &[profile]);
        let (code, doc, secs) = mtu_probe(&lab);
        let p = &doc["path"];
        assert_eq!(code, Some(0), "{profile}: clean path exits 0: {p}");
        assert_eq!(p["mtu_probe"]["forward_path_mtu"], mtu, "{p}");
        assert_eq!(p["mtu_probe"]["reverse_path_mtu"], mtu, "{p}");
        assert!(kinds(p).is_empty(), "{p}");
        assert!(secs < 3.0, "{secs}");
        let far = lab.far();
        let out = lab.exec(
            &[BIN, "client", &far, "-t", "1", "-J", "--no-history"],
            Duration::from_secs(30),
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let path = &doc["saf_net"]["path"];
        assert_eq!(path["mss_advertised"], adv, "{profile}: {path}");
        assert_eq!(path["mss_effective"], eff, "{profile}: {path}");
        assert_eq!(path["local"]["mtu"], mtu);
        assert_eq!(path["remote"]["mtu"], mtu);
    }
}

#[test]
fn a_link_taken_down_mid_test_ends_it_with_a_clear_message() {
    let _serial = serial();
    require_lab!("link down mid-test");
    let lab = Lab::up("down", &["1gbe"]);
    let far = lab.far();
    let far_ns = lab.state()["far_ns"].as_str().unwrap().to_string();
    let args = [
        "lab",
        "exec",
        "--name",
        &lab.name,
        "--",
        BIN,
        "client",
        &far,
        "-t",
        "20",
        "-J",
        "--no-history",
    ];
    let child = Command::new(BIN)
        .envs(common::sandbox_env())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let down = Command::new("ip")
        .args([
            "netns",
            "exec",
            &far_ns,
            "sh",
            "-c",
            "for i in $(ls /sys/class/net); do [ $i = lo ] || ip link set $i down; done",
        ])
        .status()
        .unwrap();
    assert!(down.success());
    let t = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the client gave up within a bounded time: {:?}",
        t.elapsed()
    );
    assert_eq!(out.status.code(), Some(3), "incomplete: {}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["saf_net"]["complete"], false);
    let k = kinds(&doc["saf_net"]["path"]);
    assert!(k.contains(&"stall".to_string()), "{k:?}");
    assert!(
        k.contains(&"path_down".to_string()),
        "the late probe finds nothing passes: {k:?}"
    );
}

#[test]
fn loaded_rtt_is_above_idle_rtt_on_a_saturated_1gbe_link() {
    let _serial = serial();
    require_lab!("latency under load");
    let lab = Lab::up("bloat", &["1gbe"]);
    let doc = lab.client_json(&["-t", "3", "--latency"]);
    let lat = &doc["saf_net"]["latency"];
    let idle = lat["idle"]["rtt"]["p50_us"].as_f64().unwrap();
    let loaded = lat["loaded"]["rtt"]["p50_us"].as_f64().unwrap();
    eprintln!("1gbe lab: idle p50 {idle:.0} µs, loaded p50 {loaded:.0} µs");
    // The tbf queue holds ~10 ms at 1 Gbit/s; probes wait behind the bulk data.
    assert!(
        loaded > 2.0 * idle && loaded > 500.0,
        "loaded {loaded} µs vs idle {idle} µs"
    );
}

#[test]
fn validate_passes_the_right_profile_and_fails_the_wrong_one() {
    let _serial = serial();
    require_lab!("validate against a lab link");
    let lab = Lab::up("validate", &["1gbe"]);
    let far = lab.far();
    let run = |profile: &str| {
        lab.exec(
            &[
                BIN,
                "validate",
                &far,
                "--profile",
                profile,
                "-t",
                "3",
                "--max-rtt-p99-us",
                "50000",
                "--no-history",
            ],
            Duration::from_secs(60),
        )
    };
    let mut good = run("1gbe");
    // A busy machine can push one run under 95 %; retry once before calling it.
    if good.status.code() != Some(0) {
        good = run("1gbe");
    }
    assert_eq!(
        good.status.code(),
        Some(0),
        "{}{}",
        text(&good.stdout),
        text(&good.stderr)
    );
    assert!(text(&good.stdout).contains("Verdict: PASS"));
    let bad = run("10gbe-jumbo");
    assert_eq!(bad.status.code(), Some(4), "{}{}", text(&bad.stdout), text(&bad.stderr));
    let out = text(&bad.stdout);
    assert!(
        out.contains("FAIL  path MTU") && out.contains("FAIL  goodput, 1 stream"),
        "{out}"
    );
}

/// One UDP run from near to far at `rate`: (received Mbit/s, lost %, offered Mbit/s).
fn udp_run(lab: &Lab, rate: &str) -> (f64, f64, f64) {
    let doc = lab.client_json(&["-u", "-b", rate, "-t", "3"]);
    let end = &doc["end"];
    (
        end["sum"]["bits_per_second"].as_f64().unwrap() / 1e6,
        end["sum"]["lost_percent"].as_f64().unwrap(),
        end["sum_sent"]["bits_per_second"].as_f64().unwrap() / 1e6,
    )
}

#[test]
fn udp_above_the_line_rate_loses_the_excess_at_the_switch() {
    let _serial = serial();
    require_lab!("UDP loss on a 1gbe link");
    let lab = Lab::up("udp", &["1gbe"]);
    // 1472-byte payloads in 1538 wire bytes: the most UDP payload a 1 GbE wire carries.
    let ceiling = 1000.0 * 1472.0 / 1538.0;

    let (got, lost, offered) = udp_run(&lab, "1.2G");
    let excess = 100.0 * (1.0 - ceiling / offered);
    eprintln!(
        "1gbe lab, UDP at 1.2G: offered {offered:.1}, received {got:.1} Mbit/s, lost {lost:.2} % (excess {excess:.2} %)"
    );
    assert!(
        offered > 1100.0,
        "the sender must really offer more than the wire: {offered:.1} Mbit/s"
    );
    assert!(
        got <= ceiling * 1.002,
        "received {got:.1} Mbit/s, above the {ceiling:.1} wire limit"
    );
    assert!(
        (lost - excess).abs() <= 3.0,
        "lost {lost:.2} % should be near the excess {excess:.2} % over the wire"
    );

    // Below the line rate, nothing is lost (a busy machine may drop a few datagrams).
    let (got, lost, _) = udp_run(&lab, "900M");
    eprintln!("1gbe lab, UDP at 900M: received {got:.1} Mbit/s, lost {lost:.3} %");
    assert!(lost < 0.5, "lost {lost:.3} % at 900 Mbit/s on a 1 Gbit/s link");
    assert!(got > 890.0, "received only {got:.1} Mbit/s of 900");
}

/// The lines of `stderr` that say a route is not the profile's interface.
fn wrong_interface_lines(stderr: &[u8]) -> Vec<String> {
    text(stderr)
        .lines()
        .filter(|l| l.contains("not the profile's interface"))
        .map(String::from)
        .collect()
}

#[test]
fn a_second_route_through_a_tunnel_is_named_as_not_the_profiles_interface() {
    let _serial = serial();
    require_lab!("second route through a tunnel");
    let lab = Lab::up("tunnel", &["1gbe", "--second-route"]);
    let st = lab.state();
    assert_eq!(st["second_route"]["interface"], "vpn0", "{st}");
    let second = st["second_route"]["far_addr"].as_str().unwrap().to_string();
    let status = text(&saf(&["lab", "status"]).stdout);
    assert!(status.contains(&format!("vpn0 {second}/32 MTU 1280")), "{status}");

    // Through the tunnel: one warning line on stderr naming it, the diagnosis first in the JSON.
    let argv = [
        BIN,
        "client",
        &second,
        "--profile",
        "10gbe",
        "-t",
        "0.5",
        "-J",
        "--no-history",
    ];
    let out = lab.exec(&argv, Duration::from_secs(30));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = wrong_interface_lines(&out.stderr);
    assert_eq!(lines.len(), 1, "one warning line: {}", text(&out.stderr));
    assert!(
        lines[0].contains(&format!("traffic to {second} leaves by vpn0 (VPN tunnel)")),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(&format!("sudo ip route add {second}/32 dev IF")),
        "{}",
        lines[0]
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
    let path = &doc["saf_net"]["path"];
    assert_eq!(path["route"]["interface"], "vpn0", "{path}");
    assert_eq!(path["route"]["kind"], "vpn_tunnel", "{path}");
    assert_eq!(path["diagnoses"][0]["kind"], "wrong_interface", "{path}");

    // The link's own address: the lab's veth is no verdict, so no warning.
    let far = lab.far();
    let argv = [
        BIN,
        "client",
        &far,
        "--profile",
        "10gbe",
        "-t",
        "0.5",
        "-J",
        "--no-history",
    ];
    let out = lab.exec(&argv, Duration::from_secs(30));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(wrong_interface_lines(&out.stderr).is_empty(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
    assert_eq!(doc["saf_net"]["path"]["route"]["interface"], "eth0");
    assert!(!kinds(&doc["saf_net"]["path"]).contains(&"wrong_interface".to_string()));

    let name = lab.name.clone();
    assert!(saf(&["lab", "down", "--name", &name]).status.success());
    assert!(Lab::namespaces_left(&name).is_empty());
}
