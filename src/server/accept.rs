//! The accept loop: one task per connection, a back-off when descriptors run out, and the two ways it ends.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::throttle::{Throttle, more};
use super::{Ctx, handle};

/// The first pause after a failed accept; it doubles while accepts keep failing.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// The longest pause, so a legitimate client waits at most this long once a descriptor is free.
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// Why the loop stopped.
pub(super) enum Ended {
    Shutdown,
    /// `--one-off` and one test ran.
    OneOff,
}

/// Accepts until `shutdown` resolves (or one test ran, with `--one-off`); the listener closes on return.
/// Accepts from `listener` and, when given, from `iperf3` (the `--iperf3-port` listener) too.
pub(super) async fn run(
    ctx: &Arc<Ctx>,
    listener: TcpListener,
    iperf3: Option<TcpListener>,
    active: &Arc<AtomicUsize>,
    shutdown: impl Future<Output = ()>,
) -> Ended {
    let (ran_tx, mut ran_rx) = mpsc::unbounded_channel::<()>();
    let failures = Throttle::default();
    let mut pause = FIRST_PAUSE;
    // Each connection's place in the accept order: iperf3 gives its streams roles by connection order.
    let mut order: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ended::Shutdown,
            Some(()) = ran_rx.recv(), if ctx.config.one_off => return Ended::OneOff,
            accepted = either(&listener, iperf3.as_ref()) => match accepted {
                Ok((sock, peer)) => {
                    pause = FIRST_PAUSE;
                    order += 1;
                    let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
                    spawn_connection(ctx, sock, peer, order, active, &ran_tx);
                }
                Err(e) => {
                    failed(ctx, &e, &failures);
                    // Out of descriptors or similar: back off instead of spinning, never exit.
                    tokio::select! {
                        _ = &mut shutdown => return Ended::Shutdown,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }
}

/// The next connection on either listener.
async fn either(
    main: &TcpListener,
    iperf3: Option<&TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match iperf3 {
        None => main.accept().await,
        Some(other) => tokio::select! {
            a = main.accept() => a,
            a = other.accept() => a,
        },
    }
}

/// Runs one connection in its own task, counted in `active` while it lives.
fn spawn_connection(
    ctx: &Arc<Ctx>,
    sock: tokio::net::TcpStream,
    peer: SocketAddr,
    order: u64,
    active: &Arc<AtomicUsize>,
    ran_tx: &mpsc::UnboundedSender<()>,
) {
    let (ctx, ran_tx) = (ctx.clone(), ran_tx.clone());
    let guard = ActiveGuard::new(active.clone());
    tokio::spawn(async move {
        let _active = guard;
        if handle(&ctx, sock, peer, order).await {
            let _ = ran_tx.send(());
        }
    });
}

/// A failed accept: out of descriptors, the oldest handshake makes way; at most one log line a second.
fn failed(ctx: &Ctx, e: &std::io::Error, failures: &Throttle) {
    let shed = crate::platform::out_of_descriptors(e) && ctx.handshakes.shed_oldest();
    if let Some(n) = failures.hit(Instant::now()) {
        let what = if shed {
            "; dropped the oldest connection still in its handshake to free a descriptor"
        } else {
            ""
        };
        ctx.log(format!("accept failed: {e}{what}{}", more(n)));
    }
}

/// Counts a connection task while it runs.
pub(super) struct ActiveGuard(Arc<AtomicUsize>);

impl ActiveGuard {
    fn new(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        ActiveGuard(count)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
