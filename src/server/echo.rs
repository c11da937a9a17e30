//! The slot-free echo (protocol 3): an authenticated session whose cookie the UDP responder echoes from the
//! control connection's address only, at most at the session's rate, alongside any running test.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::Ctx;
use super::control::{Ended, control_ended, fail, tell_shutdown};
use super::session::refuse;
use crate::config::GRACE;
use crate::protocol::{ClientMessage, Cookie, EchoRequest, ServerMessage, spawn_reader, write_message};

/// The responder answers at most `rate` × this a second, so a client's scheduling jitter is not trimmed.
const RATE_SLACK: f64 = 1.25;
/// A session may send this many probes back to back (or half a second's worth, if more).
const MIN_BURST: f64 = 4.0;

/// A session's token bucket: one token per echo answered.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    pub answered: u64,
    pub dropped: u64,
}

impl Bucket {
    pub fn new(rate: f64, now: Instant) -> Self {
        let burst = (rate / 2.0).max(MIN_BURST);
        Bucket {
            rate: rate * RATE_SLACK,
            burst,
            tokens: burst,
            last: now,
            answered: 0,
            dropped: 0,
        }
    }

    /// Whether a datagram arriving at `now` may be answered; counts it either way.
    pub fn take(&mut self, now: Instant) -> bool {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.answered += 1;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

/// Runs one echo session after its request: checks, a seat, the cookie, then waits for the client's `done`
/// (or its time limit, or the shutdown). Never takes a test slot. Returns false: no test ran.
pub(super) async fn run(
    ctx: &Ctx,
    peer: SocketAddr,
    rd: OwnedReadHalf,
    mut wr: OwnedWriteHalf,
    req: &EchoRequest,
) -> bool {
    if let Err(reason) = ctx.config.check_echo(req) {
        return refuse(ctx, &mut wr, peer, reason).await;
    }
    if !ctx.udp_ready {
        return refuse(
            ctx,
            &mut wr,
            peer,
            "this server has no UDP socket on its port, so it cannot answer echo probes".into(),
        )
        .await;
    }
    let Some(_seat) = ctx.echo_seats.take() else {
        let n = ctx.echo_seats.max();
        return refuse(
            ctx,
            &mut wr,
            peer,
            format!("server busy: {n} echo sessions already run; try again later (server option --max-echo-sessions)"),
        )
        .await;
    };
    let cookie = match Cookie::random() {
        Ok(c) => c,
        Err(e) => return refuse(ctx, &mut wr, peer, format!("no randomness for the cookie: {e}")).await,
    };
    let allowance = ctx.udp.allow_echo(cookie, peer.ip(), req.rate);
    let began = Instant::now();
    let ended = serve(ctx, rd, &mut wr, cookie, req).await;
    let (answered, dropped) = ctx.udp.echo_counts(&cookie).unwrap_or_default();
    drop(allowance);
    let what = format!(
        "echo session from {peer} ({} probes/s, {} bytes, no slot)",
        req.rate, req.size
    );
    let secs = began.elapsed().as_secs_f64();
    let counts = format!("{answered} probes answered, {dropped} over its rate dropped");
    match ended {
        Ok(()) => ctx.log(format!("{what} finished in {secs:.1} s: {counts}")),
        Err(reason) => ctx.log(format!("{what} ended after {secs:.1} s: {reason}; {counts}")),
    }
    false
}

/// Accepts the session and waits for its end.
async fn serve(
    ctx: &Ctx,
    rd: OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
    cookie: Cookie,
    req: &EchoRequest,
) -> Result<(), Ended> {
    let accepted = ServerMessage::Accepted { cookie, facts: None };
    write_message(wr, &accepted).await.map_err(Ended::Write)?;
    write_message(wr, &ServerMessage::Start).await.map_err(Ended::Write)?;
    let limit = Duration::from_secs_f64(req.duration_seconds) + GRACE;
    let (reader, mut ctl_rx) = spawn_reader::<ClientMessage, _>(rd, ctx.config.max_frame, limit);
    let outcome = tokio::select! {
        r = tokio::time::timeout(limit, ctl_rx.recv()) => match r {
            Ok(Some(Ok(ClientMessage::Done))) => Ok(()),
            Ok(other) => Err(control_ended(other)),
            Err(_) => Err(fail(wr, Ended::EchoCutOff(format!(
                "the echo session ran past its {} s (server option --max-echo-duration)",
                req.duration_seconds
            )))
            .await),
        },
        _ = ctx.shutting_down() => Err(tell_shutdown(wr).await),
    };
    reader.abort();
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_trims_a_flood_to_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(10.0, t0);
        let burst: usize = (0..100).filter(|_| b.take(t0)).count();
        assert_eq!(burst, 5, "a back-to-back flood gets half a second's worth");
        let mut b = Bucket::new(10.0, t0);
        // 2 s of one datagram a millisecond: the burst, then 12.5 a second.
        let answered = (0..2000).filter(|i| b.take(t0 + Duration::from_millis(*i))).count();
        assert!((28..=31).contains(&answered), "{answered}");
        assert_eq!(b.answered + b.dropped, 2000);
        let mut slow = Bucket::new(1.0, t0);
        assert_eq!((0..100).filter(|_| slow.take(t0)).count(), MIN_BURST as usize);
    }

    #[test]
    fn a_steady_client_at_its_rate_is_never_trimmed() {
        let t0 = Instant::now();
        let mut b = Bucket::new(100.0, t0);
        let all = (0..1000).all(|i| b.take(t0 + Duration::from_millis(10 * i)));
        assert!(all);
    }
}
