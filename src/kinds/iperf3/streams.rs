//! The data streams of an iperf3 test, set up as iperf3 does and handed to the engine: each TCP connection starts
//! with the cookie; each UDP stream sends the 4-byte connect message and waits for the server's reply before the
//! next one (the server "accepts" UDP streams one at a time on its port).

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use socket2::SockRef;
use tokio::io::AsyncWriteExt;

use crate::client::{ClientError, StreamInfo};
use crate::config::{ClientPlan, Target};
use crate::engine::probe::socket as udp_socket;
use crate::engine::udp::{Meter, RCVBUF};
use crate::engine::{LocalStreams, StreamSpec, UdpPlan, sockets};
use crate::net;
use crate::platform;
use crate::protocol::iperf3::{Cookie, connect_msg, is_connect_reply};
use crate::protocol::{Protocol, TestRequest};

/// The streams as the engine will run them, and as the outcome lists them.
pub(super) struct Opened {
    pub local: LocalStreams,
    pub streams: Vec<StreamInfo>,
}

/// Opens every stream in iperf3's order (in `--bidir` the client's sending streams first, as saf-net numbers them).
pub(super) async fn open(
    plan: &ClientPlan,
    req: &TestRequest,
    server: SocketAddr,
    cookie: &Cookie,
) -> Result<Opened, ClientError> {
    let mut opened = Opened {
        local: LocalStreams::default(),
        streams: Vec::new(),
    };
    for id in 1..=req.connections() {
        let spec = spec(plan, req, id);
        match req.protocol {
            Protocol::Tcp => tcp(plan, req, server, cookie, spec, &mut opened).await?,
            Protocol::Udp => udp(req, server, spec, &plan.target, &mut opened).await?,
        }
    }
    Ok(opened)
}

/// What stream `id` does; the same as against a saf-net server.
fn spec(plan: &ClientPlan, req: &TestRequest, id: u32) -> StreamSpec {
    let client_sends = req.client_sends(id);
    StreamSpec {
        id,
        sender: client_sends,
        quota: if client_sends { req.quota(id) } else { None },
        block_size: req.block_size as usize,
        pace_bps: if client_sends { req.bitrate } else { None },
        idle_timeout: None,
        cpu: plan.client_cpu.map(|c| c as usize + (id as usize - 1)),
        discard: !client_sends && req.skip_rx_copy,
        fixed_window: req.window.is_some(),
    }
}

/// Connects a TCP stream with the test's options and sends the cookie.
async fn tcp(
    plan: &ClientPlan,
    req: &TestRequest,
    server: SocketAddr,
    cookie: &Cookie,
    spec: StreamSpec,
    opened: &mut Opened,
) -> Result<(), ClientError> {
    let (id, sends) = (spec.id, spec.sender);
    let data_err = |cause| ClientError::Data {
        server,
        stream: id,
        cause,
    };
    let prepare = |sock: &tokio::net::TcpSocket| sockets::prepare(sock, req, sends);
    let mut s = net::connect_one(server, plan.target.connect_timeout, plan.target.bind, prepare).await?;
    s.write_all(cookie.as_bytes()).await.map_err(data_err)?;
    let s = s.into_std().map_err(data_err)?;
    sockets::finish(&s, req, sends).map_err(data_err)?;
    opened.streams.push(StreamInfo {
        id,
        client_sends: sends,
        local: s.local_addr().map_err(data_err)?,
        remote: server,
        socket: sockets::report(&s),
        tcp_now: platform::tcp_info(&s),
    });
    opened.local.add(s, spec);
    Ok(())
}

/// Opens a UDP stream: a socket connected to the server's port, the connect message, the server's reply.
async fn udp(
    req: &TestRequest,
    server: SocketAddr,
    spec: StreamSpec,
    target: &Target,
    opened: &mut Opened,
) -> Result<(), ClientError> {
    let id = spec.id;
    let data_err = |cause| ClientError::Data {
        server,
        stream: id,
        cause,
    };
    let sock = udp_socket(server, target.bind).map_err(data_err)?;
    let r = SockRef::from(&sock);
    match req.window {
        Some(w) => {
            r.set_send_buffer_size(w as usize).map_err(data_err)?;
            r.set_recv_buffer_size(w as usize).map_err(data_err)?;
        }
        None => {
            let _ = r.set_recv_buffer_size(RCVBUF);
        }
    }
    let sock = handshake(sock, target.handshake_timeout).await.map_err(data_err)?;
    opened.streams.push(StreamInfo {
        id,
        client_sends: spec.sender,
        local: sock.local_addr().map_err(data_err)?,
        remote: server,
        socket: sockets::report(&sock),
        tcp_now: None,
    });
    let plan = if spec.sender {
        UdpPlan::Iperf3Send {
            socket: sock,
            to: None,
            counters_64bit: false,
        }
    } else {
        UdpPlan::Iperf3Receive {
            socket: sock,
            counters_64bit: false,
            meter: Meter::new(id),
        }
    };
    opened.local.add_udp(plan, spec);
    Ok(())
}

/// Sends the UDP connect message once (the server takes every datagram on its port for a new stream) and waits
/// for the reply.
async fn handshake(sock: UdpSocket, timeout: Duration) -> std::io::Result<UdpSocket> {
    sock.set_nonblocking(true)?;
    let sock = tokio::net::UdpSocket::from_std(sock)?;
    sock.send(&connect_msg()).await?;
    let mut buf = [0u8; 64];
    let waiting = async {
        loop {
            let n = sock.recv(&mut buf).await?;
            if is_connect_reply(&buf[..n]) {
                return std::io::Result::Ok(());
            }
        }
    };
    tokio::time::timeout(timeout, waiting).await.map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer to the UDP connect message within {:.0} s",
                timeout.as_secs_f64()
            ),
        )
    })??;
    let sock = sock.into_std()?;
    sock.set_nonblocking(false)?;
    Ok(sock)
}
