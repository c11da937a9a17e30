//! `saf-net service install|uninstall|status`.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Parser;
use clap::error::ErrorKind;

use super::{EXIT_OK, ExitCode, UsageError, classified};
use crate::cli::{Cli, FormatArg, ServiceAction, ServiceArgs, ServiceInstallArgs, ServicePlace};
use crate::service::runner::{Runner, shell_quote};
use crate::service::{self, Format, Host, Scope, Spec, Target};

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
    let format = match place.format {
        Some(FormatArg::Launchd) => Format::Launchd,
        Some(FormatArg::Systemd) => Format::Systemd,
        None => Format::native().ok_or_else(|| {
            UsageError("this system has neither launchd nor systemd; pick one with --format (and --print)".into())
        })?,
    };
    let asked = match (place.system, place.user) {
        (true, _) => Some(Scope::System),
        (_, true) => Some(Scope::User),
        _ => None,
    };
    Target::new(format, Scope::resolve(asked, host.uid), host).map_err(classified)
}

/// The server flags after `--` must parse as `saf-net server` flags now, not fail at every boot.
fn check_server_args(args: &[String]) -> Result<(), UsageError> {
    if args.iter().any(|a| a == "--psk-file" || a.starts_with("--psk-file=")) {
        return Err(UsageError(
            "give the key file as `saf-net service install --psk-file FILE` (before `--`), so it can be checked".into(),
        ));
    }
    let argv = ["saf-net", "server"]
        .into_iter()
        .map(String::from)
        .chain(args.iter().cloned());
    match Cli::try_parse_from(argv) {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => Err(UsageError(
            "server flags after -- cannot ask for help or the version; see `saf-net server --help`".into(),
        )),
        Err(e) => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or_default().trim();
            let first = first.strip_prefix("error: ").unwrap_or(first);
            Err(UsageError(format!("server flags after --: {first}")))
        }
    }
}

/// This program's absolute path, for the service to run.
fn current_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot tell where this saf-net program is")?;
    let exe =
        std::fs::canonicalize(&exe).with_context(|| format!("cannot resolve this program's path {}", exe.display()))?;
    Ok(exe)
}

/// A build output (…/target/debug/saf-net) is replaced by the next build, or removed by cargo clean.
fn is_build_output(exe: &Path) -> bool {
    let parts: Vec<_> = exe.components().map(|c| c.as_os_str()).collect();
    parts
        .windows(2)
        .any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"))
}

fn install(a: ServiceInstallArgs, host: &Host) -> Result<ExitCode> {
    let target = target(&a.place, host)?;
    check_server_args(&a.server_args)?;
    let psk_file = a
        .psk_file
        .as_deref()
        .map(service::check_key_file)
        .transpose()
        .map_err(classified)?;
    if let Some(key) = &psk_file {
        // The server's own check (length), now rather than at every start.
        crate::auth::Psk::resolve(Some(key)).map_err(|e| UsageError(e.to_string()))?;
    }
    let spec = Spec {
        exe: current_exe()?,
        psk_file,
        server_args: a.server_args,
    };
    let argv = spec.argv().map_err(classified)?;
    let contents = service::render(&target, &spec).map_err(classified)?;
    let steps = service::install_steps(&target, &contents);
    let psk_from_env = spec.psk_file.is_none() && std::env::var_os(crate::auth::PSK_ENV).is_some_and(|v| !v.is_empty());
    let note = || {
        if psk_from_env {
            eprintln!(
                "note: ${} is not passed to the service, which runs open; give the key with --psk-file FILE",
                crate::auth::PSK_ENV
            );
        }
        if is_build_output(&spec.exe) {
            eprintln!(
                "note: the service runs {}, a build output that the next build replaces; \
                 install saf-net first (e.g. cargo install --path .) for a lasting service",
                spec.exe.display()
            );
        }
    };
    if a.place.print {
        let _ = std::io::stdout().write_all(contents.as_bytes());
        eprintln!("# a {} ({}); nothing was changed", target.kind(), target.when());
        service::apply(
            &steps,
            &target,
            host,
            &mut Runner::print_to(Box::new(std::io::stderr())),
        )
        .map_err(classified)?;
        note();
        return Ok(EXIT_OK);
    }
    service::apply(&steps, &target, host, &mut Runner::execute()).map_err(classified)?;
    note();
    let runs: Vec<String> = argv.iter().map(|w| shell_quote(w)).collect();
    println!(
        "Installed a {} ({}): {}",
        target.kind(),
        target.when(),
        target.file.display()
    );
    println!("  runs: {}", runs.join(" "));
    println!("  logs: {}", target.logs_hint());
    if (target.format, target.scope) == (Format::Systemd, Scope::User) {
        println!("  to start it at boot rather than at login: sudo loginctl enable-linger $USER");
    }
    Ok(EXIT_OK)
}

