//! The results exchange after TEST_END: our results go to the server, its results come back, then
//! DISPLAY_RESULTS and IPERF_DONE. The server's document becomes the server's side of the outcome; what it does
//! not carry (its TCP_INFO, socket options, intervals, UDP reordering) stays absent.

use super::control::Control;
use super::measure::Measured;
use crate::client::{ClientError, StreamInfo};
use crate::config::GRACE;
use crate::engine::SideRun;
use crate::protocol::iperf3::{Results, State, StreamResult, stream_id};
use crate::protocol::{CpuUsage, SideResults, StreamTotals, TestRequest, UdpCounts};
use crate::result::cpu_percent;

/// Exchanges results with the server; its document, or why there is none.
pub(super) async fn exchange(
    ctl: &mut Control,
    m: &Measured,
    req: &TestRequest,
    streams: &[StreamInfo],
) -> Result<Results, ClientError> {
    if !m.results_due {
        match ctl.next(GRACE, "waiting for EXCHANGE_RESULTS after TEST_END").await? {
            State::ExchangeResults => {}
            s => {
                return Err(ClientError::Refused {
                    server: ctl.server,
                    reason: format!("iperf3: sent {} where EXCHANGE_RESULTS was due", s.name()),
                });
            }
        }
    }
    ctl.send_json(&ours(&m.run, req, streams), "sending our results")
        .await?;
    let theirs: Results = ctl.read_json(GRACE, "reading the server's results").await?;
    ctl.expect(State::DisplayResults, "waiting for DISPLAY_RESULTS").await?;
    ctl.send(State::IperfDone).await?;
    Ok(theirs)
}

/// iperf3's id of our stream `id` (saf-net numbers from 1 in the same order).
fn iperf3_id(id: u32) -> u32 {
    stream_id(id as usize - 1)
}

/// Our side as iperf3 reports it: sent bytes (omit excluded) and retransmits of sending streams, received bytes
/// and UDP figures of receiving ones.
pub(super) fn ours(run: &SideRun, req: &TestRequest, streams: &[StreamInfo]) -> Results {
    let (total, user, system) = cpu_percent(&run.results.cpu);
    let sends = streams.iter().any(|s| s.client_sends);
    let has_retransmits = run.results.streams.iter().any(|s| s.sender && s.tcp.is_some());
    Results {
        cpu_util_total: total,
        cpu_util_user: user,
        cpu_util_system: system,
        sender_has_retransmits: match (sends, has_retransmits) {
            (false, _) => -1,
            (true, r) => i64::from(r),
        },
        congestion_used: req.congestion.clone(),
        streams: run.results.streams.iter().map(stream_line).collect(),
        ..Results::default()
    }
}

fn stream_line(s: &StreamTotals) -> StreamResult {
    let udp = s.udp.unwrap_or_default();
    StreamResult {
        id: i64::from(iperf3_id(s.stream)),
        bytes: s.bytes,
        retransmits: s.tcp.filter(|_| s.sender).map_or(-1, |t| t.retransmits as i64),
        jitter: udp.jitter_ms / 1000.0,
        errors: udp.lost as i64,
        packets: udp.packets as i64,
        start_time: Some(0.0),
        end_time: Some(s.seconds),
        ..StreamResult::default()
    }
}

/// The server's side, from its document: each of our streams' counterpart (the other role), its CPU. A stream it
/// did not report is marked with an error, not given a figure.
pub(super) fn server_side(theirs: &Results, req: &TestRequest, streams: &[StreamInfo], fallback: f64) -> SideResults {
    let udp = req.protocol == crate::protocol::Protocol::Udp;
    let totals: Vec<StreamTotals> = streams
        .iter()
        .map(|info| {
            let sender = !info.client_sends;
            match theirs.stream(iperf3_id(info.id)) {
                Some(r) => StreamTotals {
                    stream: info.id,
                    sender,
                    bytes: r.bytes,
                    seconds: r.seconds().unwrap_or(fallback),
                    bytes_total: r.bytes,
                    error: None,
                    tcp: None,
                    udp: udp.then(|| udp_counts(r, sender)),
                },
                None => StreamTotals {
                    stream: info.id,
                    sender,
                    bytes: 0,
                    seconds: 0.0,
                    bytes_total: 0,
                    error: Some(format!(
                        "the iperf3 server did not report stream {}",
                        iperf3_id(info.id)
                    )),
                    tcp: None,
                    udp: None,
                },
            }
        })
        .collect();
    let wall = totals.iter().map(|t| t.seconds).fold(0.0, f64::max).max(fallback);
    SideResults {
        complete: totals.iter().all(|t| t.error.is_none()),
        streams: totals,
        socket: None,
        cpu: CpuUsage {
            user_seconds: theirs.cpu_util_user / 100.0 * wall,
            system_seconds: theirs.cpu_util_system / 100.0 * wall,
            wall_seconds: wall,
        },
    }
}

/// A UDP stream's figures as iperf3 reports them: a receiver's packets are the highest packet number it saw and
/// its errors the gaps; iperf3 does not report reordering or duplicates to the client (0 here).
fn udp_counts(r: &StreamResult, sender: bool) -> UdpCounts {
    let packets = r.packets.max(0) as u64;
    if sender {
        return UdpCounts {
            packets,
            ..UdpCounts::default()
        };
    }
    let lost = (r.errors.max(0) as u64).min(packets);
    UdpCounts {
        packets,
        received: packets - lost,
        lost,
        out_of_order: 0,
        duplicates: 0,
        jitter_ms: r.jitter * 1000.0,
    }
}
