//! Unit tests of the control-channel messages: strict decoding, cookies, versions.

use super::*;

#[test]
fn cookie_round_trips_as_hex() {
    let c = Cookie([0xab; 16]);
    let text = serde_json::to_string(&c).unwrap();
    assert_eq!(text, format!("\"{}\"", "ab".repeat(16)));
    assert_eq!(serde_json::from_str::<Cookie>(&text).unwrap(), c);
    assert!(serde_json::from_str::<Cookie>("\"abcd\"").is_err());
    assert!(serde_json::from_str::<Cookie>(&format!("\"{}\"", "zz".repeat(16))).is_err());
}

#[test]
fn decoding_is_strict() {
    let ok = r#"{"hello":{"protocol":1,"software":"0.1.0"}}"#;
    assert!(serde_json::from_str::<ClientMessage>(ok).is_ok());
    let extra = r#"{"hello":{"protocol":1,"software":"0.1.0","x":1}}"#;
    assert!(serde_json::from_str::<ClientMessage>(extra).is_err());
    let wrong_type = r#"{"hello":{"protocol":"1","software":"0.1.0"}}"#;
    assert!(serde_json::from_str::<ClientMessage>(wrong_type).is_err());
    let unknown = r#"{"launch":{}}"#;
    assert!(serde_json::from_str::<ClientMessage>(unknown).is_err());
}

#[test]
fn test_request_round_trips() {
    let req = TestRequest {
        direction: Direction::Bidir,
        streams: 4,
        stop: StopAfter::Bytes(1 << 20),
        omit_seconds: 1.0,
        interval_seconds: 1.0,
        block_size: 131072,
        window: Some(1 << 20),
        mss: Some(1400),
        congestion: Some("reno".into()),
        fq_rate: None,
        bitrate: Some(200_000_000),
        udp_echo: true,
        protocol: Protocol::Tcp,
        server_cpu: None,
        skip_rx_copy: false,
    };
    let msg = ClientMessage::Test(req.clone());
    let text = serde_json::to_string(&msg).unwrap();
    assert_eq!(serde_json::from_str::<ClientMessage>(&text).unwrap(), msg);
    assert_eq!(req.connections(), 8);
    let quotas: Vec<u64> = (1..=4).map(|i| req.quota(i).unwrap()).collect();
    assert_eq!(quotas.iter().sum::<u64>(), 1 << 20);
    assert_eq!(req.quota(5), req.quota(1));
    let odd = TestRequest {
        stop: StopAfter::Bytes(10),
        streams: 3,
        ..req.clone()
    };
    assert_eq!(
        (1..=3).map(|i| odd.quota(i).unwrap()).collect::<Vec<_>>(),
        vec![4, 3, 3]
    );
    assert!(req.client_sends(4));
    assert!(!req.client_sends(5));
}

#[test]
fn protocol_is_additive_and_defaults_to_tcp() {
    let tcp = TestRequest {
        direction: Direction::Forward,
        streams: 1,
        stop: StopAfter::Seconds(1.0),
        omit_seconds: 0.0,
        interval_seconds: 1.0,
        block_size: 1472,
        window: None,
        mss: None,
        congestion: None,
        fq_rate: None,
        bitrate: None,
        udp_echo: false,
        protocol: Protocol::Tcp,
        server_cpu: None,
        skip_rx_copy: false,
    };
    let text = serde_json::to_string(&tcp).unwrap();
    assert!(
        !text.contains("protocol"),
        "TCP requests look as they did before UDP existed: {text}"
    );
    assert_eq!(serde_json::from_str::<TestRequest>(&text).unwrap(), tcp);
    let udp = TestRequest {
        protocol: Protocol::Udp,
        ..tcp
    };
    let text = serde_json::to_string(&udp).unwrap();
    assert!(text.contains(r#""protocol":"udp""#), "{text}");
    assert_eq!(serde_json::from_str::<TestRequest>(&text).unwrap(), udp);
    let counts = UdpCounts {
        packets: 200,
        received: 190,
        lost: 10,
        ..UdpCounts::default()
    };
    assert_eq!(counts.lost_percent(), 5.0);
    assert_eq!(UdpCounts::default().lost_percent(), 0.0);
}
