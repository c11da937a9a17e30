//! One control connection up to its slot: hello, key check, request, limits, queue; then the kind's run
//! (`throughput.rs`, `latency.rs`) and the test's one log line.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::control::{Admitted, client_spoke, kind};
use super::handshakes::Pending;
use super::slots::{Permit, QueueFull};
use super::{Ctx, echo, facts, group, group_data, latency, port_check, relay, throughput};
use crate::protocol::{
    Challenge, ClientMessage, Cookie, EchoRequest, FrameError, GroupAsk, GroupJoin, LatencyRequest, PortCheckRequest,
    Protocol, RelayRequest, SHUTTING_DOWN, ServerMessage, StopAfter, TestRequest, mismatch_text, negotiate,
    read_message, write_message,
};

/// A client's hello, as the first frame of its control connection said it.
pub(super) struct Hello {
    pub protocol: u32,
    pub software: String,
    /// The client's nonce for the key check, when it has a key.
    pub nonce: Option<String>,
}

/// What a client asked for after its hello: a test that needs a slot, or one of protocol 3's slot-free asks.
enum Asked {
    Test(Request),
    Facts,
    Echo(EchoRequest),
    Relay(Box<RelayRequest>),
    PortCheck(Box<PortCheckRequest>),
    Group(Box<GroupJoin>),
    GroupData(Cookie, u32, u32),
}

impl Asked {
    /// Its name in `saf_net_server_served{kind}`.
    fn kind(&self) -> &'static str {
        match self {
            Asked::Test(r) => r.kind(),
            Asked::Facts => "facts",
            Asked::Echo(_) => "echo",
            Asked::Relay(_) => "relay",
            Asked::PortCheck(_) => "port_check",
            Asked::Group(_) => "group",
            Asked::GroupData(..) => "group_data",
        }
    }
}

/// A test that needs a slot.
enum Request {
    Throughput(TestRequest),
    Latency(LatencyRequest),
}

impl Request {
    fn kind(&self) -> &'static str {
        match self {
            Request::Throughput(r) if r.protocol == crate::protocol::Protocol::Udp => "udp",
            Request::Throughput(_) => "throughput",
            Request::Latency(_) => "latency",
        }
    }
}

impl Request {
    /// The request's parameters, for the test's log line.
    fn params(&self) -> String {
        match self {
            Request::Throughput(r) => format!(
                "{} {}, {} stream(s), {}",
                if r.protocol == Protocol::Udp { "UDP" } else { "TCP" },
                r.direction.as_str(),
                r.streams,
                match r.stop {
                    StopAfter::Seconds(t) => format!("{t} s"),
                    StopAfter::Bytes(b) => format!("{b} bytes"),
                }
            ),
            Request::Latency(r) => format!("{} probes, {} bytes", r.mode.as_str(), r.size),
        }
    }
}

/// A control connection after its hello, until its test holds a slot.
struct Session<'a> {
    ctx: &'a Ctx,
    peer: SocketAddr,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
}

/// Runs one control session after its hello; returns whether a test got a slot.
pub(super) async fn run(ctx: &Ctx, sock: TcpStream, peer: SocketAddr, hello: Hello, mut pending: Pending) -> bool {
    let (rd, wr) = sock.into_split();
    let mut s = Session { ctx, peer, rd, wr };
    let max = ctx.config.max_protocol;
    let Some(version) = negotiate(hello.protocol, max) else {
        return s.refuse(mismatch_text(hello.protocol, &hello.software, max)).await;
    };
    if !s.greet(version, hello.nonce.as_deref(), &mut pending).await {
        return false;
    }
    let Some(msg) = s.next(&mut pending).await else {
        return false;
    };
    // Past the handshake: this connection no longer counts against the per-address limit.
    drop(pending);
    let req = s.request(msg, version).await;
    // A test counts once it holds a slot (run_test); the slot-free asks count now.
    if let Some(a) = req.as_ref().filter(|a| !matches!(a, Asked::Test(_))) {
        ctx.metrics.served(a.kind());
    }
    let req = match req {
        None => return false,
        Some(Asked::Facts) => return facts::answer(ctx, peer, &mut s.wr, version).await,
        Some(Asked::Echo(r)) => return echo::run(ctx, peer, s.rd, s.wr, &r).await,
        Some(Asked::Relay(r)) => return relay::run(ctx, peer, s.rd, s.wr, &r).await,
        Some(Asked::PortCheck(r)) => return port_check::run(ctx, peer, s.wr, &r).await,
        Some(Asked::Group(j)) => return group::join(ctx, peer, s.rd, s.wr, &j).await,
        Some(Asked::GroupData(c, from, stream)) => {
            return group_data::take(ctx, peer, s.rd, s.wr, (c, from, stream)).await;
        }
        Some(Asked::Test(r)) => r,
    };
    let checked = match &req {
        Request::Throughput(r) => ctx.config.check(r),
        Request::Latency(r) => ctx.config.check_latency(r),
    };
    if let Err(reason) = checked {
        return s.refuse(reason).await;
    }
    let Some(_permit) = s.wait_for_slot().await else {
        return false;
    };
    #[cfg(feature = "panic-probe")]
    super::panic_probe(ctx, &hello.software, "slot");
    s.run_test(req).await
}

