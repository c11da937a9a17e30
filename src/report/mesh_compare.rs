//! `compare` on two mesh runs: the N×N matrix of after/before goodput ratios over the nodes both runs have
//! (matched by the name they were given, else by host), the pairs that got worse, and a verdict.

use serde::Serialize;

use super::charts::thousands;
use super::data::History;
use super::error::ReportError;
use super::mesh::{MeshRun, mesh_runs};
use super::pick;
use crate::findings::pair_subject;

/// A pair whose after/before ratio is below this got worse (and `compare` exits 4).
pub const WORSE_RATIO: f64 = 0.90;

/// Which run a side is.
#[derive(Debug, Clone, Serialize)]
pub struct MeshSide {
    pub run_id: String,
    pub label: String,
    pub time: String,
    pub profile: String,
    pub nodes: Vec<String>,
}

/// One pair measured completely in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct PairRatio {
    pub from: String,
    pub to: String,
    pub before_mbps: f64,
    pub after_mbps: f64,
    /// after / before.
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeshComparison {
    pub kind: &'static str,
    pub before: MeshSide,
    pub after: MeshSide,
    /// The nodes both runs have, in the before run's order, by its names.
    pub nodes: Vec<String>,
    pub only_before: Vec<String>,
    pub only_after: Vec<String>,
    /// `ratios[from][to]` over `nodes`: after / before; null on the diagonal and where a pair is not compared.
    pub ratios: Vec<Vec<Option<f64>>>,
    pub pairs: Vec<PairRatio>,
    /// Pairs of common nodes incomplete or unmeasured in either run (`from->to`).
    pub not_compared: Vec<String>,
    pub worse_ratio: f64,
    /// The pairs below `worse_ratio`, worst first.
    pub worse_pairs: Vec<PairRatio>,
    pub verdict: String,
    /// Some pair got worse (`compare` then exits 4).
    pub worse: bool,
    /// Where the ratio chart was written, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png: Option<String>,
}

/// Whether `compare --before B --after A` means mesh runs: asked for with `--mesh`, or neither label has
/// throughput runs while both name a mesh run.
pub fn wanted(history: &History, before: &str, after: &str, forced: bool) -> bool {
    forced || pick::wanted(history, &mesh_runs(history, &mut Vec::new()), before, after, false)
}

fn side(history: &History, runs: &[MeshRun], which: &str) -> Result<MeshRun, ReportError> {
    pick::select(runs, which).cloned().ok_or_else(|| ReportError::NoMesh {
        which: which.into(),
        paths: history.source_names(),
        present: pick::present(runs),
    })
}

/// Compares the mesh runs `before` and `after` name (a label's latest, or an id).
pub fn compare(history: &History, before: &str, after: &str) -> Result<MeshComparison, ReportError> {
    let runs = mesh_runs(history, &mut Vec::new());
    let (b, a) = (side(history, &runs, before)?, side(history, &runs, after)?);
    let matched: Vec<(usize, usize)> = (0..b.nodes.len())
        .filter_map(|i| counterpart(&b, &a, i).map(|j| (i, j)))
        .collect();
    let mut c = MeshComparison {
        kind: "mesh",
        nodes: matched.iter().map(|&(i, _)| b.nodes[i].clone()).collect(),
        only_before: (0..b.nodes.len())
            .filter(|i| !matched.iter().any(|m| m.0 == *i))
            .map(|i| b.nodes[i].clone())
            .collect(),
        only_after: (0..a.nodes.len())
            .filter(|j| !matched.iter().any(|m| m.1 == *j))
            .map(|j| a.nodes[j].clone())
            .collect(),
        ratios: vec![vec![None; matched.len()]; matched.len()],
        pairs: Vec::new(),
        not_compared: Vec::new(),
        worse_ratio: WORSE_RATIO,
        worse_pairs: Vec::new(),
        verdict: String::new(),
        worse: false,
        png: None,
        before: mesh_side(&b),
        after: mesh_side(&a),
    };
    fill_ratios(&mut c, &b, &a, &matched);
    if c.pairs.is_empty() {
        return Err(ReportError::NothingInCommon {
            before: b.id,
            after: a.id,
        });
    }
    c.worse_pairs = c.pairs.iter().filter(|p| p.ratio < WORSE_RATIO).cloned().collect();
    c.worse_pairs.sort_by(|x, y| x.ratio.total_cmp(&y.ratio));
    c.worse = !c.worse_pairs.is_empty();
    c.verdict = verdict(&c);
    Ok(c)
}

fn mesh_side(r: &MeshRun) -> MeshSide {
    MeshSide {
        run_id: r.id.clone(),
        label: r.label.clone(),
        time: r.when(),
        profile: r.profile.clone(),
        nodes: r.nodes.clone(),
    }
}

