//! The mesh's node list: `HOST[:PORT]` or `NAME=HOST[:PORT]` arguments, a `--nodes FILE` (one node a line, `#`
//! comments), normalised so the same server given twice is refused.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::classify::Classify;

/// The fewest nodes a mesh measures.
pub const MIN_NODES: usize = 2;

/// One node as the user (or Ray) gave it: `name` is what every rendering calls it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The name it was given (`NAME=HOST`), else the node as given (`HOST` or `HOST:PORT`).
    pub name: String,
    /// The address or host name the node's server is reached at (an IPv6 address without brackets).
    pub host: String,
    /// The server's port when the node gave one (`HOST:PORT`, `[V6]:PORT`); else `-p`'s.
    pub port: Option<u16>,
}

impl Node {
    /// A node without a port of its own.
    pub fn new(name: &str, host: &str) -> Node {
        Node {
            name: name.to_string(),
            host: host.to_string(),
            port: None,
        }
    }

    /// The server in a form where two spellings of one are equal: an IP address in its canonical text
    /// (brackets dropped), a name in lower case without a trailing dot; then `:PORT` when the node gave one.
    pub fn key(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", normalise(&self.host)),
            None => normalise(&self.host),
        }
    }

    /// The node's saf-net server as `HOST:PORT` (`[V6]:PORT`), on `default_port` unless it gave its own.
    pub fn addr(&self, default_port: u16) -> String {
        let port = self.port.unwrap_or(default_port);
        if self.host.contains(':') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        }
    }
}

/// Why a node list was refused; every one is the user's input (exit code 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NodeError {
    #[error("a mesh needs at least {MIN_NODES} nodes, got {got}{hint}; give more NODEs, a --nodes FILE or --from-ray")]
    TooFew { got: usize, hint: String },
    #[error("node '{second}' is the same host as '{first}' ({key}); give each node once")]
    Duplicate { first: String, second: String, key: String },
    #[error("two nodes are named '{name}'; give each node its own name")]
    DuplicateName { name: String },
    #[error("{origin}: '{text}' is not a node: {why}; write HOST, HOST:PORT or NAME=HOST[:PORT]")]
    Bad {
        origin: String,
        text: String,
        why: &'static str,
    },
    #[error("cannot read the node list {}: {cause}; check the path given to --nodes", path.display())]
    Read { path: PathBuf, cause: String },
}

impl Classify for NodeError {
    fn is_usage(&self) -> bool {
        true
    }
}

fn normalise(host: &str) -> String {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical().to_string(),
        Err(_) => bare.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// One `HOST[:PORT]` or `NAME=HOST[:PORT]` (`[V6]:PORT`; a bare IPv6 address has no port); `origin` names where it came from in an error (`argument 2`, `nodes.txt:4`).
pub fn parse_node(text: &str, origin: &str) -> Result<Node, NodeError> {
    let bad = |why| NodeError::Bad {
        origin: origin.to_string(),
        text: text.to_string(),
        why,
    };
    let text = text.trim();
    let (name, host) = match text.split_once('=') {
        Some((n, h)) => (n.trim(), h.trim()),
        None => (text, text),
    };
    if host.is_empty() {
        return Err(bad("the host is empty"));
    }
    if name.is_empty() {
        return Err(bad("the name before '=' is empty"));
    }
    if host.chars().any(char::is_whitespace) || name.chars().any(char::is_whitespace) {
        return Err(bad("it holds a space"));
    }
    if host.contains('=') {
        return Err(bad("it holds more than one '='"));
    }
    let (host, port) = match crate::net::split_host_port(host) {
        Some((h, p)) => (h, Some(p)),
        None if host.starts_with('[') && !host.ends_with(']') => return Err(bad("the port after ']' is not 1-65535")),
        None if host.matches(':').count() == 1 => return Err(bad("the port after ':' is not 1-65535")),
        None => (host.trim_start_matches('[').trim_end_matches(']').to_string(), None),
    };
    Ok(Node {
        name: name.to_string(),
        host,
        port,
    })
}

/// The nodes of a `--nodes` file's text: one `HOST` or `NAME=HOST` (or `NAME HOST`) a line; `#` starts a
/// comment; blank lines are skipped. Errors name `file:line`.
pub fn parse_file_text(text: &str, file: &str) -> Result<Vec<Node>, NodeError> {
    let mut nodes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let origin = format!("{file}:{}", i + 1);
        let words: Vec<&str> = line.split_whitespace().collect();
        let node = match words.as_slice() {
            [one] => parse_node(one, &origin)?,
            [name, host] if !name.contains('=') => parse_node(&format!("{name}={host}"), &origin)?,
            _ => {
                return Err(NodeError::Bad {
                    origin,
                    text: line.to_string(),
                    why: "a line holds one node",
                });
            }
        };
        nodes.push(node);
    }
    Ok(nodes)
}

