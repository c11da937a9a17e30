//! The fuzz targets' bodies, shared by the libFuzzer binaries in `fuzz_targets/`.
//!
//! Each one feeds arbitrary bytes to a decoder the server runs on untrusted input and checks what
//! must hold whatever the input: no panic, strict round trips, the frame cap.

use std::sync::OnceLock;
use std::time::Duration;

use saf_net::config::ServerConfig;
use saf_net::protocol::{
    ClientMessage, DEFAULT_MAX_FRAME, FrameError, HEADER_LEN, Header, ServerMessage, data_tag, decode, encode,
    read_raw,
};

/// A client message as the server decodes it; a decoded one must survive the server's limit checks
/// and round-trip through the encoder unchanged.
pub fn client_message(data: &[u8]) {
    let Ok(msg) = decode::<ClientMessage>(data) else {
        return;
    };
    let frame = encode(&msg);
    let again: ClientMessage = decode(&frame[4..]).expect("an encoded message decodes");
    assert_eq!(again, msg, "round trip");
    let limits = ServerConfig::default();
    match &msg {
        ClientMessage::Test(req) => {
            let _ = limits.check(req);
            let conns = req.connections();
            for id in [0, 1, conns / 2, conns, conns.saturating_add(1), u32::MAX] {
                let _ = req.quota(id);
                let _ = req.client_sends(id);
            }
        }
        ClientMessage::Latency(req) => {
            let _ = limits.check_latency(req);
        }
        ClientMessage::Echo(req) => {
            let _ = limits.check_echo(req);
        }
        _ => {}
    }
}

/// A server message as the client decodes it; a decoded one must round-trip unchanged.
pub fn server_message(data: &[u8]) {
    let Ok(msg) = decode::<ServerMessage>(data) else {
        return;
    };
    let frame = encode(&msg);
    let again: ServerMessage = decode(&frame[4..]).expect("an encoded message decodes");
    assert_eq!(again, msg, "round trip");
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    })
}

/// The framed reader over an in-memory stream: the first byte picks the cap (small caps reach the
/// limit paths), the rest is read frame by frame until the reader gives up, each frame decoded both ways.
pub fn framed_reader(data: &[u8]) {
    let Some((&pick, mut stream)) = data.split_first() else {
        return;
    };
    let cap = match pick % 4 {
        0 => DEFAULT_MAX_FRAME,
        1 => 1,
        2 => 64,
        _ => u32::from(pick),
    };
    runtime().block_on(async {
        loop {
            let before = stream.len();
            match read_raw(&mut stream, cap, Duration::from_secs(1)).await {
                Ok(frame) => {
                    assert!(!frame.is_empty() && frame.len() <= cap as usize, "frame within 1..=cap");
                    assert_eq!(before - stream.len(), frame.len() + 4, "consumed prefix + body exactly");
                    client_message(&frame);
                    server_message(&frame);
                }
                Err(FrameError::TooLarge { got, cap: c }) => {
                    assert!(got > c && c == cap);
                    break;
                }
                Err(FrameError::Timeout(_)) => panic!("an in-memory reader never times out"),
                Err(_) => break,
            }
        }
    });
}

/// A UDP datagram as the responder parses it: only saf-net headers parse, and they re-serialize to the
/// same bytes (bytes 5..8 aside: the writer zeroes them; data datagrams carry flags and a stream id there),
/// and the data tag reads from any parsed header without panicking.
pub fn datagram_header(data: &[u8]) {
    let Some(h) = Header::read(data) else {
        assert!(data.len() < HEADER_LEN || &data[..4] != b"SAFN" || !(1..=4).contains(&data[4]));
        return;
    };
    let mut buf = [0u8; HEADER_LEN];
    h.write(&mut buf);
    assert_eq!(buf[..5], data[..5]);
    assert_eq!(buf[8..HEADER_LEN], data[8..HEADER_LEN]);
    assert_eq!(Header::read(&buf), Some(h));
    let (_flags, stream) = data_tag(data);
    assert!(stream <= u32::from(u16::MAX));
}

/// What an iperf3 client sends a saf-net server before its streams (first bytes, cookie, parameter block),
/// read by the server's own steps: whatever the bytes, no panic, and a request that comes of them is within
/// the server's limits.
pub fn iperf3_server_start(data: &[u8]) {
    let limits = ServerConfig {
        handshake_timeout: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let mut stream = data;
    runtime().block_on(async {
        if let Ok(req) = saf_net::server::read_iperf3_client_start(&mut stream, &limits).await {
            assert!(limits.check(&req).is_ok(), "a request the server would run passed its limits");
            assert!(req.streams >= 1 && req.connections() <= limits.max_streams, "streams within the cap");
        }
    });
}
