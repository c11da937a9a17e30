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
