//! The measurement kinds, one folder each: throughput (TCP), UDP throughput, latency, MTU and validate.
//!
//! Every kind has the same shape: a validated plan, a run in phases that reports to an
//! [`Observer`](crate::client::Observer), and an outcome that the exporters render. `cmd/` only parses,
//! calls the kind, prints and maps the outcome to an exit code. What the kinds share on the client (connect,
//! hello, key proof, queue, events, errors) is in [`crate::client`]; the data plane is [`crate::engine`].

pub mod collective;
pub mod doctor;
pub mod facts;
pub mod iperf3;
pub mod latency;
pub mod mesh;
pub mod monitor;
pub mod mtu;
pub mod throughput;
pub mod udp;
pub mod validate;
