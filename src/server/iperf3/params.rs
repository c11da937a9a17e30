//! The saf-net test request an iperf3 client's parameter block amounts to, so the server's limits apply to it
//! unchanged; and the refusals in iperf3's terms.

use crate::protocol::iperf3::{DEFAULT_TCP_LEN, DEFAULT_TIME, DEFAULT_UDP_LEN, Params};
use crate::protocol::{Direction, Protocol, StopAfter, TestRequest};

use super::wire::errno;

/// Why a parameter block was refused: the message for the log, and iperf3's error number for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub i_errno: i32,
}

fn bad(reason: String) -> Refusal {
    Refusal {
        reason,
        i_errno: errno::RECV_PARAMS,
    }
}

fn to_u32(v: Option<u64>, key: &str) -> Result<Option<u32>, Refusal> {
    v.map(|v| u32::try_from(v).map_err(|_| bad(format!("iperf3 parameter \"{key}\" is too large: {v}"))))
        .transpose()
}

/// The saf-net request `p` amounts to; SCTP, and `-R` with `--bidir`, are refused.
pub fn request(p: &Params) -> Result<TestRequest, Refusal> {
    if p.sctp {
        return Err(Refusal {
            reason: "iperf3 client asked for SCTP; this server runs TCP and UDP tests".into(),
            i_errno: errno::PROTOCOL,
        });
    }
    let direction = match (p.reverse, p.bidirectional) {
        (false, false) => Direction::Forward,
        (true, false) => Direction::Reverse,
        (false, true) => Direction::Bidir,
        (true, true) => return Err(bad("iperf3 client asked for both -R and --bidir".into())),
    };
    let block = p
        .len
        .unwrap_or(if p.udp { DEFAULT_UDP_LEN } else { DEFAULT_TCP_LEN } as u64);
    let block_size = to_u32(Some(block), "len")?.unwrap_or_default();
    let stop = match (p.num.unwrap_or(0), p.blockcount.unwrap_or(0)) {
        (0, 0) => StopAfter::Seconds(p.time.unwrap_or(DEFAULT_TIME) as f64),
        (0, blocks) => StopAfter::Bytes(blocks.saturating_mul(block)),
        (bytes, _) => StopAfter::Bytes(bytes),
    };
    Ok(TestRequest {
        direction,
        streams: to_u32(p.parallel, "parallel")?.unwrap_or(1),
        stop,
        omit_seconds: p.omit.unwrap_or(0) as f64,
        interval_seconds: 1.0,
        block_size,
        window: to_u32(p.window, "window")?.filter(|&w| w > 0),
        mss: to_u32(p.mss, "MSS")?.filter(|&s| s > 0),
        congestion: p.congestion.clone(),
        fq_rate: p.fqrate.filter(|&r| r > 0),
        bitrate: p.bandwidth.filter(|&b| b > 0),
        udp_echo: false,
        protocol: if p.udp { Protocol::Udp } else { Protocol::Tcp },
        server_cpu: None,
        skip_rx_copy: false,
    })
}

/// iperf3's error number for one of the server's limit refusals, by the server option its message names.
pub fn limit_errno(reason: &str) -> i32 {
    if reason.contains("--max-duration") {
        errno::DURATION
    } else if reason.contains("--max-streams") {
        errno::NUM_STREAMS
    } else if reason.contains("--max-window") {
        errno::BUF_SIZE
    } else if reason.contains("--max-block") || reason.contains("--max-test-memory") {
        errno::BLOCK_SIZE
    } else {
        errno::RECV_PARAMS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::iperf3::decode_json;

    fn parse(json: &str) -> Result<TestRequest, Refusal> {
        request(&decode_json::<Params>(json.as_bytes()).unwrap())
    }

    #[test]
    fn real_iperf3_blocks_become_requests() {
        let r = parse(
            r#"{"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":4,"reverse":true,
            "len":131072,"pacing_timer":1000,"client_version":"3.12"}"#,
        )
        .unwrap();
        assert_eq!(
            (r.direction, r.streams, r.stop),
            (Direction::Reverse, 4, StopAfter::Seconds(1.0))
        );
        assert_eq!((r.protocol, r.block_size), (Protocol::Tcp, 131_072));
        let r = parse(r#"{"udp":true,"time":2,"bidirectional":true,"len":32768,"bandwidth":10000000}"#).unwrap();
        assert_eq!(
            (r.protocol, r.direction, r.bitrate, r.streams),
            (Protocol::Udp, Direction::Bidir, Some(10_000_000), 1)
        );
        assert_eq!(
            parse(r#"{"tcp":true,"blockcount":3,"len":1000}"#).unwrap().stop,
            StopAfter::Bytes(3000)
        );
        assert_eq!(parse(r#"{"udp":true}"#).unwrap().block_size, 1460);
    }

    #[test]
    fn impossible_requests_are_refused_in_iperf3_terms() {
        let e = parse(r#"{"reverse":true,"bidirectional":true}"#).unwrap_err();
        assert!(
            e.reason.contains("both -R and --bidir") && e.i_errno == errno::RECV_PARAMS,
            "{e:?}"
        );
        assert!(
            parse(r#"{"window":1099511627776}"#)
                .unwrap_err()
                .reason
                .contains("\"window\" is too large")
        );
        assert_eq!(parse(r#"{"sctp":true}"#).unwrap_err().i_errno, errno::PROTOCOL);
        assert_eq!(
            limit_errno("-P 200 exceeds ... (server option --max-streams)"),
            errno::NUM_STREAMS
        );
        assert_eq!(
            limit_errno("-t 9999 ... (server option --max-duration)"),
            errno::DURATION
        );
    }
}
