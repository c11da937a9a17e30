//! One run of the history: the columns every kind shares (the CSV row) and its kind's own columns (the per-run
//! JSON's `history_columns` since schema 5; CSV columns in schemas 2–4).

use serde::{Deserialize, Serialize};

use super::{Kind, SCHEMA_VERSION};
use crate::diagnose::PathReport;
use crate::output::RunMeta;

/// One row of the history as written: the CSV columns in order, then `detail`, which goes into the per-run JSON.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HistoryRow {
    pub schema_version: u32,
    pub kind: Kind,
    pub run_id: String,
    pub time_utc: String,
    pub label: String,
    pub profile: String,
    pub client_host: String,
    pub server_host: String,
    /// forward, reverse or bidir; empty for kinds without a direction.
    pub direction: String,
    pub streams: u32,
    /// Measured seconds on the receiver's clock.
    pub duration_s: f64,
    /// Bytes the receiver read in the measured period (headline direction).
    pub bytes: u64,
    pub receiver_mbps: f64,
    pub sender_mbps: f64,
    /// Server→client figures of a --bidir run; empty otherwise.
    pub reverse_receiver_mbps: Option<f64>,
    pub reverse_sender_mbps: Option<f64>,
    pub complete: bool,
    pub saf_net_version: String,
    /// Path of the per-run JSON document, relative to the CSV's folder.
    pub details: String,
    /// What the run found, `;`-separated: diagnosis kinds, or validate's failed checks.
    pub diagnoses: String,
    /// The kind's own figures: not a CSV column, written into the per-run JSON.
    #[serde(skip)]
    pub detail: KindColumns,
}

/// A kind's own figures, named and measured as the CSV columns of schemas 2–4 that held them. Since schema 5
/// they are the per-run JSON's `history_columns` object (only those with a value).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KindColumns {
    /// Latency rows: tcp, udp or connect; throughput rows run with --latency: udp.
    pub latency_mode: Option<String>,
    pub rtt_min_us: Option<f64>,
    pub rtt_p50_us: Option<f64>,
    pub rtt_p90_us: Option<f64>,
    /// Latency rows; validate rows: the UDP round trips' p99.
    pub rtt_p99_us: Option<f64>,
    pub rtt_p99_9_us: Option<f64>,
    pub rtt_max_us: Option<f64>,
    pub jitter_us: Option<f64>,
    pub lost_percent: Option<f64>,
    /// Throughput rows with --latency: UDP round trips before the streams and during them.
    pub idle_rtt_p50_us: Option<f64>,
    pub idle_rtt_p99_us: Option<f64>,
    pub loaded_rtt_p50_us: Option<f64>,
    pub loaded_rtt_p99_us: Option<f64>,
    /// The path (throughput, udp, mtu, validate): both interfaces, the probed MTU, MSS.
    pub local_interface: Option<String>,
    pub local_mtu: Option<u32>,
    pub local_speed_mbps: Option<u32>,
    pub remote_mtu: Option<u32>,
    pub remote_speed_mbps: Option<u32>,
    /// Largest IP packet that passed both ways (don't-fragment probe).
    pub path_mtu: Option<u32>,
    pub mss_advertised: Option<u32>,
    pub mss_effective: Option<u32>,
    /// Udp rows: receiver-side figures of the headline direction; reverse_* for --bidir.
    pub udp_datagram_bytes: Option<u32>,
    /// -b per stream; empty for as fast as possible.
    pub udp_target_mbps: Option<f64>,
    pub udp_packets: Option<u64>,
    pub udp_lost: Option<u64>,
    pub udp_lost_percent: Option<f64>,
    pub udp_out_of_order: Option<u64>,
    pub udp_duplicates: Option<u64>,
    pub udp_jitter_ms: Option<f64>,
    pub reverse_udp_lost_percent: Option<f64>,
    pub reverse_udp_jitter_ms: Option<f64>,
    /// Mesh rows: the pair's receiver goodput with 1 stream (the row's `receiver_mbps` is the `-P N` run's).
    pub goodput_1_stream_mbps: Option<f64>,
}

