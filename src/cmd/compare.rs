//! `saf-net compare --before LABEL --after LABEL [--mesh | --collective] [--csv FILE] [-J] [--out DIR]`. Exit 4
//! when `after` is slower than `before` beyond the runs' spread, or (mesh, collective runs) when a pair or an
//! (op, size) got worse.

use anyhow::Result;
use serde::Serialize;

use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode};
use crate::cli::CompareArgs;
use crate::output::history;
use crate::report::{self, History};

pub fn compare(args: CompareArgs) -> Result<ExitCode> {
    let path = match args.csv {
        Some(p) => p,
        None => history::default_path()?,
    };
    let h = History::load(std::slice::from_ref(&path))?;
    for w in h
        .warnings
        .iter()
        .filter(|w| w.contains(&args.before) || w.contains(&args.after))
    {
        eprintln!("warning: {w}");
    }
    let (before, after) = (&args.before, &args.after);
    let mesh = !args.collective && report::mesh_compare::wanted(&h, before, after, args.mesh);
    // Scripts gate on `worse`: exit 4 when after is slower (beyond the runs' spread; a pair or an (op, size) of
    // mesh and collective runs below WORSE_RATIO of its before figure).
    let worse = if mesh {
        let c = report::write_mesh_compare(&h, before, after, &args.out)?;
        show(args.json, &c, || c.text())?;
        c.worse
    } else if report::collective_compare::wanted(&h, before, after, args.collective) {
        let c = report::write_collective_compare(&h, before, after, &args.out)?;
        show(args.json, &c, || c.text())?;
        c.worse
    } else {
        let c = report::write_compare(&h, before, after, args.baseline_mbps, &args.out)?;
        show(args.json, &c, || c.text())?;
        c.worse
    };
    Ok(if worse { EXIT_DIAGNOSED } else { EXIT_OK })
}

/// The comparison as `-J` or as its text.
fn show(json: bool, doc: &impl Serialize, text: impl FnOnce() -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(doc)?);
    } else {
        print!("{}", text());
    }
    Ok(())
}
