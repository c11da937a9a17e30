//! Throughput's final text: sender and receiver lines per stream, the receiver-side headline per direction, CPU,
//! socket options as requested and applied, the path section, RTT under load, hints, and, under a profile, each
//! direction's goodput against the link's TCP ceiling.

use std::fmt::Write as _;

use super::{Outcome, Peer};
use crate::kinds::latency::{ProbeReport, STATS_HEADER, stats_line};
use crate::kinds::udp;
use crate::output::text::path_section;
use crate::profile::Profile;
use crate::protocol::{Direction, Protocol, SocketReport, StreamTotals, TestRequest, UdpCounts};
use crate::result::{DirectionResult, cpu_percent, hints};
use crate::units::{BitsPerSec, Bytes};

const RULE: &str = "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - -";

/// What a Retr or Cwnd cell shows when the sender's kernel gave no figure for it (no sample this interval, or
/// an OS without one): always a dash, never a blank or a stale value.
pub const UNKNOWN_CELL: &str = "-";

/// `[C→S]` or `[S→C]` on the lines of a bidirectional test.
pub(super) fn tag(req: &TestRequest, stream: u32) -> &'static str {
    match (req.direction, req.client_sends(stream)) {
        (Direction::Bidir, true) => "[C→S]",
        (Direction::Bidir, false) => "[S→C]",
        _ => "",
    }
}

pub(super) fn rate_line(id: &str, start: f64, end: f64, bytes: u64, tail: &str) -> String {
    format!(
        "[{id:>3}] {start:6.2}-{end:<6.2} sec  {:>12}  {:>13} {tail}",
        Bytes(bytes).to_string(),
        BitsPerSec::from_bytes(bytes, end - start).to_string()
    )
}

fn stream_lines(out: &mut String, d: &DirectionResult, bidir: bool) {
    let t = if bidir {
        if d.client_sends { "[C→S]" } else { "[S→C]" }
    } else {
        ""
    };
    // Retr is a sender figure: blank on receiver and UDP lines, a dash where a TCP sender's kernel gave none.
    let mut row = |id: &str, s: f64, bytes: u64, retr: String, who: &str| {
        let _ = writeln!(
            out,
            "{}",
            rate_line(id, 0.0, s, bytes, &format!("{retr:>6}  {t} {who}"))
        );
    };
    let sender_retr = |tcp: Option<u64>, udp: bool| match (tcp, udp) {
        (_, true) => String::new(),
        (Some(r), false) => r.to_string(),
        (None, false) => UNKNOWN_CELL.to_string(),
    };
    let each = |v: &[StreamTotals], id: u32| v.iter().find(|s| s.stream == id).cloned();
    // UDP: datagrams sent beside each sender line, jitter and loss beside each receiver line.
    let sent = |c: Option<UdpCounts>| c.map_or("sender".to_string(), |c| format!("sender  {} datagrams", c.packets));
    let got = |c: Option<UdpCounts>| {
        c.map_or("receiver".to_string(), |c| {
            format!("receiver {}", udp::columns(Some(&c)))
        })
    };
    for s in &d.sender {
        let retr = sender_retr(s.tcp.map(|t| t.retransmits), s.udp.is_some());
        row(&s.stream.to_string(), s.seconds, s.bytes, retr, &sent(s.udp));
        if let Some(r) = each(&d.receiver, s.stream) {
            row(&r.stream.to_string(), r.seconds, r.bytes, String::new(), &got(r.udp));
        }
    }
    if d.sender.len() > 1 {
        // Known only when every stream's figure is.
        let known: Option<u64> = d.sender.iter().map(|s| s.tcp.map(|t| t.retransmits)).sum();
        let udp = d.sender.iter().any(|s| s.udp.is_some());
        let sum_sent = udp::totals_sum(&d.sender);
        row(
            "SUM",
            d.sent.seconds,
            d.sent.bytes,
            sender_retr(known, udp),
            &sent(sum_sent),
        );
        let sum_got = udp::totals_sum(&d.receiver);
        row(
            "SUM",
            d.received.seconds,
            d.received.bytes,
            String::new(),
            &got(sum_got),
        );
    }
}

