//! Helpers the integration tests share: the binary, an in-process server, ports, processes, output.
//! Each test file takes what it needs with `mod common;`, so not every file uses every helper.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use saf_net::config::ServerConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The saf-net binary under test. Spawn it with [`saf_net`] (or give a wrapper command [`isolate`]d), never bare.
pub const BIN: &str = env!("CARGO_BIN_EXE_saf-net");

/// `saf-net` for a test: its history and data folder in this test binary's sandbox, no caller's SAF_NET_* settings.
pub fn saf_net() -> Command {
    let mut c = Command::new(BIN);
    isolate(&mut c);
    c
}

/// Gives `c` (saf-net itself, or a wrapper such as `ip netns exec … saf-net`, which passes the environment
/// on) the sandbox: `SAF_NET_HISTORY` and `XDG_DATA_HOME` point into it, so a run without `--csv` or
/// `--no-history` never reaches the user's real history, and the caller's port, profile and key are dropped.
pub fn isolate(c: &mut Command) -> &mut Command {
    c.envs(sandbox_env())
        .env_remove("SAF_NET_PORT")
        .env_remove("SAF_NET_PROFILE")
        .env_remove("SAF_NET_PSK")
}

/// The variables that keep a spawned saf-net's recordings in the sandbox (for `Command::envs`).
pub fn sandbox_env() -> [(&'static str, PathBuf); 2] {
    let dir = sandbox();
    [
        ("SAF_NET_HISTORY", dir.join("history.csv")),
        ("XDG_DATA_HOME", dir.join("data")),
    ]
}

/// This test process's own folder under Cargo's target/tmp, made (and dead processes' folders cleared) once.
pub fn sandbox() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("suite-data");
        let prefix = format!("{}-", env!("CARGO_CRATE_NAME"));
        for entry in std::fs::read_dir(&root).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix(&prefix).and_then(|p| p.parse::<i32>().ok());
            if pid.is_some_and(|p| !alive(p)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = root.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        dir
    })
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only asks whether the process exists; it sends nothing.
    unsafe { libc::kill(pid, 0) == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM) }
}

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

/// Starts `cmd` (a server) with its stdout and stderr in `log`, and waits up to 10 s for `banner` in the log,
/// so nothing probes its port (a probe would be a client to it). Killed when the test ends.
pub fn logged_server(mut cmd: Command, log: &Path, banner: &str) -> KillOnDrop {
    let out = std::fs::File::create(log).unwrap();
    cmd.stdin(std::process::Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    let child = KillOnDrop(cmd.spawn().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")));
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(log).unwrap_or_default().contains(banner) {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{cmd:?} did not say {banner:?}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// A private (0600) key file `name` in `dir` holding `text`, as a server's or client's `--psk-file`.
pub fn key_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let f = dir.join(name);
    std::fs::write(&f, text).unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    f
}

/// The key whose text is `text`, read back from a key file as a server or client would.
pub fn key(text: &str) -> saf_net::auth::Psk {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("key");
    std::fs::write(&f, text).unwrap();
    saf_net::auth::Psk::resolve(Some(&f)).unwrap().unwrap()
}

/// A loopback server's `HOST:PORT` as a mesh names it.
pub fn name(addr: SocketAddr) -> String {
    format!("127.0.0.1:{}", addr.port())
}

/// A server with `psk` that relays (`--allow-relay`), at most `per_minute` relays a minute.
pub async fn relaying(psk: &saf_net::auth::Psk, per_minute: u32) -> Server {
    server(ServerConfig {
        psk: Some(psk.clone()),
        allow_relay: true,
        max_relays_per_minute: per_minute,
        ..ServerConfig::default()
    })
    .await
}
