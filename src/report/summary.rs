//! The summary CSV (one row per label and profile) and the Markdown summary that embeds the PNGs.

use serde::Serialize;

use super::charts::{pct, seconds, thousands};
use super::collective::{self, CollectiveRun};
use super::data::History;
use super::groups::{Group, PROJECTED_GB};
use super::mesh::{self, MeshRun};
use crate::model::{self, Framing, Link, tcp_goodput_ceiling_mbps};

/// One row of summary.csv. Empty cells mean "not known" (no ceiling without a known profile).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SummaryRow {
    pub label: String,
    pub profile: String,
    pub line_rate_mbps: Option<f64>,
    pub mtu: Option<u32>,
    pub runs: usize,
    pub median_mbps: f64,
    pub min_mbps: f64,
    pub max_mbps: f64,
    pub ceiling_mbps: Option<f64>,
    pub pct_of_ceiling: Option<f64>,
    pub speedup_vs_baseline: f64,
    pub time_10gb_s: f64,
    pub time_100gb_s: f64,
    pub time_10gb_at_ceiling_s: Option<f64>,
    pub time_10gb_at_line_rate_s: Option<f64>,
    pub time_100gb_at_ceiling_s: Option<f64>,
    pub time_100gb_at_line_rate_s: Option<f64>,
}

fn r(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
}

pub fn rows(groups: &[Group<'_>], baseline: f64) -> Vec<SummaryRow> {
    groups
        .iter()
        .map(|g| {
            let s = g.stats(baseline);
            let p10 = g.link.map(|l| model::project(l, g.framing(), PROJECTED_GB[0]));
            let p100 = g.link.map(|l| model::project(l, g.framing(), PROJECTED_GB[1]));
            SummaryRow {
                label: s.label.clone(),
                profile: s.profile.clone(),
                line_rate_mbps: g.link.map(|l| l.line_rate_mbps),
                mtu: g.link.map(|l| l.mtu),
                runs: s.runs,
                median_mbps: r(s.median_mbps, 3),
                min_mbps: r(s.min_mbps, 3),
                max_mbps: r(s.max_mbps, 3),
                ceiling_mbps: s.ceiling_mbps.map(|c| r(c, 1)),
                pct_of_ceiling: s.pct_of_ceiling.map(|p| r(p, 2)),
                speedup_vs_baseline: r(s.speedup_vs_baseline, 3),
                time_10gb_s: r(s.time_10gb_s, 2),
                time_100gb_s: r(s.time_100gb_s, 2),
                time_10gb_at_ceiling_s: p10.map(|p| r(p.at_ceiling_s, 2)),
                time_10gb_at_line_rate_s: p10.map(|p| r(p.at_line_rate_s, 2)),
                time_100gb_at_ceiling_s: p100.map(|p| r(p.at_ceiling_s, 2)),
                time_100gb_at_line_rate_s: p100.map(|p| r(p.at_line_rate_s, 2)),
            }
        })
        .collect()
}

pub fn csv(rows: &[SummaryRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row).expect("summary rows always serialize");
    }
    if rows.is_empty() {
        // Header only.
        let _ = w.write_record([
            "label",
            "profile",
            "line_rate_mbps",
            "mtu",
            "runs",
            "median_mbps",
            "min_mbps",
            "max_mbps",
            "ceiling_mbps",
            "pct_of_ceiling",
            "speedup_vs_baseline",
            "time_10gb_s",
            "time_100gb_s",
            "time_10gb_at_ceiling_s",
            "time_10gb_at_line_rate_s",
            "time_100gb_at_ceiling_s",
            "time_100gb_at_line_rate_s",
        ]);
    }
    w.into_inner().expect("writing to memory cannot fail")
}

/// What the Markdown needs to know about the charts.
pub struct MarkdownInput<'a> {
    pub history: &'a History,
    pub rows: &'a [SummaryRow],
    pub baseline: f64,
    /// (file name, alt text) of every chart written.
    pub charts: &'a [(String, String)],
    /// Charts not drawn, and why.
    pub skipped: &'a [String],
    /// Every mesh run with its heatmap's file name.
    pub meshes: &'a [(MeshRun, String)],
    /// Every collective run, and (op, file name) of each op's chart.
    pub collectives: &'a [CollectiveRun],
    pub collective_charts: &'a [(String, String)],
    /// The history's warnings and the report's own.
    pub warnings: &'a [String],
}

