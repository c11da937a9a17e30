//! `saf-net validate HOST --profile PROFILE`: MTU probe, throughput with 1 and N streams, latency, each checked.
//! Progress goes to stderr as each phase starts and ends; the report (text or `-J`) to stdout.

use std::io::Write;
use std::time::Instant;

use anyhow::Result;

use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode, UsageError, history_target};
use crate::cli::ValidateArgs;
use crate::client::Event;
use crate::config::{ClientInput, ClientPlan, LatencyInput, LatencyPlan};
use crate::diagnose::PathReport;
use crate::kinds::{latency, mtu, throughput};
use crate::net::Family;
use crate::output::history::HistoryRow;
use crate::output::{RunMeta, path};
use crate::profile::Profile;
use crate::protocol::LatencyMode;
use crate::report::validate::{Check, all_pass};

/// The validated plans of the four phases.
struct Plans {
    one: ClientPlan,
    many: ClientPlan,
    latency: LatencyPlan,
}

/// What the four phases measured; None where a phase measured nothing.
struct Measured {
    path: PathReport,
    path_mtu: Option<u32>,
    goodput_1: Option<f64>,
    goodput_n: Option<f64>,
    rtt_p99_us: Option<f64>,
}

impl Measured {
    /// Every phase produced its figure: the run is complete, whatever the verdict.
    fn complete(&self) -> bool {
        self.path_mtu.is_some() && self.goodput_1.is_some() && self.goodput_n.is_some() && self.rtt_p99_us.is_some()
    }
}

pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let profile = Profile::resolve(&args.profile).map_err(|e| UsageError(e.to_string()))?;
    let plans = plans(&args, &profile)?;
    let history = history_target(args.no_history, args.csv.as_ref())?;
    let meta = RunMeta::new(&args.host, args.port, args.label.clone(), Some(profile.name.clone()));
    let heading = format!(
        "Validating {} against profile {} ({} Mbit/s, MTU {}; TCP ceiling {:.1} Mbit/s)",
        args.host,
        profile.name,
        profile.link.line_rate_mbps,
        profile.link.mtu,
        profile.ceiling_mbps()
    );
    // With -J, stdout carries the one JSON document only.
    if args.json {
        eprintln!("{heading}");
    } else {
        println!("{heading}");
        let _ = std::io::stdout().flush();
    }
    let m = measure(&args, &profile, &plans)?;
    let checks = checks(&args, &profile, &m);
    let ok = all_pass(&checks);
    let doc = serde_json::json!({ "checks": checks, "pass": ok, "complete": m.complete(), "path": m.path,
        "saf_net": { "kind": "validate", "profile": profile.name, "run_id": meta.run_id,
        "version": env!("CARGO_PKG_VERSION") } });
    let text = if args.json {
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        report_text(&checks, &m.path, ok)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if let Some(p) = history {
        let row = history_row(&meta, &m, &checks);
        super::record_run(Some(&p), &row, &serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(if ok { EXIT_OK } else { EXIT_DIAGNOSED })
}

fn plans(args: &ValidateArgs, profile: &Profile) -> Result<Plans, UsageError> {
    let psk = super::psk(args.psk_file.as_deref()).map_err(|e| UsageError(format!("{e:#}")))?;
    let throughput = |streams: u32| -> Result<ClientPlan, UsageError> {
        let mut i = ClientInput::new(args.host.clone());
        i.port = args.port;
        i.time = Some(args.time);
        i.parallel = streams;
        i.interval = 0.0;
        i.connect_timeout = args.connect.connect_timeout;
        i.expected_mbps = Some(profile.link.line_rate_mbps.round() as u32);
        i.expected_medium = Some(profile.link.medium);
        let mut plan = i.plan().map_err(UsageError)?;
        plan.target.psk = psk.clone();
        Ok(plan)
    };
    let mut lat = LatencyInput::new(args.host.clone());
    lat.port = args.port;
    lat.family = Family::from_flags(false, false);
    lat.connect_timeout = args.connect.connect_timeout;
    lat.mode = LatencyMode::Udp;
    lat.count = Some(200);
    let mut latency = lat.plan().map_err(UsageError)?;
    latency.target.psk = psk.clone();
    Ok(Plans {
        one: throughput(1)?,
        many: throughput(args.streams)?,
        latency,
    })
}

/// One phase's progress on stderr: "[2/4] goodput, 1 stream (5 s) … 941.2 Mbit/s (5.0 s)".
struct Progress {
    started: Instant,
}

impl Progress {
    const STEPS: usize = 4;

    fn start(step: usize, what: &str) -> Progress {
        eprint!("[{step}/{}] {what} … ", Self::STEPS);
        let _ = std::io::stderr().flush();
        Progress {
            started: Instant::now(),
        }
    }

    fn done(self, result: &str) {
        eprintln!("{result} ({:.1} s)", self.started.elapsed().as_secs_f64());
    }
}

fn shown(v: Option<f64>, unit: &str) -> String {
    v.map_or("not measured".into(), |v| format!("{v:.1} {unit}"))
}

fn measure(args: &ValidateArgs, profile: &Profile, plans: &Plans) -> Result<Measured> {
    let rt = super::runtime()?;
    let mut quiet = |_: Event<'_>| {};
    let step = Progress::start(1, "path MTU, both ways");
    let plan = mtu::Plan {
        target: plans.one.target.clone(),
        expected_mbps: Some(profile.link.line_rate_mbps.round() as u32),
        expected_medium: Some(profile.link.medium),
    };
    let mtu = rt.block_on(mtu::run(&plan, &mut super::warn_then(&mut quiet)))?;
    let path_mtu = mtu.path.mtu_probe.as_ref().and_then(|m| m.path_mtu());
    step.done(&shown(path_mtu.map(f64::from), "bytes"));
    let goodput = |plan: &ClientPlan| -> Result<Option<f64>> {
        let o = rt.block_on(throughput::run(plan, &mut |_: Event<'_>| {}))?;
        Ok(o.complete().then(|| o.directions()[0].received.rate().mbps()))
    };
    let step = Progress::start(2, &format!("goodput, 1 stream ({} s)", args.time));
    let goodput_1 = goodput(&plans.one)?;
    step.done(&shown(goodput_1, "Mbit/s"));
    let step = Progress::start(3, &format!("goodput, {} streams ({} s)", args.streams, args.time));
    let goodput_n = goodput(&plans.many)?;
    step.done(&shown(goodput_n, "Mbit/s"));
    let step = Progress::start(4, "UDP round trips (200 probes)");
    let rtt = rt.block_on(latency::run(&plans.latency, &mut quiet))?;
    let rtt_p99_us = (rtt.probe.received > 0).then(|| rtt.probe.rtt.stats().p99_us);
    step.done(&format!("p99 {}", shown(rtt_p99_us, "µs")));
    Ok(Measured {
        path: mtu.path,
        path_mtu,
        goodput_1,
        goodput_n,
        rtt_p99_us,
    })
}

/// Each figure against the profile: at least the floor, and, for both goodputs, no more than the wire carries.
fn checks(args: &ValidateArgs, profile: &Profile, m: &Measured) -> Vec<Check> {
    let ceiling = profile.ceiling_mbps();
    let floor = profile.validate.min_ceiling_fraction * ceiling;
    let roof = (1.0 + profile.validate.max_above_ceiling_fraction) * ceiling;
    let n = args.streams;
    vec![
        Check::at_least(
            "path MTU (both ways)",
            m.path_mtu.map(f64::from),
            f64::from(profile.link.mtu),
            "bytes",
        ),
        Check::at_least("goodput, 1 stream", m.goodput_1, floor, "Mbit/s"),
        Check::at_most("goodput, 1 stream, within the wire", m.goodput_1, roof, "Mbit/s"),
        Check::at_least(&format!("goodput, {n} streams"), m.goodput_n, floor, "Mbit/s"),
        Check::at_most(
            &format!("goodput, {n} streams, within the wire"),
            m.goodput_n,
            roof,
            "Mbit/s",
        ),
        Check::at_most("UDP RTT p99", m.rtt_p99_us, args.max_rtt_p99_us, "µs"),
    ]
}

fn report_text(checks: &[Check], path: &PathReport, ok: bool) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(&c.line());
        out.push('\n');
    }
    for d in &path.diagnoses {
        out.push_str(&format!(
            "Warning [{}]: {}\n  what to do: {}\n",
            d.kind, d.message, d.advice
        ));
    }
    out.push_str(if ok {
        "Verdict: PASS, the link delivers what the profile promises\n"
    } else {
        "Verdict: FAIL\n"
    });
    out
}

/// The history row: complete when every phase measured something; the failed checks in `diagnoses`.
fn history_row(meta: &RunMeta, m: &Measured, checks: &[Check]) -> HistoryRow {
    let mut row = HistoryRow {
        streams: 1,
        receiver_mbps: m.goodput_1.unwrap_or(0.0),
        complete: m.complete(),
        rtt_p99_us: m.rtt_p99_us,
        ..HistoryRow::for_run("validate", meta)
    };
    path::fill_row(&mut row, &m.path);
    row.diagnoses = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    row
}
