use super::*;
use std::time::Duration;

use crate::net::Family;
use crate::protocol::{Direction, Protocol, StopAfter, TestRequest};

#[test]
fn bind_sets_the_family_and_refuses_the_other() {
    let mut i = ClientInput::new("h");
    i.bind = Some("10.0.0.1".parse().unwrap());
    let p = i.plan().unwrap();
    assert_eq!((p.target.family, p.target.bind), (Family::V4, i.bind));
    i.family = Family::V6;
    let e = i.plan().unwrap_err();
    assert!(e.starts_with("-B 10.0.0.1 is an IPv4 address but -6 was given"), "{e}");
    i.family = Family::Any;
    i.bind = Some("0.0.0.0".parse().unwrap());
    assert!(i.plan().unwrap_err().contains("own unicast"));
}

#[test]
fn defaults_plan_a_ten_second_forward_test() {
    let plan = ClientInput::new("127.0.0.1").plan().unwrap();
    assert_eq!(plan.target.port, DEFAULT_PORT);
    assert_eq!(plan.request.stop, StopAfter::Seconds(10.0));
    assert_eq!(plan.request.direction, Direction::Forward);
    assert_eq!(plan.request.block_size, DEFAULT_BLOCK);
    assert!(ServerConfig::default().check(&plan.request).is_ok());
}

#[test]
fn the_default_block_follows_the_stream_count_and_l_overrides_it() {
    let block = |parallel: u32, length: Option<u64>| {
        let mut i = ClientInput::new("127.0.0.1");
        i.parallel = parallel;
        i.length = length;
        i.plan().unwrap().request.block_size
    };
    assert_eq!(block(1, None), 512 * 1024);
    assert_eq!(block(4, None), 1024 * 1024);
    assert_eq!(block(16, None), 1024 * 1024);
    assert_eq!(block(128, None), 256 * 1024);
    assert_eq!(block(128, Some(4096)), 4096);
}

#[test]
fn udp_defaults_pace_at_one_gigabit_and_leave_the_size_to_the_path() {
    let udp = ClientInput {
        protocol: Protocol::Udp,
        ..ClientInput::new("127.0.0.1")
    };
    let plan = udp.plan().unwrap();
    assert_eq!(plan.request.protocol, Protocol::Udp);
    assert_eq!(plan.request.bitrate, Some(DEFAULT_UDP_BITRATE));
    assert_eq!(plan.request.block_size, 0, "resolved against the path MTU on connect");
    let flat_out = ClientInput {
        bitrate: Some(0),
        length: Some(1472),
        ..udp.clone()
    }
    .plan()
    .unwrap();
    assert_eq!(flat_out.request.bitrate, None, "-b 0 means as fast as possible");
    assert_eq!(flat_out.request.block_size, 1472);
    let cfg = ServerConfig::default();
    assert!(cfg.check(&flat_out.request).is_ok());
    let too_small = TestRequest {
        block_size: 39,
        ..flat_out.request.clone()
    };
    assert!(cfg.check(&too_small).unwrap_err().contains("40-byte saf-net header"));
    let with_mss = TestRequest {
        mss: Some(1400),
        ..flat_out.request.clone()
    };
    assert!(
        cfg.check(&with_mss)
            .unwrap_err()
            .contains("-M applies to TCP tests only")
    );
    assert_eq!(
        ClientInput::new("h").plan().unwrap().request.bitrate,
        None,
        "TCP stays unpaced by default"
    );
}

#[test]
fn bad_client_input_is_refused_with_the_flag_named() {
    let with = |change: fn(&mut ClientInput)| {
        let mut i = ClientInput::new("h");
        change(&mut i);
        i
    };
    fn udp(i: &mut ClientInput) {
        i.protocol = Protocol::Udp;
    }
    let cases: Vec<(ClientInput, &str)> = vec![
        (with(|i| i.parallel = 0), "-P 0"),
        (with(|i| i.time = Some(0.0)), "-t 0"),
        (with(|i| i.length = Some(0)), "-l 0"),
        (
            with(|i| {
                udp(i);
                i.length = Some(20)
            }),
            "-l 20: a UDP datagram carries",
        ),
        (
            with(|i| {
                udp(i);
                i.length = Some(70_000)
            }),
            "at most 65507",
        ),
        (
            with(|i| {
                udp(i);
                i.mss = Some(1400)
            }),
            "-M applies to TCP tests only",
        ),
        (with(|i| i.bytes = Some(0)), "-n 0"),
        (with(|i| i.window = Some(0)), "-w 0"),
        (with(|i| (i.reverse, i.bidir) = (true, true)), "-R and --bidir"),
        (with(|i| (i.time, i.bytes) = (Some(1.0), Some(1))), "-t and -n"),
        (with(|i| i.interval = 0.001), "-i 0.001"),
        (with(|i| i.host = " ".into()), "HOST is empty"),
        (with(|i| i.port = 0), "-p 0"),
    ];
    for (input, want) in cases {
        let err = input.plan().unwrap_err();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
}

#[test]
fn server_limits_are_enforced() {
    let cfg = ServerConfig {
        max_streams: 8,
        max_duration: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    let ok = ClientInput::new("h").plan().unwrap().request;
    let too_many = TestRequest {
        streams: 9,
        ..ok.clone()
    };
    assert!(cfg.check(&too_many).unwrap_err().contains("--max-streams"));
    let bidir = TestRequest {
        streams: 5,
        direction: Direction::Bidir,
        ..ok.clone()
    };
    assert!(cfg.check(&bidir).unwrap_err().contains("10 connections"));
    let long = TestRequest {
        stop: StopAfter::Seconds(61.0),
        ..ok.clone()
    };
    assert!(cfg.check(&long).unwrap_err().contains("--max-duration"));
    let omit = TestRequest {
        stop: StopAfter::Seconds(50.0),
        omit_seconds: 11.0,
        ..ok.clone()
    };
    assert!(cfg.check(&omit).unwrap_err().contains("--max-duration"));
    let block = TestRequest {
        block_size: 17 << 20,
        ..ok.clone()
    };
    assert!(cfg.check(&block).unwrap_err().contains("--max-block"));
    let window = TestRequest {
        window: Some(u32::MAX),
        ..ok.clone()
    };
    assert!(cfg.check(&window).unwrap_err().contains("--max-window"));
    let nan = TestRequest {
        stop: StopAfter::Seconds(f64::NAN),
        ..ok.clone()
    };
    assert!(cfg.check(&nan).is_err());
    assert!(cfg.check(&ok).is_ok());
}
