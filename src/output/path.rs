//! The path section: both interfaces, MSS, the probed MTU, and the diagnoses; plus `saf-net mtu` output.

use std::fmt::Write as _;

use serde::Serialize;

use super::RunMeta;
use super::history::HistoryRow;
use crate::diagnose::PathReport;
use crate::kinds::mtu::MtuOutcome;
use crate::protocol::InterfaceFacts;

fn facts_line(f: &InterfaceFacts) -> String {
    let unknown = "unknown".to_string();
    let name = f.interface.clone().unwrap_or_else(|| "interface unknown".into());
    let addr = f.address.map(|a| a.to_string()).unwrap_or_default();
    let mtu = f.mtu.map_or(unknown.clone(), |m| m.to_string());
    let speed = f.speed_mbps.map_or(unknown, |s| format!("{s} Mb/s"));
    let duplex = f.duplex.as_ref().map(|d| format!(" {d} duplex")).unwrap_or_default();
    format!("{name} {addr}, MTU {mtu}, link {speed}{duplex}")
}

/// A one-word summary: clean, or the first problem's kind.
pub fn verdict(p: &PathReport) -> String {
    match (p.diagnoses.first(), p.mtu_probe.and_then(|m| m.path_mtu())) {
        (Some(d), _) => format!("problem: {}", d.kind.replace('_', " ")),
        (None, Some(m)) => format!("clean: the path carries {m}-byte packets both ways"),
        (None, None) => "not probed".into(),
    }
}

/// The path section as text.
pub fn text(p: &PathReport, peer: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Path to {peer}:");
    let _ = writeln!(out, "  this host: {}", facts_line(&p.local));
    match (&p.route, &p.route_error) {
        (Some(r), _) => {
            let _ = writeln!(out, "  route:     {}", super::route::line(r));
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "  route:     unknown ({e})");
        }
        (None, None) => {}
    }
    match &p.remote {
        Some(r) => {
            let _ = writeln!(out, "  server:    {}", facts_line(r));
        }
        None => {
            let _ = writeln!(out, "  server:    not reported");
        }
    }
    if let (Some(a), Some(e)) = (p.mss_advertised, p.mss_effective) {
        let _ = writeln!(
            out,
            "  MSS: advertised {a}, effective {e} bytes of payload per segment (TCP options take the rest)"
        );
    }
    if let Some(m) = &p.mtu_probe {
        let way = |mtu: Option<u32>, payload: Option<u32>| match (mtu, payload) {
            (Some(m), Some(p)) => format!("{m} (UDP payload {p})"),
            _ => "nothing passed".into(),
        };
        let _ = writeln!(
            out,
            "  path MTU, don't-fragment probes: client → server {}, server → client {}; searched {}..{} with {} probes in {:.2} s",
            way(m.forward_path_mtu, m.forward_udp_payload),
            way(m.reverse_path_mtu, m.reverse_udp_payload),
            m.low,
            m.high,
            m.probes,
            m.seconds
        );
    }
    let _ = writeln!(out, "  verdict: {}", verdict(p));
    for d in &p.diagnoses {
        let _ = writeln!(out, "Warning [{}]: {}", d.kind, d.message);
        let _ = writeln!(out, "  what to do: {}", d.advice);
    }
    out
}

#[derive(Debug, Serialize)]
pub struct MtuDocument {
    pub start: super::latency::Start,
    pub path: PathReport,
    pub verdict: String,
    pub saf_net: super::latency::SafNet,
}

pub fn mtu_document(o: &MtuOutcome, meta: &RunMeta) -> MtuDocument {
    MtuDocument {
        start: super::latency::Start {
            version: format!("saf-net {}", env!("CARGO_PKG_VERSION")),
            timestamp: super::json::Timestamp::of(meta.time),
            connecting_to: super::json::ConnectingTo {
                host: meta.host.clone(),
                port: meta.port,
            },
            test_start: super::latency::TestStart {
                protocol: "UDP",
                mode: "mtu",
                size_bytes: o.path.mtu_probe.map_or(0, |m| m.high as usize),
                interval_seconds: 0.0,
                count: o.path.mtu_probe.map(|m| u64::from(m.probes)),
                duration_seconds: o.path.mtu_probe.map(|m| m.seconds),
                timeout_seconds: 0.3,
            },
        },
        path: o.path.clone(),
        verdict: verdict(&o.path),
        saf_net: super::latency::SafNet {
            version: env!("CARGO_PKG_VERSION"),
            kind: "mtu",
            run_id: meta.run_id.clone(),
            label: meta.label.clone(),
            profile: meta.profile.clone(),
            complete: true,
            server: super::json::ServerInfo {
                address: o.server.to_string(),
                version: o.server_software.clone(),
            },
            warnings: o.path.diagnoses.iter().map(|d| d.message.clone()).collect(),
        },
    }
}

pub fn render_mtu(o: &MtuOutcome, meta: &RunMeta) -> String {
    serde_json::to_string_pretty(&mtu_document(o, meta)).expect("the document always serializes")
}

/// Fills a history row's path columns (schema 3).
pub fn fill_row(row: &mut HistoryRow, p: &PathReport) {
    row.local_interface = p.local.interface.clone().unwrap_or_default();
    row.local_mtu = p.local.mtu;
    row.local_speed_mbps = p.local.speed_mbps;
    row.remote_mtu = p.remote.as_ref().and_then(|r| r.mtu);
    row.remote_speed_mbps = p.remote.as_ref().and_then(|r| r.speed_mbps);
    row.path_mtu = p.mtu_probe.and_then(|m| m.path_mtu());
    row.mss_advertised = p.mss_advertised;
    row.mss_effective = p.mss_effective;
    row.diagnoses = p
        .diagnoses
        .iter()
        .map(|d| d.kind.as_str())
        .collect::<Vec<_>>()
        .join(";");
}

pub fn mtu_history_row(o: &MtuOutcome, meta: &RunMeta) -> HistoryRow {
    let mut row = HistoryRow {
        complete: true,
        ..HistoryRow::for_run("mtu", meta)
    };
    fill_row(&mut row, &o.path);
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Diagnosis;
    use crate::output::history::encode_row;

    #[test]
    fn mtu_rows_are_byte_identical_to_schema_4() {
        let mut path = PathReport::default();
        path.local.interface = Some("eth0".into());
        path.local.mtu = Some(9000);
        path.diagnoses.push(Diagnosis {
            kind: "mtu_mismatch".into(),
            message: String::new(),
            advice: String::new(),
        });
        let o = MtuOutcome {
            server: "192.168.1.172:5201".parse().unwrap(),
            server_software: String::new(),
            path,
        };
        let row = String::from_utf8(encode_row(&mtu_history_row(&o, &RunMeta::fixed()))).unwrap();
        let want = concat!(
            "4,mtu,20261129T130000Z-a1b2c3,2026-11-30T13:00:00Z,",
            "\"has, comma\",1gbe,beta,192.168.1.172,,0,0.0,0,0.0,0.0,,,true,",
            env!("CARGO_PKG_VERSION"),
            ",,,,,,,,,,,,,,,eth0,9000,,,,,,,mtu_mismatch,,,,,,,,,,\n"
        );
        assert_eq!(row, want);
    }
}
