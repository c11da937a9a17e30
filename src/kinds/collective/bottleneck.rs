//! Which node or link holds the collective back. In a pipelined ring every rank forwards what it receives, so
//! a slow link shows as its sender blocked in writes (a full socket buffer) while the senders after it wait for
//! data instead. The busy links of the largest complete point, when they are few and clearly busier than the
//! rest, name the bottleneck: the node they all touch, else the one link. Equally busy links name nothing: the
//! links share the work evenly, and the figure is theirs. A point shorter than a second names nothing either.

use super::figures::{PointFigures, Reports};
use crate::findings::{Finding, FindingKind};

/// A link at least this busy (share of the point's time its sender was blocked) may be a bottleneck.
const MIN_BUSY: f64 = 0.30;
/// A link this close to the busiest counts among the busy ones.
const NEAR_BUSIEST: f64 = 0.60;
/// The others must be at most this share of the least busy busy link.
const OTHERS_BELOW: f64 = 0.50;
/// A point's timed iterations must last this long (seconds, slowest rank each) for its links to say anything:
/// in milliseconds one descheduled receiver makes its sender look blocked.
const MIN_TIMED_SECS: f64 = 1.0;

/// One outgoing link over a point's timed iterations.
#[derive(Debug, Clone, PartialEq)]
pub struct Busy {
    pub from: usize,
    pub to: usize,
    /// Share of the sender's timed seconds spent blocked in writes.
    pub share: f64,
}

/// The links of `r` and how busy each was.
pub fn busy_links(r: &Reports) -> Vec<Busy> {
    let mut out = Vec::new();
    for (from, p) in r.ranks.iter().enumerate() {
        let Some(p) = p else { continue };
        let total: f64 = p.times_s.iter().sum();
        if total <= 0.0 {
            continue;
        }
        for l in &p.links {
            out.push(Busy {
                from,
                to: l.to as usize,
                share: (l.send_blocked_s / total).min(1.0),
            });
        }
    }
    out
}

/// The bottleneck of the run: looked for in the largest point that ran whole, verified, and long enough.
pub fn find(points: &[(Reports, PointFigures)], names: &[String], ceiling_bps: Option<f64>) -> Option<Finding> {
    let (r, f) = points
        .iter()
        .filter(|(_, f)| f.judged_busbw().is_some())
        .max_by_key(|(_, f)| f.size_bytes)?;
    if f.time_p50_s.unwrap_or(0.0) * f64::from(f.iters) < MIN_TIMED_SECS {
        return None;
    }
    let links = busy_links(r);
    let slow = slow_links(&links)?;
    let subject = subject(&slow, names)?;
    let busy = slow.iter().map(|l| l.share).fold(f64::NAN, f64::min);
    let rest = links
        .iter()
        .filter(|l| !slow.contains(l))
        .map(|l| l.share)
        .fold(0.0, f64::max);
    let named: Vec<String> = slow
        .iter()
        .map(|l| format!("{}->{}", names[l.from], names[l.to]))
        .collect();
    let ceiling = ceiling_bps.map_or(String::new(), |c| format!(" (ceiling {:.1} Mbit/s)", c / 1e6));
    let text = format!(
        "the ring's {} link(s) {} were busy sending {:.0} % of the time or more while the others were at most {:.0} %: \
         {} at {} runs at busbw {:.1} Mbit/s{ceiling}, this link's rate",
        slow.len(),
        named.join(", "),
        busy * 100.0,
        rest * 100.0,
        f.op,
        crate::units::short_size(f.size_bytes),
        f.judged_busbw().unwrap_or(0.0) / 1e6,
    );
    let fix = format!(
        "check {subject}'s port speed, cable and switch port; `saf-net mesh` measures each of its pairs, `saf-net \
         doctor` what limits a link"
    );
    Some(Finding::new(FindingKind::CollectiveBottleneck, subject, text, fix))
}

/// The busy links, when some links are clearly busier than all the others.
fn slow_links(links: &[Busy]) -> Option<Vec<Busy>> {
    let busiest = links.iter().map(|l| l.share).fold(0.0, f64::max);
    if busiest < MIN_BUSY {
        return None;
    }
    let (slow, others): (Vec<Busy>, Vec<Busy>) = links.iter().cloned().partition(|l| l.share >= busiest * NEAR_BUSIEST);
    let least_slow = slow.iter().map(|l| l.share).fold(f64::NAN, f64::min);
    let most_other = others.iter().map(|l| l.share).fold(0.0, f64::max);
    (!others.is_empty() && most_other <= least_slow * OTHERS_BELOW).then_some(slow)
}

/// The node every slow link touches, else the one slow link; None for several links with no node in common.
fn subject(slow: &[Busy], names: &[String]) -> Option<String> {
    if let [one] = slow {
        // One link: both ends are suspects unless the others' links say more; the pair names it.
        return Some(format!("{}->{}", names[one.from], names[one.to]));
    }
    let touches = |n: usize| slow.iter().all(|l| l.from == n || l.to == n);
    (0..names.len()).find(|&n| touches(n)).map(|n| names[n].clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::collective::figures::figures;
    use crate::protocol::{CollOp, LinkTime, PointResult, PointSpec};

    /// A 4-rank ring whose link i->i+1 was blocked `shares[i]` of 1 s.
    fn ring(shares: &[f64]) -> Vec<(Reports, PointFigures)> {
        let n = shares.len();
        let r = Reports {
            spec: PointSpec {
                op: CollOp::Allreduce,
                size_bytes: 256 << 20,
                iters: 1,
                warmup: 0,
            },
            ranks: shares
                .iter()
                .enumerate()
                .map(|(i, &s)| {
                    Some(PointResult {
                        times_s: vec![1.0],
                        verified: true,
                        links: vec![LinkTime {
                            to: ((i + 1) % n) as u32,
                            bytes: 1,
                            send_blocked_s: s,
                        }],
                        ..PointResult::default()
                    })
                })
                .collect(),
        };
        let f = figures(&r, n);
        vec![(r, f)]
    }

    fn names() -> Vec<String> {
        ["h1", "h2", "h3", "h4"].map(String::from).to_vec()
    }

    #[test]
    fn a_slow_host_is_the_node_its_two_busy_links_touch() {
        let f = find(&ring(&[0.92, 0.88, 0.05, 0.03]), &names(), Some(941.5e6)).unwrap();
        assert_eq!((f.kind.as_str(), f.subject.as_str()), ("collective_bottleneck", "h2"));
        assert!(f.text.contains("h1->h2, h2->h3"), "{}", f.text);
    }

    #[test]
    fn one_busy_link_is_named_as_a_pair_and_even_links_name_nothing() {
        let f = find(&ring(&[0.05, 0.04, 0.9, 0.03]), &names(), None).unwrap();
        assert_eq!(f.subject, "h3->h4");
        assert_eq!(find(&ring(&[0.8, 0.75, 0.82, 0.7]), &names(), None), None);
        assert_eq!(
            find(&ring(&[0.1, 0.05, 0.2, 0.1]), &names(), None),
            None,
            "no link is busy"
        );
        // Two busy links with no node in common: no single culprit.
        assert_eq!(find(&ring(&[0.9, 0.05, 0.9, 0.05]), &names(), None), None);
    }

    #[test]
    fn a_point_of_milliseconds_names_nothing() {
        let mut points = ring(&[0.92, 0.88, 0.05, 0.03]);
        points[0].1.time_p50_s = Some(0.0025);
        assert_eq!(find(&points, &names(), None), None, "scheduling noise, not a link");
    }
}
