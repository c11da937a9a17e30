//! The UDP datagram header shared by latency probes, MTU probes and UDP throughput.
//!
//! ```text
//! 0..4    magic "SAFN"
//! 4       kind (1 = echo probe, 2 = UDP throughput data)
//! 5..8    reserved, zero; data datagrams carry flags in 5 and the stream id in 6..8 (big-endian)
//! 8..24   the test's cookie
//! 24..32  sequence number, big-endian
//! 32..40  sender's timestamp in nanoseconds, big-endian (the sender's own clock)
//! 40..44  Fill only: the payload size the answer must have, big-endian
//! 40..    padding up to the requested size
//! ```

use super::Cookie;

pub const MAGIC: [u8; 4] = *b"SAFN";
pub const HEADER_LEN: usize = 40;
/// Largest UDP payload over IPv4.
pub const MAX_DATAGRAM: usize = 65_507;

/// What a datagram asks of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Send it back unchanged.
    Echo = 1,
    /// UDP throughput data of one stream (`-u`); see [`data_tag`].
    Data = 2,
    /// MTU probe, forward: answer with the bare 40-byte header (the request was the big one).
    Ack = 3,
    /// MTU probe, reverse: answer with a datagram of the payload size in bytes 40..44 (the answer is the big one).
    Fill = 4,
}

/// Data flag: the stream's last word; its sequence number is the count of data datagrams the stream sent.
pub const FLAG_END: u8 = 1;
/// Data flag: sent by the client from a stream's socket so the server learns where to send (`-R`, `--bidir`).
pub const FLAG_HELLO: u8 = 2;

/// The flags and stream id of a data datagram (bytes 5 and 6..8).
pub fn data_tag(buf: &[u8]) -> (u8, u32) {
    (buf[5], u32::from(u16::from_be_bytes([buf[6], buf[7]])))
}

/// Writes the flags and stream id of a data datagram after its header (stream ids fit 16 bits).
pub fn set_data_tag(buf: &mut [u8], flags: u8, stream: u32) {
    buf[5] = flags;
    buf[6..8].copy_from_slice(&(stream as u16).to_be_bytes());
}

/// Rewrites only the sequence number and timestamp of a header already in `buf`.
pub fn stamp(buf: &mut [u8], seq: u64, sent_ns: u64) {
    buf[24..32].copy_from_slice(&seq.to_be_bytes());
    buf[32..40].copy_from_slice(&sent_ns.to_be_bytes());
}

/// A parsed datagram header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub cookie: Cookie,
    pub seq: u64,
    pub sent_ns: u64,
}

impl Header {
    /// Writes the header into the front of `buf` (at least HEADER_LEN bytes).
    pub fn write(&self, buf: &mut [u8]) {
        buf[0..4].copy_from_slice(&MAGIC);
        buf[4] = self.kind as u8;
        buf[5..8].fill(0);
        buf[8..24].copy_from_slice(&self.cookie.0);
        buf[24..32].copy_from_slice(&self.seq.to_be_bytes());
        buf[32..40].copy_from_slice(&self.sent_ns.to_be_bytes());
    }

    /// Parses a header; None for anything that is not a saf-net datagram.
    pub fn read(buf: &[u8]) -> Option<Header> {
        if buf.len() < HEADER_LEN || buf[0..4] != MAGIC {
            return None;
        }
        let kind = match buf[4] {
            1 => Kind::Echo,
            2 => Kind::Data,
            3 => Kind::Ack,
            4 => Kind::Fill,
            _ => return None,
        };
        let mut cookie = [0u8; 16];
        cookie.copy_from_slice(&buf[8..24]);
        Some(Header {
            kind,
            cookie: Cookie(cookie),
            seq: u64::from_be_bytes(buf[24..32].try_into().ok()?),
            sent_ns: u64::from_be_bytes(buf[32..40].try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_garbage_is_rejected() {
        let h = Header {
            kind: Kind::Echo,
            cookie: Cookie([9; 16]),
            seq: 42,
            sent_ns: 7,
        };
        let mut buf = vec![0xffu8; 100];
        h.write(&mut buf);
        assert_eq!(Header::read(&buf), Some(h));
        assert_eq!(Header::read(&buf[..39]), None);
        buf[0] = b'X';
        assert_eq!(Header::read(&buf), None);
        let mut other = vec![0u8; 64];
        h.write(&mut other);
        other[4] = 99;
        assert_eq!(Header::read(&other), None);
    }

    #[test]
    fn data_datagrams_carry_flags_and_stream() {
        let mut buf = vec![0u8; 64];
        Header {
            kind: Kind::Data,
            cookie: Cookie([3; 16]),
            seq: 1,
            sent_ns: 2,
        }
        .write(&mut buf);
        set_data_tag(&mut buf, FLAG_END, 300);
        stamp(&mut buf, 77, 88);
        let h = Header::read(&buf).unwrap();
        assert_eq!(
            (h.kind, h.seq, h.sent_ns, h.cookie),
            (Kind::Data, 77, 88, Cookie([3; 16]))
        );
        assert_eq!(data_tag(&buf), (FLAG_END, 300));
    }
}
