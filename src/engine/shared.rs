//! The send pattern every sender of the process shares: one copy, warm in cache, whatever the stream count; and
//! what one test's streams hold in memory.

use std::sync::{Arc, Mutex, Weak};

use super::stream::pattern;

/// The fill pattern, at least `len` bytes, shared by every sender of the process while any of them runs.
pub(super) fn shared_pattern(len: usize) -> Arc<[u8]> {
    static CACHE: Mutex<Option<Weak<[u8]>>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = cache.as_ref().and_then(Weak::upgrade).filter(|p| p.len() >= len) {
        return p;
    }
    let p: Arc<[u8]> = pattern(len).into();
    *cache = Some(Arc::downgrade(&p));
    p
}

/// The stream buffers a test of `conns` connections with blocks of `block` bytes holds: TCP streams share one
/// pattern of a block and one receive sink per CPU (`platform::sink`) of at most 512 KiB, UDP streams hold a block
/// each.
pub fn stream_memory(tcp: bool, conns: u32, block: u32) -> u64 {
    let block = u64::from(block);
    if tcp {
        let cpus = crate::platform::cpu_count() as u64;
        let sink = block.min(super::tcp::RECEIVE_CHUNK as u64);
        u64::from(conns).min(cpus) * sink + block
    } else {
        u64::from(conns) * block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_memory_grows_with_cpus_not_streams() {
        let cpus = crate::platform::cpu_count() as u64;
        assert_eq!(stream_memory(true, 1, 1000), 2000);
        assert_eq!(stream_memory(true, 1000, 1000), (cpus.min(1000) + 1) * 1000);
        // Receivers copy at most RECEIVE_CHUNK per call, so a larger block grows the pattern only.
        let chunk = super::super::tcp::RECEIVE_CHUNK as u64;
        assert_eq!(stream_memory(true, 1000, 4 << 20), cpus.min(1000) * chunk + (4 << 20));
        assert_eq!(stream_memory(false, 1000, 1000), 1_000_000);
    }

    #[test]
    fn the_pattern_is_shared_while_in_use_and_a_prefix_of_a_longer_one() {
        let a = shared_pattern(4096);
        let b = shared_pattern(1024);
        // While `a` lives the cached pattern only grows, so a shorter request gets one at least as long.
        assert!(b.len() >= a.len(), "a shorter request reuses the longer pattern");
        // Other tests share the cache, so any of these may be longer than asked: compare the common prefix.
        let c = shared_pattern(8192);
        assert!(c.len() >= 8192);
        assert_eq!(&c[..4096], &a[..4096], "the pattern does not depend on its length");
        assert_eq!(&c[..8192], &pattern(8192)[..]);
    }
}
