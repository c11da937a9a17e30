//! The results exchange: after EXCHANGE_RESULTS the client sends its document, then the server sends its own.
//!
//! Each side reports its streams by id: the sending side its bytes sent (less the omitted ones) and its
//! retransmits, the receiving side its bytes received and, for UDP, jitter, lost packets (`errors`) and the highest
//! packet number seen (`packets`). Fields iperf3 requires are plain fields here, so a document without them is
//! refused as iperf3 refuses it.

use serde::{Deserialize, Serialize};

use super::params::de;

/// One side's results document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Process CPU use over the test, in percent of one CPU: total, user, system.
    #[serde(deserialize_with = "de::f64")]
    pub cpu_util_total: f64,
    #[serde(deserialize_with = "de::f64")]
    pub cpu_util_user: f64,
    #[serde(deserialize_with = "de::f64")]
    pub cpu_util_system: f64,
    /// 1 if the sender's retransmit counts are real, 0 if the OS has none, -1 from a side that only received.
    #[serde(deserialize_with = "de::i64")]
    pub sender_has_retransmits: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub congestion_used: Option<String>,
    pub streams: Vec<StreamResult>,
    /// The server's own text output, when the client asked for it (`get_server_output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_output_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_output_json: Option<serde_json::Value>,
}

/// One stream's line in a results document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamResult {
    /// iperf3's stream id ([`super::stream_id`]).
    #[serde(deserialize_with = "de::i64")]
    pub id: i64,
    /// Bytes sent (sending side, omit excluded) or received (receiving side).
    #[serde(deserialize_with = "de::u64")]
    pub bytes: u64,
    /// Retransmits of a sending stream; -1 when unknown or receiving.
    #[serde(deserialize_with = "de::i64")]
    pub retransmits: i64,
    /// UDP jitter in seconds (RFC 3550), 0 for TCP.
    #[serde(deserialize_with = "de::f64")]
    pub jitter: f64,
    /// UDP packets lost (receiver) ; 0 otherwise.
    #[serde(deserialize_with = "de::i64")]
    pub errors: i64,
    /// UDP packets: sent (sender) or the highest packet number seen (receiver).
    #[serde(deserialize_with = "de::i64")]
    pub packets: i64,
    /// Seconds since the stream's start (0) and to its end; absent from servers before 3.2.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_f64")]
    pub start_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_f64")]
    pub end_time: Option<f64>,
    /// Newer iperf3 (3.16+): UDP figures inside the omit period.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_i64")]
    pub omitted_errors: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_i64")]
    pub omitted_packets: Option<i64>,
}

impl StreamResult {
    /// The stream's measured seconds (`end_time - start_time`), if the peer told them.
    pub fn seconds(&self) -> Option<f64> {
        match (self.start_time, self.end_time) {
            (Some(s), Some(e)) if e >= s => Some(e - s),
            _ => None,
        }
    }
}

impl Results {
    /// The line for stream `id`, if the peer reported it.
    pub fn stream(&self, id: u32) -> Option<&StreamResult> {
        self.streams.iter().find(|s| s.id == i64::from(id))
    }
}
