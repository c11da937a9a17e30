//! `lab up --hosts N --host-rate K=MBPS --host-mtu K=MTU`: a lab's hosts, checked and laid out.
//!
//! Without `--hosts` a lab is today's two hosts, near and far, with one server (in far) and no key.
//! With `--hosts N` (2 to 8) every host runs a server that requires the lab key, and every host's port
//! is shaped in both directions: on the switch side toward the host, and on the host's own `eth0` (its
//! NIC), so a host that sends to several others at once still has one port's rate. `--hosts 2` keeps
//! the names near and far; larger labs name their hosts h1..hN. Host K's rate and MTU may differ from
//! the profile's: a slower port (`--host-rate`), a misconfigured MTU (`--host-mtu`).

use std::collections::BTreeMap;

use super::LabError;
use super::names::{self, MAX_HOSTS, MIN_HOSTS, Role};
use super::shaping::Tbf;
use super::state::Host;
use crate::profile::Profile;

/// The MTUs `--host-mtu` takes (IPv4's minimum; the largest an interface has), as `--switch-mtu`.
pub const MIN_MTU: u32 = 576;
pub const MAX_MTU: u32 = 65_535;
/// The slowest port `--host-rate` takes, Mbit/s.
pub const MIN_RATE_MBPS: f64 = 1.0;

/// `--hosts`, `--host-rate` and `--host-mtu` as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostsInput {
    pub count: Option<u8>,
    /// `K=MBPS` each.
    pub rates: Vec<String>,
    /// `K=MTU` each.
    pub mtus: Vec<String>,
}

/// The hosts, checked: how many, and each one's rate and MTU where it differs from the profile's.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub count: u8,
    /// Built with `--hosts`: a server and the lab key in every host, every port shaped both ways.
    pub switched: bool,
    pub rates: BTreeMap<u8, f64>,
    pub mtus: BTreeMap<u8, u32>,
}

fn bad(msg: String) -> LabError {
    LabError::Hosts(msg)
}

/// Splits `K=VALUE` items into a map by host, each K in 1..=count and named once.
fn per_host<T>(
    flag: &str,
    example: &str,
    items: &[String],
    count: u8,
    value: impl Fn(&str) -> Option<T>,
) -> Result<BTreeMap<u8, T>, LabError> {
    let mut map = BTreeMap::new();
    for item in items {
        let parsed = item
            .split_once('=')
            .and_then(|(k, v)| Some((k.trim().parse::<u8>().ok()?, v.trim())));
        let Some((k, v)) = parsed else {
            return Err(bad(format!(
                "{flag} '{item}' is not {example}: a host number, '=', and its value"
            )));
        };
        if !(1..=count).contains(&k) {
            return Err(bad(format!(
                "{flag} {item}: there is no host {k}; this lab's hosts are 1 to {count}"
            )));
        }
        let v = value(v).ok_or_else(|| bad(format!("{flag} {item}: '{v}' is not a number")))?;
        if map.insert(k, v).is_some() {
            return Err(bad(format!("{flag} names host {k} twice; give each host once")));
        }
    }
    Ok(map)
}

impl HostsInput {
    /// Checks the flags against each other and the profile.
    pub fn layout(&self, p: &Profile) -> Result<Layout, LabError> {
        let Some(count) = self.count else {
            if let Some(flag) = [(&self.rates, "--host-rate"), (&self.mtus, "--host-mtu")]
                .into_iter()
                .find_map(|(v, f)| (!v.is_empty()).then_some(f))
            {
                return Err(bad(format!(
                    "{flag} needs --hosts N (hosts are numbered 1 to N; --hosts 2 for near and far)"
                )));
            }
            return Ok(Layout {
                count: 2,
                switched: false,
                rates: BTreeMap::new(),
                mtus: BTreeMap::new(),
            });
        };
        if !(MIN_HOSTS..=MAX_HOSTS).contains(&count) {
            return Err(bad(format!(
                "--hosts {count} is outside {MIN_HOSTS}..={MAX_HOSTS}: a lab has 2 to 8 hosts"
            )));
        }
        let line = p.link.line_rate_mbps;
        let rates = per_host("--host-rate", "K=MBPS", &self.rates, count, |v| v.parse::<f64>().ok())?;
        if let Some((k, r)) = rates.iter().find(|(_, r)| !(MIN_RATE_MBPS..=line).contains(*r)) {
            return Err(bad(format!(
                "--host-rate {k}={r}: a port's rate is {MIN_RATE_MBPS} Mbit/s to the profile's line rate, {line} Mbit/s"
            )));
        }
        let mtus = per_host("--host-mtu", "K=MTU", &self.mtus, count, |v| v.parse::<u32>().ok())?;
        if let Some((k, m)) = mtus.iter().find(|(_, m)| !(MIN_MTU..=MAX_MTU).contains(*m)) {
            return Err(bad(format!("--host-mtu {k}={m} is outside {MIN_MTU}..={MAX_MTU}")));
        }
        Ok(Layout {
            count,
            switched: true,
            rates,
            mtus,
        })
    }
}

