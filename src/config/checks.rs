//! Checks both ends make: congestion control available here, what a UDP request must satisfy.

use crate::protocol::{HEADER_LEN, MAX_DATAGRAM, TestRequest};

/// Checks that this host can use a congestion control algorithm for sending.
pub fn check_congestion(name: &str) -> Result<(), String> {
    if !crate::platform::supports_congestion_control() {
        return Err(crate::platform::unsupported("-C/--congestion").to_string());
    }
    let available = crate::platform::available_congestion();
    if available.iter().any(|a| a == name) {
        Ok(())
    } else {
        Err(format!(
            "congestion control '{name}' is not available here (available: {}); load its module, e.g. modprobe tcp_{name}",
            available.join(", ")
        ))
    }
}

/// What a UDP request must satisfy on both ends; the TCP-only options are refused by name.
pub(super) fn check_udp(r: &TestRequest) -> Result<(), String> {
    let (min, max) = (HEADER_LEN as u32, MAX_DATAGRAM as u32);
    if !(min..=max).contains(&r.block_size) {
        return Err(format!(
            "-l {} with -u: a datagram carries the {min}-byte saf-net header and UDP allows at most {max} bytes",
            r.block_size
        ));
    }
    let tcp_only = [
        (r.mss.is_some(), "-M"),
        (r.congestion.is_some(), "-C"),
        (r.fq_rate.is_some(), "--fq-rate"),
        (r.skip_rx_copy, "--skip-rx-copy"),
    ];
    if let Some((_, flag)) = tcp_only.iter().find(|(set, _)| *set) {
        return Err(format!("{flag} applies to TCP tests only; leave it out with -u"));
    }
    Ok(())
}
