//! Profile text to a [`Profile`]: strict, with every error at the file's line and column.

use super::{Origin, Profile, ProfileError};

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
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::profile::{LabSettings, MINIMAL, Validate};

    fn parse(text: &str) -> Result<Profile, ProfileError> {
        Profile::parse(text, "t", Origin::File(PathBuf::from("profiles/t.toml")))
    }

    fn parse_err(text: &str) -> String {
        parse(text).unwrap_err().to_string()
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
    fn the_rtt_limit_is_optional_and_checked() {
        assert_eq!(parse(MINIMAL).unwrap().validate.max_rtt_p99_us, None);
        let p = parse(&format!("{MINIMAL}[validate]\nmax_rtt_p99_us = 750\n")).unwrap();
        assert_eq!(p.validate.max_rtt_p99_us, Some(750.0));
        let err = parse_err(&format!("{MINIMAL}[validate]\nmax_rtt_p99_us = 0\n"));
        assert!(
            err.starts_with("profiles/t.toml:6:") && err.contains("max_rtt_p99_us 0"),
            "{err}"
        );
        assert!(!err.contains('\n'), "one line: {err}");
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
