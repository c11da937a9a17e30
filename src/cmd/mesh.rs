//! `saf-net mesh NODE…`: gathers and checks the nodes, builds the plan; `--dry-run` prints it. Measuring waits
//! for protocol 3's relay.

use anyhow::{Result, bail};

use super::{EXIT_OK, ExitCode, classified};
use crate::cli::MeshArgs;
use crate::kinds::mesh::measure::Settings;
use crate::kinds::mesh::sources::{Sources, gather};
use crate::kinds::mesh::{Matrix, MeshNode, MeshOutcome, Mode, Plan, concurrent as group_rounds, dry_run};
use crate::runner::Runner;

pub fn mesh(args: MeshArgs) -> Result<ExitCode> {
    let sources = Sources {
        args: &args.nodes,
        file: args.nodes_file.as_deref(),
        ray: args.from_ray.then_some(args.ray_address.as_deref()),
    };
    let found = gather(sources, &mut Runner::execute()).map_err(classified)?;
    for note in &found.notes {
        eprintln!("note: {note}");
    }
    let mut plan = Plan::new(found.nodes, args.time, args.parallel, args.concurrent).map_err(classified)?;
    plan.profile = super::profile(args.profile.as_deref())?;
    plan.check_ports = match (args.check_ports, found.ray_ports) {
        (Some(p), _) => p.0,
        (None, ray) => ray.unwrap_or_default(),
    };
    if matches!(plan.mode, Mode::Concurrent(_)) && !args.dry_run {
        return concurrent(&plan, args.json);
    }
    if !args.dry_run {
        bail!("{}; `saf-net mesh --dry-run …` shows the plan", dry_run::NOT_BUILT);
    }
    let text = if args.json {
        dry_run::json(&plan) + "\n"
    } else {
        dry_run::text(&plan)
    };
    print!("{text}");
    Ok(EXIT_OK)
}

/// `--concurrent PATTERN`: each round of the plan one group session (protocol 3) over the nodes' servers.
fn concurrent(plan: &Plan, json: bool) -> Result<ExitCode> {
    let settings = Settings {
        duration_secs: plan.duration_secs,
        parallel: plan.parallel,
        psk: super::psk(None)?,
        connect_timeout_secs: crate::config::DEFAULT_CONNECT_TIMEOUT_SECS,
    };
    let addrs: Vec<String> = plan.nodes.iter().map(|n| server_addr(&n.host)).collect();
    let nodes = plan.nodes.iter().map(|n| MeshNode {
        name: n.name.clone(),
        host: n.host.clone(),
        link: None,
    });
    let mut matrix = Matrix::new(nodes.collect());
    if let Some(p) = &plan.profile {
        matrix.ceiling_bps = Some(p.ceiling_mbps() * 1e6);
        matrix.line_rate_mbps = Some(p.link.line_rate_mbps);
        matrix.profile_mtu = Some(p.link.mtu);
    }
    let mut progress = |line: String| eprintln!("{line}");
    let ended = super::runtime()?.block_on(group_rounds::run(
        &mut matrix,
        &addrs,
        &settings,
        &plan.rounds(),
        &mut progress,
        async {
            let _ = tokio::signal::ctrl_c().await;
        },
    ));
    let ended = ended.map_err(|e| anyhow::anyhow!(e))?;
    for p in &ended.problems {
        let what = if p.unreachable { "unreachable" } else { "refused" };
        eprintln!("warning: node {} {what}: {}", plan.nodes[p.node].name, p.reason);
    }
    if ended.interrupted {
        eprintln!("interrupted: the rounds already measured are kept");
    }
    let outcome = MeshOutcome::new(matrix, plan);
    let meta = crate::output::RunMeta::new("mesh", crate::config::DEFAULT_PORT, None, outcome.profile.clone());
    if json {
        println!("{}", outcome.json(&meta));
    } else {
        print!("{}", outcome.text());
    }
    Ok(super::exit_code(outcome.verdict()))
}

/// A node's saf-net server as `HOST:PORT` on the default port (an IPv6 address in brackets).
fn server_addr(host: &str) -> String {
    let port = crate::config::DEFAULT_PORT;
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}
