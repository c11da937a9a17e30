//! Host parsing (names, IPv4, IPv6, link-local zones) and connecting with a timeout.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use crate::platform;

/// Address family restriction (`-4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

impl Family {
    /// From the -4 / -6 flags.
    pub fn from_flags(ipv4: bool, ipv6: bool) -> Family {
        match (ipv4, ipv6) {
            (true, _) => Family::V4,
            (_, true) => Family::V6,
            _ => Family::Any,
        }
    }

    fn allows(self, addr: &SocketAddr) -> bool {
        match self {
            Family::Any => true,
            Family::V4 => addr.is_ipv4(),
            Family::V6 => addr.is_ipv6(),
        }
    }
}

/// Why a peer could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("could not resolve '{host}': {cause}; check the name, or give an IP address")]
    Resolve { host: String, cause: std::io::Error },
    #[error("unknown interface '{zone}' in '{host}'; give an interface that exists here (e.g. en0, eth0) or its index")]
    Zone { host: String, zone: String },
    #[error("'{host}' has no {family} address")]
    NoAddress { host: String, family: &'static str },
    #[error(
        "connection to {addr} refused: nothing listens on TCP port {port} there; start `saf-net server` on that host or check -p"
    )]
    Refused { addr: SocketAddr, port: u16 },
    #[error(
        "no answer from {addr} within {secs:.1} s: the host is down or unreachable, or a firewall drops TCP port {port}"
    )]
    Timeout { addr: SocketAddr, port: u16, secs: f64 },
    #[error("cannot test from {addr} (-B): {cause}; give one of this host's own addresses")]
    Bind {
        addr: std::net::IpAddr,
        cause: std::io::Error,
    },
    #[error("could not set socket options for {addr}: {cause}")]
    Options { addr: SocketAddr, cause: std::io::Error },
    #[error("could not connect to {addr}: {cause}")]
    Connect { addr: SocketAddr, cause: std::io::Error },
}

/// Parses a literal address, including `[v6]` brackets and `fe80::1%en0` zones; None for names.
pub fn parse_literal(host: &str, port: u16) -> Result<Option<SocketAddr>, NetError> {
    let h = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(Some(SocketAddr::new(ip, port)));
    }
    if let Some((addr, zone)) = h.split_once('%')
        && let Ok(ip) = addr.parse::<Ipv6Addr>()
    {
        let scope = zone
            .parse::<u32>()
            .ok()
            .or_else(|| platform::interface_index(zone))
            .ok_or_else(|| NetError::Zone {
                host: host.to_string(),
                zone: zone.to_string(),
            })?;
        return Ok(Some(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))));
    }
    Ok(None)
}

/// Resolves HOST with the system resolver (so `.local` names work where mDNS is set up).
pub async fn resolve(host: &str, port: u16, family: Family) -> Result<Vec<SocketAddr>, NetError> {
    let all: Vec<SocketAddr> = match parse_literal(host, port)? {
        Some(addr) => vec![addr],
        None => tokio::net::lookup_host((host, port))
            .await
            .map_err(|source| NetError::Resolve {
                host: host.to_string(),
                cause: source,
            })?
            .collect(),
    };
    let picked: Vec<SocketAddr> = all.into_iter().filter(|a| family.allows(a)).collect();
    if picked.is_empty() {
        let family = match family {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
            Family::Any => "usable",
        };
        return Err(NetError::NoAddress {
            host: host.to_string(),
            family,
        });
    }
    Ok(picked)
}

/// Connects to one address; `prepare` sets socket options before the handshake (so window scaling and MSS see them).
/// With `bind`, the connection leaves from that local address (-B).
pub async fn connect_one(
    addr: SocketAddr,
    timeout: Duration,
    bind: Option<std::net::IpAddr>,
    prepare: impl FnOnce(&TcpSocket) -> std::io::Result<()>,
) -> Result<TcpStream, NetError> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|source| NetError::Connect { addr, cause: source })?;
    if let Some(ip) = bind {
        sock.bind(SocketAddr::new(ip, 0))
            .map_err(|cause| NetError::Bind { addr: ip, cause })?;
    }
    prepare(&sock).map_err(|source| NetError::Options { addr, cause: source })?;
    match tokio::time::timeout(timeout, sock.connect(addr)).await {
        Err(_) => Err(NetError::Timeout {
            addr,
            port: addr.port(),
            secs: timeout.as_secs_f64(),
        }),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => Err(NetError::Refused {
            addr,
            port: addr.port(),
        }),
        Ok(Err(source)) => Err(NetError::Connect { addr, cause: source }),
        Ok(Ok(stream)) => Ok(stream),
    }
}

