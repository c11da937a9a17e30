//! The N-host lab for end-to-end tests (`lab up --hosts N`): a lab taken down when the test ends, its status,
//! `lab exec`, and the loud SKIPPED line without root or namespaces. Shared by tests/lab_hosts.rs,
//! tests/mesh_lab.rs and tests/collective_lab.rs through `#[path]`.
#![allow(dead_code)]

use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::common::{self, BIN, is_root, text};
use serde_json::Value;

/// TCP goodput ceilings (IPv4, timestamps on, MTU 1500) of 1GbE and 100 Mbit/s (`model.rs`).
pub const CEILING_1GBE: f64 = 941.47;
pub const CEILING_100M: f64 = 94.15;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

pub fn serial() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why lab tests cannot run here, if they cannot; printed loudly by the caller.
pub fn skipped(what: &str) -> bool {
    let why = if !is_root() {
        Some("not running as root".to_string())
    } else {
        let probe = format!("safnet-hprobe-{}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &probe])
            .output()
            .is_ok_and(|o| o.status.success());
        let _ = Command::new("ip").args(["netns", "del", &probe]).output();
        let tools = ["tc", "ethtool"].iter().all(|t| {
            Command::new(t)
                .arg(if *t == "tc" { "-V" } else { "--version" })
                .output()
                .is_ok_and(|o| o.status.success())
        });
        (!ok || !tools).then(|| "`ip netns add`, tc or ethtool fails here".to_string())
    };
    if let Some(why) = &why {
        eprintln!("\n========================================================================");
        eprintln!("SKIPPED (needs root + network namespaces): {what} — {why}");
        eprintln!("========================================================================\n");
    }
    why.is_some()
}

/// Runs saf-net with `args`, killed after `limit`.
pub fn saf_within(args: &[&str], limit: Duration) -> Output {
    let mut c = Command::new(BIN);
    common::isolate(&mut c);
    let mut child = c
        .args(args)
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

pub fn saf(args: &[&str]) -> Output {
    saf_within(args, Duration::from_secs(60))
}

/// `saf-net COMMAND h1=ADDR1 … hN=ADDRN ARGS -J --no-history` from host 1 through `lab exec` (a cluster command:
/// mesh, collective): its `-J` document, exit code, stderr and wall time.
pub fn cluster_json(lab: &Lab, command: &str, hosts: u64, args: &[&str]) -> (Value, Option<i32>, String, Duration) {
    let nodes: Vec<String> = (1..=hosts).map(|k| format!("h{k}={}", lab.addr(k))).collect();
    let mut argv = vec![
        "lab", "exec", "--name", &lab.name, "--host", "1", "--", "saf-net", command,
    ];
    argv.extend(nodes.iter().map(String::as_str));
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["-J", "--no-history"]);
    let start = Instant::now();
    let out = saf_within(&argv, Duration::from_secs(300));
    let took = start.elapsed();
    let err = text(&out.stderr);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{command} JSON ({e}): {err}"));
    (doc, out.status.code(), err, took)
}

/// A lab that is taken down when the test ends, however it ends.
pub struct Lab {
    pub name: String,
}

impl Lab {
    pub fn up(tag: &str, args: &[&str]) -> Lab {
        let lab = Lab {
            name: format!("h{}-{tag}", std::process::id() % 100_000),
        };
        let mut all = vec!["lab", "up"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--name", &lab.name]);
        let out = saf(&all);
        assert!(
            out.status.success(),
            "lab up {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        lab
    }

    /// This lab's entry in `lab status --json`.
    pub fn status(&self) -> Value {
        let out = saf(&["lab", "status", "--json"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        let labs = doc["labs"].as_array().expect("a labs array");
        labs.iter()
            .find(|l| l["name"] == self.name.as_str())
            .cloned()
            .unwrap_or_else(|| panic!("{} not in {doc}", self.name))
    }

    /// Host `index`'s address, from `lab status --json`.
    pub fn addr(&self, index: u64) -> String {
        let st = self.status();
        let h = st["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["index"] == index)
            .unwrap();
        h["address"].as_str().unwrap().to_string()
    }

    /// Runs `argv` in host `host` through `lab exec`.
    pub fn exec(&self, host: &str, argv: &[&str]) -> Output {
        let mut args = vec!["lab", "exec", "--name", &self.name, "--host", host, "--"];
        args.extend_from_slice(argv);
        saf_within(&args, Duration::from_secs(30))
    }

    /// Receiver goodput (Mbit/s) of a 2 s client run from host `from` to address `to` (`-R`: the other way).
    pub fn goodput(&self, from: &str, to: &str, reverse: bool) -> f64 {
        let mut argv = vec!["saf-net", "client", to, "-t", "2", "-J", "--no-history"];
        if reverse {
            argv.push("-R");
        }
        let out = self.exec(from, &argv);
        assert!(out.status.success(), "client {argv:?}: {}", text(&out.stderr));
        let doc: Value = serde_json::from_slice(&out.stdout).expect("client JSON");
        doc["end"]["sum_received"]["bits_per_second"].as_f64().unwrap() / 1e6
    }

    pub fn namespaces_left(&self) -> Vec<String> {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&format!("safnet-{}-", self.name)))
            .map(String::from)
            .collect()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = saf(&["lab", "down", "--name", &self.name]);
    }
}

pub fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
}
