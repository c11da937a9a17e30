//! The plan's checks and each mode's rounds.

use std::collections::HashSet;

use super::*;
use crate::kinds::mesh::nodes::from_args;

fn nodes(n: usize) -> Vec<Node> {
    from_args(&(1..=n).map(|i| format!("10.0.0.{i}")).collect::<Vec<_>>()).unwrap()
}

fn plan(n: usize, spec: Option<&str>) -> Plan {
    Plan::new(nodes(n), 3.0, 4, spec.map(|s| s.parse().unwrap())).unwrap()
}

#[test]
fn sequential_runs_every_ordered_pair_once_row_by_row() {
    let r = plan(3, None).rounds();
    assert_eq!(
        r,
        vec![
            vec![(0, 1)],
            vec![(0, 2)],
            vec![(1, 0)],
            vec![(1, 2)],
            vec![(2, 0)],
            vec![(2, 1)]
        ]
    );
}

#[test]
fn pairs_rounds_are_disjoint_and_cover_every_ordered_pair_once() {
    for n in 2..=8 {
        let rounds = plan(n, Some("pairs")).rounds();
        let mut seen = HashSet::new();
        for round in &rounds {
            let mut senders = HashSet::new();
            let mut receivers = HashSet::new();
            for &(a, b) in round {
                assert!(
                    senders.insert(a) && receivers.insert(b),
                    "n={n}: a port used twice in {round:?}"
                );
                assert!(seen.insert((a, b)), "n={n}: ({a},{b}) twice");
            }
        }
        assert_eq!(seen.len(), n * (n - 1), "n={n}");
        assert_eq!(rounds.len(), if n % 2 == 0 { n - 1 } else { n }, "n={n}");
    }
}

#[test]
fn ring_incast_and_all() {
    assert_eq!(
        plan(4, Some("ring")).rounds(),
        vec![
            vec![(0, 1), (1, 2), (2, 3), (3, 0)],
            vec![(0, 3), (1, 0), (2, 1), (3, 2)]
        ]
    );
    assert_eq!(plan(2, Some("ring")).rounds(), vec![vec![(0, 1), (1, 0)]]);
    let p = plan(4, Some("incast:10.0.0.3"));
    assert_eq!(p.rounds(), vec![vec![(0, 2), (1, 2), (3, 2)]]);
    assert_eq!(p.mode_name(), "concurrent incast:10.0.0.3");
    assert_eq!(plan(3, Some("all")).rounds()[0].len(), 6);
}

#[test]
fn an_incast_node_is_found_by_name_or_host() {
    let list = from_args(&["a=10.0.0.1".into(), "b=10.0.0.2".into()]).unwrap();
    let by_name = Plan::new(list.clone(), 1.0, 1, Some("incast:b".parse().unwrap())).unwrap();
    let by_host = Plan::new(list.clone(), 1.0, 1, Some("incast:10.0.0.2".parse().unwrap())).unwrap();
    assert_eq!(by_name.mode, Mode::Concurrent(Pattern::Incast(1)));
    assert_eq!(by_host.mode, by_name.mode);
    let e = Plan::new(list, 1.0, 1, Some("incast:c".parse().unwrap())).unwrap_err();
    assert_eq!(
        e.to_string(),
        "--concurrent incast:c names no node of the mesh; give one of: a, b"
    );
}

#[test]
fn bad_patterns_durations_streams_and_ports_are_refused() {
    for bad in ["", "star", "incast:", "ALL"] {
        assert_eq!(bad.parse::<PatternSpec>(), Err(PlanError::BadPattern(bad.into())));
    }
    assert_eq!(Plan::new(nodes(2), 0.0, 4, None).unwrap_err(), PlanError::Duration(0.0));
    assert!(Plan::new(nodes(2), f64::NAN, 4, None).is_err());
    assert_eq!(Plan::new(nodes(2), 1.0, 0, None).unwrap_err(), PlanError::Parallel(0));
    assert_eq!(parse_ports("6380, 8265").unwrap(), vec![6380, 8265]);
    for bad in ["", "0", "6380,6380", "70000", "a", "6380,"] {
        assert_eq!(parse_ports(bad), Err(PlanError::BadPorts(bad.into())), "{bad}");
    }
    let many = |n: u16| (1..=n).map(|p| p.to_string()).collect::<Vec<_>>().join(",");
    assert_eq!(parse_ports(&many(16)).unwrap().len(), 16);
    assert_eq!(parse_ports(&many(17)), Err(PlanError::TooManyPorts(17)));
}

#[test]
fn ray_checks_the_gcs_port_and_a_reported_dashboard() {
    assert_eq!(ray_default_ports(None, None), vec![6380]);
    assert_eq!(ray_default_ports(Some(6379), Some(8265)), vec![6379, 8265]);
    assert_eq!(ray_default_ports(None, Some(6380)), vec![6380]);
}