/// The after run's node for the before run's node `i`: the same name, else the same host.
fn counterpart(b: &MeshRun, a: &MeshRun, i: usize) -> Option<usize> {
    let host = b.hosts.get(i).filter(|h| !h.is_empty());
    a.nodes
        .iter()
        .position(|n| *n == b.nodes[i])
        .or_else(|| a.hosts.iter().position(|h| Some(h) == host))
}

fn fill_ratios(c: &mut MeshComparison, b: &MeshRun, a: &MeshRun, matched: &[(usize, usize)]) {
    for (x, &(bi, ai)) in matched.iter().enumerate() {
        for (y, &(bj, aj)) in matched.iter().enumerate() {
            if x == y {
                continue;
            }
            let before = b.cell(bi, bj).and_then(|p| p.judged_mbps()).filter(|m| *m > 0.0);
            let after = a.cell(ai, aj).and_then(|p| p.judged_mbps());
            let (from, to) = (&c.nodes[x], &c.nodes[y]);
            let (Some(before_mbps), Some(after_mbps)) = (before, after) else {
                c.not_compared.push(pair_subject(from, to));
                continue;
            };
            let ratio = after_mbps / before_mbps;
            c.ratios[x][y] = Some(ratio);
            c.pairs.push(PairRatio {
                from: from.clone(),
                to: to.clone(),
                before_mbps,
                after_mbps,
                ratio,
            });
        }
    }
}

fn verdict(c: &MeshComparison) -> String {
    let n = c.pairs.len();
    if c.worse {
        let names: Vec<String> = c.worse_pairs.iter().map(|p| pair_subject(&p.from, &p.to)).collect();
        return format!(
            "{} of {n} compared pairs got worse (after below {:.2}× before): {}.",
            c.worse_pairs.len(),
            WORSE_RATIO,
            names.join(", ")
        );
    }
    let lo = c.pairs.iter().map(|p| p.ratio).fold(f64::INFINITY, f64::min);
    let hi = c.pairs.iter().map(|p| p.ratio).fold(f64::NEG_INFINITY, f64::max);
    format!("No pair got worse: after/before from {lo:.2}× to {hi:.2}× over {n} compared pairs.")
}

impl MeshComparison {
    /// The text `compare` prints.
    pub fn text(&self) -> String {
        let (b, a) = (&self.before, &self.after);
        let mut o = format!(
            "Mesh compare: {} (run {}, {}, profile {}) → {} (run {}, {}, profile {})\n\n",
            b.label,
            b.run_id,
            b.time,
            or_none(&b.profile),
            a.label,
            a.run_id,
            a.time,
            or_none(&a.profile)
        );
        o.push_str("After / before receiver goodput (-P N); rows send, columns receive:\n");
        o.push_str(&self.matrix_text());
        for (which, nodes) in [("before", &self.only_before), ("after", &self.only_after)] {
            if !nodes.is_empty() {
                o.push_str(&format!(
                    "Only in {which} (their pairs not compared): {}\n",
                    nodes.join(", ")
                ));
            }
        }
        if !self.not_compared.is_empty() {
            o.push_str(&format!(
                "Not compared (incomplete or not measured in a run): {}\n",
                self.not_compared.join(", ")
            ));
        }
        o.push_str(&format!("\nWorse (below {:.2}×):", WORSE_RATIO));
        if self.worse_pairs.is_empty() {
            o.push_str(" none\n");
        } else {
            o.push('\n');
            for p in &self.worse_pairs {
                o.push_str(&format!(
                    "  {}: {} → {} Mbit/s ({:.2}×)\n",
                    pair_subject(&p.from, &p.to),
                    thousands(p.before_mbps, 1),
                    thousands(p.after_mbps, 1),
                    p.ratio
                ));
            }
        }
        o.push_str(&format!("Verdict: {}\n", self.verdict));
        if let Some(png) = &self.png {
            o.push_str(&format!("Chart: {png}\n"));
        }
        o
    }

    /// The ratio matrix as aligned text: `—` on the diagonal, `?` where a pair is not compared.
    fn matrix_text(&self) -> String {
        let w = self.nodes.iter().map(|n| n.chars().count()).max().unwrap_or(0).max(7);
        let mut o = format!("  {:w$}", "");
        for n in &self.nodes {
            o.push_str(&format!("  {n:>w$}"));
        }
        o.push('\n');
        for (x, row) in self.ratios.iter().enumerate() {
            o.push_str(&format!("  {:w$}", self.nodes[x]));
            for (y, r) in row.iter().enumerate() {
                let cell = match r {
                    _ if x == y => "—".to_string(),
                    Some(r) => format!("{r:.2}×"),
                    None => "?".to_string(),
                };
                o.push_str(&format!("  {cell:>w$}"));
            }
            o.push('\n');
        }
        o
    }
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}
