use std::time::Duration;

use super::*;
use crate::protocol::FrameError;

const T: Duration = Duration::from_secs(1);

#[test]
fn states_keep_iperf3s_numbers() {
    assert_eq!(State::TestStart.to_byte(), 1);
    assert_eq!(State::TestEnd.to_byte(), 4);
    assert_eq!(State::ParamExchange.to_byte(), 9);
    assert_eq!(State::CreateStreams.to_byte(), 10);
    assert_eq!(State::ExchangeResults.to_byte(), 13);
    assert_eq!(State::IperfDone.to_byte(), 16);
    assert_eq!(State::AccessDenied.to_byte(), 0xff);
    assert_eq!(State::ServerError.to_byte(), 0xfe);
    for b in 0..=255u8 {
        match State::from_byte(b) {
            Some(s) => assert_eq!(s.to_byte(), b, "{}", s.name()),
            None => assert!(b == 0 || (17..=253).contains(&b), "byte {b} should be a state"),
        }
    }
}

#[test]
fn cookies_are_36_alphabet_characters_and_a_nul() {
    let a = Cookie::random().unwrap();
    let b = Cookie::random().unwrap();
    assert_ne!(a, b);
    assert_eq!(a.as_bytes().len(), COOKIE_SIZE);
    assert_eq!(a.as_bytes()[36], 0);
    assert!(a.as_str().bytes().all(|c| COOKIE_ALPHABET.contains(&c)));
    assert_eq!(Cookie::parse(a.as_bytes()), Some(a));
}

#[test]
fn malformed_cookies_are_refused() {
    let good = *Cookie::random().unwrap().as_bytes();
    let mut no_nul = good;
    no_nul[36] = b'a';
    let mut bad_char = good;
    bad_char[3] = b'1';
    let mut upper = good;
    upper[0] = b'A';
    for bad in [
        &no_nul[..],
        &bad_char[..],
        &upper[..],
        &good[..36],
        &[0u8; 38][..],
        &[0u8; 37][..],
    ] {
        assert_eq!(Cookie::parse(bad), None, "{bad:?}");
    }
}

#[tokio::test]
async fn cookie_reads_time_out_and_stop_at_eof() {
    let (_a, mut b) = tokio::io::duplex(64);
    let err = read_cookie(&mut b, Duration::from_millis(30)).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let short = [b'a'; 10];
    assert!(read_cookie(&mut short.as_slice(), T).await.is_err());
    let c = Cookie::random().unwrap();
    assert_eq!(read_cookie(&mut c.as_bytes().as_slice(), T).await.unwrap(), Some(c));
}

#[test]
fn stream_ids_skip_two() {
    let ids: Vec<u32> = (0..5).map(stream_id).collect();
    assert_eq!(ids, [1, 3, 4, 5, 6]);
}

#[tokio::test]
async fn states_round_trip_and_unknown_bytes_are_errors() {
    let mut wire = Vec::new();
    write_state(&mut wire, State::ServerError).await.unwrap();
    assert_eq!(read_state(&mut wire.as_slice(), T).await.unwrap(), State::ServerError);
    assert!(matches!(
        read_state(&mut [42u8].as_slice(), T).await,
        Err(StateError::Unknown(42))
    ));
    assert!(matches!(
        read_state(&mut [].as_slice(), T).await,
        Err(StateError::Closed)
    ));
    let (_a, mut b) = tokio::io::duplex(8);
    assert!(matches!(
        read_state(&mut b, Duration::from_millis(20)).await,
        Err(StateError::Timeout(_))
    ));
}

#[tokio::test]
async fn server_errors_are_two_big_endian_numbers() {
    let e = ServerError { code: 202, errno: 98 };
    assert_eq!(e.to_bytes(), [0, 0, 0, 202, 0, 0, 0, 98]);
    assert_eq!(ServerError::read(&mut e.to_bytes().as_slice(), T).await.unwrap(), e);
    let first_only = [0u8, 0, 0, 121];
    let got = ServerError::read(&mut first_only.as_slice(), T).await.unwrap();
    assert_eq!(got, ServerError { code: 121, errno: 0 });
    assert_eq!(got.message(), "the server is busy running a test");
    assert!(ServerError::read(&mut [0u8, 1].as_slice(), T).await.is_err());
    let msg = e.message();
    assert!(msg.starts_with("unable to start stream listener: errno 98 ("), "{msg}");
    assert_eq!(ServerError { code: 9999, errno: 0 }.message(), "iperf3 error 9999");
}

