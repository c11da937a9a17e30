//! Throughput (`saf-net client HOST`): parallel TCP streams (UDP ones with `-u`, see [`super::udp`]) beside the
//! server's, receiver-side goodput per direction.
//!
//! Plan: [`crate::config::ClientPlan`]. Phases (`run.rs`): admission and the datagram size, the time before the
//! start (`prestart.rs`: MTU check, idle RTT, data connections), the measured streams beside the server's
//! intervals, the server's results, the outcome with its diagnoses. Outcome: [`Outcome`] (`outcome.rs`),
//! rendered as text (`live.rs` while it runs, `text.rs` at the end; `iperf3_text.rs` as iperf3's client prints it, for the drop-in), `-J` (`json.rs`, its `saf_net` section `json_saf_net.rs`) and history
//! (`history.rs`).

mod history;
pub mod iperf3_text;
mod json;
mod json_saf_net;
mod live;
mod measure;
mod outcome;
mod prestart;
mod run;
mod text;

pub use json::{Document, not_started};
pub use live::LivePrinter;
pub use outcome::{Outcome, Peer, UnderLoad};
pub use run::{run, run_until};
pub use text::{UNKNOWN_CELL, ceiling_lines, summary};

use crate::output::history::HistoryRow;
use crate::output::{Report, RunMeta, Verdict};

impl Report for Outcome {
    type Document = Document;

    fn document(&self, meta: &RunMeta) -> Document {
        json::document(self, meta)
    }

    /// The summary; under a profile, each direction's goodput against the link's TCP ceiling after it.
    fn text(&self, meta: &RunMeta) -> String {
        let ceiling = meta.profile_link.as_ref().map(|p| ceiling_lines(self, p));
        summary(self) + &ceiling.unwrap_or_default()
    }

    fn history_row(&self, meta: &RunMeta) -> HistoryRow {
        history::row(self, meta)
    }

    /// A test that ended early (a fault, a signal, a stall) is incomplete.
    fn verdict(&self) -> Verdict {
        if self.complete() {
            Verdict::Ok
        } else {
            Verdict::Incomplete
        }
    }
}
