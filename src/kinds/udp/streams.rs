//! The client's side of a UDP test (`-u`): the datagram size from the path MTU, one connected socket per stream
//! with don't-fragment set, hellos from the streams the server sends, and the streams handed to the engine.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::SockRef;

use crate::client::{ClientError, StreamInfo};
use crate::config::ClientPlan;
use crate::engine::probe::socket as probe_socket;
use crate::engine::udp::{Meter, RCVBUF, UdpPlan, hello};
use crate::engine::{LocalStreams, StreamSpec, sockets};
use crate::net;
use crate::platform;
use crate::protocol::{Cookie, MAX_DATAGRAM, TestRequest};

/// How often a receiving stream repeats its hello until the server starts the test.
const HELLO_EVERY: Duration = Duration::from_millis(50);

/// IP and UDP header bytes in front of a datagram's payload.
fn overhead(addr: &SocketAddr) -> u32 {
    if addr.is_ipv6() { 48 } else { 28 }
}

/// The kernel's path MTU towards `addr`, from a connected UDP socket (no datagram is sent); None where unknown.
fn path_mtu(addr: SocketAddr, bind: Option<std::net::IpAddr>) -> Option<u32> {
    let sock = probe_socket(addr, bind).ok()?;
    platform::path_mtu(&sock, addr.is_ipv6())
}

/// Whether an MTU belongs to loopback (64 KiB) rather than to any real link.
fn is_loopback_mtu(mtu: u32) -> bool {
    mtu >= 65_535
}

/// The payload size to ask for, given the path MTU (None when the OS does not say).
///
/// With `-l`, the size as given if it fits; otherwise what the path MTU carries, or a 1500-byte Ethernet MTU's
/// worth when the MTU is unknown or the path is loopback.
pub fn choose_size(asked: Option<u32>, mtu: Option<u32>, server: SocketAddr) -> Result<u32, String> {
    let fits = mtu.map(|m| m.saturating_sub(overhead(&server)).min(MAX_DATAGRAM as u32));
    match (asked, mtu, fits) {
        (Some(l), Some(m), Some(f)) if l > f => Err(format!(
            "-l {l} does not fit the path MTU of {m} bytes to {}: with don't-fragment set, at most {f} bytes of UDP \
             payload pass; use -l {f} or less, or leave -l out",
            server.ip()
        )),
        (Some(l), _, _) => Ok(l),
        (None, Some(m), Some(f)) if !is_loopback_mtu(m) => Ok(f),
        (None, _, _) => Ok(1500 - overhead(&server)),
    }
}

/// Resolves the datagram size before the request goes out, from the path MTU to each of the server's addresses.
pub(crate) async fn datagram_size(plan: &ClientPlan) -> Result<u32, ClientError> {
    let t = &plan.target;
    let addrs = match t.addr {
        Some(a) => vec![a],
        None => net::resolve(&t.host, t.port, t.family).await?,
    };
    let asked = (plan.request.block_size > 0).then_some(plan.request.block_size);
    let mut size = None;
    for a in addrs {
        let s = choose_size(asked, path_mtu(a, t.bind), a).map_err(ClientError::Udp)?;
        size = Some(size.map_or(s, |x: u32| x.min(s)));
    }
    Ok(size.unwrap_or(crate::config::DEFAULT_UDP_DATAGRAM))
}

/// Repeats the hellos of the streams the server sends until dropped (at the start of the test).
pub(crate) struct Hellos {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Hellos {
    fn start(socks: Vec<(u32, UdpSocket)>, cookie: Cookie) -> std::io::Result<Hellos> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = if socks.is_empty() {
            None
        } else {
            let stop = stop.clone();
            Some(std::thread::Builder::new().name("udp-hello".into()).spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for (id, s) in &socks {
                        let _ = s.send(&hello(cookie, *id));
                    }
                    let next = Instant::now() + HELLO_EVERY;
                    while Instant::now() < next && !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            })?)
        };
        Ok(Hellos { stop, thread })
    }
}

impl Drop for Hellos {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens one UDP socket per stream, connected to the server with don't-fragment set, and adds the streams.
/// The returned hellos run until the test starts.
pub(crate) fn open_streams(
    server: SocketAddr,
    cookie: Cookie,
    req: &TestRequest,
    plan: &ClientPlan,
    local: &mut LocalStreams,
    streams: &mut Vec<StreamInfo>,
) -> Result<Hellos, ClientError> {
    let size = req.block_size as usize;
    let mut hellos = Vec::new();
    for id in 1..=req.connections() {
        let client_sends = req.client_sends(id);
        let data_err = |source| ClientError::Data {
            server,
            stream: id,
            cause: source,
        };
        let sock = probe_socket(server, plan.target.bind).map_err(data_err)?;
        // The size was chosen before connecting; the server's actual address must carry it too.
        choose_size(
            Some(req.block_size),
            platform::path_mtu(&sock, server.is_ipv6()),
            server,
        )
        .map_err(ClientError::Udp)?;
        let r = SockRef::from(&sock);
        match req.window {
            Some(w) => {
                r.set_send_buffer_size(w as usize).map_err(data_err)?;
                r.set_recv_buffer_size(w as usize).map_err(data_err)?;
            }
            None if !client_sends => {
                let _ = r.set_recv_buffer_size(RCVBUF);
            }
            None => {}
        }
        streams.push(StreamInfo {
            id,
            client_sends,
            local: sock.local_addr().map_err(data_err)?,
            remote: server,
            socket: sockets::report(&sock),
            tcp_now: None,
        });
        let spec = StreamSpec {
            id,
            sender: client_sends,
            quota: if client_sends { req.quota(id) } else { None },
            block_size: size,
            pace_bps: if client_sends { req.bitrate } else { None },
            idle_timeout: None,
            cpu: plan.client_cpu.map(|c| c as usize + (id as usize - 1)),
            discard: false,
            fixed_window: false,
        };
        let plan = if client_sends {
            UdpPlan::Send {
                socket: sock,
                to: None,
                cookie,
            }
        } else {
            hellos.push((id, sock.try_clone().map_err(data_err)?));
            UdpPlan::Receive {
                socket: sock,
                cookie,
                meter: Meter::new(id),
            }
        };
        local.add_udp(plan, spec);
    }
    Hellos::start(hellos, cookie).map_err(|e| ClientError::Udp(format!("cannot start the UDP hello thread: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_fits_the_path_mtu_and_loopback_gets_an_ethernet_payload() {
        let v4: SocketAddr = "192.0.2.1:5301".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:5301".parse().unwrap();
        assert_eq!(choose_size(None, Some(1500), v4), Ok(1472));
        assert_eq!(choose_size(None, Some(9000), v4), Ok(8972));
        assert_eq!(choose_size(None, Some(1500), v6), Ok(1452));
        assert_eq!(choose_size(None, Some(65_536), v4), Ok(1472), "loopback");
        assert_eq!(choose_size(None, None, v4), Ok(1472), "MTU unknown");
        assert_eq!(choose_size(Some(8000), Some(9000), v4), Ok(8000));
        assert_eq!(
            choose_size(Some(60_000), None, v4),
            Ok(60_000),
            "unknown MTU: the kernel decides"
        );
        let err = choose_size(Some(9000), Some(1500), v4).unwrap_err();
        assert!(
            err.contains("path MTU of 1500 bytes") && err.contains("at most 1472"),
            "{err}"
        );
    }
}