/// Reads a `--nodes` file.
pub fn read_file(path: &Path) -> Result<Vec<Node>, NodeError> {
    let text = std::fs::read_to_string(path).map_err(|e| NodeError::Read {
        path: path.to_path_buf(),
        cause: e.to_string(),
    })?;
    parse_file_text(&text, &path.display().to_string())
}

/// The nodes of the arguments, in order.
pub fn from_args(args: &[String]) -> Result<Vec<Node>, NodeError> {
    args.iter()
        .enumerate()
        .map(|(i, a)| parse_node(a, &format!("argument {}", i + 1)))
        .collect()
}

/// Checks a whole list: no server (host and port) twice (after normalisation), no name twice, at least [`MIN_NODES`].
/// `hint` is added to the too-few error (e.g. what Ray reported).
pub fn check(nodes: Vec<Node>, hint: &str) -> Result<Vec<Node>, NodeError> {
    check_at_least(nodes, hint, MIN_NODES)
}

/// [`check`] with another least number of nodes (the monitor watches even one peer).
pub fn check_at_least(nodes: Vec<Node>, hint: &str, min: usize) -> Result<Vec<Node>, NodeError> {
    for (i, b) in nodes.iter().enumerate() {
        if let Some(a) = nodes[..i].iter().find(|a| a.key() == b.key()) {
            return Err(NodeError::Duplicate {
                first: a.name.clone(),
                second: b.name.clone(),
                key: b.key(),
            });
        }
        if nodes[..i].iter().any(|a| a.name == b.name) {
            return Err(NodeError::DuplicateName { name: b.name.clone() });
        }
    }
    if nodes.len() < min {
        return Err(NodeError::TooFew {
            got: nodes.len(),
            hint: hint.to_string(),
        });
    }
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, host: &str) -> Node {
        Node::new(name, host)
    }

    #[test]
    fn arguments_are_hosts_or_named_hosts() {
        let got = from_args(&["10.0.0.1".into(), "gpu2=10.0.0.2".into()]).unwrap();
        assert_eq!(got, vec![node("10.0.0.1", "10.0.0.1"), node("gpu2", "10.0.0.2")]);
        let e = from_args(&["a=".into()]).unwrap_err().to_string();
        assert_eq!(
            e,
            "argument 1: 'a=' is not a node: the host is empty; write HOST, HOST:PORT or NAME=HOST[:PORT]"
        );
        assert!(from_args(&["=h".into()]).is_err());
        assert!(from_args(&["a=b=c".into()]).is_err());
    }

    #[test]
    fn a_file_has_comments_blank_lines_and_optional_names() {
        let text = "# the cluster\n\n10.0.0.1\ngpu2 10.0.0.2   # second\ngpu3=10.0.0.3\n  \n";
        let got = parse_file_text(text, "nodes.txt").unwrap();
        assert_eq!(
            got,
            vec![
                node("10.0.0.1", "10.0.0.1"),
                node("gpu2", "10.0.0.2"),
                node("gpu3", "10.0.0.3")
            ]
        );
    }

    #[test]
    fn a_bad_file_line_is_named_by_file_and_line() {
        let e = parse_file_text("10.0.0.1\n\na b c\n", "nodes.txt").unwrap_err();
        assert_eq!(
            e.to_string(),
            "nodes.txt:3: 'a b c' is not a node: a line holds one node; write HOST, HOST:PORT or NAME=HOST[:PORT]"
        );
        let e = parse_file_text("ok\nx=\n", "n").unwrap_err().to_string();
        assert!(e.starts_with("n:2: "), "{e}");
    }

    #[test]
    fn an_unreadable_file_says_which() {
        let e = read_file(Path::new("/nonexistent/saf-net-nodes"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("cannot read the node list /nonexistent/saf-net-nodes: "),
            "{e}"
        );
        assert!(e.ends_with("check the path given to --nodes"), "{e}");
    }

    #[test]
    fn nodes_may_give_their_servers_port() {
        let got = from_args(&[
            "127.0.0.1:7001".into(),
            "b=[::1]:7002".into(),
            "fe80::1".into(),
            "[::2]".into(),
        ])
        .unwrap();
        assert_eq!(
            (got[0].host.as_str(), got[0].port, got[0].name.as_str()),
            ("127.0.0.1", Some(7001), "127.0.0.1:7001")
        );
        assert_eq!((got[1].host.as_str(), got[1].port), ("::1", Some(7002)));
        assert_eq!((got[2].host.as_str(), got[2].port), ("fe80::1", None));
        assert_eq!((got[3].host.as_str(), got[3].port), ("::2", None));
        assert_eq!(got[1].addr(5201), "[::1]:7002");
        assert_eq!(got[2].addr(5201), "[fe80::1]:5201");
        assert_eq!(got[0].addr(5201), "127.0.0.1:7001");
        // One host on two ports is two servers; on one port twice, a duplicate.
        let two = from_args(&["127.0.0.1:7001".into(), "127.0.0.1:7002".into()]).unwrap();
        assert!(check(two, "").is_ok());
        let same = from_args(&["127.0.0.1:7001".into(), "x=127.0.0.1:7001".into()]).unwrap();
        assert!(matches!(check(same, "").unwrap_err(), NodeError::Duplicate { .. }));
        for bad in ["h:0", "h:70000", "h:x", "[::1]:x"] {
            let e = from_args(&[bad.into()]).unwrap_err().to_string();
            assert!(e.contains("is not 1-65535"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_same_host_spelt_twice_is_refused() {
        let pairs = [
            ("10.0.0.1", "a=10.0.0.1"),
            ("[::1]", "0:0:0:0:0:0:0:1"),
            ("Alpha.lan.", "alpha.lan"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
        ];
        for (a, b) in pairs {
            let list = from_args(&[a.into(), b.into(), "z".into()]).unwrap();
            let e = check(list, "").unwrap_err();
            assert!(matches!(e, NodeError::Duplicate { .. }), "{a} {b}: {e}");
        }
        let list = from_args(&["n=10.0.0.1".into(), "n=10.0.0.2".into()]).unwrap();
        assert_eq!(
            check(list, "").unwrap_err(),
            NodeError::DuplicateName { name: "n".into() }
        );
    }

    #[test]
    fn fewer_than_two_nodes_are_refused() {
        assert_eq!(
            check(vec![node("a", "a")], " (Ray lists 1 alive node)")
                .unwrap_err()
                .to_string(),
            "a mesh needs at least 2 nodes, got 1 (Ray lists 1 alive node); give more NODEs, a --nodes FILE or --from-ray"
        );
        assert!(check(vec![], "").is_err());
        assert_eq!(check(vec![node("a", "a"), node("b", "b")], "").unwrap().len(), 2);
    }
}
