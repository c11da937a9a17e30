//! What `saf-net doctor HOST` asks of the link: the peer, the profile, the short test, the ports to check.

use crate::auth::Psk;
use crate::config::Target;
use crate::net::Family;
use crate::profile::Profile;

/// Seconds of the short test by default.
pub const DEFAULT_SECONDS: f64 = 3.0;
/// Longest a `--check-ports` connect may take.
pub const PORT_TIMEOUT_MS: u64 = 2000;

/// The checked plan.
#[derive(Debug, Clone)]
pub struct Plan {
    pub host: String,
    pub target: Target,
    pub profile: Option<Profile>,
    pub seconds: f64,
    pub streams: u32,
    pub window: Option<u64>,
    pub check_ports: Vec<u16>,
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        host: &str,
        port: u16,
        psk: Option<Psk>,
        profile: Option<Profile>,
        seconds: f64,
        streams: u32,
        window: Option<u64>,
        check_ports: Vec<u16>,
        connect_timeout: f64,
    ) -> Result<Plan, String> {
        let mut target = Target::new(host, port, Family::Any, connect_timeout)?;
        target.psk = psk;
        if !(0.5..=60.0).contains(&seconds) {
            return Err(format!(
                "-t {seconds} is outside 0.5 to 60 seconds; the doctor's test is short by design"
            ));
        }
        if !(1..=128).contains(&streams) {
            return Err(format!("-P {streams} is outside 1 to 128"));
        }
        Ok(Plan {
            host: host.to_string(),
            target,
            profile,
            seconds,
            streams,
            window,
            check_ports,
        })
    }
}
