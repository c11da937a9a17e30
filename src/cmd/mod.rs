//! Subcommand entry points: arguments in, work done, output written, exit code out.

mod client;
mod demo;
mod lab;
mod server;

pub use client::client;
pub use demo::demo;
pub use lab::lab;
pub use server::server;

/// The process exit code of a subcommand that ran.
pub type ExitCode = i32;

pub const EXIT_OK: ExitCode = 0;
/// The test ran but did not complete; partial results were printed.
pub const EXIT_INCOMPLETE: ExitCode = 3;

/// A bad argument found after parsing; exits with code 2 like clap's own errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
