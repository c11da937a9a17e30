//! `saf-net doctor HOST`: the plan, the doctor's phases with progress on stderr, the report, the exit code.

use anyhow::Result;

use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode, UsageError};
use crate::cli::DoctorArgs;
use crate::kinds::doctor::{self, Plan, text};

/// The peer did not answer: what was learned locally is printed, and this is the exit code.
pub const EXIT_UNREACHABLE: ExitCode = 1;

pub fn doctor(args: DoctorArgs) -> Result<ExitCode> {
    let plan = Plan::new(
        &args.host,
        args.port,
        super::psk(args.psk.psk_file.as_deref())?,
        super::profile(args.profile.as_deref())?,
        args.time,
        args.parallel,
        args.window,
        args.check_ports.map(|p| p.0).unwrap_or_default(),
        args.connect.connect_timeout,
    )
    .map_err(UsageError)?;
    let rt = super::runtime()?;
    let mut progress = |what: &str| eprintln!("doctor: {what}…");
    let report = rt.block_on(doctor::run(&plan, &mut progress));
    if args.json {
        println!("{}", text::json(&report));
    } else {
        print!("{}", text::text(&report));
    }
    Ok(match (report.reached, report.limiting) {
        (false, _) => EXIT_UNREACHABLE,
        (true, 0) => EXIT_OK,
        (true, _) => EXIT_DIAGNOSED,
    })
}
