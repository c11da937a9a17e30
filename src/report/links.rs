//! Which link a history row was measured on, from its profile name, through the profile loader
//! ([`crate::profile`]: `$SAF_NET_PROFILES`, `./profiles`, the checkout's `profiles/`, then the built-ins).
//!
//! A row with an empty profile gets no link, and so no ceiling. An unknown or unreadable profile does not fail the
//! report either: its runs get no ceiling, and the report says why once per profile.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::model::Link;
use crate::profile::{self, ProfileError};

/// The profile `saf-net demo` records: loopback has no wire, so no ceiling, and that is expected, not a warning.
pub const LOOPBACK: &str = "loopback";

/// Profile lookups for one report, each name resolved once.
#[derive(Debug, Default)]
pub struct Links {
    dirs: Vec<PathBuf>,
    cache: HashMap<String, Result<Link, String>>,
}

impl Links {
    /// Looks profiles up where `--profile` does.
    pub fn new() -> Self {
        Self::with_dirs(profile::search_dirs())
    }

    /// Looks profiles up in `dirs`, then the built-ins.
    pub fn with_dirs(dirs: Vec<PathBuf>) -> Self {
        Links {
            dirs,
            cache: HashMap::new(),
        }
    }

    /// The link of profile `name`: `Ok(None)` for an empty name or [`LOOPBACK`], `Err` with the loader's one-line reason for an
    /// unknown or unreadable profile. A name is tried as written, then in lower case (`10GbE` is `10gbe`).
    pub fn link(&mut self, name: &str) -> Result<Option<Link>, String> {
        let name = name.trim();
        if name.is_empty() || name == LOOPBACK {
            return Ok(None);
        }
        if let Some(r) = self.cache.get(name) {
            return r.clone().map(Some);
        }
        let r = match profile::resolve_in(name, &self.dirs) {
            Err(ProfileError::NotFound { .. }) if name.to_ascii_lowercase() != name => {
                profile::resolve_in(&name.to_ascii_lowercase(), &self.dirs)
            }
            r => r,
        }
        .map(|p| Link::new(p.link.line_rate_mbps, p.link.mtu))
        .map_err(|e| e.to_string());
        self.cache.insert(name.to_string(), r.clone());
        r.map(Some)
    }
}

/// The link a profile describes, or None for an empty, unknown or unreadable profile.
pub fn link_for_profile(name: &str) -> Option<Link> {
    Links::new().link(name).ok().flatten()
}

/// Names of the profiles the loader finds, for messages.
pub fn known_profiles() -> Vec<String> {
    profile::known_in(&profile::search_dirs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_and_files_in_the_search_dirs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("lab25g.toml"),
            "schema_version = 1\n[link]\nline_rate_mbps = 25000\nmtu = 9000\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("broken.toml"),
            "schema_version = 1\n[link]\nmtu = 9000\n",
        )
        .unwrap();
        let mut l = Links::with_dirs(vec![dir.path().to_path_buf()]);
        assert_eq!(l.link("1gbe"), Ok(Some(Link::new(1000.0, 1500))));
        assert_eq!(l.link("10gbe"), Ok(Some(Link::new(10_000.0, 1500))));
        assert_eq!(l.link(" 10GbE-Jumbo "), Ok(Some(Link::new(10_000.0, 9000))));
        assert_eq!(l.link("lab25g"), Ok(Some(Link::new(25_000.0, 9000))));
        assert_eq!(l.link(""), Ok(None));
        assert_eq!(l.link(LOOPBACK), Ok(None), "the demo's runs: no ceiling, no warning");
        let e = l.link("fibre").unwrap_err();
        assert!(e.starts_with("unknown profile 'fibre'; known profiles: "), "{e}");
        assert!(e.contains("lab25g"), "{e}");
        let e = l.link("broken").unwrap_err();
        assert!(e.contains("broken.toml:2:1"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
