//! An iperf3 client's parameter block, read strictly (every known field of the right JSON type), and the
//! saf-net test request it amounts to, so the server's limits apply to it unchanged.

use serde_json::{Map, Value};

use crate::protocol::{Direction, Protocol, StopAfter, TestRequest};

/// iperf3's default TCP block size (`-l`).
const TCP_BLOCK: u64 = 128 * 1024;
/// iperf3's UDP block size when the client sends none.
const UDP_BLOCK: u64 = 1460;
/// iperf3's default test length.
const DEFAULT_TIME: u64 = 10;

/// What an iperf3 client asked for, as far as the server acts on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    pub request: TestRequest,
    /// UDP datagrams carry 64-bit counters (`--udp-counters-64bit`).
    pub counters64: bool,
    /// The client's version string, for the log.
    pub client_version: String,
}

/// Why a parameter block was refused: the message for the log, and iperf3's error number for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub i_errno: u32,
}

fn bad(reason: String) -> Refusal {
    Refusal {
        reason,
        i_errno: super::wire::errno::RECV_PARAMS,
    }
}

/// A non-negative integer field, absent as None; any other JSON type, a fraction or a negative is refused.
fn uint(m: &Map<String, Value>, key: &str) -> Result<Option<u64>, Refusal> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
            bad(format!(
                "iperf3 parameter \"{key}\" must be a whole number of 0 or more, got {n}"
            ))
        }),
        Some(other) => Err(bad(format!(
            "iperf3 parameter \"{key}\" must be a number, got {}",
            json_type(other)
        ))),
    }
}

/// An integer that must fit 32 bits.
fn uint32(m: &Map<String, Value>, key: &str) -> Result<Option<u32>, Refusal> {
    uint(m, key)?
        .map(|v| u32::try_from(v).map_err(|_| bad(format!("iperf3 parameter \"{key}\" is too large: {v}"))))
        .transpose()
}

/// A flag: iperf3 sends `true` for some and 1 for others; absent is off.
fn flag(m: &Map<String, Value>, key: &str) -> Result<bool, Refusal> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64() != Some(0)),
        Some(other) => Err(bad(format!(
            "iperf3 parameter \"{key}\" must be true, false or a number, got {}",
            json_type(other)
        ))),
    }
}

fn text(m: &Map<String, Value>, key: &str) -> Result<Option<String>, Refusal> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!(
            "iperf3 parameter \"{key}\" must be a string, got {}",
            json_type(other)
        ))),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the parameter block; its fields' types are checked, unknown fields (newer iperf3s) are ignored.
pub fn parse(v: &Value) -> Result<Params, Refusal> {
    let Value::Object(m) = v else {
        return Err(bad(format!(
            "iperf3 parameters must be a JSON object, got {}",
            json_type(v)
        )));
    };
    for key in ["title", "extra_data", "authtoken", "congestion_used"] {
        text(m, key)?;
    }
    for key in [
        "nodelay",
        "zerocopy",
        "dont_fragment",
        "repeating_payload",
        "get_server_output",
    ] {
        flag(m, key)?;
    }
    for key in ["pacing_timer", "burst", "TOS", "flowlabel"] {
        uint(m, key)?;
    }
    if flag(m, "sctp")? {
        return Err(Refusal {
            reason: "iperf3 client asked for SCTP; this server runs TCP and UDP tests".into(),
            i_errno: super::wire::errno::PROTOCOL,
        });
    }
    let udp = flag(m, "udp")?;
    let request = request(m, udp)?;
    Ok(Params {
        request,
        counters64: flag(m, "udp_counters_64bit")?,
        client_version: text(m, "client_version")?.unwrap_or_else(|| "unknown".into()),
    })
}

