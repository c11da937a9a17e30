//! Hostile clients against ONE in-process server (`saf_net::serve` on 127.0.0.1, port 0, and its UDP
//! socket on the same port), then proof that the same server still runs a normal test correctly.
//!
//! The suite sends well over 10,000 malformed inputs: random bytes, random frame bodies, random JSON,
//! every truncation of real frames, oversize and zero length prefixes, wrong types, missing and unknown
//! fields in every message variant, unknown variants, wrong protocol versions, messages out of order,
//! data connections with wrong cookies or from a second address (127.0.0.2), UDP probes with wrong
//! cookies or from the wrong address; plus a reverse-mode client that never reads its data, a TCP latency
//! client that keeps its echo socket open, 100 idle and 10 slow connections. Every input is judged
//! against a model of what the server must answer, and every exchange must end within a bound.
//!
//! Inputs come from a seeded xorshift PRNG: `SAF_NET_HOSTILE_SEED=N cargo test --test hostile` replays
//! another seed; a failure names its case number, category and seed. Traffic goes only to loopback.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Server;
use saf_net::client::Event;
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput;
use saf_net::protocol::{
    ClientMessage, Cookie, DEFAULT_MAX_FRAME, DatagramKind, Direction, EchoRequest, FLAG_HELLO, HEADER_LEN, Header,
    LatencyMode, LatencyRequest, MIN_PROTOCOL, PROTOCOL_VERSION, Protocol, ServerMessage, StopAfter, TestRequest,
    decode, encode, negotiate, read_message, set_data_tag, write_message,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

const SEED: u64 = 0x5af0_2026_1129_0003;
/// The server's handshake timeout in this suite: short, so idle connections cost little.
const HS: Duration = Duration::from_secs(2);
const CAP: u32 = DEFAULT_MAX_FRAME;
/// Concurrent hostile connections, each worker from its own loopback address (127.0.0.10 and up).
const WORKERS: usize = 32;
/// Concurrent intruders on a live test: they come from the client's own address (or 127.0.0.2), so
/// stay below the server's per-address handshake limit (16) lest the limit, not the cookie check, stop them.
const INTRUDERS: usize = 8;
/// Longest one malformed exchange may take before the server must have closed it.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(5);
/// The engine's grace past a test's planned end (config::GRACE).
const GRACE: Duration = Duration::from_secs(10);

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
/// A second loopback address: Linux routes all of 127.0.0.0/8 to lo.
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/// xorshift64*: tiny, seeded, good enough to make hostile inputs reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }

    fn cookie(&mut self) -> Cookie {
        let mut c = [0u8; 16];
        c.iter_mut().for_each(|b| *b = self.next() as u8);
        Cookie(c)
    }
}

fn seed() -> u64 {
    std::env::var("SAF_NET_HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED)
}

// ---------------------------------------------------------------------------------------------
// The server and raw connections
// ---------------------------------------------------------------------------------------------

async fn server() -> Server {
    Server::start(ServerConfig {
        log: std::env::var_os("SAF_NET_HOSTILE_LOG").is_some(),
        handshake_timeout: HS,
        ..ServerConfig::default()
    })
    .await
}

/// Connects from a chosen local address (bound before connecting).
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    connect_with(from, to, None).await
}

/// Connects from `from`, optionally with a small receive buffer (a peer that is easy to fill).
async fn connect_with(from: IpAddr, to: SocketAddr, rcvbuf: Option<u32>) -> std::io::Result<TcpStream> {
    let sock = TcpSocket::new_v4()?;
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n)?;
    }
    sock.bind(SocketAddr::new(from, 0))?;
    tokio::time::timeout(Duration::from_secs(3), sock.connect(to))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))?
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn hello_msg() -> ClientMessage {
    ClientMessage::Hello {
        protocol: PROTOCOL_VERSION,
        software: env!("CARGO_PKG_VERSION").into(),
        nonce: None,
    }
}

fn request(direction: Direction, seconds: f64) -> TestRequest {
    TestRequest {
        direction,
        streams: 1,
        stop: StopAfter::Seconds(seconds),
        omit_seconds: 0.0,
        interval_seconds: 0.5,
        block_size: 128 * 1024,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: None,
        udp_echo: false,
        protocol: Protocol::Tcp,
        server_cpu: None,
        skip_rx_copy: false,
    }
}

/// A control connection that said hello and got welcome.
async fn control(addr: SocketAddr) -> Result<(OwnedReadHalf, OwnedWriteHalf), String> {
    control_with(addr, None).await
}

async fn control_with(addr: SocketAddr, rcvbuf: Option<u32>) -> Result<(OwnedReadHalf, OwnedWriteHalf), String> {
    let sock = connect_with(LOCAL, addr, rcvbuf)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = sock.set_nodelay(true);
    let (mut rd, mut wr) = sock.into_split();
    send(&mut wr, &hello_msg()).await?;
    match recv(&mut rd, HS).await? {
        ServerMessage::Welcome { .. } => Ok((rd, wr)),
        other => Err(format!("expected welcome, got {other:?}")),
    }
}

async fn send(wr: &mut OwnedWriteHalf, m: &ClientMessage) -> Result<(), String> {
    write_message(wr, m).await.map_err(|e| format!("send: {e}"))
}

async fn recv(rd: &mut OwnedReadHalf, limit: Duration) -> Result<ServerMessage, String> {
    read_message::<ServerMessage, _>(rd, CAP, limit)
        .await
        .map_err(|e| format!("control: {e}"))
}

/// Sends a request and waits (through any queue positions) for the cookie.
async fn admitted(
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
    m: &ClientMessage,
    within: Duration,
) -> Result<Cookie, String> {
    send(wr, m).await?;
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no acceptance within {within:?}"));
        }
        match recv(rd, left).await? {
            ServerMessage::Queued { .. } => {}
            ServerMessage::Accepted { cookie, .. } => return Ok(cookie),
            other => return Err(format!("expected acceptance, got {other:?}")),
        }
    }
}

/// Reads until the peer closes; Ok(bytes seen) or Err on timeout.
async fn drain_until_closed(rd: &mut (impl AsyncReadExt + Unpin), limit: Duration) -> Result<u64, String> {
    let mut n = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    tokio::time::timeout(limit, async {
        loop {
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return n,
                Ok(k) => n += k as u64,
            }
        }
    })
    .await
    .map_err(|_| format!("still open after {limit:?}"))
}

// ---------------------------------------------------------------------------------------------
// One malformed exchange and its judge
// ---------------------------------------------------------------------------------------------

/// What the server must answer to one input.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// Not a single byte back (data connections and probes that do not belong to us).
    Nothing,
    /// Closed without a word, or with one refusal.
    Silent,
    /// Exactly one refusal, containing this text if given.
    Refused(Option<&'static str>),
    /// Welcome, then silence: the server waited for more and saw us leave.
    Welcome,
    /// Welcome, then one refusal containing this text.
    WelcomeRefused(&'static str),
    /// Welcome, then the request went through the limits: a refusal, or queue positions and an
    /// acceptance (after which we leave at once).
    WelcomeAdmission,
    /// Welcome, then the server's facts (or a busy refusal), and the end.
    WelcomeFacts,
}

/// A frame split off the front of an input, as the server's reader sees it.
enum Front<'a> {
    /// Fewer than 4 bytes, or the body cut short: the reader sees the peer close.
    Closed,
    Empty,
    TooLarge,
    Whole(&'a [u8], &'a [u8]),
}

fn front(b: &[u8]) -> Front<'_> {
    if b.len() < 4 {
        return Front::Closed;
    }
    let n = u32::from_be_bytes(b[..4].try_into().unwrap());
    if n == 0 {
        return Front::Empty;
    }
    if n > CAP {
        return Front::TooLarge;
    }
    match b.get(4..4 + n as usize) {
        Some(body) => Front::Whole(body, &b[4 + n as usize..]),
        None => Front::Closed,
    }
}

