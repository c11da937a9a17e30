use clap::Parser;
use clap::error::ErrorKind;

use saf_net::cli::{Cli, Command};
use saf_net::cmd;

fn main() {
    // iperf3's command line (a link named iperf3, or `saf-net -c HOST …`): translated, run, iperf3's exit codes.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if saf_net::dropin::wanted(&argv) {
        std::process::exit(cmd::dropin(argv));
    }
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            // One line: clap's message up to its usage block, joined.
            let text = e.render().to_string();
            let msg: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            eprintln!("{} (see saf-net --help)", msg.join(" "));
            std::process::exit(2);
        }
    };
    let result = match cli.command {
        Command::Server(a) => cmd::server(a),
        Command::Client(a) => cmd::client(a),
        Command::Latency(a) => cmd::latency(a),
        Command::Mtu(a) => cmd::mtu(a),
        Command::Mesh(a) => cmd::mesh(a),
        Command::Collective(a) => cmd::collective(a),
        Command::Monitor(a) => cmd::monitor(a),
        Command::Doctor(a) => cmd::doctor(a),
        Command::Route(a) => cmd::route(a),
        Command::Facts(a) => cmd::facts(a),
        Command::Validate(a) => cmd::validate(a),
        Command::Demo(a) => cmd::demo(a),
        Command::Report(a) => cmd::report(a),
        Command::Compare(a) => cmd::compare(a),
        Command::Service(a) => cmd::service(a),
        Command::Lab(a) => cmd::lab(a),
        Command::Tune(a) => cmd::tune(a),
        Command::Completions(a) => cmd::completions(a),
        Command::Man(a) => cmd::man(a),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("{}", cmd::error_line(&e));
            let usage = e.downcast_ref::<cmd::UsageError>().is_some();
            std::process::exit(if usage { 2 } else { 1 });
        }
    }
}
