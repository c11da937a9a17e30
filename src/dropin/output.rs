//! Where the drop-in's output goes (stdout, or `--logfile` appended, flushed per line with `--forceflush`) and
//! the live printer that shows a test's events there as iperf3's client does.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::client::{Event, Observer};
use crate::kinds::throughput::iperf3_text;
use crate::output::text::Live;
use crate::protocol::TestRequest;

/// The drop-in's output: stdout or the log file; cloned handles share it.
#[derive(Clone)]
pub struct Sink {
    out: Arc<Mutex<Box<dyn Write + Send>>>,
    flush_each: bool,
}

impl Sink {
    /// Stdout, or `logfile` opened for appending (created if missing).
    pub fn open(logfile: Option<&str>, forceflush: bool) -> std::io::Result<Sink> {
        let (out, flush_each): (Box<dyn Write + Send>, bool) = match logfile {
            Some(path) => {
                let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
                (Box::new(std::io::BufWriter::new(file)), forceflush)
            }
            // Stdout flushes by line anyway; --forceflush also flushes when it is a pipe.
            None => (Box::new(std::io::stdout()), true),
        };
        Ok(Sink {
            out: Arc::new(Mutex::new(out)),
            flush_each,
        })
    }

    /// Writes `text`; a closed output is no reason to stop a test, so errors are dropped.
    pub fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = out.write_all(text.as_bytes());
        if self.flush_each {
            let _ = out.flush();
        }
    }

    /// The same output, flushed after every write (a server's log lines must be seen as they happen).
    pub fn flushing(&self) -> Sink {
        Sink {
            flush_each: true,
            ..self.clone()
        }
    }

    pub fn flush(&self) {
        let _ = self.out.lock().unwrap_or_else(|p| p.into_inner()).flush();
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Sink::write(self, &String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Sink::flush(self);
        Ok(())
    }
}

/// Shows a test's events as iperf3's client does: connect lines, then this side's intervals.
pub struct Printer {
    sink: Sink,
    request: TestRequest,
    host: String,
    port: u16,
    verbose: bool,
    intervals: bool,
}

impl Printer {
    pub fn new(sink: Sink, request: &TestRequest, host: &str, port: u16, verbose: bool) -> Printer {
        Printer {
            sink,
            request: request.clone(),
            host: host.to_string(),
            port,
            verbose,
            intervals: request.interval_seconds > 0.0,
        }
    }

    /// `-V`'s lines before connecting, as iperf3 words them.
    fn verbose_start(&self) -> String {
        let now = crate::output::json::iperf3_time(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        format!(
            "saf-net {} (iperf3 drop-in)\n{} {}\nTime: {now}\n",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS,
            std::env::consts::ARCH
        )
    }
}

impl Observer for Printer {
    fn on(&mut self, event: Event<'_>) {
        match event {
            Event::Connected { .. } => {
                if self.verbose {
                    self.sink.write(&self.verbose_start());
                }
                self.sink
                    .write(&iperf3_text::connecting(&self.host, self.port, &self.request));
            }
            Event::Started { streams } => {
                self.sink.write(&iperf3_text::connected(streams));
                if self.verbose {
                    self.sink.write(&iperf3_text::starting(&self.request));
                }
                if self.intervals {
                    self.sink.write(&iperf3_text::interval_header(&self.request));
                }
            }
            // This side's own counts, as iperf3's client shows them.
            Event::Interval { local: true, report } if self.intervals => {
                self.sink.write(&iperf3_text::interval(&self.request, report));
            }
            _ => {}
        }
    }
}

impl Live for Printer {
    fn finish(&mut self) {
        self.sink.flush();
    }
}