/// The server's required answer to `input` sent on a fresh connection that then closes its write side.
fn model(input: &[u8]) -> Want {
    match front(input) {
        Front::Closed | Front::Empty | Front::TooLarge => Want::Silent,
        Front::Whole(body, rest) => match decode::<ClientMessage>(body) {
            Ok(ClientMessage::Hello { protocol, .. }) => match negotiate(protocol, PROTOCOL_VERSION) {
                Some(version) => after_hello_in(rest, version),
                None => Want::Refused(Some("protocol version mismatch")),
            },
            Ok(ClientMessage::Data { .. } | ClientMessage::Probe { .. }) => Want::Silent,
            Ok(_) => Want::Refused(Some("expected a hello first")),
            Err(_) => Want::Refused(None),
        },
    }
}

/// What follows a hello that the server answers in `version`.
fn after_hello_in(rest: &[u8], version: u32) -> Want {
    match front(rest) {
        Front::Closed => Want::Welcome,
        Front::Empty | Front::TooLarge => Want::WelcomeRefused("malformed test request"),
        Front::Whole(body, _) => match decode::<ClientMessage>(body) {
            Ok(m) if m.needs_protocol() > version => Want::WelcomeRefused("needs protocol 3"),
            Ok(ClientMessage::Test(_) | ClientMessage::Latency(_) | ClientMessage::Echo(_)) => Want::WelcomeAdmission,
            Ok(ClientMessage::Facts) => Want::WelcomeFacts,
            // The model's servers run without --allow-relay.
            Ok(ClientMessage::Relay(_) | ClientMessage::PortCheck(_)) => Want::WelcomeRefused("does not relay"),
            Ok(_) => Want::WelcomeRefused("expected a test request"),
            Err(_) => Want::WelcomeRefused("malformed test request"),
        },
    }
}

struct Reply {
    msgs: Vec<ServerMessage>,
    /// Bytes that did not decode as a server message (a partial last frame after a reset is fine).
    junk: Option<String>,
    reset: bool,
    closed: bool,
    bytes: usize,
}

async fn exchange(addr: SocketAddr, from: IpAddr, input: &[u8]) -> Result<Reply, String> {
    let sock = connect_from(from, addr).await.map_err(|e| format!("connect: {e}"))?;
    let (mut rd, mut wr) = sock.into_split();
    let write = async {
        // The server may close early (an oversize prefix): a failed write is part of the game.
        let _ = wr.write_all(input).await;
        let _ = wr.shutdown().await;
    };
    let mut got = Vec::new();
    let mut reset = false;
    let read = async {
        let mut buf = [0u8; 4096];
        loop {
            match rd.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => {
                    reset = true;
                    break;
                }
            }
        }
    };
    let closed = tokio::time::timeout(EXCHANGE_LIMIT, async { tokio::join!(write, read) })
        .await
        .is_ok();
    let mut msgs = Vec::new();
    let mut junk = None;
    let mut rest = got.as_slice();
    while !rest.is_empty() {
        match front(rest) {
            Front::Whole(body, tail) => {
                match decode::<ServerMessage>(body) {
                    Ok(m) => msgs.push(m),
                    Err(e) => {
                        junk = Some(format!("undecodable reply: {e}"));
                        break;
                    }
                }
                rest = tail;
            }
            _ if reset => break,
            _ => {
                junk = Some(format!("{} stray bytes", rest.len()));
                break;
            }
        }
    }
    Ok(Reply {
        msgs,
        junk,
        reset,
        closed,
        bytes: got.len(),
    })
}

fn refused_with(m: &ServerMessage, text: Option<&str>) -> bool {
    matches!(m, ServerMessage::Refused { reason } if text.is_none_or(|t| reason.contains(t)))
}

fn welcome(m: &ServerMessage) -> bool {
    matches!(m, ServerMessage::Welcome { protocol, .. } if (MIN_PROTOCOL..=PROTOCOL_VERSION).contains(protocol))
}

fn judge(want: Want, r: &Reply) -> Result<(), String> {
    if !r.closed {
        return Err(format!("server kept the connection open past {EXCHANGE_LIMIT:?}"));
    }
    if let Some(j) = &r.junk {
        return Err(j.clone());
    }
    let m = &r.msgs;
    // A reset may swallow what the server wrote last: then a prefix of the answer is enough.
    let short = |need: usize| m.len() < need && r.reset;
    let ok = match want {
        Want::Nothing => r.bytes == 0,
        Want::Silent => m.is_empty() || (m.len() == 1 && refused_with(&m[0], None)),
        Want::Refused(text) => (m.len() == 1 && refused_with(&m[0], text)) || short(1),
        Want::Welcome => (m.len() == 1 && welcome(&m[0])) || short(1),
        Want::WelcomeRefused(text) => {
            (m.len() == 2 && welcome(&m[0]) && refused_with(&m[1], Some(text)))
                || (short(2) && m.first().is_none_or(welcome))
        }
        Want::WelcomeFacts => {
            let answer = |x: &ServerMessage| matches!(x, ServerMessage::Facts(_)) || refused_with(x, Some("busy"));
            (m.len() == 2 && welcome(&m[0]) && answer(&m[1])) || (short(2) && m.first().is_none_or(welcome))
        }
        Want::WelcomeAdmission => {
            let accepted = m.iter().filter(|x| matches!(x, ServerMessage::Accepted { .. })).count();
            let orderly = m.first().is_some_and(welcome)
                && accepted <= 1
                && m[1..].iter().all(|x| {
                    matches!(
                        x,
                        ServerMessage::Refused { .. }
                            | ServerMessage::Queued { .. }
                            | ServerMessage::Accepted { .. }
                            | ServerMessage::Start
                            | ServerMessage::Failed { .. }
                    )
                });
            orderly || (r.reset && m.is_empty())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("wanted {want:?}, got {m:?} (reset: {})", r.reset))
    }
}

struct Case {
    what: &'static str,
    input: Vec<u8>,
    /// None: the worker's own loopback address (127.0.0.10 + worker), so the server's per-address
    /// handshake limit never evicts the suite's own concurrent connections.
    from: Option<IpAddr>,
    want: Want,
}

impl Case {
    fn modelled(what: &'static str, input: Vec<u8>) -> Case {
        let want = model(&input);
        Case {
            what,
            input,
            from: None,
            want,
        }
    }
}

/// Tallies of what was sent and what went wrong.
#[derive(Default)]
struct Tally {
    tcp: AtomicU64,
    udp: AtomicU64,
    by_kind: Mutex<BTreeMap<&'static str, u64>>,
    failures: Mutex<Vec<String>>,
    failed: AtomicU64,
    slowest_ms: AtomicU64,
}

impl Tally {
    fn count(&self, what: &'static str, n: u64, udp: bool) {
        if udp { &self.udp } else { &self.tcp }.fetch_add(n, Ordering::Relaxed);
        *self.by_kind.lock().unwrap().entry(what).or_default() += n;
    }

    fn fail(&self, msg: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut f = self.failures.lock().unwrap();
        if f.len() < 25 {
            f.push(msg);
        }
    }

    fn total(&self) -> u64 {
        self.tcp.load(Ordering::Relaxed) + self.udp.load(Ordering::Relaxed)
    }
}

fn preview(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(120)]).into_owned();
    format!("{} bytes: {s:?}", b.len())
}

