//! iperf3's command line → saf-net's own: a pure translation, parsed afterwards by clap as usual.
//!
//! Options are read the way iperf3's getopt_long reads them: in any order, short ones clustered (`-uR`) or
//! with their value attached (`-t5`, `-p5201`), long ones as `--name value`, `--name=value` or a unique
//! prefix (`--par 4`); words that are no option are ignored, as iperf3 ignores them.

use super::flags::{FLAGS, Flag, Takes};

/// Speak iperf3's wire protocol in drop-in client mode (`client --iperf3`), against iperf3 and saf-net servers alike,
/// like the iperf3 it replaces.
pub const SPEAK_IPERF3: bool = true;

/// iperf3's default port, the drop-in's default.
pub const IPERF3_PORT: u16 = 5201;
/// iperf3's default TCP block size (-l), 128 KiB.
pub const IPERF3_TCP_BLOCK: &str = "128K";
/// iperf3's UDP datagram size when -k needs one and -l gave none.
pub const IPERF3_UDP_BLOCK: u64 = 1460;

/// Which end iperf3 was asked to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Client(String),
    Server,
}

/// What the drop-in does besides saf-net's own argv: iperf3's output options.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub json: bool,
    /// -V: iperf3's more detailed output.
    pub verbose: bool,
    /// --logfile: all output goes to this file (appended), as iperf3's.
    pub logfile: Option<String>,
    /// --forceflush: flush after every line.
    pub forceflush: bool,
    /// One line each, said before the run (e.g. what -Z does here).
    pub notes: Vec<String>,
}

/// What an iperf3 command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Run saf-net with `argv` (program name first), showing it iperf3's way.
    Run {
        argv: Vec<String>,
        server: bool,
        options: Options,
    },
    /// -v
    Version,
    /// -h
    Help,
}

/// Why an iperf3 command line cannot run; `Display` is iperf3's one line (the program prints it, exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgvError {
    #[error("iperf3: parameter error - {0} is not supported by saf-net's iperf3 drop-in ({1}); see docs/iperf3.md")]
    Unsupported(String, &'static str),
    #[error("iperf3: unrecognized option '{0}' (see iperf3 -h)")]
    Unknown(String),
    #[error("iperf3: option '{0}' requires an argument")]
    Missing(String),
    #[error("iperf3: parameter error - {0}")]
    Invalid(String),
}

/// One option as given: the flag it names and its value, if it takes one.
#[derive(Debug, Clone, PartialEq)]
struct Given {
    flag: &'static Flag,
    /// How the user spelled it (`-t`, `--time`), for messages.
    spelled: String,
    value: Option<String>,
}

/// Splits `args` (without the program name) into the options iperf3 would see.
fn scan(args: &[String]) -> Result<Vec<Given>, ArgvError> {
    let mut given = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            break;
        } else if let Some(long) = arg.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let flag = long_flag(name).ok_or_else(|| ArgvError::Unknown(format!("--{name}")))?;
            let spelled = format!("--{}", flag.long);
            let value = value_of(flag, &spelled, inline, args, &mut i)?;
            given.push(Given { flag, spelled, value });
        } else if arg.len() > 1 && arg.starts_with('-') {
            scan_cluster(&arg[1..], args, &mut i, &mut given)?;
        }
    }
    Ok(given)
}

/// `-uRt5`: flags without a value, then at most one that takes the rest (or the next word) as its value.
fn scan_cluster(cluster: &str, args: &[String], i: &mut usize, given: &mut Vec<Given>) -> Result<(), ArgvError> {
    for (at, c) in cluster.char_indices() {
        let flag = FLAGS
            .iter()
            .find(|f| f.short == Some(c))
            .ok_or_else(|| ArgvError::Unknown(format!("-{c}")))?;
        let spelled = format!("-{c}");
        let rest = &cluster[at + c.len_utf8()..];
        if flag.takes == Takes::Nothing {
            given.push(Given {
                flag,
                spelled,
                value: None,
            });
            continue;
        }
        let inline = (!rest.is_empty()).then(|| rest.to_string());
        let value = value_of(flag, &spelled, inline, args, i)?;
        given.push(Given { flag, spelled, value });
        return Ok(());
    }
    Ok(())
}

/// The option's value: given inline, or (if required) the next word.
fn value_of(
    flag: &Flag,
    spelled: &str,
    inline: Option<String>,
    args: &[String],
    i: &mut usize,
) -> Result<Option<String>, ArgvError> {
    match flag.takes {
        Takes::Nothing if inline.is_some() => Err(ArgvError::Invalid(format!("{spelled} takes no value"))),
        Takes::Nothing => Ok(None),
        Takes::Optional => Ok(inline),
        Takes::Value => match inline {
            Some(v) => Ok(Some(v)),
            None if *i < args.len() => {
                *i += 1;
                Ok(Some(args[*i - 1].clone()))
            }
            None => Err(ArgvError::Missing(spelled.to_string())),
        },
    }
}

