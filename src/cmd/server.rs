//! `saf-net server`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use socket2::{Domain, Socket, Type};

use super::{EXIT_OK, ExitCode, UsageError};
use crate::cli::ServerArgs;
use crate::config::ServerConfig;

fn to_u32(v: u64, flag: &str) -> Result<u32, UsageError> {
    u32::try_from(v).map_err(|_| UsageError(format!("{flag} {v} is too large; the most is 4G")))
}

/// Listens on [::]:port accepting IPv4 too, or on the one address given.
fn listen(bind: Option<IpAddr>, port: u16) -> Result<std::net::TcpListener> {
    let addr = SocketAddr::new(bind.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), port);
    let attempt = || -> std::io::Result<std::net::TcpListener> {
        let sock = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        if bind.is_none() {
            sock.set_only_v6(false)?;
        }
        sock.set_reuse_address(true)?;
        sock.bind(&addr.into())?;
        sock.listen(1024)?;
        sock.set_nonblocking(true)?;
        Ok(sock.into())
    };
    match attempt() {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            bail!("TCP port {port} on {addr} is already in use; stop the other server or pick another with -p")
        }
        // No IPv6 on this host: fall back to IPv4 only.
        Err(_) if bind.is_none() => {
            let l = std::net::TcpListener::bind((IpAddr::from([0, 0, 0, 0]), port))
                .with_context(|| format!("cannot listen on TCP port {port}"))?;
            l.set_nonblocking(true)?;
            Ok(l)
        }
        Err(e) => Err(e).with_context(|| format!("cannot listen on {addr}")),
    }
}

pub fn server(args: ServerArgs) -> Result<ExitCode> {
    if args.max_streams == 0 || args.max_concurrent == 0 {
        return Err(UsageError("--max-streams and --max-concurrent must be at least 1".into()).into());
    }
    if args.max_duration <= 0.0 || args.handshake_timeout <= 0.0 {
        return Err(UsageError("--max-duration and --handshake-timeout must be above 0 s".into()).into());
    }
    let config = ServerConfig {
        one_off: args.one_off,
        max_duration: Duration::from_secs_f64(args.max_duration),
        max_streams: args.max_streams,
        max_concurrent: args.max_concurrent,
        max_queue: args.max_queue,
        max_block: to_u32(args.max_block, "--max-block")?,
        max_window: to_u32(args.max_window, "--max-window")?,
        handshake_timeout: Duration::from_secs_f64(args.handshake_timeout),
        ..ServerConfig::default()
    };
    let listener = listen(args.bind, args.port)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        crate::server::serve(listener, config, shutdown).await
    })?;
    Ok(EXIT_OK)
}
