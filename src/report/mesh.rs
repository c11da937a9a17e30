//! Mesh runs as the report reads them: the history's `kind = mesh` rows (one per ordered pair, run id
//! `MESHID.FROM-TO`) gathered by mesh, each mesh's matrix and findings from its per-run JSON (every pair's file
//! holds the whole `-J` document), and the reference its cells are judged against.

use serde::Deserialize;

use super::data::{History, Run};
use crate::findings::Finding;
use crate::output::history::Kind;

/// One mesh run: its nodes, its N×N goodput matrix (rows send, columns receive) and its findings.
#[derive(Debug, Clone)]
pub struct MeshRun {
    /// The mesh's run id (the rows' ids without `.FROM-TO`).
    pub id: String,
    pub label: String,
    pub profile: String,
    pub time_utc: String,
    pub mode: String,
    pub parallel: u32,
    /// The profile's TCP goodput ceiling, Mbit/s, as the run recorded it (else from the report's own profile
    /// lookup); None without a known profile.
    pub ceiling_mbps: Option<f64>,
    /// Node names as they were given (NAME of NAME=HOST, else the host), and their hosts.
    pub nodes: Vec<String>,
    pub hosts: Vec<String>,
    /// `cells[from][to]`; None on the diagonal and for a pair the document does not list.
    pub cells: Vec<Vec<Option<Cell>>>,
    pub findings: Vec<Finding>,
}

/// One ordered pair: its judged goodput (`-P N`, else 1 stream) and whether it was measured completely.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub mbps: Option<f64>,
    pub complete: bool,
}

impl Cell {
    /// The figure that may be shown and compared: None when the pair is incomplete or has none.
    pub fn judged_mbps(&self) -> Option<f64> {
        self.mbps.filter(|_| self.complete)
    }
}

/// What a cell's colour is a percentage of.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub mbps: f64,
    /// "the 1gbe TCP ceiling (941.5 Mbit/s)" or "the best pair (931.5 Mbit/s)".
    pub what: String,
}

impl MeshRun {
    /// The profile's ceiling, else the best complete pair; None when no pair has a figure.
    pub fn reference(&self) -> Option<Reference> {
        let name = |m: f64| super::charts::thousands(m, 1);
        if let Some(c) = self.ceiling_mbps.filter(|c| *c > 0.0) {
            let what = format!("the {} TCP ceiling ({} Mbit/s)", self.profile, name(c));
            return Some(Reference { mbps: c, what });
        }
        let best = self
            .cells
            .iter()
            .flatten()
            .flatten()
            .filter_map(Cell::judged_mbps)
            .fold(f64::NAN, f64::max);
        (best > 0.0).then(|| Reference {
            mbps: best,
            what: format!("the best pair ({} Mbit/s; no profile ceiling)", name(best)),
        })
    }

    pub fn cell(&self, from: usize, to: usize) -> Option<&Cell> {
        self.cells.get(from)?.get(to)?.as_ref()
    }

    /// "2026-11-29 13:00 UTC" from the run's time, else its id.
    pub fn when(&self) -> String {
        let t = &self.time_utc;
        if t.len() >= 16 {
            format!("{} {} UTC", &t[..10], &t[11..16])
        } else {
            self.id.clone()
        }
    }

    /// "label before", "no label".
    pub fn label_text(&self) -> String {
        if self.label == super::data::NO_LABEL {
            "no label".into()
        } else {
            format!("label {}", self.label)
        }
    }
}

/// The report.md section of a mesh run: what it was, its heatmap, its findings.
pub fn markdown(run: &MeshRun, file: &str) -> String {
    use super::summary::md_escape;
    let n = run.nodes.len();
    let pairs = n * n.saturating_sub(1);
    let complete = run
        .cells
        .iter()
        .flatten()
        .flatten()
        .filter(|c| c.judged_mbps().is_some())
        .count();
    let nodes: Vec<String> = run
        .nodes
        .iter()
        .zip(&run.hosts)
        .map(|(name, host)| {
            if host.is_empty() || host == name {
                format!("`{name}`")
            } else {
                format!("`{name}` ({host})")
            }
        })
        .collect();
    let profile = if run.profile.is_empty() { "none" } else { &run.profile };
    let against = run.reference().map_or("no pair has a figure".into(), |r| r.what);
    let mut o = format!("## Mesh {}\n\n", run.id);
    o.push_str(&format!(
        "{}, profile {}, {}, {} mode, -P {}; {n} nodes: {}; {complete} of {pairs} pairs measured completely. Rows \
         send, columns receive; colours and % against {}.\n\n",
        md_escape(&run.label_text()),
        md_escape(profile),
        run.when(),
        run.mode,
        run.parallel,
        md_escape(&nodes.join(", ")),
        against
    ));
    o.push_str(&format!("![Mesh {} heatmap]({file})\n\n", run.id));
    if run.findings.is_empty() {
        o.push_str("Findings: none.\n\n");
        return o;
    }
    o.push_str("| Kind | Subject | Finding | What to do |\n|---|---|---|---|\n");
    for f in &run.findings {
        o.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            f.kind,
            md_escape(&f.subject),
            md_escape(&f.text),
            md_escape(&f.fix)
        ));
    }
    o.push('\n');
    o
}