impl Session<'_> {
    async fn refuse(&mut self, reason: String) -> bool {
        refuse(self.ctx, &mut self.wr, self.peer, reason).await
    }

    /// Reads the client's next message within the handshake timeout; None when the connection was pushed out,
    /// or refused because the server is shutting down.
    async fn next(&mut self, pending: &mut Pending) -> Option<Result<ClientMessage, FrameError>> {
        let (ctx, hs) = (self.ctx, self.ctx.config.handshake_timeout);
        tokio::select! {
            r = read_message::<ClientMessage, _>(&mut self.rd, ctx.config.max_frame, hs) => Some(r),
            why = pending.evicted() => {
                ctx.evicted(self.peer, why);
                None
            }
            _ = ctx.shutting_down() => {
                self.refuse(SHUTTING_DOWN.into()).await;
                None
            }
        }
    }

    /// Our hello, with a proof of the key and a challenge when there is one; then the client's proof.
    /// Returns whether the client may go on.
    async fn greet(&mut self, version: u32, client_nonce: Option<&str>, pending: &mut Pending) -> bool {
        let challenge = match (&self.ctx.config.psk, client_nonce) {
            (None, _) => None,
            (Some(_), None) => {
                let reason =
                    "this server requires a pre-shared key; give the client --psk-file FILE or set SAF_NET_PSK";
                return self.refuse(reason.into()).await;
            }
            (Some(psk), Some(theirs)) => {
                let Ok(mine) = crate::auth::nonce() else { return false };
                let proof = psk.proof(crate::auth::SERVER_ROLE, theirs, &mine);
                Some(Challenge { nonce: mine, proof })
            }
        };
        let welcome = ServerMessage::Welcome {
            protocol: version,
            software: env!("CARGO_PKG_VERSION").into(),
            challenge: challenge.clone(),
        };
        if write_message(&mut self.wr, &welcome).await.is_err() {
            return false;
        }
        let (Some(psk), Some(c), Some(theirs)) = (&self.ctx.config.psk, &challenge, client_nonce) else {
            return true;
        };
        let ok = match self.next(pending).await {
            None => return false,
            Some(Ok(ClientMessage::Auth { proof })) => psk.verify(crate::auth::CLIENT_ROLE, &c.nonce, theirs, &proof),
            Some(_) => false,
        };
        if !ok {
            let reason = "authentication failed: the client's key does not match this server's".to_string();
            let peer = self.peer;
            tracing::warn!(%peer, "refused: {reason}");
            return self.refuse(reason).await;
        }
        true
    }

    /// The request; None when the client sent something else (refused) or nothing. Protocol 3's asks are
    /// refused in a session that speaks 2, so each version's messages stay its own.
    async fn request(&mut self, msg: Result<ClientMessage, FrameError>, version: u32) -> Option<Asked> {
        match msg {
            Ok(m) if m.needs_protocol() > version => {
                let (what, needs) = (kind(&m), m.needs_protocol());
                let reason = format!("{what} needs protocol {needs}; this session speaks protocol {version}");
                self.refuse(reason).await;
                None
            }
            Ok(ClientMessage::Test(req)) => Some(Asked::Test(Request::Throughput(req))),
            Ok(ClientMessage::Latency(req)) => Some(Asked::Test(Request::Latency(req))),
            Ok(ClientMessage::Facts) => Some(Asked::Facts),
            Ok(ClientMessage::Echo(req)) => Some(Asked::Echo(req)),
            Ok(ClientMessage::Relay(req)) => Some(Asked::Relay(req)),
            Ok(ClientMessage::PortCheck(req)) => Some(Asked::PortCheck(req)),
            Ok(ClientMessage::Group(ask)) => match *ask {
                GroupAsk::Join(j) => Some(Asked::Group(Box::new(j))),
                GroupAsk::Data { cookie, from, stream } => Some(Asked::GroupData(cookie, from, stream)),
                GroupAsk::Start => {
                    self.refuse("a group's start comes after its join, on the same connection".into())
                        .await;
                    None
                }
            },
            Ok(other) => {
                let reason = format!("expected a test request, got {}", kind(&other));
                self.refuse(reason).await;
                None
            }
            Err(e @ (FrameError::Decode(_) | FrameError::TooLarge { .. } | FrameError::Empty)) => {
                self.refuse(format!("malformed test request: {e}")).await;
                None
            }
            Err(e) => {
                self.ctx
                    .log(format!("{}: dropped before the test request: {e}", self.peer));
                None
            }
        }
    }

    /// Waits in line for a test slot, telling the client its position; None when it left, the queue was full,
    /// or the server is shutting down.
    async fn wait_for_slot(&mut self) -> Option<Permit> {
        let (ctx, peer) = (self.ctx, self.peer);
        let mut ticket = match ctx.slots.enqueue() {
            Ok(t) => t,
            Err(QueueFull(n)) => {
                let reason = format!(
                    "server busy: {n} clients already wait in line; try again later (server option --max-queue)"
                );
                self.refuse(reason).await;
                return None;
            }
        };
        let mut heartbeat = tokio::time::interval(Duration::from_secs(2));
        let mut told = 0;
        let mut _waiting = None;
        loop {
            match ticket.try_start() {
                Ok(p) => return Some(p),
                Err(pos) if pos != told => {
                    told = pos;
                    _waiting.get_or_insert_with(|| ctx.metrics.waiting());
                    ctx.log(format!("{peer}: queued at position {pos}"));
                    if write_message(&mut self.wr, &ServerMessage::Queued { position: pos })
                        .await
                        .is_err()
                    {
                        return None;
                    }
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = ticket.changed() => {}
                _ = heartbeat.tick() => {
                    if told > 0 && write_message(&mut self.wr, &ServerMessage::Queued { position: told }).await.is_err() {
                        ctx.log(format!("{peer}: left the queue"));
                        return None;
                    }
                }
                _ = client_spoke(&mut self.rd) => {
                    ctx.log(format!("{peer}: left the queue"));
                    return None;
                }
                _ = ctx.shutting_down() => {
                    self.refuse(SHUTTING_DOWN.into()).await;
                    return None;
                }
            }
        }
    }

    /// Runs the test that holds a slot and logs its one line: peer, parameters, result, duration.
    async fn run_test(mut self, req: Request) -> bool {
        let (ctx, peer) = (self.ctx, self.peer);
        let n = ctx.tests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let cookie = match Cookie::random() {
            Ok(c) => c,
            Err(e) => return self.refuse(format!("no randomness for the cookie: {e}")).await,
        };
        let began = std::time::Instant::now();
        let params = req.params();
        let test = Admitted {
            n,
            cookie,
            peer,
            rd: self.rd,
            wr: self.wr,
        };
        ctx.metrics.served(req.kind());
        let running = ctx.metrics.running();
        let result = match &req {
            Request::Throughput(r) => throughput::run(ctx, test, r).await,
            Request::Latency(r) => latency::run(ctx, test, r).await,
        };
        drop(running);
        if let Err(e) = &result {
            ctx.metrics.ended(e);
        }
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
}

/// Logs and sends one refusal; returns false (no test ran).
pub(super) async fn refuse(ctx: &Ctx, wr: &mut OwnedWriteHalf, peer: SocketAddr, reason: String) -> bool {
    ctx.metrics.refused(&reason);
    ctx.log(format!("{peer}: refused: {reason}"));
    let _ = write_message(wr, &ServerMessage::Refused { reason }).await;
    false
}
