//! `saf-net mtu HOST`.

use std::io::Write;

use anyhow::Result;

use super::{EXIT_DIAGNOSED, EXIT_OK, ExitCode, UsageError};
use crate::cli::MtuArgs;
use crate::client::Event;
use crate::config::Target;
use crate::kinds::mtu;
use crate::output::text::LivePrinter;
use crate::output::{RunMeta, path};

pub fn mtu(args: MtuArgs) -> Result<ExitCode> {
    let (host, port) = (&args.target.host, args.target.port);
    let probe = &args.probe;
    let mut target = Target::new(host, port, probe.family(), probe.connect.connect_timeout).map_err(UsageError)?;
    target.psk = super::psk(probe.psk.psk_file.as_deref())?;
    let history = probe.history.target()?;
    let profile = super::profile(probe.profile.as_deref())?;
    let expected = profile.as_ref().map(|p| p.link.line_rate_mbps.round() as u32);
    let medium = profile.as_ref().map(|p| p.link.medium);
    let meta = RunMeta::new(host, port, probe.label.clone(), profile.map(|p| p.name));
    let plan = mtu::Plan {
        target,
        expected_mbps: expected,
        expected_medium: medium,
    };
    let rt = super::runtime()?;
    let outcome = if args.json {
        let mut quiet = |_: Event<'_>| {};
        rt.block_on(mtu::run(&plan, &mut super::warn_then(&mut quiet)))
    } else {
        let mut printer = LivePrinter::for_duration(host, port, None);
        let o = rt.block_on(mtu::run(&plan, &mut super::warn_then(&mut printer)));
        printer.finish();
        o
    }?;
    let text = if args.json {
        path::render_mtu(&outcome, &meta) + "\n"
    } else {
        path::text(&outcome.path, &format!("{host} ({})", outcome.server))
    };
    let _ = std::io::stdout().write_all(text.as_bytes());
    super::record_run(
        history.as_deref(),
        &path::mtu_history_row(&outcome, &meta),
        &path::render_mtu(&outcome, &meta),
    )?;
    Ok(if outcome.path.diagnoses.is_empty() {
        EXIT_OK
    } else {
        EXIT_DIAGNOSED
    })
}
