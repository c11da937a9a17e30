//! Where a mesh's nodes come from, together: the arguments, a `--nodes` file, a Ray cluster; then the whole list
//! is checked (no host twice, at least two).

use std::path::Path;

use super::nodes::{self, Node, NodeError};
use super::plan::ray_default_ports;
use super::ray::{self, LOCAL_CLUSTER, RayError};
use crate::classify::Classify;
use crate::runner::Runner;

/// The node sources a command line names.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sources<'a> {
    pub args: &'a [String],
    pub file: Option<&'a Path>,
    /// `Some(address)` with `--from-ray` (None address: the local cluster).
    pub ray: Option<Option<&'a str>>,
}

/// The checked node list, a line for each node Ray's list left out, and the ports Ray's defaults check.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    pub nodes: Vec<Node>,
    pub notes: Vec<String>,
    /// With `--from-ray`: the GCS port, and the dashboard's where Ray reports one.
    pub ray_ports: Option<Vec<u16>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error(transparent)]
    Ray(#[from] RayError),
}

impl Classify for SourceError {
    fn is_usage(&self) -> bool {
        matches!(self, SourceError::Node(_))
    }
}

/// Reads every source in order (arguments, file, Ray) and checks the list.
pub fn gather(src: Sources<'_>, runner: &mut Runner) -> Result<Gathered, SourceError> {
    gather_at_least(src, runner, nodes::MIN_NODES)
}

/// [`gather`] with another least number of nodes (0: the caller says what an empty list means).
pub fn gather_at_least(src: Sources<'_>, runner: &mut Runner, min: usize) -> Result<Gathered, SourceError> {
    let mut list = nodes::from_args(src.args)?;
    if let Some(file) = src.file {
        list.extend(nodes::read_file(file)?);
    }
    let mut out = Gathered {
        nodes: Vec::new(),
        notes: Vec::new(),
        ray_ports: None,
    };
    let mut hint = String::new();
    if let Some(address) = src.ray {
        let address = address.unwrap_or(LOCAL_CLUSTER);
        let cluster = ray::discover(runner, address)?;
        hint = format!(" (Ray at {address} lists {} alive node(s))", cluster.nodes.len());
        list.extend(cluster.nodes);
        out.notes = cluster.skipped;
        out.ray_ports = Some(ray_default_ports(cluster.gcs_port, cluster.dashboard_port));
    }
    out.nodes = nodes::check_at_least(list, &hint, min)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_NODE: &str = r#"{"nodes": [{"Alive": true, "NodeManagerAddress": "10.0.0.9", "NodeManagerHostname": "head"},
        {"Alive": false, "NodeManagerAddress": "10.0.0.8"}], "dashboard_url": null, "gcs_address": "10.0.0.9:6380"}"#;

    #[test]
    fn ray_nodes_join_the_arguments_and_one_alone_is_too_few() {
        let mut r = Runner::record().ok("python3", ONE_NODE);
        let e = gather(
            Sources {
                ray: Some(None),
                ..Sources::default()
            },
            &mut r,
        )
        .unwrap_err();
        assert!(e.is_usage());
        assert_eq!(
            e.to_string(),
            "a mesh needs at least 2 nodes, got 1 (Ray at auto lists 1 alive node(s)); give more NODEs, a --nodes FILE or --from-ray"
        );
        let args = ["10.0.0.1".to_string()];
        let got = gather(
            Sources {
                args: &args,
                ray: Some(Some("10.0.0.9:6380")),
                ..Sources::default()
            },
            &mut r,
        )
        .unwrap();
        let names: Vec<&str> = got.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["10.0.0.1", "head"]);
        assert_eq!(got.notes, ["Ray node 10.0.0.8 (10.0.0.8) is dead: left out"]);
        assert_eq!(got.ray_ports, Some(vec![6380]));
    }

    #[test]
    fn no_ray_is_not_a_usage_error() {
        let mut r = Runner::record().fail("python3", "cannot import ray");
        let mut r3 = Runner::record().answer("python3", crate::runner::Output::failed(3, "cannot import ray"));
        assert!(
            !gather(
                Sources {
                    ray: Some(None),
                    ..Sources::default()
                },
                &mut r3
            )
            .unwrap_err()
            .is_usage()
        );
        let e = gather(
            Sources {
                ray: Some(None),
                ..Sources::default()
            },
            &mut r,
        )
        .unwrap_err();
        assert!(!e.is_usage(), "{e}");
    }
}
