//! `saf-net latency HOST`.

use std::io::Write;

use anyhow::{Context, Result};

use super::client::history_path;
use super::{EXIT_INCOMPLETE, EXIT_OK, ExitCode, UsageError};
use crate::cli::{LatencyArgs, ModeArg};
use crate::client::{Event, run_latency};
use crate::config::LatencyInput;
use crate::net::Family;
use crate::output::text::LivePrinter;
use crate::output::{RunMeta, history, latency};
use crate::protocol::LatencyMode;

pub fn latency(args: LatencyArgs) -> Result<ExitCode> {
    let input = LatencyInput {
        host: args.host.clone(),
        port: args.port,
        family: Family::from_flags(args.ipv4, args.ipv6),
        connect_timeout: args.connect_timeout,
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
    plan.target.psk = crate::auth::Psk::resolve(args.psk_file.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let history = history_path(args.no_history, args.csv.as_ref())?;
    let meta = RunMeta::new(&args.host, args.port, args.label.clone(), args.profile.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let outcome = if args.json {
        let mut quiet = |_: Event<'_>| {};
        rt.block_on(run_latency(&plan, &mut quiet))
    } else {
        let mut printer = LivePrinter::for_duration(&args.host, args.port, plan.probe.duration);
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
    if let Some(path) = history {
        history::append(
            &path,
            &latency::history_row(&outcome, &meta),
            &latency::render(&outcome, &meta),
        )
        .context("could not record the run")?;
    }
    Ok(if outcome.probe.error.is_none() {
        EXIT_OK
    } else {
        EXIT_INCOMPLETE
    })
}
