//! `saf-net validate HOST --profile PROFILE`: MTU probe, throughput with 1 and N streams, latency, each checked.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode, UsageError, history_target};
use crate::cli::ValidateArgs;
use crate::client::{Event, run, run_latency, run_mtu};
use crate::config::{ClientInput, LatencyInput};
use crate::net::Family;
use crate::output::history::HistoryRow;
use crate::output::{RunMeta, path};
use crate::profile::Profile;
use crate::protocol::LatencyMode;
use crate::report::validate::{Check, all_pass};

pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let profile = Profile::resolve(&args.profile).map_err(|e| UsageError(e.to_string()))?;
    let psk = super::psk(args.psk_file.as_deref())?;
    let family = Family::from_flags(false, false);
    let throughput = |streams: u32| -> Result<crate::config::ClientPlan, UsageError> {
        let mut i = ClientInput::new(args.host.clone());
        i.port = args.port;
        i.time = Some(args.time);
        i.parallel = streams;
        i.interval = 0.0;
        i.expected_mbps = Some(profile.link.line_rate_mbps.round() as u32);
        let mut plan = i.plan().map_err(UsageError)?;
        plan.target.psk = psk.clone();
        Ok(plan)
    };
    let one = throughput(1)?;
    let many = throughput(args.streams)?;
    let mut lat = LatencyInput::new(args.host.clone());
    lat.port = args.port;
    lat.family = family;
    lat.mode = LatencyMode::Udp;
    lat.count = Some(200);
    let mut lat = lat.plan().map_err(UsageError)?;
    lat.target.psk = psk.clone();
    let history = history_target(args.no_history, args.csv.as_ref())?;
    let meta = RunMeta::new(&args.host, args.port, args.label.clone(), Some(profile.name.clone()));

    let rt = super::runtime()?;
    let mut quiet = |_: Event<'_>| {};
    let ceiling = profile.ceiling_mbps();
    let floor = profile.validate.min_ceiling_fraction * ceiling;
    let roof = (1.0 + profile.validate.max_above_ceiling_fraction) * ceiling;
    println!(
        "Validating {} against profile {} ({} Mbit/s, MTU {}; TCP ceiling {ceiling:.1} Mbit/s)",
        args.host, profile.name, profile.link.line_rate_mbps, profile.link.mtu
    );
    let mtu = rt.block_on(run_mtu(
        &one.target,
        Some(profile.link.line_rate_mbps.round() as u32),
        &mut quiet,
    ))?;
    let pmtu = mtu.path.mtu_probe.and_then(|m| m.path_mtu());
    let goodput = |plan: &crate::config::ClientPlan| -> Result<Option<f64>> {
        let o = rt.block_on(run(plan, &mut |_: Event<'_>| {}))?;
        Ok(o.complete().then(|| o.directions()[0].received.rate().mbps()))
    };
    let g1 = goodput(&one)?;
    let gn = goodput(&many)?;
    let rtt = rt.block_on(run_latency(&lat, &mut quiet))?;
    let p99 = (rtt.probe.received > 0).then(|| rtt.probe.rtt.stats().p99_us);
    let checks = vec![
        Check::at_least(
            "path MTU (both ways)",
            pmtu.map(f64::from),
            f64::from(profile.link.mtu),
            "bytes",
        ),
        Check::at_least("goodput, 1 stream", g1, floor, "Mbit/s"),
        Check::at_most("goodput, 1 stream, within the wire", g1, roof, "Mbit/s"),
        Check::at_least(&format!("goodput, {} streams", args.streams), gn, floor, "Mbit/s"),
        Check::at_most("UDP RTT p99", p99, args.max_rtt_p99_us, "µs"),
    ];
    let mut out = String::new();
    for c in &checks {
        out.push_str(&c.line());
        out.push('\n');
    }
    for d in &mtu.path.diagnoses {
        out.push_str(&format!(
            "Warning [{}]: {}\n  what to do: {}\n",
            d.kind, d.message, d.advice
        ));
    }
    let ok = all_pass(&checks);
    out.push_str(if ok {
        "Verdict: PASS, the link delivers what the profile promises\n"
    } else {
        "Verdict: FAIL\n"
    });
    let doc = serde_json::json!({ "checks": checks, "pass": ok, "path": mtu.path, "saf_net": {
        "kind": "validate", "profile": profile.name, "run_id": meta.run_id, "version": env!("CARGO_PKG_VERSION") } });
    let text = if args.json {
        serde_json::to_string_pretty(&doc)? + "\n"
    } else {
        out
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if let Some(p) = history {
        let mut row = HistoryRow {
            streams: 1,
            receiver_mbps: g1.unwrap_or(0.0),
            complete: ok,
            rtt_p99_us: p99,
            ..HistoryRow::for_run("validate", &meta)
        };
        path::fill_row(&mut row, &mtu.path);
        row.diagnoses = checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(";");
        super::record_run(Some(&p), &row, &serde_json::to_string_pretty(&doc)?)?;
    }
    Ok(if ok { EXIT_OK } else { EXIT_DIAGNOSED })
}