pub(super) fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A profile name for a Markdown table cell; "(none)" when the run named none.
fn profile_cell(profile: &str) -> String {
    if profile.is_empty() {
        "(none)".into()
    } else {
        md_escape(profile)
    }
}

/// UDP runs, one line each: they are not charted, since the charts hold TCP goodput against TCP ceilings.
fn udp_table(h: &History) -> String {
    let runs: Vec<_> = h.runs.iter().filter_map(|r| Some((r, r.udp.as_ref()?))).collect();
    if runs.is_empty() {
        return String::new();
    }
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".into(), |x| thousands(x, digits));
    let mut o = String::from("## UDP runs\n\n");
    o.push_str(
        "| Label | Profile | Run | Streams | Target per stream | Target in total | Received | Lost | Jitter | Out of order \
         | Duplicates | Datagram |\n",
    );
    o.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for (r, u) in runs {
        let target = u.target_mbps.filter(|&t| t > 0.0);
        let streams = r.streams.filter(|&n| n > 0);
        let (each, total) = match (target, streams) {
            (Some(t), Some(n)) => (thousands(t, 1), thousands(t * f64::from(n), 1)),
            (Some(t), None) => (thousands(t, 1), "-".into()),
            (None, _) => ("as fast as possible".into(), "as fast as possible".into()),
        };
        o.push_str(&format!(
            "| {} | {} | {} | {} | {each} | {total} | {} | {} % | {} ms | {} | {} | {} B |\n",
            md_escape(&r.label),
            profile_cell(&r.profile),
            md_escape(&r.run_id),
            streams.map_or("-".into(), |n| n.to_string()),
            opt(r.receiver_mbps, 1),
            opt(u.lost_percent, 2),
            opt(u.jitter_ms, 4),
            u.out_of_order.map_or("-".into(), |v| v.to_string()),
            u.duplicates.map_or("-".into(), |v| v.to_string()),
            u.datagram_bytes.map_or("-".into(), |v| v.to_string()),
        ));
    }
    o.push_str(
        "\nRates in Mbit/s of datagram payload, as the receiver counted them; lost, jitter (RFC 3550) and order also \
         from the receiver. UDP runs are not in the charts or the per-label table, which compare TCP goodput with \
         TCP ceilings.\n\n",
    );
    o
}

pub fn markdown(m: &MarkdownInput<'_>) -> String {
    let mut o = intro(m);
    if !m.rows.is_empty() {
        o.push_str(&label_table(m));
    }
    o.push_str(&udp_table(m.history));
    for (file, alt) in m.charts {
        o.push_str(&format!("## {alt}\n\n![{alt}]({file})\n\n"));
    }
    for s in m.skipped {
        o.push_str(&format!("{s}\n\n"));
    }
    for (run, file) in m.meshes {
        o.push_str(&mesh::markdown(run, file));
    }
    if !m.collectives.is_empty() {
        o.push_str(&collective::markdown(m.collectives, m.collective_charts));
    }
    o.push_str(&ceilings(m.baseline));
    o.push_str(&volumes());
    if !m.warnings.is_empty() {
        o.push_str("\n## Warnings\n\n");
        for w in m.warnings {
            o.push_str(&format!("- {}\n", md_escape(w)));
        }
    }
    o
}

/// The title and what the report was made from.
fn intro(m: &MarkdownInput<'_>) -> String {
    let runs = m.history.throughput().count();
    let meshes = match m.meshes.len() {
        0 => String::new(),
        1 => " 1 mesh run (its heatmap below).".into(),
        n => format!(" {n} mesh runs (their heatmaps below)."),
    };
    let collectives = match m.collectives.len() {
        0 => String::new(),
        1 => " 1 collective run (below).".into(),
        n => format!(" {n} collective runs (below)."),
    };
    format!(
        "# saf-net report\n\nFrom `{}`: {runs} throughput run{}, labels {}.{meshes}{collectives} Goodput is receiver-side (bytes \
         the receiving application read). Baseline: {} Mbit/s (the old script on 1 GbE). Written by saf-net {}.\n\n",
        m.history.source_names(),
        if runs == 1 { "" } else { "s" },
        m.history.labels_text(),
        thousands(m.baseline, 2),
        env!("CARGO_PKG_VERSION")
    )
}

