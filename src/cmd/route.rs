//! `saf-net route HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_OK, ExitCode};
use crate::cli::{BackendArg, RouteArgs};
use crate::net;
use crate::route::{self, Destination, render as out, verdict};
use crate::tune::BackendKind;

fn backend(arg: Option<BackendArg>) -> BackendKind {
    match arg {
        Some(BackendArg::Macos) => BackendKind::Macos,
        Some(BackendArg::Linux) => BackendKind::Linux,
        None => BackendKind::native(),
    }
}

/// HOST as an address (with its zone's name for link-local IPv6), resolved if it is a name.
fn destination(host: &str) -> Result<Destination> {
    let rt = super::runtime()?;
    let addr = rt.block_on(net::resolve(host, 0, net::Family::Any))?[0];
    let mut dest = Destination::of(addr);
    if let Some((_, zone)) = host.trim_end_matches(']').split_once('%') {
        dest.zone = Some(zone.to_string());
    }
    Ok(dest)
}

pub fn route(args: RouteArgs) -> Result<ExitCode> {
    let os = backend(args.backend);
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
        out::render(&args.host, os.as_str(), name, &facts, warning.as_ref()) + "\n"
    } else {
        out::text(&args.host, &facts, os == BackendKind::Macos)
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(EXIT_OK)
}
