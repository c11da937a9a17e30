//! The plan: current → target for each setting, with the exact command that makes the change.
//! Settings already at their target get no command, so applying the same profile twice changes
//! nothing the second time.
//!
//! Here: what a plan holds and [`build`]. `interface.rs`: the MTU, media and link changes and the
//! warnings of an apply; `sysctls.rs`: the sysctl changes, in a safe order; `check.rs`: the targets
//! checked against what the interface accepts, and what still differs after a change.

mod check;
mod interface;
mod sysctls;

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

pub use check::{mismatches, validate};

use super::backend::{Backend, BackendKind, Persistence};
use super::settings::{Desired, MemberTarget, Port, Reading};
use crate::runner::Cmd;

/// What a change is made to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Interface,
    Sysctl,
}

fn as_text<S: Serializer>(c: &Cmd, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.to_string())
}

/// One setting to change, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub scope: Scope,
    /// "mtu", "media", "link", or the sysctl's name.
    pub setting: String,
    pub from: String,
    pub to: String,
    #[serde(serialize_with = "as_text")]
    pub command: Cmd,
    pub persistence: Persistence,
}

/// Everything one apply, rollback or revert does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub backend: BackendKind,
    /// None when only sysctls are planned.
    pub port: Option<Port>,
    pub changes: Vec<Change>,
    /// Settings already at their target: (setting, value).
    pub unchanged: Vec<(String, String)>,
    /// Targets left alone, and why.
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// How to build a plan.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where `--persist` writes the sysctls, when it was given.
    pub persist_to: Option<String>,
    /// The file `--persist` would write [default: the backend's].
    pub sysctl_conf: Option<String>,
    /// What the boot-time sysctl file already sets: name → value.
    pub at_boot: BTreeMap<String, String>,
    /// The profile's line rate, to warn when the link runs below it.
    pub expected_mbps: Option<u32>,
    /// Applying a profile (warnings and checks) rather than restoring a snapshot.
    pub applying: bool,
}

/// What is wanted of bridge member `name`: its own target when restoring, else the bridge's MTU.
fn member_target(desired: &Desired, name: &str) -> MemberTarget {
    desired.members.get(name).cloned().unwrap_or(MemberTarget {
        mtu: desired.mtu,
        automatic: false,
    })
}

