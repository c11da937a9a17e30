//! `saf-net mesh NODE…`: gathers and checks the nodes, builds the plan; `--dry-run` prints it. Measuring waits
//! for protocol 3's relay.

use anyhow::{Result, bail};

use super::{EXIT_OK, ExitCode, classified};
use crate::cli::MeshArgs;
use crate::kinds::mesh::sources::{Sources, gather};
use crate::kinds::mesh::{Plan, dry_run};
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
