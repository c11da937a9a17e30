//! Per-stream TCP statistics gathered at each interval tick from the kernel.

use crate::platform::{TcpInfo, tcp_info};
use crate::protocol::{TcpSample, TcpTotals};

/// Accumulates one sender stream's kernel figures over a test.
#[derive(Debug, Default, Clone)]
pub struct TcpTracker {
    /// Retransmits seen at the start of the current interval and of the measured period.
    at_interval: Option<u64>,
    at_measure: Option<u64>,
    last: Option<TcpInfo>,
    max_cwnd: u64,
    max_snd_wnd: u64,
    rtt_min: u32,
    rtt_max: u32,
    rtt_sum: u64,
    rtt_n: u64,
}

impl TcpTracker {
    /// Reads the kernel's figures now; None where the OS has none.
    pub fn sample(&mut self, sock: &std::net::TcpStream, measuring: bool) -> Option<TcpSample> {
        let info = tcp_info(sock)?;
        let since = self.at_interval.unwrap_or(0);
        self.at_interval = Some(info.total_retrans);
        if !measuring {
            self.at_measure = Some(info.total_retrans);
        } else if self.at_measure.is_none() {
            self.at_measure = Some(since);
        }
        if measuring {
            self.max_cwnd = self.max_cwnd.max(info.snd_cwnd_bytes);
            self.max_snd_wnd = self.max_snd_wnd.max(info.snd_wnd);
            if info.rtt_us > 0 {
                self.rtt_min = if self.rtt_n == 0 {
                    info.rtt_us
                } else {
                    self.rtt_min.min(info.rtt_us)
                };
                self.rtt_max = self.rtt_max.max(info.rtt_us);
                self.rtt_sum += u64::from(info.rtt_us);
                self.rtt_n += 1;
            }
        }
        self.last = Some(info);
        Some(TcpSample {
            retransmits: info.total_retrans.saturating_sub(since),
            snd_cwnd: info.snd_cwnd_bytes,
            rtt: info.rtt_us,
            rttvar: info.rttvar_us,
            pmtu: info.pmtu,
            snd_wnd: (info.snd_wnd > 0).then_some(info.snd_wnd),
        })
    }

    /// Totals over the measured period; None if no sample was ever taken.
    pub fn totals(&self) -> Option<TcpTotals> {
        let last = self.last?;
        Some(TcpTotals {
            retransmits: last.total_retrans.saturating_sub(self.at_measure.unwrap_or(0)),
            max_snd_cwnd: self.max_cwnd.max(last.snd_cwnd_bytes),
            max_rtt: self.rtt_max,
            min_rtt: self.rtt_min,
            mean_rtt: self.rtt_sum.checked_div(self.rtt_n).unwrap_or(0) as u32,
            snd_mss: last.snd_mss,
            pmtu: last.pmtu,
            delivery_rate: last.delivery_rate_bps,
            busy_us: last.busy_us,
            rwnd_limited_us: last.rwnd_limited_us,
            sndbuf_limited_us: last.sndbuf_limited_us,
            max_snd_wnd: Some(self.max_snd_wnd.max(last.snd_wnd)).filter(|&w| w > 0),
        })
    }
}
