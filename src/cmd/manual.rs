//! `saf-net completions SHELL` and `saf-net man [--dir DIR]`.

use std::io::Write;

use anyhow::{Context, Result};

use super::{EXIT_OK, ExitCode, UsageError};
use crate::cli::{CompletionsArgs, ManArgs};
use crate::manual;

pub fn completions(args: CompletionsArgs) -> Result<ExitCode> {
    std::io::stdout().write_all(&manual::completions(args.shell))?;
    Ok(EXIT_OK)
}

pub fn man(args: ManArgs) -> Result<ExitCode> {
    let Some(dir) = args.dir else {
        std::io::stdout().write_all(&manual::man_page()?)?;
        return Ok(EXIT_OK);
    };
    if !dir.is_dir() {
        let msg = format!("--dir {}: no such folder; create it first", dir.display());
        return Err(UsageError(msg).into());
    }
    let written =
        manual::write_pages(&dir).with_context(|| format!("cannot write man pages into {}", dir.display()))?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