#[tokio::test]
async fn json_lengths_are_never_trusted() {
    let huge = [0xffu8, 0xff, 0xff, 0xff, b'{'];
    let err = read_json::<Params, _>(&mut huge.as_slice(), MAX_JSON, T)
        .await
        .unwrap_err();
    assert!(matches!(err, FrameError::TooLarge { got: u32::MAX, .. }), "{err}");
    let zero = [0u8; 4];
    assert!(matches!(
        read_json::<Params, _>(&mut zero.as_slice(), MAX_JSON, T).await,
        Err(FrameError::Empty)
    ));
    let mut truncated = encode_json(&Params::default());
    truncated.pop();
    assert!(matches!(
        read_json::<Params, _>(&mut truncated.as_slice(), MAX_JSON, T).await,
        Err(FrameError::Closed)
    ));
    let (_a, mut b) = tokio::io::duplex(8);
    assert!(matches!(
        read_json::<Params, _>(&mut b, MAX_JSON, Duration::from_millis(20)).await,
        Err(FrameError::Timeout(_))
    ));
    let not_json = [0u8, 0, 0, 3, b'a', b'b', b'c'];
    assert!(matches!(
        read_json::<Params, _>(&mut not_json.as_slice(), MAX_JSON, T).await,
        Err(FrameError::Decode(_))
    ));
}

#[tokio::test]
async fn json_messages_are_length_then_body() {
    let p = Params {
        tcp: true,
        time: Some(1),
        parallel: Some(4),
        ..Params::default()
    };
    let wire = encode_json(&p);
    let body = &wire[4..];
    assert_eq!(u32::from_be_bytes(wire[..4].try_into().unwrap()) as usize, body.len());
    assert_eq!(
        std::str::from_utf8(body).unwrap(),
        r#"{"tcp":true,"time":1,"parallel":4}"#
    );
    let mut out = Vec::new();
    write_json(&mut out, &p).await.unwrap();
    assert_eq!(out, wire);
    let back: Params = read_json(&mut wire.as_slice(), MAX_JSON, T).await.unwrap();
    assert_eq!(back, p);
}

#[test]
fn params_use_iperf3_key_names_and_leave_off_flags() {
    let p = Params {
        udp: true,
        omit: Some(2),
        time: Some(0),
        num: Some(1_000_000),
        mss: Some(1400),
        parallel: Some(2),
        bidirectional: true,
        window: Some(262_144),
        len: Some(1448),
        bandwidth: Some(100_000_000),
        tos: Some(16),
        congestion: Some("bbr".into()),
        client_version: Some("3.12".into()),
        ..Params::default()
    };
    let v: serde_json::Value = serde_json::to_value(&p).unwrap();
    for key in [
        "udp",
        "omit",
        "time",
        "num",
        "MSS",
        "parallel",
        "bidirectional",
        "window",
        "len",
        "bandwidth",
        "TOS",
        "congestion",
        "client_version",
    ] {
        assert!(v.get(key).is_some(), "{key} missing from {v}");
    }
    for absent in [
        "tcp",
        "reverse",
        "nodelay",
        "udp_counters_64bit",
        "blockcount",
        "get_server_output",
    ] {
        assert!(v.get(absent).is_none(), "{absent} must be left out: {v}");
    }
}

