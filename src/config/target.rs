//! Where a client connects, and how patiently.

use std::net::SocketAddr;
use std::time::Duration;

use super::defaults::*;
use crate::net::Family;

/// Where a client connects, and how patiently.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub family: Family,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    /// A fixed address, skipping resolution (used by the in-process demo and tests).
    pub addr: Option<SocketAddr>,
    /// The pre-shared key, when the server requires one.
    pub psk: Option<crate::auth::Psk>,
    /// The local address every socket of the run binds to (-B); None lets the route choose.
    pub bind: Option<std::net::IpAddr>,
    /// The newest protocol version the hello offers (tests set 2 to speak as a v2 client).
    pub max_protocol: u32,
}

impl Target {
    /// The first address the server is reached at: the fixed one, else the first the name resolves to.
    pub async fn first_addr(&self) -> Option<SocketAddr> {
        if self.addr.is_some() {
            return self.addr;
        }
        crate::net::resolve(&self.host, self.port, self.family)
            .await
            .ok()?
            .into_iter()
            .next()
    }

    /// Validates the parts every client command shares.
    pub fn new(host: &str, port: u16, family: Family, connect_timeout: f64) -> Result<Target, String> {
        if host.trim().is_empty() {
            return Err("HOST is empty; give the server's name or address, e.g. saf-net client 192.168.1.172".into());
        }
        if port == 0 {
            return Err("-p 0 is not a port; use 1-65535 (the server's default is 5301)".into());
        }
        if connect_timeout.is_nan() || connect_timeout <= 0.0 || connect_timeout > 3600.0 {
            return Err(format!(
                "--connect-timeout {connect_timeout}: give a number of seconds above 0"
            ));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            family,
            connect_timeout: Duration::from_secs_f64(connect_timeout),
            handshake_timeout: Duration::from_secs_f64(DEFAULT_HANDSHAKE_TIMEOUT_SECS),
            addr: None,
            psk: None,
            bind: None,
            max_protocol: crate::protocol::PROTOCOL_VERSION,
        })
    }

    /// A cluster node's server, `HOST:PORT` as a mesh or collective addresses it, with the cluster's key.
    pub fn node(addr: &str, psk: Option<crate::auth::Psk>, connect_timeout: f64) -> Result<Target, String> {
        let (host, port) =
            crate::net::split_host_port(addr).ok_or_else(|| format!("node {addr}: give it as HOST:PORT"))?;
        let mut t = Target::new(&host, port, Family::Any, connect_timeout)?;
        t.psk = psk;
        Ok(t)
    }

    /// Binds the run to a local address (-B); its family decides which of the server's addresses are used.
    pub fn bind_to(&mut self, bind: Option<std::net::IpAddr>) -> Result<(), String> {
        let Some(ip) = bind else { return Ok(()) };
        let family = if ip.is_ipv4() { Family::V4 } else { Family::V6 };
        if self.family != Family::Any && self.family != family {
            return Err(format!(
                "-B {ip} is an {} address but -{} was given; drop one of them",
                if ip.is_ipv4() { "IPv4" } else { "IPv6" },
                if ip.is_ipv4() { 6 } else { 4 }
            ));
        }
        if ip.is_unspecified() || ip.is_multicast() {
            return Err(format!("-B {ip}: give one of this host's own unicast addresses"));
        }
        self.family = family;
        self.bind = Some(ip);
        Ok(())
    }
}
