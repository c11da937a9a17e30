//! `saf-net validate HOST --profile PROFILE`. Progress goes to stderr as each phase starts and ends; the report
//! (text or `-J`) to stdout.

use std::io::Write;

use anyhow::Result;

use super::{ExitCode, UsageError, history_target};
use crate::cli::ValidateArgs;
use crate::client::Event;
use crate::kinds::validate::{self, StderrPhases};
use crate::output::RunMeta;
use crate::profile::Profile;

pub fn validate(args: ValidateArgs) -> Result<ExitCode> {
    let profile = Profile::resolve(&args.profile).map_err(|e| UsageError(e.to_string()))?;
    let psk = super::psk(args.psk_file.as_deref()).map_err(|e| UsageError(format!("{e:#}")))?;
    let input = validate::Input {
        host: args.host.clone(),
        port: args.port,
        time: args.time,
        streams: args.streams,
        max_rtt_p99_us: args.max_rtt_p99_us,
        connect_timeout: args.connect.connect_timeout,
        psk,
    };
    let plan = input.plan(profile).map_err(UsageError)?;
    let history = history_target(args.no_history, args.csv.as_ref())?;
    let meta = RunMeta::new(
        &args.host,
        args.port,
        args.label.clone(),
        Some(plan.profile.name.clone()),
    );
    // With -J, stdout carries the one JSON document only.
    if args.json {
        eprintln!("{}", plan.heading());
    } else {
        println!("{}", plan.heading());
        let _ = std::io::stdout().flush();
    }
    let rt = super::runtime()?;
    let mut quiet = |_: Event<'_>| {};
    let outcome = rt.block_on(validate::run(
        &plan,
        &mut super::warn_then(&mut quiet),
        &mut StderrPhases::default(),
    ))?;
    super::emit(&outcome, &meta, args.json, history.as_deref())
}
