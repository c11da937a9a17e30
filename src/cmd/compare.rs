//! `saf-net compare --before LABEL --after LABEL [--mesh] [--csv FILE] [-J] [--out DIR]`. Exit 4 when `after` is
//! slower than `before` beyond the runs' spread, or (mesh runs) when a pair got worse.

use anyhow::Result;

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
    if report::mesh_compare::wanted(&h, &args.before, &args.after, args.mesh) {
        let c = report::write_mesh_compare(&h, &args.before, &args.after, &args.out)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&c)?);
        } else {
            print!("{}", c.text());
        }
        // A pair below WORSE_RATIO of its before figure is a slowdown: exit 4, as for throughput.
        return Ok(if c.worse { EXIT_DIAGNOSED } else { EXIT_OK });
    }
    let c = report::write_compare(&h, &args.before, &args.after, args.baseline_mbps, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", c.text());
    }
    // Scripts gate on it: after slower than before beyond the runs' spread is exit 4.
    Ok(if c.worse { EXIT_DIAGNOSED } else { EXIT_OK })
}
