//! The lab's processes: starting the saf-net servers (in far, or in every host of a lab built with
//! `--hosts`), and stopping whatever runs inside a lab's namespaces when it goes down. Process facts
//! come from /proc.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::LabError;
use super::parse;
use super::runner::{Cmd, Runner};
use super::state::ServerProcess;

/// Flags every server of a lab built with `--hosts` gets besides its port and the lab key.
/// `--allow-relay`: so `saf-net lab exec -- saf-net mesh …` can measure between the hosts (they share the key);
/// `--max-test-memory 1G`: so a collective of up to 512M per rank runs between them.
pub const SERVER_EXTRA_ARGS: &[&str] = &["--allow-relay", "--max-test-memory", "1G"];

/// How long the server may take to listen.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long processes get to exit after SIGTERM before SIGKILL.
pub const TERM_GRACE: Duration = Duration::from_secs(3);

/// Whether `pid` is a live (not zombie) process.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|s| s != "Z" && s != "X"),
        Err(_) => false,
    }
}

/// The start time of `pid` in clock ticks since boot.
pub fn start_ticks(pid: u32) -> Option<u64> {
    parse::start_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Whether the recorded server is still that very process.
pub fn is_same_process(s: &ServerProcess) -> bool {
    alive(s.pid) && start_ticks(s.pid) == Some(s.start_ticks)
}

/// Whether `pid`'s network namespace has a TCP socket listening on `port`.
pub fn listening(pid: u32, port: u16) -> bool {
    ["tcp", "tcp6"]
        .iter()
        .any(|f| std::fs::read_to_string(format!("/proc/{pid}/net/{f}")).is_ok_and(|t| parse::has_listener(&t, port)))
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join("; ")
}

/// `exe server -p port` in namespace `ns`; with the lab key (a lab built with `--hosts`) also
/// `--psk-file KEY` and [`SERVER_EXTRA_ARGS`].
pub fn server_cmd(ns: &str, exe: &Path, port: u16, key: Option<&Path>) -> Cmd {
    let cmd = Cmd::new("ip")
        .args(["netns", "exec", ns])
        .arg(exe.display().to_string())
        .args(["server", "-p", &port.to_string()]);
    match key {
        Some(k) => cmd
            .args(["--psk-file".to_string(), k.display().to_string()])
            .args(SERVER_EXTRA_ARGS.iter().copied()),
        None => cmd,
    }
}

/// Starts `cmd` (a [`server_cmd`] for namespace `ns`), its output appended to `log`, and waits until it
/// listens on `port`.
pub fn start_server(
    runner: &mut Runner,
    cmd: &Cmd,
    ns: &str,
    port: u16,
    log: &Path,
) -> Result<ServerProcess, LabError> {
    let pid = runner.spawn_daemon(cmd, log)?;
    let fail = |detail: String| LabError::ServerStart {
        ns: ns.to_string(),
        log: log.to_path_buf(),
        detail,
    };
    let deadline = Instant::now() + SERVER_START_TIMEOUT;
    loop {
        if listening(pid, port) {
            break;
        }
        if !alive(pid) {
            return Err(fail(format!("it exited: {}", log_tail(log))));
        }
        if Instant::now() > deadline {
            return Err(fail(format!(
                "not listening on port {port} after {} s",
                SERVER_START_TIMEOUT.as_secs()
            )));
        }
        sleep(Duration::from_millis(50));
    }
    Ok(ServerProcess {
        pid,
        start_ticks: start_ticks(pid).unwrap_or(0),
        port,
        log: log.to_path_buf(),
    })
}

/// Sends SIGTERM to every live pid, waits up to [`TERM_GRACE`], then SIGKILLs the rest.
/// Returns how many processes were signalled.
pub fn stop(runner: &mut Runner, pids: &[u32]) -> Result<usize, LabError> {
    let live: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
    if live.is_empty() {
        return Ok(0);
    }
    let signal = |runner: &mut Runner, sig: &str, pids: &[u32]| {
        // A process may exit between the check and the signal; kill then fails for it alone.
        let _ = runner.output(&Cmd::new("kill").arg(sig).args(pids.iter().map(u32::to_string)));
    };
    signal(runner, "-TERM", &live);
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline && live.iter().any(|&p| alive(p)) {
        sleep(Duration::from_millis(50));
    }
    let stubborn: Vec<u32> = live.iter().copied().filter(|&p| alive(p)).collect();
    if !stubborn.is_empty() {
        signal(runner, "-KILL", &stubborn);
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && stubborn.iter().any(|&p| alive(p)) {
            sleep(Duration::from_millis(20));
        }
    }
    Ok(live.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_with_a_start_time() {
        let me = std::process::id();
        assert!(alive(me));
        assert!(start_ticks(me).is_some());
        assert!(!alive(u32::MAX));
    }

    #[test]
    fn servers_of_a_keyed_lab_get_the_key_file_and_the_extra_flags() {
        let exe = Path::new("/opt/saf-net");
        let plain = server_cmd("safnet-x-far", exe, 5301, None).to_string();
        assert_eq!(plain, "ip netns exec safnet-x-far /opt/saf-net server -p 5301");
        let keyed = server_cmd("safnet-x-h3", exe, 5301, Some(Path::new("/run/k/psk"))).to_string();
        let mut want = "ip netns exec safnet-x-h3 /opt/saf-net server -p 5301 --psk-file /run/k/psk".to_string();
        for a in SERVER_EXTRA_ARGS {
            want += &format!(" {a}");
        }
        assert_eq!(keyed, want);
    }

    #[test]
    fn stop_terminates_a_child() {
        let mut child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id();
        let mut runner = Runner::execute();
        // The child stays a zombie until waited for, which `alive` counts as gone.
        let waiter = std::thread::spawn(move || child.wait());
        assert_eq!(stop(&mut runner, &[pid]).unwrap(), 1);
        assert!(!waiter.join().unwrap().unwrap().success());
        assert_eq!(stop(&mut runner, &[pid]).unwrap(), 0);
    }
}
