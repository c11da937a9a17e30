//! A latency run on the client: take a slot, run the probe on a blocking thread, tell the server we are done.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncWriteExt;

use crate::client::{ClientError, Event, Observer, Session, open, wait_for_start};
use crate::config::{LatencyPlan, Target};
use crate::engine::probe::{self, ProbeOutcome, ProbePlan};
use crate::net;
use crate::platform;
use crate::protocol::{ClientMessage, LatencyMode, encode, write_message};

/// What a latency run measured.
#[derive(Debug, Clone)]
pub struct LatencyOutcome {
    pub mode: LatencyMode,
    pub server: SocketAddr,
    pub server_software: String,
    pub started_at: SystemTime,
    pub plan: ProbePlan,
    pub probe: ProbeOutcome,
}

/// Refuses a UDP probe size the path cannot carry, naming the path MTU.
fn check_size(sock: &UdpSocket, server: SocketAddr, size: usize) -> Result<(), String> {
    let overhead = if server.is_ipv6() { 48 } else { 28 };
    match platform::path_mtu(sock, server.is_ipv6()) {
        Some(mtu) if size + overhead > mtu as usize => Err(format!(
            "--size {size} does not fit the path MTU of {mtu} bytes to {server}: at most {} bytes of UDP payload pass",
            mtu as usize - overhead
        )),
        _ => Ok(()),
    }
}

/// A slot-free echo session (protocol 3) against `target`: UDP probes as `probe` says (a fixed rate, at most the
/// server's `--max-echo-rate`), answered while the server's test slot is busy or free. The outcome's `probe`
/// holds the RTT samples (a histogram), loss, duplicates and reordering. Errors mean nothing was measured; a
/// server of protocol 2 gives [`ClientError::TooOld`].
pub async fn echo_session(
    target: &Target,
    probe: &ProbePlan,
    obs: &mut dyn Observer,
) -> Result<LatencyOutcome, ClientError> {
    let plan = LatencyPlan::echo(target.clone(), *probe).map_err(ClientError::Udp)?;
    run(&plan, obs).await
}

/// Runs one latency run as planned, reporting progress to `obs`. Errors mean nothing was measured.
pub async fn run(plan: &LatencyPlan, obs: &mut dyn Observer) -> Result<LatencyOutcome, ClientError> {
    let Session {
        server,
        server_software,
        cookie,
        server_facts: _,
        mut rd,
        mut wr,
    } = open(&plan.target, plan.message(), obs).await?;
    let fail = |reason: String| ClientError::Refused { server, reason };
    let mode = plan.request.mode;
    let mut stream = None;
    if mode == LatencyMode::Tcp {
        let mut s = net::connect_one(server, plan.target.connect_timeout, plan.target.bind, |_| Ok(())).await?;
        let data_err = |source| ClientError::Data {
            server,
            stream: 1,
            cause: source,
        };
        s.write_all(&encode(&ClientMessage::Data { cookie, stream: 1 }))
            .await
            .map_err(data_err)?;
        let s = s.into_std().map_err(data_err)?;
        s.set_nonblocking(false).map_err(data_err)?;
        stream = Some(s);
    }
    let udp = if mode == LatencyMode::Udp {
        let sock =
            probe::socket(server, plan.target.bind).map_err(|e| fail(format!("cannot open a UDP socket: {e}")))?;
        check_size(&sock, server, plan.probe.size).map_err(|reason| ClientError::Refused { server, reason })?;
        Some(sock)
    } else {
        None
    };
    wait_for_start(&mut rd, server, plan.target.handshake_timeout).await?;
    let started_at = SystemTime::now();
    obs.on(Event::Started { streams: &[] });
    let stop = Arc::new(AtomicBool::new(false));
    let (p, st) = (plan.probe, stop.clone());
    let mut worker = tokio::task::spawn_blocking(move || match (mode, stream, udp) {
        (LatencyMode::Tcp, Some(s), _) => probe::tcp(s, cookie, &p, &st),
        (LatencyMode::Udp, _, Some(u)) => probe::udp(&u, cookie, &p, &st),
        _ => probe::connect(server, cookie, &p, &st),
    });
    let t0 = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut peek = [0u8; 1];
    let mut server_gone = false;
    let outcome = loop {
        tokio::select! {
            done = &mut worker => break done.map_err(|e| fail(format!("probe thread failed: {e}")))?,
            _ = tick.tick() => obs.on(Event::Tick { elapsed: t0.elapsed() }),
            _ = rd.peek(&mut peek), if !server_gone => {
                // The server speaks only to fail or when it goes away: either way, stop probing.
                server_gone = true;
                stop.store(true, Ordering::Relaxed);
            }
        }
    };
    let mut outcome = outcome;
    if server_gone && outcome.error.is_none() {
        outcome.error = Some(format!(
            "server {server} ended the run early (killed, restarted, or over its time limit)"
        ));
    }
    let _ = write_message(&mut wr, &ClientMessage::Done).await;
    Ok(LatencyOutcome {
        mode,
        server,
        server_software,
        started_at,
        plan: plan.probe,
        probe: outcome,
    })
}