/// The `-A` line: which CPUs the stream threads were pinned to, if they were.
fn affinity_text(o: &Outcome) -> Option<String> {
    let side =
        |name: &str, cpu: Option<u32>| cpu.map(|c| format!("{name} streams on CPUs {c}, {}, ... (one each)", c + 1));
    let parts: Vec<String> = [side("client", o.client_cpu), side("server", o.request.server_cpu)]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| format!("Affinity (-A): {}", parts.join("; ")))
}

/// The end-of-test summary: sender and receiver lines, the receiver-side headline, CPU, and any fault.
pub fn summary(o: &Outcome) -> String {
    let mut out = String::new();
    let dirs = o.directions();
    let bidir = dirs.len() > 1;
    let _ = writeln!(out, "{RULE}");
    let _ = match o.request.protocol {
        Protocol::Udp => writeln!(
            out,
            "[ ID] Interval           Transfer         Bitrate                 Datagrams"
        ),
        Protocol::Tcp => writeln!(out, "[ ID] Interval           Transfer         Bitrate    Retr"),
    };
    for d in &dirs {
        stream_lines(&mut out, d, bidir);
    }
    let _ = writeln!(out);
    headline(&mut out, o, &dirs);
    socket_options(&mut out, o);
    if let Some(a) = affinity_text(o) {
        let _ = writeln!(out, "{a}");
    }
    if o.peer == Peer::Iperf3 {
        let _ = writeln!(
            out,
            "Note: the server was iperf3: its figures are its own results; its intervals, TCP_INFO and socket options are not part of iperf3's protocol."
        );
    }
    if o.request.skip_rx_copy {
        let _ = writeln!(
            out,
            "Note: --skip-rx-copy: receivers discarded bytes in the kernel; not comparable with default goodput."
        );
    }
    out.push_str(&path_section(&o.path, &o.server.to_string()));
    latency_under_load(&mut out, o);
    for h in dirs.iter().flat_map(|d| hints(d, o.path.is_loopback())) {
        let _ = writeln!(out, "Hint: {h}");
    }
    if let Some(e) = &o.error {
        let _ = writeln!(out, "INCOMPLETE: {e}; the figures above are partial");
    }
    out
}

/// Receiver goodput and sender rate per direction, UDP's loss and settings, CPU on both sides.
fn headline(out: &mut String, o: &Outcome, dirs: &[DirectionResult]) {
    for d in dirs {
        let who = if d.client_sends { "server" } else { "client" };
        let _ = writeln!(
            out,
            "Receiver goodput, {}: {}  (bytes the {who} application read, over {:.2} s on its clock)",
            d.label(),
            d.received.rate(),
            d.received.seconds
        );
        let _ = writeln!(
            out,
            "Sender rate,      {}: {}  (bytes handed to the kernel)",
            d.label(),
            d.sent.rate()
        );
    }
    for line in dirs
        .iter()
        .filter_map(udp::summary_line)
        .chain(udp::settings_line(&o.request))
    {
        let _ = writeln!(out, "{line}");
    }
    let (lt, lu, ls) = cpu_percent(&o.local_cpu());
    let _ = write!(out, "CPU: client {lt:.1}% (user {lu:.1}%, system {ls:.1}%)");
    match o.remote_cpu() {
        Some(c) => {
            let (rt, ru, rs) = cpu_percent(&c);
            let _ = writeln!(out, ", server {rt:.1}% (user {ru:.1}%, system {rs:.1}%)");
        }
        None => out.push('\n'),
    }
}

/// Socket options as requested and as each side's kernel applied them, when any was asked for.
fn socket_options(out: &mut String, o: &Outcome) {
    let r = &o.request;
    let udp_pacing = r.protocol == Protocol::Udp && r.window.is_none();
    let asked =
        r.window.is_some() || r.mss.is_some() || r.congestion.is_some() || r.fq_rate.is_some() || r.bitrate.is_some();
    if udp_pacing || !asked {
        return;
    }
    let _ = writeln!(out, "Socket options, requested → effective:");
    let sides = [
        (
            "client",
            r.direction != Direction::Reverse,
            o.streams.first().map(|s| &s.socket),
        ),
        (
            "server",
            r.direction != Direction::Forward,
            o.remote.as_ref().and_then(|x| x.socket.as_ref()),
        ),
    ];
    for (side, sends, rep) in sides {
        let Some(rep) = rep else { continue };
        let parts = applied(r, sends, rep);
        if !parts.is_empty() {
            let _ = writeln!(out, "  {side}: {}", parts.join("; "));
        }
    }
}

