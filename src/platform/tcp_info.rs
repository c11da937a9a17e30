//! Kernel TCP statistics for one socket: Linux TCP_INFO, macOS TCP_CONNECTION_INFO.

use std::os::fd::AsRawFd;

/// What the kernel says about one TCP connection, in portable units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TcpInfo {
    /// Segments retransmitted since the connection opened.
    pub total_retrans: u64,
    /// Congestion window in bytes.
    pub snd_cwnd_bytes: u64,
    /// Smoothed RTT and its variance, microseconds.
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// Path MTU the kernel uses (0 where the OS does not say).
    pub pmtu: u32,
    /// Sender maximum segment size (payload bytes per segment).
    pub snd_mss: u32,
    /// The MSS this side advertised (Linux; 0 where unknown).
    pub advmss: u32,
    /// Most recent delivery rate estimate, bits per second (0 where unknown).
    pub delivery_rate_bps: u64,
    /// Microseconds the connection had data to send, and of those, limited by the receive window or send buffer.
    pub busy_us: u64,
    pub rwnd_limited_us: u64,
    pub sndbuf_limited_us: u64,
    /// The peer's advertised receive window, bytes (0 where unknown).
    pub snd_wnd: u64,
}

/// Reads TCP_INFO; None if the socket is not TCP or the call fails.
#[cfg(target_os = "linux")]
pub fn tcp_info(sock: &impl AsRawFd) -> Option<TcpInfo> {
    let mut i: libc::tcp_info = super::rawopt::zeroed();
    super::rawopt::get(sock, libc::IPPROTO_TCP, libc::TCP_INFO, &mut i).ok()?;
    Some(TcpInfo {
        total_retrans: u64::from(i.tcpi_total_retrans),
        snd_cwnd_bytes: u64::from(i.tcpi_snd_cwnd) * u64::from(i.tcpi_snd_mss),
        rtt_us: i.tcpi_rtt,
        rttvar_us: i.tcpi_rttvar,
        pmtu: i.tcpi_pmtu,
        snd_mss: i.tcpi_snd_mss,
        advmss: i.tcpi_advmss,
        delivery_rate_bps: i.tcpi_delivery_rate.saturating_mul(8),
        busy_us: i.tcpi_busy_time,
        rwnd_limited_us: i.tcpi_rwnd_limited,
        sndbuf_limited_us: i.tcpi_sndbuf_limited,
        snd_wnd: u64::from(i.tcpi_snd_wnd),
    })
}

/// Reads TCP_CONNECTION_INFO; None if the call fails.
#[cfg(target_os = "macos")]
pub fn tcp_info(sock: &impl AsRawFd) -> Option<TcpInfo> {
    let mut i: libc::tcp_connection_info = super::rawopt::zeroed();
    super::rawopt::get(sock, libc::IPPROTO_TCP, libc::TCP_CONNECTION_INFO, &mut i).ok()?;
    let mss = i.tcpi_maxseg.max(1);
    Some(TcpInfo {
        total_retrans: i.tcpi_txretransmitbytes / u64::from(mss),
        snd_cwnd_bytes: u64::from(i.tcpi_snd_cwnd),
        rtt_us: i.tcpi_srtt.saturating_mul(1000),
        rttvar_us: i.tcpi_rttvar.saturating_mul(1000),
        pmtu: 0,
        snd_mss: i.tcpi_maxseg,
        snd_wnd: u64::from(i.tcpi_snd_wnd),
        ..TcpInfo::default()
    })
}

/// Portable fallback: no kernel statistics.
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub fn tcp_info(_sock: &impl AsRawFd) -> Option<TcpInfo> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn loopback_connection_reports_plausible_figures() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let buf = vec![1u8; 1 << 20];
        c.write_all(&buf).unwrap();
        let mut got = vec![0u8; 1 << 20];
        s.read_exact(&mut got).unwrap();
        let Some(info) = tcp_info(&c) else {
            #[cfg(any(target_os = "linux", target_os = "macos"))]
            panic!("TCP_INFO must work on this OS");
            #[cfg(not(any(target_os = "linux", target_os = "macos")))]
            return;
        };
        assert!(info.snd_mss >= 536 && info.snd_mss <= 65_535, "{info:?}");
        assert!(info.snd_cwnd_bytes >= u64::from(info.snd_mss), "{info:?}");
        assert!(info.rtt_us > 0 && info.rtt_us < 1_000_000, "{info:?}");
        #[cfg(target_os = "linux")]
        {
            assert!(info.pmtu >= 65_535, "loopback MTU: {info:?}");
            assert!(info.delivery_rate_bps > 0, "{info:?}");
            assert!(
                info.busy_us >= info.rwnd_limited_us + info.sndbuf_limited_us,
                "{info:?}"
            );
        }
        let listener_info = tcp_info(&l);
        assert!(listener_info.is_some_and(|i| i.snd_cwnd_bytes == 0 || i.total_retrans == 0));
    }
}