impl HistoryRow {
    /// A row of `kind` with the run's own columns filled (id, time, label, profile, hosts, version); the rest empty.
    pub fn for_run(kind: Kind, meta: &RunMeta) -> HistoryRow {
        HistoryRow {
            schema_version: SCHEMA_VERSION,
            kind,
            run_id: meta.run_id.clone(),
            time_utc: humantime::format_rfc3339_seconds(meta.time).to_string(),
            label: meta.label.clone().unwrap_or_default(),
            profile: meta.profile.clone().unwrap_or_default(),
            client_host: meta.client_host.clone(),
            server_host: meta.host.clone(),
            saf_net_version: env!("CARGO_PKG_VERSION").into(),
            ..HistoryRow::default()
        }
    }

    /// Fills the path: both interfaces, the probed path MTU and MSS (detail), the diagnoses' kinds (a column).
    pub fn fill_path(&mut self, p: &PathReport) {
        let d = &mut self.detail;
        d.local_interface = p.local.interface.clone().filter(|i| !i.is_empty());
        d.local_mtu = p.local.mtu;
        d.local_speed_mbps = p.local.speed_mbps;
        d.remote_mtu = p.remote.as_ref().and_then(|r| r.mtu);
        d.remote_speed_mbps = p.remote.as_ref().and_then(|r| r.speed_mbps);
        d.path_mtu = p.mtu_probe.and_then(|m| m.path_mtu());
        d.mss_advertised = p.mss_advertised;
        d.mss_effective = p.mss_effective;
        self.diagnoses = p
            .diagnoses
            .iter()
            .map(|d| d.kind.as_str())
            .collect::<Vec<_>>()
            .join(";");
    }
}

impl KindColumns {
    /// The columns that have a value, as a JSON object (what `history_columns` holds).
    pub fn to_object(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.retain(|_, v| !v.is_null());
                map
            }
            _ => unreachable!("a struct of options serializes to an object"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == KindColumns::default()
    }

    /// These columns, with the gaps filled from `other` (a CSV row's values win over its JSON's).
    pub fn or(self, other: &KindColumns) -> KindColumns {
        let mut map = other.to_object();
        map.extend(self.to_object());
        serde_json::from_value(map.into()).expect("values of the same struct read back")
    }
}

/// A row read back from any schema version; columns a version lacks are None. `detail` comes from the CSV
/// (schemas 2–4) or from the per-run JSON (from schema 5, and rows an upgrade moved there).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct HistoryRecord {
    pub schema_version: Option<u32>,
    pub kind: Option<Kind>,
    pub run_id: Option<String>,
    pub time_utc: Option<String>,
    pub label: Option<String>,
    pub profile: Option<String>,
    pub client_host: Option<String>,
    pub server_host: Option<String>,
    pub direction: Option<String>,
    pub streams: Option<u32>,
    pub duration_s: Option<f64>,
    pub bytes: Option<u64>,
    pub receiver_mbps: Option<f64>,
    pub sender_mbps: Option<f64>,
    pub reverse_receiver_mbps: Option<f64>,
    pub reverse_sender_mbps: Option<f64>,
    pub complete: Option<bool>,
    pub saf_net_version: Option<String>,
    pub details: Option<String>,
    pub diagnoses: Option<String>,
    #[serde(skip)]
    pub detail: KindColumns,
}

impl HistoryRecord {
    /// A CSV record under `headers` (any schema): the shared columns, and the kind's own where the header has them.
    pub fn from_csv(record: &csv::StringRecord, headers: &csv::StringRecord) -> Result<HistoryRecord, csv::Error> {
        let mut row: HistoryRecord = record.deserialize(Some(headers))?;
        row.detail = record.deserialize(Some(headers))?;
        Ok(row)
    }
}
