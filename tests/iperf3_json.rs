//! saf-net's `-J` read by the PyPI `iperf3` package's `TestResult`, beside real iperf3's of the same mode
//! (TCP, -P 4, -R, --bidir, UDP): every attribute present with iperf3's type, figures within the runs' spread,
//! `start.timestamp.time` parsed with iperf3's strptime format. The checks are `tests/iperf3_json/check.py`.

mod common;

use std::process::Command;

use common::{BIN, free_port, isolate, logged_server, text};

/// Why the check cannot run here, if it cannot: python3, its iperf3 module or the iperf3 program missing.
fn missing() -> Option<String> {
    let python = Command::new("python3").args(["-c", "import iperf3"]).output();
    match python {
        Err(_) => return Some("python3 is not installed".into()),
        Ok(o) if !o.status.success() => {
            return Some(format!(
                "python3 cannot import iperf3 (pip install iperf3): {}",
                text(&o.stderr).trim()
            ));
        }
        Ok(_) => {}
    }
    match Command::new("iperf3").arg("--version").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("the iperf3 program is not installed".into()),
    }
}

#[test]
fn testresult_reads_saf_net_like_iperf3() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED ({why}): testresult_reads_saf_net_like_iperf3 did not run");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ours, theirs) = (free_port().to_string(), free_port().to_string());
    let mut server = Command::new(BIN);
    isolate(&mut server).args(["server", "-p", &ours]);
    let _saf_net = logged_server(server, &dir.path().join("saf-net.log"), "listening on");
    let mut iperf3 = Command::new("iperf3");
    iperf3.args(["-s", "-p", &theirs, "--forceflush"]);
    let _iperf3 = logged_server(iperf3, &dir.path().join("iperf3.log"), "listening");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/iperf3_json/check.py");
    let mut check = Command::new("python3");
    isolate(&mut check).args([
        script,
        "--saf-net",
        BIN,
        "--saf-net-port",
        &ours,
        "--iperf3-port",
        &theirs,
    ]);
    let out = check.output().unwrap();
    let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
    println!("{report}");
    assert!(out.status.success(), "check.py failed:\n{report}");
    assert!(report.contains("5 modes, 0 failures"), "{report}");
}

/// `saf-net client -J ARGS` against a saf-net server on loopback, as JSON.
fn client_json(port: &str, args: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(BIN);
    isolate(&mut cmd).args([
        "client",
        "127.0.0.1",
        "-p",
        port,
        "-J",
        "--no-history",
        "--no-mtu-check",
        "-t",
        "1",
    ]);
    let out = cmd.args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `start.timestamp.time` as iperf3's `"%a, %d %b %Y %H:%M:%S GMT"`: `Fri, 04 Dec 2026 08:30:50 GMT`.
fn iperf3_time_shape(t: &str) -> bool {
    let parts: Vec<&str> = t.split(' ').collect();
    let days = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    parts.len() == 6
        && days.contains(&parts[0])
        && parts[1].len() == 2
        && months.contains(&parts[2])
        && parts[3].len() == 4
        && parts[4].len() == 8
        && parts[4].split(':').count() == 3
        && parts[5] == "GMT"
}

#[test]
fn fields_iperf3_defines_mean_what_they_mean_in_iperf3() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let mut server = Command::new(BIN);
    isolate(&mut server).args(["server", "-p", &port]);
    let _server = logged_server(server, &dir.path().join("server.log"), "listening on");

    let d = client_json(&port, &["--bidir", "-b", "100M"]);
    let start = &d["start"];
    assert!(
        iperf3_time_shape(start["timestamp"]["time"].as_str().unwrap()),
        "{}",
        start["timestamp"]
    );
    let rfc = d["saf_net"]["time"].as_str().unwrap();
    assert!(
        rfc.len() == 20 && rfc.ends_with('Z') && rfc.as_bytes()[10] == b'T',
        "{rfc}"
    );
    assert!(start["cookie"].as_str().is_some_and(|c| c.len() == 32), "{start}");
    assert_eq!(start["target_bitrate"].as_u64(), Some(100_000_000));
    assert_eq!(start["test_start"]["target_bitrate"].as_u64(), Some(100_000_000));
    assert_eq!(start["test_start"]["tos"].as_u64(), Some(0));
    // Whole numbers iperf3 writes as integers.
    assert_eq!(start["test_start"]["omit"].as_u64(), Some(0), "{}", start["test_start"]);
    assert_eq!(
        start["test_start"]["duration"].as_u64(),
        Some(1),
        "{}",
        start["test_start"]
    );
    assert_eq!(d["end"]["sum_sent"]["start"].as_u64(), Some(0));
    // sender: whether the client sent the stream, whichever side's counts a span shows.
    let sends = |id: u64| {
        d["start"]["connected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["socket"] == id)
    };
    assert!(sends(1));
    for iv in d["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .chain(d["saf_net"]["sender_intervals"].as_array().unwrap())
    {
        assert_eq!(iv["sum"]["sender"], true, "{iv}");
        assert_eq!(iv["sum_bidir_reverse"]["sender"], false, "{iv}");
        let flags: Vec<bool> = iv["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["sender"].as_bool().unwrap())
            .collect();
        assert!(flags.contains(&true) && flags.contains(&false), "{iv}");
    }
    let end = &d["end"];
    assert_eq!(end["sum_sent"]["sender"], true);
    assert_eq!(end["sum_received"]["sender"], true);
    assert_eq!(end["sum_sent_bidir_reverse"]["sender"], false);
    assert_eq!(end["sum_received_bidir_reverse"]["sender"], false);
    for s in end["streams"].as_array().unwrap() {
        assert_eq!(s["sender"]["sender"], s["receiver"]["sender"], "{s}");
    }
    assert_eq!(d["saf_net"]["intervals_view"], "receiver");
    if cfg!(target_os = "linux") {
        let sent = d["intervals"][0]["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sender"] == true)
            .cloned();
        assert!(
            sent.unwrap()["snd_wnd"].as_u64().is_some_and(|w| w > 0),
            "{}",
            d["intervals"][0]
        );
        let ours = end["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["sender"]["sender"] == true)
            .cloned();
        assert!(
            ours.unwrap()["sender"]["max_snd_wnd"].as_u64().is_some_and(|w| w > 0),
            "{end}"
        );
    }

    let r = client_json(&port, &["-R"]);
    assert_eq!(r["intervals"][0]["sum"]["sender"], false, "-R: the client received");
    assert_eq!(r["end"]["sum_sent"]["sender"], false);

    let u = client_json(&port, &["-u", "-b", "10M"]);
    let sent = &u["end"]["sum_sent"];
    assert_eq!(
        (sent["jitter_ms"].as_u64(), sent["lost_packets"].as_u64()),
        (Some(0), Some(0)),
        "{sent}"
    );
    assert_eq!(sent["lost_percent"].as_u64(), Some(0), "{sent}");
    assert_eq!(
        (sent["sender"].as_bool(), u["end"]["sum_received"]["sender"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(
        u["start"].get("tcp_mss_default").is_none(),
        "no MSS for UDP, as iperf3: {}",
        u["start"]
    );
}
