//! Socket options and kernel TCP statistics, end to end on loopback.

mod common;

use std::net::SocketAddr;

use saf_net::client::{self, Event};
use saf_net::config::{ClientInput, ServerConfig};
use saf_net::kinds::throughput::{self, Outcome};
use saf_net::output::{RunMeta, json};
use serde_json::Value;

fn input(addr: SocketAddr, f: impl FnOnce(&mut ClientInput)) -> ClientInput {
    let mut i = ClientInput::new("127.0.0.1");
    i.port = addr.port();
    i.time = Some(1.0);
    i.interval = 0.5;
    f(&mut i);
    i
}

async fn run(i: ClientInput) -> Result<Outcome, client::ClientError> {
    let plan = i.plan().expect("valid plan");
    let mut quiet = |_: Event<'_>| {};
    throughput::run(&plan, &mut quiet).await
}

fn doc(o: &Outcome) -> Value {
    let meta = RunMeta::new("127.0.0.1", o.server.port(), None, None);
    serde_json::from_str(&json::render(o, &meta)).unwrap()
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_info_fields_are_present_and_plausible() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    for reverse in [false, true] {
        let o = run(input(addr, |i| i.reverse = reverse)).await.unwrap();
        assert!(o.complete(), "{:?}", o.error);
        let d = doc(&o);
        let sender = &d["end"]["streams"][0]["sender"];
        assert!(sender["max_snd_cwnd"].as_u64().unwrap() > 0, "{sender}");
        let (min, mean, max) = (
            sender["min_rtt"].as_u64().unwrap(),
            sender["mean_rtt"].as_u64().unwrap(),
            sender["max_rtt"].as_u64().unwrap(),
        );
        assert!(
            min > 0 && min <= mean && mean <= max && max < 1_000_000,
            "rtt {min} {mean} {max}"
        );
        assert!(sender["retransmits"].as_u64().is_some());
        assert!(d["end"]["sum_sent"]["retransmits"].as_u64().is_some());
        // Receiver-view intervals carry the sender's figures, as iperf3 consumers expect.
        let s0 = &d["intervals"][0]["streams"][0];
        assert!(s0["snd_cwnd"].as_u64().unwrap() > 0, "{s0}");
        assert!(s0["rtt"].as_u64().unwrap() > 0, "{s0}");
        assert!(s0["pmtu"].as_u64().unwrap() >= 65_535, "loopback pmtu {s0}");
        let tcp = &d["saf_net"]["tcp"][0];
        assert!(tcp["snd_mss"].as_u64().unwrap() > 1000, "{tcp}");
        assert!(tcp["busy_us"].as_u64().is_some());
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_is_reported_requested_and_effective() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let o = run(input(addr, |i| {
        i.window = Some(256 * 1024);
        i.time = Some(0.3);
    }))
    .await
    .unwrap();
    assert!(o.complete(), "{:?}", o.error);
    let opts = &doc(&o)["saf_net"]["socket_options"];
    assert_eq!(opts["requested"]["window"], 256 * 1024);
    // Linux doubles SO_SNDBUF/SO_RCVBUF for its bookkeeping; both sides report what they got.
    for side in ["client", "server"] {
        assert_eq!(opts[side]["sndbuf"], 512 * 1024, "{side}: {opts}");
        assert_eq!(opts[side]["rcvbuf"], 512 * 1024, "{side}: {opts}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mss_is_clamped_and_reported() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let o = run(input(addr, |i| {
        i.mss = Some(1400);
        i.time = Some(0.3);
    }))
    .await
    .unwrap();
    assert!(o.complete(), "{:?}", o.error);
    let d = doc(&o);
    let eff = d["saf_net"]["socket_options"]["client"]["mss"].as_u64().unwrap();
    assert!((1000..=1400).contains(&eff), "effective MSS {eff}");
    assert_eq!(d["start"]["tcp_mss"].as_u64(), Some(eff));
    assert!(
        ClientInput {
            mss: Some(10),
            ..ClientInput::new("h")
        }
        .plan()
        .unwrap_err()
        .contains("-M 10")
    );
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn congestion_is_applied_read_back_and_unknown_is_refused() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let o = run(input(addr, |i| {
        i.congestion = Some("reno".into());
        i.time = Some(0.3);
    }))
    .await
    .unwrap();
    assert!(o.complete(), "{:?}", o.error);
    assert_eq!(doc(&o)["end"]["sender_tcp_congestion"], "reno");
    // Refused locally when the client sends...
    let err = input(addr, |i| i.congestion = Some("no-such-cc".into()))
        .plan()
        .unwrap_err();
    assert!(err.contains("not available") && err.contains("no-such-cc"), "{err}");
    // ...and by the server, before any data moves, when the server sends.
    let err = run(input(addr, |i| {
        i.congestion = Some("no-such-cc".into());
        i.reverse = true;
    }))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("no-such-cc"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrate_pacing_holds_within_ten_percent() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    for reverse in [false, true] {
        let o = run(input(addr, |i| {
            i.bitrate = Some(200_000_000);
            i.time = Some(2.0);
            i.reverse = reverse;
        }))
        .await
        .unwrap();
        assert!(o.complete(), "{:?}", o.error);
        let mbps = o.directions()[0].received.rate().mbps();
        assert!(
            (180.0..=220.0).contains(&mbps),
            "reverse={reverse}: {mbps} Mbit/s, want 200 ±10 %"
        );
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fq_rate_sets_the_kernel_pacing_cap() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let o = run(input(addr, |i| {
        i.fq_rate = Some(400_000_000);
        i.time = Some(1.0);
    }))
    .await
    .unwrap();
    assert!(o.complete(), "{:?}", o.error);
    let d = doc(&o);
    assert_eq!(d["saf_net"]["socket_options"]["client"]["max_pacing_rate"], 50_000_000);
    let mbps = o.directions()[0].received.rate().mbps();
    assert!(mbps <= 440.0, "kernel pacing caps goodput near 400 Mbit/s, got {mbps}");
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_rx_copy_and_affinity_still_count_every_byte() {
    let srv = common::server(ServerConfig::default()).await;
    let addr = srv.addr;
    let n = 20 * 1024 * 1024;
    for reverse in [false, true] {
        let o = run(input(addr, |i| {
            i.time = None;
            i.bytes = Some(n);
            i.reverse = reverse;
            i.skip_rx_copy = true;
            i.affinity = Some((0, Some(1)));
        }))
        .await
        .unwrap();
        assert!(o.complete(), "{:?}", o.error);
        assert_eq!(o.directions()[0].received.bytes, n, "reverse={reverse}");
        assert_eq!(doc(&o)["saf_net"]["skip_rx_copy"], true);
        assert_eq!(doc(&o)["saf_net"]["affinity"]["client_cpu"], 0);
        assert_eq!(doc(&o)["saf_net"]["affinity"]["server_cpu"], 1);
        let text = saf_net::kinds::throughput::summary(&o);
        assert!(
            text.contains("Affinity (-A): client streams on CPUs 0, 1, ... (one each); server streams on CPUs 1, 2"),
            "{text}"
        );
    }
}
