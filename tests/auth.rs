//! Pre-shared-key authentication between an in-process server and the client library.

mod common;

use std::net::SocketAddr;

use common::key;
use saf_net::auth::Psk;
use saf_net::client::{ClientError, Event};
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput;

async fn server(psk: Option<Psk>) -> common::Server {
    common::server(ServerConfig {
        psk,
        ..ServerConfig::default()
    })
    .await
}

async fn run(addr: SocketAddr, psk: Option<Psk>) -> (Result<throughput::Outcome, ClientError>, bool) {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(0.3);
    let mut plan = i.plan().unwrap();
    plan.target.psk = psk;
    let mut started = false;
    let mut obs = |e: Event<'_>| started |= matches!(e, Event::Started { .. });
    let r = throughput::run(&plan, &mut obs).await;
    (r, started)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matching_keys_run_and_mismatches_are_refused_before_data_moves() {
    let k = key("correct horse battery staple\n");
    let srv = server(Some(k.clone())).await;
    let addr = srv.addr;
    let (ok, started) = run(addr, Some(k)).await;
    assert!(ok.unwrap().complete());
    assert!(started);

    let (wrong, started) = run(addr, Some(key("a different key, long enough"))).await;
    let err = wrong.unwrap_err().to_string();
    assert!(err.contains("different keys"), "{err}");
    assert!(!started, "no data connection was opened");

    let (none, started) = run(addr, None).await;
    let err = none.unwrap_err().to_string();
    assert!(err.contains("requires a pre-shared key"), "{err}");
    assert!(!started);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_with_a_key_refuses_an_open_server() {
    let srv = server(None).await;
    let addr = srv.addr;
    let (r, started) = run(addr, Some(key("0123456789abcdef0123"))).await;
    let err = r.unwrap_err().to_string();
    assert!(err.contains("runs without one"), "{err}");
    assert!(!started);
    let (open, _) = run(addr, None).await;
    assert!(open.unwrap().complete(), "an open server still serves keyless clients");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_proof_is_refused_by_the_server() {
    use saf_net::protocol::{ClientMessage, ServerMessage, read_message, write_message};
    let k = key("the server's own secret key");
    let srv = server(Some(k)).await;
    let addr = srv.addr;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let hello = ClientMessage::Hello {
        protocol: saf_net::protocol::PROTOCOL_VERSION,
        software: "x".into(),
        nonce: Some("00".repeat(16)),
    };
    write_message(&mut s, &hello).await.unwrap();
    let t = std::time::Duration::from_secs(2);
    let ServerMessage::Welcome { challenge: Some(_), .. } = read_message(&mut s, 65_536, t).await.unwrap() else {
        panic!("expected a challenge");
    };
    write_message(&mut s, &ClientMessage::Auth { proof: "ab".repeat(32) })
        .await
        .unwrap();
    match read_message::<ServerMessage, _>(&mut s, 65_536, t).await.unwrap() {
        ServerMessage::Refused { reason } => assert!(reason.contains("authentication failed"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A key file group or others may read is used, with ssh's kind of warning: one line naming the file, its mode
/// and the fix. A private one (0600) gets none.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_file_others_can_read_gets_a_one_line_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("saf-net.key");
    std::fs::write(&file, "0123456789abcdef0123456789abcdef\n").unwrap();
    let srv = server(Some(Psk::resolve(Some(&file)).unwrap().unwrap())).await;
    let port = srv.addr.port().to_string();
    for (mode, warned) in [
        (0o644, true),
        (0o640, true),
        (0o604, true),
        (0o600, false),
        (0o400, false),
    ] {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        let mut c = common::saf_net();
        c.args([
            "latency",
            "127.0.0.1",
            "-p",
            &port,
            "--count",
            "1",
            "--no-history",
            "--psk-file",
        ])
        .arg(&file);
        let out = tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap();
        let err = common::text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{mode:o}: the key is still used: {err}");
        if warned {
            assert_eq!(err.lines().count(), 1, "{mode:o}: one line: {err}");
            assert!(err.starts_with("WARNING: UNPROTECTED KEY FILE! "), "{err}");
            assert!(
                err.contains(&format!("{} has mode {mode:04o}", file.display())),
                "{err}"
            );
            assert!(err.contains(&format!("chmod 600 {}", file.display())), "{err}");
        } else {
            assert_eq!(err, "", "{mode:o}: a private key file gets no warning");
        }
    }
}
