//! A group's data connections, both ways: a member dials the members it sends to (authenticated with its own
//! key, presenting the cookie and its index), and takes the ones sent to it into its registered group.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use super::Ctx;
use super::groups::Incoming;
use super::session::refuse;
use crate::client::{Greeted, greet};
use crate::config::Target;
use crate::net::{Family, split_host_port};
use crate::protocol::{
    ClientMessage, Cookie, DEFAULT_MAX_FRAME, GroupAsk, GroupJoin, GroupReply, ServerMessage, read_message,
    write_message,
};

/// How long a member waits for a member it dials to answer the connection.
pub(super) const CONNECT_TIMEOUT_SECS: f64 = 5.0;

/// A stream this member sends: (to, stream) and its connection, or why it has none.
pub(super) type Dialed = Vec<((u32, u32), Result<std::net::TcpStream, String>)>;

/// Takes a member's data connection into its group (no slot: the group's session holds one), after checking
/// that it comes from the member it names. Returns false: no test of its own ran.
pub(super) async fn take(
    ctx: &Ctx,
    peer: SocketAddr,
    rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    (cookie, from, stream): (Cookie, u32, u32),
) -> bool {
    let sender = match ctx.groups.member(&cookie, from) {
        Ok(s) => s,
        Err(reason) => return refuse(ctx, &mut wr, peer, format!("group data connection refused: {reason}")).await,
    };
    if !comes_from(peer.ip(), &sender).await {
        let reason = format!(
            "group data connection refused: it comes from {}, but member {from} is {sender}",
            peer.ip()
        );
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    let claim = match ctx.groups.claim(&cookie, from, stream) {
        Ok(c) => c,
        Err(reason) => return refuse(ctx, &mut wr, peer, format!("group data connection refused: {reason}")).await,
    };
    if claim.tx.is_closed() {
        let reason = "group data connection refused: the group's run started without it (too late)".to_string();
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    if write_message(&mut wr, &ServerMessage::Group(Box::new(GroupReply::Ready)))
        .await
        .is_err()
    {
        return false;
    }
    if let Ok(socket) = rd
        .reunite(wr)
        .map_err(|e| e.to_string())
        .and_then(|s| s.into_std().map_err(|e| e.to_string()))
    {
        let _ = claim.tx.send(Incoming { from, stream, socket });
    }
    false
}

/// Whether `ip` is one of the addresses `member` (`HOST:PORT`) names.
async fn comes_from(ip: IpAddr, member: &str) -> bool {
    let Some((host, port)) = split_host_port(member) else {
        return false;
    };
    let ip = ip.to_canonical();
    if let Ok(addr) = host.parse::<IpAddr>() {
        return addr.to_canonical() == ip;
    }
    let found = tokio::time::timeout(Duration::from_secs(2), tokio::net::lookup_host((host.as_str(), port))).await;
    match found {
        Ok(Ok(mut addrs)) => addrs.any(|a| a.ip().to_canonical() == ip),
        _ => false,
    }
}

/// Dials every stream of this member's flows at once, each within the connect and handshake timeouts.
pub(super) async fn dial_all(ctx: &Ctx, j: &GroupJoin) -> Dialed {
    let mut set = JoinSet::new();
    for flow in j.outgoing() {
        for stream in 1..=j.streams {
            let target = target(ctx, &j.members[flow.to as usize]);
            let ask = ClientMessage::Group(Box::new(GroupAsk::Data {
                cookie: j.cookie,
                from: j.index,
                stream,
            }));
            let bound = Duration::from_secs_f64(CONNECT_TIMEOUT_SECS) + ctx.config.handshake_timeout * 2;
            let to = flow.to;
            set.spawn(async move {
                let dialed = match target {
                    Ok(t) => tokio::time::timeout(bound, dial(t, ask))
                        .await
                        .unwrap_or_else(|_| Err("no answer within the connect timeout".into())),
                    Err(e) => Err(e),
                };
                ((to, stream), dialed)
            });
        }
    }
    let mut out = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(one) = r {
            out.push(one);
        }
    }
    out
}

/// The member at `addr` as a target, with this server's key.
fn target(ctx: &Ctx, addr: &str) -> Result<Target, String> {
    let (host, port) = split_host_port(addr).ok_or_else(|| format!("member {addr}: not HOST:PORT"))?;
    let mut t = Target::new(&host, port, Family::Any, CONNECT_TIMEOUT_SECS)?;
    t.psk = ctx.config.psk.clone();
    t.handshake_timeout = ctx.config.handshake_timeout;
    Ok(t)
}

/// One data connection: hello, key, the group's `data`, its `ready`; then the plain socket for the engine.
async fn dial(target: Target, ask: ClientMessage) -> Result<std::net::TcpStream, String> {
    let mut quiet = |_: crate::client::Event<'_>| {};
    let Greeted { mut rd, mut wr, .. } = greet(&target, &ask, &mut quiet).await.map_err(|e| e.to_string())?;
    write_message(&mut wr, &ask).await.map_err(|e| e.to_string())?;
    match read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, target.handshake_timeout).await {
        Ok(ServerMessage::Group(r)) if *r == GroupReply::Ready => {}
        Ok(ServerMessage::Refused { reason }) => return Err(reason),
        Ok(other) => return Err(format!("unexpected answer: {}", crate::client::describe(&other))),
        Err(e) => return Err(format!("waiting for the member's answer: {e}")),
    }
    let sock = rd.reunite(wr).map_err(|e| e.to_string())?;
    sock.into_std().map_err(|e| e.to_string())
}

/// The streams sent to this member, by (from, stream), as they arrive until all did or `within` passed.
pub(super) async fn gather(
    j: &GroupJoin,
    rx: &mut UnboundedReceiver<Incoming>,
    within: Duration,
) -> HashMap<(u32, u32), std::net::TcpStream> {
    let want = j.incoming().count() * j.streams as usize;
    let mut got = HashMap::new();
    let deadline = tokio::time::Instant::now() + within;
    while got.len() < want {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(i)) => {
                got.insert((i.from, i.stream), i.socket);
            }
            _ => break,
        }
    }
    got
}
