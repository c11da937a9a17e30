//! `saf-net mesh --from-ray` against a real single-node Ray cluster (`ray start --head --port 6380` on this host,
//! in a temp dir, stopped with `ray stop` at the end even on failure): discovery lists the node, and one node is
//! too few. SKIPPED loudly when Ray is not installed (`.ci/run` pip-installs it) or a Ray cluster already runs here
//! (the `ray stop` at the end would stop it too).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{saf_net, text};

/// The GCS port the cluster document uses.
const PORT: &str = "6380";
/// How long `ray start` may take.
const START_LIMIT: Duration = Duration::from_secs(120);

fn ray_installed() -> bool {
    let cli = Command::new("ray")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let module = Command::new("python3")
        .args(["-c", "import ray"])
        .stderr(Stdio::null())
        .status();
    cli.is_ok_and(|s| s.success()) && module.is_ok_and(|s| s.success())
}

/// Whether a Ray cluster already runs on this host: `ray stop` at the end would stop it too, so the test leaves it be.
fn ray_already_running() -> bool {
    let gcs_port = std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1).is_some_and(|a| a.ends_with(":18EC")) && l.contains(" 0A "));
    let procs = Command::new("pgrep")
        .args(["-f", "gcs_server|raylet"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    gcs_port || procs
}

/// Stops the cluster (`ray stop --force`) and removes its temp dir when dropped, pass or fail.
struct Cluster {
    dir: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("ray")
            .args(["stop", "--force"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd` to its end within `limit` (killed after), giving its exit success and combined output.
fn bounded(mut cmd: Command, limit: Duration) -> (bool, String) {
    let out = std::env::temp_dir().join(format!("saf-net-ray-start-{}.log", std::process::id()));
    let log = std::fs::File::create(&out).unwrap();
    let mut child = cmd.stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
    let start = Instant::now();
    let ok = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.success();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let said = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    (ok, said)
}

/// The address Ray chose for this node, from `ray start`'s "Local node IP: X" line.
fn node_ip(said: &str) -> Option<String> {
    said.lines()
        .find_map(|l| l.split_once("Local node IP: "))
        .map(|(_, ip)| ip.trim().to_string())
}

#[test]
fn from_ray_lists_the_head_node_and_refuses_one_node() {
    if !ray_installed() {
        eprintln!("SKIPPED mesh_ray: Ray is not installed (`pip install ray`; .ci/run installs it)");
        return;
    }
    if ray_already_running() {
        eprintln!(
            "SKIPPED mesh_ray: a Ray cluster already runs on this host (port 6380 or its processes); this test \
             would stop it at its end"
        );
        return;
    }
    // Short: Ray's socket paths under it must stay below the 107-byte limit.
    let dir = std::env::temp_dir().join(format!("sn-ray-{}", std::process::id()));
    let cluster = Cluster { dir: dir.clone() };
    let mut start = Command::new("ray");
    start
        .args([
            "start",
            "--head",
            "--port",
            PORT,
            "--node-ip-address",
            "127.0.0.1",
            "--include-dashboard=false",
        ])
        .args(["--num-cpus=1", "--disable-usage-stats", "--temp-dir"])
        .arg(&dir)
        .env("RAY_USAGE_STATS_ENABLED", "0");
    let (ok, said) = bounded(start, START_LIMIT);
    assert!(ok, "ray start failed or took over {START_LIMIT:?}:\n{said}");
    let ip = node_ip(&said).unwrap_or_else(|| "127.0.0.1".into());
    let address = format!("127.0.0.1:{PORT}");

    let o = saf_net()
        .args([
            "mesh",
            "--from-ray",
            "--ray-address",
            &address,
            "--dry-run",
            "-J",
            "192.0.2.250",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let hosts: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["host"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["192.0.2.250", ip.as_str()], "Ray's node is listed by its IP");
    assert_eq!(doc["check_ports"], serde_json::json!([6380]));

    let o = saf_net()
        .args(["mesh", "--from-ray", "--ray-address", &address, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.starts_with(&format!(
            "error: a mesh needs at least 2 nodes, got 1 (Ray at {address} lists 1 alive node(s))"
        )),
        "{err}"
    );
    drop(cluster);
}
