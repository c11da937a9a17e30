//! `saf-net service`: `saf-net server` as a service the OS starts by itself — a launchd job on macOS,
//! a systemd unit on Linux.
//!
//! Everything here is plain code that runs on any OS: choosing the file's place ([`Target`]), writing
//! the file ([`render`]), and the steps that install or remove it ([`install_steps`],
//! [`uninstall_steps`]) as data. [`apply`] carries the steps out; every external command goes
//! through [`runner::Runner`], which executes, prints (dry run) or records. The only OS call is the
//! effective uid, in `platform`. [`workflow`] puts these together for each subcommand (`cmd/service.rs`
//! parses and prints), [`text`] is how the results read.
//!
//! Files: `format.rs` (launchd or systemd, system or user), `target.rs` (the host, the service meant),
//! `spec.rs` (what it runs, the key file), `step.rs` (steps as data), `manager.rs` (what depends on the
//! manager: paths, file, steps, status), `launchd.rs`, `systemd.rs`, `apply.rs` (carrying steps out),
//! `status.rs`, `error.rs`.

mod apply;
mod error;
mod format;
pub mod launchd;
mod manager;
mod spec;
mod status;
mod step;
pub mod systemd;
mod target;
pub mod text;
pub mod workflow;

pub use crate::runner;

pub use apply::{apply, is_installed};
pub use error::ServiceError;
pub use format::{Format, Role, Scope};
pub use manager::{install_steps, render, status, uninstall_steps};
pub use spec::{Spec, check_key_file};
pub use status::Status;
pub use step::{Run, Step};
pub use target::{Host, Target};

/// Environment variable naming a directory that every file path is placed under (like `DESTDIR`
/// in packaging), so tests can install a system-wide service without touching the real system.
/// The file's contents and the service manager commands still name the real paths.
pub const DESTDIR_ENV: &str = "SAF_NET_SERVICE_DESTDIR";

/// A Mac user's host, for tests.
#[cfg(test)]
fn test_host() -> Host {
    Host {
        uid: Some(501),
        home: Some("/Users/ann".into()),
        xdg_config_home: None,
        destdir: None,
    }
}
