//! Runs a collective: one group session (protocol 3) over the nodes' servers, every node joined by cookie,
//! connected as a ring (every pair too when all-to-all is asked), sweeping the points in order. Each member's
//! points arrive as they end and are kept, so a node that leaves, or Ctrl-C, keeps the sizes already measured;
//! progress lines (with an ETA) go to `progress`.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::eta::Eta;
use super::figures::{Reports, figures};
use super::outcome::Outcome;
use super::plan::Plan;
use crate::client::ClientError;
use crate::client::group::{self, GroupError, GroupPlan, Observed};
use crate::config::Target;
use crate::protocol::{Flow, GroupReply, GroupResults};
use crate::units::short_size;

/// How to reach the nodes.
#[derive(Debug, Clone)]
pub struct Setup {
    pub default_port: u16,
    pub psk: Option<crate::auth::Psk>,
    pub connect_timeout_secs: f64,
}

/// A line about a long point at most this often.
const LONG_POINT_EVERY: Duration = Duration::from_secs(10);

/// Runs `plan`; an error only when a node's address cannot be used at all.
pub async fn run(
    plan: &Plan,
    setup: &Setup,
    progress: &mut dyn FnMut(String),
    interrupt: impl Future<Output = String>,
) -> Result<Outcome, String> {
    let addrs: Vec<String> = plan.nodes.iter().map(|n| n.addr(setup.default_port)).collect();
    let targets = addrs
        .iter()
        .map(|a| Target::node(a, setup.psk.clone(), setup.connect_timeout_secs))
        .collect::<Result<Vec<_>, _>>()?;
    let spec = plan.spec();
    let gplan = GroupPlan {
        members: addrs,
        flows: flows(plan.nodes.len(), spec.all_pairs()),
        streams: 1,
        // Not used by a collective's members: the sweep ends when its points do.
        duration_secs: 1.0,
        collective: Some(spec),
    };
    let mut sweep = Sweep::new(plan);
    progress(format!(
        "collective over {} nodes: {} point(s) ({} × {} size(s)), {} iterations + {} warm-up each, {}",
        plan.nodes.len(),
        sweep.reports.len(),
        plan.ops.len(),
        plan.sizes.len(),
        plan.iters,
        plan.warmup,
        plan.dtype.as_str()
    ));
    let (tx, mut rx) = mpsc::unbounded_channel::<Observed>();
    let why: Arc<Mutex<Option<String>>> = Arc::default();
    let stop = {
        let why = why.clone();
        async move {
            let reason = interrupt.await;
            *why.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason);
        }
    };
    let group = group::run_observed(&targets, &gplan, Some(tx), stop);
    tokio::pin!(group);
    let ended = loop {
        tokio::select! {
            r = &mut group => break r,
            Some((i, reply)) = rx.recv() => sweep.take(i, reply, progress),
        }
    };
    while let Ok((i, reply)) = rx.try_recv() {
        sweep.take(i, reply, progress);
    }
    let why = why.lock().unwrap_or_else(|p| p.into_inner()).take();
    Ok(sweep.finish(plan, ended, why))
}

/// The group's flows: the ring (i → i+1), and every ordered pair when an op needs them.
pub fn flows(n: usize, all_pairs: bool) -> Vec<Flow> {
    let mut out = Vec::new();
    for from in 0..n {
        for to in 0..n {
            let ring = to == (from + 1) % n;
            if from != to && (ring || all_pairs) {
                out.push(Flow {
                    from: from as u32,
                    to: to as u32,
                });
            }
        }
    }
    out
}

/// The points as they arrive, and where the sweep is.
struct Sweep {
    reports: Vec<Reports>,
    n: usize,
    eta: Eta,
    done: usize,
    last_line: Instant,
}

impl Sweep {
    fn new(plan: &Plan) -> Sweep {
        let n = plan.nodes.len();
        let reports: Vec<Reports> = plan
            .points()
            .into_iter()
            .map(|spec| Reports {
                spec,
                ranks: vec![None; n],
            })
            .collect();
        Sweep {
            eta: Eta::new(&reports, n),
            reports,
            n,
            done: 0,
            last_line: Instant::now(),
        }
    }

