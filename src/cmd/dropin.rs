//! The iperf3 drop-in (`saf-net -c HOST …`, `saf-net -s`, a link named `iperf3`): iperf3's argv translated
//! ([`crate::dropin`]), parsed by clap, run as `client` or `server`, shown as iperf3 shows it; exit 0 or 1.

use std::ffi::OsString;

use anyhow::Result;
use clap::Parser;

use super::{EXIT_OK, ExitCode, UsageError};
use crate::cli::{Cli, ClientArgs, Command, ServerArgs};
use crate::dropin::output::{Printer, Sink};
use crate::dropin::{self, Options, Request};
use crate::kinds::iperf3;
use crate::kinds::throughput::{self, iperf3_text};
use crate::output::text::Live;
use crate::output::{RunMeta, json};

/// iperf3's exit code for any error (its `iperf_errexit`).
const EXIT_IPERF3_ERROR: ExitCode = 1;

/// Runs an iperf3 command line; the exit code is iperf3's.
pub fn dropin(argv: Vec<OsString>) -> ExitCode {
    let argv: Vec<String> = argv.into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
    match dropin::translate(&argv) {
        Ok(Request::Help) => {
            print!("{}", dropin::help());
            EXIT_OK
        }
        Ok(Request::Version) => {
            println!("saf-net {} (iperf3 drop-in)", env!("CARGO_PKG_VERSION"));
            EXIT_OK
        }
        Ok(Request::Run { argv, options, .. }) => run(&argv, &options),
        Err(e) => {
            eprintln!("{e}");
            EXIT_IPERF3_ERROR
        }
    }
}

/// saf-net's own argv, parsed and run; any failure is one `iperf3: error - …` line.
fn run(argv: &[String], options: &Options) -> ExitCode {
    let sink = match Sink::open(options.logfile.as_deref(), options.forceflush) {
        Ok(sink) => sink,
        Err(e) => {
            let file = options.logfile.as_deref().unwrap_or_default();
            eprintln!("iperf3: error - unable to open log file {file}: {e}");
            return EXIT_IPERF3_ERROR;
        }
    };
    let result = match Cli::try_parse_from(argv) {
        Ok(Cli {
            command: Command::Client(a),
        }) => client(a, options, &sink),
        Ok(Cli {
            command: Command::Server(a),
        }) => server(a, options, &sink),
        Ok(_) => unreachable!("the drop-in translates to client or server only"),
        Err(e) => Err(UsageError(one_line(&e.render().to_string())).into()),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            let line = super::error_line(&e);
            let line = line.strip_prefix("error: ").unwrap_or(&line);
            let kind = if e.downcast_ref::<UsageError>().is_some() {
                "parameter error"
            } else {
                "error"
            };
            let text = format!("iperf3: {kind} - {line}\n");
            if options.logfile.is_some() {
                sink.write(&text)
            } else {
                eprint!("{text}")
            }
            EXIT_IPERF3_ERROR
        }
    };
    sink.flush();
    code
}

/// clap's message up to its usage block, on one line.
fn one_line(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_string()
}

fn client(args: ClientArgs, options: &Options, sink: &Sink) -> Result<ExitCode> {
    for note in &options.notes {
        eprintln!("{note}");
    }
    let input = super::client::input(&args);
    if args.iperf3 {
        iperf3::check(&input, false).map_err(UsageError)?;
    }
    let mut plan = input.plan().map_err(UsageError)?;
    if !args.iperf3 {
        plan.target.psk = super::psk(None)?;
    }
    let port = super::client::port(&args);
    let meta = RunMeta::new(&args.host, port, None, None);
    let verbose = options.verbose;
    let mut printer = (!args.json).then(|| Printer::new(sink.clone(), &plan.request, &args.host, port, verbose));
    let outcome = super::run_shown(printer.as_mut().map(|p| p as &mut dyn Live), async |obs| {
        let stop = super::signals::stop_signals(true);
        if args.iperf3 {
            iperf3::run_until(&plan, obs, stop).await
        } else {
            throughput::run_until(&plan, obs, stop).await
        }
    })?;
    let o = match outcome {
        Ok(o) => o,
        Err(e) if args.json => {
            sink.write(&format!("{:#}\n", throughput::not_started(&e)));
            return Ok(EXIT_IPERF3_ERROR);
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        sink.write(&(json::render(&o, &meta) + "\n"));
    } else {
        sink.write(&iperf3_text::summary(&o, verbose));
    }
    Ok(if o.complete() { EXIT_OK } else { EXIT_IPERF3_ERROR })
}

fn server(args: ServerArgs, options: &Options, sink: &Sink) -> Result<ExitCode> {
    let log = options.logfile.is_some().then(|| sink.flushing());
    let banner = sink.flushing();
    let rule = "-----------------------------------------------------------";
    super::server::serve_logged(args, log, move |port| {
        banner.write(&format!("{rule}\nServer listening on {port}\n{rule}\n"));
    })
}
