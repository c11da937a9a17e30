//! `saf-net latency` end to end against an in-process server on loopback.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use saf_net::client::Event;
use saf_net::config::{LatencyInput, ServerConfig};
use saf_net::kinds::latency::{LatencyOutcome, run as run_latency};
use saf_net::output::{Report, RunMeta, history, json};
use saf_net::protocol::LatencyMode;
use serde_json::Value;

fn input(addr: SocketAddr, mode: LatencyMode) -> LatencyInput {
    let mut i = LatencyInput::new("127.0.0.1");
    i.port = addr.port();
    i.mode = mode;
    i
}

async fn run(i: LatencyInput) -> LatencyOutcome {
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    run_latency(&plan, &mut quiet).await.expect("run starts")
}

fn sane(o: &LatencyOutcome, count: u64) {
    assert!(o.probe.error.is_none(), "{:?}", o.probe.error);
    assert_eq!(o.probe.sent, count);
    assert_eq!(o.probe.received + o.probe.lost, count);
    let s = o.probe.rtt.stats();
    assert!(s.samples > 0);
    assert!(
        s.min_us > 0.0 && s.min_us <= s.p50_us && s.p50_us <= s.p99_us && s.p99_us <= s.max_us,
        "{s:?}"
    );
    assert!(s.max_us < 1_000_000.0, "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_measures_sane_percentiles() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    for mode in [LatencyMode::Tcp, LatencyMode::Udp, LatencyMode::Connect] {
        let mut i = input(addr, mode);
        i.count = Some(100);
        i.interval = Some(0.002);
        let o = run(i).await;
        sane(&o, 100);
        assert_eq!(o.probe.lost, 0, "{mode:?} on loopback loses nothing");
        let from_schedule = o.probe.rtt_from_schedule.as_ref().expect("fixed rate").stats();
        assert!(from_schedule.p50_us >= o.probe.rtt.stats().p50_us);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_polling_probes_answer_every_probe_and_say_so() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    for (mode, interval) in [
        (LatencyMode::Tcp, 0.0),
        (LatencyMode::Udp, 0.0),
        (LatencyMode::Udp, 0.002),
    ] {
        let mut i = input(addr, mode);
        i.count = Some(200);
        i.interval = Some(interval);
        i.busy_poll_us = 300;
        let o = run(i).await;
        sane(&o, 200);
        assert_eq!(o.probe.lost, 0, "{mode:?} every {interval} s on loopback loses nothing");
        let meta = RunMeta::new("127.0.0.1", addr.port(), None, None);
        let doc: Value = serde_json::from_str(&json::render(&o, &meta)).unwrap();
        assert_eq!(doc["start"]["test_start"]["busy_poll_microseconds"], 300);
        assert!(o.text(&meta).contains("busy poll 300 µs"), "{}", o.text(&meta));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_to_back_udp_and_json_document() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let mut i = input(addr, LatencyMode::Udp);
    i.count = Some(500);
    i.interval = Some(0.0);
    i.size = 1000;
    let o = run(i).await;
    sane(&o, 500);
    assert!(o.probe.rtt_from_schedule.is_none(), "no schedule back to back");
    let meta = RunMeta::new("127.0.0.1", addr.port(), Some("lat".into()), None);
    let doc: Value = serde_json::from_str(&json::render(&o, &meta)).unwrap();
    assert_eq!(doc["end"]["sent"], 500);
    assert_eq!(doc["start"]["test_start"]["size_bytes"], 1000);
    assert!(
        doc["start"]["test_start"].get("busy_poll_microseconds").is_none(),
        "absent when sleeping"
    );
    let p50 = doc["end"]["rtt"]["p50_us"].as_f64().unwrap();
    let p99 = doc["end"]["rtt"]["p99_us"].as_f64().unwrap();
    assert!(p50 <= p99);
    let cdf = doc["end"]["histogram"].as_array().unwrap();
    assert!(!cdf.is_empty());
    assert!((cdf.last().unwrap()["cumulative"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(cdf.iter().map(|b| b["count"].as_u64().unwrap()).sum::<u64>(), 500);
    // The history row carries the percentiles; the per-run JSON carries everything.
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    history::append(&csv, &o.history_row(&meta), &json::render(&o, &meta)).unwrap();
    let rows = history::read(&csv).unwrap();
    assert_eq!(rows[0].kind.as_deref(), Some("latency"));
    assert_eq!(rows[0].detail.latency_mode.as_deref(), Some("udp"));
    assert!((rows[0].detail.rtt_p50_us.unwrap() - p50).abs() < 0.01);
    assert_eq!(rows[0].detail.lost_percent, Some(0.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_waits_in_the_same_queue_as_throughput() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let mut tput = saf_net::ClientInput::new("127.0.0.1");
    tput.port = addr.port();
    tput.time = Some(1.0);
    let plan = tput.plan().unwrap();
    let first = tokio::spawn(async move {
        let mut quiet = |_: Event<'_>| {};
        saf_net::kinds::throughput::run(&plan, &mut quiet).await.unwrap()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut i = input(addr, LatencyMode::Udp);
    i.count = Some(10);
    let plan = i.plan().unwrap();
    let mut queued = false;
    let mut obs = |e: Event<'_>| queued |= matches!(e, Event::Queued { .. });
    let o = run_latency(&plan, &mut obs).await.unwrap();
    assert!(queued, "the latency run waited for the throughput test's slot");
    sane(&o, 10);
    assert!(first.await.unwrap().complete());
}

#[tokio::test]
async fn bad_input_and_no_server() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let t = Instant::now();
    let plan = input(closed, LatencyMode::Tcp).plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    let err = run_latency(&plan, &mut quiet).await.unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3));
    let cases: Vec<(LatencyInput, &str)> = vec![
        (
            LatencyInput {
                size: 10,
                ..input(closed, LatencyMode::Udp)
            },
            "--size 10",
        ),
        (
            LatencyInput {
                size: 70_000,
                ..input(closed, LatencyMode::Udp)
            },
            "--size 70000",
        ),
        (
            LatencyInput {
                count: Some(0),
                ..input(closed, LatencyMode::Udp)
            },
            "--count 0",
        ),
        (
            LatencyInput {
                rate: Some(0.0),
                ..input(closed, LatencyMode::Udp)
            },
            "--rate 0",
        ),
        (
            LatencyInput {
                interval: Some(1.0),
                rate: Some(5.0),
                ..input(closed, LatencyMode::Udp)
            },
            "exclude",
        ),
        (
            LatencyInput {
                timeout: 0.0,
                ..input(closed, LatencyMode::Udp)
            },
            "--timeout 0",
        ),
        (
            LatencyInput {
                busy_poll_us: 100,
                ..input(closed, LatencyMode::Connect)
            },
            "--mode connect",
        ),
        (
            LatencyInput {
                busy_poll_us: 2_000_000,
                ..input(closed, LatencyMode::Udp)
            },
            "--busy-poll 2000000",
        ),
    ];
    for (i, want) in cases {
        let err = i.plan().unwrap_err();
        assert!(err.contains(want), "{err:?} should mention {want:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_latency_flag_reports_idle_and_loaded_rtt() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let mut i = saf_net::ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(1.0);
    i.latency = true;
    let plan = i.plan().unwrap();
    let mut quiet = |_: Event<'_>| {};
    let o = saf_net::kinds::throughput::run(&plan, &mut quiet).await.unwrap();
    assert!(o.complete(), "{:?}", o.error);
    let l = o.latency.as_ref().expect("--latency measured");
    assert_eq!(l.idle.sent, 100);
    assert_eq!(l.idle.lost, 0);
    assert!(l.loaded.sent >= 50, "probes ran during the 1 s test: {}", l.loaded.sent);
    assert_eq!(
        l.loaded.lost, 0,
        "the loaded probe stops while the server still answers"
    );
    let meta = RunMeta::new("127.0.0.1", addr.port(), None, None);
    let doc: Value = serde_json::from_str(&json::render(&o, &meta)).unwrap();
    let lat = &doc["saf_net"]["latency"];
    assert!(lat["idle"]["rtt"]["p50_us"].as_f64().unwrap() > 0.0);
    assert!(lat["loaded"]["rtt"]["p99_us"].as_f64().unwrap() >= lat["loaded"]["rtt"]["p50_us"].as_f64().unwrap());
    let row = o.history_row(&meta);
    assert!(row.detail.idle_rtt_p50_us.is_some() && row.detail.loaded_rtt_p99_us.is_some());
}

fn bin() -> std::process::Command {
    let mut c = common::saf_net();
    c.env_remove("SAF_NET_PROFILES").env_remove("SAF_NET_SYSFS_ROOT");
    c
}

#[test]
fn latency_and_mtu_load_their_profile_and_a_misspelt_one_is_one_line_exit_2() {
    for cmd in ["latency", "mtu"] {
        let out = bin()
            .args([cmd, "127.0.0.1", "-p", "9", "--no-history", "--profile", "10gbe-jumob"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
        assert!(
            err.contains("unknown profile '10gbe-jumob'; known profiles: 10gbe, 10gbe-jumbo, 1gbe, thunderbolt"),
            "{cmd}: {err}"
        );
        assert!(out.stdout.is_empty(), "{cmd}: nothing measured");
    }
}

#[cfg(target_os = "linux")]
/// `saf-net mtu --profile` hands the profile's line rate to the diagnosis: a link negotiated below it is `slow_link`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtu_with_a_profile_diagnoses_a_slow_link() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let sysfs = tempfile::tempdir().unwrap();
    let lo = sysfs.path().join("class/net/lo");
    std::fs::create_dir_all(&lo).unwrap();
    // The server (this process) reads the real lo; the same MTU keeps mtu_mismatch out of the way.
    let real_mtu = std::fs::read_to_string("/sys/class/net/lo/mtu").unwrap_or_else(|_| "65536".into());
    std::fs::write(lo.join("mtu"), real_mtu.trim()).unwrap();
    std::fs::write(lo.join("speed"), "1000").unwrap();
    let run = |profile: Option<&'static str>| {
        let root = sysfs.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let mut c = bin();
            c.env("SAF_NET_SYSFS_ROOT", root)
                .args(["mtu", "127.0.0.1", "-J", "--no-history", "-p"])
                .arg(addr.port().to_string());
            if let Some(p) = profile {
                c.args(["--profile", p]);
            }
            c.output().unwrap()
        })
    };
    let with = run(Some("10gbe")).await.unwrap();
    let text = String::from_utf8_lossy(&with.stdout);
    assert_eq!(
        with.status.code(),
        Some(4),
        "{text}{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(text.contains("\"slow_link\""), "{text}");
    assert!(
        text.contains("negotiated 1000 Mb/s, below the 10000 Mb/s the profile expects"),
        "{text}"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["saf_net"]["profile"], "10gbe", "{text}");

    let without = run(None).await.unwrap();
    let text = String::from_utf8_lossy(&without.stdout);
    assert!(!text.contains("slow_link"), "no profile, no expected rate: {text}");
    let fast = run(Some("1gbe")).await.unwrap();
    assert!(!String::from_utf8_lossy(&fast.stdout).contains("slow_link"));

    // Unknown speed (a link that reports -1, then one with no speed file at all) is never slow_link.
    for speed in [Some("-1"), None] {
        match speed {
            Some(s) => std::fs::write(lo.join("speed"), s).unwrap(),
            None => std::fs::remove_file(lo.join("speed")).unwrap(),
        }
        let unknown = run(Some("10gbe")).await.unwrap();
        let text = String::from_utf8_lossy(&unknown.stdout);
        assert!(!text.contains("slow_link"), "speed {speed:?}: {text}");
        assert_eq!(unknown.status.code(), Some(0), "speed {speed:?}: {text}");
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["saf_net"]["profile"], "10gbe", "{text}");
    }
}
