//! Goodput per label: one bar per (label, profile), in separate panels for 1 GbE-class, 10 GbE-class and faster
//! runs, against the 945 Mbit/s baseline and the 1 GbE / 10 GbE ceilings at MTU 1500 and 9000.

use std::path::Path;

use plotters::style::text_anchor::{HPos, VPos};

use super::bars::{self, Bar, BarPanel};
use super::{
    BASELINE, DrawResult, MTU1500, MTU9000, MUTED, RefLine, Root, TS_OFF, bold, color, font, paragraph, text,
    thousands, y_top,
};
use crate::model::{Link, tcp_goodput_ceiling_mbps};
use crate::report::error::ReportError;
use crate::report::groups::{Group, GroupStats};

const TITLE_H: u32 = 92;
const PANEL_H: u32 = 640;
/// A panel's width: room for the axis and the reference labels, plus at least 170 pixels per bar.
const PANEL_W: u32 = 860;
const BAR_W: u32 = 170;
const PANEL_FIXED: u32 = 350;

fn panel_width(bars: usize) -> u32 {
    PANEL_W.max(PANEL_FIXED + BAR_W * bars as u32)
}

/// Which panel a group goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    OneG,
    TenG,
    Faster,
}

impl Class {
    /// By the profile's line rate; for an unknown profile by the measured median, which only picks the panel's
    /// scale and never a ceiling.
    pub fn of(link: Option<Link>, median_mbps: f64) -> Class {
        let rate = link.map_or(median_mbps, |l| l.line_rate_mbps);
        if rate <= 1000.0 {
            Class::OneG
        } else if rate <= 10_000.0 {
            Class::TenG
        } else {
            Class::Faster
        }
    }

    fn title(self) -> &'static str {
        match self {
            Class::OneG => "1 GbE class",
            Class::TenG => "10 GbE class",
            Class::Faster => "Faster than 10 GbE (no wire ceiling applies)",
        }
    }
}

/// The reference lines of a panel.
fn refs(class: Class, baseline: f64) -> Vec<RefLine> {
    let base = RefLine::new(
        baseline,
        format!("{} Mbit/s", thousands(baseline, 2)),
        "old-script baseline",
        BASELINE,
        true,
    );
    let ceiling = |rate: f64, mtu: u32, ts: bool, color, dashed| {
        let c = tcp_goodput_ceiling_mbps(rate, mtu, ts);
        let note = format!(
            "{} ceiling, MTU {mtu}{}",
            Link::new(rate, mtu).rate_name(),
            if ts { "" } else { ", timestamps off" }
        );
        RefLine::new(c, format!("{} Mbit/s", thousands(c, 1)), note, color, dashed)
    };
    match class {
        Class::OneG => vec![
            base,
            ceiling(1000.0, 1500, true, MTU1500, false),
            ceiling(1000.0, 1500, false, TS_OFF, true),
            ceiling(1000.0, 9000, true, MTU9000, false),
        ],
        Class::TenG | Class::Faster => vec![
            base,
            ceiling(10_000.0, 1500, true, MTU1500, false),
            ceiling(10_000.0, 9000, true, MTU9000, false),
        ],
    }
}

/// The panel's y range: the 1 GbE panel is zoomed so lines 3.6 Mbit/s apart stay apart; the 10 GbE panel is
/// scaled by its ceilings; a faster panel by its data.
fn y_range(class: Class, stats: &[GroupStats], refs: &[RefLine]) -> (f64, f64, bool) {
    let data_max = stats.iter().map(|s| s.max_mbps).fold(0.0, f64::max);
    let data_min = stats.iter().map(|s| s.min_mbps).fold(f64::INFINITY, f64::min);
    match class {
        Class::OneG => bars::zoom_range(data_min, data_max, refs),
        Class::TenG => (0.0, y_top(refs.iter().map(|r| r.value).fold(data_max, f64::max)), false),
        Class::Faster => (0.0, y_top(data_max), false),
    }
}

struct Panel<'a> {
    class: Class,
    groups: Vec<(&'a Group<'a>, GroupStats, usize)>,
}

impl Panel<'_> {
    fn stats(&self) -> Vec<GroupStats> {
        self.groups.iter().map(|(_, s, _)| s.clone()).collect()
    }

    fn zoomed(&self, baseline: f64) -> bool {
        y_range(self.class, &self.stats(), &refs(self.class, baseline)).2
    }
}

