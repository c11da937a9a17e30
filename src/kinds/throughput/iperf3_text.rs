//! Throughput as iperf3's client prints it (the iperf3 drop-in): the connect lines, one line per stream and
//! interval from this side's own counts, then each stream's sender and receiver lines and `iperf Done.`.
//! Units as iperf3's adaptive ones: bytes 1024-based, bits 1000-based, three significant digits.

use std::fmt::Write as _;

use super::Outcome;
use crate::client::StreamInfo;
use crate::protocol::{IntervalReport, Protocol, StopAfter, StreamBytes, StreamTotals, TestRequest, UdpCounts};
use crate::result::{DirectionResult, cpu_percent};

pub const SEPARATOR: &str = "- - - - - - - - - - - - - - - - - - - - - - - - -";

/// A value in iperf3's `%4.2f`/`%4.1f`/`%4.0f` steps with its unit.
fn adaptive(mut v: f64, step: f64, units: [&str; 5]) -> String {
    let mut unit = 0;
    while v >= step && unit < units.len() - 1 {
        v /= step;
        unit += 1;
    }
    let number = if v < 9.995 {
        format!("{v:4.2}")
    } else if v < 99.95 {
        format!("{v:4.1}")
    } else {
        format!("{v:4.0}")
    };
    format!("{number} {}", units[unit])
}

/// `35.8 MBytes`
pub fn transfer(bytes: f64) -> String {
    adaptive(bytes, 1024.0, ["Bytes", "KBytes", "MBytes", "GBytes", "TBytes"])
}

/// ` 300 Mbits/sec`
pub fn bitrate(bits_per_second: f64) -> String {
    adaptive(
        bits_per_second,
        1000.0,
        ["bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec", "Tbits/sec"],
    )
}

fn rate(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 * 8.0 / seconds
    } else {
        0.0
    }
}

