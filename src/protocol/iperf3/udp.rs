//! UDP data streams: the connect handshake and the datagram header.
//!
//! A client opens a UDP stream by sending one 4-byte datagram to the server's port; the server answers with 4
//! bytes from a socket now connected to the client, and listens anew for the next stream. iperf3 writes both as a
//! native `int` (little-endian on every machine it runs on): 123456789 and 987654321 in older releases (Debian's
//! 3.12 among them), the text forms "6789"/"9876" (0x36373839 / 0x39383736) in newer ones. Servers take any 4 bytes as a connect, so the legacy value is
//! what this client sends; either reply, in either byte order, is accepted.
//!
//! ```text
//! data datagram, all fields big-endian:
//! 0..4    sender's clock, seconds
//! 4..8    sender's clock, microseconds
//! 8..12   packet number from 1 (8..16 with udp_counters_64bit)
//! ..      payload up to the block size (`len`)
//! ```

/// The connect message older iperf3 releases send, and the reply their servers send.
pub const LEGACY_CONNECT_MSG: u32 = 123_456_789;
pub const LEGACY_CONNECT_REPLY: u32 = 987_654_321;
/// The text-form values of newer iperf3: "6789" and "9876" read as integers.
pub const TEXT_CONNECT_MSG: u32 = 0x3637_3839;
pub const TEXT_CONNECT_REPLY: u32 = 0x3938_3736;

/// The bytes a client sends to open a UDP stream.
pub fn connect_msg() -> [u8; 4] {
    LEGACY_CONNECT_MSG.to_le_bytes()
}

/// The bytes a server answers with.
pub fn connect_reply() -> [u8; 4] {
    LEGACY_CONNECT_REPLY.to_le_bytes()
}

fn is_either(buf: &[u8], values: [u32; 2]) -> bool {
    let Ok(b) = <[u8; 4]>::try_from(buf) else {
        return false;
    };
    values.iter().any(|v| b == v.to_le_bytes() || b == v.to_be_bytes())
}

/// Whether a 4-byte datagram is a UDP connect message (either value, either byte order).
pub fn is_connect_msg(buf: &[u8]) -> bool {
    is_either(buf, [LEGACY_CONNECT_MSG, TEXT_CONNECT_MSG])
}

/// Whether a 4-byte datagram is the server's answer to a connect (either value, either byte order).
pub fn is_connect_reply(buf: &[u8]) -> bool {
    is_either(buf, [LEGACY_CONNECT_REPLY, TEXT_CONNECT_REPLY])
}

/// The header of an iperf3 UDP data datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpHeader {
    pub sec: u32,
    pub usec: u32,
    /// Packet number, from 1.
    pub count: u64,
}

impl UdpHeader {
    /// Header length: 12 bytes, or 16 with 64-bit counters.
    pub fn len(counters_64bit: bool) -> usize {
        if counters_64bit { 16 } else { 12 }
    }

    /// A header stamped with a time since the Unix epoch.
    pub fn at(since_epoch: std::time::Duration, count: u64) -> UdpHeader {
        UdpHeader {
            sec: since_epoch.as_secs() as u32,
            usec: since_epoch.subsec_micros(),
            count,
        }
    }

    /// Writes the header at the start of `buf`; `false` if `buf` is too short. A 32-bit counter wraps.
    pub fn write(&self, buf: &mut [u8], counters_64bit: bool) -> bool {
        if buf.len() < Self::len(counters_64bit) {
            return false;
        }
        buf[0..4].copy_from_slice(&self.sec.to_be_bytes());
        buf[4..8].copy_from_slice(&self.usec.to_be_bytes());
        if counters_64bit {
            buf[8..16].copy_from_slice(&self.count.to_be_bytes());
        } else {
            buf[8..12].copy_from_slice(&(self.count as u32).to_be_bytes());
        }
        true
    }

    /// Reads the header of a datagram; `None` if it is shorter than a header.
    pub fn read(buf: &[u8], counters_64bit: bool) -> Option<UdpHeader> {
        if buf.len() < Self::len(counters_64bit) {
            return None;
        }
        let word = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let count = if counters_64bit {
            u64::from_be_bytes(buf[8..16].try_into().expect("length checked"))
        } else {
            u64::from(word(8))
        };
        Some(UdpHeader {
            sec: word(0),
            usec: word(4),
            count,
        })
    }

    /// The send time as seconds since the epoch.
    pub fn seconds(&self) -> f64 {
        f64::from(self.sec) + f64::from(self.usec) / 1e6
    }
}
