//! The server's side of a UDP throughput test (`-u`): a sink that the UDP responder feeds, the client's hellos
//! that say where the server may send, and the streams handed to the engine.
//!
//! The server never dials out. Datagrams it receives arrive on the test port through the responder; datagrams
//! it sends leave from the test port, only to the address each receiving stream's hello came from, and only
//! when that address is the control connection's IP (the responder checks cookie and source first).

use std::sync::Arc;

use socket2::SockRef;

use super::Ctx;
use super::control::{Admitted, Ended, client_spoke, fail, tell_shutdown};
use super::udp::Allowance;
use crate::engine::udp::{RCVBUF, Sink, UdpPlan};
use crate::engine::{LocalStreams, StreamSpec, sockets};
use crate::protocol::{SideResults, SocketReport, TestRequest};
use crate::units::BitsPerSec;

/// A UDP test's hold on the responder: its sink stays registered while this lives.
pub(super) struct UdpSink {
    sink: Arc<Sink>,
    _allowance: Allowance,
}

/// Registers the test's sink under its cookie, before the client learns the cookie.
pub(super) fn open(ctx: &Ctx, test: &Admitted, req: &TestRequest) -> Result<UdpSink, Ended> {
    let (n, cookie, peer) = (test.n, test.cookie, test.peer);
    if !ctx.udp_ready {
        return Err(Ended::NoUdpTests(peer.port()));
    }
    if let Some(sock) = ctx.udp.socket() {
        grow_buffers(&sock, req.window);
    }
    let sink = Sink::new(req);
    let allowance = ctx.udp.allow_data(cookie, peer.ip(), sink.clone());
    ctx.debug(format!(
        "test {n} from {peer}: UDP, {}-byte datagrams, {} per sending stream",
        req.block_size,
        req.bitrate
            .map_or("as fast as possible".to_string(), |b| BitsPerSec(b as f64).to_string())
    ));
    Ok(UdpSink {
        sink,
        _allowance: allowance,
    })
}

/// Bursts queue in a UDP socket's receive buffer: at least [`RCVBUF`] (or `-w`); the kernel caps this at
/// net.core.rmem_max.
pub(super) fn grow_buffers(sock: &std::net::UdpSocket, window: Option<u32>) {
    let r = SockRef::from(sock);
    let want = window.map_or(RCVBUF, |w| w as usize);
    if r.recv_buffer_size().unwrap_or(0) < want {
        let _ = r.set_recv_buffer_size(want);
    }
    if let Some(w) = window {
        let _ = r.set_send_buffer_size(w as usize);
    }
}

/// Waits until every stream the server sends has said hello, then lays out the streams for the engine.
pub(super) async fn streams(
    ctx: &Ctx,
    test: &mut Admitted,
    udp: &UdpSink,
    req: &TestRequest,
) -> Result<(LocalStreams, Option<SocketReport>), Ended> {
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    let wanted = (1..=req.connections()).filter(|&id| !req.client_sends(id)).count();
    while udp.sink.peers_missing() > 0 {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let have = wanted - udp.sink.peers_missing();
                let missing = Ended::MissingHellos { have, wanted, secs: hs.as_secs_f64() };
                return Err(fail(&mut test.wr, missing).await);
            }
            _ = udp.sink.learned() => {}
            _ = client_spoke(&mut test.rd) => return Err(Ended::ClientLeft("its UDP streams said hello")),
            _ = ctx.shutting_down() => return Err(tell_shutdown(&mut test.wr).await),
        }
    }
    let socket = ctx
        .udp
        .socket()
        .ok_or(Ended::Internal("the UDP responder is not running"))?;
    let report = sockets::report(&socket);
    let mut local = LocalStreams::default();
    for (i, id) in (1..=req.connections()).enumerate() {
        let sender = !req.client_sends(id);
        let spec = StreamSpec {
            id,
            sender,
            quota: if sender { req.quota(id) } else { None },
            block_size: req.block_size as usize,
            pace_bps: if sender { req.bitrate } else { None },
            // A UDP receiver may legitimately hear nothing for long (low -b, total loss); the clock ends it.
            idle_timeout: None,
            cpu: req.server_cpu.map(|c| c as usize + i),
            // Every datagram's header is read; there is nothing to discard unread.
            discard: false,
            fixed_window: false,
        };
        let plan = if sender {
            UdpPlan::Send {
                socket: socket.try_clone().map_err(Ended::UdpSocket)?,
                to: udp.sink.peer(id),
                cookie: test.cookie,
            }
        } else {
            UdpPlan::Fed {
                meter: udp
                    .sink
                    .meter(id)
                    .ok_or(Ended::Internal("no meter for a receiving stream"))?,
            }
        };
        local.add_udp(plan, spec);
    }
    Ok((local, Some(report)))
}

/// The loss the server saw as receiver, for its log line.
pub(super) fn loss_note(results: &SideResults) -> Option<String> {
    let rx: Vec<_> = results
        .streams
        .iter()
        .filter(|s| !s.sender)
        .filter_map(|s| s.udp)
        .collect();
    if rx.is_empty() {
        return None;
    }
    let packets: u64 = rx.iter().map(|c| c.packets).sum();
    let lost: u64 = rx.iter().map(|c| c.lost).sum();
    let jitter = rx.iter().map(|c| c.jitter_ms).sum::<f64>() / rx.len() as f64;
    let pct = if packets > 0 {
        100.0 * lost as f64 / packets as f64
    } else {
        0.0
    };
    Some(format!(
        "lost {lost} of {packets} datagrams ({pct:.3}%), jitter {jitter:.3} ms"
    ))
}