/// The loss percentage as iperf3's `%.2g`: two significant digits, no trailing zeros (`0`, `5.3`, `0.035`).
fn percent(p: f64) -> String {
    if p == 0.0 || !p.is_finite() {
        return "0".into();
    }
    let decimals = (1 - p.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{p:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `Connecting to host …`, and the reverse-mode line.
pub fn connecting(host: &str, port: u16, request: &TestRequest) -> String {
    let mut s = format!("Connecting to host {host}, port {port}\n");
    if request.direction == crate::protocol::Direction::Reverse {
        let _ = writeln!(s, "Reverse mode, remote host {host} is sending");
    }
    s
}

/// One `[ ID] local … connected to …` line per stream.
pub fn connected(streams: &[StreamInfo]) -> String {
    streams.iter().fold(String::new(), |mut s, st| {
        let (l, r) = (st.local, st.remote);
        let _ = writeln!(
            s,
            "[{:>3}] local {} port {} connected to {} port {}",
            st.id,
            l.ip(),
            l.port(),
            r.ip(),
            r.port()
        );
        s
    })
}

/// `-V`'s line before the intervals.
pub fn starting(r: &TestRequest) -> String {
    let protocol = if r.protocol == Protocol::Udp { "UDP" } else { "TCP" };
    let length = match r.stop {
        StopAfter::Seconds(t) => format!("{t} second test"),
        StopAfter::Bytes(b) => format!("{b} bytes to send"),
    };
    format!(
        "Starting Test: protocol: {protocol}, {} streams, {} byte blocks, omitting {} seconds, {length}, tos 0\n",
        r.streams, r.block_size, r.omit_seconds
    )
}

fn bidir(r: &TestRequest) -> bool {
    r.direction == crate::protocol::Direction::Bidir
}

/// The header above the interval lines: what this side sees of its streams.
pub fn interval_header(r: &TestRequest) -> String {
    let id = if bidir(r) { "[ ID][Role]" } else { "[ ID]" };
    let sends = r.direction == crate::protocol::Direction::Forward || bidir(r);
    let tail = match (r.protocol, sends) {
        (Protocol::Udp, true) => "         Total Datagrams",
        (Protocol::Udp, false) => "         Jitter    Lost/Total Datagrams",
        (Protocol::Tcp, true) => "         Retr  Cwnd",
        (Protocol::Tcp, false) => "",
    };
    format!("{id} Interval           Transfer     Bitrate{tail}\n")
}

/// `[  5][TX-C]   0.00-1.00   sec  35.8 MBytes   300 Mbits/sec`
fn head(id: &str, role: &str, start: f64, end: f64, bytes: u64) -> String {
    let secs = end - start;
    format!(
        "[{id}]{role} {start:6.2}-{end:<6.2} sec  {}  {}",
        transfer(bytes as f64),
        bitrate(rate(bytes, secs))
    )
}

fn role(r: &TestRequest, sends: bool) -> &'static str {
    match (bidir(r), sends) {
        (false, _) => "",
        (true, true) => "[TX-C]",
        (true, false) => "[RX-C]",
    }
}

/// One interval line of a stream (or their sum, `id` "SUM") this side sent or received.
fn interval_line(r: &TestRequest, id: &str, sends: bool, iv: &IntervalReport, b: &[&StreamBytes]) -> String {
    let bytes = b.iter().map(|x| x.bytes).sum();
    let mut s = head(id, role(r, sends), iv.start, iv.end, bytes);
    let udp = crate::kinds::udp::sum(b.iter().filter_map(|x| x.udp.as_ref()));
    match (udp, sends) {
        (Some(u), true) => {
            let _ = write!(s, "  {}  ", u.packets);
        }
        (Some(u), false) => s.push_str(&udp_loss(&u)),
        (None, true) => {
            let retr: u64 = b.iter().filter_map(|x| x.tcp).map(|t| t.retransmits).sum();
            let cwnd = b
                .first()
                .and_then(|x| x.tcp)
                .map(|t| t.snd_cwnd)
                .filter(|_| b.len() == 1);
            match cwnd {
                Some(c) => write!(s, "  {retr:3}   {}       ", transfer(c as f64)),
                None => write!(s, "  {retr:3}             "),
            }
            .expect("writing to a String");
        }
        (None, false) => s.push_str("                  "),
    }
    if iv.omitted {
        s.push_str("  (omitted)");
    }
    s.push('\n');
    s
}

fn udp_loss(u: &UdpCounts) -> String {
    format!(
        "  {:5.3} ms  {}/{} ({}%)  ",
        u.jitter_ms,
        u.lost,
        u.packets,
        percent(u.lost_percent())
    )
}

/// The lines of one interval this side measured: each stream (sent and received, by id), then the sums.
pub fn interval(r: &TestRequest, iv: &IntervalReport) -> String {
    let mut entries: Vec<(bool, &StreamBytes)> = iv
        .sent
        .iter()
        .map(|b| (true, b))
        .chain(iv.received.iter().map(|b| (false, b)))
        .collect();
    entries.sort_by_key(|(_, b)| b.stream);
    let mut s = String::new();
    for (sends, b) in &entries {
        s.push_str(&interval_line(r, &format!("{:>3}", b.stream), *sends, iv, &[b]));
    }
    if r.streams > 1 {
        for sends in [true, false] {
            let side: Vec<&StreamBytes> = entries.iter().filter(|(x, _)| *x == sends).map(|(_, b)| *b).collect();
            if !side.is_empty() {
                s.push_str(&interval_line(r, "SUM", sends, iv, &side));
            }
        }
        s.push_str(SEPARATOR);
        s.push('\n');
    }
    s
}

/// One end-of-test line: a stream's (or the sum's) sender or receiver totals.
fn total_line(r: &TestRequest, id: &str, d: &DirectionResult, sender: bool, totals: &[&StreamTotals]) -> String {
    let bytes = totals.iter().map(|t| t.bytes).sum();
    let seconds = totals.iter().map(|t| t.seconds).fold(0.0, f64::max);
    let mut s = head(id, role(r, d.client_sends), 0.0, seconds, bytes);
    let udp = crate::kinds::udp::sum(totals.iter().filter_map(|t| t.udp.as_ref()));
    match (udp, sender) {
        (Some(u), true) => s.push_str(&udp_loss(&UdpCounts {
            lost: 0,
            jitter_ms: 0.0,
            ..u
        })),
        (Some(u), false) => s.push_str(&udp_loss(&u)),
        (None, true) => {
            let retr: u64 = totals.iter().filter_map(|t| t.tcp).map(|t| t.retransmits).sum();
            let _ = write!(s, "  {retr:3}             ");
        }
        (None, false) => s.push_str("                  "),
    }
    s.push_str(if sender { "sender\n" } else { "receiver\n" });
    s
}

/// The summary header, the sender and receiver lines of each stream and their sums.
fn totals(o: &Outcome) -> String {
    let r = &o.request;
    let id = if bidir(r) { "[ ID][Role]" } else { "[ ID]" };
    let tail = if r.protocol == Protocol::Udp {
        "         Jitter    Lost/Total Datagrams"
    } else {
        "         Retr"
    };
    let mut s = format!("{id} Interval           Transfer     Bitrate{tail}\n");
    for d in o.directions() {
        for snd in &d.sender {
            s.push_str(&total_line(r, &format!("{:>3}", snd.stream), &d, true, &[snd]));
            let rcv: Vec<&StreamTotals> = d.receiver.iter().filter(|x| x.stream == snd.stream).collect();
            s.push_str(&total_line(r, &format!("{:>3}", snd.stream), &d, false, &rcv));
        }
        if d.sender.len() > 1 {
            s.push_str(&total_line(r, "SUM", &d, true, &d.sender.iter().collect::<Vec<_>>()));
            s.push_str(&total_line(r, "SUM", &d, false, &d.receiver.iter().collect::<Vec<_>>()));
        }
    }
    s
}

/// `-V`'s CPU line, as iperf3 words it.
fn cpu(o: &Outcome) -> String {
    let (lt, lu, ls) = cpu_percent(&o.local_cpu());
    let (rt, ru, rs) = o.remote_cpu().map_or((0.0, 0.0, 0.0), |c| cpu_percent(&c));
    let (local, remote) = if o.request.direction == crate::protocol::Direction::Reverse {
        ("local/receiver", "remote/sender")
    } else {
        ("local/sender", "remote/receiver")
    };
    format!("CPU Utilization: {local} {lt:.1}% ({lu:.1}%u/{ls:.1}%s), {remote} {rt:.1}% ({ru:.1}%u/{rs:.1}%s)\n")
}

/// `-V`'s congestion control lines: the sending and the receiving side's first data socket, where known.
fn congestion(o: &Outcome) -> String {
    let (client, server) = super::json::sockets(o);
    let (snd, rcv) = if o.request.direction == crate::protocol::Direction::Reverse {
        (server, client)
    } else {
        (client, server)
    };
    let mut s = String::new();
    for (name, side) in [("snd_tcp_congestion", snd), ("rcv_tcp_congestion", rcv)] {
        if let Some(algo) = side.and_then(|x| x.congestion.as_deref()) {
            let _ = writeln!(s, "{name} {algo}");
        }
    }
    s
}

/// Everything after the intervals: the summary, `-V`'s lines, an incomplete test's reason, `iperf Done.`.
pub fn summary(o: &Outcome, verbose: bool) -> String {
    // With more than one stream, each interval already ended with the separator.
    let separated = o.request.streams > 1 && o.request.interval_seconds > 0.0 && !o.local.intervals.is_empty();
    let mut s = if separated {
        String::new()
    } else {
        format!("{SEPARATOR}\n")
    };
    if verbose {
        s.push_str("Test Complete. Summary Results:\n");
    }
    s.push_str(&totals(o));
    if verbose {
        s.push_str(&cpu(o));
        s.push_str(&congestion(o));
    }
    if let Some(e) = &o.error {
        let _ = writeln!(s, "iperf3: error - {e}");
        return s;
    }
    s.push_str("\niperf Done.\n");
    s
}

#[cfg(test)]
#[path = "iperf3_text_tests.rs"]
mod tests;
