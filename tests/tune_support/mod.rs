//! Shared by the `saf-net tune` tests: a sandbox with the fake programs of `tests/fakes` first on
//! PATH (each keeps its state in the sandbox and logs every call), runs of the real binary, and the
//! loud skip for tests that need root.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_saf-net");

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|r| r.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Returns early, loudly, when not root.
#[macro_export]
macro_rules! require_root {
    ($what:expr) => {
        if !$crate::tune_support::is_root() {
            eprintln!("\n========================================================================");
            eprintln!("SKIPPED (needs root): {}", $what);
            eprintln!("========================================================================\n");
            return;
        }
    };
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The macOS sysctls with the values of a stock Mac Studio (macOS 15).
pub const MAC_SYSCTLS: &[(&str, &str)] = &[
    ("kern.ipc.maxsockbuf", "8388608"),
    ("net.inet.tcp.sendspace", "131072"),
    ("net.inet.tcp.recvspace", "131072"),
    ("net.inet.tcp.autorcvbufmax", "4194304"),
    ("net.inet.tcp.autosndbufmax", "4194304"),
];

/// The Linux sysctls with a stock kernel's values.
pub const LINUX_SYSCTLS: &[(&str, &str)] = &[
    ("net.core.rmem_max", "212992"),
    ("net.core.wmem_max", "212992"),
    ("net.ipv4.tcp_rmem", "4096 131072 6291456"),
    ("net.ipv4.tcp_wmem", "4096 16384 4194304"),
];

pub const MAC_VALID_MEDIA: &str = "autoselect\n10baseT/UTP <half-duplex>\n10baseT/UTP <full-duplex>\n\
100baseTX <half-duplex>\n100baseTX <full-duplex>\n1000baseT <full-duplex>\n2500Base-T <full-duplex>\n\
5000Base-T <full-duplex>\n10Gbase-T <full-duplex>\n10Gbase-T <full-duplex,flow-control>\n";

/// The media a 10GBASE-T port with flow control and Energy-Efficient Ethernet negotiates.
pub const MAC_EEE_MEDIA: &str = "10Gbase-T <full-duplex,flow-control,energy-efficient-ethernet>";

/// A folder with fake programs on PATH and their state.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// A sandbox whose `bin/` holds the named fakes (e.g. ["networksetup", "sysctl"]).
    pub fn new(fakes: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fakes");
        for f in fakes.iter().chain(&["_fake.sh"]) {
            std::os::unix::fs::symlink(src.join(f), bin.join(f)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        Sandbox { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where saf-net keeps its snapshot in these tests (`--state-dir`).
    pub fn state_dir(&self) -> PathBuf {
        self.path().join("state")
    }

    pub fn state_file(&self) -> PathBuf {
        self.state_dir().join("tune.json")
    }

    /// The file `--persist` writes (`SAF_NET_SYSCTL_CONF`).
    pub fn sysctl_conf(&self) -> PathBuf {
        self.path().join("etc/sysctl.conf")
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel))
            .unwrap_or_default()
            .trim_end()
            .to_string()
    }

    /// A Mac Studio: built-in 10GbE "Ethernet" (en0, its link negotiated with flow control and EEE), a
    /// Thunderbolt 10GbE adapter with spaces in its name (en5), Wi-Fi (en1, "Active: not set"), and the
    /// Thunderbolt Bridge (bridge0) over "Thunderbolt 1" (en2) and "Thunderbolt 2" (en3), with no
    /// cable in (status inactive; `-getMedia` fails on the bridge). Every port is on automatic at MTU 1500.
    pub fn mac_studio(&self) {
        self.write(
            "networksetup/ports",
            "Ethernet|en0|3c:a6:f6:12:34:56\nThunderbolt Ethernet Slot 1|en5|00:30:93:12:34:57\n\
Wi-Fi|en1|3c:a6:f6:12:34:58\nThunderbolt 1|en2|36:b5:4b:12:34:01\nThunderbolt 2|en3|36:b5:4b:12:34:02\n\
Thunderbolt Bridge|bridge0|36:b5:4b:12:34:00\n",
        );
        for dev in ["en0", "en5"] {
            self.port(dev, "1280-9000", MAC_VALID_MEDIA, "10Gbase-T <full-duplex>");
        }
        self.write("networksetup/en0/valid", &format!("{MAC_VALID_MEDIA}{MAC_EEE_MEDIA}\n"));
        self.write("networksetup/en0/negotiated", &format!("{MAC_EEE_MEDIA}\n"));
        self.port("en1", "1280-1500", "autoselect\n", "not set");
        for dev in ["en2", "en3"] {
            self.port(dev, "1280-9000", "autoselect\n", "autoselect <full-duplex>");
            self.write(&format!("networksetup/{dev}/status"), "inactive\n");
        }
        self.port("bridge0", "1280-9000", "", "");
        for f in ["media", "negotiated", "valid"] {
            let _ = std::fs::remove_file(self.path().join(format!("networksetup/bridge0/{f}")));
        }
        self.write("networksetup/bridge0/nomedia", "");
        self.write("networksetup/bridge0/members", "en2 en3\n");
        self.write("networksetup/bridge0/status", "inactive\n");
        self.sysctls(MAC_SYSCTLS);
        self.write("ifconfig/en0", "192.168.1.172\nfe80::1c2b:3d4e:5f60:7182\n");
        self.write("ifconfig/en5", "10.10.10.2\n");
        self.write("ifconfig/bridge0", "169.254.10.2\n");
    }

    /// One port of the fake networksetup, on automatic at MTU 1500.
    fn port(&self, dev: &str, range: &str, valid: &str, negotiated: &str) {
        self.write(&format!("networksetup/{dev}/mtu"), "1500\n");
        self.write(&format!("networksetup/{dev}/range"), &format!("{range}\n"));
        self.write(&format!("networksetup/{dev}/media"), "autoselect\n");
        self.write(&format!("networksetup/{dev}/negotiated"), &format!("{negotiated}\n"));
        self.write(&format!("networksetup/{dev}/valid"), valid);
        self.write(&format!("networksetup/{dev}/auto"), "");
    }

    /// Sets one file of the fakes' state (e.g. "networksetup/en3/range", "1280-1500").
    pub fn set(&self, rel: &str, content: &str) {
        self.write(rel, &format!("{content}\n"));
    }

    /// Renames hardware ports, as a Mac in another language names them: (device, new name).
    pub fn rename_ports(&self, renames: &[(&str, &str)]) {
        let ports = self.read("networksetup/ports");
        let mut out = String::new();
        for line in ports.lines() {
            let mut f: Vec<String> = line.split('|').map(String::from).collect();
            if let Some((_, name)) = renames
                .iter()
                .find(|(dev, _)| f.get(1).map(String::as_str) == Some(*dev))
            {
                f[0] = name.to_string();
            }
            out += &f.join("|");
            out.push('\n');
        }
        self.write("networksetup/ports", &out);
    }

    pub fn sysctls(&self, values: &[(&str, &str)]) {
        for (k, v) in values {
            self.write(&format!("sysctl/{k}"), &format!("{v}\n"));
        }
    }

    /// A 10GBASE-T NIC named `ifname` for the fake ethtool, linked to a partner that supports
    /// `partner` (link modes), autonegotiating every mode it supports.
    pub fn nic(&self, ifname: &str, partner: &str) {
        let modes = "100baseT/Full 1000baseT/Full 2500baseT/Full 5000baseT/Full 10000baseT/Full";
        self.write(&format!("ethtool/{ifname}/supported"), modes);
        self.write(&format!("ethtool/{ifname}/advertised"), modes);
        self.write(&format!("ethtool/{ifname}/partner"), partner);
        self.write(&format!("ethtool/{ifname}/autoneg"), "on");
        self.write(&format!("ethtool/{ifname}/speed"), "10000");
        self.write(&format!("ethtool/{ifname}/duplex"), "full");
        self.write(&format!("ethtool/{ifname}/link"), "yes");
    }

    /// Makes the fakes fail: lines of "PROGRAM ARGS-PREFIX|MODE" (see tests/fakes/_fake.sh).
    pub fn fail_on(&self, rules: &str) {
        self.write("fail", rules);
    }

    /// Everything the fakes' state says, for before/after comparisons (the call log left out).
    pub fn fake_state(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for top in ["networksetup", "sysctl", "ethtool"] {
            collect(&self.path().join(top), top, &mut out);
        }
        out
    }

    /// Every call the fakes saw, shell-quoted.
    pub fn calls(&self) -> Vec<String> {
        self.read("calls.log").lines().map(String::from).collect()
    }

    /// The calls that change something.
    pub fn changing_calls(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| is_change(c)).collect()
    }

    pub fn clear_calls(&self) {
        let _ = std::fs::remove_file(self.path().join("calls.log"));
    }

    /// A command running saf-net with the fakes first on PATH and the test seams set; no
    /// SSH_CONNECTION unless the test sets one.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        self.prepare(&mut c);
        c.args(args);
        c
    }

    /// Sets the environment of `c` for this sandbox.
    pub fn prepare(&self, c: &mut Command) {
        let path = format!(
            "{}:{}",
            self.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("PATH", path)
            .env("SAF_NET_FAKE_DIR", self.path())
            .env("SAF_NET_SYSCTL_CONF", self.sysctl_conf())
            .env("SAF_NET_HISTORY", self.path().join("history.csv"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env_remove("SSH_CONNECTION")
            .env_remove("SUDO_USER")
            .env_remove("SAF_NET_TUNE_STATE_DIR")
            .env_remove("SAF_NET_PROFILES")
            .stdin(Stdio::null());
    }

    /// Runs saf-net (macOS sysctl flavor when `backend` is macos).
    pub fn saf(&self, args: &[&str]) -> Output {
        let mut c = self.command(args);
        if args.windows(2).any(|w| w == ["--backend", "macos"]) {
            c.env("SAF_NET_FAKE_SYSCTL", "macos");
        }
        run(c)
    }
}

fn collect(dir: &Path, prefix: &str, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let key = format!("{prefix}/{}", e.file_name().to_string_lossy());
        if p.is_dir() {
            collect(&p, &key, out);
        } else {
            out.insert(key, std::fs::read_to_string(&p).unwrap_or_default().trim().to_string());
        }
    }
}

/// Whether a logged call changes something.
pub fn is_change(call: &str) -> bool {
    call.starts_with("networksetup -set")
        || call.starts_with("sysctl -w")
        || call.starts_with("ethtool -s")
        || call.starts_with("ip link set")
}

/// Runs a command to completion within 60 s.
pub fn run(mut c: Command) -> Output {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().expect("saf-net starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{c:?} took longer than 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Waits up to `limit` for `cond`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    cond()
}

/// Asserts a run failed with exactly one line on stderr containing `want`, and returns that line.
pub fn one_line_error(out: &Output, code: i32, want: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {err}",
        text(&out.stdout)
    );
    assert_eq!(err.lines().count(), 1, "one line, got: {err}");
    assert!(err.contains(want), "wanted {want:?} in: {err}");
    err.trim_end().to_string()
}