/// The saf-net request the parameters amount to.
fn request(m: &Map<String, Value>, udp: bool) -> Result<TestRequest, Refusal> {
    let direction = match (flag(m, "reverse")?, flag(m, "bidirectional")?) {
        (false, false) => Direction::Forward,
        (true, false) => Direction::Reverse,
        (false, true) => Direction::Bidir,
        (true, true) => return Err(bad("iperf3 client asked for both -R and --bidir".into())),
    };
    let block = uint32(m, "len")?.map_or(if udp { UDP_BLOCK } else { TCP_BLOCK }, u64::from);
    let stop = match (uint(m, "num")?.unwrap_or(0), uint(m, "blockcount")?.unwrap_or(0)) {
        (0, 0) => StopAfter::Seconds(uint(m, "time")?.unwrap_or(DEFAULT_TIME) as f64),
        (0, blocks) => StopAfter::Bytes(blocks.saturating_mul(block)),
        (bytes, _) => StopAfter::Bytes(bytes),
    };
    let rate = uint(m, "bandwidth")?.filter(|&b| b > 0);
    Ok(TestRequest {
        direction,
        streams: uint32(m, "parallel")?.unwrap_or(1),
        stop,
        omit_seconds: uint(m, "omit")?.unwrap_or(0) as f64,
        interval_seconds: 1.0,
        block_size: u32::try_from(block).unwrap_or(u32::MAX),
        window: uint32(m, "window")?.filter(|&w| w > 0),
        mss: uint32(m, "MSS")?.filter(|&s| s > 0),
        congestion: text(m, "congestion")?,
        fq_rate: uint(m, "fqrate")?.filter(|&r| r > 0),
        bitrate: rate,
        udp_echo: false,
        protocol: if udp { Protocol::Udp } else { Protocol::Tcp },
        server_cpu: None,
        skip_rx_copy: false,
    })
}

/// iperf3's error number for one of the server's limit refusals, by the flag its message names.
pub fn limit_errno(reason: &str) -> u32 {
    use super::wire::errno;
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
    use serde_json::json;

    #[test]
    fn real_iperf3_blocks_become_requests() {
        let tcp = json!({"tcp":true,"omit":0,"time":1,"num":0,"blockcount":0,"parallel":4,"reverse":true,
            "len":131072,"pacing_timer":1000,"client_version":"3.12"});
        let p = parse(&tcp).unwrap();
        assert_eq!(p.request.direction, Direction::Reverse);
        assert_eq!(p.request.streams, 4);
        assert_eq!(p.request.stop, StopAfter::Seconds(1.0));
        assert_eq!(p.request.protocol, Protocol::Tcp);
        let udp = json!({"udp":true,"time":2,"parallel":1,"bidirectional":true,"len":32768,"bandwidth":10000000,
            "udp_counters_64bit":1,"client_version":"3.12"});
        let p = parse(&udp).unwrap();
        assert_eq!(
            (p.request.protocol, p.request.direction, p.request.bitrate, p.counters64),
            (Protocol::Udp, Direction::Bidir, Some(10_000_000), true)
        );
        let n = parse(&json!({"tcp":true,"blockcount":3,"len":1000})).unwrap();
        assert_eq!(n.request.stop, StopAfter::Bytes(3000));
    }

    #[test]
    fn wrong_types_are_refused_by_name() {
        for (v, want) in [
            (json!([1, 2]), "must be a JSON object, got an array"),
            (json!({"parallel": "4"}), "\"parallel\" must be a number, got a string"),
            (json!({"time": -1}), "\"time\" must be a whole number"),
            (json!({"len": 1.5}), "\"len\" must be a whole number"),
            (json!({"reverse": "yes"}), "\"reverse\" must be true, false or a number"),
            (json!({"title": {}}), "\"title\" must be a string, got an object"),
            (json!({"window": 1u64 << 40}), "\"window\" is too large"),
            (json!({"reverse": true, "bidirectional": true}), "both -R and --bidir"),
        ] {
            let e = parse(&v).unwrap_err();
            assert!(e.reason.contains(want), "{v}: {}", e.reason);
        }
        assert_eq!(
            parse(&json!({"sctp": true})).unwrap_err().i_errno,
            super::super::wire::errno::PROTOCOL
        );
    }
}
