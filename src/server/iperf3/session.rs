//! An iperf3 client's control connection up to its test: the key rule, a slot (or iperf3's busy answer), the
//! parameter block checked against the server's limits; then the run and the test's one log line.

use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::params::{self, Refusal};
use super::run;
use super::wire::{self, errno};
use crate::protocol::iperf3::{Cookie, Params, State, read_json, write_state};
use crate::protocol::{FrameError, TestRequest};
use crate::server::Ctx;
use crate::server::handshakes::Pending;
use crate::server::slots::Permit;

/// The largest parameter or results block taken from an iperf3 client: its own are under 1 KiB, the results
/// of 128 streams some 20 KiB.
pub const MAX_JSON: u32 = 64 * 1024;

/// What an iperf3 client asked for: the saf-net request it amounts to, and what only iperf3 has.
pub struct Asked {
    pub request: TestRequest,
    /// UDP datagrams carry 64-bit counters.
    pub counters64: bool,
    /// The client's version, for the log line.
    pub client_version: String,
}

/// An iperf3 control connection that holds a slot and valid parameters.
pub struct Admitted {
    /// Declared before the connection, so the slot is free before the client sees the connection close.
    pub _permit: Permit,
    pub cookie: Cookie,
    pub peer: SocketAddr,
    pub rd: OwnedReadHalf,
    pub wr: OwnedWriteHalf,
}

/// Serves one iperf3 client whose cookie has been read; returns whether a test got a slot.
pub async fn run(ctx: &Ctx, sock: TcpStream, peer: SocketAddr, cookie: Cookie, pending: Pending) -> bool {
    // iperf3's control messages are single bytes: Nagle would hold each behind a delayed ACK.
    let _ = sock.set_nodelay(true);
    let (rd, mut wr) = sock.into_split();
    if ctx.config.psk.is_some() && !ctx.config.iperf3_without_key {
        let reason = "iperf3 clients cannot prove this server's pre-shared key; start the server with \
                      --allow-iperf3-without-key to serve them anyway";
        refuse(ctx, &mut wr, peer, errno::AUTH_TEST, reason).await;
        return false;
    }
    let Some(permit) = take_slot(ctx) else {
        ctx.metrics.refused("busy");
        ctx.log(format!(
            "{peer}: iperf3 client told the server is busy (a test runs or clients wait in line)"
        ));
        let _ = write_state(&mut wr, State::AccessDenied).await;
        return false;
    };
    let mut test = Admitted {
        _permit: permit,
        cookie,
        peer,
        rd,
        wr,
    };
    let Some(params) = parameters(ctx, &mut test, pending).await else {
        return false;
    };
    run_test(ctx, test, &params).await;
    true
}

/// A slot now, or None: iperf3 clients do not wait in line, and never go before clients that do.
fn take_slot(ctx: &Ctx) -> Option<Permit> {
    ctx.slots.try_take()
}

/// Tells an iperf3 client why it is refused, in iperf3's terms, and logs our own words.
pub async fn refuse(ctx: &Ctx, wr: &mut OwnedWriteHalf, peer: SocketAddr, i_errno: i32, reason: &str) {
    ctx.metrics.refused(reason);
    ctx.log(format!("{peer}: refused iperf3 client: {reason}"));
    let _ = wire::write_error(wr, i_errno).await;
}

/// Asks for the parameter block and checks it against the server's limits; None when refused or dropped.
async fn parameters(ctx: &Ctx, test: &mut Admitted, mut pending: Pending) -> Option<Asked> {
    let peer = test.peer;
    if write_state(&mut test.wr, State::ParamExchange).await.is_err() {
        return None;
    }
    let checked = tokio::select! {
        r = read_asked(&mut test.rd, &ctx.config) => r,
        why = pending.evicted() => {
            ctx.evicted(peer, why);
            return None;
        }
        _ = ctx.shutting_down() => {
            let _ = write_state(&mut test.wr, State::ServerTerminate).await;
            return None;
        }
    };
    let checked = match checked {
        Err(Unread::Dropped(e)) => {
            ctx.log(format!("{peer}: iperf3 client dropped before its parameters: {e}"));
            return None;
        }
        Err(Unread::Refused(r)) => Err(r),
        Ok(asked) => Ok(asked),
    };
    match checked {
        Ok(asked) => {
            // Past the handshake: this connection no longer counts against the per-address limit.
            drop(pending);
            Some(asked)
        }
        Err(r) => {
            refuse(ctx, &mut test.wr, peer, r.i_errno, &r.reason).await;
            None
        }
    }
}

/// Why no request came of a parameter block.
pub enum Unread {
    /// The client left or went silent: nothing to answer.
    Dropped(FrameError),
    /// Answer this, in iperf3's terms.
    Refused(Refusal),
}

/// Reads the parameter block (length-prefixed, capped at [`MAX_JSON`], within the handshake timeout) and
/// checks the request it amounts to against the server's limits.
pub async fn read_asked<R: tokio::io::AsyncRead + Unpin>(
    rd: &mut R,
    config: &crate::config::ServerConfig,
) -> Result<Asked, Unread> {
    let p = match read_json::<Params, _>(rd, MAX_JSON, config.handshake_timeout).await {
        Ok(p) => p,
        Err(e @ (FrameError::Closed | FrameError::Timeout(_) | FrameError::Io(_))) => return Err(Unread::Dropped(e)),
        Err(e) => {
            return Err(Unread::Refused(Refusal {
                reason: format!("malformed iperf3 parameters: {e}"),
                i_errno: errno::RECV_PARAMS,
            }));
        }
    };
    let request = params::request(&p).map_err(Unread::Refused)?;
    if let Err(reason) = config.check(&request) {
        return Err(Unread::Refused(Refusal {
            i_errno: params::limit_errno(&reason),
            reason,
        }));
    }
    Ok(Asked {
        request,
        counters64: p.udp_counters_64bit,
        client_version: p.client_version.unwrap_or_else(|| "unknown".into()),
    })
}

/// Runs the admitted test and logs its one line: peer, parameters, result, duration.
async fn run_test(ctx: &Ctx, test: Admitted, p: &Asked) {
    let n = ctx.tests.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let peer = test.peer;
    let r = &p.request;
    let what = format!(
        "iperf3 {}: {} {}, {} stream(s), {}",
        p.client_version,
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
    );
    let began = std::time::Instant::now();
    ctx.metrics.served("iperf3");
    let running = ctx.metrics.running();
    let result = run::run(ctx, n, test, p).await;
    drop(running);
    if let Err(e) = &result {
        ctx.metrics.ended(e);
    }
    let secs = began.elapsed().as_secs_f64();
    match result {
        Ok(summary) => ctx.log(format!(
            "test {n} from {peer} ({what}) finished in {secs:.1} s: {summary}"
        )),
        Err(reason) => ctx.log(format!(
            "test {n} from {peer} ({what}) ended early after {secs:.1} s: {reason}; slot free"
        )),
    }
}
