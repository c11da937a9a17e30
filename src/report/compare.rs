//! Before/after comparison of two labels: speedup, % of each side's own ceiling, latency change, and what still
//! limits the link, worked out from the model.

use serde::Serialize;

use super::charts::{pct, seconds, thousands};
use super::data::{History, LatencyHistogram};
use super::error::ReportError;
use super::groups::{self, Group, GroupStats};
use super::links::known_profiles;
use crate::model::{self, Framing, Link};

/// At or above this % of its ceiling a link "delivers what the wire allows".
pub const DELIVERS_PCT: f64 = 95.0;

/// A median more than this factor above the ceiling cannot have crossed the profile's link.
pub const IMPOSSIBLE_ABOVE: f64 = 1.0005;

/// `after` is worse than `before` when even its best run is below `before`'s worst and the medians differ by more
/// than this fraction (with one run a side there is no spread, only this margin).
pub const WORSE_MARGIN: f64 = 0.01;

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    #[serde(flatten)]
    pub stats: GroupStats,
    /// Profiles of this label's runs other than the one compared (a label should use one profile).
    pub other_profiles: Vec<String>,
    pub latency_p50_us: Option<f64>,
    pub latency_p99_us: Option<f64>,
    /// UDP round-trip times of the compared runs made with `client --latency`: before the test (idle) and during
    /// it (under load).
    pub latency_idle_p50_us: Option<f64>,
    pub latency_idle_p99_us: Option<f64>,
    pub latency_loaded_p50_us: Option<f64>,
    pub latency_loaded_p99_us: Option<f64>,
    /// Seconds to move 10 GB at this side's line rate and ceiling (the model), when its profile is known.
    pub projection_10gb: Option<model::Projection>,
    /// Kernel hints from the runs' JSON, deduplicated.
    pub hints: Vec<String>,
    /// Every compared run's receiver goodput, Mbit/s.
    pub runs_mbps: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencyChange {
    pub before_p50_us: f64,
    pub after_p50_us: f64,
    pub before_p99_us: f64,
    pub after_p99_us: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub before: Side,
    pub after: Side,
    pub baseline_mbps: f64,
    /// after median / before median.
    pub speedup: f64,
    /// One sentence.
    pub verdict: String,
    /// Whether `after` reaches DELIVERS_PCT of its ceiling; None without a known profile, or when its figures are
    /// above what the profile's link can carry.
    pub delivers: Option<bool>,
    /// `after` is slower than `before` beyond the runs' spread (`compare` then exits 4).
    pub worse: bool,
    pub latency: Option<LatencyChange>,
    /// The same for the `client --latency` probes before the tests (idle) and during them (under load).
    pub latency_idle: Option<LatencyChange>,
    pub latency_loaded: Option<LatencyChange>,
    /// What still limits the `after` link, most important first.
    pub limits: Vec<String>,
    /// Where the compare chart was written, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub png: Option<String>,
}

/// The latency mode both labels measured with the most runs between them (never two modes compared).
fn common_mode(history: &History, before: &str, after: &str) -> Option<String> {
    let all = groups::latency_by_label(history);
    let runs = |label: &str, mode: &str| {
        all.iter()
            .find(|(l, m, _, _)| l == label && m == mode)
            .map(|(_, _, _, n)| *n)
    };
    all.iter()
        .filter(|(l, _, _, _)| l == before)
        .filter_map(|(_, m, _, n)| runs(after, m).map(|k| (m.clone(), n + k)))
        .max_by_key(|(_, n)| *n)
        .map(|(m, _)| m)
}

fn latency_of(history: &History, label: &str, mode: Option<&str>, group: &Group<'_>) -> Option<LatencyHistogram> {
    groups::latency_by_label(history)
        .into_iter()
        .find(|(l, m, _, _)| l == label && Some(m.as_str()) == mode)
        .map(|(_, _, h, _)| h)
        .or_else(|| group.latency())
}

