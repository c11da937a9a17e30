//! The server: accept loop, first-frame dispatch (control or data), slots and sessions.

mod accept;
mod collective;
mod control;
mod echo;
mod facts;
mod group;
mod group_data;
mod groups;
mod handshakes;
mod iperf3;
mod latency;
mod metrics;
mod port_check;
mod registry;
mod relay;
mod seats;
mod session;
mod slots;
mod throttle;
mod throughput;
mod udp;
mod udp_sink;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use handshakes::{Evicted, Handshakes};
use throttle::{Throttle, more};

pub use iperf3::read_client_start as read_iperf3_client_start;
pub use registry::{Registry, Reject};
pub use slots::{Permit, QueueFull, Slots, Ticket};
pub use udp::{Allowed, spawn_responder};

use crate::config::ServerConfig;
use crate::protocol::{
    AnyHello, ClientMessage, FrameError, MIN_PROTOCOL, ServerMessage, decode, mismatch_text, read_raw, write_message,
};
use tokio::io::AsyncReadExt;

/// State shared by every connection of one server.
pub(crate) struct Ctx {
    config: ServerConfig,
    slots: Arc<Slots>,
    registry: Registry,
    tests: AtomicU64,
    /// Cookies the UDP responder and connect probes answer.
    udp: Allowed,
    /// Whether the UDP socket on the test port is up.
    udp_ready: bool,
    /// Connections still in their handshake, per source address and all together.
    handshakes: Handshakes,
    /// Log lines about handshakes pushed out by the global cap, at most one a second.
    evictions: Throttle,
    /// The descriptor limit the global cap was derived from (None: unlimited).
    open_files: Option<u64>,
    /// Turns true when the server shuts down; running tests end and waiting clients are told.
    stopping: watch::Receiver<bool>,
    /// Running iperf3 tests by cookie, for their data connections.
    iperf3_tests: iperf3::Tests,
    /// Slot-free echo sessions (protocol 3), at most `--max-echo-sessions`.
    echo_seats: seats::Seats,
    /// Facts lookups (protocol 3) running now.
    facts_seats: seats::Seats,
    /// Relayed tests (protocol 3, `--allow-relay`): one at a time, a few a minute.
    relays: relay::Relays,
    /// Port checks (protocol 3, `--allow-relay`) running now: one at a time.
    port_checks: seats::Seats,
    /// Group sessions (protocol 3) this server is a member of now, by cookie.
    groups: groups::Groups,
    /// The counters `--metrics` serves.
    metrics: metrics::ServerMetrics,
}

