//! `--from-ray`: the node list of a running Ray cluster, read through Ray's own Python API (`ray.nodes()`, what a
//! plain `pip install ray` gives) run by `python3` through [`crate::runner`], so tests fake it.

use serde::Deserialize;

use super::nodes::Node;
use crate::classify::Classify;
use crate::runner::{Cmd, RunError, Runner};

/// The Python interpreter the query runs with.
pub const PYTHON: &str = "python3";
/// Seconds the query may take (joining the cluster as a driver takes a few) before it is killed.
pub const QUERY_TIMEOUT_SECS: u32 = 30;
/// The address `ray.init` is given without `--ray-address`: the cluster this host belongs to.
pub const LOCAL_CLUSTER: &str = "auto";
/// The query's exit code when `import ray` fails.
const EXIT_NO_RAY: i32 = 3;
/// The query's exit code when `ray.init` finds no cluster.
const EXIT_NO_CLUSTER: i32 = 4;

/// Joins the cluster at `sys.argv[1]` as a driver, prints the nodes, the dashboard's URL and the GCS address as
/// one JSON object. Bounded by an alarm; Ray's own logging is kept off stdout.
const QUERY: &str = r#"import json, signal, sys
signal.alarm(int(sys.argv[2]))
try:
    import ray
except ImportError as e:
    print("cannot import ray: %s" % e, file=sys.stderr)
    sys.exit(3)
try:
    ctx = ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False, configure_logging=False)
except Exception as e:
    print(" ".join(str(e).split()) or type(e).__name__, file=sys.stderr)
    sys.exit(4)
info = getattr(ctx, "address_info", {}) or {}
out = {"nodes": ray.nodes(), "dashboard_url": getattr(ctx, "dashboard_url", None) or None,
       "gcs_address": info.get("gcs_address")}
print(json.dumps(out, default=str))
ray.shutdown()
"#;

/// Why the node list could not be read from Ray; each is one line (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum RayError {
    #[error(
        "--from-ray needs {PYTHON} with Ray installed, and {PYTHON} was not found on PATH; install Python 3 and `pip install ray`, or list the nodes"
    )]
    NoPython,
    #[error("--from-ray: Ray is not installed for {PYTHON} ({reason}); `pip install ray`, or list the nodes")]
    NotInstalled { reason: String },
    #[error("--from-ray: no Ray cluster at {address}: {reason}; start one (`ray start --head`), or give --ray-address")]
    NoCluster { address: String, reason: String },
    #[error(
        "--from-ray: asking Ray at {address} took more than {QUERY_TIMEOUT_SECS} s; check that the cluster answers, or list the nodes"
    )]
    Timeout { address: String },
    #[error("--from-ray: Ray's answer could not be read ({reason})")]
    Answer { reason: String },
    #[error("--from-ray: {0}")]
    Run(RunError),
}

impl Classify for RayError {
    fn is_usage(&self) -> bool {
        false
    }
}

/// What Ray said: the alive nodes, a line for each node left out, and the ports Ray reported.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RayCluster {
    pub nodes: Vec<Node>,
    /// One line per node left out (dead, or a second node on the same address).
    pub skipped: Vec<String>,
    /// The dashboard's port, where Ray reports a dashboard.
    pub dashboard_port: Option<u16>,
    /// The GCS port Ray reports, where it does.
    pub gcs_port: Option<u16>,
}

#[derive(Debug, Deserialize)]
struct Answer {
    nodes: Vec<RayNode>,
    #[serde(default)]
    dashboard_url: Option<String>,
    #[serde(default)]
    gcs_address: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RayNode {
    #[serde(default)]
    node_manager_address: String,
    #[serde(default)]
    node_manager_hostname: Option<String>,
    #[serde(default)]
    node_name: Option<String>,
    #[serde(default)]
    alive: bool,
}

/// The command that asks Ray at `address` (`auto`: the local cluster).
pub fn query(address: &str) -> Cmd {
    Cmd::new(PYTHON)
        .args(["-c", QUERY, address, &QUERY_TIMEOUT_SECS.to_string()])
        .read_only()
}

/// Asks the Ray cluster at `address` for its nodes.
pub fn discover(runner: &mut Runner, address: &str) -> Result<RayCluster, RayError> {
    let out = runner.run(&query(address)).map_err(|e| match e {
        RunError::NotFound { .. } => RayError::NoPython,
        e => RayError::Run(e),
    })?;
    match out.code {
        0 => parse(&out.stdout),
        EXIT_NO_RAY => Err(RayError::NotInstalled { reason: out.reason() }),
        EXIT_NO_CLUSTER => Err(RayError::NoCluster {
            address: address.to_string(),
            reason: out.reason().trim_end_matches('.').to_string(),
        }),
        -1 => Err(RayError::Timeout {
            address: address.to_string(),
        }),
        _ => Err(RayError::Answer { reason: out.reason() }),
    }
}

/// The port of `host:port` or `http://host:port/…`.
fn port_of(address: &str) -> Option<u16> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let authority = rest.split('/').next()?;
    authority.rsplit_once(':')?.1.parse().ok()
}

