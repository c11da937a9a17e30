//! `saf-net validate`'s outcome in each format: the checks and the verdict as text, the JSON document, and the
//! history row (complete when every phase measured something; the failed checks in `diagnoses`).

use serde::Serialize;

use super::checks::Check;
use super::outcome::ValidateOutcome;
use crate::diagnose::PathReport;
use crate::output::history::{HistoryRow, Kind, KindColumns};
use crate::output::{Report, RunMeta, Verdict};

/// The `-J` document. Its keys come out sorted at every level, as they always have ([`Report::document`]).
#[derive(Debug, Serialize)]
pub struct Document<'a> {
    pub checks: &'a [Check],
    pub pass: bool,
    pub complete: bool,
    pub path: &'a PathReport,
    pub saf_net: SafNet<'a>,
}

#[derive(Debug, Serialize)]
pub struct SafNet<'a> {
    pub kind: &'static str,
    pub profile: &'a str,
    pub run_id: &'a str,
    pub version: &'static str,
}

fn text(o: &ValidateOutcome) -> String {
    let mut out = String::new();
    for c in &o.checks {
        out.push_str(&c.line());
        out.push('\n');
    }
    for d in &o.measured.path.diagnoses {
        out.push_str(&format!(
            "Warning [{}]: {}\n  what to do: {}\n",
            d.kind, d.message, d.advice
        ));
    }
    out.push_str(if o.pass() {
        "Verdict: PASS, the link delivers what the profile promises\n"
    } else {
        "Verdict: FAIL\n"
    });
    out
}

fn history_row(o: &ValidateOutcome, meta: &RunMeta) -> HistoryRow {
    let m = &o.measured;
    let mut row = HistoryRow {
        streams: 1,
        receiver_mbps: m.goodput_1.unwrap_or(0.0),
        complete: m.complete(),
        detail: KindColumns {
            rtt_p99_us: m.rtt_p99_us,
            ..KindColumns::default()
        },
        ..HistoryRow::for_run(Kind::Validate, meta)
    };
    row.fill_path(&m.path);
    row.diagnoses = o
        .checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    row
}

impl Report for ValidateOutcome {
    /// A JSON value rather than the struct: its maps keep their keys sorted, so the document reads as it always has.
    type Document = serde_json::Value;

    fn document(&self, meta: &RunMeta) -> serde_json::Value {
        let doc = Document {
            checks: &self.checks,
            pass: self.pass(),
            complete: self.measured.complete(),
            path: &self.measured.path,
            saf_net: SafNet {
                kind: "validate",
                profile: &self.profile,
                run_id: &meta.run_id,
                version: env!("CARGO_PKG_VERSION"),
            },
        };
        serde_json::to_value(doc).expect("the document always serializes")
    }

    fn text(&self, _: &RunMeta) -> String {
        text(self)
    }

    fn history_row(&self, meta: &RunMeta) -> HistoryRow {
        history_row(self, meta)
    }

    /// A failed check is the finding (exit 4), complete or not.
    fn verdict(&self) -> Verdict {
        if self.pass() { Verdict::Ok } else { Verdict::Diagnosed }
    }
}
