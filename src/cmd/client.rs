//! `saf-net client HOST`.

use anyhow::Result;

use super::{EXIT_INCOMPLETE, ExitCode, UsageError};
use crate::cli::ClientArgs;
use crate::client::ClientError;
use crate::config::ClientInput;
use crate::kinds::iperf3;
use crate::kinds::throughput::{self, LivePrinter};
use crate::net::Family;
use crate::output::RunMeta;
use crate::output::text::Live;
use crate::protocol::Protocol;

/// The port: `-p` (or `$SAF_NET_PORT`), else saf-net's, or iperf3's with `--iperf3`.
pub(super) fn port(args: &ClientArgs) -> u16 {
    match (args.port, args.iperf3) {
        (Some(p), _) => p,
        (None, true) => crate::protocol::iperf3::DEFAULT_PORT,
        (None, false) => crate::config::DEFAULT_PORT,
    }
}

pub(super) fn input(args: &ClientArgs) -> ClientInput {
    ClientInput {
        host: args.host.clone(),
        port: port(args),
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
        bind: args.bind,
    }
}

/// A test that never started: the -J document says why; a signal exits 3 like any interrupted test.
fn failed(e: ClientError, json: bool) -> Result<ExitCode> {
    if json {
        println!("{}", throughput::not_started(&e));
    }
    if matches!(e, ClientError::Interrupted { .. }) {
        eprintln!("error: {e}");
        return Ok(EXIT_INCOMPLETE);
    }
    Err(e.into())
}

pub fn client(args: ClientArgs) -> Result<ExitCode> {
    let input = input(&args);
    if args.iperf3 {
        iperf3::check(&input, args.psk.psk_file.is_some()).map_err(UsageError)?;
    }
    let mut plan = input.plan().map_err(UsageError)?;
    if !args.iperf3 {
        plan.target.psk = super::psk(args.psk.psk_file.as_deref())?;
    }
    let profile = super::profile(args.profile.as_deref())?;
    plan.expected_mbps = profile.as_ref().map(|p| p.link.line_rate_mbps.round() as u32);
    plan.expected_medium = profile.as_ref().map(|p| p.link.medium);
    let history_path = args.history.target()?;
    let port = plan.target.port;
    let mut meta = RunMeta::new(&args.host, port, args.label.clone(), None);
    if let Some(p) = &profile {
        meta = meta.judged_by(p);
    }
    let intervals = plan.request.interval_seconds > 0.0;
    let mut printer = (!args.json).then(|| LivePrinter::new(&plan.request, &args.host, port, intervals));
    let outcome = super::run_shown(printer.as_mut().map(|p| p as &mut dyn Live), async |obs| {
        let stop = super::signals::stop_signals(true);
        if args.iperf3 {
            iperf3::run_until(&plan, obs, stop).await
        } else {
            throughput::run_until(&plan, obs, stop).await
        }
    })?;
    match outcome {
        Ok(o) => super::emit(&o, &meta, args.json, history_path.as_deref()),
        Err(e) => failed(e, args.json),
    }
}
