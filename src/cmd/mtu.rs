//! `saf-net mtu HOST`.

use std::io::Write;

use anyhow::{Context, Result};

use super::client::history_path;
use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode, UsageError};
use crate::auth::Psk;
use crate::cli::MtuArgs;
use crate::client::{Event, run_mtu};
use crate::config::Target;
use crate::net::Family;
use crate::output::text::LivePrinter;
use crate::output::{RunMeta, history, path};

pub fn mtu(args: MtuArgs) -> Result<ExitCode> {
    let family = Family::from_flags(args.ipv4, args.ipv6);
    let mut target = Target::new(&args.host, args.port, family, args.connect_timeout).map_err(UsageError)?;
    target.psk = Psk::resolve(args.psk_file.as_deref()).map_err(|e| UsageError(e.to_string()))?;
    let history = history_path(args.no_history, args.csv.as_ref())?;
    let meta = RunMeta::new(&args.host, args.port, args.label.clone(), args.profile.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    let outcome = if args.json {
        let mut quiet = |_: Event<'_>| {};
        rt.block_on(run_mtu(&target, None, &mut quiet))
    } else {
        let mut printer = LivePrinter::for_duration(&args.host, args.port, None);
        let o = rt.block_on(run_mtu(&target, None, &mut printer));
        printer.finish();
        o
    }?;
    let text = if args.json {
        path::render_mtu(&outcome, &meta) + "\n"
    } else {
        path::text(&outcome.path, &format!("{} ({})", args.host, outcome.server))
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    if let Some(p) = history {
        history::append(
            &p,
            &path::mtu_history_row(&outcome, &meta),
            &path::render_mtu(&outcome, &meta),
        )
        .context("could not record the run")?;
    }
    Ok(if outcome.path.diagnoses.is_empty() {
        EXIT_OK
    } else {
        EXIT_DIAGNOSED
    })
}
