//! `saf-net client HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_INCOMPLETE, EXIT_OK, ExitCode, UsageError};
use crate::cli::ClientArgs;
use crate::client::{ClientError, Event};
use crate::config::ClientInput;
use crate::kinds::throughput::{self, Outcome};
use crate::net::Family;
use crate::output::history::HistoryRow;
use crate::output::text::{LivePrinter, summary};
use crate::output::{RunMeta, json};
use crate::profile::Profile;
use crate::protocol::Protocol;

fn input(args: &ClientArgs) -> ClientInput {
    ClientInput {
        host: args.host.clone(),
        port: args.port,
        time: args.time,
        bytes: args.bytes,
        parallel: args.parallel,
        reverse: args.reverse,
        bidir: args.bidir,
        interval: args.interval,
        omit: args.omit,
        length: args.length,
        window: args.window,
        family: Family::from_flags(args.ipv4, args.ipv6),
        connect_timeout: args.connect.connect_timeout,
        mss: args.mss,
        congestion: args.congestion.clone(),
        fq_rate: args.fq_rate,
        bitrate: args.bitrate,
        latency: args.latency,
        protocol: if args.udp { Protocol::Udp } else { Protocol::Tcp },
        mtu_check: !args.no_mtu_check,
        expected_mbps: None,
        expected_medium: None,
        affinity: args.affinity,
        skip_rx_copy: args.skip_rx_copy,
    }
}

/// Records a throughput run in the history at `path`, if any.
pub(super) fn record(path: Option<&std::path::Path>, o: &Outcome, meta: &RunMeta) -> Result<()> {
    super::record_run(path, &HistoryRow::throughput(o, meta), &json::render(o, meta))
}

/// The MTU the run really had: the profile's, unless an interface at either end is smaller (then that one, named).
fn effective_mtu(o: &Outcome, p: &Profile) -> (u32, Option<String>) {
    let ends = [Some(&o.path.local), o.path.remote.as_ref()];
    let smallest = ends
        .into_iter()
        .flatten()
        .filter_map(|f| {
            f.mtu
                .map(|m| (m, f.interface.clone().unwrap_or_else(|| "an interface".into())))
        })
        .filter(|(m, _)| *m < p.link.mtu)
        .min_by_key(|(m, _)| *m);
    match smallest {
        Some((m, iface)) => (m, Some(format!("MTU {m} on {iface}, not the profile's {}", p.link.mtu))),
        None => (p.link.mtu, None),
    }
}

/// The receiver goodput of each direction as a share of the TCP goodput ceiling of the profile's link at the MTU
/// the run really had.
fn ceiling_lines(o: &Outcome, p: &Profile) -> String {
    let (mtu, smaller) = effective_mtu(o, p);
    let ceiling = crate::model::tcp_goodput_ceiling_mbps(p.link.line_rate_mbps, mtu, p.validate.tcp_timestamps);
    let ts = if p.validate.tcp_timestamps { "on" } else { "off" };
    let mtu_text = smaller.unwrap_or_else(|| format!("MTU {mtu}"));
    let mut out = String::new();
    for d in o.directions() {
        let mbps = d.received.rate().mbps();
        let share = 100.0 * mbps / ceiling;
        let flag = if mbps > ceiling * (1.0 + p.validate.max_above_ceiling_fraction) {
            "; above what this link can carry: is the profile right?"
        } else {
            ""
        };
        out += &format!(
            "Profile {}: receiver goodput, {}: {mbps:.2} Mbit/s = {share:.2} % of the {ceiling:.1} Mbit/s TCP ceiling \
({} Mbit/s, {mtu_text}, timestamps {ts}){flag}\n",
            p.name,
            d.label(),
            p.link.line_rate_mbps,
        );
    }
    out
}

/// A test that never started: the -J document says why; a signal exits 3 like any interrupted test.
fn failed(e: ClientError, json: bool) -> Result<ExitCode> {
    let interrupted = matches!(e, ClientError::Interrupted { .. });
    if json {
        let mut doc = serde_json::json!({ "start": {}, "intervals": [], "end": {}, "error": e.to_string() });
        if interrupted {
            doc["saf_net"] = serde_json::json!({ "complete": false });
        }
        println!("{doc}");
    }
    if interrupted {
        eprintln!("error: {e}");
        return Ok(EXIT_INCOMPLETE);
    }
    Err(e.into())
}

pub fn client(args: ClientArgs) -> Result<ExitCode> {
    let mut plan = input(&args).plan().map_err(UsageError)?;
    plan.target.psk = super::psk(args.psk.psk_file.as_deref())?;
    let profile = super::profile(args.profile.as_deref())?;
    plan.expected_mbps = profile.as_ref().map(|p| p.link.line_rate_mbps.round() as u32);
    plan.expected_medium = profile.as_ref().map(|p| p.link.medium);
    let history_path = args.history.target()?;
    let profile_name = profile.as_ref().map(|p| p.name.clone());
    let meta = RunMeta::new(&args.host, args.port, args.label.clone(), profile_name);
    let rt = super::runtime()?;
    let outcome = if args.json {
        let mut quiet = |_: Event<'_>| {};
        rt.block_on(async {
            throughput::run_until(
                &plan,
                &mut super::warn_then(&mut quiet),
                super::signals::stop_signals(true),
            )
            .await
        })
    } else {
        let mut printer = LivePrinter::new(
            &plan.request,
            &args.host,
            args.port,
            plan.request.interval_seconds > 0.0,
        );
        let o = rt.block_on(async {
            throughput::run_until(
                &plan,
                &mut super::warn_then(&mut printer),
                super::signals::stop_signals(true),
            )
            .await
        });
        printer.finish();
        o
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return failed(e, args.json),
    };
    // A closed stdout must not cost the history row, so write errors are ignored here.
    let text = if args.json {
        json::render(&outcome, &meta) + "\n"
    } else {
        summary(&outcome) + &profile.as_ref().map(|p| ceiling_lines(&outcome, p)).unwrap_or_default()
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    record(history_path.as_deref(), &outcome, &meta)?;
    Ok(if outcome.complete() { EXIT_OK } else { EXIT_INCOMPLETE })
}