/// Reads the query's JSON: alive nodes named by their host name (else Ray's node name, else the address);
/// dead ones and a second node on one address are left out with a line saying so.
pub fn parse(stdout: &str) -> Result<RayCluster, RayError> {
    // The object starts a line; anything Ray printed before it is skipped.
    let start = if stdout.starts_with('{') {
        Some(0)
    } else {
        stdout.find("\n{").map(|i| i + 1)
    };
    let json = start.map_or("", |i| &stdout[i..]);
    let answer = Answer::deserialize(&mut serde_json::Deserializer::from_str(json))
        .map_err(|e| RayError::Answer { reason: e.to_string() })?;
    let mut cluster = RayCluster {
        dashboard_port: answer.dashboard_url.as_deref().and_then(port_of),
        gcs_port: answer.gcs_address.as_deref().and_then(port_of),
        ..RayCluster::default()
    };
    for n in answer.nodes {
        let address = n.node_manager_address.trim().to_string();
        let name = [n.node_manager_hostname, n.node_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_string())
            .find(|s| !s.is_empty())
            .unwrap_or_else(|| address.clone());
        let node = Node::new(&name, &address);
        if node.host.is_empty() {
            cluster
                .skipped
                .push(format!("Ray node {} has no address: left out", node.name));
        } else if !n.alive {
            cluster
                .skipped
                .push(format!("Ray node {} ({}) is dead: left out", node.name, node.host));
        } else if cluster.nodes.iter().any(|o| o.key() == node.key()) {
            cluster.skipped.push(format!(
                "Ray node {} shares the address {} with another: measured once",
                node.name, node.host
            ));
        } else {
            cluster.nodes.push(node);
        }
    }
    name_apart(&mut cluster.nodes);
    Ok(cluster)
}

/// Nodes whose host names collide (several Ray nodes on hosts of one name) are named by their address.
fn name_apart(nodes: &mut [Node]) {
    let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
    for n in nodes.iter_mut() {
        if names.iter().filter(|m| **m == n.name).count() > 1 {
            n.name = n.host.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Output;

    const TWO_ALIVE_ONE_DEAD: &str = r#"{"nodes": [
        {"NodeID": "a1", "Alive": true, "NodeManagerAddress": "10.0.0.1", "NodeManagerHostname": "gpu1",
         "NodeName": "10.0.0.1", "Resources": {"CPU": 8.0}},
        {"NodeID": "b2", "Alive": false, "NodeManagerAddress": "10.0.0.2", "NodeManagerHostname": "gpu2"},
        {"NodeID": "c3", "Alive": true, "NodeManagerAddress": "10.0.0.3", "NodeName": "10.0.0.3"}],
        "dashboard_url": "127.0.0.1:8265", "gcs_address": "10.0.0.1:6380"}"#;

    #[test]
    fn alive_nodes_are_listed_by_name_and_dead_ones_said() {
        let c = parse(&format!(
            "2026-01-01 INFO worker.py: Connecting\n{TWO_ALIVE_ONE_DEAD}\n"
        ))
        .unwrap();
        let got: Vec<(&str, &str)> = c.nodes.iter().map(|n| (n.name.as_str(), n.host.as_str())).collect();
        assert_eq!(got, vec![("gpu1", "10.0.0.1"), ("10.0.0.3", "10.0.0.3")]);
        assert_eq!(c.skipped, vec!["Ray node gpu2 (10.0.0.2) is dead: left out"]);
        assert_eq!((c.dashboard_port, c.gcs_port), (Some(8265), Some(6380)));
    }

    #[test]
    fn no_dashboard_and_clashing_names_and_addresses() {
        let json = r#"{"nodes": [
            {"Alive": true, "NodeManagerAddress": "10.0.0.1", "NodeManagerHostname": "box"},
            {"Alive": true, "NodeManagerAddress": "10.0.0.2", "NodeManagerHostname": "box"},
            {"Alive": true, "NodeManagerAddress": "10.0.0.2", "NodeManagerHostname": "other"}],
            "dashboard_url": null}"#;
        let c = parse(json).unwrap();
        let hosts: Vec<(&str, &str)> = c.nodes.iter().map(|n| (n.name.as_str(), n.host.as_str())).collect();
        assert_eq!(hosts, vec![("10.0.0.1", "10.0.0.1"), ("10.0.0.2", "10.0.0.2")]);
        assert_eq!(c.skipped.len(), 1, "{:?}", c.skipped);
        assert_eq!((c.dashboard_port, c.gcs_port), (None, None));
    }

    #[test]
    fn a_garbled_answer_is_one_line() {
        let e = parse("not json").unwrap_err().to_string();
        assert!(e.starts_with("--from-ray: Ray's answer could not be read ("), "{e}");
    }

    #[test]
    fn each_failure_of_the_query_is_its_own_line() {
        let ask = |out: Output| discover(&mut Runner::record().answer("python3 -c", out), "auto");
        assert!(ask(Output::ok(TWO_ALIVE_ONE_DEAD)).is_ok());
        let e = ask(Output::failed(3, "cannot import ray: No module named 'ray'")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--from-ray: Ray is not installed for python3 (cannot import ray: No module named 'ray'); \
             `pip install ray`, or list the nodes"
        );
        let e = ask(Output::failed(4, "Could not find any running Ray instance.")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--from-ray: no Ray cluster at auto: Could not find any running Ray instance; start one (`ray start \
             --head`), or give --ray-address"
        );
        assert!(matches!(
            ask(Output::failed(-1, "")).unwrap_err(),
            RayError::Timeout { .. }
        ));
    }

    #[test]
    fn the_query_passes_the_address_as_an_argument() {
        let mut r = Runner::record();
        let _ = discover(&mut r, "10.0.0.1:6380");
        assert_eq!(r.log().len(), 1);
        assert!(r.log()[0].starts_with("python3 -c 'import json"), "{}", r.log()[0]);
        assert!(r.log()[0].ends_with(" 10.0.0.1:6380 30"), "{}", r.log()[0]);
        assert!(r.changes().is_empty(), "the query changes nothing");
    }
}
