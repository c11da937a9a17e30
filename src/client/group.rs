//! The orchestrator's side of a group session (protocol 3): join every member at once with one random cookie,
//! then `start` them all and gather each member's results. Generic over the flows (who sends to whom), so the
//! mesh's concurrent rounds and the collective share it. A member that cannot join ends the group before
//! anything runs (the others see their orchestrator leave and free their slots).

use std::future::Future;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::{ClientError, Greeted, control_error, describe, greet};
use crate::config::Target;
use crate::engine::GRACE;
use crate::protocol::{
    ClientMessage, Cookie, DEFAULT_MAX_FRAME, Flow, GroupAsk, GroupJoin, GroupReply, GroupResults, ServerMessage,
    read_message, write_message,
};

/// Longest a member's results may take past the duration and the engine's grace: its dials and the gathering
/// of its incoming connections (connect and handshake timeouts), and the answer.
const SLACK: Duration = Duration::from_secs(40);
/// Longest a member that joined a group that will not run may take to close its side.
const RELEASE_WAIT: Duration = Duration::from_secs(5);
/// Longest a collective's member may stay silent (it reports its progress every second).
pub const COLLECTIVE_SILENCE: Duration = Duration::from_secs(20);

/// One group: its members' servers (`HOST:PORT` each, as the members dial each other), its flows, streams per
/// flow and seconds of sending.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    pub members: Vec<String>,
    pub flows: Vec<Flow>,
    pub streams: u32,
    pub duration_secs: f64,
    /// A collective instead of timed flows (`client::collective`).
    pub collective: Option<crate::protocol::CollectiveSpec>,
}

/// Why a group did not run.
#[derive(Debug)]
pub enum GroupError {
    /// These members (index, why) could not join; nothing ran.
    Join(Vec<(usize, ClientError)>),
    /// The interrupt ended the group; every member stops within its bound.
    Interrupted,
}

/// Runs one group over `targets` (member i reached at `targets[i]`): each member's results, or why it gave none.
pub async fn run(
    targets: &[Target],
    plan: &GroupPlan,
    interrupt: impl Future<Output = ()>,
) -> Result<Vec<Result<GroupResults, ClientError>>, GroupError> {
    run_observed(targets, plan, None, interrupt).await
}

/// A member's reply before its results (a collective's points and progress), with the member's index.
pub type Observed = (usize, GroupReply);

/// [`run`], with every reply a member sends before its results passed to `events` as it comes.
pub async fn run_observed(
    targets: &[Target],
    plan: &GroupPlan,
    events: Option<UnboundedSender<Observed>>,
    interrupt: impl Future<Output = ()>,
) -> Result<Vec<Result<GroupResults, ClientError>>, GroupError> {
    let cookie = Cookie::random().map_err(|e| {
        GroupError::Join(vec![(
            0,
            ClientError::Interrupted {
                reason: format!("no randomness for the group cookie: {e}"),
            },
        )])
    })?;
    tokio::pin!(interrupt);
    let joined = tokio::select! {
        j = join_all(targets, plan, cookie) => j?,
        _ = &mut interrupt => return Err(GroupError::Interrupted),
    };
    // A collective's members speak every second while they run; timed flows answer once, at the end.
    let wait = match plan.collective {
        Some(_) => COLLECTIVE_SILENCE,
        None => Duration::from_secs_f64(plan.duration_secs) + GRACE + SLACK,
    };
    let mut set = JoinSet::new();
    for (i, (server, mut rd, mut wr)) in joined.into_iter().enumerate() {
        let events = events.clone();
        set.spawn(async move {
            let start = ClientMessage::Group(Box::new(GroupAsk::Start));
            let r = match write_message(&mut wr, &start).await {
                Ok(()) => {
                    results(server, &mut rd, wait, |reply| {
                        if let Some(tx) = &events {
                            let _ = tx.send((i, reply));
                        }
                    })
                    .await
                }
                Err(cause) => Err(control_error(server, "sending start", cause)),
            };
            (i, r)
        });
    }
    let mut out: Vec<Option<Result<GroupResults, ClientError>>> = (0..targets.len()).map(|_| None).collect();
    loop {
        tokio::select! {
            next = set.join_next() => match next {
                Some(Ok((i, r))) => out[i] = Some(r),
                Some(Err(_)) => {}
                None => break,
            },
            // Dropping the set closes every control connection: each member's run ends.
            _ = &mut interrupt => return Err(GroupError::Interrupted),
        }
    }
    Ok(out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(ClientError::Interrupted { reason: "lost".into() })))
        .collect())
}

