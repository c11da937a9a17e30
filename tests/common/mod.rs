//! Helpers the integration tests share: the binary, an in-process server, ports, processes, output.
//! Each test file takes what it needs with `mod common;`, so not every file uses every helper.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};

use saf_net::config::ServerConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The saf-net binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_saf-net");

/// A saf-net server running in this process; it stops when dropped (or on [`Server::shutdown`]).
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Serves on `listener` with `config` exactly as given.
    pub fn on(listener: tokio::net::TcpListener, config: ServerConfig) -> Server {
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel();
        let handle = tokio::spawn(saf_net::serve(listener, config, async move {
            let _ = rx.await;
        }));
        Server {
            addr,
            stop: Some(tx),
            handle: Some(handle),
        }
    }

    /// Serves on 127.0.0.1 (a port the OS picks) with `config` exactly as given.
    pub async fn start(config: ServerConfig) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Server::on(listener, config)
    }

    /// Tells the server to shut down; the handle ends when `serve` returns.
    pub fn shutdown(mut self) -> JoinHandle<std::io::Result<()>> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.handle.take().expect("the server's task")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// A server on 127.0.0.1 with `config`, its log off.
pub async fn server(config: ServerConfig) -> Server {
    Server::start(ServerConfig { log: false, ..config }).await
}

/// A port nothing listens on right now (the OS picked it; we let it go again).
pub fn free_port() -> u16 {
    // The server listens on the dual-stack wildcard, so test the same kind of address.
    let l = TcpListener::bind("[::]:0")
        .or_else(|_| TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    l.local_addr().unwrap().port()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Output bytes as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A child process that is killed and reaped when the test ends, however it ends.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