fn uninstall(place: &ServicePlace, host: &Host) -> Result<ExitCode> {
    let target = target(place, host)?;
    let installed = service::is_installed(&target, host);
    let steps = service::uninstall_steps(&target, installed);
    if place.print {
        eprintln!("# a {} ({}); nothing was changed", target.kind(), target.when());
        service::apply(
            &steps,
            &target,
            host,
            &mut Runner::print_to(Box::new(std::io::stderr())),
        )
        .map_err(classified)?;
        return Ok(EXIT_OK);
    }
    service::apply(&steps, &target, host, &mut Runner::execute()).map_err(classified)?;
    if installed {
        println!("Stopped and removed the {}: {}", target.kind(), target.file.display());
    } else {
        println!(
            "No {} was installed ({} does not exist)",
            target.kind(),
            target.file.display()
        );
    }
    Ok(EXIT_OK)
}

fn status(place: &ServicePlace, host: &Host) -> Result<ExitCode> {
    let target = target(place, host)?;
    if place.print {
        let mut runner = Runner::print_to(Box::new(std::io::stderr()));
        runner.note(&format!("would check {}", target.file.display()))?;
        service::status(&target, host, &mut runner).map_err(classified)?;
        return Ok(EXIT_OK);
    }
    let st = service::status(&target, host, &mut Runner::execute()).map_err(classified)?;
    let pid = st.pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
    let mut detail: Vec<String> = Vec::new();
    if let Some(state) = st.state.as_deref().filter(|s| !st.running && *s != "inactive") {
        detail.push(format!("state: {state}"));
    }
    if let Some(code) = st.last_exit.as_deref().filter(|_| !st.running) {
        detail.push(format!("last exit code: {code}"));
    }
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({})", detail.join(", "))
    };
    let manager = match target.format {
        Format::Launchd => "loaded",
        Format::Systemd => "enabled",
    };
    let summary = match (st.installed, st.loaded, st.running) {
        (true, _, true) => format!("installed, running{pid}"),
        (true, true, false) => format!("installed, not running{detail}"),
        (true, false, false) => format!("installed, not {manager}, not running{detail}"),
        (false, _, true) => format!("not installed, but running{pid}: `saf-net service uninstall` stops it"),
        (false, true, false) => format!("not installed, but still {manager}: `saf-net service uninstall` clears it"),
        (false, false, false) => "not installed".to_string(),
    };
    println!("saf-net {} ({}): {summary}", target.kind(), target.when());
    println!("  file: {}", target.file.display());
    if st.installed {
        println!("  logs: {}", target.logs_hint());
    } else if let Ok(other) = Target::new(target.format, target.scope.other(), host)
        && service::is_installed(&other, host)
    {
        let flag = match other.scope {
            Scope::System => "--system",
            Scope::User => "--user",
        };
        println!(
            "  a {} is installed ({}): see `saf-net service status {flag}`",
            other.kind(),
            other.file.display()
        );
    }
    Ok(if st.running { EXIT_OK } else { EXIT_NOT_RUNNING })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_flags_are_checked_at_install_time() {
        check_server_args(&[]).unwrap();
        check_server_args(&["-p".into(), "5301".into(), "--max-concurrent".into(), "1".into()]).unwrap();
        let err = check_server_args(&["--bogus".into()]).unwrap_err().0;
        assert!(
            err.starts_with("server flags after --: unexpected argument '--bogus'"),
            "{err}"
        );
        let err = check_server_args(&["-p".into(), "http".into()]).unwrap_err().0;
        assert!(err.contains("'http'"), "{err}");
        let err = check_server_args(&["--psk-file=/k".into()]).unwrap_err().0;
        assert!(err.contains("before `--`"), "{err}");
        assert!(check_server_args(&["--help".into()]).unwrap_err().0.contains("help"));
    }

    #[test]
    fn the_service_command_line_is_one_the_server_accepts() {
        let spec = Spec {
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

    #[test]
    fn build_outputs_are_recognised() {
        assert!(is_build_output(Path::new("/src/saf-net/target/debug/saf-net")));
        assert!(is_build_output(Path::new("/src/saf-net/target/release/saf-net")));
        assert!(!is_build_output(Path::new("/usr/local/bin/saf-net")));
        assert!(!is_build_output(Path::new("/home/a/.cargo/bin/saf-net")));
    }
}
