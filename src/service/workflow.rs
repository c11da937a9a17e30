//! What each `saf-net service` subcommand does, from its request to its result: which service is meant, what
//! installing or removing it takes (checked before anything changes), what the service manager reports.
//! `cmd/service.rs` only turns the arguments into these requests, picks the runner (executing, or printing for
//! `--print`) and prints the result through [`super::text`].

use std::path::{Path, PathBuf};

use super::runner::Runner;
use super::{
    Format, Host, Role, Scope, ServiceError, Spec, Status, Step, Target, apply, check_key_file, install_steps,
    is_installed, render, status, uninstall_steps,
};
use crate::auth::{PSK_ENV, Psk};

/// The service meant: `--format` (else this OS's service manager) and `--system`/`--user` (else by who runs
/// this).
pub fn target(format: Option<Format>, asked: Option<Scope>, role: Role, host: &Host) -> Result<Target, ServiceError> {
    let format = format.or_else(Format::native).ok_or(ServiceError::NoServiceManager)?;
    Target::with_role(format, Scope::resolve(asked, host.uid), role, host)
}

/// An install, checked and ready to carry out.
#[derive(Debug, Clone)]
pub struct Install {
    pub target: Target,
    pub spec: Spec,
    /// The command line the service runs.
    pub argv: Vec<String>,
    /// The plist or unit file.
    pub contents: String,
    pub steps: Vec<Step>,
    /// One-line notes for stderr: what the service will not get, or will lose.
    pub notes: Vec<String>,
}

/// `service install`: checks the key file (its place and its length), finds this program and writes the service
/// file and the steps that install it. Nothing is changed yet.
pub fn install(target: Target, psk_file: Option<&Path>, server_args: Vec<String>) -> Result<Install, ServiceError> {
    let psk_file = psk_file.map(check_key_file).transpose()?;
    if let Some(key) = &psk_file {
        // The server's own check (length), now rather than at every start.
        Psk::resolve(Some(key))?;
    }
    let spec = Spec {
        role: target.role,
        exe: this_program()?,
        psk_file,
        server_args,
    };
    let argv = spec.argv()?;
    let contents = render(&target, &spec)?;
    let steps = install_steps(&target, &contents);
    let notes = install_notes(&spec);
    Ok(Install {
        target,
        spec,
        argv,
        contents,
        steps,
        notes,
    })
}

impl Install {
    /// Writes the file and loads the service through `runner` (a printing runner only describes it).
    pub fn carry_out(&self, host: &Host, runner: &mut Runner) -> Result<(), ServiceError> {
        apply(&self.steps, &self.target, host, runner)
    }
}

/// This program's absolute path, for the service to run.
fn this_program() -> Result<PathBuf, ServiceError> {
    let exe = std::env::current_exe().map_err(ServiceError::NoExe)?;
    std::fs::canonicalize(&exe).map_err(|cause| ServiceError::ExePath { path: exe, cause })
}

/// What the person installing should know: a key in the environment the service will not see, a program the
/// next build replaces.
fn install_notes(spec: &Spec) -> Vec<String> {
    let mut notes = Vec::new();
    let psk_from_env = spec.psk_file.is_none() && std::env::var_os(PSK_ENV).is_some_and(|v| !v.is_empty());
    if psk_from_env {
        notes.push(format!(
            "note: ${PSK_ENV} is not passed to the service, which runs open; give the key with --psk-file FILE"
        ));
    }
    if is_build_output(&spec.exe) {
        notes.push(format!(
            "note: the service runs {}, a build output that the next build replaces; \
             install saf-net first (e.g. cargo install --path .) for a lasting service",
            spec.exe.display()
        ));
    }
    notes
}

/// A build output (…/target/debug/saf-net) is replaced by the next build, or removed by cargo clean.
fn is_build_output(exe: &Path) -> bool {
    let parts: Vec<_> = exe.components().map(|c| c.as_os_str()).collect();
    parts
        .windows(2)
        .any(|w| w[0] == "target" && (w[1] == "debug" || w[1] == "release"))
}

/// An uninstall, ready to carry out.
#[derive(Debug, Clone)]
pub struct Uninstall {
    pub target: Target,
    /// Whether the service's file exists.
    pub installed: bool,
    pub steps: Vec<Step>,
}

/// `service uninstall`: the steps that stop the service and remove its file. Nothing is changed yet.
pub fn uninstall(target: Target, host: &Host) -> Uninstall {
    let installed = is_installed(&target, host);
    let steps = uninstall_steps(&target, installed);
    Uninstall {
        target,
        installed,
        steps,
    }
}

impl Uninstall {
    /// Stops the service and removes its file through `runner` (a printing runner only describes it).
    pub fn carry_out(&self, host: &Host, runner: &mut Runner) -> Result<(), ServiceError> {
        apply(&self.steps, &self.target, host, runner)
    }
}

/// What `service status` found.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: Target,
    pub status: Status,
    /// The same service installed in the other scope, when this one is not installed.
    pub other: Option<Target>,
}

/// `service status`: what the service manager says about the service, and whether the other scope has one.
pub fn report(target: Target, host: &Host, runner: &mut Runner) -> Result<Report, ServiceError> {
    let status = status(&target, host, runner)?;
    let other = if status.installed {
        None
    } else {
        Target::with_role(target.format, target.scope.other(), target.role, host)
            .ok()
            .filter(|other| is_installed(other, host))
    };
    Ok(Report { target, status, other })
}

/// `service status --print`: what `status` would check and ask, through a printing runner.
pub fn print_status(target: &Target, host: &Host, runner: &mut Runner) -> Result<(), ServiceError> {
    runner.note(&format!("would check {}", target.file.display()))?;
    status(target, host, runner)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_outputs_are_recognised() {
        assert!(is_build_output(Path::new("/src/saf-net/target/debug/saf-net")));
        assert!(is_build_output(Path::new("/src/saf-net/target/release/saf-net")));
        assert!(!is_build_output(Path::new("/usr/local/bin/saf-net")));
        assert!(!is_build_output(Path::new("/home/a/.cargo/bin/saf-net")));
    }

    #[test]
    fn without_a_service_manager_the_format_must_be_given() {
        let host = Host {
            uid: Some(1000),
            home: Some("/home/a".into()),
            ..Host::default()
        };
        let t = target(Some(Format::Systemd), None, Role::Server, &host).unwrap();
        assert_eq!((t.format, t.scope), (Format::Systemd, Scope::User));
        if Format::native().is_none() {
            let e = target(None, None, Role::Server, &host).unwrap_err();
            assert!(e.to_string().contains("pick one with --format"), "{e}");
        }
    }
}
