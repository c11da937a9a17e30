//! `saf-net mtu`'s outcome in each format: the path section as text, the JSON document with its verdict, and the
//! history row (the path columns).

use serde::Serialize;

use super::MtuOutcome;
use crate::diagnose::PathReport;
use crate::output::history::{HistoryRow, Kind};
use crate::output::json::{ProbeSafNet, ProbeStart, ProbeTestStart, ServerInfo};
use crate::output::text::path_section;
use crate::output::{Report, RunMeta, Verdict};

#[derive(Debug, Serialize)]
pub struct MtuDocument {
    pub start: ProbeStart,
    pub path: PathReport,
    pub verdict: String,
    pub saf_net: ProbeSafNet,
}

fn document(o: &MtuOutcome, meta: &RunMeta) -> MtuDocument {
    MtuDocument {
        start: ProbeStart::new(
            meta,
            ProbeTestStart {
                protocol: "UDP",
                mode: "mtu",
                size_bytes: o.path.mtu_probe.map_or(0, |m| m.high as usize),
                interval_seconds: 0.0,
                count: o.path.mtu_probe.map(|m| u64::from(m.probes)),
                duration_seconds: o.path.mtu_probe.map(|m| m.seconds),
                timeout_seconds: 0.3,
                busy_poll_microseconds: None,
            },
        ),
        path: o.path.clone(),
        verdict: o.path.verdict(),
        saf_net: ProbeSafNet {
            version: env!("CARGO_PKG_VERSION"),
            kind: "mtu",
            run_id: meta.run_id.clone(),
            label: meta.label.clone(),
            profile: meta.profile.clone(),
            complete: true,
            server: ServerInfo {
                address: o.server.to_string(),
                version: o.server_software.clone(),
            },
            warnings: o.path.diagnoses.iter().map(|d| d.message.clone()).collect(),
            time: crate::output::json::rfc3339(meta.time),
        },
    }
}

fn mtu_history_row(o: &MtuOutcome, meta: &RunMeta) -> HistoryRow {
    let mut row = HistoryRow {
        complete: true,
        ..HistoryRow::for_run(Kind::Mtu, meta)
    };
    row.fill_path(&o.path);
    row
}

impl Report for MtuOutcome {
    type Document = MtuDocument;

    fn document(&self, meta: &RunMeta) -> MtuDocument {
        document(self, meta)
    }

    /// The path section, the server named as the user gave it and as it answered.
    fn text(&self, meta: &RunMeta) -> String {
        path_section(&self.path, &format!("{} ({})", meta.host, self.server))
    }

    fn history_row(&self, meta: &RunMeta) -> HistoryRow {
        mtu_history_row(self, meta)
    }

    /// A diagnosis on the path is the finding.
    fn verdict(&self) -> Verdict {
        if self.path.diagnoses.is_empty() {
            Verdict::Ok
        } else {
            Verdict::Diagnosed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::Diagnosis;
    use crate::output::history::{details, encode_row};

    #[test]
    fn mtu_rows_are_byte_identical_to_schema_5() {
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
        let row = mtu_history_row(&o, &RunMeta::fixed());
        let want = concat!(
            "5,mtu,20261129T130000Z-a1b2c3,2026-11-30T13:00:00Z,",
            "\"has, comma\",1gbe,beta,192.168.1.172,,0,0.0,0,0.0,0.0,,,true,",
            env!("CARGO_PKG_VERSION"),
            ",,mtu_mismatch\n"
        );
        assert_eq!(String::from_utf8(encode_row(&row)).unwrap(), want);
        // The path figures schema 4 had in its columns, in the per-run JSON.
        let json = "{\"history_columns\":{\"local_interface\":\"eth0\",\"local_mtu\":9000}}";
        assert_eq!(details::with_columns("{}", &row.detail), json);
    }
}
