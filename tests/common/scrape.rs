//! Plain HTTP GETs for the monitor tests (no HTTP client crate): the body of `http://ADDR/PATH`, and waiting
//! (bounded) until a body says what the test waits for.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Status code and body of `GET path` on `addr`; None when nothing answered.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split_whitespace().nth(1)?.parse().ok()?;
    let (_, body) = out.split_once("\r\n\r\n")?;
    Some((status, dechunk(body)))
}

/// A chunked body joined (hyper chunks bodies of unknown length; ours have a length, Prometheus's may not).
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    loop {
        let Some((size, after)) = rest.split_once("\r\n") else {
            return body.to_string();
        };
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            return body.to_string();
        };
        if n == 0 || after.len() < n {
            return if out.is_empty() { body.to_string() } else { out };
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
}

/// Polls `GET path` every 200 ms until `done` holds for the body, for at most `limit`; the last body either way.
pub fn wait_for(addr: SocketAddr, path: &str, limit: Duration, done: impl Fn(&str) -> bool) -> (bool, String) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < limit {
        if let Some((200, body)) = get(addr, path) {
            if done(&body) {
                return (true, body);
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    (false, last)
}

/// The value of the first series line starting with `series` (name and labels, as written), if any.
pub fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}
