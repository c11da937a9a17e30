//! A real Prometheus for the tests: Debian's `prometheus` on a free loopback port of its own (not 9090, where
//! the package may run its daemon), storage in a temp dir, killed when the test ends.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::KillOnDrop;
use crate::scrape::wait_for;

/// Whether `prometheus` is installed; when not, the caller prints its SKIPPED line.
pub fn installed() -> bool {
    Command::new("prometheus")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A running Prometheus and the address of its HTTP API.
pub struct Prometheus {
    pub addr: SocketAddr,
    _child: KillOnDrop,
}

/// Starts Prometheus with `config` (YAML text, written into `dir` beside any rule files the caller put there);
/// `prefix` runs it through a wrapper (e.g. `ip netns exec NS`). Waits (bounded) until it is ready.
pub fn start(dir: &Path, config: &str, prefix: &[&str], listen_ip: &str) -> Prometheus {
    let cfg = dir.join("prometheus.yml");
    std::fs::write(&cfg, config).unwrap();
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let addr: SocketAddr = format!("{listen_ip}:{port}").parse().unwrap();
    let (program, pre) = match prefix.split_first() {
        Some((p, rest)) => (p.to_string(), rest.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        None => ("prometheus".to_string(), Vec::new()),
    };
    let mut c = Command::new(program);
    c.args(pre);
    if !prefix.is_empty() {
        c.arg("prometheus");
    }
    c.arg(format!("--config.file={}", cfg.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .stderr(std::fs::File::create(dir.join("prometheus.err")).unwrap());
    let child = KillOnDrop(c.spawn().expect("prometheus starts"));
    Prometheus { addr, _child: child }
}

impl Prometheus {
    /// Waits until Prometheus answers as ready, or panics with its log.
    pub fn ready(&self, dir: &Path, get: impl Fn(SocketAddr, &str) -> Option<(u16, String)>) {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if let Some((200, _)) = get(self.addr, "/-/ready") {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!(
            "prometheus did not become ready: {}",
            std::fs::read_to_string(dir.join("prometheus.err")).unwrap_or_default()
        );
    }

    /// Waits (bounded) until the instant query `q`'s JSON answer satisfies `done`.
    pub fn wait_query(&self, q: &str, limit: Duration, done: impl Fn(&serde_json::Value) -> bool) -> (bool, String) {
        let path = format!("/api/v1/query?query={}", encode(q));
        wait_for(self.addr, &path, limit, |body| {
            serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| done(&v))
        })
    }
}

/// Percent-encoding of a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The sample values of an instant query's vector result.
pub fn values(v: &serde_json::Value) -> Vec<f64> {
    v["data"]["result"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|s| s["value"][1].as_str().and_then(|x| x.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}
