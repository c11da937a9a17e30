//! saf-net: network benchmarking and 10GbE tuning.
//!
//! Layout, following the data: `cli` (arguments) → `config` (validated plans, defaults) →
//! `kinds` (one folder per measurement kind: throughput, UDP, latency, MTU, validate; each a plan, a run in
//! phases, an outcome and its renderings) on top of `client` (handshake, events) / `server` (control
//! protocol in `protocol`) → `engine` (stream threads, clock) → `result` (per-direction view) → `output`
//! (one exporter per format: text, JSON, history) → `report` (PNG charts, summaries, compare; reads the
//! history back). `model` is the link-rate math. `platform` holds every OS-specific call; `cmd` glues one
//! subcommand together each (for the kinds: parse, call, print, exit code). `service` writes and controls the
//! launchd/systemd service that runs the server. `profile` reads link profiles (`profiles/*.toml`);
//! `lab` (Linux) builds emulated links in network namespaces; `tune` puts an interface and the socket
//! buffers where a profile says; `route` finds which interface the traffic to a host leaves by, and
//! whether it is the profile's. `runner` is the one way any of them runs an external command. `exporter` is
//! the HTTP endpoint Prometheus scrapes (`monitor`, `server --metrics`).

pub mod auth;
pub mod classify;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod collective;
pub mod config;
pub mod diagnose;
pub mod dropin;
pub mod engine;
pub mod exporter;
pub mod findings;
pub mod kinds;
#[cfg(target_os = "linux")]
pub mod lab;
pub mod manual;
pub mod model;
pub mod net;
pub mod output;
pub mod platform;
pub mod profile;
pub mod protocol;
pub mod report;
pub mod result;
pub mod route;
pub mod runner;
pub mod server;
pub mod service;
pub mod shell;
pub mod stats;
pub mod tune;
pub mod units;

pub use client::{Event, Observer};
pub use config::{ClientInput, ClientPlan, ServerConfig};
pub use kinds::throughput::Outcome;
pub use server::{serve, serve_ports};
