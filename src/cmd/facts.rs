//! `saf-net facts HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_OK, ExitCode, UsageError};
use crate::cli::FactsArgs;
use crate::config::Target;
use crate::kinds::facts;
use crate::net::Family;

pub fn facts(args: FactsArgs) -> Result<ExitCode> {
    let (host, port) = (&args.target.host, args.target.port);
    let family = Family::from_flags(args.ipv4, args.ipv6);
    let mut target = Target::new(host, port, family, args.connect.connect_timeout).map_err(UsageError)?;
    target.psk = super::psk(args.psk.psk_file.as_deref())?;
    let found = super::runtime()?.block_on(facts::facts(&target))?;
    let text = if args.json {
        facts::json(host, &found) + "\n"
    } else {
        facts::text(host, &found)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(EXIT_OK)
}