/// Tries each address in turn within one overall timeout; returns the first that connects.
pub async fn connect_any(
    addrs: &[SocketAddr],
    timeout: Duration,
    bind: Option<std::net::IpAddr>,
) -> Result<(TcpStream, SocketAddr), NetError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = None;
    for &addr in addrs {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match connect_one(addr, left, bind, |_| Ok(())).await {
            Err(e @ NetError::Bind { .. }) => return Err(e),
            Ok(s) => return Ok((s, addr)),
            Err(NetError::Timeout { addr, port, .. }) => {
                last = Some(NetError::Timeout {
                    addr,
                    port,
                    secs: timeout.as_secs_f64(),
                })
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or(NetError::Timeout {
        addr: addrs[0],
        port: addrs[0].port(),
        secs: timeout.as_secs_f64(),
    }))
}

/// Splits `HOST:PORT` (`[v6]:PORT` for IPv6) into its host and port; None when there is no valid port.
pub fn split_host_port(text: &str) -> Option<(String, u16)> {
    let (host, port) = text.rsplit_once(':')?;
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() || (host.contains(':') && !text.starts_with('[')) {
        return None;
    }
    Some((host.to_string(), port))
}

/// One plain connect within `timeout` (name lookup included), closed at once: open if any address accepts.
pub async fn try_port(host: &str, port: u16, timeout: Duration) -> crate::protocol::PortState {
    let deadline = tokio::time::Instant::now() + timeout;
    let addrs = match tokio::time::timeout_at(deadline, resolve(host, port, Family::Any)).await {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => return crate::protocol::PortState::Unreachable,
        Err(_) => return crate::protocol::PortState::Timeout,
    };
    let mut worst = crate::protocol::PortState::Timeout;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                drop(stream);
                return crate::protocol::PortState::Open;
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                worst = crate::protocol::PortState::Refused
            }
            Ok(Err(_)) if worst != crate::protocol::PortState::Refused => {
                worst = crate::protocol::PortState::Unreachable
            }
            Ok(Err(_)) => {}
            Err(_) => break,
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_parse() {
        let cases = [
            ("192.168.1.172", "192.168.1.172:5301"),
            ("::1", "[::1]:5301"),
            ("[::1]", "[::1]:5301"),
            ("fe80::1%7", "[fe80::1%7]:5301"),
        ];
        for (host, want) in cases {
            let got = parse_literal(host, 5301).unwrap().unwrap();
            assert_eq!(got.to_string(), want, "{host}");
        }
        assert!(parse_literal("alpha.local", 5301).unwrap().is_none());
    }

    #[test]
    fn zone_names_resolve_to_indexes() {
        #[cfg(target_os = "linux")]
        {
            let got = parse_literal("fe80::1%lo", 1).unwrap().unwrap();
            let SocketAddr::V6(v6) = got else { panic!("not v6") };
            assert_eq!(Some(v6.scope_id()), platform::interface_index("lo"));
        }
        let err = parse_literal("fe80::1%nosuchif9", 1).unwrap_err();
        assert!(err.to_string().contains("unknown interface 'nosuchif9'"), "{err}");
    }

    #[tokio::test]
    async fn family_filter_applies() {
        assert!(resolve("127.0.0.1", 1, Family::V4).await.is_ok());
        let err = resolve("127.0.0.1", 1, Family::V6).await.unwrap_err();
        assert!(err.to_string().contains("no IPv6 address"), "{err}");
    }

    #[tokio::test]
    async fn closed_port_is_refused_quickly() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = connect_one(addr, Duration::from_secs(5), None, |_| Ok(()))
            .await
            .unwrap_err();
        assert!(matches!(err, NetError::Refused { .. }), "{err}");
    }

    #[tokio::test]
    async fn bind_picks_the_local_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // Linux answers for all of 127/8, so 127.0.0.2 is one of this host's addresses.
        let from: std::net::IpAddr = "127.0.0.2".parse().unwrap();
        if cfg!(target_os = "linux") {
            let s = connect_one(addr, Duration::from_secs(5), Some(from), |_| Ok(()))
                .await
                .unwrap();
            assert_eq!(s.local_addr().unwrap().ip(), from);
        }
        // 192.0.2.1 (TEST-NET-1) is no address of this host: the bind fails before anything is sent.
        let foreign = "192.0.2.1".parse().unwrap();
        let err = connect_any(&[addr], Duration::from_secs(5), Some(foreign))
            .await
            .unwrap_err();
        assert!(matches!(err, NetError::Bind { .. }), "{err}");
        assert!(err.to_string().contains("-B"), "{err}");
    }

    #[test]
    fn host_port_splits_names_v4_and_bracketed_v6() {
        assert_eq!(split_host_port("node-a:5301"), Some(("node-a".into(), 5301)));
        assert_eq!(split_host_port("10.0.0.2:7"), Some(("10.0.0.2".into(), 7)));
        assert_eq!(split_host_port("[::1]:5301"), Some(("::1".into(), 5301)));
        assert_eq!(split_host_port("::1:5301"), None);
        assert_eq!(split_host_port("node-a"), None);
        assert_eq!(split_host_port("node-a:0"), None);
        assert_eq!(split_host_port(":5301"), None);
    }
}
