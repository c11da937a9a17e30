//! Which TCP congestion control the lab's hosts use.
//!
//! The lab stands for the cluster's machines, not for the one it runs on: Linux and macOS both default
//! to cubic, so the hosts do too. A network namespace may only take as its default an algorithm
//! listed in `net.ipv4.tcp_allowed_congestion_control` (a machine-wide list the lab leaves alone);
//! where cubic is not listed the hosts use reno, which cubic equals at the lab's microsecond round
//! trips (cubic's "TCP-friendly" region). Inheriting the machine's own choice would import its quirks:
//! bbr without the fq qdisc paces every segment with a kernel timer, which on a 2-vCPU VM held a 10 GbE
//! lab to ~93 % of its ceiling where reno reached 99.8 % (docs/lab.md).

use super::LabError;

/// What the lab uses when neither the profile nor `lab up --congestion` says.
pub const PREFERRED: &str = "cubic";
/// Always allowed in every namespace.
pub const FALLBACK: &str = "reno";

/// The machine's algorithm lists, from /proc/sys/net/ipv4.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lists {
    pub available: Vec<String>,
    pub allowed: Vec<String>,
}

impl Lists {
    /// Reads both lists; missing files (not Linux) give empty lists.
    pub fn read() -> Lists {
        let read = |f: &str| {
            std::fs::read_to_string(format!("/proc/sys/net/ipv4/{f}"))
                .unwrap_or_default()
                .split_whitespace()
                .map(String::from)
                .collect()
        };
        Lists {
            available: read("tcp_available_congestion_control"),
            allowed: read("tcp_allowed_congestion_control"),
        }
    }
}

/// The algorithm chosen, and why when it is not what was preferred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub algorithm: String,
    pub note: Option<String>,
}

/// Picks the hosts' algorithm: the one asked for (which must be allowed in a namespace), else cubic
/// where allowed, else reno.
pub fn choose(asked: Option<&str>, lists: &Lists) -> Result<Choice, LabError> {
    let allowed = |a: &str| a == FALLBACK || lists.allowed.iter().any(|x| x == a);
    match asked {
        Some(a) if allowed(a) => Ok(Choice {
            algorithm: a.into(),
            note: None,
        }),
        Some(a) => Err(LabError::Congestion(format!(
            "congestion control '{a}' cannot be a lab host's default: a network namespace may use only those in \
net.ipv4.tcp_allowed_congestion_control ({}){}; choose one of them, or add it to that list",
            lists.allowed.join(" "),
            if lists.available.iter().any(|x| x == a) {
                String::new()
            } else {
                format!(
                    ", and this kernel has not loaded '{a}' (available: {})",
                    lists.available.join(" ")
                )
            }
        ))),
        None if allowed(PREFERRED) => Ok(Choice {
            algorithm: PREFERRED.into(),
            note: None,
        }),
        None => Ok(Choice {
            algorithm: FALLBACK.into(),
            note: Some(format!(
                "{PREFERRED} (Linux's and macOS's default) is not in net.ipv4.tcp_allowed_congestion_control, so \
a namespace cannot default to it; {FALLBACK} behaves as {PREFERRED} does at the lab's round trips"
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(available: &str, allowed: &str) -> Lists {
        Lists {
            available: available.split_whitespace().map(String::from).collect(),
            allowed: allowed.split_whitespace().map(String::from).collect(),
        }
    }

    #[test]
    fn cubic_when_allowed_else_reno_with_a_reason() {
        let c = choose(None, &lists("reno cubic bbr", "reno cubic")).unwrap();
        assert_eq!((c.algorithm.as_str(), c.note), ("cubic", None));
        let c = choose(None, &lists("reno bbr cubic", "reno bbr")).unwrap();
        assert_eq!(c.algorithm, "reno");
        assert!(c.note.unwrap().contains("tcp_allowed_congestion_control"));
    }

    #[test]
    fn an_explicit_choice_must_be_allowed_in_a_namespace() {
        let l = lists("reno bbr cubic", "reno bbr");
        assert_eq!(choose(Some("bbr"), &l).unwrap().algorithm, "bbr");
        assert_eq!(choose(Some("reno"), &l).unwrap().algorithm, "reno");
        let e = choose(Some("cubic"), &l).unwrap_err().to_string();
        assert!(
            e.contains("'cubic' cannot be a lab host's default") && e.contains("(reno bbr)"),
            "{e}"
        );
        assert!(!e.contains("not loaded"), "{e}");
        let e = choose(Some("vegas"), &l).unwrap_err().to_string();
        assert!(e.contains("has not loaded 'vegas' (available: reno bbr cubic)"), "{e}");
    }
}
