//! A latency run on the server: echo for TCP ping-pong, the UDP responder for UDP, quiet accepts for connect probes.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::Ctx;
use super::session::{SHUTTING_DOWN, collect_data, control_ended, spawn_control_reader};
use crate::config::GRACE;
use crate::protocol::{ClientMessage, Cookie, LatencyMode, LatencyRequest, ServerMessage, write_message};

/// Echoes a TCP byte stream back until the client closes it.
fn echo(mut sock: std::net::TcpStream, size: usize) {
    let _ = sock.set_nodelay(true);
    let mut buf = vec![0u8; size.max(64)];
    loop {
        match sock.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if sock.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

pub(super) async fn run(
    ctx: &Ctx,
    n: u64,
    cookie: Cookie,
    mut rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    peer: SocketAddr,
    req: &LatencyRequest,
) -> Result<String, String> {
    if matches!(req.mode, LatencyMode::Udp | LatencyMode::Mtu) && !ctx.udp_ready {
        let reason = "this server has no UDP socket on its port, so it cannot answer UDP probes".to_string();
        let _ = write_message(&mut wr, &ServerMessage::Failed { reason: reason.clone() }).await;
        return Err(reason);
    }
    let _allowance = ctx.udp.allow(cookie, peer.ip());
    let (_registration, mut data_rx) = ctx.registry.register(cookie, peer.ip(), 1);
    write_message(
        &mut wr,
        &ServerMessage::Accepted {
            cookie,
            facts: Some(crate::platform::facts_towards(peer.ip())),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    ctx.debug(format!(
        "test {n} from {peer}: latency, {} mode, {} bytes",
        req.mode.as_str(),
        req.size
    ));
    let mut echo_thread = None;
    if req.mode == LatencyMode::Tcp {
        let sock = collect_data(ctx, n, &mut rd, &mut wr, &mut data_rx, 1).await?.remove(0);
        let sock = sock.into_std().map_err(|e| e.to_string())?;
        sock.set_nonblocking(false).map_err(|e| e.to_string())?;
        // A second handle, to unblock the echo thread when the run is over.
        let handle = sock.try_clone().map_err(|e| e.to_string())?;
        let size = req.size as usize;
        echo_thread = Some((std::thread::spawn(move || echo(sock, size)), handle));
    }
    write_message(&mut wr, &ServerMessage::Start)
        .await
        .map_err(|e| e.to_string())?;
    let limit = Duration::from_secs_f64(req.duration_seconds) + GRACE;
    let (reader, mut ctl_rx) = spawn_control_reader(rd, ctx.config.max_frame, limit);
    let outcome = tokio::select! {
        r = tokio::time::timeout(limit, ctl_rx.recv()) => match r {
            Ok(Some(Ok(ClientMessage::Done))) => Ok(()),
            Ok(other) => Err(control_ended(other)),
            Err(_) => Err(format!("latency run exceeded {:.0} s; cut off", limit.as_secs_f64())),
        },
        _ = ctx.shutting_down() => {
            let _ = write_message(&mut wr, &ServerMessage::Failed { reason: SHUTTING_DOWN.into() }).await;
            Err(SHUTTING_DOWN.to_string())
        }
    };
    reader.abort();
    drop(wr);
    if let Some((t, handle)) = echo_thread {
        // The client closes its probe connection when done. One that keeps it open (silent, or writing
        // without reading) would block the echo thread, and this slot, forever: after a short wait, cut it.
        let mut joined = tokio::task::spawn_blocking(move || t.join());
        if tokio::time::timeout(Duration::from_secs(1), &mut joined).await.is_err() {
            let _ = handle.shutdown(std::net::Shutdown::Both);
            let _ = joined.await;
        }
    }
    outcome?;
    Ok(format!("{} probes answered", req.mode.as_str()))
}