/// Runs every case, `workers` at a time, judging each reply.
async fn run_cases(addr: SocketAddr, cases: Vec<Case>, workers: usize, tally: &Arc<Tally>, seed: u64) {
    let cases = Arc::new(cases);
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (cases, next, tally) = (cases.clone(), next.clone(), tally.clone());
        let own = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + w as u8));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(c) = cases.get(i) else { break };
                let from = c.from.unwrap_or(own);
                let t0 = Instant::now();
                let verdict = match exchange(addr, from, &c.input).await {
                    Ok(reply) => judge(c.want, &reply),
                    Err(e) => Err(e),
                };
                tally
                    .slowest_ms
                    .fetch_max(t0.elapsed().as_millis() as u64, Ordering::Relaxed);
                tally.count(c.what, 1, false);
                if let Err(e) = verdict {
                    tally.fail(format!(
                        "case #{i} [{}] from {from} (seed {seed}): {e}; input {}",
                        c.what,
                        preview(&c.input)
                    ));
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------------------

fn templates(rng: &mut Rng) -> Vec<ClientMessage> {
    vec![
        hello_msg(),
        ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            software: "0.1.0".into(),
            nonce: Some("0123456789abcdef0123456789abcdef".into()),
        },
        ClientMessage::Auth { proof: "ab".repeat(32) },
        ClientMessage::Data {
            cookie: rng.cookie(),
            stream: 1,
        },
        ClientMessage::Probe { cookie: rng.cookie() },
        ClientMessage::Abort { reason: "bye".into() },
        ClientMessage::Done,
        ClientMessage::Test(TestRequest {
            direction: Direction::Forward,
            streams: 2,
            stop: StopAfter::Seconds(1.0),
            omit_seconds: 0.5,
            interval_seconds: 1.0,
            block_size: 131_072,
            window: Some(1 << 20),
            mss: Some(1400),
            congestion: Some("cubic".into()),
            fq_rate: Some(1_000_000_000),
            bitrate: Some(1_000_000_000),
            udp_echo: true,
            protocol: Protocol::Udp,
            server_cpu: Some(0),
            skip_rx_copy: true,
        }),
        ClientMessage::Test(TestRequest {
            stop: StopAfter::Bytes(1 << 20),
            ..request(Direction::Bidir, 1.0)
        }),
        ClientMessage::Latency(LatencyRequest {
            mode: LatencyMode::Udp,
            duration_seconds: 1.0,
            size: 64,
        }),
        ClientMessage::Facts,
        ClientMessage::Echo(EchoRequest {
            duration_seconds: 1.0,
            rate: 10.0,
            size: 64,
        }),
    ]
}

/// Raw JSON tokens put in place of a value: wrong types, out-of-range and invalid numbers, odd strings.
fn raw_tokens() -> Vec<String> {
    let mut v: Vec<String> = [
        "null",
        "true",
        "false",
        "0",
        "-1",
        "-0",
        "1.5",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775809",
        "1e400",
        "-1e400",
        "1e-400",
        "NaN",
        "Infinity",
        "01",
        "0x10",
        "\"\"",
        "\"x\"",
        "\"1\"",
        "\"forward\"",
        "\"\\ud800\"",
        "\"\\u0000\"",
        "[]",
        "{}",
        "[1]",
        "[null,null]",
        "{\"a\":1}",
        "{\"seconds\":1}",
        "{\"bytes\":-1}",
        "\"00112233445566778899aabbccddeeff\"",
        "\"+0+1+2+3+4+5+6+7+8+9+a+b+c+d+e+f\"",
        "\"\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("\"{}\"", "A".repeat(4000)));
    v.push(format!("{}1{}", "[".repeat(200), "]".repeat(200)));
    v
}

type Path = Vec<PathSeg>;

#[derive(Clone)]
enum PathSeg {
    Key(String),
    Idx(usize),
}

fn paths(v: &Value, here: Path, out: &mut Vec<Path>) {
    out.push(here.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = here.clone();
                p.push(PathSeg::Key(k.clone()));
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = here.clone();
                p.push(PathSeg::Idx(i));
                paths(x, p, out);
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut Value, p: &[PathSeg]) -> &'a mut Value {
    p.iter().fold(v, |v, seg| match seg {
        PathSeg::Key(k) => &mut v[k.as_str()],
        PathSeg::Idx(i) => &mut v[*i],
    })
}

const PLACEHOLDER: &str = "\u{1}raw";

/// Every single-point mutation of a message: each value replaced by each raw token, each field
/// removed, renamed to an unknown name, or joined by an unknown sibling.
fn mutations(msg: &ClientMessage) -> Vec<Vec<u8>> {
    let base = serde_json::to_value(msg).unwrap();
    let mut all = Vec::new();
    paths(&base, Vec::new(), &mut all);
    let tokens = raw_tokens();
    let quoted = serde_json::to_string(PLACEHOLDER).unwrap();
    let mut out = Vec::new();
    for p in &all {
        for t in &tokens {
            let mut v = base.clone();
            *at(&mut v, p) = Value::String(PLACEHOLDER.into());
            out.push(serde_json::to_string(&v).unwrap().replace(&quoted, t).into_bytes());
        }
        if let Some((PathSeg::Key(k), parent)) = p.split_last() {
            let mut removed = base.clone();
            at(&mut removed, parent).as_object_mut().unwrap().remove(k);
            out.push(serde_json::to_vec(&removed).unwrap());
            let mut renamed = base.clone();
            let obj = at(&mut renamed, parent).as_object_mut().unwrap();
            let x = obj.remove(k).unwrap();
            obj.insert(format!("{k}_"), x);
            out.push(serde_json::to_vec(&renamed).unwrap());
        }
        if let Some(obj) = at(&mut base.clone(), p).as_object() {
            let mut extra = base.clone();
            let mut o = obj.clone();
            o.insert("unexpected".into(), Value::from(1));
            *at(&mut extra, p) = Value::Object(o);
            out.push(serde_json::to_vec(&extra).unwrap());
        }
    }
    // A duplicated field is only expressible as text.
    let text = serde_json::to_string(&base).unwrap();
    if let Some(i) = text.rfind('}') {
        let inner = text.find(":{").map(|j| &text[j + 2..i]).unwrap_or("");
        if let Some(first) = inner.split(',').next().filter(|f| f.contains(':')) {
            let mut dup = text.clone();
            dup.insert_str(i, &format!(",{first}"));
            out.push(dup.into_bytes());
        }
    }
    out
}

const VOCAB: &[&str] = &[
    "hello",
    "data",
    "test",
    "abort",
    "done",
    "latency",
    "probe",
    "protocol",
    "software",
    "cookie",
    "stream",
    "direction",
    "streams",
    "stop",
    "seconds",
    "bytes",
    "omit_seconds",
    "interval_seconds",
    "block_size",
    "window",
    "mss",
    "congestion",
    "fq_rate",
    "bitrate",
    "udp_echo",
    "mode",
    "duration_seconds",
    "size",
    "reason",
    "forward",
    "reverse",
    "bidir",
    "udp",
    "tcp",
    "welcome",
    "accepted",
];