    /// A member's point or progress.
    fn take(&mut self, member: usize, reply: GroupReply, progress: &mut dyn FnMut(String)) {
        match reply {
            GroupReply::Point(p) => {
                let i = p.point as usize;
                let Some(r) = self.reports.get_mut(i) else { return };
                if let Some(slot) = r.ranks.get_mut(member) {
                    *slot = Some(p);
                }
                if r.ranks.iter().all(Option::is_some) {
                    self.point_done(i, progress);
                }
            }
            GroupReply::Progress { point, iter } if member == 0 => {
                if self.last_line.elapsed() >= LONG_POINT_EVERY
                    && let Some(r) = self.reports.get(point as usize)
                {
                    self.last_line = Instant::now();
                    let all = r.spec.iters + r.spec.warmup;
                    progress(format!(
                        "  {} {}: iteration {iter}/{all}{}",
                        r.spec.op,
                        short_size(r.spec.size_bytes),
                        self.eta.text(point as usize)
                    ));
                }
            }
            _ => {}
        }
    }

    fn point_done(&mut self, i: usize, progress: &mut dyn FnMut(String)) {
        self.done += 1;
        self.last_line = Instant::now();
        let f = figures(&self.reports[i], self.n);
        self.eta.measured(&f);
        let state = match (f.complete, f.verified) {
            (true, true) => "verified".to_string(),
            (true, false) => format!("WRONG RESULT: {}", f.mismatch.clone().unwrap_or_default()),
            (false, _) => format!("incomplete: {}", f.error.clone().unwrap_or_default()),
        };
        let fig = f.busbw_bps.map_or("-".into(), |b| {
            format!(
                "busbw {:.3} Gbit/s, p50 {}",
                b / 1e9,
                super::text::duration(f.time_p50_s.unwrap_or(0.0))
            )
        });
        progress(format!(
            "[{}/{}] {} {}: {fig} ({state}){}",
            self.done,
            self.reports.len(),
            f.op,
            short_size(f.size_bytes),
            self.eta.text(i + 1)
        ));
    }

    /// The outcome: the points that were reported (whole or not) and why the run ended short, if it did.
    fn finish(
        self,
        plan: &Plan,
        ended: Result<Vec<Result<GroupResults, ClientError>>, GroupError>,
        why: Option<String>,
    ) -> Outcome {
        let names: Vec<String> = plan.nodes.iter().map(|n| n.name.clone()).collect();
        let mut problems = Vec::new();
        let mut interrupted = None;
        match ended {
            Ok(results) => {
                for (i, r) in results.iter().enumerate() {
                    match r {
                        Err(e) => problems.push(format!("{}: left the run: {e}", names[i])),
                        Ok(g) => {
                            if let Some(e) = &g.error {
                                problems.push(format!("{}: {}", names[i], name_members(e, &names)));
                            }
                        }
                    }
                }
            }
            Err(GroupError::Join(failed)) => {
                for (i, e) in failed {
                    problems.push(format!("{}: could not join: {}", names[i], join_reason(&e)));
                }
            }
            Err(GroupError::Interrupted) => interrupted = Some(why.unwrap_or_else(|| "interrupted".into())),
        }
        let reported: Vec<Reports> = self
            .reports
            .into_iter()
            .filter(|r| r.ranks.iter().any(Option::is_some))
            .collect();
        Outcome::new(plan, reported, problems, interrupted)
    }
}

/// A refusal's reason as the server gave it, else the error.
fn join_reason(e: &ClientError) -> String {
    match e {
        ClientError::Refused { reason, .. } => format!("refused: {reason}"),
        other => other.to_string(),
    }
}

/// "member 2" in a member's error as the node's name ("member 2 (h3)").
pub fn name_members(text: &str, names: &[String]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("member ") {
        let (before, after) = rest.split_at(at + "member ".len());
        out += before;
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        let (num, tail) = after.split_at(digits);
        out += num;
        if let Some(name) = num.parse::<usize>().ok().and_then(|i| names.get(i)) {
            out += &format!(" ({name})");
        }
        rest = tail;
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_and_all_pairs() {
        let pairs = |f: Vec<Flow>| f.iter().map(|f| (f.from, f.to)).collect::<Vec<_>>();
        assert_eq!(pairs(flows(3, false)), vec![(0, 1), (1, 2), (2, 0)]);
        assert_eq!(pairs(flows(2, false)), vec![(0, 1), (1, 0)]);
        assert_eq!(flows(4, true).len(), 12);
        assert_eq!(
            name_members("receiving from member 1: it closed", &["a".into(), "b".into()]),
            "receiving from member 1 (b): it closed"
        );
        let many: Vec<String> = (0..11).map(|i| format!("n{i}")).collect();
        assert_eq!(
            name_members("member 10 and member 1", &many),
            "member 10 (n10) and member 1 (n1)"
        );
    }
}