/// A side's latency histograms: latency runs (or the throughput runs' own), idle, under load.
type SideLatency = [Option<LatencyHistogram>; 3];

impl LatencyChange {
    fn of(before: &Option<LatencyHistogram>, after: &Option<LatencyHistogram>) -> Option<LatencyChange> {
        let (b, a) = (before.as_ref()?, after.as_ref()?);
        Some(LatencyChange {
            before_p50_us: b.percentile(0.5).unwrap_or(f64::NAN),
            after_p50_us: a.percentile(0.5).unwrap_or(f64::NAN),
            before_p99_us: b.percentile(0.99).unwrap_or(f64::NAN),
            after_p99_us: a.percentile(0.99).unwrap_or(f64::NAN),
        })
    }

    /// "p50 85 µs → 60 µs, p99 1.2 ms → 900 µs".
    pub fn text(&self) -> String {
        use super::charts::latency::micros;
        format!(
            "p50 {} → {}, p99 {} → {}",
            micros(self.before_p50_us),
            micros(self.after_p50_us),
            micros(self.before_p99_us),
            micros(self.after_p99_us)
        )
    }
}

fn side(history: &History, label: &str, mode: Option<&str>, baseline: f64) -> Result<(Side, SideLatency), ReportError> {
    history.require_label(label)?;
    let mut gs = groups::groups_of(history, label);
    // The profile with the most runs is compared; others are named.
    gs.sort_by_key(|g| std::cmp::Reverse(g.runs.len()));
    let Some(g) = gs.first() else {
        return Err(ReportError::UnknownLabel {
            label: label.into(),
            paths: history.source_names(),
            present: history.labels_text(),
        });
    };
    let lat = latency_of(history, label, mode, g);
    let (idle, loaded) = (g.latency_idle(), g.latency_loaded());
    let p = |h: &Option<LatencyHistogram>, q: f64| h.as_ref().and_then(|h| h.percentile(q));
    let mut hints: Vec<String> = Vec::new();
    for h in g.runs.iter().flat_map(|r| r.hints.iter()) {
        if !hints.contains(h) {
            hints.push(h.clone());
        }
    }
    Ok((
        Side {
            stats: g.stats(baseline),
            other_profiles: gs[1..].iter().map(|o| o.profile_text()).collect(),
            latency_p50_us: p(&lat, 0.5),
            latency_p99_us: p(&lat, 0.99),
            latency_idle_p50_us: p(&idle, 0.5),
            latency_idle_p99_us: p(&idle, 0.99),
            latency_loaded_p50_us: p(&loaded, 0.5),
            latency_loaded_p99_us: p(&loaded, 0.99),
            projection_10gb: g.link.map(|l| model::project(l, g.framing(), 10.0)),
            hints,
            runs_mbps: g.goodputs(),
        },
        [lat, idle, loaded],
    ))
}

