//! `saf-net collective NODE…`: gathers the nodes, checks the plan, runs it, prints the outcome, records it, and
//! maps it to the exit code (a wrong result fails the run).

use anyhow::{Context, Result, anyhow};

use super::{ExitCode, classified};
use crate::cli::CollectiveArgs;
use crate::kinds::collective::plan::{DEFAULT_MAX, DEFAULT_MIN};
use crate::kinds::collective::run::{Setup, run};
use crate::kinds::collective::{Asked, Plan, Sizes};
use crate::kinds::mesh::sources::gather_at_least;
use crate::output::RunMeta;
use crate::runner::Runner;

/// A node's result differed from the closed form: the run fails.
pub const EXIT_WRONG_RESULT: ExitCode = 1;

pub fn collective(args: CollectiveArgs) -> Result<ExitCode> {
    let plan = plan(&args)?;
    let history = args.history.target()?;
    let setup = Setup {
        default_port: args.port,
        psk: super::psk(args.psk.psk_file.as_deref())?,
        connect_timeout_secs: args.connect.connect_timeout,
    };
    let rt = super::runtime()?;
    let outcome = rt
        .block_on(async {
            let interrupt = super::signals::stop_signals(false);
            run(&plan, &setup, &mut |line| eprintln!("{line}"), interrupt).await
        })
        .map_err(|e| anyhow!(e))?;
    let meta = RunMeta::new("collective", args.port, args.label.clone(), outcome.profile.clone());
    let text = if args.json {
        outcome.json(&meta) + "\n"
    } else {
        outcome.text()
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
    if let Some(csv) = history {
        outcome.record(&csv, &meta).context("could not record the collective")?;
    }
    if let Some(line) = outcome.failure() {
        eprintln!("saf-net: error: {line}");
        return Ok(EXIT_WRONG_RESULT);
    }
    Ok(super::exit_code(outcome.verdict()))
}

/// The nodes (arguments, file, Ray) and the checked plan; notes about the sources go to stderr.
fn plan(args: &CollectiveArgs) -> Result<Plan> {
    let found = gather_at_least(args.more.with(&args.nodes), &mut Runner::execute(), 0).map_err(classified)?;
    for note in &found.notes {
        eprintln!("note: {note}");
    }
    let sizes = match &args.sizes {
        Some(list) => Sizes::List(list.clone()),
        None => Sizes::Sweep {
            min: args.min.unwrap_or(DEFAULT_MIN),
            max: args.max.unwrap_or(DEFAULT_MAX),
        },
    };
    let asked = Asked {
        ops: args.ops.clone(),
        sizes,
        iters: args.iters,
        warmup: args.warmup,
        dtype: args.dtype,
        algo: args.algo,
    };
    let mut plan = Plan::new(found.nodes, asked).map_err(classified)?;
    plan.profile = super::profile(args.profile.as_deref())?;
    Ok(plan)
}
