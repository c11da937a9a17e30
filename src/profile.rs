//! Link profiles (`profiles/NAME.toml`): the schema, strict parsing, and lookup by name or path.
//!
//! A profile says which link a run is made on (`[link]`), how the lab emulates it (`[lab]`), what a
//! host should be tuned to for it (`[tune.linux]`, `[tune.macos]`) and which thresholds a report
//! judges runs by (`[validate]`). Unknown keys and wrong types are errors that name the file and line.
//! The format is described key by key in `docs/profiles.md`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::model::tcp_goodput_ceiling_mbps;

/// The profile format version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Environment variable the client reads its `--profile` from (set by `saf-net lab exec`).
pub const PROFILE_ENV: &str = "SAF_NET_PROFILE";

/// Environment variable naming extra folders to search for `NAME.toml`, searched first (`:`-separated).
pub const PROFILES_ENV: &str = "SAF_NET_PROFILES";

/// The profiles shipped with saf-net, compiled in so an installed binary knows them without the repository.
pub const BUILTIN: &[(&str, &str)] = &[
    ("1gbe", include_str!("../profiles/1gbe.toml")),
    ("10gbe", include_str!("../profiles/10gbe.toml")),
    ("10gbe-jumbo", include_str!("../profiles/10gbe-jumbo.toml")),
    ("thunderbolt", include_str!("../profiles/thunderbolt.toml")),
];

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

/// Where a profile was read from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Origin {
    /// Compiled into the binary.
    #[default]
    Builtin,
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Builtin => f.write_str("built-in"),
            Origin::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// One link profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The file's name without `.toml`; not a key in the file.
    #[serde(skip)]
    pub name: String,
    #[serde(skip)]
    pub origin: Origin,
    /// Must be 1.
    #[serde(deserialize_with = "schema_version")]
    pub schema_version: u32,
    /// One line for listings.
    #[serde(default)]
    pub description: String,
    pub link: Link,
    #[serde(default)]
    pub lab: LabSettings,
    #[serde(default)]
    pub tune: Tune,
    #[serde(default)]
    pub validate: Validate,
}

/// The physical link.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// Ethernet line rate in Mbit/s (1000 for 1GbE), before preamble, header, FCS and gap.
    #[serde(deserialize_with = "line_rate")]
    pub line_rate_mbps: f64,
    /// IP MTU of the hosts, bytes (1500 standard, 9000 jumbo).
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// What carries the link: the kind of interface a run under this profile should leave by
    /// [default: ethernet]. A run that leaves by another kind (Wi-Fi, a VPN tunnel) gets a warning.
    #[serde(default)]
    pub medium: Medium,
}

/// The kind of interface a profile's link is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Medium {
    /// Copper or fibre Ethernet, through a switch or direct.
    #[default]
    Ethernet,
    /// IP over Thunderbolt (macOS's Thunderbolt Bridge, Linux's thunderbolt-net).
    Thunderbolt,
}

impl Medium {
    pub fn as_str(self) -> &'static str {
        match self {
            Medium::Ethernet => "ethernet",
            Medium::Thunderbolt => "thunderbolt",
        }
    }
}

/// How `saf-net lab` emulates the link. Every key is optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabSettings {
    /// tbf bucket size in bytes [default: 2 ms at the shaped rate, see docs/lab.md].
    #[serde(default, deserialize_with = "opt_tbf_bytes")]
    pub tbf_burst_bytes: Option<u64>,
    /// tbf queue limit in bytes [default: burst + 10 ms at the shaped rate].
    #[serde(default, deserialize_with = "opt_tbf_bytes")]
    pub tbf_limit_bytes: Option<u64>,
    /// MTU of the switch (bridge) ports [default: link.mtu]; `lab up --switch-mtu` overrides it.
    #[serde(default, deserialize_with = "opt_mtu")]
    pub switch_mtu: Option<u32>,
    /// TCP congestion control of the lab's hosts [default: cubic where a namespace may use it, else reno].
    #[serde(default, deserialize_with = "opt_algorithm")]
    pub congestion_control: Option<String>,
}

/// Host tuning targets per OS, read by `saf-net tune`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tune {
    pub linux: Option<TuneLinux>,
    pub macos: Option<TuneMacos>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Duplex {
    Full,
    Half,
}

/// Linux targets: `ip link set mtu`, `ethtool -s`, `sysctl -w`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuneLinux {
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// `ethtool -s IF speed N`; leave out to keep autonegotiation's choice.
    pub speed_mbps: Option<u32>,
    pub duplex: Option<Duplex>,
    pub autoneg: Option<bool>,
    #[serde(default)]
    pub sysctl: LinuxSysctl,
}