impl Ctx {
    /// Resolves once the server is shutting down.
    async fn shutting_down(&self) {
        let mut rx = self.stopping.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl Ctx {
    /// Logs a handshake pushed out: each one for the per-address limit, at most one line a second for the global cap.
    fn evicted(&self, peer: SocketAddr, why: Evicted) {
        match why {
            Evicted::SameAddress => self.log(format!(
                "{peer}: dropped: evicted by a newer connection from the same address (server option --max-handshakes-per-ip)"
            )),
            Evicted::Global => {
                if let Some(n) = self.evictions.hit(std::time::Instant::now()) {
                    self.log(format!(
                        "{peer}: dropped: the server already held {} connections in their handshake, its cap for a \
                         descriptor limit of {}; the oldest made way{}",
                        self.handshakes.global_cap(),
                        self.open_files.map_or("unlimited".to_string(), |n| n.to_string()),
                        more(n)
                    ));
                }
            }
        }
    }

    /// Detail below the one line per test (start of a test, and the like): shown with -v.
    fn debug(&self, line: String) {
        if self.config.log {
            let clean: String = line.chars().flat_map(escape_control).collect();
            tracing::debug!("{clean}");
        }
    }

    fn log(&self, line: String) {
        if self.config.log {
            // Client-supplied text (software strings, reasons) must not forge log lines: escape control characters.
            let clean: String = line.chars().flat_map(escape_control).collect();
            tracing::info!("{clean}");
        }
    }
}

/// Serves tests on `listener` until `shutdown` resolves (or after one test with `one_off`).
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_ports(listener, None, config, shutdown).await
}

/// As [`serve`], also serving on `iperf3` (TCP and UDP), the port iperf3 clients dial by default (5201).
pub async fn serve_ports(
    listener: TcpListener,
    iperf3: Option<TcpListener>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with_metrics(listener, iperf3, None, config, shutdown).await
}

/// As [`serve_ports`], also answering Prometheus on `metrics` (`--metrics`): the server's counters at `/metrics`.
pub async fn serve_with_metrics(
    listener: TcpListener,
    iperf3: Option<TcpListener>,
    metrics: Option<TcpListener>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let udp = Allowed::default();
    let stop_udp = Arc::new(AtomicBool::new(false));
    // UDP probes share the TCP port number; without it, TCP tests still work and UDP ones are refused.
    let (udp_ready, udp_note) = match bind_udp(addr).and_then(|s| spawn_responder(s, udp.clone(), stop_udp.clone())) {
        Ok(_) => (true, format!("UDP {} for probes", addr.port())),
        Err(e) => (false, format!("no UDP probes: cannot bind UDP {addr}: {e}")),
    };
    let iperf3_note = iperf3_port(iperf3.as_ref(), &udp, &stop_udp, config.iperf3)?;
    let _stop_udp = StopOnDrop(stop_udp);
    let (stop_tx, stopping) = watch::channel(false);
    let open_files = crate::platform::open_files_limit();
    let ctx = Arc::new(Ctx {
        slots: Slots::new(config.max_concurrent, config.max_queue),
        registry: Registry::default(),
        tests: AtomicU64::new(0),
        udp,
        udp_ready,
        handshakes: Handshakes::new(config.max_handshakes_per_ip, handshakes::budget(open_files)),
        evictions: Throttle::default(),
        open_files,
        stopping,
        iperf3_tests: iperf3::Tests::default(),
        echo_seats: seats::Seats::new(config.max_echo_sessions),
        facts_seats: seats::Seats::new(facts::FACTS_AT_ONCE),
        relays: relay::Relays::new(config.max_relays_per_minute),
        port_checks: seats::Seats::new(1),
        groups: groups::Groups::default(),
        metrics: metrics::ServerMetrics::default(),
        config,
    });
    ctx.log(format!(
        "saf-net {} listening on {addr} (TCP; {udp_note}){iperf3_note}; {} test(s) at a time, {} more may queue",
        env!("CARGO_PKG_VERSION"),
        ctx.config.max_concurrent,
        ctx.config.max_queue
    ));
    ctx.debug(format!(
        "at most {} connections in their handshake at once (descriptor limit {})",
        ctx.handshakes.global_cap(),
        open_files.map_or("unlimited".to_string(), |n| n.to_string())
    ));
    if ctx.config.psk.is_none() && ctx.config.log {
        tracing::warn!(
            "running open: no pre-shared key, so anyone who can reach port {} can run tests (use --psk-file FILE or SAF_NET_PSK)",
            addr.port()
        );
    }
    if let Some(l) = metrics {
        let c = ctx.clone();
        tokio::spawn(async move {
            let stop = c.clone();
            crate::exporter::serve(
                l,
                Arc::new(metrics::Endpoint(c)),
                async move { stop.shutting_down().await },
            )
            .await;
        });
    }
    let active = Arc::new(AtomicUsize::new(0));
    match accept::run(&ctx, listener, iperf3, &active, shutdown).await {
        accept::Ended::OneOff => ctx.log("one test done (--one-off); exiting".into()),
        accept::Ended::Shutdown => {
            // The listener is closed by now: new connections are refused while the others end.
            ctx.log("shutting down: telling connected clients and ending the running test".into());
            let _ = stop_tx.send(true);
            let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
            while active.load(Ordering::Relaxed) > 0 && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            ctx.log("stopped".into());
        }
    }
    Ok(())
}

/// Binds UDP beside the iperf3 port's listener and feeds it to a responder; the log's note on iperf3.
fn iperf3_port(
    listener: Option<&TcpListener>,
    udp: &Allowed,
    stop: &Arc<AtomicBool>,
    enabled: bool,
) -> std::io::Result<String> {
    if !enabled {
        return Ok("; iperf3 clients off (--no-iperf3)".into());
    }
    let Some(l) = listener else {
        return Ok("; iperf3 clients served too".into());
    };
    let addr = l.local_addr()?;
    // iperf3's UDP streams go to the port its control connection went to.
    let note = match bind_udp(addr).and_then(|s| spawn_responder(s, udp.clone(), stop.clone())) {
        Ok(_) => format!("; iperf3 clients served too, and on TCP and UDP {}", addr.port()),
        Err(e) => format!(
            "; iperf3 clients served too, and on TCP {} (no UDP tests there: cannot bind UDP {addr}: {e})",
            addr.port()
        ),
    };
    Ok(note)
}

/// A control character as its escape (`\n`, `\u{1b}`); any other character as itself.
fn escape_control(c: char) -> Vec<char> {
    if c.is_control() {
        c.escape_default().collect()
    } else {
        vec![c]
    }
}

/// How long a shutting-down server waits for its connections to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds UDP on the TCP listener's address, dual-stack when that is the IPv6 wildcard.
fn bind_udp(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    let sock = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        sock.set_only_v6(false)?;
    }
    sock.bind(&addr.into())?;
    let sock: std::net::UdpSocket = sock.into();
    // Answers must not be fragmented either, or a reverse-path MTU probe would pass where frames cannot.
    crate::platform::set_dont_fragment(&sock, addr.is_ipv6())?;
    if addr.is_ipv6() && addr.ip().is_unspecified() {
        let _ = crate::platform::set_dont_fragment(&sock, false);
    }
    Ok(sock)
}

