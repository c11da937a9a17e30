//! A latency run on the server: echo for TCP ping-pong, the UDP responder for UDP, quiet accepts for connect probes.

use std::io::{Read, Write};
use std::time::Duration;

use super::Ctx;
use super::control::{Admitted, Ended, accept, collect_data, control_ended, fail, tell_shutdown};
use crate::config::GRACE;
use crate::protocol::{ClientMessage, LatencyMode, LatencyRequest, ServerMessage, spawn_reader, write_message};

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

/// Answers one latency (or MTU) run until the client says it is done; the summary is the test's log line.
pub(super) async fn run(ctx: &Ctx, mut test: Admitted, req: &LatencyRequest) -> Result<String, Ended> {
    if matches!(req.mode, LatencyMode::Udp | LatencyMode::Mtu) && !ctx.udp_ready {
        return Err(fail(&mut test.wr, Ended::NoUdpProbes).await);
    }
    let _allowance = ctx.udp.allow(test.cookie, test.peer.ip());
    let (_registration, mut data_rx) = ctx.registry.register(test.cookie, test.peer.ip(), 1);
    accept(&mut test).await?;
    ctx.debug(format!(
        "test {} from {}: latency, {} mode, {} bytes",
        test.n,
        test.peer,
        req.mode.as_str(),
        req.size
    ));
    let mut echo_thread = None;
    if req.mode == LatencyMode::Tcp {
        let sock = collect_data(ctx, &mut test, &mut data_rx, 1).await?.remove(0);
        let sock = sock.into_std().map_err(Ended::Data)?;
        sock.set_nonblocking(false).map_err(Ended::Data)?;
        // A second handle, to unblock the echo thread when the run is over.
        let handle = sock.try_clone().map_err(Ended::Data)?;
        let size = req.size as usize;
        echo_thread = Some((std::thread::spawn(move || echo(sock, size)), handle));
    }
    let Admitted { rd, mut wr, .. } = test;
    write_message(&mut wr, &ServerMessage::Start)
        .await
        .map_err(Ended::Write)?;
    let limit = Duration::from_secs_f64(req.duration_seconds) + GRACE;
    let (reader, mut ctl_rx) = spawn_reader::<ClientMessage, _>(rd, ctx.config.max_frame, limit);
    let outcome = tokio::select! {
        r = tokio::time::timeout(limit, ctl_rx.recv()) => match r {
            Ok(Some(Ok(ClientMessage::Done))) => Ok(()),
            Ok(other) => Err(control_ended(other)),
            Err(_) => Err(Ended::LatencyCutOff(limit.as_secs_f64())),
        },
        _ = ctx.shutting_down() => Err(tell_shutdown(&mut wr).await),
    };
    reader.abort();
    drop(wr);
    if let Some((t, handle)) = echo_thread {
        stop_echo(t, handle).await;
    }
    outcome?;
    Ok(format!("{} probes answered", req.mode.as_str()))
}

/// The client closes its probe connection when done. One that keeps it open (silent, or writing without
/// reading) would block the echo thread, and this slot, forever: after a short wait, cut it.
async fn stop_echo(t: std::thread::JoinHandle<()>, handle: std::net::TcpStream) {
    let mut joined = tokio::task::spawn_blocking(move || t.join());
    if tokio::time::timeout(Duration::from_secs(1), &mut joined).await.is_err() {
        let _ = handle.shutdown(std::net::Shutdown::Both);
        let _ = joined.await;
    }
}