/// The plan from `reading` (None: sysctls only) and the sysctl values `now` to `desired`.
pub fn build(
    backend: &dyn Backend,
    reading: Option<&Reading>,
    now: &BTreeMap<String, String>,
    desired: &Desired,
    opts: &Options,
) -> Plan {
    let mut plan = Plan {
        backend: backend.kind(),
        port: reading.map(|r| r.port.clone()),
        changes: Vec::new(),
        unchanged: Vec::new(),
        notes: Vec::new(),
        warnings: Vec::new(),
    };
    if let Some(reading) = reading {
        interface::changes(backend, reading, desired, opts, &mut plan);
    }
    let conf = opts.sysctl_conf.as_deref().unwrap_or(backend.default_sysctl_conf());
    sysctls::changes(now, desired, opts, conf, &mut plan);
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::linux::{Linux, parse_ethtool};
    use crate::tune::macos::Macos;
    use crate::tune::settings::{LinkTarget, MediaInfo, MtuInfo};

    fn mac_reading(mtu: u32, media: &str) -> Reading {
        Reading {
            port: Port {
                name: "Thunderbolt Ethernet Slot 1".into(),
                device: "en5".into(),
                mac: None,
            },
            mtu: MtuInfo {
                active: mtu,
                configured: mtu,
                min: Some(1280),
                max: Some(9000),
            },
            media: Some(MediaInfo {
                current: media.into(),
                active: "10Gbase-T <full-duplex>".into(),
                valid: vec!["autoselect".into(), "10Gbase-T <full-duplex>".into()],
            }),
            link: None,
            link_error: None,
            media_error: None,
            members: Vec::new(),
        }
    }

    fn sysctls(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_plan_has_exact_commands_and_caps_go_first_when_raised() {
        let desired = Desired {
            mtu: Some(9000),
            media: Some("autoselect".into()),
            link: None,
            sysctls: sysctls(&[
                ("kern.ipc.maxsockbuf", "16777216"),
                ("net.inet.tcp.sendspace", "1048576"),
            ]),
            ..Default::default()
        };
        let now = sysctls(&[("kern.ipc.maxsockbuf", "8388608"), ("net.inet.tcp.sendspace", "131072")]);
        let p = build(
            &Macos,
            Some(&mac_reading(1500, "autoselect")),
            &now,
            &desired,
            &Options::default(),
        );
        let cmds: Vec<String> = p.changes.iter().map(|c| c.command.to_string()).collect();
        assert_eq!(
            cmds,
            [
                "networksetup -setMTU 'Thunderbolt Ethernet Slot 1' 9000",
                "sysctl -w kern.ipc.maxsockbuf=16777216",
                "sysctl -w net.inet.tcp.sendspace=1048576",
            ]
        );
        assert!(p.changes[0].persistence.survives_reboot);
        assert!(!p.changes[1].persistence.survives_reboot);
        assert_eq!(p.unchanged, [("media".to_string(), "autoselect".to_string())]);
        // Restoring lowers the cap last.
        let back = Desired {
            sysctls: now.clone(),
            ..Default::default()
        };
        let p = build(&Macos, None, &desired.sysctls, &back, &Options::default());
        assert_eq!(p.changes[0].setting, "net.inet.tcp.sendspace");
        assert_eq!(p.changes[1].setting, "kern.ipc.maxsockbuf");
    }

    #[test]
    fn nothing_to_do_means_no_command() {
        let desired = Desired {
            mtu: Some(9000),
            media: Some("autoselect".into()),
            link: None,
            sysctls: sysctls(&[("kern.ipc.maxsockbuf", "16777216")]),
            ..Default::default()
        };
        let p = build(
            &Macos,
            Some(&mac_reading(9000, "autoselect")),
            &desired.sysctls,
            &desired,
            &Options::default(),
        );
        assert!(p.is_empty());
        assert_eq!(p.unchanged.len(), 3);
        assert!(mismatches(Some(&mac_reading(9000, "autoselect")), &desired.sysctls, &desired).is_empty());
        let off = mismatches(Some(&mac_reading(1500, "autoselect")), &desired.sysctls, &desired);
        assert_eq!(
            off,
            ["mtu of \"Thunderbolt Ethernet Slot 1\" (en5) is 1500, wanted 9000"]
        );
    }

    #[test]
    fn bad_targets_are_refused_with_the_valid_values() {
        let r = mac_reading(1500, "autoselect");
        let d = Desired {
            mtu: Some(9216),
            ..Default::default()
        };
        assert_eq!(
            validate(&Macos, &r, &d).unwrap_err().to_string(),
            "MTU 9216 is outside the valid range 1280-9000 of \"Thunderbolt Ethernet Slot 1\" (en5) \
(from `networksetup -listValidMTURange 'Thunderbolt Ethernet Slot 1'`)"
        );
        let d = Desired {
            media: Some("10GbaseT <full-duplex>".into()),
            ..Default::default()
        };
        assert_eq!(
            validate(&Macos, &r, &d).unwrap_err().to_string(),
            "media '10GbaseT <full-duplex>' is not valid for \"Thunderbolt Ethernet Slot 1\" (en5); \
valid media: autoselect | 10Gbase-T <full-duplex>"
        );
    }

    #[test]
    fn forced_ten_gig_warns() {
        let d = Desired {
            media: Some("10Gbase-T <full-duplex>".into()),
            ..Default::default()
        };
        let opts = Options {
            applying: true,
            ..Default::default()
        };
        let p = build(
            &Macos,
            Some(&mac_reading(1500, "autoselect")),
            &BTreeMap::new(),
            &d,
            &opts,
        );
        assert_eq!(
            p.changes[0].command.args,
            ["-setMedia", "Thunderbolt Ethernet Slot 1", "10Gbase-T", "full-duplex"]
        );
        assert!(p.warnings[0].contains("turns autonegotiation off"), "{:?}", p.warnings);
    }

    #[test]
    fn a_veth_keeps_its_link_and_says_why() {
        let veth = "Settings for va:\n\tSupported link modes:   Not reported\n\tSupports auto-negotiation: No\n\
\tAdvertised link modes:  Not reported\n\tSpeed: 10000Mb/s\n\tDuplex: Full\n\tAuto-negotiation: off\n";
        let r = Reading {
            port: Port {
                name: "va".into(),
                device: "va".into(),
                mac: None,
            },
            mtu: MtuInfo {
                active: 1500,
                configured: 1500,
                min: Some(68),
                max: Some(65535),
            },
            media: None,
            link: Some(parse_ethtool(veth)),
            link_error: None,
            media_error: None,
            members: Vec::new(),
        };
        let mut d = Desired {
            mtu: Some(9000),
            link: Some(LinkTarget {
                autoneg: Some(true),
                speed_mbps: Some(10_000),
                duplex: Some("full".into()),
                advertise: None,
            }),
            ..Default::default()
        };
        let p = build(&Linux, Some(&r), &BTreeMap::new(), &d, &Options::default());
        assert_eq!(p.changes.len(), 1, "only the MTU");
        assert_eq!(p.changes[0].command.to_string(), "ip link set dev va mtu 9000");
        assert_eq!(p.unchanged[0].0, "link", "10000 full is what the veth runs at");
        d.link.as_mut().unwrap().speed_mbps = Some(1000);
        let p = build(&Linux, Some(&r), &BTreeMap::new(), &d, &Options::default());
        assert!(
            p.notes.iter().any(|n| n.contains("no link modes to set")),
            "{:?}",
            p.notes
        );
        assert_eq!(p.changes.len(), 1);
    }
}
