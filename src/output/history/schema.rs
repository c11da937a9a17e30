//! The columns of the current schema, and which saf-net schema a history's header line belongs to.

use serde::Deserialize;

use super::{HistoryRow, SCHEMA_VERSION};

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

/// The column count of each schema version; each header is a prefix of the next one.
pub const WIDTHS: [(u32, usize); 4] = [(1, 19), (2, 32), (3, 41), (4, 51)];

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
    let ours = header();
    let mut width = 0;
    for (i, field) in fields.into_iter().enumerate() {
        if ours.get(i).is_some_and(|c| c.as_bytes() != field) {
            return None;
        }
        width = i + 1;
    }
    if width > ours.len() {
        return Some(Layout::Newer {
            extra: width - ours.len(),
        });
    }
    WIDTHS
        .iter()
        .find(|(_, w)| *w == width)
        .map(|&(version, _)| match version {
            SCHEMA_VERSION => Layout::Current,
            version => Layout::Older { version },
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(line: &str) -> Option<Layout> {
        classify(line.split(',').map(str::as_bytes))
    }

    #[test]
    fn the_newest_width_is_the_current_header() {
        assert_eq!(WIDTHS.last(), Some(&(SCHEMA_VERSION, header().len())));
        assert!(WIDTHS.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 < w[1].1));
    }

    #[test]
    fn every_schema_is_known_by_its_columns() {
        for &(version, width) in &WIDTHS {
            let want = if version == SCHEMA_VERSION {
                Layout::Current
            } else {
                Layout::Older { version }
            };
            assert_eq!(layout(&header()[..width].join(",")), Some(want), "v{version}");
        }
        let newer = format!("{},wifi_rssi_dbm,wifi_channel", header().join(","));
        assert_eq!(layout(&newer), Some(Layout::Newer { extra: 2 }));
    }

    #[test]
    fn anything_else_is_not_a_history() {
        let cols = header();
        for line in [
            "name,value".to_string(),
            String::new(),
            cols[..18].join(","),
            cols[..20].join(","),
            format!("{},extra", cols[..19].join(",")),
            cols.join(",").replace("run_id", "RUN_ID"),
            cols.join(";"),
            "schema_version,kind,run_id,receiver_mbps".into(),
        ] {
            assert_eq!(layout(&line), None, "{line}");
        }
    }
}