/// One row per label and profile: the goodput figures against the ceiling and the baseline.
fn label_table(m: &MarkdownInput<'_>) -> String {
    let mut o = String::from("## Per label\n\n");
    o.push_str(
        "| Label | Profile | Link | Runs | Median | Min | Max | Ceiling | % of ceiling | × baseline | 10 GB | 100 GB |\n",
    );
    o.push_str("|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    for r in m.rows {
        let link = match (r.line_rate_mbps, r.mtu) {
            (Some(rate), Some(mtu)) => Link::new(rate, mtu).to_string(),
            _ => "unknown".into(),
        };
        o.push_str(&format!(
            "| {} | {} | {link} | {} | {} | {} | {} | {} | {} | {:.2}× | {} | {} |\n",
            md_escape(&r.label),
            profile_cell(&r.profile),
            r.runs,
            thousands(r.median_mbps, 1),
            thousands(r.min_mbps, 1),
            thousands(r.max_mbps, 1),
            r.ceiling_mbps.map_or("-".into(), |c| thousands(c, 1)),
            r.pct_of_ceiling.map_or("-".into(), pct),
            r.speedup_vs_baseline,
            seconds(r.time_10gb_s),
            seconds(r.time_100gb_s),
        ));
    }
    o.push_str(
        "\nRates in Mbit/s (10⁶ bit/s). Ceiling: TCP goodput ceiling of the row's profile (IPv4, timestamps on); \
         \"-\" where the profile is unknown. 10 GB and 100 GB (10⁹ bytes): time at the median goodput. \
         Every figure is also in `summary.csv`.\n\n",
    );
    o
}

/// The wire-ceiling model's table, and what it says about the baseline.
fn ceilings(baseline: f64) -> String {
    let mut o = String::from("## Wire ceilings (the model)\n\n");
    o.push_str(
        "A frame costs MTU + 38 bytes on the wire and carries MTU − 40 bytes of TCP payload over IPv4, 12 fewer \
         with TCP timestamps (on by default on Linux and macOS).\n\n",
    );
    o.push_str("| Link | MTU | Timestamps | TCP goodput ceiling |\n|---|--:|---|--:|\n");
    for (rate, mtu, ts) in [
        (1000.0, 1500, true),
        (1000.0, 1500, false),
        (10_000.0, 1500, true),
        (10_000.0, 9000, true),
        (10_000.0, 9000, false),
    ] {
        o.push_str(&format!(
            "| {} | {mtu} | {} | {} Mbit/s |\n",
            Link::new(rate, mtu).rate_name(),
            if ts { "on" } else { "off" },
            thousands(tcp_goodput_ceiling_mbps(rate, mtu, ts), 1)
        ));
    }
    let c_on = tcp_goodput_ceiling_mbps(1000.0, 1500, true);
    if baseline > c_on {
        o.push_str(&format!(
            "\nThe {} Mbit/s baseline is above the {} Mbit/s ceiling: it was most likely a sender-side count, or a \
             run with TCP timestamps off (ceiling {} Mbit/s).\n",
            thousands(baseline, 2),
            thousands(c_on, 1),
            thousands(tcp_goodput_ceiling_mbps(1000.0, 1500, false), 1)
        ));
    }
    o
}

/// How long 10 and 100 GB take at line rate and at the TCP ceiling.
fn volumes() -> String {
    let mut o = String::from("\n### Time to move a volume\n\n");
    o.push_str(
        "\"Line rate\" counts every wire bit as payload, as naive plans do; \"TCP ceiling\" is the best a real \
         transfer can do.\n\n",
    );
    o.push_str("| Link | 10 GB at line rate | 10 GB at TCP ceiling | 100 GB at line rate | 100 GB at TCP ceiling |\n");
    o.push_str("|---|--:|--:|--:|--:|\n");
    for l in [
        Link::new(1000.0, 1500),
        Link::new(10_000.0, 1500),
        Link::new(10_000.0, 9000),
    ] {
        let a = model::project(l, Framing::default(), 10.0);
        let b = model::project(l, Framing::default(), 100.0);
        o.push_str(&format!(
            "| {l} | {} | {} | {} | {} |\n",
            seconds(a.at_line_rate_s),
            seconds(a.at_ceiling_s),
            seconds(b.at_line_rate_s),
            seconds(b.at_ceiling_s)
        ));
    }
    o
}