/// What limits a side's link, from the model and the runs' hints.
pub fn limits(side: &Side) -> Vec<String> {
    let s = &side.stats;
    let Some(link) = s.link else {
        return vec![format!(
            "unknown: profile \"{}\" is not a known link profile (known: {}), so there is no ceiling to compare with",
            if s.profile.is_empty() { "(none)" } else { &s.profile },
            known_profiles().join(", ")
        )];
    };
    let ceiling = s.ceiling_mbps.unwrap_or_else(|| link.ceiling_mbps(Framing::default()));
    let p = s.pct_of_ceiling.unwrap_or(s.median_mbps / ceiling * 100.0);
    let mut out = Vec::new();
    if s.median_mbps > ceiling * IMPOSSIBLE_ABOVE {
        // Figures the link cannot carry say nothing about the link: no wire or host verdict beside them.
        out.push(format!(
            "the figures: the median {} Mbit/s is above the {} Mbit/s ceiling of {link}; a sender-side count, \
             TCP timestamps off, or the wrong profile",
            thousands(s.median_mbps, 1),
            thousands(ceiling, 1)
        ));
        return out;
    }
    if p < DELIVERS_PCT {
        let mut line = format!(
            "the hosts, not the wire: {} of the {} Mbit/s ceiling, {} Mbit/s unused; look at CPU, socket buffers (-w) \
             and more streams (-P)",
            pct(p),
            thousands(ceiling, 1),
            thousands(ceiling - s.median_mbps, 1)
        );
        if !side.hints.is_empty() {
            line.push_str(&format!("; the kernel said: {}", side.hints.join("; ")));
        }
        out.push(line);
    }
    if link.mtu < 9000 {
        let jumbo = Link::new(link.line_rate_mbps, 9000).ceiling_mbps(Framing::default());
        let gain = (jumbo / ceiling - 1.0) * 100.0;
        out.push(format!(
            "MTU {} on the path: jumbo frames (MTU 9000) would add about {gain:.0} % (ceiling {} → {} Mbit/s)",
            link.mtu,
            thousands(ceiling, 1),
            thousands(jumbo, 1)
        ));
    }
    if p >= DELIVERS_PCT {
        out.push(format!(
            "the wire itself: {} of the {link} ceiling ({} Mbit/s){}",
            pct(p),
            thousands(ceiling, 1),
            if link.mtu >= 9000 {
                "; only a faster link would go faster"
            } else {
                ""
            }
        ));
    }
    out
}

/// Whether `after` is slower than `before` beyond both sides' spread of runs.
pub fn is_worse(before: &GroupStats, after: &GroupStats) -> bool {
    after.max_mbps < before.min_mbps && after.median_mbps < before.median_mbps * (1.0 - WORSE_MARGIN)
}

/// The one-sentence verdict on `after`. Impossible figures name the profile mismatch; a slowdown is named as such,
/// never as success.
fn verdict(before: &GroupStats, after: &GroupStats, worse: bool) -> (String, Option<bool>) {
    let (b, a) = (&before.label, &after.label);
    let x = format!("{:.2}×", after.median_mbps / before.median_mbps);
    let mbps = thousands(after.median_mbps, 1);
    let slower = if worse {
        format!("; slower than {b} ({x}) beyond the runs' spread")
    } else {
        format!(", {x} {b}")
    };
    let (Some(p), Some(c), Some(l)) = (after.pct_of_ceiling, after.ceiling_mbps, after.link) else {
        return (
            format!("{a}: {mbps} Mbit/s{slower}; no ceiling to judge it by (profile unknown)"),
            None,
        );
    };
    if after.median_mbps > c * IMPOSSIBLE_ABOVE {
        let text = format!(
            "{a}: {mbps} Mbit/s is {} of the {l} ceiling ({} Mbit/s), more than that link can carry: the runs did not \
             cross the link profile {} describes (wrong --profile, or sender-side figures){slower}",
            pct(p),
            thousands(c, 1),
            after.profile
        );
        return (text, None);
    }
    let delivers = p >= DELIVERS_PCT && !worse;
    let how = if delivers {
        "delivers what the wire allows"
    } else {
        "falls short of the wire"
    };
    let text = format!(
        "{a} {how}: {mbps} Mbit/s is {} of the {l} ceiling ({} Mbit/s){slower}",
        pct(p),
        thousands(c, 1)
    );
    (text, Some(delivers))
}

/// Compares two labels of the history.
pub fn compare(history: &History, before: &str, after: &str, baseline: f64) -> Result<Comparison, ReportError> {
    let mode = common_mode(history, before, after);
    let (b, bl) = side(history, before, mode.as_deref(), baseline)?;
    let (a, al) = side(history, after, mode.as_deref(), baseline)?;
    let speedup = a.stats.median_mbps / b.stats.median_mbps;
    let worse = is_worse(&b.stats, &a.stats);
    let (verdict, delivers) = verdict(&b.stats, &a.stats, worse);
    let limits = limits(&a);
    Ok(Comparison {
        before: b,
        after: a,
        baseline_mbps: baseline,
        speedup,
        verdict,
        delivers,
        worse,
        latency: LatencyChange::of(&bl[0], &al[0]),
        latency_idle: LatencyChange::of(&bl[1], &al[1]),
        latency_loaded: LatencyChange::of(&bl[2], &al[2]),
        limits,
        png: None,
    })
}

