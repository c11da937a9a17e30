//! The text exporter's shared parts: the connect, queue and progress lines every run prints while it runs, and
//! the path section (interfaces, route, MSS, path MTU, diagnoses) that several kinds print at the end.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::client::{Event, Observer};
use crate::diagnose::PathReport;
use crate::protocol::InterfaceFacts;

/// A live display of a run's events; `finish` removes its progress line before the final text.
pub trait Live: Observer {
    fn finish(&mut self);
}

/// Prints the connect and queue lines as they happen, and a progress line on terminals.
pub struct Progress {
    host: String,
    port: u16,
    /// Seconds the run is planned to last, for the progress bar; None shows elapsed seconds only.
    total: Option<f64>,
    tty: bool,
    drawn: bool,
    /// Last queue position shown; the server repeats it as a heartbeat.
    queued_at: u32,
}

impl Progress {
    pub fn new(host: &str, port: u16, total: Option<f64>) -> Self {
        Progress {
            host: host.into(),
            port,
            total,
            tty: std::io::stderr().is_terminal() && std::io::stdout().is_terminal(),
            drawn: false,
            queued_at: 0,
        }
    }

    /// A display for runs without throughput streams (latency, MTU): progress over `duration`, if known.
    pub fn for_duration(host: &str, port: u16, duration: Option<Duration>) -> Self {
        Progress::new(host, port, duration.map(|d| d.as_secs_f64()))
    }

    fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[K");
            self.drawn = false;
        }
    }

    /// Prints one line on stdout, above the progress line.
    pub fn line(&mut self, text: &str) {
        self.clear();
        // A closed stdout (e.g. piped into `head`) must not kill a running test.
        let _ = writeln!(std::io::stdout(), "{text}");
    }

    fn draw(&mut self, elapsed: Duration) {
        let e = elapsed.as_secs_f64();
        let text = match self.total {
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
}

impl Observer for Progress {
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
            Event::Tick { elapsed } if self.tty => self.draw(elapsed),
            // Streams and intervals are the throughput display's; the command prints warnings on stderr.
            _ => {}
        }
    }
}

impl Live for Progress {
    fn finish(&mut self) {
        self.clear();
    }
}

fn facts_line(f: &InterfaceFacts) -> String {
    let unknown = "unknown".to_string();
    let name = f.interface.clone().unwrap_or_else(|| "interface unknown".into());
    let addr = f.address.map(|a| a.to_string()).unwrap_or_default();
    let mtu = f.mtu.map_or(unknown.clone(), |m| m.to_string());
    let speed = f.speed_mbps.map_or(unknown, |s| format!("{s} Mb/s"));
    let duplex = f.duplex.as_ref().map(|d| format!(" {d} duplex")).unwrap_or_default();
    format!("{name} {addr}, MTU {mtu}, link {speed}{duplex}")
}

/// The path section: both interfaces, the route, MSS, the probed path MTU, the verdict and the diagnoses.
pub fn path_section(p: &PathReport, peer: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Path to {peer}:");
    let _ = writeln!(out, "  this host: {}", facts_line(&p.local));
    match (&p.route, &p.route_error) {
        (Some(r), _) => {
            let _ = writeln!(out, "  route:     {}", crate::route::render::line(r));
        }
        (None, Some(e)) => {
            let _ = writeln!(out, "  route:     unknown ({e})");
        }
        (None, None) => {}
    }
    match &p.remote {
        Some(r) => {
            let _ = writeln!(out, "  server:    {}", facts_line(r));
        }
        None => {
            let _ = writeln!(out, "  server:    not reported");
        }
    }
    if let (Some(a), Some(e)) = (p.mss_advertised, p.mss_effective) {
        let _ = writeln!(
            out,
            "  MSS: advertised {a}, effective {e} bytes of payload per segment (TCP options take the rest)"
        );
    }
    if let Some(m) = &p.mtu_probe {
        let way = |mtu: Option<u32>, payload: Option<u32>| match (mtu, payload) {
            (Some(m), Some(p)) => format!("{m} (UDP payload {p})"),
            _ => "nothing passed".into(),
        };
        let _ = writeln!(
            out,
            "  path MTU, don't-fragment probes: client → server {}, server → client {}; searched {}..{} with {} probes in {:.2} s",
            way(m.forward_path_mtu, m.forward_udp_payload),
            way(m.reverse_path_mtu, m.reverse_udp_payload),
            m.low,
            m.high,
            m.probes,
            m.seconds
        );
    }
    let _ = writeln!(out, "  verdict: {}", p.verdict());
    for d in &p.diagnoses {
        let _ = writeln!(out, "Warning [{}]: {}", d.kind, d.message);
        let _ = writeln!(out, "  what to do: {}", d.advice);
    }
    out
}
