//! Subcommand entry points: arguments in, work done, output written, exit code out.

mod client;
mod compare;
mod demo;
mod lab;
mod latency;
mod mtu;
mod report;
mod server;
mod service;
mod tune;
mod validate;

pub use client::client;
pub use compare::compare;
pub use demo::demo;
pub use lab::lab;
pub use latency::latency;
pub use mtu::mtu;
pub use report::report;
pub use server::server;
pub use service::service;
pub use tune::tune;
pub use validate::validate;

/// The process exit code of a subcommand that ran.
pub type ExitCode = i32;

pub const EXIT_OK: ExitCode = 0;
/// The test ran but did not complete; partial results were printed.
pub const EXIT_INCOMPLETE: ExitCode = 3;
/// The measurement ran and diagnosed a problem on the path.
pub const EXIT_DIAGNOSED: ExitCode = 4;

/// A bad argument found after parsing; exits with code 2 like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
