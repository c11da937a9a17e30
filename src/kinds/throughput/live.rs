//! Throughput's live text: one line per stream as it connects, then one per stream (and their sum) as each
//! interval closes, receiver figures beside the sender's Retr and Cwnd (UDP: jitter and loss).

use super::text::{UNKNOWN_CELL, rate_line, tag};
use crate::client::{Event, Observer};
use crate::kinds::udp;
use crate::output::text::{Live, Progress};
use crate::protocol::{IntervalReport, Protocol, StopAfter, StreamBytes, TcpSample, TestRequest};
use crate::units::Bytes;

/// Prints a throughput test's events as they happen.
pub struct LivePrinter {
    request: TestRequest,
    progress: Progress,
    /// Print per-interval lines.
    intervals: bool,
    /// Sender entries of each interval so far, per side.
    local_sent: Vec<Vec<StreamBytes>>,
    remote_sent: Vec<Vec<StreamBytes>>,
}

impl LivePrinter {
    pub fn new(request: &TestRequest, host: &str, port: u16, intervals: bool) -> Self {
        let total = match request.stop {
            StopAfter::Seconds(t) => Some(t + request.omit_seconds),
            StopAfter::Bytes(_) => None,
        };
        LivePrinter {
            request: request.clone(),
            progress: Progress::new(host, port, total),
            intervals,
            local_sent: Vec::new(),
            remote_sent: Vec::new(),
        }
    }

    fn line(&mut self, text: &str) {
        self.progress.line(text);
    }
}

impl Observer for LivePrinter {
    fn on(&mut self, event: Event<'_>) {
        match event {
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
            other => self.progress.on(other),
        }
    }
}

impl Live for LivePrinter {
    fn finish(&mut self) {
        self.progress.finish();
    }
}

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
