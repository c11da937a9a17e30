//! `saf-net mtu HOST`.

use anyhow::Result;

use super::{ExitCode, UsageError};
use crate::cli::MtuArgs;
use crate::config::Target;
use crate::kinds::mtu;
use crate::output::RunMeta;
use crate::output::text::{Live, Progress};

pub fn mtu(args: MtuArgs) -> Result<ExitCode> {
    let (host, port) = (&args.target.host, args.target.port);
    let probe = &args.probe;
    let mut target = Target::new(host, port, probe.family(), probe.connect.connect_timeout).map_err(UsageError)?;
    target.psk = super::psk(probe.psk.psk_file.as_deref())?;
    let history = probe.history.target()?;
    let profile = super::profile(probe.profile.as_deref())?;
    let plan = mtu::Plan {
        target,
        expected_mbps: profile.as_ref().map(|p| p.link.line_rate_mbps.round() as u32),
        expected_medium: profile.as_ref().map(|p| p.link.medium),
    };
    let meta = RunMeta::new(host, port, probe.label.clone(), profile.map(|p| p.name));
    let mut printer = (!args.json).then(|| Progress::for_duration(host, port, None));
    let outcome = super::run_shown(printer.as_mut().map(|p| p as &mut dyn Live), async |obs| {
        mtu::run(&plan, obs).await
    })??;
    super::emit(&outcome, &meta, args.json, history.as_deref())
}
