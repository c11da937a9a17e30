//! Human text: live interval lines, a progress line on terminals, and the final summary.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::client::{Event, Observer, Outcome};
use crate::protocol::{Direction, IntervalReport, StopAfter, StreamTotals, TestRequest};
use crate::result::{DirectionResult, cpu_percent};
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
                if self.intervals {
                    self.line("[ ID] Interval           Transfer         Bitrate  (receiver side)");
                }
            }
            Event::Interval { report, .. } if self.intervals && !report.received.is_empty() => {
                print_interval(self, report);
            }
            Event::Interval { .. } | Event::Queued { .. } => {}
            Event::Tick { elapsed } if self.progress => self.draw(elapsed),
            Event::Tick { .. } => {}
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

    /// Removes the progress line before the final summary.
    pub fn finish(&mut self) {
        self.clear();
    }
}

fn print_interval(p: &mut LivePrinter, iv: &IntervalReport) {
    let omitted = if iv.omitted { "  (omitted)" } else { "" };
    let tagged = |s: u32| tag(&p.request, s);
    let mut lines = Vec::new();
    if iv.received.len() > 1 || p.request.direction != Direction::Bidir {
        for b in &iv.received {
            lines.push(rate_line(
                &b.stream.to_string(),
                iv.start,
                iv.end,
                b.bytes,
                &format!("{}{omitted}", tagged(b.stream)),
            ));
        }
    }
    if iv.received.len() > 1 {
        let total = iv.received.iter().map(|b| b.bytes).sum();
        let t = iv.received.first().map_or("", |b| tagged(b.stream));
        lines.push(rate_line("SUM", iv.start, iv.end, total, &format!("{t}{omitted}")));
    } else if p.request.direction == Direction::Bidir {
        for b in &iv.received {
            lines.push(rate_line(
                &b.stream.to_string(),
                iv.start,
                iv.end,
                b.bytes,
                &format!("{}{omitted}", tagged(b.stream)),
            ));
        }
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
    let mut row = |id: &str, s: f64, bytes: u64, who: &str| {
        let _ = writeln!(out, "{}", rate_line(id, 0.0, s, bytes, &format!("{t} {who}")));
    };
    let each = |v: &[StreamTotals], id: u32| v.iter().find(|s| s.stream == id).cloned();
    for s in &d.sender {
        row(&s.stream.to_string(), s.seconds, s.bytes, "sender");
        if let Some(r) = each(&d.receiver, s.stream) {
            row(&r.stream.to_string(), r.seconds, r.bytes, "receiver");
        }
    }
    if d.sender.len() > 1 {
        row("SUM", d.sent.seconds, d.sent.bytes, "sender");
        row("SUM", d.received.seconds, d.received.bytes, "receiver");
    }
}

/// The end-of-test summary: sender and receiver lines, the receiver-side headline, CPU, and any fault.
pub fn summary(o: &Outcome) -> String {
    let mut out = String::new();
    let dirs = o.directions();
    let bidir = dirs.len() > 1;
    let _ = writeln!(out, "{RULE}");
    let _ = writeln!(out, "[ ID] Interval           Transfer         Bitrate");
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
    let (lt, lu, ls) = cpu_percent(&o.local_cpu());
    let _ = write!(out, "CPU: client {lt:.1}% (user {lu:.1}%, system {ls:.1}%)");
    match o.remote_cpu() {
        Some(c) => {
            let (rt, ru, rs) = cpu_percent(&c);
            let _ = writeln!(out, ", server {rt:.1}% (user {ru:.1}%, system {rs:.1}%)");
        }
        None => out.push('\n'),
    }
    if let Some(e) = &o.error {
        let _ = writeln!(out, "INCOMPLETE: {e}; the figures above are partial");
    }
    out
}