/// Stops the UDP responder thread when the server returns.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Test-only (feature `panic-probe`): panics when a hello's software string is `panic-probe:STAGE`
/// and the handler has reached STAGE ("hello"; "slot" and "locks" once a test slot is held). "locks"
/// panics while holding the slot queue's, the registry's, the UDP allow-list's and the handshake table's
/// mutexes, poisoning all four.
#[cfg(feature = "panic-probe")]
pub(crate) fn panic_probe(ctx: &Ctx, software: &str, stage: &str) {
    match (stage, software.strip_prefix("panic-probe:")) {
        ("slot", Some("locks")) => ctx.slots.hold(|| {
            ctx.registry
                .hold(|| ctx.udp.hold(|| ctx.handshakes.hold(|| panic!("panic probe: locks"))))
        }),
        (_, Some(want)) if want == stage => panic!("panic probe: {stage}"),
        _ => {}
    }
}

/// What a connection began with.
enum First {
    /// A saf-net frame.
    Frame(Vec<u8>),
    /// Four bytes that can only begin an iperf3 cookie.
    Iperf3([u8; 4]),
}

/// Reads a connection's first frame, or the start of an iperf3 cookie (saf-net's length prefix never looks
/// like one: it would be over 800 MB).
async fn first_bytes(ctx: &Ctx, sock: &mut TcpStream) -> Result<First, FrameError> {
    let hs = ctx.config.handshake_timeout;
    let mut head = [0u8; 4];
    match tokio::time::timeout(hs, sock.read_exact(&mut head)).await {
        Err(_) => return Err(FrameError::Timeout(hs)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Ok(Err(e)) => return Err(e.into()),
        Ok(Ok(_)) => {}
    }
    if ctx.config.iperf3 && iperf3::wire::starts_like_cookie(&head) {
        return Ok(First::Iperf3(head));
    }
    let mut rest = (&head[..]).chain(sock);
    read_raw(&mut rest, ctx.config.max_frame, hs).await.map(First::Frame)
}

/// Reads a connection's first frame and routes it; returns whether a test ran. `order` is its place in the
/// accept order.
async fn handle(ctx: &Ctx, mut sock: TcpStream, peer: SocketAddr, order: u64) -> bool {
    let mut pending = ctx.handshakes.enter(peer.ip());
    let first = tokio::select! {
        r = first_bytes(ctx, &mut sock) => r,
        why = pending.evicted() => {
            ctx.evicted(peer, why);
            return false;
        }
        _ = ctx.shutting_down() => return false,
    };
    let raw = match first {
        Ok(First::Frame(raw)) => raw,
        Ok(First::Iperf3(head)) => return iperf3::handle(ctx, sock, peer, head, order, pending).await,
        Err(e) => {
            ctx.log(format!("{peer}: dropped: {e}"));
            return false;
        }
    };
    match decode::<ClientMessage>(&raw) {
        Ok(ClientMessage::Hello {
            protocol,
            software,
            nonce,
        }) => {
            #[cfg(feature = "panic-probe")]
            panic_probe(ctx, &software, "hello");
            // Control messages are small and latency-bound: Nagle would hold each behind a delayed ACK.
            let _ = sock.set_nodelay(true);
            let hello = session::Hello {
                protocol,
                software,
                nonce,
            };
            session::run(ctx, sock, peer, hello, pending).await
        }
        // A connect-time probe: the handshake was the measurement; close quietly.
        Ok(ClientMessage::Probe { .. }) => false,
        Ok(ClientMessage::Data { cookie, stream }) => {
            if let Err(e) = ctx.registry.deliver(&cookie, stream, sock, peer.ip()) {
                ctx.log(format!("{peer}: data connection refused: {e}"));
            }
            false
        }
        Ok(_) => {
            let reason = "expected a hello first".to_string();
            ctx.log(format!("{peer}: refused: {reason}"));
            let _ = write_message(&mut sock, &ServerMessage::Refused { reason }).await;
            false
        }
        Err(e) => {
            // A hello of a version we speak must decode strictly; any other version is named in the refusal.
            let max = ctx.config.max_protocol;
            let reason = match decode::<AnyHello>(&raw) {
                Ok(h) if !(MIN_PROTOCOL..=max).contains(&h.hello.protocol) => {
                    mismatch_text(h.hello.protocol, &h.hello.software, max)
                }
                _ => format!("not a saf-net hello ({e})"),
            };
            ctx.log(format!("{peer}: refused: {reason}"));
            let _ = write_message(&mut sock, &ServerMessage::Refused { reason }).await;
            false
        }
    }
}