/// A long option by its name or a unique prefix of it, as getopt_long matches.
fn long_flag(name: &str) -> Option<&'static Flag> {
    let found = FLAGS.iter().find(|f| f.long == name).or_else(|| {
        let mut matches = FLAGS.iter().filter(|f| !name.is_empty() && f.long.starts_with(name));
        match (matches.next(), matches.next()) {
            (Some(one), None) => Some(one),
            _ => None,
        }
    })?;
    // --bandwidth is iperf3's old name of --bitrate.
    if found.long == "bandwidth" {
        return FLAGS.iter().find(|f| f.long == "bitrate");
    }
    Some(found)
}

/// Translates iperf3's arguments (program name first) into saf-net's own command line.
pub fn translate(argv: &[String]) -> Result<Request, ArgvError> {
    let given = scan(argv.get(1..).unwrap_or_default())?;
    if given.iter().any(|g| g.flag.long == "help") {
        return Ok(Request::Help);
    }
    if given.iter().any(|g| g.flag.long == "version") {
        return Ok(Request::Version);
    }
    if let Some(g) = given.iter().find(|g| g.flag.unsupported.is_some()) {
        return Err(ArgvError::Unsupported(
            g.spelled.clone(),
            g.flag.unsupported.unwrap_or_default(),
        ));
    }
    let role = role(&given)?;
    let mut b = Builder::new(&given, &role);
    let server = role == Role::Server;
    match role {
        Role::Client(host) => b.client(host)?,
        Role::Server => b.server()?,
    }
    Ok(Request::Run {
        server,
        argv: b.argv,
        options: b.options,
    })
}

/// -c HOST or -s, exactly one; the last -c wins, as in iperf3.
fn role(given: &[Given]) -> Result<Role, ArgvError> {
    let client = given.iter().rev().find(|g| g.flag.long == "client");
    let server = given.iter().any(|g| g.flag.long == "server");
    match (client, server) {
        (Some(_), true) => Err(ArgvError::Invalid("cannot be both server and client".into())),
        (Some(c), false) => Ok(Role::Client(c.value.clone().unwrap_or_default())),
        (None, true) => Ok(Role::Server),
        (None, false) => Err(ArgvError::Invalid("must either be a client (-c) or server (-s)".into())),
    }
}

/// Builds saf-net's argv from the options, in their order.
struct Builder<'a> {
    given: &'a [Given],
    argv: Vec<String>,
    options: Options,
}

impl<'a> Builder<'a> {
    fn new(given: &'a [Given], role: &Role) -> Self {
        let sub = if matches!(role, Role::Server) {
            "server"
        } else {
            "client"
        };
        Builder {
            given,
            argv: vec!["saf-net".into(), sub.into()],
            options: Options::default(),
        }
    }

