//! Which run of a kind `compare` means: the run with an id, else the latest run of a label; and whether two
//! labels name runs of that kind rather than throughput runs. Shared by the mesh and collective comparisons.

use super::data::History;

/// A run `compare` can pick by id or label.
pub trait Picked {
    fn id(&self) -> &str;
    fn label(&self) -> &str;
    /// RFC 3339 UTC, so the text order is the time order.
    fn time_utc(&self) -> &str;
}

/// The run with the id `which`, else the latest run labelled `which`.
pub fn select<'a, R: Picked>(runs: &'a [R], which: &str) -> Option<&'a R> {
    runs.iter().find(|r| r.id() == which).or_else(|| {
        runs.iter()
            .filter(|r| r.label() == which)
            .max_by(|a, b| a.time_utc().cmp(b.time_utc()))
    })
}

/// Whether `compare --before B --after A` means these runs: asked for (`forced`), or neither label has
/// throughput runs while both name one of `runs`.
pub fn wanted<R: Picked>(history: &History, runs: &[R], before: &str, after: &str, forced: bool) -> bool {
    if forced {
        return true;
    }
    if history.throughput().any(|r| r.label == before || r.label == after) {
        return false;
    }
    select(runs, before).is_some() && select(runs, after).is_some()
}

/// The runs there are, for an error that found none: "ID (label L), …" or "none".
pub fn present<R: Picked>(runs: &[R]) -> String {
    let all: Vec<String> = runs
        .iter()
        .map(|r| format!("{} (label {})", r.id(), r.label()))
        .collect();
    if all.is_empty() { "none".into() } else { all.join(", ") }
}