/// The Linux sysctls saf-net tunes. Names contain dots, so they are quoted keys in TOML.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinuxSysctl {
    #[serde(rename = "net.core.rmem_max")]
    pub rmem_max: Option<u64>,
    #[serde(rename = "net.core.wmem_max")]
    pub wmem_max: Option<u64>,
    /// min, default, max bytes.
    #[serde(rename = "net.ipv4.tcp_rmem", default, deserialize_with = "opt_triple")]
    pub tcp_rmem: Option<[u64; 3]>,
    #[serde(rename = "net.ipv4.tcp_wmem", default, deserialize_with = "opt_triple")]
    pub tcp_wmem: Option<[u64; 3]>,
}

/// macOS targets: `networksetup -setMTU` / `-setMedia`, `sysctl -w`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TuneMacos {
    #[serde(deserialize_with = "mtu")]
    pub mtu: u32,
    /// `networksetup -setMedia` subtype, e.g. "autoselect" or "10Gbase-T <full-duplex>".
    pub media: Option<String>,
    #[serde(default)]
    pub sysctl: MacosSysctl,
}

/// The macOS sysctls saf-net tunes.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MacosSysctl {
    #[serde(rename = "kern.ipc.maxsockbuf")]
    pub maxsockbuf: Option<u64>,
    #[serde(rename = "net.inet.tcp.sendspace")]
    pub sendspace: Option<u64>,
    #[serde(rename = "net.inet.tcp.recvspace")]
    pub recvspace: Option<u64>,
    #[serde(rename = "net.inet.tcp.autorcvbufmax")]
    pub autorcvbufmax: Option<u64>,
    #[serde(rename = "net.inet.tcp.autosndbufmax")]
    pub autosndbufmax: Option<u64>,
}

/// Thresholds a report judges runs on this link by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Validate {
    /// Whether the ceiling assumes TCP timestamps (on by default on Linux and macOS).
    pub tcp_timestamps: bool,
    /// A run passes at or above this fraction of the TCP goodput ceiling.
    #[serde(deserialize_with = "fraction")]
    pub min_ceiling_fraction: f64,
    /// A receiver figure more than this fraction above the ceiling is flagged as impossible on this link.
    #[serde(deserialize_with = "fraction")]
    pub max_above_ceiling_fraction: f64,
}

impl Default for Validate {
    fn default() -> Self {
        Validate {
            tcp_timestamps: true,
            min_ceiling_fraction: 0.95,
            max_above_ceiling_fraction: 0.002,
        }
    }
}

fn schema_version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v != SCHEMA_VERSION {
        return Err(de::Error::custom(format!(
            "schema_version {v} is not supported; this saf-net reads schema_version = {SCHEMA_VERSION}"
        )));
    }
    Ok(v)
}

fn line_rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(v.is_finite() && v > 0.0 && v <= 1_000_000.0) {
        return Err(de::Error::custom(format!(
            "line_rate_mbps {v} must be above 0 and at most 1000000 (1 Tbit/s)"
        )));
    }
    Ok(v)
}

const MTU_RANGE: std::ops::RangeInclusive<u32> = 576..=65_535;

fn check_mtu<E: de::Error>(v: u32) -> Result<u32, E> {
    if !MTU_RANGE.contains(&v) {
        return Err(E::custom(format!(
            "MTU {v} is outside {}..={}",
            MTU_RANGE.start(),
            MTU_RANGE.end()
        )));
    }
    Ok(v)
}

fn mtu<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    check_mtu(u32::deserialize(d)?)
}

fn opt_mtu<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    check_mtu(u32::deserialize(d)?).map(Some)
}

fn opt_algorithm<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = String::deserialize(d)?;
    if v.is_empty()
        || v.len() > 15
        || !v
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(de::Error::custom(format!(
            "'{v}' is not a congestion control name (1 to 15 of a-z, 0-9, _; e.g. cubic, reno, bbr)"
        )));
    }
    Ok(Some(v))
}

fn opt_tbf_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = u64::deserialize(d)?;
    if !(1_600..=1 << 32).contains(&v) {
        return Err(de::Error::custom(format!(
            "{v} bytes is outside 1600..=4294967296 (more than one frame, at most 4 GiB)"
        )));
    }
    Ok(Some(v))
}

fn opt_triple<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u64; 3]>, D::Error> {
    let v = <[u64; 3]>::deserialize(d)?;
    if !(v[0] <= v[1] && v[1] <= v[2]) {
        return Err(de::Error::custom(format!(
            "[{}, {}, {}] must be [min, default, max] in increasing order",
            v[0], v[1], v[2]
        )));
    }
    Ok(Some(v))
}

