//! Human text: live interval lines, a progress line on terminals, and the final summary.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::client::{Event, Observer};
use crate::kinds::throughput::Outcome;
use crate::output::latency::ProbeReport;
use crate::output::udp;
use crate::protocol::{
    Direction, IntervalReport, Protocol, StopAfter, StreamBytes, StreamTotals, TcpSample, TestRequest,
};
use crate::result::{DirectionResult, cpu_percent, hints};
use crate::units::{BitsPerSec, Bytes};

const RULE: &str = "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - -";

/// Prints events as they happen.
pub struct LivePrinter {
    request: TestRequest,
    host: String,
    port: u16,
    progress: bool,
    drawn: bool,
    /// Print per-interval lines.
    intervals: bool,
    /// Last queue position shown; the server repeats it as a heartbeat.
    queued_at: u32,
    /// Sender entries of each interval so far, per side.
    local_sent: Vec<Vec<StreamBytes>>,
    remote_sent: Vec<Vec<StreamBytes>>,
}

impl LivePrinter {
    pub fn new(request: &TestRequest, host: &str, port: u16, intervals: bool) -> Self {
        let progress = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        LivePrinter {
            request: request.clone(),
            host: host.into(),
            port,
            progress,
            drawn: false,
            intervals,
            queued_at: 0,
            local_sent: Vec::new(),
            remote_sent: Vec::new(),
        }
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
    }

    fn line(&mut self, text: &str) {
        self.clear();
        // A closed stdout (e.g. piped into `head`) must not kill a running test.
        let _ = writeln!(std::io::stdout(), "{text}");
    }

    fn total_seconds(&self) -> Option<f64> {
        match self.request.stop {
            StopAfter::Seconds(t) => Some(t + self.request.omit_seconds),
            StopAfter::Bytes(_) => None,
        }
    }
}

fn tag(req: &TestRequest, stream: u32) -> &'static str {
    match (req.direction, req.client_sends(stream)) {
        (Direction::Bidir, true) => "[C→S]",
        (Direction::Bidir, false) => "[S→C]",
        _ => "",
    }
}

fn rate_line(id: &str, start: f64, end: f64, bytes: u64, tail: &str) -> String {
    format!(
        "[{id:>3}] {start:6.2}-{end:<6.2} sec  {:>12}  {:>13} {tail}",
        Bytes(bytes).to_string(),
        BitsPerSec::from_bytes(bytes, end - start).to_string()
    )
}

impl Observer for LivePrinter {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Connected { server } => {
                let text = format!("Connecting to host {}, port {} ({server})", self.host, self.port);
                self.line(&text);
            }
            Event::Queued { position } if position != self.queued_at => {
                self.queued_at = position;
                let text = format!("Server busy: waiting in line at position {position}");
                self.line(&text);
            }
            Event::Started { streams } => {
                for s in streams {
                    let who = if s.client_sends { "client sends" } else { "server sends" };
                    let text = format!(
                        "[{:>3}] local {} port {} connected to {} port {} ({who})",
                        s.id,
                        s.local.ip(),
                        s.local.port(),
                        s.remote.ip(),
                        s.remote.port()
                    );
                    self.line(&text);
                }
                if self.intervals && self.request.protocol == Protocol::Udp {
                    self.line(udp::INTERVAL_HEADER);
                } else if self.intervals {
                    self.line("[ ID] Interval           Transfer         Bitrate    Retr        Cwnd  (receiver side; Retr/Cwnd from the sender)");
                }
            }
            Event::Interval { local, report } => {
                // Each side's sender figures, by interval index, to put beside the other side's receiver lines.
                let (mine, other) = if local {
                    (&mut self.local_sent, &self.remote_sent)
                } else {
                    (&mut self.remote_sent, &self.local_sent)
                };
                mine.push(report.sent.clone());
                let senders = other.get(mine.len() - 1).cloned();
                if self.intervals && !report.received.is_empty() {
                    print_interval(self, report, senders.as_ref());
                }
            }
            Event::Queued { .. } => {}
            Event::Tick { elapsed } if self.progress => self.draw(elapsed),
            Event::Tick { .. } => {}
            // The command prints warnings on stderr, one line each.
            Event::Warning { .. } => {}
        }
    }
}

impl LivePrinter {
    fn draw(&mut self, elapsed: Duration) {
        let e = elapsed.as_secs_f64();
        let text = match self.total_seconds() {
            Some(total) => {
                let width = 30;
                let done = ((e / total).clamp(0.0, 1.0) * width as f64) as usize;
                format!(
                    "  [{}{}] {e:5.1}/{total:.1} s",
                    "#".repeat(done),
                    ".".repeat(width - done)
                )
            }
            None => format!("  {e:5.1} s"),
        };
        eprint!("\r\x1b[K{text}");
        let _ = std::io::stderr().flush();
        self.drawn = true;
    }

    /// A printer for runs without throughput streams (latency, MTU): progress only.
    pub fn for_duration(host: &str, port: u16, duration: Option<Duration>) -> Self {
        let request = TestRequest {
            direction: Direction::Forward,
            streams: 0,
            stop: match duration {
                Some(d) => StopAfter::Seconds(d.as_secs_f64()),
                None => StopAfter::Bytes(0),
            },
            omit_seconds: 0.0,
            interval_seconds: 0.0,
            block_size: 0,
            window: None,
            mss: None,
            congestion: None,
            fq_rate: None,
            bitrate: None,
            udp_echo: false,
            protocol: Default::default(),
            server_cpu: None,
            skip_rx_copy: false,
        };
        LivePrinter::new(&request, host, port, false)
    }

