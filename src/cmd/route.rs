//! `saf-net route HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_OK, ExitCode};
use crate::cli::RouteArgs;
use crate::diagnose::wrong_interface as verdict;
use crate::net;
use crate::route::{self, Destination, render as out};
use crate::tune::BackendKind;

/// HOST as an address (with its zone's name for link-local IPv6), resolved if it is a name.
fn destination(host: &str) -> Result<Destination> {
    let rt = super::runtime()?;
    let addr = rt.block_on(net::resolve(host, 0, net::Family::Any))?[0];
    Ok(Destination::for_host(host, addr))
}

pub fn route(args: RouteArgs) -> Result<ExitCode> {
    let os = super::tune::backend_kind(args.backend);
    let profile = super::profile(args.profile.as_deref())?;
    let found = destination(&args.host).and_then(|d| Ok(route::find_here(os, &d)?));
    let facts = match found {
        Ok(f) => f,
        Err(e) => {
            if args.json {
                println!("{}", out::render_error(&args.host, os.as_str(), &format!("{e:#}")));
            }
            return Err(e);
        }
    };
    let warning = profile.as_ref().and_then(|p| verdict::check(&facts, p.link.medium, os));
    if let Some(w) = &warning {
        eprintln!("{}", verdict::warning_line(w));
    }
    let text = if args.json {
        let name = profile.as_ref().map(|p| p.name.as_str());
        out::render(
            &args.host,
            os.as_str(),
            name,
            &facts,
            warning.as_ref().map(verdict::warning_line),
        ) + "\n"
    } else {
        out::text(&args.host, &facts, os == BackendKind::Macos)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(EXIT_OK)
}
