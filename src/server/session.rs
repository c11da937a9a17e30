//! One control connection up to its slot: hello, request, limits, queue; then the kind-specific run.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::handshakes::Pending;
use super::slots::QueueFull;
use super::{Ctx, latency, throughput};
use crate::protocol::{
    Challenge, ClientMessage, Cookie, FrameError, LatencyRequest, PROTOCOL_VERSION, ServerMessage, TestRequest,
    read_message, write_message,
};

pub(super) use crate::protocol::SHUTTING_DOWN;

/// What a client asked for.
enum Request {
    Throughput(TestRequest),
    Latency(LatencyRequest),
}

/// Control messages read by a background task, so no read is ever cancelled halfway through a frame.
pub(super) type ControlRx = mpsc::UnboundedReceiver<Result<ClientMessage, FrameError>>;

pub(super) fn spawn_control_reader(mut rd: OwnedReadHalf, cap: u32, idle: Duration) -> (JoinHandle<()>, ControlRx) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let msg = read_message::<ClientMessage, _>(&mut rd, cap, idle).await;
            let last = msg.is_err();
            if tx.send(msg).is_err() || last {
                break;
            }
        }
    });
    (task, rx)
}

/// Why the control channel stopped before the end of a test.
pub(super) fn control_ended(msg: Option<Result<ClientMessage, FrameError>>) -> String {
    match msg {
        Some(Ok(ClientMessage::Abort { reason })) => format!("client aborted: {reason}"),
        Some(Ok(other)) => format!("client sent {} mid-test", kind(&other)),
        None | Some(Err(FrameError::Closed)) => "client disconnected mid-test".to_string(),
        Some(Err(e)) => format!("control connection: {e}"),
    }
}

/// Waits for `conns` data connections with this test's cookie, each once, within the handshake timeout.
pub(super) async fn collect_data(
    ctx: &Ctx,
    n: u64,
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
    data_rx: &mut mpsc::Receiver<(u32, TcpStream)>,
    conns: usize,
) -> Result<Vec<TcpStream>, String> {
    let hs = ctx.config.handshake_timeout;
    let deadline = tokio::time::Instant::now() + hs;
    let mut socks: Vec<Option<TcpStream>> = (0..conns).map(|_| None).collect();
    let mut have = 0;
    while have < conns {
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => {
                let reason = format!(
                    "only {have} of {conns} data connections arrived within {:.0} s; a firewall may block new connections to this port",
                    hs.as_secs_f64()
                );
                let _ = write_message(wr, &ServerMessage::Failed { reason: reason.clone() }).await;
                return Err(reason);
            }
            got = data_rx.recv() => {
                let Some((id, sock)) = got else { return Err("registry closed".into()) };
                match socks.get_mut((id as usize).wrapping_sub(1)) {
                    Some(slot @ None) => { *slot = Some(sock); have += 1; }
                    _ => ctx.log(format!("test {n}: ignored a data connection claiming stream {id}")),
                }
            }
            _ = client_spoke(rd) => return Err("client left before its data connections were in".into()),
            _ = ctx.shutting_down() => return Err(tell_shutdown(wr).await),
        }
    }
    Ok(socks.into_iter().flatten().collect())
}

/// Tells the client of a test that the server is shutting down; returns the reason for the log.
pub(super) async fn tell_shutdown(wr: &mut OwnedWriteHalf) -> String {
    let reason = SHUTTING_DOWN.to_string();
    let _ = write_message(wr, &ServerMessage::Failed { reason: reason.clone() }).await;
    reason
}

/// The refusal both sides print when protocol versions differ.
pub fn version_mismatch(client_protocol: u32, client_software: &str) -> String {
    format!(
        "protocol version mismatch: the client speaks saf-net protocol {client_protocol} (saf-net {client_software}), \
         this server speaks protocol {PROTOCOL_VERSION} (saf-net {}); run the same saf-net release on both hosts",
        env!("CARGO_PKG_VERSION")
    )
}

