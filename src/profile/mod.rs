//! Link profiles (`profiles/NAME.toml`): the schema, strict parsing, and lookup by name or path.
//!
//! A profile says which link a run is made on (`[link]`), how the lab emulates it (`[lab]`), what a
//! host should be tuned to for it (`[tune.linux]`, `[tune.macos]`) and which thresholds a report
//! judges runs by (`[validate]`). Unknown keys and wrong types are errors that name the file and line.
//! The format is described key by key in `docs/profiles.md`.
//!
//! `schema.rs`: the profile's tables and keys, and its ceiling. `values.rs`: the range each checked key
//! must be in. `parse.rs`: text to a [`Profile`], errors at file:line:column. `load.rs`: the built-in
//! profiles, the search folders, lookup by name or path.

mod load;
mod parse;
mod schema;
mod values;

use std::path::PathBuf;

pub use load::{BUILTIN, PROFILES_ENV, known_in, resolve_in, search_dirs};
pub use schema::{
    Duplex, LabSettings, Link, LinuxSysctl, MacosSysctl, Medium, Origin, Profile, Tune, TuneLinux, TuneMacos, Validate,
};

/// The profile format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Environment variable the client reads its `--profile` from (set by `saf-net lab exec`).
pub const PROFILE_ENV: &str = "SAF_NET_PROFILE";

/// Why a profile could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("unknown profile '{name}'; known profiles: {}", known.join(", "))]
    NotFound { name: String, known: Vec<String> },
    #[error("'{0}' is not a profile name: use letters, digits, '.', '_' and '-', or give a path to a .toml file")]
    BadName(String),
    #[error("profile {path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The smallest valid profile, for tests.
#[cfg(test)]
const MINIMAL: &str = "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n";
