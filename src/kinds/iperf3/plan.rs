//! What `--iperf3` refuses: options an iperf3 server cannot honour, one clear line each (exit 2).

use crate::config::ClientInput;
use crate::protocol::Direction;
use crate::protocol::iperf3::MAX_STREAMS;

/// Checks a client's input for an iperf3 server. `psk_flag`: `--psk-file` was given.
pub fn check(input: &ClientInput, psk_flag: bool) -> Result<(), String> {
    let direction = if input.bidir {
        Direction::Bidir
    } else if input.reverse {
        Direction::Reverse
    } else {
        Direction::Forward
    };
    if psk_flag {
        return Err(
            "--psk-file with --iperf3: iperf3 servers do not know saf-net's pre-shared key; drop --psk-file".into(),
        );
    }
    if input.latency {
        return Err(
            "--latency with --iperf3: the RTT probes need a saf-net server's UDP responder; drop --latency".into(),
        );
    }
    if input.bytes.is_some() && direction != Direction::Forward {
        return Err(
            "-n with -R or --bidir and --iperf3: an iperf3 server does not stop its own sending by byte count; use -t"
                .into(),
        );
    }
    if input.skip_rx_copy && direction != Direction::Reverse {
        return Err(
            "--skip-rx-copy with --iperf3: only this client can discard in the kernel, so it needs -R (the client \
             receives); drop it or add -R"
                .into(),
        );
    }
    if input.parallel > MAX_STREAMS {
        return Err(format!(
            "-P {} with --iperf3: iperf3 servers take at most {MAX_STREAMS} streams",
            input.parallel
        ));
    }
    if input.omit.fract() != 0.0 {
        return Err(format!(
            "-O {} with --iperf3: iperf3 omits whole seconds; give -O {}",
            input.omit,
            input.omit.ceil()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(f: impl FnOnce(&mut ClientInput), psk: bool) -> String {
        let mut i = ClientInput::new("127.0.0.1");
        f(&mut i);
        check(&i, psk).unwrap_err()
    }

    #[test]
    fn plain_tests_pass() {
        let mut i = ClientInput::new("h");
        i.parallel = 4;
        i.bidir = true;
        i.omit = 2.0;
        assert_eq!(check(&i, false), Ok(()));
        i.bidir = false;
        i.reverse = true;
        i.skip_rx_copy = true;
        assert_eq!(check(&i, false), Ok(()));
    }

    #[test]
    fn what_an_iperf3_server_cannot_honour_is_refused_by_name() {
        assert!(refused(|_| {}, true).starts_with("--psk-file"));
        assert!(refused(|i| i.latency = true, false).starts_with("--latency"));
        assert!(
            refused(
                |i| {
                    i.bytes = Some(1000);
                    i.reverse = true
                },
                false
            )
            .starts_with("-n with -R")
        );
        assert!(refused(|i| i.skip_rx_copy = true, false).contains("needs -R"));
        assert!(refused(|i| i.parallel = 129, false).contains("at most 128"));
        assert!(refused(|i| i.omit = 0.5, false).contains("give -O 1"));
    }
}