/// Runs one control session after its hello; returns whether a test got a slot.
pub(super) async fn run(
    ctx: &Ctx,
    sock: TcpStream,
    peer: SocketAddr,
    protocol: u32,
    software: String,
    client_nonce: Option<String>,
    mut pending: Pending,
) -> bool {
    let (mut rd, mut wr) = sock.into_split();
    if protocol != PROTOCOL_VERSION {
        let reason = version_mismatch(protocol, &software);
        ctx.log(format!("{peer}: refused: {reason}"));
        let _ = write_message(&mut wr, &ServerMessage::Refused { reason }).await;
        return false;
    }
    let hs = ctx.config.handshake_timeout;
    let challenge = match (&ctx.config.psk, &client_nonce) {
        (None, _) => None,
        (Some(_), None) => {
            let reason = "this server requires a pre-shared key; give the client --psk-file FILE or set SAF_NET_PSK";
            return refuse(ctx, &mut wr, peer, reason.into()).await;
        }
        (Some(psk), Some(theirs)) => {
            let Ok(mine) = crate::auth::nonce() else { return false };
            let proof = psk.proof(crate::auth::SERVER_ROLE, theirs, &mine);
            Some(Challenge { nonce: mine, proof })
        }
    };
    let welcome = ServerMessage::Welcome {
        protocol: PROTOCOL_VERSION,
        software: env!("CARGO_PKG_VERSION").into(),
        challenge: challenge.clone(),
    };
    if write_message(&mut wr, &welcome).await.is_err() {
        return false;
    }
    if let (Some(psk), Some(c), Some(theirs)) = (&ctx.config.psk, &challenge, &client_nonce) {
        let answer = tokio::select! {
            r = read_message::<ClientMessage, _>(&mut rd, ctx.config.max_frame, hs) => r,
            why = pending.evicted() => {
                ctx.evicted(peer, why);
                return false;
            }
            _ = ctx.shutting_down() => return refuse(ctx, &mut wr, peer, SHUTTING_DOWN.into()).await,
        };
        let ok = match answer {
            Ok(ClientMessage::Auth { proof }) => psk.verify(crate::auth::CLIENT_ROLE, &c.nonce, theirs, &proof),
            _ => false,
        };
        if !ok {
            let reason = "authentication failed: the client's key does not match this server's".to_string();
            tracing::warn!(%peer, "refused: {reason}");
            return refuse(ctx, &mut wr, peer, reason).await;
        }
    }
    let request = tokio::select! {
        r = read_message::<ClientMessage, _>(&mut rd, ctx.config.max_frame, hs) => r,
        why = pending.evicted() => {
            ctx.evicted(peer, why);
            return false;
        }
        _ = ctx.shutting_down() => return refuse(ctx, &mut wr, peer, SHUTTING_DOWN.into()).await,
    };
    // Past the handshake: this connection no longer counts against the per-address limit.
    drop(pending);
    let req = match request {
        Ok(ClientMessage::Test(req)) => Request::Throughput(req),
        Ok(ClientMessage::Latency(req)) => Request::Latency(req),
        Ok(other) => {
            return refuse(
                ctx,
                &mut wr,
                peer,
                format!("expected a test request, got {}", kind(&other)),
            )
            .await;
        }
        Err(e @ (FrameError::Decode(_) | FrameError::TooLarge { .. } | FrameError::Empty)) => {
            return refuse(ctx, &mut wr, peer, format!("malformed test request: {e}")).await;
        }
        Err(e) => {
            ctx.log(format!("{peer}: dropped before the test request: {e}"));
            return false;
        }
    };
    let checked = match &req {
        Request::Throughput(r) => ctx.config.check(r),
        Request::Latency(r) => ctx.config.check_latency(r),
    };
    if let Err(reason) = checked {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    let mut ticket = match ctx.slots.enqueue() {
        Ok(t) => t,
        Err(QueueFull(n)) => {
            let reason =
                format!("server busy: {n} clients already wait in line; try again later (server option --max-queue)");
            return refuse(ctx, &mut wr, peer, reason).await;
        }
    };
    let mut heartbeat = tokio::time::interval(Duration::from_secs(2));
    let mut told = 0;
    let _permit = loop {
        match ticket.try_start() {
            Ok(p) => break p,
            Err(pos) if pos != told => {
                told = pos;
                ctx.log(format!("{peer}: queued at position {pos}"));
                if write_message(&mut wr, &ServerMessage::Queued { position: pos })
                    .await
                    .is_err()
                {
                    return false;
                }
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = ticket.changed() => {}
            _ = heartbeat.tick() => {
                if told > 0 && write_message(&mut wr, &ServerMessage::Queued { position: told }).await.is_err() {
                    ctx.log(format!("{peer}: left the queue"));
                    return false;
                }
            }
            _ = client_spoke(&mut rd) => {
                ctx.log(format!("{peer}: left the queue"));
                return false;
            }
            _ = ctx.shutting_down() => {
                return refuse(ctx, &mut wr, peer, SHUTTING_DOWN.into()).await;
            }
        }
    };
    drop(ticket);
    #[cfg(feature = "panic-probe")]
    super::panic_probe(ctx, &software, "slot");
    let n = ctx.tests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let cookie = match Cookie::random() {
        Ok(c) => c,
        Err(e) => return refuse(ctx, &mut wr, peer, format!("no randomness for the cookie: {e}")).await,
    };
    let began = std::time::Instant::now();
    let params = match &req {
        Request::Throughput(r) => format!(
            "{} {}, {} stream(s), {}",
            if r.protocol == crate::protocol::Protocol::Udp {
                "UDP"
            } else {
                "TCP"
            },
            r.direction.as_str(),
            r.streams,
            match r.stop {
                crate::protocol::StopAfter::Seconds(t) => format!("{t} s"),
                crate::protocol::StopAfter::Bytes(b) => format!("{b} bytes"),
            }
        ),
        Request::Latency(r) => format!("{} probes, {} bytes", r.mode.as_str(), r.size),
    };
    let result = match &req {
        Request::Throughput(r) => throughput::run(ctx, n, cookie, rd, wr, peer, r).await,
        Request::Latency(r) => latency::run(ctx, n, cookie, rd, wr, peer, r).await,
    };
    // One line per test: peer, parameters, result, duration.
    let secs = began.elapsed().as_secs_f64();
    match result {
        Ok(summary) => ctx.log(format!(
            "test {n} from {peer} ({params}) finished in {secs:.1} s: {summary}"
        )),
        Err(reason) => ctx.log(format!(
            "test {n} from {peer} ({params}) ended early after {secs:.1} s: {reason}; slot free"
        )),
    }
    true
}

async fn refuse(ctx: &Ctx, wr: &mut OwnedWriteHalf, peer: SocketAddr, reason: String) -> bool {
    ctx.log(format!("{peer}: refused: {reason}"));
    let _ = write_message(wr, &ServerMessage::Refused { reason }).await;
    false
}

pub(super) fn kind(msg: &ClientMessage) -> &'static str {
    match msg {
        ClientMessage::Hello { .. } => "a second hello",
        ClientMessage::Auth { .. } => "an unexpected key proof",
        ClientMessage::Data { .. } => "a data-connection hello",
        ClientMessage::Test(_) => "a test request",
        ClientMessage::Abort { .. } => "an abort",
        ClientMessage::Done => "an end-of-test",
        ClientMessage::Latency(_) => "a latency request",
        ClientMessage::Probe { .. } => "a connect probe",
    }
}

/// Resolves when the client sends anything or closes; does not consume what it sent.
pub(super) async fn client_spoke(rd: &mut OwnedReadHalf) {
    let mut b = [0u8; 1];
    let _ = rd.peek(&mut b).await;
}
