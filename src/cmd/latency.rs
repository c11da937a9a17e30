//! `saf-net latency HOST`.

use anyhow::Result;

use super::{ExitCode, UsageError};
use crate::cli::{LatencyArgs, ModeArg};
use crate::config::LatencyInput;
use crate::kinds::latency;
use crate::output::RunMeta;
use crate::output::text::{Live, Progress};
use crate::protocol::LatencyMode;

fn input(args: &LatencyArgs) -> LatencyInput {
    LatencyInput {
        host: args.target.host.clone(),
        port: args.target.port,
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
        no_slot: args.no_slot,
        busy_poll_us: args.busy_poll,
    }
}

pub fn latency(args: LatencyArgs) -> Result<ExitCode> {
    let (host, port) = (&args.target.host, args.target.port);
    let mut plan = input(&args).plan().map_err(UsageError)?;
    plan.target.psk = super::psk(args.probe.psk.psk_file.as_deref())?;
    let history = args.probe.history.target()?;
    let profile = super::profile(args.probe.profile.as_deref())?.map(|p| p.name);
    let meta = RunMeta::new(host, port, args.probe.label.clone(), profile);
    let mut printer = (!args.json).then(|| Progress::for_duration(host, port, plan.probe.duration));
    let outcome = super::run_shown(printer.as_mut().map(|p| p as &mut dyn Live), async |obs| {
        latency::run(&plan, obs).await
    })??;
    super::emit(&outcome, &meta, args.json, history.as_deref())
}
