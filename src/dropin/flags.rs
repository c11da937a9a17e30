//! iperf3 3.12's options, as its getopt_long table names them, and which of them the drop-in takes.

/// Whether an option takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    Nothing,
    Value,
    /// Only attached (`-d=2`, `--timestamps=FMT`), as getopt's optional arguments.
    Optional,
}

/// One iperf3 option; `unsupported` says why the drop-in refuses it.
#[derive(Debug, PartialEq, Eq)]
pub struct Flag {
    pub long: &'static str,
    pub short: Option<char>,
    pub takes: Takes,
    pub unsupported: Option<&'static str>,
}

const fn ok(long: &'static str, short: Option<char>, takes: Takes) -> Flag {
    Flag {
        long,
        short,
        takes,
        unsupported: None,
    }
}

const fn no(long: &'static str, short: Option<char>, takes: Takes, why: &'static str) -> Flag {
    Flag {
        long,
        short,
        takes,
        unsupported: Some(why),
    }
}

use Takes::{Nothing, Optional, Value};

/// Every option of iperf3 3.12 (`iperf3 --help`).
pub const FLAGS: &[Flag] = &[
    ok("client", Some('c'), Value),
    ok("server", Some('s'), Nothing),
    ok("port", Some('p'), Value),
    ok("interval", Some('i'), Value),
    ok("verbose", Some('V'), Nothing),
    ok("json", Some('J'), Nothing),
    ok("logfile", None, Value),
    ok("forceflush", None, Nothing),
    ok("version", Some('v'), Nothing),
    ok("help", Some('h'), Nothing),
    ok("affinity", Some('A'), Value),
    ok("bind", Some('B'), Value),
    ok("one-off", Some('1'), Nothing),
    ok("udp", Some('u'), Nothing),
    ok("connect-timeout", None, Value),
    ok("bitrate", Some('b'), Value),
    ok("bandwidth", None, Value),
    ok("fq-rate", None, Value),
    ok("time", Some('t'), Value),
    ok("bytes", Some('n'), Value),
    ok("blockcount", Some('k'), Value),
    ok("length", Some('l'), Value),
    ok("parallel", Some('P'), Value),
    ok("reverse", Some('R'), Nothing),
    ok("bidir", None, Nothing),
    ok("window", Some('w'), Value),
    ok("congestion", Some('C'), Value),
    ok("set-mss", Some('M'), Value),
    ok("version4", Some('4'), Nothing),
    ok("version6", Some('6'), Nothing),
    ok("zerocopy", Some('Z'), Nothing),
    ok("omit", Some('O'), Value),
    no("format", Some('f'), Value, "saf-net picks the unit"),
    no(
        "pidfile",
        Some('I'),
        Value,
        "run it as a service: saf-net service install",
    ),
    no("file", Some('F'), Value, "saf-net sends its own pattern"),
    no("bind-dev", None, Value, "saf-net binds no device"),
    no("timestamps", None, Optional, "saf-net prints no per-line timestamps"),
    no("rcv-timeout", None, Value, "saf-net's server has --idle-timeout"),
    no("snd-timeout", None, Value, "saf-net's stall watchdog ends a stuck test"),
    no("debug", Some('d'), Optional, "use -V"),
    no(
        "daemon",
        Some('D'),
        Nothing,
        "run the server as a service: saf-net service install",
    ),
    no(
        "server-bitrate-limit",
        None,
        Value,
        "saf-net's server limits streams, not rates",
    ),
    no("idle-timeout", None, Value, "saf-net's server never needs a restart"),
    no(
        "rsa-private-key-path",
        None,
        Value,
        "saf-net authenticates with a pre-shared key",
    ),
    no(
        "authorized-users-path",
        None,
        Value,
        "saf-net authenticates with a pre-shared key",
    ),
    no(
        "time-skew-threshold",
        None,
        Value,
        "saf-net authenticates with a pre-shared key",
    ),
    no("sctp", None, Nothing, "saf-net measures TCP and UDP"),
    no("xbind", Some('X'), Value, "saf-net measures TCP and UDP"),
    no("nstreams", None, Value, "saf-net measures TCP and UDP"),
    no("pacing-timer", None, Value, "saf-net paces by schedule"),
    no("cport", None, Value, "saf-net's client uses ephemeral ports"),
    no("no-delay", Some('N'), Nothing, "saf-net's bulk streams keep Nagle"),
    no("tos", Some('S'), Value, "saf-net sets no IP TOS"),
    no("dscp", None, Value, "saf-net sets no IP TOS"),
    no("flowlabel", Some('L'), Value, "saf-net sets no IPv6 flow label"),
    no("title", Some('T'), Value, "saf-net prints no line prefix"),
    no("extra-data", None, Value, "use saf-net client --label"),
    no(
        "get-server-output",
        None,
        Nothing,
        "saf-net's -J holds both sides' figures already",
    ),
    no(
        "udp-counters-64bit",
        None,
        Nothing,
        "saf-net's UDP counters are always 64-bit",
    ),
    no("repeating-payload", None, Nothing, "saf-net sends its own pattern"),
    no(
        "dont-fragment",
        None,
        Nothing,
        "saf-net sizes datagrams to the path MTU with don't-fragment already",
    ),
    no("username", None, Value, "saf-net authenticates with a pre-shared key"),
    no(
        "rsa-public-key-path",
        None,
        Value,
        "saf-net authenticates with a pre-shared key",
    ),
];

/// The options the drop-in takes, for `-h` and docs/iperf3.md: (short, long).
pub fn supported() -> impl Iterator<Item = &'static Flag> {
    FLAGS.iter().filter(|f| f.unsupported.is_none())
}