type Joined = (std::net::SocketAddr, OwnedReadHalf, OwnedWriteHalf);

/// Joins every member at once; the members that could not join, if any.
async fn join_all(targets: &[Target], plan: &GroupPlan, cookie: Cookie) -> Result<Vec<Joined>, GroupError> {
    let mut set = JoinSet::new();
    for (i, t) in targets.iter().enumerate() {
        let ask = ClientMessage::Group(Box::new(GroupAsk::Join(GroupJoin {
            cookie,
            members: plan.members.clone(),
            index: i as u32,
            flows: plan.flows.clone(),
            streams: plan.streams,
            duration_seconds: plan.duration_secs,
            collective: plan.collective.clone(),
        })));
        let t = t.clone();
        set.spawn(async move { (i, join(&t, &ask).await) });
    }
    let mut joined: Vec<Option<Joined>> = (0..targets.len()).map(|_| None).collect();
    let mut failed = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok((i, Ok(j))) => joined[i] = Some(j),
            Ok((i, Err(e))) => failed.push((i, e)),
            Err(_) => {}
        }
    }
    if !failed.is_empty() {
        failed.sort_by_key(|(i, _)| *i);
        release(joined.into_iter().flatten().collect()).await;
        return Err(GroupError::Join(failed));
    }
    Ok(joined.into_iter().flatten().collect())
}

/// Leaves the members that joined a group that will not run, and waits (a bounded time) until each closed its
/// side: by then its slot is free, so a retry without the refusing members finds them free.
async fn release(joined: Vec<Joined>) {
    let mut readers = Vec::new();
    for (_, rd, wr) in joined {
        drop(wr);
        readers.push(rd);
    }
    for mut rd in readers {
        let mut sink = [0u8; 64];
        let _ = tokio::time::timeout(RELEASE_WAIT, async {
            while matches!(rd.read(&mut sink).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// One member: hello, key, join, its `joined`.
async fn join(target: &Target, ask: &ClientMessage) -> Result<Joined, ClientError> {
    let mut quiet = |_: super::Event<'_>| {};
    let Greeted {
        server, mut rd, mut wr, ..
    } = greet(target, ask, &mut quiet).await?;
    write_message(&mut wr, ask)
        .await
        .map_err(|cause| control_error(server, "sending the group join", cause))?;
    match read_message::<ServerMessage, _>(&mut rd, DEFAULT_MAX_FRAME, target.handshake_timeout)
        .await
        .map_err(|cause| control_error(server, "waiting for the group join's answer", cause))?
    {
        ServerMessage::Group(r) if *r == GroupReply::Joined => Ok((server, rd, wr)),
        ServerMessage::Refused { reason } => Err(ClientError::Refused { server, reason }),
        other => Err(ClientError::Unexpected {
            server,
            got: describe(&other),
            context: "waiting for the group join's answer",
        }),
    }
}

/// A member's results, each message within `wait`; what comes before them goes to `observe`.
async fn results(
    server: std::net::SocketAddr,
    rd: &mut OwnedReadHalf,
    wait: Duration,
    mut observe: impl FnMut(GroupReply),
) -> Result<GroupResults, ClientError> {
    loop {
        match read_message::<ServerMessage, _>(rd, DEFAULT_MAX_FRAME, wait)
            .await
            .map_err(|cause| control_error(server, "waiting for the group's results", cause))?
        {
            ServerMessage::Group(r) => match *r {
                GroupReply::Results(res) => return Ok(res),
                reply @ (GroupReply::Point(_) | GroupReply::Progress { .. }) => observe(reply),
                other => return Err(unexpected_reply(server, other)),
            },
            other => return Err(ended(server, other)),
        }
    }
}

fn unexpected_reply(server: std::net::SocketAddr, other: GroupReply) -> ClientError {
    ClientError::Unexpected {
        server,
        got: format!("{other:?}"),
        context: "waiting for the group's results",
    }
}

/// A member's session ended by a refusal or failure, or by something that is no group reply.
fn ended(server: std::net::SocketAddr, other: ServerMessage) -> ClientError {
    match other {
        ServerMessage::Refused { reason } | ServerMessage::Failed { reason } => ClientError::Refused { server, reason },
        other => ClientError::Unexpected {
            server,
            got: describe(&other),
            context: "waiting for the group's results",
        },
    }
}