fn profile_text(s: &GroupStats) -> &str {
    if s.profile.is_empty() { "(none)" } else { &s.profile }
}

impl Comparison {
    /// The latency changes measured on both sides, one line each: latency runs ("p50 … → …, p99 … → …"), then
    /// "idle p50 …" and "under load p50 …" from runs made with `client --latency`.
    pub fn latency_lines(&self) -> Vec<String> {
        [
            ("", &self.latency),
            ("idle ", &self.latency_idle),
            ("under load ", &self.latency_loaded),
        ]
        .into_iter()
        .filter_map(|(what, l)| l.as_ref().map(|l| format!("{what}{}", l.text())))
        .collect()
    }

    /// Lines of the human verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let width = |f: fn(&GroupStats) -> &str| {
            [&self.before, &self.after]
                .iter()
                .map(|s| f(&s.stats).chars().count())
                .max()
                .unwrap_or(0)
        };
        let (lw, pw) = (width(|s| &s.label), width(|s| profile_text(s)).max(6));
        let side = |s: &Side| {
            let st = &s.stats;
            let ceiling = match (st.pct_of_ceiling, st.ceiling_mbps, st.link) {
                (Some(p), Some(c), Some(l)) => format!("{} of the {} Mbit/s ceiling ({l})", pct(p), thousands(c, 1)),
                _ => "no ceiling (profile unknown)".into(),
            };
            let mut line = format!(
                "{:<lw$}  {:<pw$}  {:>3} run{} median {:>9} Mbit/s ({}–{})  {ceiling}",
                st.label,
                profile_text(st),
                st.runs,
                if st.runs == 1 { " " } else { "s" },
                thousands(st.median_mbps, 1),
                thousands(st.min_mbps, 1),
                thousands(st.max_mbps, 1)
            );
            if !s.other_profiles.is_empty() {
                line.push_str(&format!(
                    "\n  note: this label also has runs with profile {}; compared: {}",
                    s.other_profiles.join(", "),
                    profile_text(st)
                ));
            }
            line
        };
        out.push_str(&side(&self.before));
        out.push('\n');
        out.push_str(&side(&self.after));
        out.push('\n');
        out.push_str(&format!(
            "Speedup:   {:.2}× ({} → {} Mbit/s, medians); {:.2}× the {} Mbit/s baseline\n",
            self.speedup,
            thousands(self.before.stats.median_mbps, 1),
            thousands(self.after.stats.median_mbps, 1),
            self.after.stats.speedup_vs_baseline,
            thousands(self.baseline_mbps, 2)
        ));
        let lines = self.latency_lines();
        if lines.is_empty() {
            out.push_str("Latency:   not measured for both labels (no latency histograms)\n");
        }
        for line in lines {
            out.push_str(&format!("Latency:   {line}\n"));
        }
        out.push_str(&format!(
            "10 GB:     {} → {} at the medians",
            seconds(self.before.stats.time_10gb_s),
            seconds(self.after.stats.time_10gb_s)
        ));
        if let (Some(b), Some(a)) = (self.before.projection_10gb, self.after.projection_10gb) {
            out.push_str(&format!(
                "; at the ceilings {} → {}; at line rate {} → {}",
                seconds(b.at_ceiling_s),
                seconds(a.at_ceiling_s),
                seconds(b.at_line_rate_s),
                seconds(a.at_line_rate_s)
            ));
        }
        out.push('\n');
        out.push_str(&format!("Verdict:   {}\n", self.verdict));
        out.push_str("Still limiting:\n");
        for l in &self.limits {
            out.push_str(&format!("  - {l}\n"));
        }
        if let Some(p) = &self.png {
            out.push_str(&format!("Chart:     {p}\n"));
        }
        out
    }
}
