//! Which implementation a [`BackendKind`] means: the one file that names both backends, so that
//! `backend.rs` (which `linux.rs` and `macos.rs` import) imports neither of them.

use super::backend::{Backend, BackendKind};
use super::linux::Linux;
use super::macos::Macos;

impl BackendKind {
    /// The backend itself.
    pub fn backend(self) -> &'static dyn Backend {
        match self {
            BackendKind::Macos => &Macos,
            BackendKind::Linux => &Linux,
        }
    }
}
