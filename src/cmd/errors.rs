//! The one line a failed command prints: the error and each of its causes, once.
//!
//! The rule every error type here keeps: a cause is shown either in the error's own message or as its
//! `source()`, never both, or the line reads "X: Y: Y".

use std::error::Error;

/// `error: ` and the whole chain, joined by ": ".
pub fn error_line(e: &anyhow::Error) -> String {
    format!("error: {e:#}")
}

/// The first error in the chain whose message already contains its source's, if any.
pub fn repeated_cause(e: &(dyn Error + 'static)) -> Option<String> {
    let mut outer = e;
    while let Some(inner) = outer.source() {
        let (o, i) = (outer.to_string(), inner.to_string());
        if !i.is_empty() && o.contains(&i) {
            return Some(format!("{o:?} also returns its cause {i:?} as source()"));
        }
        outer = inner;
    }
    None
}

#[cfg(test)]
mod tests {
    use std::io::{Error as IoError, ErrorKind};
    use std::net::SocketAddr;
    use std::path::PathBuf;

    use anyhow::Context;

    use super::*;
    use crate::client::ClientError;
    use crate::net::NetError;
    use crate::output::history::HistoryError;
    use crate::protocol::FrameError;
    use crate::report::error::ReportError;
    use crate::runner::RunError;

    fn io() -> IoError {
        IoError::new(ErrorKind::PermissionDenied, "Permission denied (os error 13)")
    }

    fn server() -> SocketAddr {
        "127.0.0.1:5301".parse().unwrap()
    }

    /// One error with a cause of every library type, wrapped the way the commands wrap them.
    fn samples() -> Vec<anyhow::Error> {
        let path = PathBuf::from("/tmp/h.csv");
        let mut v: Vec<anyhow::Error> = vec![
            FrameError::from(io()).into(),
            ClientError::Control {
                server: server(),
                context: "waiting for the start",
                cause: FrameError::Closed,
            }
            .into(),
            ClientError::Control {
                server: server(),
                context: "waiting for the server's hello",
                cause: FrameError::from(io()),
            }
            .into(),
            ClientError::Data {
                server: server(),
                stream: 1,
                cause: io(),
            }
            .into(),
            ClientError::Net(NetError::Connect {
                addr: server(),
                cause: io(),
            })
            .into(),
            NetError::Resolve {
                host: "nowhere".into(),
                cause: io(),
            }
            .into(),
            anyhow::Error::from(HistoryError::Io {
                path: path.clone(),
                cause: io(),
            })
            .context("could not record the run"),
            ReportError::Read {
                path: path.clone(),
                source: io(),
            }
            .into(),
            RunError::Spawn {
                cmd: "ip link".into(),
                cause: io(),
            }
            .into(),
            crate::profile::ProfileError::Io {
                path: path.clone(),
                cause: io(),
            }
            .into(),
            crate::auth::AuthError::Read {
                path: path.clone(),
                cause: io(),
            }
            .into(),
            crate::tune::TuneError::State {
                path: path.clone(),
                cause: io(),
            }
            .into(),
        ];
        v.push(
            Err::<(), _>(io())
                .context("cannot listen on TCP port 5301")
                .unwrap_err(),
        );
        v
    }

    #[test]
    fn no_cause_is_printed_twice() {
        for e in samples() {
            let line = error_line(&e);
            assert_eq!(repeated_cause(e.as_ref()), None, "{line}");
            let parts: Vec<&str> = line.split(": ").collect();
            for pair in parts.windows(2) {
                assert_ne!(pair[0], pair[1], "a repeated segment in {line:?}");
            }
        }
    }

    #[test]
    fn every_cause_is_printed_once() {
        let e = anyhow::Error::from(HistoryError::Io {
            path: "/tmp/h.csv".into(),
            cause: io(),
        })
        .context("could not record the run");
        let line = error_line(&e);
        assert_eq!(
            line,
            "error: could not record the run: history /tmp/h.csv: Permission denied (os error 13)"
        );
        let e = anyhow::Error::from(ReportError::Read {
            path: "/tmp/h.csv".into(),
            source: io(),
        });
        assert_eq!(
            error_line(&e),
            "error: cannot read history /tmp/h.csv: Permission denied (os error 13)"
        );
    }

    #[test]
    fn a_doubled_cause_is_caught() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {source}")]
        struct Doubled {
            source: IoError,
        }
        assert!(repeated_cause(&Doubled { source: io() }).is_some());
    }
}
