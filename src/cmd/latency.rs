//! `saf-net latency HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_INCOMPLETE, EXIT_OK, ExitCode, UsageError};
use crate::cli::{LatencyArgs, ModeArg};
use crate::client::Event;
use crate::config::LatencyInput;
use crate::kinds::latency::run as run_latency;
use crate::output::text::LivePrinter;
use crate::output::{RunMeta, latency};
use crate::protocol::LatencyMode;

pub fn latency(args: LatencyArgs) -> Result<ExitCode> {
    let (host, port) = (&args.target.host, args.target.port);
    let input = LatencyInput {
        host: host.clone(),
        port,
        family: args.probe.family(),
        connect_timeout: args.probe.connect.connect_timeout,
        mode: match args.mode {
            ModeArg::Tcp => LatencyMode::Tcp,
            ModeArg::Udp => LatencyMode::Udp,
            ModeArg::Connect => LatencyMode::Connect,
        },
        count: args.count,
        duration: args.duration,
        interval: args.interval,
        rate: args.rate,
        size: args.size,
        timeout: args.timeout,
    };
    let mut plan = input.plan().map_err(UsageError)?;
    plan.target.psk = super::psk(args.probe.psk.psk_file.as_deref())?;
    let history = args.probe.history.target()?;
    let profile = super::profile(args.probe.profile.as_deref())?.map(|p| p.name);
    let meta = RunMeta::new(host, port, args.probe.label.clone(), profile);
    let rt = super::runtime()?;
    let outcome = if args.json {
        let mut quiet = |_: Event<'_>| {};
        rt.block_on(run_latency(&plan, &mut quiet))
    } else {
        let mut printer = LivePrinter::for_duration(host, port, plan.probe.duration);
        let o = rt.block_on(run_latency(&plan, &mut printer));
        printer.finish();
        o
    };
    let outcome = outcome?;
    let text = if args.json {
        latency::render(&outcome, &meta) + "\n"
    } else {
        latency::summary(&outcome)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    super::record_run(
        history.as_deref(),
        &latency::history_row(&outcome, &meta),
        &latency::render(&outcome, &meta),
    )?;
    Ok(if outcome.probe.error.is_none() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    })
}
