//! How a UDP stream's datagrams are laid out: saf-net's header (cookie, stream id, flags, end markers) or
//! iperf3's (the sender's wall clock and a packet number from 1, nothing else). The send and receive loops in
//! `udp.rs` are the same for both; only the header differs.

use std::time::{Duration, SystemTime};

use super::stream::pattern;
use crate::protocol::iperf3::UdpHeader;
use crate::protocol::{Cookie, DatagramKind, HEADER_LEN, Header, data_tag, set_data_tag, stamp};

/// One stream's datagram layout.
#[derive(Debug, Clone, Copy)]
pub(super) enum Framing {
    SafNet { cookie: Cookie, id: u32 },
    Iperf3 { counters_64bit: bool },
}

impl Framing {
    pub(super) fn header_len(&self) -> usize {
        match self {
            Framing::SafNet { .. } => HEADER_LEN,
            Framing::Iperf3 { counters_64bit, .. } => UdpHeader::len(*counters_64bit),
        }
    }

    /// `count` datagrams of `size` bytes back to back, with the parts of the header that never change written.
    pub(super) fn template(&self, size: usize, count: usize) -> Vec<u8> {
        let mut buf = pattern(size * count);
        if let Framing::SafNet { cookie, id } = *self {
            for slot in buf.chunks_mut(size) {
                Header {
                    kind: DatagramKind::Data,
                    cookie,
                    seq: 0,
                    sent_ns: 0,
                }
                .write(slot);
                set_data_tag(slot, 0, id);
            }
        }
        buf
    }

    /// Stamps datagram number `seq` (from 0), sent `ns` nanoseconds after the sender's start at `start`.
    pub(super) fn stamp(&self, slot: &mut [u8], seq: u64, ns: u64, start: SystemTime) {
        match *self {
            Framing::SafNet { .. } => stamp(slot, seq, ns),
            Framing::Iperf3 { counters_64bit, .. } => {
                let wall = start + Duration::from_nanos(ns);
                let since = wall.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
                UdpHeader::at(since, seq + 1).write(slot, counters_64bit);
            }
        }
    }

    /// A datagram of this stream as the meter counts it: its header and flags; None for anything else.
    pub(super) fn read(&self, d: &[u8]) -> Option<(Header, u8)> {
        match *self {
            Framing::SafNet { cookie, id } => {
                let h = Header::read(d)?;
                let (flags, stream) = data_tag(d);
                (h.kind == DatagramKind::Data && h.cookie == cookie && stream == id).then_some((h, flags))
            }
            Framing::Iperf3 { counters_64bit } => {
                let h = UdpHeader::read(d, counters_64bit).filter(|h| h.count > 0)?;
                // The sender's wall clock; jitter only needs its differences.
                let sent_ns = Duration::new(u64::from(h.sec), h.usec.min(999_999) * 1000);
                let h = Header {
                    kind: DatagramKind::Data,
                    cookie: Cookie([0; 16]),
                    seq: h.count - 1,
                    sent_ns: sent_ns.as_nanos() as u64,
                };
                Some((h, 0))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iperf3_datagrams_carry_wall_clock_and_count_from_one() {
        let f = Framing::Iperf3 { counters_64bit: false };
        assert_eq!(f.header_len(), 12);
        let mut buf = f.template(100, 2);
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        f.stamp(&mut buf[..100], 0, 1_500_000, start);
        let h = UdpHeader::read(&buf, false).unwrap();
        assert_eq!((h.sec, h.usec, h.count), (1_700_000_000, 1500, 1));
        f.stamp(&mut buf[100..], 41, 0, start);
        let (got, flags) = f.read(&buf[100..]).unwrap();
        assert_eq!((got.seq, flags), (41, 0));
        // Packet number 0 is not data; a short datagram is not a datagram.
        let mut zero = [0u8; 12];
        UdpHeader::at(Duration::ZERO, 0).write(&mut zero, false);
        assert!(f.read(&zero).is_none() && f.read(&buf[..11]).is_none());
    }

    #[test]
    fn saf_net_datagrams_keep_their_cookie_and_stream() {
        let cookie = Cookie([7; 16]);
        let f = Framing::SafNet { cookie, id: 3 };
        let mut buf = f.template(64, 1);
        f.stamp(&mut buf, 9, 5, SystemTime::now());
        let (h, _) = f.read(&buf).unwrap();
        assert_eq!((h.seq, h.sent_ns), (9, 5));
        assert!(Framing::SafNet { cookie, id: 4 }.read(&buf).is_none());
        assert!(
            Framing::SafNet {
                cookie: Cookie([8; 16]),
                id: 3
            }
            .read(&buf)
            .is_none()
        );
    }
}
