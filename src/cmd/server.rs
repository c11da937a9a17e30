//! `saf-net server`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use socket2::{Domain, Socket, Type};

use super::{EXIT_OK, ExitCode, UsageError};
use crate::cli::ServerArgs;
use crate::config::ServerConfig;
use crate::dropin::output::Sink;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// Log lines through `tracing` to stderr, or to `log` (the iperf3 drop-in's --logfile): RUST_LOG if set, else
/// info (-q: warn, -v: debug, -vv: trace).
fn init_logging(verbose: u8, quiet: bool, log: Option<Sink>) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (_, 0) => "info",
        (_, 1) => "debug",
        _ => "trace",
    };
    let filter = log_filter(std::env::var("RUST_LOG").ok(), level);
    // The builder's own default drops everything below info; the target list decides instead.
    let (writer, ansi) = match log {
        Some(sink) => (BoxMakeWriter::new(move || sink.clone()), false),
        None => (
            BoxMakeWriter::new(std::io::stderr),
            std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
    };
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .with_target(false)
        .with_writer(writer)
        .with_ansi(ansi)
        .finish()
        .with(filter)
        .try_init();
}

/// The log filter: RUST_LOG's `target=level` list if it parses, else `saf_net=LEVEL,warn`. A plain target list,
/// not tracing's regex-based EnvFilter: compiling a regex at start touched ~1 MiB of the server's code.
fn log_filter(rust_log: Option<String>, level: &str) -> Targets {
    if let Some(spec) = rust_log.filter(|s| !s.trim().is_empty()) {
        match spec.parse::<Targets>() {
            Ok(t) => return t,
            Err(e) => eprintln!("RUST_LOG={spec:?} ignored ({e}); use a list of target=level, e.g. saf_net=debug,warn"),
        }
    }
    format!("saf_net={level},warn").parse().unwrap_or_default()
}

pub fn server(args: ServerArgs) -> Result<ExitCode> {
    serve_logged(args, None, |_| {})
}

/// The server, its log on stderr or in `log`; `listening` is told the port once it listens.
pub(super) fn serve_logged(args: ServerArgs, log: Option<Sink>, listening: impl FnOnce(u16)) -> Result<ExitCode> {
    if args.max_streams == 0 || args.max_concurrent == 0 {
        return Err(UsageError("--max-streams and --max-concurrent must be at least 1".into()).into());
    }
    if args.max_duration <= 0.0 || args.handshake_timeout <= 0.0 {
        return Err(UsageError("--max-duration and --handshake-timeout must be above 0 s".into()).into());
    }
    init_logging(args.verbose, args.quiet, log);
    let psk = super::psk(args.psk_file.as_deref())?;
    if args.max_handshakes_per_ip == 0 || args.idle_timeout <= 0.0 || args.max_frame < 1024 {
        return Err(UsageError(
            "--max-handshakes-per-ip must be at least 1, --idle-timeout above 0 s, --max-frame at least 1K".into(),
        )
        .into());
    }
    let echo_ok = args.max_echo_rate.is_finite() && args.max_echo_rate > 0.0 && args.max_echo_duration > 0.0;
    if !echo_ok {
        return Err(UsageError("--max-echo-rate and --max-echo-duration must be above 0".into()).into());
    }
    if args.allow_relay && psk.is_none() {
        return Err(UsageError(
            "--allow-relay needs a key: give the server --psk-file FILE or set SAF_NET_PSK (relays run only for clients that prove it)"
                .into(),
        )
        .into());
    }
    let (min, max) = (crate::protocol::MIN_PROTOCOL, crate::protocol::PROTOCOL_VERSION);
    if !(min..=max).contains(&args.max_protocol) {
        return Err(UsageError(format!(
            "--max-protocol {}: this saf-net speaks {min} to {max}",
            args.max_protocol
        ))
        .into());
    }
    let config = ServerConfig {
        psk,
        max_protocol: args.max_protocol,
        max_echo_sessions: args.max_echo_sessions,
        allow_relay: args.allow_relay,
        max_relays_per_minute: args.max_relays_per_minute,
        max_echo_rate: args.max_echo_rate,
        max_echo_duration: Duration::from_secs_f64(args.max_echo_duration),
        max_handshakes_per_ip: args.max_handshakes_per_ip,
        max_test_memory: args.max_test_memory,
        idle_timeout: Duration::from_secs_f64(args.idle_timeout),
        max_frame: to_u32(args.max_frame, "--max-frame")?,
        one_off: args.one_off,
        max_duration: Duration::from_secs_f64(args.max_duration),
        max_streams: args.max_streams,
        max_concurrent: args.max_concurrent,
        max_queue: args.max_queue,
        max_block: to_u32(args.max_block, "--max-block")?,
        max_window: to_u32(args.max_window, "--max-window")?,
        handshake_timeout: Duration::from_secs_f64(args.handshake_timeout),
        iperf3: !args.no_iperf3,
        iperf3_without_key: args.allow_iperf3_without_key,
        ..ServerConfig::default()
    };
    if args.iperf3_port == Some(args.port) {
        return Err(UsageError(format!(
            "--iperf3-port {} is the server's own port (-p); iperf3 clients are served there anyway",
            args.port
        ))
        .into());
    }
    let listener = listen(args.bind, args.port)?;
    let iperf3 = args.iperf3_port.map(|p| listen(args.bind, p)).transpose()?;
    listening(args.port);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let iperf3 = iperf3.map(tokio::net::TcpListener::from_std).transpose()?;
        let metrics = match args.metrics {
            Some(a) => Some(crate::exporter::bind(a, "--metrics").await?),
            None => None,
        };
        let shutdown = super::signals::stop_signals(false);
        crate::server::serve_with_metrics(listener, iperf3, metrics, config, async {
            shutdown.await;
        })
        .await?;
        anyhow::Ok(())
    })?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn the_log_filter_follows_rust_log_or_the_level() {
        let default = log_filter(None, "info");
        assert!(default.would_enable("saf_net::server", &Level::INFO));
        assert!(!default.would_enable("saf_net::server", &Level::DEBUG));
        assert!(
            !default.would_enable("tokio", &Level::INFO),
            "other crates: warnings only"
        );
        assert!(default.would_enable("tokio", &Level::WARN));

        let set = log_filter(Some("saf_net=trace,hyper=debug".into()), "info");
        assert!(set.would_enable("saf_net::engine", &Level::TRACE));
        assert!(set.would_enable("hyper", &Level::DEBUG));

        // What a plain target list cannot express falls back to the level, with a warning.
        let bad = log_filter(Some("saf_net[span{x=1}]=debug".into()), "warn");
        assert!(bad.would_enable("saf_net", &Level::WARN));
        assert!(!bad.would_enable("saf_net", &Level::INFO));
        assert!(log_filter(Some("  ".into()), "debug").would_enable("saf_net", &Level::DEBUG));
    }
}