/// Draws goodput.png.
pub fn draw(path: &Path, groups: &[Group<'_>], baseline: f64, source: &str) -> Result<(), ReportError> {
    let mut panels: Vec<Panel<'_>> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let s = g.stats(baseline);
        let class = Class::of(g.link, s.median_mbps);
        match panels.iter_mut().find(|p| p.class == class) {
            Some(p) => p.groups.push((g, s, i)),
            None => panels.push(Panel {
                class,
                groups: vec![(g, s, i)],
            }),
        }
    }
    panels.sort_by_key(|p| p.class);
    let notes = notes(&panels, groups, baseline);
    let runs: usize = groups.iter().map(|g| g.runs.len()).sum();
    let widths: Vec<u32> = panels.iter().map(|p| panel_width(p.groups.len())).collect();
    let width = 40 + widths.iter().sum::<u32>().max(PANEL_W);
    let note_h: u32 = notes
        .iter()
        .map(|n| super::canvas::line_count(n, 16.0, false, width - 60) * 22 + 4)
        .sum();
    let sub_lines = super::canvas::line_count(&subtitle(runs, source), 16.0, false, width - 48);
    let title_h = TITLE_H + (sub_lines.max(1) - 1) * 20;
    let height = title_h + PANEL_H + 20 + note_h + 24;
    super::render(path, (width, height), |root| {
        text(
            root,
            "Receiver goodput per label, against the wire's TCP ceiling",
            (24, 18),
            &bold(28.0),
            HPos::Left,
            VPos::Top,
        )?;
        paragraph(
            root,
            &subtitle(runs, source),
            (24, 56),
            &font(16.0).color(&MUTED),
            width - 48,
            20,
        )?;
        let body = root.margin(title_h, 0, 20, 20);
        let (panels_area, notes_area) = body.split_vertically(PANEL_H);
        let mut rest = panels_area;
        for (panel, w) in panels.iter().zip(&widths) {
            let (area, next) = rest.split_horizontally(*w);
            draw_panel(root, &area, panel, baseline)?;
            rest = next;
        }
        let (_, ny) = notes_area.get_base_pixel();
        let mut y = ny + 20;
        for n in &notes {
            y = paragraph(root, n, (24, y), &font(16.0), width - 60, 22)? + 4;
        }
        Ok(())
    })
}

fn subtitle(runs: usize, source: &str) -> String {
    format!(
        "{runs} throughput run{} from {source}. Bar: median of the runs; whisker: lowest to highest run; dots: single \
         runs. Ceilings: TCP payload over IPv4 with timestamps on.",
        if runs == 1 { "" } else { "s" }
    )
}

fn notes(panels: &[Panel<'_>], groups: &[Group<'_>], baseline: f64) -> Vec<String> {
    let c_on = tcp_goodput_ceiling_mbps(1000.0, 1500, true);
    let c_off = tcp_goodput_ceiling_mbps(1000.0, 1500, false);
    let mut notes = Vec::new();
    if baseline > c_on {
        let excess = baseline - c_on;
        notes.push(format!(
            "Why the {} Mbit/s baseline is above the {} Mbit/s ceiling: no receiver can read more TCP payload than that \
             from 1 GbE at MTU 1500 with TCP timestamps (on by default on Linux and macOS). The old script most likely \
             counted on the sender (bytes still in socket buffers when its clock stopped: {} Mbit/s over 10 s is about {:.1} MB), \
             or ran with timestamps off, where the ceiling is {} Mbit/s. saf-net's bars are receiver-side counts.",
            thousands(baseline, 2),
            thousands(c_on, 1),
            thousands(excess, 1),
            excess * 10.0 / 8.0,
            thousands(c_off, 1)
        ));
    }
    if panels.iter().any(|p| p.class == Class::OneG && p.zoomed(baseline)) {
        notes.push(
            "The 1 GbE panel's y axis does not start at 0, so that lines a few Mbit/s apart stay apart; \
             its bars start at the bottom of that axis."
                .into(),
        );
    }
    let unknown: Vec<String> = groups
        .iter()
        .filter(|g| g.link.is_none())
        .map(|g| {
            if g.profile.is_empty() {
                "(none)".to_string()
            } else {
                format!("\"{}\"", g.profile)
            }
        })
        .collect();
    if !unknown.is_empty() {
        let mut u = unknown.clone();
        u.dedup();
        notes.push(format!(
            "No ceiling for runs with profile {}: the known link profiles are {}, so those bars show no % of ceiling.",
            u.join(", "),
            crate::report::links::known_profiles().join(", ")
        ));
    }
    notes
}

fn draw_panel(root: &Root<'_>, area: &Root<'_>, panel: &Panel<'_>, baseline: f64) -> DrawResult {
    let stats = panel.stats();
    let mut refs = refs(panel.class, baseline);
    let (lo, hi, zoomed) = y_range(panel.class, &stats, &refs);
    refs.retain(|r| r.value <= hi);
    let caption = if zoomed {
        format!("{} (y axis from {} Mbit/s)", panel.class.title(), thousands(lo, 0))
    } else {
        panel.class.title().to_string()
    };
    let bars: Vec<Bar> = panel
        .groups
        .iter()
        .map(|(g, s, i)| Bar::new(s, g.goodputs(), color(*i)))
        .collect();
    bars::draw(
        root,
        area,
        &BarPanel {
            caption,
            bars: &bars,
            refs: &refs,
            y: (lo, hi),
        },
    )
}