fn fraction<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(de::Error::custom(format!("{v} is not a fraction between 0 and 1")));
    }
    Ok(v)
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    (line, column)
}

impl Profile {
    /// Parses profile text; `name` and `origin` say what it is called and where it came from.
    pub fn parse(text: &str, name: &str, origin: Origin) -> Result<Profile, ProfileError> {
        let mut p: Profile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_column(text, s.start));
            let mut message = e.message().trim().replace('\n', " ");
            if message.contains("unknown field `net`") || message.contains("unknown field `kern`") {
                message.push_str(" (sysctl names contain dots: quote them, e.g. \"net.core.rmem_max\" = 67108864)");
            }
            let origin = match &origin {
                Origin::Builtin => format!("built-in profile {name}"),
                Origin::File(p) => p.display().to_string(),
            };
            ProfileError::Parse {
                origin,
                line,
                column,
                message,
            }
        })?;
        p.name = name.to_string();
        p.origin = origin;
        Ok(p)
    }

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

    /// The TCP goodput ceiling of this link in Mbit/s, IPv4, with the profile's timestamp setting.
    pub fn ceiling_mbps(&self) -> f64 {
        tcp_goodput_ceiling_mbps(self.link.line_rate_mbps, self.link.mtu, self.validate.tcp_timestamps)
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

    const MINIMAL: &str = "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n";

    fn parse(text: &str) -> Result<Profile, ProfileError> {
        Profile::parse(text, "t", Origin::File(PathBuf::from("profiles/t.toml")))
    }

    fn parse_err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

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
    fn minimal_profile_takes_defaults() {
        let p = parse(MINIMAL).unwrap();
        assert_eq!(p.lab, LabSettings::default());
        assert_eq!(p.validate, Validate::default());
        assert!(p.tune.linux.is_none());
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let err = parse_err(&format!("{MINIMAL}speed = 3\n"));
        assert!(err.starts_with("profiles/t.toml:5:"), "{err}");
        assert!(err.contains("unknown field `speed`"), "{err}");
        let err = parse_err("schema_version = 1\nextra = true\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n");
        assert!(err.starts_with("profiles/t.toml:2:"), "{err}");
    }

    #[test]
    fn wrong_type_names_file_and_line() {
        let err = parse_err("schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = \"big\"\n");
        assert!(err.starts_with("profiles/t.toml:4:"), "{err}");
        assert!(err.contains("invalid type"), "{err}");
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn out_of_range_values_name_the_line() {
        let err = parse_err("schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 100\n");
        assert!(
            err.starts_with("profiles/t.toml:4:") && err.contains("MTU 100"),
            "{err}"
        );
        let err = parse_err("schema_version = 2\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n");
        assert!(
            err.starts_with("profiles/t.toml:1:") && err.contains("schema_version 2"),
            "{err}"
        );
        let err = parse_err(&format!("{MINIMAL}[validate]\nmin_ceiling_fraction = 1.5\n"));
        assert!(err.starts_with("profiles/t.toml:6:"), "{err}");
        let err = parse_err(&format!(
            "{MINIMAL}[tune.linux]\nmtu = 1500\n[tune.linux.sysctl]\n\"net.ipv4.tcp_rmem\" = [9, 2, 1]\n"
        ));
        assert!(
            err.starts_with("profiles/t.toml:8:") && err.contains("increasing"),
            "{err}"
        );
    }

    #[test]
    fn missing_sections_and_unknown_os_are_errors() {
        assert!(parse_err("schema_version = 1\n").contains("missing field `link`"));
        let err = parse_err(&format!("{MINIMAL}[tune.windows]\nmtu = 1500\n"));
        assert!(
            err.starts_with("profiles/t.toml:5:") && err.contains("windows"),
            "{err}"
        );
    }

    #[test]
    fn unquoted_sysctl_names_get_a_hint() {
        let err = parse_err(&format!(
            "{MINIMAL}[tune.linux]\nmtu = 1500\n[tune.linux.sysctl]\nnet.core.rmem_max = 1\n"
        ));
        assert!(err.contains("quote them"), "{err}");
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

    #[test]
    fn lab_congestion_control_is_a_plain_algorithm_name() {
        let ok = parse(
            "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n[lab]\ncongestion_control = \"bbr\"\n",
        )
        .unwrap();
        assert_eq!(ok.lab.congestion_control.as_deref(), Some("bbr"));
        let err = parse_err(
            "schema_version = 1\n[link]\nline_rate_mbps = 1000\nmtu = 1500\n[lab]\ncongestion_control = \"Cubic; rm\"\n",
        );
        assert!(
            err.contains(":6:") && err.contains("not a congestion control name"),
            "{err}"
        );
    }
}