#[test]
fn params_from_real_iperf3_parse_leniently() {
    let raw = br#"{"tcp":true,"omit":0,"time":10,"num":0,"blockcount":0,"parallel":1,"reverse":1,
        "len":131072,"bandwidth":1e+10,"pacing_timer":1000,"client_version":"3.12","some_new_key":[1,2]}"#;
    let p: Params = decode_json(raw).unwrap();
    assert!(p.tcp && p.reverse && !p.udp && !p.bidirectional);
    assert_eq!(p.bandwidth, Some(10_000_000_000));
    assert_eq!(p.len, Some(131_072));
    assert_eq!(p.client_version.as_deref(), Some("3.12"));
    assert!(decode_json::<Params>(br#"{"tcp":true,"time":-1}"#).is_err());
    assert!(decode_json::<Params>(br#"{"tcp":true,"len":1.5}"#).is_err());
    assert!(decode_json::<Params>(br#"{"tcp":true,"len":"big"}"#).is_err());
}

#[test]
fn results_need_iperf3s_required_fields() {
    let raw = br#"{"cpu_util_total":12.5,"cpu_util_user":2.25,"cpu_util_system":10.25,
        "sender_has_retransmits":-1,"congestion_used":"cubic","streams":[
        {"id":1,"bytes":123456789,"retransmits":-1,"jitter":0,"errors":0,"packets":0,
         "start_time":0,"end_time":1.000123},
        {"id":3,"bytes":5,"retransmits":-1,"jitter":0.0001,"errors":2,"packets":9}]}"#;
    let r: Results = decode_json(raw).unwrap();
    assert_eq!(r.cpu_util_total, 12.5);
    assert_eq!(r.sender_has_retransmits, -1);
    assert_eq!(r.congestion_used.as_deref(), Some("cubic"));
    let s1 = r.stream(1).unwrap();
    assert_eq!(s1.bytes, 123_456_789);
    assert!((s1.seconds().unwrap() - 1.000123).abs() < 1e-9);
    let s3 = r.stream(3).unwrap();
    assert_eq!((s3.errors, s3.packets, s3.seconds()), (2, 9, None));
    assert!(r.stream(2).is_none());
    let no_cpu = br#"{"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,"streams":[]}"#;
    assert!(decode_json::<Results>(no_cpu).is_err());
    let no_bytes = br#"{"cpu_util_total":0,"cpu_util_user":0,"cpu_util_system":0,"sender_has_retransmits":0,
        "streams":[{"id":1,"retransmits":0,"jitter":0,"errors":0,"packets":0}]}"#;
    assert!(decode_json::<Results>(no_bytes).is_err());
}

#[test]
fn results_round_trip() {
    let r = Results {
        cpu_util_total: 1.5,
        sender_has_retransmits: 1,
        streams: vec![StreamResult {
            id: 1,
            bytes: 42,
            retransmits: 3,
            start_time: Some(0.0),
            end_time: Some(2.0),
            ..StreamResult::default()
        }],
        ..Results::default()
    };
    let back: Results = decode_json(&encode_json(&r)[4..]).unwrap();
    assert_eq!(back, r);
    let v = serde_json::to_value(&r).unwrap();
    assert!(v.get("congestion_used").is_none() && v["streams"][0].get("omitted_errors").is_none());
}

#[test]
fn udp_connect_values_in_either_form_and_order() {
    assert_eq!(connect_msg(), 123_456_789u32.to_le_bytes());
    assert_eq!(connect_reply(), [0xb1, 0x68, 0xde, 0x3a]);
    assert!(is_connect_msg(&connect_msg()) && is_connect_msg(b"9876") && is_connect_msg(b"6789"));
    assert!(is_connect_reply(&connect_reply()) && is_connect_reply(&[0x3a, 0xde, 0x68, 0xb1]));
    assert!(is_connect_reply(b"9876") && is_connect_reply(b"6789"));
    assert!(!is_connect_reply(&connect_msg()) && !is_connect_msg(&connect_reply()));
    assert!(!is_connect_reply(b"98765") && !is_connect_reply(b"987"));
}

#[test]
fn udp_headers_are_big_endian_with_32_or_64_bit_counters() {
    let h = UdpHeader {
        sec: 0x0102_0304,
        usec: 999_999,
        count: 0x1_0000_0005,
    };
    let mut buf = [0u8; 20];
    assert!(h.write(&mut buf, false));
    assert_eq!(&buf[..4], &[1, 2, 3, 4]);
    assert_eq!(&buf[8..12], &[0, 0, 0, 5]);
    assert_eq!(UdpHeader::read(&buf, false).unwrap().count, 5);
    assert!(h.write(&mut buf, true));
    assert_eq!(&buf[8..16], &[0, 0, 0, 1, 0, 0, 0, 5]);
    assert_eq!(UdpHeader::read(&buf, true), Some(h));
    assert!(!h.write(&mut [0u8; 15], true));
    assert_eq!(UdpHeader::read(&buf[..11], false), None);
    let at = UdpHeader::at(Duration::new(10, 500_000_000), 7);
    assert_eq!((at.sec, at.usec, at.count), (10, 500_000, 7));
    assert_eq!(at.seconds(), 10.5);
}
