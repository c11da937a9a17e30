use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

struct Fixed(Registry);

impl Routes for Fixed {
    async fn respond(&self, path: &str, query: &str) -> Reply {
        match path {
            "/metrics" => Reply::metrics(&self.0),
            "/echo" => Reply::text(200, query_value(query, "target").unwrap_or_default()),
            _ => Reply::not_found("/metrics"),
        }
    }
}

fn registry() -> Registry {
    let mut r = Registry::default();
    let c = Counter::<u64>::default();
    c.inc_by(7);
    r.register("saf_net_example", "An example counter", c);
    r
}

/// One raw HTTP/1.1 request with `Connection: close`; the whole answer.
async fn request(addr: SocketAddr, method: &str, target: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

async fn started() -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = bind("127.0.0.1:0".parse().unwrap(), "--listen").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, Arc::new(Fixed(registry())), async move {
        let _ = rx.await;
    }));
    (addr, tx)
}

#[tokio::test]
async fn metrics_are_served_in_the_text_format() {
    let (addr, _stop) = started().await;
    let got = request(addr, "GET", "/metrics").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains(METRICS_CONTENT_TYPE), "{got}");
    assert!(got.contains("saf_net_example_total 7"), "{got}");
    assert!(got.trim_end().ends_with("# EOF"), "{got}");
}

#[tokio::test]
async fn other_methods_paths_and_queries() {
    let (addr, _stop) = started().await;
    let post = request(addr, "POST", "/metrics").await;
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    assert!(post.to_ascii_lowercase().contains("allow: get, head"), "{post}");
    let missing = request(addr, "GET", "/nothing").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    let echo = request(addr, "GET", "/echo?module=rtt&target=a%3A5301").await;
    assert!(echo.ends_with("a:5301"), "{echo}");
}

#[tokio::test]
async fn garbage_does_not_stop_the_endpoint() {
    let (addr, _stop) = started().await;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(b"\x00\x01garbage\r\n\r\n").await.unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink).await;
    let got = request(addr, "GET", "/metrics").await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
}

#[tokio::test]
async fn a_taken_address_is_one_clear_error() {
    let first = bind("127.0.0.1:0".parse().unwrap(), "--listen").await.unwrap();
    let addr = first.local_addr().unwrap();
    let err = bind(addr, "--listen").await.unwrap_err();
    assert!(matches!(err, BindError::InUse { .. }), "{err:?}");
    let line = err.to_string();
    assert!(line.contains(&addr.to_string()) && line.contains("--listen"), "{line}");
}

#[test]
fn query_values_are_decoded() {
    assert_eq!(query_value("target=h1&module=rtt", "module").as_deref(), Some("rtt"));
    assert_eq!(query_value("target=a%2Bb+c", "target").as_deref(), Some("a+b c"));
    assert_eq!(query_value("target", "target").as_deref(), Some(""));
    assert_eq!(query_value("x=1", "target"), None);
    assert_eq!(query_value("target=%zz", "target"), None);
}