fn random_json(rng: &mut Rng, depth: u32) -> Value {
    let pick = if depth >= 4 { rng.below(5) } else { rng.below(8) };
    match pick {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => match rng.below(4) {
            0 => Value::from(rng.below(4)),
            1 => Value::from(rng.next()),
            2 => Value::from(-(rng.below(1 << 40) as i64)),
            _ => Value::from((rng.next() as f64) / 1e9),
        },
        3 => Value::from(rng.pick(VOCAB).to_string()),
        4 => {
            let n = rng.below(40) as usize;
            Value::from(String::from_utf8_lossy(&rng.bytes(n)).into_owned())
        }
        5 => Value::Array((0..rng.below(4)).map(|_| random_json(rng, depth + 1)).collect()),
        _ => {
            let mut m = serde_json::Map::new();
            for _ in 0..rng.below(4) + 1 {
                m.insert(rng.pick(VOCAB).to_string(), random_json(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

/// Builds the malformed TCP inputs, every one judged by the model (some with stricter wants).
fn malformed_cases(rng: &mut Rng) -> Vec<Case> {
    let hello = encode(&hello_msg());
    let after_hello = |b: &[u8]| [hello.as_slice(), b].concat();
    let mut cases = Vec::new();

    // Random bytes: mostly an absurd length prefix, sometimes a plausible one.
    for i in 0..2000 {
        let len = match rng.below(10) {
            0..=1 => rng.below(16),
            2..=6 => 16 + rng.below(240),
            _ => 256 + rng.below(3840),
        } as usize;
        let mut b = rng.bytes(len);
        if b.len() >= 4 && i % 3 == 0 {
            b[0] = 0;
            b[1] = 0;
        }
        cases.push(Case::modelled("random bytes", b));
    }
    // Random bodies behind a correct length prefix, first or after a hello.
    for i in 0..1500 {
        let max = if rng.chance(90) { 512 } else { 8192 };
        let n = 1 + rng.below(max) as usize;
        let f = frame(&rng.bytes(n));
        let input = if i % 2 == 0 { f } else { after_hello(&f) };
        cases.push(Case::modelled("random frame body", input));
    }
    // Random JSON built from the protocol's own words.
    for i in 0..1500 {
        let v = random_json(rng, 0);
        let f = frame(&serde_json::to_vec(&v).unwrap());
        let input = if i % 2 == 0 { f } else { after_hello(&f) };
        cases.push(Case::modelled("random JSON", input));
    }
    // Every truncation of real frames.
    let mut tpl = templates(rng);
    tpl.retain(|m| matches!(m, ClientMessage::Hello { .. } | ClientMessage::Test(_)));
    for m in &tpl {
        let f = encode(m);
        for cut in 0..f.len() {
            cases.push(Case::modelled("truncated frame", f[..cut].to_vec()));
            if !matches!(m, ClientMessage::Hello { .. }) {
                cases.push(Case::modelled("truncated frame", after_hello(&f[..cut])));
            }
        }
    }
    // Length prefixes: absurd, just past the cap, zero, and the cap itself.
    for prefix in [u32::MAX, 0x8000_0000, 0x0100_0000, CAP + 1, CAP + 2, 0] {
        for tail in [0usize, 1, 16, 1024] {
            let mut b = prefix.to_be_bytes().to_vec();
            b.extend(rng.bytes(tail));
            cases.push(Case::modelled("length prefix", b.clone()));
            cases.push(Case::modelled("length prefix", after_hello(&b)));
        }
    }
    for n in [1usize, 2, 3, 4, 7] {
        cases.push(Case::modelled("length prefix", frame(&b"{\"hello\":{}}"[..n])));
    }
    let full = frame(&rng.bytes(CAP as usize));
    cases.push(Case::modelled("length prefix", full.clone()));
    cases.push(Case::modelled("length prefix", after_hello(&full)));
    cases.push(Case::modelled("length prefix", full[..CAP as usize / 2].to_vec()));
    // A hello padded with whitespace to exactly the cap is a valid hello.
    let mut padded = serde_json::to_vec(&hello_msg()).unwrap();
    padded.resize(CAP as usize, b' ');
    cases.push(Case::modelled("length prefix", frame(&padded)));
    // Deep nesting (serde_json's recursion limit must hold, not the stack).
    for depth in [100usize, 1000, 30_000] {
        let body = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        cases.push(Case::modelled("deep nesting", frame(body.as_bytes())));
        let body = format!(
            "{}1{}",
            "{\"hello\":".repeat(depth.min(6000)),
            "}".repeat(depth.min(6000))
        );
        cases.push(Case::modelled("deep nesting", after_hello(&frame(body.as_bytes()))));
    }
    // Wrong types, missing, unknown and duplicated fields in every message variant.
    let mut seen = HashSet::new();
    for m in &templates(rng) {
        for body in mutations(m) {
            if seen.insert(body.clone()) {
                cases.push(Case::modelled("wrong type / missing field", frame(&body)));
                cases.push(Case::modelled("wrong type / missing field", after_hello(&frame(&body))));
            }
        }
    }
    // Unknown variants, other encodings of known ones, and the server's own messages.
    let unknown: Vec<String> = vec![
        r#"{"launch":{}}"#.into(),
        r#"{"Hello":{"protocol":1,"software":"x"}}"#.into(),
        r#"{"HELLO":{"protocol":1,"software":"x"}}"#.into(),
        r#"{"hello ":{"protocol":1,"software":"x"}}"#.into(),
        r#"{"type":"hello","protocol":1,"software":"x"}"#.into(),
        r#"["hello",{"protocol":1,"software":"x"}]"#.into(),
        r#"{"hello":{"protocol":1,"software":"x"},"test":{}}"#.into(),
        r#""hello""#.into(),
        r#""test""#.into(),
        r#""start""#.into(),
        r#"{}"#.into(),
        r#"[]"#.into(),
        r#"{"done":null}"#.into(),
        r#"{"done":{}}"#.into(),
        "{\"hel\\u006co\":{\"protocol\":1,\"software\":\"x\"}}".into(),
        "{\"hello\u{0}\":{\"protocol\":1,\"software\":\"x\"}}".into(),
        "\u{feff}{\"hello\":{\"protocol\":1,\"software\":\"x\"}}".into(),
    ];
    let mut server_msgs: Vec<String> = [
        ServerMessage::Welcome {
            protocol: 1,
            software: "x".into(),
            challenge: None,
        },
        ServerMessage::Refused { reason: "x".into() },
        ServerMessage::Queued { position: 1 },
        ServerMessage::Accepted {
            cookie: rng.cookie(),
            facts: None,
        },
        ServerMessage::Start,
        ServerMessage::Failed { reason: "x".into() },
    ]
    .iter()
    .map(|m| serde_json::to_string(m).unwrap())
    .collect();
    server_msgs.extend(unknown);
    for _ in 0..40 {
        let name: String = (0..1 + rng.below(12))
            .map(|_| (b'a' + rng.below(26) as u8) as char)
            .collect();
        server_msgs.push(format!("{{\"{name}\":{}}}", random_json(rng, 2)));
    }
    for body in &server_msgs {
        cases.push(Case::modelled("unknown variant", frame(body.as_bytes())));
        cases.push(Case::modelled("unknown variant", after_hello(&frame(body.as_bytes()))));
    }
    // Wrong protocol versions: a clear refusal naming both versions.
    let weird_software = ["0.2.0", "", "\n\r\u{1b}[31mred", "\u{2603}", &"v".repeat(10_000)];
    let v = PROTOCOL_VERSION;
    let versions = [0, MIN_PROTOCOL - 1, v + 1, v + 2, 100, 0x7fff_ffff, u32::MAX];
    for p in versions {
        for s in weird_software {
            let m = ClientMessage::Hello {
                protocol: p,
                software: s.to_string(),
                nonce: (s.is_empty()).then(|| "00".repeat(16)),
            };
            // Below our oldest: refused; newer: answered in ours (the model says which).
            cases.push(Case::modelled("wrong version", encode(&m)));
        }
        let lenient = format!(r#"{{"hello":{{"protocol":{p},"software":"9.9.9","shiny_new_field":[1,2]}}}}"#);
        cases.push(Case {
            want: Want::Refused(Some("protocol version mismatch")),
            ..Case::modelled("wrong version", frame(lenient.as_bytes()))
        });
    }
    // Protocol 3's asks in a session that speaks 2: refused, each version's messages its own.
    let v2 = ClientMessage::Hello {
        protocol: MIN_PROTOCOL,
        software: "0.2.0".into(),
        nonce: None,
    };
    for ask in [ClientMessage::Facts, templates(rng).pop().unwrap()] {
        cases.push(Case {
            want: Want::WelcomeRefused("needs protocol 3"),
            ..Case::modelled("v3 ask in a v2 session", [encode(&v2), encode(&ask)].concat())
        });
    }
    // Out of order: everything but a hello first, everything but a request after it, and trailers.
    for _ in 0..60 {
        let c = rng.cookie();
        let wrong_second = [
            hello_msg(),
            ClientMessage::Data {
                cookie: c,
                stream: rng.next() as u32,
            },
            ClientMessage::Done,
            ClientMessage::Abort {
                reason: String::from_utf8_lossy(&rng.bytes(20)).into_owned(),
            },
            ClientMessage::Probe { cookie: c },
        ];
        for m in &wrong_second {
            cases.push(Case::modelled("out of order", after_hello(&encode(m))));
        }
        for m in [
            ClientMessage::Test(request(Direction::Forward, 1.0)),
            ClientMessage::Done,
            ClientMessage::Abort { reason: "x".into() },
        ] {
            cases.push(Case::modelled("out of order", encode(&m)));
        }
        let tpl = templates(rng);
        let trailer = encode(rng.pick(&tpl));
        let req = encode(&ClientMessage::Test(request(Direction::Forward, 1.0)));
        cases.push(Case::modelled("out of order", [hello.clone(), req, trailer].concat()));
    }
    // Data connections and connect probes with cookies no test owns: not a byte back.
    for _ in 0..1000 {
        let m = if rng.chance(80) {
            ClientMessage::Data {
                cookie: rng.cookie(),
                stream: rng.below(5) as u32,
            }
        } else {
            ClientMessage::Probe { cookie: rng.cookie() }
        };
        cases.push(Case {
            want: Want::Nothing,
            ..Case::modelled("wrong cookie (no test)", encode(&m))
        });
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Phases with a real test running
// ---------------------------------------------------------------------------------------------

/// Intruders on a running test: wrong cookies from 127.0.0.1, the right cookie from 127.0.0.2.
fn intruders(rng: &mut Rng, cookie: Cookie, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for i in 0..n {
        let (what, from, c) = match i % 3 {
            0 => ("wrong cookie (live test)", LOCAL, rng.cookie()),
            1 => {
                let mut c = cookie;
                c.0[rng.below(16) as usize] ^= 1 << rng.below(8);
                ("wrong cookie (live test)", LOCAL, c)
            }
            _ => ("second address (127.0.0.2)", OTHER, cookie),
        };
        let stream = *rng.pick(&[0, 1, 1, 1, 2, u32::MAX]);
        let mut input = encode(&ClientMessage::Data { cookie: c, stream });
        // Forward tests read what a data connection sends: offer bytes that must not be counted.
        let junk = rng.below(4096) as usize;
        input.extend(rng.bytes(junk));
        out.push(Case {
            what,
            input,
            from: Some(from),
            want: Want::Nothing,
        });
    }
    out
}

/// A real test driven by hand while intruders try to join it. Checks that only the real data
/// connection counts: in reverse mode the intruders must get no data, in forward mode their bytes
/// must not show in the server's results.
async fn cookie_and_address_phase(
    addr: SocketAddr,
    dir: Direction,
    rng: &mut Rng,
    tally: &Arc<Tally>,
    seed: u64,
) -> Result<String, String> {
    let (mut rd, mut wr) = control(addr).await?;
    let cookie = admitted(&mut rd, &mut wr, &ClientMessage::Test(request(dir, 1.0)), HS).await?;
    run_cases(addr, intruders(rng, cookie, 300), INTRUDERS, tally, seed).await;
    let data = connect_from(LOCAL, addr).await.map_err(|e| e.to_string())?;
    let (mut drd, mut dwr) = data.into_split();
    dwr.write_all(&encode(&ClientMessage::Data { cookie, stream: 1 }))
        .await
        .map_err(|e| e.to_string())?;
    match recv(&mut rd, HS).await? {
        ServerMessage::Start => {}
        other => return Err(format!("expected start, got {other:?}")),
    }
    // More intruders while the streams run.
    let late = intruders(rng, cookie, 60);
    let (addr2, tally2) = (addr, tally.clone());
    let late = tokio::spawn(async move { run_cases(addr2, late, INTRUDERS, &tally2, seed).await });
    let moved = if dir == Direction::Reverse {
        drain_until_closed(&mut drd, Duration::from_secs(1) + GRACE).await?
    } else {
        let block = vec![0x5au8; 64 * 1024];
        let t0 = Instant::now();
        let mut sent = 0u64;
        while t0.elapsed() < Duration::from_secs(1) {
            dwr.write_all(&block).await.map_err(|e| format!("data: {e}"))?;
            sent += block.len() as u64;
        }
        dwr.shutdown().await.map_err(|e| e.to_string())?;
        sent
    };
    late.await.unwrap();
    send(&mut wr, &ClientMessage::Done).await?;
    let results = loop {
        match recv(&mut rd, GRACE).await? {
            ServerMessage::Interval(_) => {}
            ServerMessage::Results(r) => break r,
            other => return Err(format!("expected intervals and results, got {other:?}")),
        }
    };
    let s = results.streams.first().ok_or("results without streams")?;
    if results.streams.len() != 1 || !results.complete || s.error.is_some() {
        return Err(format!("server results not clean: {results:?}"));
    }
    if moved == 0 || s.bytes_total != moved {
        return Err(format!(
            "{} test: the real data connection moved {moved} bytes, the server counted {}",
            dir.as_str(),
            s.bytes_total
        ));
    }
    drain_until_closed(&mut rd, Duration::from_secs(5)).await?;
    Ok(format!("{} test: {moved} bytes, exactly as counted", dir.as_str()))
}

/// UDP probes during a latency run: wrong cookies, wrong address, short and odd datagrams get no
/// answer; the right cookie from the right address does; after the run nothing does.
async fn udp_phase(addr: SocketAddr, rng: &mut Rng, tally: &Arc<Tally>) -> Result<String, String> {
    let (mut rd, mut wr) = control(addr).await?;
    let req = ClientMessage::Latency(LatencyRequest {
        mode: LatencyMode::Udp,
        duration_seconds: 10.0,
        size: 64,
    });
    let cookie = admitted(&mut rd, &mut wr, &req, HS).await?;
    match recv(&mut rd, HS).await? {
        ServerMessage::Start => {}
        other => return Err(format!("expected start, got {other:?}")),
    }
    let near = UdpSocket::bind((LOCAL, 0)).await.map_err(|e| e.to_string())?;
    let far = UdpSocket::bind((OTHER, 0)).await.map_err(|e| e.to_string())?;
    let header = |kind, cookie, seq| {
        let mut b = vec![0u8; HEADER_LEN + 4];
        Header {
            kind,
            cookie,
            seq,
            sent_ns: 0,
        }
        .write(&mut b);
        b
    };
    let kinds = [DatagramKind::Echo, DatagramKind::Ack, DatagramKind::Fill];
    let mut sent_by: BTreeMap<&'static str, u64> = BTreeMap::new();
    for i in 0..3000u64 {
        let (what, from_far, d): (&'static str, bool, Vec<u8>) = match i % 6 {
            0 => {
                let n = rng.below(1500) as usize;
                ("udp random bytes", false, rng.bytes(n))
            }
            1 => {
                let mut d = header(*rng.pick(&kinds), rng.cookie(), i);
                d[HEADER_LEN..].copy_from_slice(&65_507u32.to_be_bytes());
                ("udp wrong cookie", false, d)
            }
            2 => {
                let mut c = cookie;
                c.0[rng.below(16) as usize] ^= 1 << rng.below(8);
                ("udp wrong cookie", false, header(*rng.pick(&kinds), c, i))
            }
            3 => {
                let mut d = header(DatagramKind::Echo, cookie, i);
                d.truncate(rng.below(HEADER_LEN as u64) as usize);
                ("udp short header (right cookie)", false, d)
            }
            4 => {
                let mut d = header(DatagramKind::Echo, cookie, i);
                if rng.chance(50) {
                    d[4] = *rng.pick(&[0u8, 2, 5, 0x81, 255]);
                } else {
                    d[rng.below(4) as usize] ^= 0x20;
                }
                ("udp bad kind or magic (right cookie)", false, d)
            }
            _ => {
                let mut d = header(*rng.pick(&kinds), cookie, i);
                d[HEADER_LEN..].copy_from_slice(&65_507u32.to_be_bytes());
                ("udp right cookie from 127.0.0.2", true, d)
            }
        };
        let sock = if from_far { &far } else { &near };
        sock.send_to(&d, addr).await.map_err(|e| format!("udp send: {e}"))?;
        *sent_by.entry(what).or_default() += 1;
        if i % 100 == 99 {
            // Keep the responder's receive buffer from overflowing, so every datagram is judged.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    for (what, n) in &sent_by {
        tally.count(what, *n, true);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut buf = vec![0u8; 70_000];
    let mut answered = 0;
    for s in [&near, &far] {
        while s.try_recv_from(&mut buf).is_ok() {
            answered += 1;
        }
    }
    if answered > 0 {
        return Err(format!("{answered} datagrams that must go unanswered got an answer"));
    }
    // The right cookie from the right address is answered, each kind as specified.
    for (kind, size, want) in [
        (DatagramKind::Echo, 200usize, 200usize),
        (DatagramKind::Ack, 1200, HEADER_LEN),
        (DatagramKind::Fill, HEADER_LEN + 4, 1000),
    ] {
        let mut d = header(kind, cookie, 7);
        d.resize(size, 0);
        d[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&1000u32.to_be_bytes());
        near.send_to(&d, addr).await.map_err(|e| e.to_string())?;
        let n = tokio::time::timeout(Duration::from_secs(2), near.recv(&mut buf))
            .await
            .map_err(|_| format!("no answer to a right-cookie {kind:?} probe"))?
            .map_err(|e| e.to_string())?;
        let h = Header::read(&buf[..n]).ok_or("answer is not a saf-net datagram")?;
        if n != want || h.seq != 7 || h.cookie != cookie {
            return Err(format!("{kind:?} answer: {n} bytes, seq {}, want {want} bytes", h.seq));
        }
    }
    send(&mut wr, &ClientMessage::Done).await?;
    drain_until_closed(&mut rd, Duration::from_secs(3)).await?;
    // After the run the cookie is revoked.
    near.send_to(&header(DatagramKind::Echo, cookie, 8), addr)
        .await
        .map_err(|e| e.to_string())?;
    if tokio::time::timeout(Duration::from_millis(400), near.recv(&mut buf))
        .await
        .is_ok()
    {
        return Err("a probe with an expired cookie was answered".into());
    }
    Ok(format!(
        "{} datagrams unanswered, 3 right-cookie probes answered",
        sent_by.values().sum::<u64>()
    ))
}

/// A UDP reverse test (`-u -R`): the server sends only where a hello with the test's cookie came from, and
/// only if that is the control peer's IP. Hellos with the right cookie from 127.0.0.2, or with wrong cookies
/// from 127.0.0.1, before and during the test, must not draw a single datagram.
async fn udp_reverse_phase(addr: SocketAddr, rng: &mut Rng, tally: &Arc<Tally>) -> Result<String, String> {
    let (mut rd, mut wr) = control(addr).await?;
    let req = TestRequest {
        protocol: Protocol::Udp,
        block_size: 1200,
        bitrate: Some(20_000_000),
        ..request(Direction::Reverse, 1.0)
    };
    let cookie = admitted(&mut rd, &mut wr, &ClientMessage::Test(req), HS).await?;
    let bind = |ip| async move { UdpSocket::bind((ip, 0)).await.map_err(|e| e.to_string()) };
    let (far, stranger, real) = (bind(OTHER).await?, bind(LOCAL).await?, bind(LOCAL).await?);
    let hello = |cookie: Cookie, id: u32| {
        let mut b = [0u8; HEADER_LEN];
        Header {
            kind: DatagramKind::Data,
            cookie,
            seq: 0,
            sent_ns: 0,
        }
        .write(&mut b);
        set_data_tag(&mut b, FLAG_HELLO, id);
        b
    };
    let intruders = |rng: &mut Rng, n: usize| {
        (0..n)
            .map(|i| {
                let mut wrong = cookie;
                wrong.0[rng.below(16) as usize] ^= 1 << rng.below(8);
                let id = *rng.pick(&[0u32, 1, 1, 2, 0xffff]);
                if i % 2 == 0 {
                    (true, hello(cookie, id))
                } else {
                    (false, hello(if rng.chance(50) { wrong } else { rng.cookie() }, id))
                }
            })
            .collect::<Vec<_>>()
    };
    let mut sent = 0u64;
    for (from_far, d) in intruders(rng, 400) {
        let s = if from_far { &far } else { &stranger };
        s.send_to(&d, addr).await.map_err(|e| e.to_string())?;
        sent += 1;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The real stream's hello, repeated until the start (by a task, so no control read is ever cut short).
    let real = Arc::new(real);
    let repeat = {
        let (real, h) = (real.clone(), hello(cookie, 1));
        tokio::spawn(async move {
            loop {
                let _ = real.send_to(&h, addr).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let start = recv(&mut rd, HS).await;
    repeat.abort();
    match start? {
        ServerMessage::Start => {}
        other => return Err(format!("expected start, got {other:?}")),
    }
    // More intruders while the server sends; meanwhile count what arrives where.
    for (from_far, d) in intruders(rng, 200) {
        let s = if from_far { &far } else { &stranger };
        s.send_to(&d, addr).await.map_err(|e| e.to_string())?;
        sent += 1;
    }
    tally.count("udp -u -R hello from 127.0.0.2 or with a wrong cookie", sent, true);
    let mut buf = vec![0u8; 70_000];
    let mut got = 0u64;
    let results = loop {
        tokio::select! {
            r = real.recv(&mut buf) => { r.map_err(|e| e.to_string())?; got += 1; }
            m = recv(&mut rd, GRACE) => match m? {
                ServerMessage::Interval(_) => {}
                ServerMessage::Results(r) => break r,
                other => return Err(format!("expected intervals and results, got {other:?}")),
            },
        }
    };
    send(&mut wr, &ClientMessage::Done).await?;
    drain_until_closed(&mut rd, Duration::from_secs(5)).await?;
    let mut strays = 0;
    for s in [&far, &stranger] {
        while s.try_recv_from(&mut buf).is_ok() {
            strays += 1;
        }
    }
    let sent_by_server: u64 = results.streams.iter().map(|s| s.bytes_total).sum();
    if strays > 0 {
        return Err(format!(
            "the server sent {strays} datagrams to an address that never held the cookie"
        ));
    }
    if got == 0 || sent_by_server == 0 {
        return Err(format!(
            "the real stream got {got} datagrams (server sent {sent_by_server} bytes)"
        ));
    }
    Ok(format!(
        "{sent} intruding hellos drew nothing; the real stream got {got} datagrams ({sent_by_server} bytes sent)"
    ))
}

/// Proves the single test slot is free: a request is accepted promptly, then abandoned.
async fn slot_is_free(addr: SocketAddr, within: Duration) -> Result<Duration, String> {
    let t0 = Instant::now();
    let (mut rd, mut wr) = control(addr).await?;
    admitted(
        &mut rd,
        &mut wr,
        &ClientMessage::Test(request(Direction::Forward, 1.0)),
        within,
    )
    .await
    .map_err(|e| format!("the next client was not served: {e}"))?;
    Ok(t0.elapsed())
}

/// A reverse test whose client never reads its data socket: the server must end the test within
/// its documented bound and serve the next client while that socket is still held open.
async fn stalled_reader_phase(addr: SocketAddr) -> Result<String, String> {
    let (mut rd, mut wr) = control(addr).await?;
    let cookie = admitted(
        &mut rd,
        &mut wr,
        &ClientMessage::Test(request(Direction::Reverse, 1.0)),
        HS,
    )
    .await?;
    let mut data = connect_from(LOCAL, addr).await.map_err(|e| e.to_string())?;
    data.write_all(&encode(&ClientMessage::Data { cookie, stream: 1 }))
        .await
        .map_err(|e| e.to_string())?;
    match recv(&mut rd, HS).await? {
        ServerMessage::Start => {}
        other => return Err(format!("expected start, got {other:?}")),
    }
    let t0 = Instant::now();
    // Documented bound: -t plus the 10 s grace, plus the server's 2 s wait for our last word.
    let bound = Duration::from_secs(1) + GRACE + Duration::from_secs(3);
    let mut got_results = false;
    loop {
        let left = bound.saturating_sub(t0.elapsed());
        match read_message::<ServerMessage, _>(&mut rd, CAP, left).await {
            Ok(ServerMessage::Results(_) | ServerMessage::Failed { .. }) => got_results = true,
            Ok(_) => {}
            Err(saf_net::protocol::FrameError::Closed | saf_net::protocol::FrameError::Io(_)) => break,
            Err(e) => return Err(format!("server did not end a test whose client stopped reading: {e}")),
        }
    }
    let ended = t0.elapsed();
    if !got_results {
        return Err("the server closed without results or a failure".into());
    }
    let next = slot_is_free(addr, Duration::from_secs(3)).await?;
    drop(data);
    Ok(format!(
        "server sent its results and closed the control connection {:.1} s after start (bound {:.0} s); \
         next client accepted {:.2} s later",
        ended.as_secs_f64(),
        bound.as_secs_f64(),
        next.as_secs_f64()
    ))
}

/// A TCP latency run whose client says it is done but keeps its echo connection open (silent, or
/// writing without reading): the server must still free its slot promptly.
async fn held_echo_phase(addr: SocketAddr, flood: bool) -> Result<String, String> {
    let (mut rd, mut wr) = control(addr).await?;
    let req = ClientMessage::Latency(LatencyRequest {
        mode: LatencyMode::Tcp,
        duration_seconds: 1.0,
        size: 64,
    });
    let cookie = admitted(&mut rd, &mut wr, &req, HS).await?;
    let mut data = connect_from(LOCAL, addr).await.map_err(|e| e.to_string())?;
    data.write_all(&encode(&ClientMessage::Data { cookie, stream: 1 }))
        .await
        .map_err(|e| e.to_string())?;
    match recv(&mut rd, HS).await? {
        ServerMessage::Start => {}
        other => return Err(format!("expected start, got {other:?}")),
    }
    let mut echo = [0u8; 64];
    data.write_all(&[7u8; 64]).await.map_err(|e| e.to_string())?;
    tokio::time::timeout(HS, data.read_exact(&mut echo))
        .await
        .map_err(|_| "no echo".to_string())?
        .map_err(|e| e.to_string())?;
    if flood {
        // Write far more than both socket buffers hold, never reading the echo.
        let block = vec![1u8; 1 << 20];
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                if data.write_all(&block).await.is_err() {
                    break;
                }
            }
        })
        .await;
    }
    send(&mut wr, &ClientMessage::Done).await?;
    let verdict = slot_is_free(addr, Duration::from_secs(4)).await;
    drop(data);
    let what = if flood { "writing, never reading" } else { "silent" };
    match verdict {
        Ok(t) => Ok(format!(
            "echo socket held open ({what}): next client accepted in {:.2} s",
            t.as_secs_f64()
        )),
        Err(e) => Err(format!(
            "TCP latency client that sent done but kept its echo socket open ({what}) holds the slot: {e}"
        )),
    }
}

/// The TCP state (as /proc/net/tcp numbers it) of the server's end of a loopback connection.
fn server_side_state(server: SocketAddr, client: SocketAddr) -> Option<u8> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |field: &str| field.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 3 && port(f[1]) == Some(server.port()) && port(f[2]) == Some(client.port()))
            .then(|| u8::from_str_radix(f[3], 16).ok())
            .flatten()
    })
}

/// A client that stops reading its control connection while a test with many streams and short
/// intervals fills it: when the test is over the server must let go of that connection too, not
/// leave a writer blocked on it for as long as the client keeps it open.
async fn deaf_control_phase(addr: SocketAddr) -> Result<String, String> {
    const TCP_ESTABLISHED: u8 = 1;
    // 128 sender entries with TCP figures every 10 ms are ~1.3 MB/s: past the 4 MiB send buffer
    // Linux grants at most (tcp_wmem) within about 4 s.
    const TEST_SECS: f64 = 5.0;
    // A small receive window, so the intervals fill the connection within the test.
    let (mut rd, mut wr) = control_with(addr, Some(4096)).await?;
    let streams = 128;
    let req = TestRequest {
        streams,
        interval_seconds: 0.01,
        // Paced to 1 kB/s per stream: the data sockets stay nearly empty, the intervals do not.
        bitrate: Some(8_000),
        ..request(Direction::Reverse, TEST_SECS)
    };
    let cookie = admitted(&mut rd, &mut wr, &ClientMessage::Test(req), HS).await?;
    let mut data = Vec::new();
    for id in 1..=streams {
        let mut s = connect_from(LOCAL, addr).await.map_err(|e| e.to_string())?;
        s.write_all(&encode(&ClientMessage::Data { cookie, stream: id }))
            .await
            .map_err(|e| e.to_string())?;
        data.push(s);
    }
    // From here on neither the control connection nor the data is read again.
    let client = wr.as_ref().local_addr().map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs_f64(TEST_SECS + 0.3)).await;
    for s in &mut data {
        let _ = s.shutdown().await;
    }
    send(&mut wr, &ClientMessage::Done).await?;
    let t0 = Instant::now();
    let bound = Duration::from_secs(8);
    let next = slot_is_free(addr, bound).await?;
    let state = loop {
        let st = server_side_state(addr, client);
        if st != Some(TCP_ESTABLISHED) || t0.elapsed() > bound {
            break st;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    drop(rd);
    drop(data);
    if state == Some(TCP_ESTABLISHED) {
        return Err(format!(
            "the test ended (next client accepted in {:.1} s) but {:.0} s after it the server still holds \
             the deaf client's control connection open (ESTABLISHED): its writer task is stuck",
            next.as_secs_f64(),
            bound.as_secs_f64()
        ));
    }
    Ok(format!(
        "next client accepted in {:.1} s; server let go of the deaf control connection (state {state:?}) {:.1} s after done",
        next.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    ))
}

/// 100 idle connections and 10 that dribble a frame: a legitimate client is not delayed beyond the
/// handshake timeout, and the server closes the idle ones at that timeout.
async fn idle_phase(addr: SocketAddr, tally: &Arc<Tally>) -> Result<String, String> {
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(
            connect_from(LOCAL, addr)
                .await
                .map_err(|e| format!("idle connect: {e}"))?,
        );
    }
    let opened = Instant::now();
    let mut slow = Vec::new();
    for _ in 0..10 {
        let mut s = connect_from(LOCAL, addr).await.map_err(|e| e.to_string())?;
        slow.push(tokio::spawn(async move {
            // A 100-byte frame announced, then one byte every 300 ms: never completes in time.
            let _ = s.write_all(&100u32.to_be_bytes()).await;
            let t0 = Instant::now();
            let mut buf = [0u8; 64];
            loop {
                tokio::select! {
                    r = s.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return Some(t0.elapsed()) },
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {
                        if s.write_all(b" ").await.is_err() { return Some(t0.elapsed()) }
                    }
                }
                if t0.elapsed() > HS + Duration::from_secs(3) {
                    return None;
                }
            }
        }));
    }
    tally.count("idle connection", 100, false);
    tally.count("slow (dribbling) connection", 10, false);
    // A hello gets its welcome at once.
    let t0 = Instant::now();
    drop(
        control(addr)
            .await
            .map_err(|e| format!("hello behind 100 idle connections: {e}"))?,
    );
    let welcome = t0.elapsed();
    // A real test from the same address runs to completion.
    let t0 = Instant::now();
    let o = real_test(addr).await?;
    let took = t0.elapsed();
    // Bound: the test itself (~1 s plus setup) plus at most the handshake timeout of delay.
    let bound = Duration::from_secs(3) + HS;
    if took > bound {
        return Err(format!(
            "a legitimate test took {took:?} behind idle connections (bound {bound:?})"
        ));
    }
    // The idle ones are cut at the handshake timeout.
    for mut s in idle {
        let left = (HS + Duration::from_secs(2)).saturating_sub(opened.elapsed());
        drain_until_closed(&mut s, left)
            .await
            .map_err(|e| format!("an idle connection outlived the handshake timeout: {e}"))?;
    }
    let idle_closed = opened.elapsed();
    for s in slow {
        if s.await.unwrap().is_none() {
            return Err("a dribbling connection outlived the handshake timeout".into());
        }
    }
    Ok(format!(
        "welcome in {:.3} s, a real test in {:.2} s ({o}), idle ones closed by {:.2} s",
        welcome.as_secs_f64(),
        took.as_secs_f64(),
        idle_closed.as_secs_f64()
    ))
}

/// A normal ~1 s forward test through the library client; Err unless the numbers are plausible.
async fn real_test(addr: SocketAddr) -> Result<String, String> {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(1.0);
    i.interval = 0.25;
    let plan = i.plan()?;
    let mut quiet = |_: Event<'_>| {};
    let o = throughput::run(&plan, &mut quiet).await.map_err(|e| e.to_string())?;
    if !o.complete() {
        return Err(format!("test incomplete: {:?}", o.error));
    }
    let d = &o.directions()[0];
    let mbps = d.received.bytes as f64 * 8.0 / d.received.seconds / 1e6;
    if !(d.client_sends
        && d.received.bytes > 0
        && d.received.bytes <= d.sent.bytes
        && (0.9..1.6).contains(&d.received.seconds)
        && mbps > 10.0)
    {
        return Err(format!(
            "implausible: sent {} B, received {} B in {:.2} s ({mbps:.0} Mbit/s)",
            d.sent.bytes, d.received.bytes, d.received.seconds
        ));
    }
    Ok(format!("{mbps:.0} Mbit/s over {:.2} s", d.received.seconds))
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_clients_then_a_normal_test_on_the_same_server() {
    let seed = seed();
    let mut rng = Rng::new(seed);
    let srv = server().await;
    let addr = srv.addr;
    let tally = Arc::new(Tally::default());
    let mut notes: Vec<String> = Vec::new();
    let mut findings: Vec<String> = Vec::new();
    let started = Instant::now();
    let mut phase = |name: &str, r: Result<String, String>, t: Instant| match r {
        Ok(s) => notes.push(format!("{name} ({:.1} s): {s}", t.elapsed().as_secs_f64())),
        Err(e) => findings.push(format!("{name}: {e}")),
    };

    let t = Instant::now();
    let cases = malformed_cases(&mut rng);
    let n = cases.len();
    run_cases(addr, cases, WORKERS, &tally, seed).await;
    phase("malformed TCP inputs", Ok(format!("{n} exchanges")), t);

    for dir in [Direction::Reverse, Direction::Forward] {
        let t = Instant::now();
        let r = cookie_and_address_phase(addr, dir, &mut rng, &tally, seed).await;
        phase("wrong cookies and 127.0.0.2 on a live test", r, t);
    }

    let t = Instant::now();
    let r = udp_phase(addr, &mut rng, &tally).await;
    phase("UDP probes", r, t);

    let t = Instant::now();
    let r = udp_reverse_phase(addr, &mut rng, &tally).await;
    phase("UDP reverse test (-u -R) with intruding hellos", r, t);

    let t = Instant::now();
    let r = stalled_reader_phase(addr).await;
    phase("reverse client that stops reading", r, t);

    for flood in [false, true] {
        let t = Instant::now();
        let r = held_echo_phase(addr, flood).await;
        phase("TCP latency client holding its echo socket", r, t);
    }

    let t = Instant::now();
    let r = deaf_control_phase(addr).await;
    phase("client that stops reading its control connection", r, t);

    let t = Instant::now();
    let r = idle_phase(addr, &tally).await;
    phase("100 idle + 10 slow connections", r, t);

    // The same server process still runs a normal test correctly.
    let t = Instant::now();
    let r = real_test(addr).await;
    phase("normal test afterwards", r, t);

    eprintln!("hostile suite, seed {seed}, {:.1} s:", started.elapsed().as_secs_f64());
    for (k, v) in tally.by_kind.lock().unwrap().iter() {
        eprintln!("  {v:>6}  {k}");
    }
    eprintln!(
        "  {:>6}  total ({} TCP connections, {} UDP datagrams); slowest exchange {} ms",
        tally.total(),
        tally.tcp.load(Ordering::Relaxed),
        tally.udp.load(Ordering::Relaxed),
        tally.slowest_ms.load(Ordering::Relaxed)
    );
    for n in &notes {
        eprintln!("  ok: {n}");
    }
    let failed = tally.failed.load(Ordering::Relaxed);
    for f in tally.failures.lock().unwrap().iter() {
        findings.push(f.clone());
    }
    assert!(
        findings.is_empty(),
        "{} finding(s), {failed} failed exchange(s):\n{}",
        findings.len(),
        findings.join("\n")
    );
    assert!(
        tally.total() >= 10_000,
        "only {} hostile inputs were sent",
        tally.total()
    );
}

// ---------------------------------------------------------------------------------------------
// Descriptor exhaustion: a server process with `ulimit -n 128` and 400 idle connections
// ---------------------------------------------------------------------------------------------

/// A `saf-net server` child process with its descriptor limit lowered, its log in a file.
#[cfg(target_os = "linux")]
struct LimitedServer {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

#[cfg(target_os = "linux")]
impl LimitedServer {
    fn start(open_files: u32) -> LimitedServer {
        for _ in 0..10 {
            let port = common::free_port();
            let dir = tempfile::tempdir().unwrap();
            let log = dir.path().join("server.log");
            let script = format!("ulimit -n {open_files} && exec \"$0\" server -p {port} -v");
            let child = std::process::Command::new("bash")
                .args(["-c", &script, common::BIN])
                .env_remove("SAF_NET_PORT")
                .env("SAF_NET_HISTORY", dir.path().join("history.csv"))
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("bash");
            let mut srv = LimitedServer {
                child,
                port,
                log,
                _dir: dir,
            };
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) && matches!(srv.child.try_wait(), Ok(None)) {
                if srv.log_text().contains("listening on") {
                    return srv;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = srv.child.kill();
        }
        panic!("the descriptor-limited server did not start");
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

#[cfg(target_os = "linux")]
impl Drop for LimitedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Before: with 128 descriptors and 400 idle connections from 400 addresses, a real client waited for the
/// handshake timeout (10.3 s, or failed), and the log said `accept failed` ten times a second.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptor_exhaustion_leaves_room_for_a_real_test() {
    let srv = LimitedServer::start(128);
    let addr = SocketAddr::new(LOCAL, srv.port);
    let flood = Instant::now();
    let mut idle = Vec::new();
    for i in 0..400u32 {
        // 127.0.2.1 and up: each idle connection from its own address, so the per-address limit never acts.
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 2 + (i / 250) as u8, 1 + (i % 250) as u8));
        match connect_from(from, addr).await {
            Ok(s) => idle.push(s),
            Err(e) => panic!("idle connection {i} from {from}: {e}"),
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("client.out");
    let t0 = Instant::now();
    let mut client = std::process::Command::new(common::BIN)
        .args(["client", "127.0.0.1", "-p", &srv.port.to_string(), "-t", "0.5"])
        .env_remove("SAF_NET_PORT")
        .env("SAF_NET_HISTORY", dir.path().join("history.csv"))
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the client");
    let mut started = None;
    let code = loop {
        if started.is_none()
            && std::fs::read_to_string(&out)
                .unwrap_or_default()
                .contains("connected to")
        {
            started = Some(t0.elapsed());
        }
        if let Some(status) = client.try_wait().unwrap() {
            break status.code();
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = client.kill();
            panic!("the client ran for 30 s:\n{}", srv.log_text());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let log = srv.log_text();
    assert_eq!(code, Some(0), "the legitimate test failed:\n{log}");
    let started = started.expect("the client printed its connected streams");
    // The issue asks for a start within 1 s; 2 s more of margin for a loaded 2-core CI machine, still far
    // below the 10 s handshake timeout a client waited before.
    assert!(
        started < Duration::from_secs(3),
        "the legitimate test started after {started:?}:\n{log}"
    );
    // Flood lines: at most one per kind per second since the flood began (before: ten a second).
    let secs = flood.elapsed().as_secs() + 1;
    for flood_line in ["accept failed", "connections in their handshake, its cap"] {
        let n = log.matches(flood_line).count() as u64;
        assert!(n <= secs, "{n} {flood_line:?} lines in {secs} s:\n{log}");
    }
    // The idle connections were shed, not left holding descriptors.
    let mut closed = 0;
    for s in &mut idle {
        let mut b = [0u8; 1];
        if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 300,
        "only {closed} of 400 idle connections were closed:\n{log}"
    );
}
