//! The columns of the current schema, and which saf-net schema a history's header line belongs to.

use serde::Deserialize;

use super::HistoryRow;

/// The column names of the current schema, in order: the fields of `HistoryRow`, its only source.
pub fn header() -> &'static [&'static str] {
    serde_field_names::<HistoryRow>()
}

/// The field names serde derived for a struct, in declaration order, read without any data.
pub(super) fn serde_field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    use serde::de::{Error, Visitor, value};

    struct FieldNames<'a>(&'a mut &'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for FieldNames<'_> {
        type Error = value::Error;

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, value::Error> {
            *self.0 = fields;
            Err(value::Error::custom("only the field names are read"))
        }

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, value::Error> {
            Err(value::Error::custom("not a struct with named fields"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// Every column of schema 4, in order. The headers of schemas 1–3 are its first [`OLDER`] columns.
pub const V4_COLUMNS: [&str; 51] = [
    "schema_version",
    "kind",
    "run_id",
    "time_utc",
    "label",
    "profile",
    "client_host",
    "server_host",
    "direction",
    "streams",
    "duration_s",
    "bytes",
    "receiver_mbps",
    "sender_mbps",
    "reverse_receiver_mbps",
    "reverse_sender_mbps",
    "complete",
    "saf_net_version",
    "details",
    "latency_mode",
    "rtt_min_us",
    "rtt_p50_us",
    "rtt_p90_us",
    "rtt_p99_us",
    "rtt_p99_9_us",
    "rtt_max_us",
    "jitter_us",
    "lost_percent",
    "idle_rtt_p50_us",
    "idle_rtt_p99_us",
    "loaded_rtt_p50_us",
    "loaded_rtt_p99_us",
    "local_interface",
    "local_mtu",
    "local_speed_mbps",
    "remote_mtu",
    "remote_speed_mbps",
    "path_mtu",
    "mss_advertised",
    "mss_effective",
    "diagnoses",
    "udp_datagram_bytes",
    "udp_target_mbps",
    "udp_packets",
    "udp_lost",
    "udp_lost_percent",
    "udp_out_of_order",
    "udp_duplicates",
    "udp_jitter_ms",
    "reverse_udp_lost_percent",
    "reverse_udp_jitter_ms",
];

/// The older schemas and their column counts: each header is the first columns of [`V4_COLUMNS`].
pub const OLDER: [(u32, usize); 4] = [(1, 19), (2, 32), (3, 41), (4, 51)];

/// What a history file's first line says about the saf-net that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// No bytes yet: the header goes in with the first row.
    Empty,
    /// This version's header.
    Current,
    /// An older schema: upgraded, with a backup, before the next row.
    Older { version: u32 },
    /// A newer saf-net's header: ours, then `extra` columns our rows leave empty.
    Newer { extra: usize },
}

/// The layout a header line's fields describe, or None when they are not a saf-net header.
pub fn classify<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> Option<Layout> {
    let fields: Vec<&[u8]> = fields.into_iter().collect();
    let same =
        |names: &[&str]| names.len() <= fields.len() && names.iter().zip(&fields).all(|(c, f)| c.as_bytes() == *f);
    let ours = header();
    if same(ours) {
        return Some(match fields.len() - ours.len() {
            0 => Layout::Current,
            extra => Layout::Newer { extra },
        });
    }
    OLDER
        .iter()
        .find(|&&(_, width)| width == fields.len() && same(&V4_COLUMNS[..width]))
        .map(|&(version, _)| Layout::Older { version })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::history::SCHEMA_VERSION;

    fn layout(line: &str) -> Option<Layout> {
        classify(line.split(',').map(str::as_bytes))
    }

    #[test]
    fn the_current_header_is_schema_1s_and_the_diagnoses() {
        assert_eq!(header()[..19], V4_COLUMNS[..19]);
        assert_eq!(header()[19..], ["diagnoses"]);
        assert!(OLDER.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
        assert_eq!(OLDER.last(), Some(&(SCHEMA_VERSION - 1, V4_COLUMNS.len())));
    }

    #[test]
    fn every_schema_is_known_by_its_columns() {
        for &(version, width) in &OLDER {
            let want = Layout::Older { version };
            assert_eq!(layout(&V4_COLUMNS[..width].join(",")), Some(want), "v{version}");
        }
        assert_eq!(layout(&header().join(",")), Some(Layout::Current));
        let newer = format!("{},wifi_rssi_dbm,wifi_channel", header().join(","));
        assert_eq!(layout(&newer), Some(Layout::Newer { extra: 2 }));
    }

    #[test]
    fn anything_else_is_not_a_history() {
        let cols = V4_COLUMNS;
        for line in [
            "name,value".to_string(),
            String::new(),
            cols[..18].join(","),
            cols[..20].join(","),
            format!("{},extra", cols[..19].join(",")),
            format!("{},extra", cols.join(",")),
            cols.join(",").replace("run_id", "RUN_ID"),
            header().join(",").replace("run_id", "RUN_ID"),
            cols.join(";"),
            "schema_version,kind,run_id,receiver_mbps".into(),
        ] {
            assert_eq!(layout(&line), None, "{line}");
        }
    }
}