    /// Removes the progress line before the final summary.
    pub fn finish(&mut self) {
        self.clear();
    }
}

/// What a Retr or Cwnd cell shows when the sender's kernel gave no figure for it (no sample this interval, or
/// an OS without one): always a dash, never a blank or a stale value.
pub const UNKNOWN_CELL: &str = "-";

/// Retr and Cwnd columns, a dash where the sender's kernel figures are unknown.
fn tcp_cols(tcp: Option<TcpSample>) -> String {
    match tcp {
        Some(t) => format!("{:>6}  {:>10}", t.retransmits, Bytes(t.snd_cwnd).to_string()),
        None => format!("{UNKNOWN_CELL:>6}  {UNKNOWN_CELL:>10}"),
    }
}

fn print_interval(p: &mut LivePrinter, iv: &IntervalReport, senders: Option<&Vec<StreamBytes>>) {
    let omitted = if iv.omitted { "  (omitted)" } else { "" };
    let tcp = |id: u32| {
        senders
            .and_then(|v| v.iter().find(|b| b.stream == id))
            .and_then(|b| b.tcp)
    };
    let mut lines = Vec::new();
    let is_udp = p.request.protocol == Protocol::Udp;
    for b in &iv.received {
        let cols = if is_udp {
            udp::columns(b.udp.as_ref())
        } else {
            tcp_cols(tcp(b.stream))
        };
        let tail = format!("{cols}  {}{omitted}", tag(&p.request, b.stream));
        lines.push(rate_line(&b.stream.to_string(), iv.start, iv.end, b.bytes, &tail));
    }
    if iv.received.len() > 1 {
        let total = iv.received.iter().map(|b| b.bytes).sum();
        // The sum is known only when every stream's figure is.
        let known: Option<Vec<TcpSample>> = iv.received.iter().map(|b| tcp(b.stream)).collect();
        let retr = known.map_or(UNKNOWN_CELL.to_string(), |k| {
            k.iter().map(|t| t.retransmits).sum::<u64>().to_string()
        });
        let t = iv.received.first().map_or("", |b| tag(&p.request, b.stream));
        let cols = if is_udp {
            udp::columns(udp::interval_sum(&iv.received).as_ref())
        } else {
            format!("{retr:>6}  {:>10}", "")
        };
        lines.push(rate_line(
            "SUM",
            iv.start,
            iv.end,
            total,
            &format!("{cols}  {t}{omitted}"),
        ));
    }
    for l in lines {
        p.line(&l);
    }
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
    let sent = |c: Option<crate::protocol::UdpCounts>| {
        c.map_or("sender".to_string(), |c| format!("sender  {} datagrams", c.packets))
    };
    let got = |c: Option<crate::protocol::UdpCounts>| {
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

/// The end-of-test summary: sender and receiver lines, the receiver-side headline, CPU, and any fault.
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
    for d in &dirs {
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
    for line in dirs.iter().filter_map(udp::summary_line).chain(udp::settings_line(o)) {
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
    let r = &o.request;
    let udp_pacing = r.protocol == Protocol::Udp && r.window.is_none();
    if !udp_pacing
        && (r.window.is_some()
            || r.mss.is_some()
            || r.congestion.is_some()
            || r.fq_rate.is_some()
            || r.bitrate.is_some())
    {
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
            if !parts.is_empty() {
                let _ = writeln!(out, "  {side}: {}", parts.join("; "));
            }
        }
    }
    if let Some(a) = affinity_text(o) {
        let _ = writeln!(out, "{a}");
    }
    if o.request.skip_rx_copy {
        let _ = writeln!(
            out,
            "Note: --skip-rx-copy: receivers discarded bytes in the kernel; not comparable with default goodput."
        );
    }
    out.push_str(&crate::output::path::text(&o.path, &o.server.to_string()));
    if let Some(l) = &o.latency {
        let (idle, loaded) = (
            ProbeReport::new(&l.idle, l.idle_interval()),
            ProbeReport::new(&l.loaded, l.idle_interval()),
        );
        let _ = writeln!(
            out,
            "Latency (UDP RTT, 64-byte probes every 10 ms), idle before the test and loaded during it:"
        );
        let _ = writeln!(out, "{}", crate::output::latency::STATS_HEADER);
        let _ = writeln!(out, "{}", crate::output::latency::stats_line("idle", &idle.rtt));
        let _ = writeln!(out, "{}", crate::output::latency::stats_line("loaded", &loaded.rtt));
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
    for h in dirs.iter().flat_map(|d| hints(d, o.path.is_loopback())) {
        let _ = writeln!(out, "Hint: {h}");
    }
    if let Some(e) = &o.error {
        let _ = writeln!(out, "INCOMPLETE: {e}; the figures above are partial");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_tcp_sample_is_a_dash_in_both_columns() {
        let none = tcp_cols(None);
        assert_eq!(
            none.split_whitespace().collect::<Vec<_>>(),
            [UNKNOWN_CELL, UNKNOWN_CELL]
        );
        assert_eq!(
            none.len(),
            tcp_cols(Some(TcpSample::default())).len(),
            "columns stay aligned"
        );
    }
}
