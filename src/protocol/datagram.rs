//! The UDP datagram header shared by latency probes, MTU probes and UDP throughput.
//!
//! ```text
//! 0..4    magic "SAFN"
//! 4       kind (1 = echo probe)
//! 5..8    reserved, zero
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
    /// MTU probe, forward: answer with the bare 40-byte header (the request was the big one).
    Ack = 3,
    /// MTU probe, reverse: answer with a datagram of the payload size in bytes 40..44 (the answer is the big one).
    Fill = 4,
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
}
