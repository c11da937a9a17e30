//! Carrying out a service's steps: files written whole, commands run through the runner (a retry, failures
//! that may be ignored), nothing touched when the service manager is missing.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Duration;

use super::error::{ServiceError, tool_missing};
use super::format::Scope;
use super::runner::{RunError, Runner};
use super::step::{Run, Step};
use super::target::{Host, Target};

/// Whether the target's file exists (under the DESTDIR, if any).
pub fn is_installed(target: &Target, host: &Host) -> bool {
    host.on_disk(&target.file).exists()
}

/// How long to wait before the one retry of a step marked `retry`.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

/// Carries out `steps` in order, stopping at the first failure. Commands go through `runner`; when it
/// prints (dry run), file steps are only described (as runner notes) and nothing is written. A
/// recording runner still writes files, so tests see them (under a DESTDIR).
pub fn apply(steps: &[Step], target: &Target, host: &Host, runner: &mut Runner) -> Result<(), ServiceError> {
    // Nothing is touched when the service manager is not there.
    for step in steps {
        if let Step::Run(r) = step {
            runner.check_available(&r.cmd.program).map_err(|e| match e {
                RunError::NotFound { .. } => tool_missing(target.format),
                e => e.into(),
            })?;
        }
    }
    for step in steps {
        match step {
            Step::MkDir(dir) => {
                if runner.is_printing() {
                    if !host.on_disk(dir).is_dir() {
                        runner.note(&format!("would create {}", dir.display()))?;
                    }
                    continue;
                }
                let d = host.on_disk(dir);
                std::fs::create_dir_all(&d).map_err(|e| ServiceError::io("create", &d, target.scope, e))?;
            }
            Step::Write { path, contents } => {
                if runner.is_printing() {
                    runner.note(&format!("would write {}", path.display()))?;
                    continue;
                }
                write_whole(&host.on_disk(path), contents, target.scope)?;
            }
            Step::Remove(path) => {
                if runner.is_printing() {
                    runner.note(&format!("would remove {}", path.display()))?;
                    continue;
                }
                let p = host.on_disk(path);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(ServiceError::io("remove", &p, target.scope, e)),
                }
            }
            Step::Run(r) => run_step(r, target, runner)?,
        }
    }
    Ok(())
}

fn run_step(r: &Run, target: &Target, runner: &mut Runner) -> Result<(), ServiceError> {
    let spawn = |e: RunError| match e {
        RunError::NotFound { .. } => tool_missing(target.format),
        e => e.into(),
    };
    let mut out = runner.run(&r.cmd).map_err(spawn)?;
    if !out.success() && r.retry && !runner.is_dry_run() {
        std::thread::sleep(RETRY_PAUSE);
        out = runner.run(&r.cmd).map_err(spawn)?;
    }
    if out.success() || r.may_fail {
        return Ok(());
    }
    Err(ServiceError::Failed {
        cmd: r.cmd.to_string(),
        reason: out.reason(),
        hint: r.hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default(),
    })
}

/// Writes `path` whole: a temporary file beside it, mode 0644, then a rename.
fn write_whole(path: &Path, contents: &str, scope: Scope) -> Result<(), ServiceError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("service");
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        std::fs::write(&tmp, contents)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))?;
        }
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ServiceError::io("write", path, scope, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::Cmd;
    use crate::service::test_host as host;
    use crate::service::{Format, install_steps, runner, uninstall_steps};

    #[test]
    fn apply_writes_files_and_runs_commands_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let h = Host {
            destdir: Some(dir.path().to_path_buf()),
            ..host()
        };
        let t = Target::new(Format::Systemd, Scope::System, &h).unwrap();
        let steps = install_steps(&t, "[Unit]\n");
        let mut r = Runner::record();
        apply(&steps, &t, &h, &mut r).unwrap();
        let on_disk = dir.path().join("etc/systemd/system/saf-net.service");
        assert_eq!(std::fs::read_to_string(&on_disk).unwrap(), "[Unit]\n");
        assert_eq!(
            r.log(),
            [
                "systemctl daemon-reload",
                "systemctl enable saf-net.service",
                "systemctl restart saf-net.service"
            ]
        );
        assert!(is_installed(&t, &h));
        let mut r = Runner::record();
        apply(&uninstall_steps(&t, true), &t, &h, &mut r).unwrap();
        assert!(!on_disk.exists());
        assert!(!is_installed(&t, &h));
    }

    #[test]
    fn a_failing_command_stops_and_names_itself_unless_it_may_fail() {
        let h = host();
        let t = Target::new(Format::Launchd, Scope::System, &h).unwrap();
        let steps = vec![
            Run::may_fail(Cmd::new("launchctl").arg("bootout")),
            Run::must(Cmd::new("launchctl").arg("bootstrap")),
            Run::must(Cmd::new("launchctl").arg("never")),
        ];
        let mut r = Runner::record()
            .answer(
                "launchctl bootout",
                runner::Output::failed(3, "Boot-out failed: 3: No such process"),
            )
            .answer(
                "launchctl bootstrap",
                runner::Output::failed(5, "Bootstrap failed: 5: Input/output error"),
            );
        let err = apply(&steps, &t, &h, &mut r).unwrap_err().to_string();
        assert_eq!(
            err,
            "`launchctl bootstrap` failed: Bootstrap failed: 5: Input/output error"
        );
        assert_eq!(r.log(), ["launchctl bootout", "launchctl bootstrap"]);
    }

    #[test]
    fn a_missing_tool_is_found_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let h = Host {
            destdir: Some(dir.path().to_path_buf()),
            ..host()
        };
        let t = Target::new(Format::Launchd, Scope::System, &h).unwrap();
        let mut steps = install_steps(&t, "<plist/>");
        for s in &mut steps {
            if let Step::Run(r) = s {
                r.cmd.program = "saf-net-no-such-launchctl".into();
            }
        }
        let err = apply(&steps, &t, &h, &mut Runner::execute()).unwrap_err();
        assert!(matches!(err, ServiceError::ToolMissing { .. }), "{err}");
        assert!(err.to_string().contains("launchd services need macOS"), "{err}");
        assert!(!is_installed(&t, &h));
    }
}
