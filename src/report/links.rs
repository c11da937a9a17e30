//! Which link a history row was measured on, from its profile name.
//!
//! TEMPORARY: a built-in table of the three known profiles. It will be replaced by the profile loader
//! (`profiles/*.toml`, `[link]` section with `line_rate_mbps` and `mtu`) once that lands; this function is the
//! one place to change. A row with an empty or unknown profile gets no link, and so no ceiling: the report
//! says so instead of guessing.

use crate::model::Link;

/// The known profiles: name, line rate (Mbit/s), MTU.
const KNOWN: [(&str, f64, u32); 3] = [
    ("1gbe", 1000.0, 1500),
    ("10gbe", 10_000.0, 1500),
    ("10gbe-jumbo", 10_000.0, 9000),
];

/// The link a profile describes, or None for an empty or unknown profile.
pub fn link_for_profile(name: &str) -> Option<Link> {
    let name = name.trim();
    KNOWN
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, rate, mtu)| Link::new(rate, mtu))
}

/// Names of the profiles this table knows, for messages.
pub fn known_profiles() -> Vec<&'static str> {
    KNOWN.iter().map(|(n, _, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_three_profiles_and_nothing_else() {
        assert_eq!(link_for_profile("1gbe"), Some(Link::new(1000.0, 1500)));
        assert_eq!(link_for_profile("10gbe"), Some(Link::new(10_000.0, 1500)));
        assert_eq!(link_for_profile(" 10GbE-Jumbo "), Some(Link::new(10_000.0, 9000)));
        assert_eq!(link_for_profile(""), None);
        assert_eq!(link_for_profile("loopback"), None);
        assert_eq!(known_profiles().len(), 3);
    }
}
