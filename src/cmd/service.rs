//! `saf-net service install|uninstall|status`: the arguments become a request for `service::workflow`, which
//! does the work; this file checks the server flags, picks the runner (`--print` describes on stderr), prints the
//! result through `service::text` and exits.

use std::io::Write;

use anyhow::Result;
use clap::Parser;
use clap::error::ErrorKind;

use super::{EXIT_OK, ExitCode, UsageError, classified};
use crate::cli::{Cli, FormatArg, ServiceAction, ServiceArgs, ServiceInstallArgs, ServicePlace};
use crate::service::runner::Runner;
use crate::service::{Format, Host, Role, Scope, Target, text, workflow};

/// `status`: the service is not running (installed or not), as in LSB's `status`.
pub const EXIT_NOT_RUNNING: ExitCode = 3;

pub fn service(args: ServiceArgs) -> Result<ExitCode> {
    let host = Host::current();
    match args.action {
        ServiceAction::Install(a) => install(a, &host),
        ServiceAction::Uninstall(p) => uninstall(&p, &host),
        ServiceAction::Status(p) => status(&p, &host),
    }
}

fn target(place: &ServicePlace, host: &Host) -> Result<Target> {
    let format = place.format.map(|f| match f {
        FormatArg::Launchd => Format::Launchd,
        FormatArg::Systemd => Format::Systemd,
    });
    let asked = match (place.system, place.user) {
        (true, _) => Some(Scope::System),
        (_, true) => Some(Scope::User),
        _ => None,
    };
    let role = if place.monitor { Role::Monitor } else { Role::Server };
    workflow::target(format, asked, role, host).map_err(classified)
}

/// `--print`'s runner: the commands are written to stderr, not run.
fn describing() -> Runner {
    Runner::print_to(Box::new(std::io::stderr()))
}

/// The flags after `--` must parse as `saf-net server` (or `monitor`) flags now, not fail at every boot.
fn check_server_args(role: Role, args: &[String]) -> Result<(), UsageError> {
    let what = role.subcommand();
    if args.iter().any(|a| a == "--psk-file" || a.starts_with("--psk-file=")) {
        return Err(UsageError(
            "give the key file as `saf-net service install --psk-file FILE` (before `--`), so it can be checked".into(),
        ));
    }
    let argv = ["saf-net", what]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Err(UsageError(format!(
            "{what} flags after -- cannot ask for help or the version; see `saf-net {what} --help`"
        ))),
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default().trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            Err(UsageError(format!("{what} flags after --: {first}")))
        }
    }
}

fn install(a: ServiceInstallArgs, host: &Host) -> Result<ExitCode> {
    let target = target(&a.place, host)?;
    check_server_args(target.role, &a.server_args)?;
    let install = workflow::install(target, a.psk_file.as_deref(), a.server_args).map_err(classified)?;
    if a.place.print {
        let _ = std::io::stdout().write_all(install.contents.as_bytes());
        eprintln!("{}", text::nothing_changed(&install.target));
        install.carry_out(host, &mut describing()).map_err(classified)?;
        notes(&install);
        return Ok(EXIT_OK);
    }
    install.carry_out(host, &mut Runner::execute()).map_err(classified)?;
    notes(&install);
    print!("{}", text::installed(&install));
    Ok(EXIT_OK)
}

fn notes(install: &workflow::Install) {
    for note in &install.notes {
        eprintln!("{note}");
    }
}

fn uninstall(place: &ServicePlace, host: &Host) -> Result<ExitCode> {
    let uninstall = workflow::uninstall(target(place, host)?, host);
    if place.print {
        eprintln!("{}", text::nothing_changed(&uninstall.target));
        uninstall.carry_out(host, &mut describing()).map_err(classified)?;
        return Ok(EXIT_OK);
    }
    uninstall.carry_out(host, &mut Runner::execute()).map_err(classified)?;
    print!("{}", text::uninstalled(&uninstall));
    Ok(EXIT_OK)
}

fn status(place: &ServicePlace, host: &Host) -> Result<ExitCode> {
    let target = target(place, host)?;
    if place.print {
        workflow::print_status(&target, host, &mut describing()).map_err(classified)?;
        return Ok(EXIT_OK);
    }
    let report = workflow::report(target, host, &mut Runner::execute()).map_err(classified)?;
    print!("{}", text::status(&report));
    Ok(if report.status.running {
        EXIT_OK
    } else {
        EXIT_NOT_RUNNING
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::service::Spec;

    #[test]
    fn server_flags_are_checked_at_install_time() {
        check_server_args(Role::Server, &[]).unwrap();
        check_server_args(
            Role::Server,
            &["-p".into(), "5301".into(), "--max-concurrent".into(), "1".into()],
        )
        .unwrap();
        let err = check_server_args(Role::Server, &["--bogus".into()]).unwrap_err().0;
        assert!(
            err.starts_with("server flags after --: unexpected argument '--bogus'"),
            "{err}"
        );
        let err = check_server_args(Role::Server, &["-p".into(), "http".into()])
            .unwrap_err()
            .0;
        assert!(err.contains("'http'"), "{err}");
        let err = check_server_args(Role::Server, &["--psk-file=/k".into()])
            .unwrap_err()
            .0;
        assert!(err.contains("before `--`"), "{err}");
        assert!(
            check_server_args(Role::Server, &["--help".into()])
                .unwrap_err()
                .0
                .contains("help")
        );
        check_server_args(
            Role::Monitor,
            &["--peer".into(), "10.0.0.2".into(), "--budget".into(), "5G/day".into()],
        )
        .unwrap();
        let err = check_server_args(Role::Monitor, &["--max-concurrent".into(), "1".into()])
            .unwrap_err()
            .0;
        assert!(err.starts_with("monitor flags after --: unexpected argument"), "{err}");
    }

    #[test]
    fn the_service_command_line_is_one_the_server_accepts() {
        let spec = Spec {
            role: crate::service::Role::Server,
            exe: "/usr/local/bin/saf-net".into(),
            psk_file: Some("/etc/saf-net/psk".into()),
            server_args: vec!["-p".into(), "5301".into(), "--max-concurrent".into(), "1".into()],
        };
        let cli = Cli::try_parse_from(spec.argv().unwrap()).expect("the server parses the service's argv");
        let crate::cli::Command::Server(s) = cli.command else {
            panic!("not a server command")
        };
        assert_eq!(s.psk_file.as_deref(), Some(Path::new("/etc/saf-net/psk")));
        assert_eq!((s.port, s.max_concurrent), (5301, 1));
    }
}
