//! `saf-net mesh NODE…`: gathers and checks the nodes, builds the plan, runs it (or prints it with `--dry-run`),
//! prints the outcome, records it, and maps its verdict to the exit code.

use anyhow::{Context, Result, anyhow};

use super::{EXIT_OK, ExitCode, classified};
use crate::cli::MeshArgs;
use crate::kinds::mesh::measure::Settings;
use crate::kinds::mesh::run::{Setup, run};
use crate::kinds::mesh::sources::gather;
use crate::kinds::mesh::{Plan, dry_run};
use crate::output::RunMeta;
use crate::runner::Runner;

pub fn mesh(args: MeshArgs) -> Result<ExitCode> {
    let plan = plan(&args)?;
    if args.dry_run {
        print!("{}", dry_run_text(&plan, args.json));
        return Ok(EXIT_OK);
    }
    let history = args.history.target()?;
    let setup = Setup {
        default_port: args.port,
        settings: Settings {
            duration_secs: plan.duration_secs,
            parallel: plan.parallel,
            psk: super::psk(args.psk.psk_file.as_deref())?,
            connect_timeout_secs: args.connect.connect_timeout,
        },
    };
    let rt = super::runtime()?;
    let finished = rt
        .block_on(async {
            let interrupt = super::signals::stop_signals(false);
            run(&plan, &setup, &mut |line| eprintln!("{line}"), interrupt).await
        })
        .map_err(|e| anyhow!(e))?;
    if let Some(why) = &finished.interrupted {
        eprintln!("{why}: the pairs already measured are kept, the others are incomplete");
    }
    let outcome = finished.outcome;
    let mut meta = RunMeta::new("mesh", args.port, args.label.clone(), outcome.profile.clone());
    if let Some(p) = &plan.profile {
        meta = meta.judged_by(p);
    }
    let text = if args.json {
        outcome.json(&meta) + "\n"
    } else {
        outcome.text()
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    if let Some(csv) = history {
        outcome.record(&csv, &meta).context("could not record the mesh")?;
    }
    Ok(super::exit_code(outcome.verdict()))
}

/// The nodes (arguments, file, Ray) and the checked plan; notes about the sources go to stderr.
fn plan(args: &MeshArgs) -> Result<Plan> {
    let sources = args.more.with(&args.nodes);
    let found = gather(sources, &mut Runner::execute()).map_err(classified)?;
    for note in &found.notes {
        eprintln!("note: {note}");
    }
    let mut plan = Plan::new(found.nodes, args.time, args.parallel, args.concurrent.clone()).map_err(classified)?;
    plan.profile = super::profile(args.profile.as_deref())?;
    plan.check_ports = match (&args.check_ports, found.ray_ports) {
        (Some(p), _) => p.0.clone(),
        (None, ray) => ray.unwrap_or_default(),
    };
    Ok(plan)
}

fn dry_run_text(plan: &Plan, json: bool) -> String {
    if json {
        dry_run::json(plan) + "\n"
    } else {
        dry_run::text(plan)
    }
}
