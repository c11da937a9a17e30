//! Whether a library error is the user's input or a failure to do the work: the one question the binary's edge
//! asks of every module's error (tune, lab, service), kept outside `cmd/` so those modules need not import it.

/// A library module's error that knows whose it is: the user's input, or the system's.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    /// Whether the error is the user's input (exit code 2) rather than a failure to do the work (exit code 1).
    fn is_usage(&self) -> bool;
}