impl Layout {
    /// The hosts of lab `lab` in subnet index `k` (without servers yet).
    pub fn hosts(&self, lab: &str, k: u8, p: &Profile) -> Vec<Host> {
        (1..=self.count)
            .map(|index| {
                let role = Role::host(self.count, index);
                let rate = self.rates.get(&index).copied().unwrap_or(p.link.line_rate_mbps);
                let mtu = self.mtus.get(&index).copied().unwrap_or(p.link.mtu);
                // The profile's tbf overrides are sized for its rate; a slower port gets the derived ones.
                let (burst, limit) = if rate == p.link.line_rate_mbps {
                    (p.lab.tbf_burst_bytes, p.lab.tbf_limit_bytes)
                } else {
                    (None, None)
                };
                Host {
                    index,
                    name: role.as_str().into(),
                    namespace: names::netns(lab, role),
                    address: names::host_addr(k, index),
                    rate_mbps: rate,
                    mtu,
                    tbf: Tbf::for_link(rate, mtu, burst, limit),
                    server: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> Profile {
        crate::profile::resolve_in(name, &[]).unwrap()
    }

    fn input(count: Option<u8>, rates: &[&str], mtus: &[&str]) -> HostsInput {
        HostsInput {
            count,
            rates: rates.iter().map(|s| s.to_string()).collect(),
            mtus: mtus.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn err(i: HostsInput, profile_name: &str) -> String {
        match i.layout(&profile(profile_name)) {
            Err(LabError::Hosts(m)) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn without_hosts_the_lab_is_near_and_far_as_before() {
        let l = input(None, &[], &[]).layout(&profile("1gbe")).unwrap();
        assert_eq!((l.count, l.switched), (2, false));
        let p = profile("10gbe-jumbo");
        let hosts = l.hosts("x", 7, &p);
        let names: Vec<(&str, &str, String)> = hosts
            .iter()
            .map(|h| (h.name.as_str(), h.namespace.as_str(), h.address.to_string()))
            .collect();
        assert_eq!(
            names,
            [
                ("near", "safnet-x-near", "10.77.7.1".into()),
                ("far", "safnet-x-far", "10.77.7.2".into())
            ]
        );
        assert!(hosts.iter().all(|h| h.tbf == Tbf::for_profile(&p) && h.mtu == 9000));
    }

    #[test]
    fn per_host_rates_and_mtus_shape_their_own_port() {
        let p = profile("1gbe");
        let l = input(Some(4), &["3=100"], &["2=1400"]).layout(&p).unwrap();
        assert!(l.switched);
        let hosts = l.hosts("m", 9, &p);
        assert_eq!(hosts.len(), 4);
        assert_eq!(
            (hosts[0].name.as_str(), hosts[3].namespace.as_str()),
            ("h1", "safnet-m-h4")
        );
        assert_eq!(hosts[3].address.to_string(), "10.77.9.4");
        assert_eq!(hosts[2].tbf, Tbf::for_link(100.0, 1500, None, None));
        assert_eq!((hosts[2].rate_mbps, hosts[2].mtu), (100.0, 1500));
        assert_eq!(hosts[1].tbf, Tbf::for_link(1000.0, 1400, None, None));
        assert_eq!(hosts[0].tbf, Tbf::for_profile(&p));
        let two = input(Some(2), &[], &[]).layout(&p).unwrap().hosts("m", 9, &p);
        assert_eq!((two[0].name.as_str(), two[1].name.as_str()), ("near", "far"));
    }

    #[test]
    fn bad_host_flags_are_one_clear_sentence() {
        let cases: [(HostsInput, &str); 10] = [
            (input(Some(1), &[], &[]), "--hosts 1 is outside 2..=8"),
            (input(Some(9), &[], &[]), "--hosts 9 is outside 2..=8"),
            (
                input(Some(4), &["5=100"], &[]),
                "--host-rate 5=100: there is no host 5; this lab's hosts are 1 to 4",
            ),
            (input(Some(4), &["0=100"], &[]), "there is no host 0"),
            (
                input(Some(4), &["3=100", "3=200"], &[]),
                "--host-rate names host 3 twice",
            ),
            (
                input(Some(4), &["3=0"], &[]),
                "--host-rate 3=0: a port's rate is 1 Mbit/s to the profile's line rate, 1000 Mbit/s",
            ),
            (input(Some(4), &["3=2000"], &[]), "--host-rate 3=2000: a port's rate"),
            (input(Some(4), &["3:100"], &[]), "--host-rate '3:100' is not K=MBPS"),
            (
                input(Some(4), &[], &["2=100"]),
                "--host-mtu 2=100 is outside 576..=65535",
            ),
            (input(None, &[], &["2=1500"]), "--host-mtu needs --hosts N"),
        ];
        for (i, want) in cases {
            let m = err(i, "1gbe");
            assert!(m.contains(want), "{m} / {want}");
            assert!(!m.contains('\n'));
        }
        assert!(err(input(Some(4), &["3=fast"], &[]), "1gbe").contains("'fast' is not a number"));
        assert!(err(input(None, &["3=1"], &[]), "1gbe").starts_with("--host-rate needs --hosts N"));
    }
}
