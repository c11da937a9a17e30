//! The zero-copy and fewer-copy data paths of issue #21 on one TCP stream over 127.0.0.1, sender and receiver
//! threads in this process: plain `write()`, `sendfile` and `splice` from a memfd, `vmsplice`, `MSG_ZEROCOPY`;
//! on the receive side `read()`, `TCP_ZEROCOPY_RECEIVE` (mmap of the socket) and `MSG_TRUNC` discard; and a
//! memcpy row for the limit. Per variant: median receiver goodput, min–max, and the whole process's CPU-seconds
//! per GB received (both sides: both threads are in the process). Variants run interleaved, round by round.
//! Run: `cargo bench --bench data_paths -- [--time S] [--rounds N] [--only TEXT]`.

#[cfg(target_os = "linux")]
#[path = "data_paths/recv.rs"]
mod recv;
#[cfg(target_os = "linux")]
#[path = "data_paths/send.rs"]
mod send;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("linux only");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use socket2::{Domain, Protocol, Socket, Type};

    use crate::recv::{self, Sink, SinkNotes};
    use crate::send::{self, Source, SourceNotes};

    /// TCP_MAXSEG of tcp_mmap.c on loopback: 4096 bytes of payload + 12 of timestamp option, whole pages per segment.
    const PAGE_MSS: u32 = 4096 + 12;

    /// One row: how the sender sends, how the receiver receives, and an optional TCP_MAXSEG on both ends.
    struct Variant {
        name: String,
        source: Source,
        sink: Sink,
        mss: Option<u32>,
    }

    /// One round of one variant: what the receiver got in its window, and what both sides noted.
    struct Sample {
        bytes: u64,
        secs: f64,
        cpu: f64,
        tx: SourceNotes,
        rx: SinkNotes,
    }

    struct Args {
        time: Duration,
        rounds: usize,
        only: Option<String>,
    }

    fn args() -> Args {
        let mut a = Args {
            time: Duration::from_secs(3),
            rounds: 3,
            only: None,
        };
        let mut it = std::env::args().skip(1);
        // cargo bench appends --bench; anything unknown is ignored.
        for _ in 0..64 {
            let Some(flag) = it.next() else { break };
            match flag.as_str() {
                "--time" => a.time = Duration::from_secs_f64(it.next().and_then(|v| v.parse().ok()).unwrap_or(3.0)),
                "--rounds" => a.rounds = it.next().and_then(|v| v.parse().ok()).unwrap_or(3).max(1),
                "--only" => a.only = it.next(),
                _ => {}
            }
        }
        a
    }

    fn variants() -> Vec<Variant> {
        const M: usize = 1 << 20;
        let v = |name: &str, source, sink, mss| Variant {
            name: name.to_string(),
            source,
            sink,
            mss,
        };
        vec![
            v("write 512K -> read", Source::Write(M / 2), Sink::Read, None),
            v("write 1M -> read", Source::Write(M), Sink::Read, None),
            v("sendfile memfd 1M -> read", Source::Sendfile(M), Sink::Read, None),
            v("sendfile memfd 4M -> read", Source::Sendfile(4 * M), Sink::Read, None),
            v("splice memfd 1M -> read", Source::Splice(M), Sink::Read, None),
            v("vmsplice 1M -> read", Source::Vmsplice(M), Sink::Read, None),
            v("MSG_ZEROCOPY 1M -> read", Source::Zerocopy(M), Sink::Read, None),
            v("write 1M -> zc-rx", Source::Write(M), Sink::ZcMap, None),
            v("sendfile memfd 4M -> zc-rx", Source::Sendfile(4 * M), Sink::ZcMap, None),
            v(
                "write 1M -> read, mss 4096",
                Source::Write(M),
                Sink::Read,
                Some(PAGE_MSS),
            ),
            v(
                "write 1M -> zc-rx, mss 4096",
                Source::Write(M),
                Sink::ZcMap,
                Some(PAGE_MSS),
            ),
            v(
                "sendfile 4M -> zc-rx, mss 4096",
                Source::Sendfile(4 * M),
                Sink::ZcMap,
                Some(PAGE_MSS),
            ),
            v(
                "MSG_ZEROCOPY 1M -> zc-rx, mss 4096",
                Source::Zerocopy(M),
                Sink::ZcMap,
                Some(PAGE_MSS),
            ),
            v("write 1M -> MSG_TRUNC", Source::Write(M), Sink::Trunc, None),
            v(
                "sendfile memfd 4M -> MSG_TRUNC",
                Source::Sendfile(4 * M),
                Sink::Trunc,
                None,
            ),
        ]
    }

    /// A connected pair on 127.0.0.1 (listener on port 0): (sender's socket, receiver's socket).
    fn connect(mss: Option<u32>) -> std::io::Result<(Socket, Socket)> {
        let new = || Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP));
        let listener = new()?;
        let client = new()?;
        if let Some(m) = mss {
            listener.set_tcp_mss(m)?;
            client.set_tcp_mss(m)?;
        }
        listener.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())?;
        listener.listen(1)?;
        client.connect(&listener.local_addr()?)?;
        let (server, _) = listener.accept()?;
        Ok((client, server))
    }

    /// Runs one round of `v` for `time`: the sender on its own thread, the receiver on this one.
    fn round(v: &Variant, time: Duration) -> Result<Sample, String> {
        let (tx_sock, rx_sock) = connect(v.mss).map_err(|e| format!("connect: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let barrier = Arc::new(Barrier::new(2));
        let (source, st, bt) = (v.source, Arc::clone(&stop), Arc::clone(&barrier));
        let sender = std::thread::spawn(move || send::run(tx_sock, source, &st, &bt));
        let rx = recv::run(rx_sock, v.sink, time, &stop, &barrier);
        let tx = sender.join().map_err(|_| "sender panicked".to_string())?;
        let (tx, rx) = (tx?, rx?);
        Ok(Sample {
            bytes: rx.bytes,
            secs: rx.secs,
            cpu: rx.cpu,
            tx,
            rx: rx.notes,
        })
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    /// One line per variant: median Gbit/s, min–max, median CPU-s per GB, and its notes.
    fn report(v: &Variant, results: &[Result<Sample, String>]) {
        let good: Vec<&Sample> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        let first_err = results.iter().find_map(|r| r.as_ref().err());
        if good.is_empty() {
            println!(
                "{:<36} error: {}",
                v.name,
                first_err.map_or("no rounds", |e| e.as_str())
            );
            return;
        }
        let gbps: Vec<f64> = good.iter().map(|s| s.bytes as f64 * 8.0 / s.secs / 1e9).collect();
        let (lo, hi) = gbps.iter().fold((f64::MAX, 0.0f64), |(l, h), &g| (l.min(g), h.max(g)));
        let cpu = median(good.iter().map(|s| s.cpu / (s.bytes.max(1) as f64 / 1e9)).collect());
        let mut notes = String::new();
        let tx = good.iter().fold(SourceNotes::default(), |a, s| a.add(&s.tx));
        let rx = good.iter().fold(SinkNotes::default(), |a, s| a.add(&s.rx));
        notes.push_str(&tx.describe());
        notes.push_str(&rx.describe());
        if let Some(e) = first_err {
            notes.push_str(&format!(
                " [{}/{} rounds failed: {e}]",
                results.len() - good.len(),
                results.len()
            ));
        }
        let range = format!("{lo:.2}-{hi:.2}");
        println!(
            "{:<36} {:>7.2} {:>13} {:>8.3} {}",
            v.name,
            median(gbps),
            range,
            cpu,
            notes.trim()
        );
    }

    /// GB/s of a single-thread copy of `len` bytes, median of `rounds` rounds of at least 1 GiB each.
    fn memcpy_rate(len: usize, rounds: usize) -> f64 {
        let (src, mut dst) = (vec![7u8; len], vec![0u8; len]);
        let reps = ((1usize << 30) / len).max(1);
        let rates = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..reps {
                    std::hint::black_box(&mut dst).copy_from_slice(std::hint::black_box(&src));
                }
                (len * reps) as f64 / t.elapsed().as_secs_f64().max(1e-9) / 1e9
            })
            .collect();
        median(rates)
    }

    pub fn main() {
        let a = args();
        let list: Vec<Variant> = variants()
            .into_iter()
            .filter(|v| a.only.as_ref().is_none_or(|o| v.name.contains(o.as_str())))
            .collect();
        println!(
            "data paths: one TCP stream on 127.0.0.1, {} interleaved rounds x {:.1} s per variant",
            a.rounds,
            a.time.as_secs_f64()
        );
        let mut results: Vec<Vec<Result<Sample, String>>> = list.iter().map(|_| Vec::new()).collect();
        for r in 0..a.rounds {
            for (v, out) in list.iter().zip(results.iter_mut()) {
                out.push(round(v, a.time));
            }
            eprintln!("round {} of {} done", r + 1, a.rounds);
        }
        println!(
            "{:<36} {:>7} {:>13} {:>8} notes",
            "variant (sender -> receiver)", "Gbit/s", "min-max", "CPU-s/GB"
        );
        for (v, res) in list.iter().zip(&results) {
            report(v, res);
        }
        println!("zc-rx: TCP_ZEROCOPY_RECEIVE into a 1 MiB mmap of the socket, SO_RCVLOWAT 1 MiB, copybuf 64 KiB;");
        println!("  mapped bytes are not read by the receiver. mss 4096: TCP_MAXSEG 4108 on both ends (tcp_mmap.c's");
        println!("  loopback recipe: whole pages per segment). CPU-s/GB: both threads (RUSAGE_SELF) per GB received.");
        println!("memcpy, one thread (median of {} rounds of >= 1 GiB):", a.rounds);
        for len in [1usize << 20, 64 << 20] {
            let gbs = memcpy_rate(len, a.rounds);
            println!(
                "  memcpy {:>3} MiB: {gbs:>6.2} GB/s = {:>6.1} Gbit/s",
                len >> 20,
                gbs * 8.0
            );
        }
    }
}
