//! `saf-net compare --before LABEL --after LABEL [--csv FILE] [-J] [--out DIR]`.

use anyhow::Result;

use super::{EXIT_OK, ExitCode};
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
    let c = report::write_compare(&h, &args.before, &args.after, args.baseline_mbps, &args.out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", c.text());
    }
    Ok(EXIT_OK)
}
