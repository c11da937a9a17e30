use super::*;
use crate::protocol::{Direction, TcpSample};

fn request(direction: Direction, streams: u32, protocol: Protocol) -> TestRequest {
    TestRequest {
        direction,
        streams,
        stop: StopAfter::Seconds(2.0),
        omit_seconds: 0.0,
        interval_seconds: 1.0,
        block_size: 131_072,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: None,
        udp_echo: false,
        protocol,
        server_cpu: None,
        skip_rx_copy: false,
    }
}

fn bytes(stream: u32, bytes: u64, tcp: Option<TcpSample>) -> StreamBytes {
    StreamBytes {
        stream,
        bytes,
        tcp,
        udp: None,
    }
}

#[test]
fn units_step_like_iperf3s() {
    assert_eq!(transfer(37_486_592.0), "35.8 MBytes");
    assert_eq!(transfer(785_408.0), " 767 KBytes");
    assert_eq!(transfer(1_174_405.0), "1.12 MBytes");
    assert_eq!(bitrate(300_000_000.0), " 300 Mbits/sec");
    assert_eq!(bitrate(99_600_000.0), "99.6 Mbits/sec");
    assert_eq!(bitrate(10_200_000.0), "10.2 Mbits/sec");
    assert_eq!(bitrate(0.0), "0.00 bits/sec");
    assert_eq!(percent(0.0), "0");
    assert_eq!(percent(5.336), "5.3");
    assert_eq!(percent(0.035), "0.035");
    assert_eq!(percent(12.34), "12");
}

#[test]
fn a_sending_interval_reads_like_iperf3s() {
    let r = request(Direction::Forward, 1, Protocol::Tcp);
    let tcp = TcpSample {
        retransmits: 0,
        snd_cwnd: 785_408,
        ..TcpSample::default()
    };
    let iv = IntervalReport {
        start: 0.0,
        end: 1.0,
        omitted: false,
        sent: vec![bytes(5, 37_486_592, Some(tcp))],
        received: vec![],
    };
    // iperf3 3.12: "[  5]   0.00-1.00   sec  35.8 MBytes   300 Mbits/sec    0    767 KBytes       "
    assert_eq!(
        interval(&r, &iv),
        "[  5]   0.00-1.00   sec  35.8 MBytes   300 Mbits/sec    0    767 KBytes       \n"
    );
    assert_eq!(
        interval_header(&r),
        "[ ID] Interval           Transfer     Bitrate         Retr  Cwnd\n"
    );
}

#[test]
fn a_receiving_interval_and_sums_read_like_iperf3s() {
    let r = request(Direction::Reverse, 2, Protocol::Tcp);
    let iv = IntervalReport {
        start: 1.0,
        end: 2.0,
        omitted: true,
        sent: vec![],
        received: vec![bytes(2, 12_450_000, None), bytes(1, 12_450_000, None)],
    };
    let text = interval(&r, &iv);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[0].starts_with("[  1]   1.00-2.00   sec  11.9 MBytes  99.6 Mbits/sec"),
        "{text}"
    );
    assert!(lines[1].starts_with("[  2]"), "streams in id order: {text}");
    assert!(
        lines[2].starts_with("[SUM]   1.00-2.00   sec  23.7 MBytes   199 Mbits/sec"),
        "{text}"
    );
    assert!(lines[0].ends_with("(omitted)"), "{text}");
    assert_eq!(lines[3], SEPARATOR);
    assert_eq!(interval_header(&r), "[ ID] Interval           Transfer     Bitrate\n");
}

#[test]
fn bidir_lines_carry_their_role() {
    let r = request(Direction::Bidir, 1, Protocol::Tcp);
    let iv = IntervalReport {
        start: 0.0,
        end: 1.0,
        omitted: false,
        sent: vec![bytes(1, 1000, None)],
        received: vec![bytes(2, 1000, None)],
    };
    let text = interval(&r, &iv);
    assert!(
        text.lines().next().unwrap().starts_with("[  1][TX-C]   0.00-1.00"),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("[  2][RX-C]   0.00-1.00"),
        "{text}"
    );
    assert!(interval_header(&r).starts_with("[ ID][Role] Interval"));
}