    /// The last value of an option (iperf3 keeps the last), if given.
    fn last(&self, long: &str) -> Option<&'a Given> {
        self.given.iter().rev().find(|g| g.flag.long == long)
    }

    fn has(&self, long: &str) -> bool {
        self.last(long).is_some()
    }

    fn push(&mut self, words: &[&str]) {
        self.argv.extend(words.iter().map(|w| w.to_string()));
    }

    /// Options both ends share: port, verbose, logfile, forceflush, JSON.
    fn common(&mut self) -> Result<(), ArgvError> {
        let port = match self.last("port") {
            Some(g) => number::<u16>(g)?.to_string(),
            None => IPERF3_PORT.to_string(),
        };
        self.push(&["-p", &port]);
        self.options.verbose = self.has("verbose");
        self.options.forceflush = self.has("forceflush");
        self.options.json = self.has("json");
        self.options.logfile = self.last("logfile").and_then(|g| g.value.clone());
        Ok(())
    }

    fn server(&mut self) -> Result<(), ArgvError> {
        if let Some(g) = self.given.iter().find(|g| !SERVER_OPTIONS.contains(&g.flag.long)) {
            let why = "the drop-in server takes -p, -1, -B, -4, -6, -V, --logfile and --forceflush";
            return Err(ArgvError::Unsupported(format!("{} with -s", g.spelled), why));
        }
        self.common()?;
        if self.has("one-off") {
            self.push(&["-1"]);
        }
        let bind = self.last("bind").and_then(|g| g.value.clone());
        let family = match (self.has("version4"), self.has("version6")) {
            (true, _) => Some("0.0.0.0"),
            (_, true) => Some("::"),
            _ => None,
        };
        if let Some(addr) = bind.as_deref().or(family) {
            self.push(&["-B", addr]);
        }
        if self.options.verbose {
            self.push(&["-v"]);
        }
        Ok(())
    }

    fn client(&mut self, host: String) -> Result<(), ArgvError> {
        if let Some(g) = self.last("one-off") {
            return Err(ArgvError::Invalid(format!("{} is a server option (-s)", g.spelled)));
        }
        self.push(&[&host]);
        if let Some(addr) = self.last("bind").and_then(|g| g.value.clone()) {
            self.push(&["-B", &addr]);
        }
        self.common()?;
        self.push(&["--no-history"]);
        self.copy_values()?;
        self.copy_switches();
        self.stop_after()?;
        if let Some(g) = self.last("connect-timeout") {
            let ms: f64 = number(g)?;
            self.push(&["--connect-timeout", &format!("{}", ms / 1000.0)]);
        }
        if let Some(g) = self.last("zerocopy") {
            let note = format!(
                "iperf3: {} (zero copy) is not available here: saf-net sends from one reused buffer",
                g.spelled
            );
            self.options.notes.push(note);
        }
        if self.options.json {
            self.push(&["-J"]);
        }
        if SPEAK_IPERF3 {
            self.push(&["--iperf3"]);
        }
        Ok(())
    }

    /// Options whose value saf-net reads with the same meaning and the same flag.
    fn copy_values(&mut self) -> Result<(), ArgvError> {
        for (long, ours) in SAME_VALUE {
            if let Some(g) = self.last(long) {
                let value = g.value.clone().unwrap_or_default();
                if long == "bitrate" && value.contains('/') {
                    return Err(ArgvError::Unsupported(
                        format!("{} with /burst", g.spelled),
                        "saf-net paces evenly",
                    ));
                }
                self.push(&[ours, &value]);
            }
        }
        Ok(())
    }

    fn copy_switches(&mut self) {
        for (long, ours) in SAME_SWITCH {
            if self.has(long) {
                self.push(&[ours]);
            }
        }
    }

    /// -t, -n or -k (blocks of -l bytes), and iperf3's default block size for TCP.
    fn stop_after(&mut self) -> Result<(), ArgvError> {
        let udp = self.has("udp");
        let length = match self.last("length") {
            Some(g) => {
                Some(crate::units::parse_size(g.value.as_deref().unwrap_or_default()).map_err(|e| invalid(g, e))?)
            }
            None => None,
        };
        if length.is_none() && !udp {
            self.push(&["-l", IPERF3_TCP_BLOCK]);
        }
        if let Some(g) = self.last("blockcount") {
            let blocks = crate::units::parse_size(g.value.as_deref().unwrap_or_default()).map_err(|e| invalid(g, e))?;
            let block = length.unwrap_or(if udp { IPERF3_UDP_BLOCK } else { 128 * 1024 });
            if length.is_none() && udp {
                self.push(&["-l", &IPERF3_UDP_BLOCK.to_string()]);
            }
            self.push(&["-n", &blocks.saturating_mul(block).to_string()]);
        }
        Ok(())
    }
}

/// Client options saf-net's client takes with the same value: (iperf3's long name, saf-net's flag).
const SAME_VALUE: [(&str, &str); 12] = [
    ("time", "-t"),
    ("bytes", "-n"),
    ("length", "-l"),
    ("parallel", "-P"),
    ("interval", "-i"),
    ("bitrate", "-b"),
    ("window", "-w"),
    ("congestion", "-C"),
    ("set-mss", "-M"),
    ("omit", "-O"),
    ("fq-rate", "--fq-rate"),
    ("affinity", "-A"),
];

const SAME_SWITCH: [(&str, &str); 5] = [
    ("udp", "-u"),
    ("reverse", "-R"),
    ("bidir", "--bidir"),
    ("version4", "-4"),
    ("version6", "-6"),
];

/// Everything the drop-in server takes; anything else given with -s is named and refused.
const SERVER_OPTIONS: [&str; 9] = [
    "server",
    "port",
    "one-off",
    "bind",
    "version4",
    "version6",
    "verbose",
    "logfile",
    "forceflush",
];

fn invalid(g: &Given, e: impl std::fmt::Display) -> ArgvError {
    ArgvError::Invalid(format!("{} {}: {e}", g.spelled, g.value.as_deref().unwrap_or_default()))
}

fn number<T: std::str::FromStr>(g: &Given) -> Result<T, ArgvError> {
    let text = g.value.as_deref().unwrap_or_default();
    text.trim().parse().map_err(|_| invalid(g, "not a valid number"))
}

#[cfg(test)]
#[path = "argv_tests.rs"]
mod tests;
