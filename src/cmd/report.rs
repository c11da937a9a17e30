//! `saf-net report [HISTORY...] --out DIR`.

use anyhow::Result;

use super::{EXIT_OK, ExitCode};
use crate::cli::ReportArgs;
use crate::output::history;
use crate::report;

pub fn report(args: ReportArgs) -> Result<ExitCode> {
    let histories = if args.histories.is_empty() {
        vec![history::default_path()?]
    } else {
        args.histories
    };
    let out = report::write_report(&histories, &args.out, args.baseline_mbps)?;
    for w in &out.warnings {
        eprintln!("warning: {w}");
    }
    for s in &out.skipped {
        println!("{s}");
    }
    println!("Report written to {}:", args.out.display());
    for f in &out.files {
        println!("  {}", f.display());
    }
    Ok(EXIT_OK)
}
