//! `saf-net demo`: a server on 127.0.0.1 in this process, a 1-stream and a 4-stream test, the baseline beside them,
//! and a report (charts, summary) of the demo's history in its folder.

use anyhow::{Context, Result};

use super::{EXIT_INCOMPLETE, EXIT_OK, ExitCode};
use crate::cli::DemoArgs;
use crate::config::{ClientInput, ServerConfig};
use crate::kinds::throughput::{self, LivePrinter};
use crate::model::{BASELINE_MBPS, tcp_goodput_ceiling_mbps};
use crate::output::text::Live;
use crate::output::{Report, RunMeta};
use crate::units::BitsPerSec;

pub fn demo(args: DemoArgs) -> Result<ExitCode> {
    let history = args.out.join("history.csv");
    // The folder takes the history and the report: checked before any test runs.
    crate::output::history::check(&history).map_err(super::history_error)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("cannot listen on 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig { log: false, ..ServerConfig::default() };
        let server = tokio::spawn(crate::server::serve(listener, config, async move {
            let _ = stop_rx.await;
        }));
        println!("saf-net demo: server and client on loopback {addr}, {} s per test\n", args.time);
        let mut rows = Vec::new();
        let mut all_complete = true;
        for streams in [1u32, 4] {
            let mut input = ClientInput::new("127.0.0.1");
            input.port = addr.port();
            input.time = Some(args.time);
            input.parallel = streams;
            let mut plan = input.plan().map_err(anyhow::Error::msg)?;
            plan.target.addr = Some(addr);
            let label = format!("demo {streams} stream{}", if streams > 1 { "s" } else { "" });
            let meta = RunMeta::new("127.0.0.1", addr.port(), Some(label.clone()), Some(crate::report::links::LOOPBACK.into()));
            let mut printer = LivePrinter::new(&plan.request, "127.0.0.1", addr.port(), true);
            let outcome = throughput::run(&plan, &mut printer).await?;
            printer.finish();
            println!("{}", outcome.text(&meta));
            super::record(Some(&history), &outcome, &meta)?;
            all_complete &= outcome.complete();
            let d = &outcome.directions()[0];
            rows.push((label, d.received.rate(), d.sent.rate()));
        }
        let _ = stop_tx.send(());
        let _ = server.await;
        println!("Summary (receiver-side goodput; loopback has no wire, so this is the hosts' copy speed)");
        println!("  {:<16} {:>14} {:>14} {:>12}", "test", "receiver", "sender", "vs 945 Mbit/s");
        println!("  {:<16} {:>14} {:>14} {:>12}", "old script, 1GbE", BitsPerSec(BASELINE_MBPS * 1e6).to_string(), "-", "1.00x");
        for (label, rx, tx) in &rows {
            println!(
                "  {label:<16} {:>14} {:>14} {:>11.1}x",
                rx.to_string(),
                tx.to_string(),
                rx.mbps() / BASELINE_MBPS
            );
        }
        println!(
            "\nWire ceilings for TCP goodput (timestamps on): 1 GbE {:.1} Mbit/s, 10 GbE {:.1} Mbit/s, 10 GbE jumbo (MTU 9000) {:.1} Mbit/s.",
            tcp_goodput_ceiling_mbps(1000.0, 1500, true),
            tcp_goodput_ceiling_mbps(10_000.0, 1500, true),
            tcp_goodput_ceiling_mbps(10_000.0, 9000, true)
        );
        println!("CPU: client and server share this one process in the demo, so both CPU figures are the whole process.");
        println!("History: {}", history.display());
        let report = crate::report::write_report(std::slice::from_ref(&history), &args.out, BASELINE_MBPS)
            .context("could not write the demo's report")?;
        for w in &report.warnings {
            eprintln!("warning: {w}");
        }
        println!("Report:  {}", args.out.join(crate::report::SUMMARY_MD).display());
        Ok(if all_complete { EXIT_OK } else { EXIT_INCOMPLETE })
    })
}
