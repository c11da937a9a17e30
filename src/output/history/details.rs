//! The per-run JSON's `history_columns`: a row's [`KindColumns`], added to the `-J` document when the run is
//! recorded, and by an upgrade for the values of the columns that left the CSV.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use serde_json::{Map, Value};

use super::KindColumns;
use crate::platform::files;

/// The key of the per-kind columns in a per-run JSON document.
pub const KEY: &str = "history_columns";

/// `document` (a JSON object's text) with `history_columns` added as its last key; unchanged when `columns` is
/// empty. The document's own bytes stay as they were, so the file still reads like `-J`.
pub fn with_columns(document: &str, columns: &KindColumns) -> String {
    if columns.is_empty() {
        return document.to_string();
    }
    splice(document, &columns.to_object())
}

fn splice(document: &str, columns: &Map<String, Value>) -> String {
    let body = document.trim_end();
    let (Some(inner), true) = (body.strip_suffix('}'), body.starts_with('{')) else {
        // Not an object (never from saf-net): wrapped, so the figures are kept beside it all the same.
        let doc: Value = serde_json::from_str(document).unwrap_or_else(|_| document.into());
        return serde_json::json!({"document": doc, KEY: columns}).to_string();
    };
    let pretty = body.contains('\n');
    let value = if pretty {
        serde_json::to_string_pretty(columns)
            .expect("a map of JSON values")
            .replace('\n', "\n  ")
    } else {
        Value::Object(columns.clone()).to_string()
    };
    let trimmed = inner.trim_end();
    let comma = if trimmed.len() <= 1 { "" } else { "," };
    let tail = &document[body.len()..];
    if pretty {
        format!("{trimmed}{comma}\n  \"{KEY}\": {value}\n}}{tail}")
    } else {
        format!("{trimmed}{comma}\"{KEY}\":{value}}}{tail}")
    }
}

/// The `history_columns` of a per-run JSON document: None when it has none.
pub fn from_document(doc: &Value) -> Result<Option<KindColumns>, serde_json::Error> {
    doc.get(KEY).map(|v| serde_json::from_value(v.clone())).transpose()
}

/// Why an upgrade could not put a row's columns into its per-run JSON.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot be read ({0})")]
    Read(std::io::Error),
    #[error("is not a JSON object ({0})")]
    NotJson(String),
    #[error("already holds {KEY}.{key} = {held} where the CSV says {csv}")]
    Conflict { key: String, held: Value, csv: Value },
    #[error("cannot be written ({0})")]
    Write(std::io::Error),
}

/// Adds to the JSON file at `path` every one of `columns` its `history_columns` lacks (creating the file when
/// there is none); returns whether it was written. A value it holds already must agree; nothing is overwritten.
pub fn merge_into(path: &Path, columns: &KindColumns) -> Result<bool, MergeError> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let doc = serde_json::json!({ KEY: columns.to_object() });
            let text = serde_json::to_string_pretty(&doc).expect("a JSON value") + "\n";
            return write(path, &text).map(|()| true);
        }
        Err(e) => return Err(MergeError::Read(e)),
    };
    let mut doc: Value = serde_json::from_str(&text).map_err(|e| MergeError::NotJson(e.to_string()))?;
    let Some(obj) = doc.as_object_mut() else {
        return Err(MergeError::NotJson("its top level is no object".into()));
    };
    let held = match obj.get(KEY) {
        None => return write(path, &splice(&text, &columns.to_object())).map(|()| true),
        Some(v) => serde_json::from_value::<KindColumns>(v.clone())
            .map_err(|e| MergeError::NotJson(format!("{KEY}: {e}")))?
            .to_object(),
    };
    let mut missing = Map::new();
    for (key, csv) in columns.to_object() {
        match held.get(&key) {
            Some(h) if *h == csv => {}
            Some(h) => {
                return Err(MergeError::Conflict {
                    key,
                    held: h.clone(),
                    csv,
                });
            }
            None => {
                missing.insert(key, csv);
            }
        }
    }
    if missing.is_empty() {
        return Ok(false);
    }
    if let Some(Value::Object(existing)) = obj.get_mut(KEY) {
        existing.extend(missing);
    }
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value") + "\n";
    write(path, &text).map(|()| true)
}

fn write(path: &Path, text: &str) -> Result<(), MergeError> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(MergeError::Write)?;
    }
    files::write_atomic(path, text.as_bytes()).map_err(MergeError::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn udp() -> KindColumns {
        KindColumns {
            udp_lost: Some(7),
            udp_jitter_ms: Some(0.012),
            ..KindColumns::default()
        }
    }

    #[test]
    fn the_columns_go_last_and_the_document_keeps_its_bytes() {
        assert_eq!(with_columns("{\"x\":1}", &KindColumns::default()), "{\"x\":1}");
        assert_eq!(
            with_columns("{\"x\":1}", &udp()),
            "{\"x\":1,\"history_columns\":{\"udp_jitter_ms\":0.012,\"udp_lost\":7}}"
        );
        assert_eq!(
            with_columns("{}", &udp()),
            "{\"history_columns\":{\"udp_jitter_ms\":0.012,\"udp_lost\":7}}"
        );
        let pretty = "{\n  \"a\": [\n    1\n  ]\n}\n";
        let out = with_columns(pretty, &udp());
        assert!(
            out.starts_with("{\n  \"a\": [\n    1\n  ],\n  \"history_columns\": {\n    \"udp_jitter_ms\""),
            "{out}"
        );
        assert!(out.ends_with("\n  }\n}\n"), "{out}");
        for text in [out, with_columns("{ }", &udp()), with_columns("[1]", &udp())] {
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(from_document(&doc).unwrap(), Some(udp()), "{text}");
        }
    }

    #[test]
    fn merging_adds_what_is_missing_and_refuses_a_disagreement() {
        let dir = tempfile::tempdir().unwrap();
        let created = dir.path().join("runs/a.json");
        assert!(merge_into(&created, &udp()).unwrap());
        let doc: Value = serde_json::from_str(&fs::read_to_string(&created).unwrap()).unwrap();
        assert_eq!(from_document(&doc).unwrap(), Some(udp()));
        assert!(!merge_into(&created, &udp()).unwrap(), "all there: not written again");
        let more = KindColumns {
            path_mtu: Some(1500),
            ..udp()
        };
        assert!(merge_into(&created, &more).unwrap());
        let doc: Value = serde_json::from_str(&fs::read_to_string(&created).unwrap()).unwrap();
        assert_eq!(from_document(&doc).unwrap(), Some(more));
        let other = KindColumns {
            udp_lost: Some(8),
            ..KindColumns::default()
        };
        let err = merge_into(&created, &other).unwrap_err();
        assert!(
            err.to_string()
                .contains("history_columns.udp_lost = 7 where the CSV says 8"),
            "{err}"
        );
        let bad = dir.path().join("bad.json");
        fs::write(&bad, "{cut").unwrap();
        assert!(matches!(merge_into(&bad, &udp()), Err(MergeError::NotJson(_))));
        assert_eq!(fs::read_to_string(&bad).unwrap(), "{cut");
    }
}
