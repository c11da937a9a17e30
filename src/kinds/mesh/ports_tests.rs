//! The port matrix's renderings and how its findings are grouped, on hand-made matrices.

use super::*;

fn matrix(n: usize, ports: &[u16]) -> PortMatrix {
    let names = ["A", "B", "C", "D"].iter().take(n).map(|s| s.to_string()).collect();
    let mut m = PortMatrix::new(names, ports.to_vec());
    for (a, b, p) in m.triples().collect::<Vec<_>>() {
        m.set(a, b, p, Cell::Open);
    }
    m
}

#[test]
fn all_open_finds_nothing() {
    let m = matrix(3, &[6380, 8265]);
    assert!(m.findings().is_empty(), "{:?}", m.findings());
}

#[test]
fn a_port_closed_from_every_node_is_one_finding_about_that_node() {
    let mut m = matrix(4, &[6380]);
    for a in [0, 1, 3] {
        m.set(a, 2, 6380, if a == 3 { Cell::Timeout } else { Cell::Closed });
    }
    let f = m.findings();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, FindingKind::PortUnreachable);
    assert_eq!(f[0].subject, "C");
    assert!(
        f[0].text
            .starts_with("Ray GCS port 6380 on C is not reachable from any other node"),
        "{}",
        f[0].text
    );
    assert!(f[0].text.contains("no answer from D"), "{}", f[0].text);
    assert!(
        f[0].fix.contains("firewall") && f[0].fix.contains("--node-ip-address"),
        "{}",
        f[0].fix
    );
}

#[test]
fn a_port_closed_from_one_node_is_a_finding_about_that_pair() {
    let mut m = matrix(3, &[6380, 8265]);
    m.set(0, 1, 8265, Cell::Closed);
    let f = m.findings();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].subject, "A->B");
    assert_eq!(
        f[0].text,
        "Ray dashboard port 8265 on B is not reachable from A (refused)"
    );
}

#[test]
fn unknown_cells_say_nothing_and_keep_a_node_finding_from_being_drawn() {
    let mut m = matrix(3, &[22]);
    // A's server did not check: its row is unknown; C alone finds B's port closed.
    m.set(0, 1, 22, Cell::Unknown);
    m.set(0, 2, 22, Cell::Unknown);
    m.set(2, 1, 22, Cell::Closed);
    let f = m.findings();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].subject, "C->B");
    assert_eq!(f[0].text, "TCP port 22 on B is not reachable from C (refused)");
    assert!(!f[0].fix.contains("Ray"), "{}", f[0].fix);
}

#[test]
fn a_label_names_a_port_ray_reported() {
    let mut m = matrix(2, &[6379]).label(6379, "Ray GCS port");
    m.set(1, 0, 6379, Cell::Timeout);
    let f = m.findings();
    assert_eq!(f[0].text, "Ray GCS port 6379 on A is not reachable from B (no answer)");
}

#[test]
fn the_table_has_a_row_per_node_and_a_column_per_node_and_port() {
    let mut m = matrix(3, &[6380, 8265]);
    m.set(0, 1, 8265, Cell::Closed);
    m.set(2, 0, 6380, Cell::Unreachable);
    for b in [0, 1] {
        for p in [6380, 8265] {
            m.set(2, b, p, Cell::Unknown);
        }
    }
    m.problems.push(NodeProblem {
        node: 2,
        unreachable: true,
        reason: "no answer".into(),
    });
    let t = m.text();
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 1 + 1 + 3 + 1, "{t}");
    let head: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        head[3..],
        ["A:6380", "A:8265", "B:6380", "B:8265", "C:6380", "C:8265"],
        "{t}"
    );
    let row = |i: usize| lines[i].split_whitespace().collect::<Vec<_>>();
    assert_eq!(row(2), ["A", "—", "—", "open", "closed", "open", "open"], "{t}");
    assert_eq!(row(4), ["C", "?", "?", "?", "?", "—", "—"], "{t}");
    assert_eq!(lines[5].trim(), "? C: its server did not check: no answer", "{t}");
}

#[test]
fn the_json_has_every_checked_triple_with_its_state() {
    let mut m = matrix(2, &[6380]);
    m.set(1, 0, 6380, Cell::Unknown);
    let j = m.json();
    let checks = j["port_checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    assert_eq!(
        checks[0],
        serde_json::json!({"from": "A", "to": "B", "port": 6380, "state": "open"})
    );
    assert_eq!(checks[1]["state"], "unknown");
}

#[test]
fn named_replaces_the_hosts_with_the_meshs_names() {
    let m = PortMatrix::new(vec!["10.0.0.1".into(), "10.0.0.2".into()], vec![22]).named(["a".into(), "b".into()]);
    assert_eq!(m.nodes, ["a", "b"]);
    assert_eq!(
        m.cell(0, 1, 22),
        Cell::Unknown,
        "nothing checked is unknown, never closed"
    );
}

#[test]
fn each_node_asks_every_other_nodes_ports_and_only_those() {
    let addrs: Vec<String> = ["h1:5301", "h2:5301", "h3:5301"].map(String::from).to_vec();
    let r = request(&addrs, 1, Duration::from_millis(1500), &[6380, 8265]);
    assert_eq!(r.timeout_ms, 1500);
    assert_eq!(r.nodes, addrs);
    let asked: Vec<(u32, u16)> = r.targets.iter().map(|t| (t.node, t.port)).collect();
    assert_eq!(asked, [(0, 6380), (0, 8265), (2, 6380), (2, 8265)]);
}
