//! Lab names, the namespace names derived from them, and the lab's private addresses.
//!
//! A lab called NAME owns three network namespaces, `safnet-NAME-near`, `safnet-NAME-far` and
//! `safnet-NAME-switch`, and the subnet 10.77.K.0/24 with near = 10.77.K.1 and far = 10.77.K.2.
//! A lab of N hosts (`--hosts N`, 3 to 8) names its hosts `h1`..`hN` instead (`safnet-NAME-h3`); host
//! I always has 10.77.K.I, so near and far are hosts 1 and 2 in every lab.
//! K (1..=254) starts at a hash of NAME and moves to the next free value if another lab holds it,
//! so several labs coexist with distinct addresses. Interface names live inside the namespaces
//! (`eth0` in the hosts; `br0`, `near`, `far` in the switch), so they never clash with the host's.

use std::fmt;
use std::net::Ipv4Addr;

/// The lab used when no `--name` is given.
pub const DEFAULT_NAME: &str = "default";
/// Every lab namespace starts with this.
pub const NS_PREFIX: &str = "safnet-";
/// Longest lab name.
pub const MAX_NAME_LEN: usize = 32;
/// The lab addresses are 10.77.K.1 and 10.77.K.2.
pub const SUBNET_BASE: [u8; 2] = [10, 77];
pub const PREFIX_LEN: u8 = 24;
/// The interface of a host namespace.
pub const HOST_IF: &str = "eth0";
/// The bridge in the switch namespace.
pub const BRIDGE: &str = "br0";

/// The fewest and most hosts `--hosts` takes.
pub const MIN_HOSTS: u8 = 2;
pub const MAX_HOSTS: u8 = 8;
/// The names of hosts 1..=8 in a lab of more than two hosts.
const HOST_NAMES: [&str; MAX_HOSTS as usize] = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"];

/// One of a lab's namespaces: near and far (hosts 1 and 2 of a 2-host lab), `Host(I)` (host I of a
/// larger lab, 1..=8), the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Near,
    Far,
    Host(u8),
    Switch,
}

impl Role {
    /// The roles of a 2-host lab.
    pub const ALL: [Role; 3] = [Role::Near, Role::Far, Role::Switch];

    /// Every role a lab namespace can have.
    pub fn every() -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().chain((1..=MAX_HOSTS).map(Role::Host))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Near => "near",
            Role::Far => "far",
            Role::Host(i) => HOST_NAMES.get(usize::from(i).wrapping_sub(1)).copied().unwrap_or("h?"),
            Role::Switch => "switch",
        }
    }

    /// The role of host `index` (1-based) in a lab of `count` hosts.
    pub fn host(count: u8, index: u8) -> Role {
        match (count, index) {
            (2, 1) => Role::Near,
            (2, 2) => Role::Far,
            _ => Role::Host(index),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a lab name: 1 to 32 of letters, digits, '-' and '_', starting with a letter or digit.
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a lab name: use 1 to {MAX_NAME_LEN} letters, digits, '-' or '_', starting with a letter or digit"
        ))
    }
}

/// The namespace of `role` in lab `name`.
pub fn netns(name: &str, role: Role) -> String {
    format!("{NS_PREFIX}{name}-{role}")
}

/// The lab and role a namespace name belongs to, if it is a lab namespace.
pub fn parse_netns(ns: &str) -> Option<(String, Role)> {
    let rest = ns.strip_prefix(NS_PREFIX)?;
    Role::every().find_map(|role| {
        let name = rest.strip_suffix(role.as_str())?.strip_suffix('-')?;
        check_name(name).ok()?;
        Some((name.to_string(), role))
    })
}

/// The preferred subnet index K of a lab: FNV-1a of its name, folded into 1..=254.
pub fn preferred_subnet(name: &str) -> u8 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % 254 + 1) as u8
}

/// The first free subnet index at or after the preferred one, wrapping; None if all 254 are taken.
pub fn pick_subnet(name: &str, taken: &[u8]) -> Option<u8> {
    let start = preferred_subnet(name);
    (0..254u16)
        .map(|i| ((u16::from(start) - 1 + i) % 254 + 1) as u8)
        .find(|k| !taken.contains(k))
}

/// Host `index`'s address in subnet K: 10.77.K.index.
pub fn host_addr(k: u8, index: u8) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET_BASE[0], SUBNET_BASE[1], k, index)
}

/// The near host's address in subnet K.
pub fn near_addr(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET_BASE[0], SUBNET_BASE[1], k, 1)
}

/// The far host's address in subnet K (where the lab's server listens).
pub fn far_addr(k: u8) -> Ipv4Addr {
    Ipv4Addr::new(SUBNET_BASE[0], SUBNET_BASE[1], k, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_namespaces() {
        for name in ["default", "a", "t-123-x", "my_lab", "near", "x-far"] {
            check_name(name).unwrap();
            for role in Role::ALL {
                assert_eq!(parse_netns(&netns(name, role)), Some((name.to_string(), role)));
            }
        }
        assert_eq!(parse_netns("safnet-near"), None);
        assert_eq!(parse_netns("other-x-near"), None);
        assert_eq!(parse_netns("safnet-x-middle"), None);
    }

    #[test]
    fn bad_names_are_refused() {
        for bad in ["", "-x", "a/b", "a b", "é", &"x".repeat(33)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subnets_are_stable_and_move_on_when_taken() {
        let k = preferred_subnet("default");
        assert!((1..=254).contains(&k));
        assert_eq!(preferred_subnet("default"), k);
        assert_eq!(pick_subnet("default", &[]), Some(k));
        let next = pick_subnet("default", &[k]).unwrap();
        assert_eq!(next, if k == 254 { 1 } else { k + 1 });
        let all: Vec<u8> = (1..=254).collect();
        assert_eq!(pick_subnet("default", &all), None);
        assert_eq!(near_addr(7).to_string(), "10.77.7.1");
        assert_eq!(far_addr(7).to_string(), "10.77.7.2");
        assert_eq!((host_addr(7, 1), host_addr(7, 2)), (near_addr(7), far_addr(7)));
        assert_eq!(host_addr(7, 8).to_string(), "10.77.7.8");
    }

    #[test]
    fn hosts_of_larger_labs_are_numbered_and_round_trip() {
        assert_eq!((Role::host(2, 1), Role::host(2, 2)), (Role::Near, Role::Far));
        assert_eq!(Role::host(4, 1), Role::Host(1));
        assert_eq!(netns("x", Role::host(8, 8)), "safnet-x-h8");
        for role in Role::every() {
            assert_eq!(parse_netns(&netns("a-h3", role)), Some(("a-h3".to_string(), role)));
        }
        assert_eq!(parse_netns("safnet-x-h9"), None);
        assert_eq!(parse_netns("safnet-x-h0"), None);
        let mut roles = vec![Role::Switch, Role::Host(3), Role::Far, Role::Host(1)];
        roles.sort();
        assert_eq!(roles, [Role::Far, Role::Host(1), Role::Host(3), Role::Switch]);
    }
}
