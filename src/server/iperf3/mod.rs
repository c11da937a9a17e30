//! iperf3 clients on saf-net's port (and on `--iperf3-port`): a connection whose first bytes are an iperf3
//! cookie is either a data connection of a running iperf3 test or a new iperf3 client, served under the same
//! slots, limits and log lines as saf-net tests, with the engine's streams.
//!
//! The codec is `protocol::iperf3`. `wire.rs`: what the server adds (cookie or frame, error numbers, UDP setup
//! answers). `params.rs`: the parameter block → a `TestRequest`.
//! `session.rs`: key rule, busy answer, parameters. `run.rs`: streams, the run, the results exchange.
//! `results.rs`: the results document. `data.rs`: data connections by cookie. `udp.rs`: UDP setups and flows.

mod data;
mod params;
mod results;
mod run;
mod session;
mod udp;
pub(super) mod wire;

use std::net::SocketAddr;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

pub(super) use data::Tests;
pub(super) use udp::Flows;

use super::Ctx;
use super::handshakes::Pending;
use crate::protocol::iperf3::{COOKIE_SIZE, Cookie};
use data::Route;

/// The server's reading of what an iperf3 client sends before its streams, over any reader: the first bytes
/// (an iperf3 cookie, not a saf-net frame), the cookie, then the parameter block and the request it amounts to
/// under `config`'s limits; `Err` says why the server would drop or refuse the client. The same steps as a
/// real connection; the fuzz target `iperf3_server_start` drives it.
pub async fn read_client_start<R: tokio::io::AsyncRead + Unpin>(
    rd: &mut R,
    config: &crate::config::ServerConfig,
) -> Result<crate::protocol::TestRequest, String> {
    let mut cookie = [0u8; COOKIE_SIZE];
    let timeout = config.handshake_timeout;
    let read = tokio::time::timeout(timeout, rd.read_exact(&mut cookie[..4])).await;
    read.map_err(|_| "no first bytes in time".to_string())?
        .map_err(|e| e.to_string())?;
    if !wire::starts_like_cookie(&cookie[..4]) {
        return Err("not an iperf3 cookie: a saf-net frame, or a stranger".into());
    }
    let read = tokio::time::timeout(timeout, rd.read_exact(&mut cookie[4..])).await;
    read.map_err(|_| "no whole cookie in time".to_string())?
        .map_err(|e| e.to_string())?;
    Cookie::parse(&cookie).ok_or("began like an iperf3 cookie but is none")?;
    match session::read_asked(rd, config).await {
        Ok(asked) => Ok(asked.request),
        Err(session::Unread::Dropped(e)) => Err(format!("dropped: {e}")),
        Err(session::Unread::Refused(r)) => Err(format!("refused ({}): {}", r.i_errno, r.reason)),
    }
}

/// A connection whose first four bytes look like an iperf3 cookie; returns whether a test ran.
pub(super) async fn handle(
    ctx: &Ctx,
    mut sock: TcpStream,
    peer: SocketAddr,
    head: [u8; 4],
    order: u64,
    mut pending: Pending,
) -> bool {
    let mut cookie = [0u8; COOKIE_SIZE];
    cookie[..4].copy_from_slice(&head);
    let hs = ctx.config.handshake_timeout;
    let rest = tokio::select! {
        r = tokio::time::timeout(hs, sock.read_exact(&mut cookie[4..])) => r,
        why = pending.evicted() => {
            ctx.evicted(peer, why);
            return false;
        }
        _ = ctx.shutting_down() => return false,
    };
    let cookie = match rest {
        Ok(Ok(_)) => match Cookie::parse(&cookie) {
            Some(c) => c,
            None => {
                ctx.log(format!("{peer}: dropped: began like an iperf3 cookie but is none"));
                return false;
            }
        },
        Ok(Err(e)) => {
            ctx.log(format!("{peer}: dropped: iperf3 cookie cut short: {e}"));
            return false;
        }
        Err(_) => {
            ctx.log(format!("{peer}: dropped: no whole iperf3 cookie within {hs:?}"));
            return false;
        }
    };
    match ctx.iperf3_tests.route(&cookie, order, sock, peer.ip()) {
        Route::Delivered => false,
        Route::Refused(e) => {
            ctx.log(format!("{peer}: iperf3 data connection refused: {e}"));
            false
        }
        Route::NewTest(sock) => session::run(ctx, sock, peer, cookie, pending).await,
    }
}
