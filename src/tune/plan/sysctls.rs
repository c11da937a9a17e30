//! A plan's sysctl changes, in an order that keeps every buffer size within its cap.

use std::collections::BTreeMap;

use super::{Change, Options, Plan, Scope};
use crate::tune::backend::{Persistence, sysctl_persistence};
use crate::tune::settings::Desired;
use crate::tune::sysctl;

/// The sysctl changes: raised caps first and lowered caps last, so no value ever exceeds its cap.
pub(super) fn changes(now: &BTreeMap<String, String>, desired: &Desired, opts: &Options, conf: &str, plan: &mut Plan) {
    let mut raise_caps = Vec::new();
    let mut others = Vec::new();
    let mut lower_caps = Vec::new();
    for (name, want) in &desired.sysctls {
        let have = now.get(name).map(String::as_str).unwrap_or("");
        if have == want {
            plan.unchanged.push((name.clone(), want.clone()));
            continue;
        }
        let persistence = match &opts.persist_to {
            Some(file) => Persistence {
                survives_reboot: true,
                note: format!("--persist writes it to {file}"),
            },
            None => sysctl_persistence(conf, opts.at_boot.get(name).map(String::as_str), Some(want)),
        };
        let change = Change {
            scope: Scope::Sysctl,
            setting: name.clone(),
            from: have.to_string(),
            to: want.clone(),
            command: sysctl::write_command(name, want),
            persistence,
        };
        let lowering = match (have.parse::<u64>(), want.parse::<u64>()) {
            (Ok(h), Ok(w)) => w < h,
            _ => false,
        };
        match (sysctl::is_cap(name), lowering) {
            (true, false) => raise_caps.push(change),
            (true, true) => lower_caps.push(change),
            _ => others.push(change),
        }
    }
    plan.changes.extend(raise_caps);
    plan.changes.extend(others);
    plan.changes.extend(lower_caps);
}
