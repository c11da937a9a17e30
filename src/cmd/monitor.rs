//! `saf-net monitor`: the peers (arguments, `--nodes`, Ray), the checked plan, the endpoint bound, then the
//! schedule until a stop signal.

use std::sync::Arc;

use anyhow::Result;

use super::signals::stop_signals;
use super::{EXIT_OK, ExitCode, UsageError, classified};
use crate::cli::MonitorArgs;
use crate::kinds::mesh::sources::gather_at_least;
use crate::kinds::monitor::{self, MonitorInput, State, SystemClock};
use crate::runner::Runner;

pub fn monitor(args: MonitorArgs) -> Result<ExitCode> {
    let input = input(&args)?;
    let plan = input.plan().map_err(UsageError)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let stop = stop_signals(false);
        let listener = crate::exporter::bind(plan.listen, "--listen").await?;
        eprintln!(
            "monitor: watching {} peer(s) ({}), profile {}, budget {}; metrics at http://{}/metrics",
            plan.peers.len(),
            plan.peers
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            plan.profile.as_ref().map_or("none", |p| p.name.as_str()),
            plan.budget.describe(),
            listener.local_addr().unwrap_or(plan.listen)
        );
        let state = Arc::new(State::new(plan, Arc::new(SystemClock)));
        monitor::run(state, listener, async move {
            let why = stop.await;
            eprintln!("monitor: {why}; stopping");
        })
        .await;
        Ok(EXIT_OK)
    })
}

/// The raw settings, with the peers from every source (notes about them on stderr).
fn input(args: &MonitorArgs) -> Result<MonitorInput> {
    let sources = args.more.with(&args.peers);
    let found = gather_at_least(sources, &mut Runner::execute(), 0).map_err(classified)?;
    for note in &found.notes {
        eprintln!("note: {note}");
    }
    Ok(MonitorInput {
        nodes: found.nodes,
        port: args.port,
        psk: super::psk(args.psk.psk_file.as_deref())?,
        profile: super::profile(args.profile.as_deref())?,
        rtt_every: args.rtt_every.clone(),
        facts_every: args.facts_every.clone(),
        mtu_every: args.mtu_every.clone(),
        throughput_every: args.throughput_every.clone(),
        throughput_seconds: args.throughput_seconds,
        throughput_streams: args.throughput_streams,
        budget: args.budget.clone(),
        listen: args.listen.clone(),
        connect_timeout: args.connect.connect_timeout,
    })
}
