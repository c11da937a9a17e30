//! Defaults in one place, and raw arguments turned into validated plans: the defaults (`defaults.rs`), checks
//! both ends make (`checks.rs`), the server's limits (`server.rs`), where a client connects (`target.rs`), a
//! throughput run (`client.rs`), a latency run (`latency.rs`).

mod checks;
mod client;
mod defaults;
mod latency;
mod server;
mod target;
#[cfg(test)]
mod tests;

pub use checks::check_congestion;
pub use client::{ClientInput, ClientPlan};
pub use defaults::*;
pub use latency::*;
pub use server::ServerConfig;
pub use target::Target;
