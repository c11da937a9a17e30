//! Where profiles come from: the built-in ones, the search folders, a name or a path.

use std::path::{Path, PathBuf};

use super::{Origin, Profile, ProfileError};

/// Environment variable naming extra folders to search for `NAME.toml`, searched first (`:`-separated).
pub const PROFILES_ENV: &str = "SAF_NET_PROFILES";

/// The profiles shipped with saf-net, compiled in so an installed binary knows them without the repository.
pub const BUILTIN: &[(&str, &str)] = &[
    ("1gbe", include_str!("../../profiles/1gbe.toml")),
    ("10gbe", include_str!("../../profiles/10gbe.toml")),
    ("10gbe-jumbo", include_str!("../../profiles/10gbe-jumbo.toml")),
    ("thunderbolt", include_str!("../../profiles/thunderbolt.toml")),
];

impl Profile {
    /// Reads a profile file; its name is the file name without `.toml`.
    pub fn load(path: &Path) -> Result<Profile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.to_path_buf(),
            cause: source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Profile::parse(&text, &name, Origin::File(path.to_path_buf()))
    }

    /// Finds a profile by name (see [`search_dirs`], then the built-in ones) or by path
    /// (anything containing `/` or ending in `.toml`).
    pub fn resolve(spec: &str) -> Result<Profile, ProfileError> {
        resolve_in(spec, &search_dirs())
    }
}

/// Folders searched for `NAME.toml`, in order: `$SAF_NET_PROFILES` (`:`-separated), `./profiles`,
/// and `profiles/` two levels above the executable (`target/debug/saf-net` in a checkout).
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(v) = std::env::var_os(PROFILES_ENV) {
        dirs.extend(std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()));
    }
    dirs.push(PathBuf::from("profiles"));
    if let Ok(exe) = std::env::current_exe()
        && let Some(root) = exe.parent().and_then(Path::parent).and_then(Path::parent)
    {
        dirs.push(root.join("profiles"));
    }
    dirs
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// [`Profile::resolve`] over the given folders.
pub fn resolve_in(spec: &str, dirs: &[PathBuf]) -> Result<Profile, ProfileError> {
    if spec.contains('/') || spec.ends_with(".toml") {
        return Profile::load(Path::new(spec));
    }
    if !valid_name(spec) {
        return Err(ProfileError::BadName(spec.to_string()));
    }
    for dir in dirs {
        let path = dir.join(format!("{spec}.toml"));
        if path.is_file() {
            return Profile::load(&path);
        }
    }
    if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == spec) {
        return Profile::parse(text, name, Origin::Builtin);
    }
    Err(ProfileError::NotFound {
        name: spec.to_string(),
        known: known_in(dirs),
    })
}

/// Every profile name found in the folders or built in, sorted.
pub fn known_in(dirs: &[PathBuf]) -> Vec<String> {
    let mut names: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml")
                && let Some(stem) = p.file_stem().map(|s| s.to_string_lossy().into_owned())
                && valid_name(&stem)
            {
                names.push(stem);
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{MINIMAL, Medium};

    #[test]
    fn every_shipped_profile_parses_and_matches_its_file() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("profiles");
        for (name, text) in BUILTIN {
            let p = Profile::parse(text, name, Origin::Builtin).unwrap();
            assert_eq!(p.schema_version, 1);
            assert!(!p.description.is_empty(), "{name} has a description");
            assert!(
                p.tune.linux.is_some() && p.tune.macos.is_some(),
                "{name} has tuning targets"
            );
            let from_file = Profile::load(&dir.join(format!("{name}.toml"))).unwrap();
            assert_eq!(from_file.link, p.link);
        }
        let shipped: Vec<_> = known_in(&[dir]);
        assert_eq!(shipped, ["10gbe", "10gbe-jumbo", "1gbe", "thunderbolt"]);
    }

    #[test]
    fn shipped_profiles_have_the_documented_links_and_ceilings() {
        let cases = [
            ("1gbe", 1000.0, 1500, 941.5),
            ("10gbe", 10_000.0, 1500, 9414.8),
            ("10gbe-jumbo", 10_000.0, 9000, 9900.4),
            ("thunderbolt", 40_000.0, 9000, 39_601.7),
        ];
        for (name, rate, mtu, ceiling) in cases {
            let p = resolve_in(name, &[]).unwrap();
            assert_eq!(p.origin, Origin::Builtin);
            assert_eq!((p.link.line_rate_mbps, p.link.mtu), (rate, mtu));
            assert!(
                (p.ceiling_mbps() - ceiling).abs() < 0.05,
                "{name}: {}",
                p.ceiling_mbps()
            );
        }
    }

    #[test]
    fn the_thunderbolt_profile_is_a_thunderbolt_link_without_media() {
        let p = resolve_in("thunderbolt", &[]).unwrap();
        assert_eq!(p.link.medium, Medium::Thunderbolt);
        assert_eq!(p.tune.macos.as_ref().unwrap().media, None, "a bridge has no media");
        assert!(p.tune.linux.as_ref().unwrap().speed_mbps.is_none());
        assert_eq!(resolve_in("10gbe", &[]).unwrap().link.medium, Medium::Ethernet);
    }

    #[test]
    fn lookup_by_name_path_and_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("lab-2g5.toml"), MINIMAL.replace("1000", "2500")).unwrap();
        let dirs = vec![dir.path().to_path_buf()];
        let p = resolve_in("lab-2g5", &dirs).unwrap();
        assert_eq!((p.name.as_str(), p.link.line_rate_mbps), ("lab-2g5", 2500.0));
        let by_path = dir.path().join("lab-2g5.toml");
        assert_eq!(resolve_in(by_path.to_str().unwrap(), &[]).unwrap().name, "lab-2g5");
        match resolve_in("nosuch", &dirs).unwrap_err() {
            ProfileError::NotFound { known, .. } => {
                assert_eq!(known, ["10gbe", "10gbe-jumbo", "1gbe", "lab-2g5", "thunderbolt"]);
            }
            e => panic!("{e}"),
        }
        let msg = resolve_in("nosuch", &dirs).unwrap_err().to_string();
        assert_eq!(
            msg,
            "unknown profile 'nosuch'; known profiles: 10gbe, 10gbe-jumbo, 1gbe, lab-2g5, thunderbolt"
        );
        assert!(matches!(resolve_in("../x", &[]), Err(ProfileError::Io { .. })));
        assert!(matches!(resolve_in("a b", &[]), Err(ProfileError::BadName(_))));
    }

    #[test]
    fn a_folder_profile_shadows_a_builtin_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("1gbe.toml"), MINIMAL.replace("1500", "1400")).unwrap();
        let p = resolve_in("1gbe", &[dir.path().to_path_buf()]).unwrap();
        assert_eq!(p.link.mtu, 1400);
        assert!(matches!(p.origin, Origin::File(_)));
    }
}