/// A pair row's id split: (mesh id, from, to) with node numbers from 1.
pub fn split_id(run_id: &str) -> Option<(&str, usize, usize)> {
    let (mesh, pair) = run_id.rsplit_once('.')?;
    let (a, b) = pair.split_once('-')?;
    Some((mesh, a.parse().ok()?, b.parse().ok()?))
}

#[derive(Debug, Deserialize)]
struct Doc {
    saf_net: DocHeader,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    parallel: u32,
    ceiling_bps: Option<f64>,
    nodes: Vec<DocNode>,
    pairs: Vec<DocPair>,
    #[serde(default)]
    findings: Vec<Finding>,
}

#[derive(Debug, Deserialize)]
struct DocHeader {
    kind: String,
}

#[derive(Debug, Deserialize)]
struct DocNode {
    name: String,
    #[serde(default)]
    host: String,
}

#[derive(Debug, Deserialize)]
struct DocPair {
    from: String,
    to: String,
    goodput_bps: Option<f64>,
    goodput_parallel_bps: Option<f64>,
    #[serde(default)]
    complete: bool,
}

/// Every mesh run of the history, in the order of their first row; a mesh none of whose per-run JSON files can
/// be read as a mesh document is left out with a warning.
pub fn mesh_runs(history: &History, warnings: &mut Vec<String>) -> Vec<MeshRun> {
    let mut ids: Vec<(&str, Vec<&Run>)> = Vec::new();
    for r in history.runs.iter().filter(|r| r.kind == Kind::Mesh) {
        let id = split_id(&r.run_id).map_or(r.run_id.as_str(), |(m, _, _)| m);
        match ids.iter_mut().find(|(i, _)| *i == id) {
            Some((_, rows)) => rows.push(r),
            None => ids.push((id, vec![r])),
        }
    }
    let mut out = Vec::new();
    for (id, rows) in ids {
        match rows.iter().find_map(|r| read_doc(r)) {
            Some(doc) => out.push(from_doc(id, rows[0], doc)),
            None => warnings.push(format!(
                "mesh run {id} (label \"{}\", {} rows): no per-run JSON of it could be read as a mesh document; no \
                 heatmap or comparison for it",
                rows[0].label,
                rows.len()
            )),
        }
    }
    out
}

fn read_doc(run: &Run) -> Option<Doc> {
    let text = std::fs::read_to_string(run.details.as_ref()?).ok()?;
    serde_json::from_str::<Doc>(&text)
        .ok()
        .filter(|d| d.saf_net.kind == "mesh")
}

fn from_doc(id: &str, first: &Run, doc: Doc) -> MeshRun {
    let nodes: Vec<String> = doc.nodes.iter().map(|n| n.name.clone()).collect();
    let index = |name: &str| nodes.iter().position(|n| n == name);
    let mut cells = vec![vec![None; nodes.len()]; nodes.len()];
    for p in &doc.pairs {
        if let (Some(a), Some(b)) = (index(&p.from), index(&p.to))
            && a != b
        {
            cells[a][b] = Some(Cell {
                mbps: p.goodput_parallel_bps.or(p.goodput_bps).map(|b| b / 1e6),
                complete: p.complete,
            });
        }
    }
    MeshRun {
        id: id.to_string(),
        label: first.label.clone(),
        profile: first.profile.clone(),
        time_utc: first.time_utc.clone(),
        mode: doc.mode,
        parallel: doc.parallel,
        ceiling_mbps: doc.ceiling_bps.map(|b| b / 1e6).or_else(|| first.ceiling_mbps()),
        hosts: doc.nodes.iter().map(|n| n.host.clone()).collect(),
        nodes,
        cells,
        findings: doc.findings,
    }
}

impl super::pick::Picked for MeshRun {
    fn id(&self) -> &str {
        &self.id
    }

    fn label(&self) -> &str {
        &self.label
    }

    fn time_utc(&self) -> &str {
        &self.time_utc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_ids_split_into_the_mesh_and_its_nodes() {
        assert_eq!(
            split_id("20261129T130000Z-a1b2c3.1-3"),
            Some(("20261129T130000Z-a1b2c3", 1, 3))
        );
        assert_eq!(split_id("20261129T130000Z-a1b2c3"), None);
        assert_eq!(split_id("x.a-b"), None);
    }
}
