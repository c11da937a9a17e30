//! `lab status --json`: every lab and its hosts, for programs (the mesh's tests, scripts).
//!
//! `{"labs": [{"name", "profile", "hosts": [{"index", "name", "namespace", "address", "rate_mbps", "mtu",
//! "port"}]}]}`, `port` being the host's saf-net server port (null where no server runs: near in a lab
//! built without `--hosts`). Beside those keys: the lab's `up`, `line_rate_mbps`, `switch_mtu`,
//! `ceiling_mbps`, `subnet`, `keyed`, `psk_file`, `namespaces`, and each host's `switch_port`,
//! `server_pid`. A lab without state (leftovers) has a null profile and no hosts.

use serde_json::{Value, json};

use super::state::Host;
use super::status::LabView;
use super::workflow::Status;

fn host(h: &Host) -> Value {
    json!({
        "index": h.index,
        "name": h.name,
        "namespace": h.namespace,
        "address": h.address.to_string(),
        "rate_mbps": h.rate_mbps,
        "mtu": h.mtu,
        "port": h.server.as_ref().map(|s| s.port),
        "switch_port": h.name,
        "server_pid": h.server.as_ref().map(|s| s.pid),
    })
}

fn lab(v: &LabView) -> Value {
    let Some(st) = &v.state else {
        return json!({
            "name": v.name,
            "profile": null,
            "hosts": [],
            "up": false,
            "namespaces": v.namespaces,
        });
    };
    json!({
        "name": v.name,
        "profile": st.profile,
        "hosts": st.host_list().iter().map(host).collect::<Vec<_>>(),
        "up": v.healthy(),
        "line_rate_mbps": st.line_rate_mbps,
        "switch_mtu": st.switch_mtu,
        "ceiling_mbps": st.ceiling_mbps,
        "subnet": format!("{}/{}", super::names::host_addr(st.subnet, 0), st.prefix_len),
        "keyed": st.psk_file.is_some(),
        "psk_file": st.psk_file,
        "namespaces": v.namespaces,
    })
}

/// The document `lab status --json` prints, with a final newline.
pub fn status(s: &Status) -> String {
    let doc = json!({ "labs": s.views.iter().map(lab).collect::<Vec<_>>() });
    serde_json::to_string_pretty(&doc).expect("a JSON value always serializes") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::state::{self, LabState};

    fn view(st: Option<LabState>, namespaces: &[&str]) -> LabView {
        LabView {
            name: st.as_ref().map_or("gone".into(), |s| s.name.clone()),
            state: st,
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            hosts: vec![],
            switch_ports: vec![],
            server_running: false,
        }
    }

    fn parse(views: Vec<LabView>) -> Value {
        let text = status(&Status { views, root: false });
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn a_two_host_lab_of_todays_format_lists_near_and_far_as_hosts_1_and_2() {
        let text = include_str!("../../tests/fixtures/lab/state-2host-v1.json");
        let st: LabState = serde_json::from_str(text).unwrap();
        let doc = parse(vec![view(Some(st), &[])]);
        let lab = &doc["labs"][0];
        assert_eq!(
            (lab["name"].as_str(), lab["profile"].as_str()),
            (Some("default"), Some("1gbe"))
        );
        assert_eq!(
            lab["hosts"],
            json!([
                {"index": 1, "name": "near", "namespace": "safnet-default-near", "address": "10.77.39.1",
                 "rate_mbps": 1000.0, "mtu": 1500, "port": null, "switch_port": "near", "server_pid": null},
                {"index": 2, "name": "far", "namespace": "safnet-default-far", "address": "10.77.39.2",
                 "rate_mbps": 1000.0, "mtu": 1500, "port": 5301, "switch_port": "far", "server_pid": 6150}
            ])
        );
        assert_eq!(
            (lab["up"].as_bool(), lab["keyed"].as_bool()),
            (Some(false), Some(false))
        );
        assert_eq!(lab["subnet"], "10.77.39.0/24");
    }

    #[test]
    fn an_n_host_lab_lists_every_host_with_its_rate_mtu_and_port() {
        let mut st = state::tests::sample("m");
        let p = crate::profile::resolve_in("10gbe-jumbo", &[]).unwrap();
        let layout = crate::lab::hosts::HostsInput {
            count: Some(4),
            rates: vec!["3=2500".into()],
            mtus: vec!["2=1500".into()],
        }
        .layout(&p)
        .unwrap();
        st.hosts = Some(layout.hosts("m", 9, &p));
        st.psk_file = Some("/run/saf-net/labs/m/psk".into());
        let doc = parse(vec![
            view(Some(st), &["safnet-m-h1"]),
            view(None, &["safnet-gone-switch"]),
        ]);
        let hosts = doc["labs"][0]["hosts"].as_array().unwrap();
        let brief: Vec<(u64, &str, &str, f64, u64)> = hosts
            .iter()
            .map(|h| {
                (
                    h["index"].as_u64().unwrap(),
                    h["name"].as_str().unwrap(),
                    h["address"].as_str().unwrap(),
                    h["rate_mbps"].as_f64().unwrap(),
                    h["mtu"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            brief,
            [
                (1, "h1", "10.77.9.1", 10_000.0, 9000),
                (2, "h2", "10.77.9.2", 10_000.0, 1500),
                (3, "h3", "10.77.9.3", 2500.0, 9000),
                (4, "h4", "10.77.9.4", 10_000.0, 9000)
            ]
        );
        assert_eq!(hosts[3]["namespace"], "safnet-m-h4");
        assert_eq!(doc["labs"][0]["keyed"], true);
        assert_eq!(
            doc["labs"][1],
            json!({"name": "gone", "profile": null, "hosts": [], "up": false, "namespaces": ["safnet-gone-switch"]})
        );
    }
}