/// Each requested option beside what one side's kernel made of it; sender-only options on a sending side only.
fn applied(r: &TestRequest, sends: bool, rep: &SocketReport) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(w) = r.window {
        parts.push(format!(
            "-w {} → sndbuf {}, rcvbuf {}",
            Bytes(u64::from(w)),
            Bytes(rep.sndbuf),
            Bytes(rep.rcvbuf)
        ));
    }
    if let Some(m) = r.mss {
        parts.push(format!("-M {m} → MSS {}", rep.mss));
    }
    if let Some(cc) = r.congestion.as_ref().filter(|_| sends) {
        parts.push(format!("-C {cc} → {}", rep.congestion.as_deref().unwrap_or("unknown")));
    }
    if let Some(f) = r.fq_rate.filter(|_| sends) {
        let eff = rep
            .max_pacing_rate
            .map_or("unknown".to_string(), |b| BitsPerSec(b as f64 * 8.0).to_string());
        parts.push(format!("--fq-rate {} → {eff}", BitsPerSec(f as f64)));
    }
    if let Some(b) = r.bitrate.filter(|_| sends) {
        parts.push(format!("-b {} per stream (application pacing)", BitsPerSec(b as f64)));
    }
    parts
}

/// UDP RTT idle before the test and loaded during it (`--latency`).
fn latency_under_load(out: &mut String, o: &Outcome) {
    let Some(l) = &o.latency else { return };
    let (idle, loaded) = (
        ProbeReport::new(&l.idle, l.idle_interval()),
        ProbeReport::new(&l.loaded, l.idle_interval()),
    );
    let _ = writeln!(
        out,
        "Latency (UDP RTT, 64-byte probes every 10 ms), idle before the test and loaded during it:"
    );
    let _ = writeln!(out, "{STATS_HEADER}");
    let _ = writeln!(out, "{}", stats_line("idle", &idle.rtt));
    let _ = writeln!(out, "{}", stats_line("loaded", &loaded.rtt));
    let _ = writeln!(
        out,
        "  lost: idle {} of {}, loaded {} of {}; loaded p50 is {:.1}x idle",
        idle.lost,
        idle.sent,
        loaded.lost,
        loaded.sent,
        if idle.rtt.p50_us > 0.0 {
            loaded.rtt.p50_us / idle.rtt.p50_us
        } else {
            0.0
        }
    );
}

/// The MTU the run really had: the profile's, unless an interface at either end is smaller (then that one, named).
fn effective_mtu(o: &Outcome, p: &Profile) -> (u32, Option<String>) {
    let ends = [Some(&o.path.local), o.path.remote.as_ref()];
    let smallest = ends
        .into_iter()
        .flatten()
        .filter_map(|f| {
            f.mtu
                .map(|m| (m, f.interface.clone().unwrap_or_else(|| "an interface".into())))
        })
        .filter(|(m, _)| *m < p.link.mtu)
        .min_by_key(|(m, _)| *m);
    match smallest {
        Some((m, iface)) => (m, Some(format!("MTU {m} on {iface}, not the profile's {}", p.link.mtu))),
        None => (p.link.mtu, None),
    }
}

/// The receiver goodput of each direction as a share of the TCP goodput ceiling of the profile's link at the MTU
/// the run really had.
pub fn ceiling_lines(o: &Outcome, p: &Profile) -> String {
    let (mtu, smaller) = effective_mtu(o, p);
    let ceiling = crate::model::tcp_goodput_ceiling_mbps(p.link.line_rate_mbps, mtu, p.validate.tcp_timestamps);
    let ts = if p.validate.tcp_timestamps { "on" } else { "off" };
    let mtu_text = smaller.unwrap_or_else(|| format!("MTU {mtu}"));
    let mut out = String::new();
    for d in o.directions() {
        let mbps = d.received.rate().mbps();
        let share = 100.0 * mbps / ceiling;
        let flag = if mbps > ceiling * (1.0 + p.validate.max_above_ceiling_fraction) {
            "; above what this link can carry: is the profile right?"
        } else {
            ""
        };
        out += &format!(
            "Profile {}: receiver goodput, {}: {mbps:.2} Mbit/s = {share:.2} % of the {ceiling:.1} Mbit/s TCP ceiling \
({} Mbit/s, {mtu_text}, timestamps {ts}){flag}\n",
            p.name,
            d.label(),
            p.link.line_rate_mbps,
        );
    }
    out
}
