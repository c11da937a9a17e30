//! `saf-net validate HOST --profile PROFILE` — NOT IMPLEMENTED YET (issue 8, part 4).
//!
//! Boundary for when it lands: it runs what the profile's `[validate]` section names (throughput with 1 and N
//! streams, a latency probe, the path-MTU probe), checks each against a threshold (goodput ≥ 95 % of
//! `model::goodput_ceiling_mbps` for the profile's link, path MTU ≥ the profile's MTU, p99 RTT ≤ a limit),
//! prints PASS/FAIL per check with the measured value and the threshold, appends a `kind = validate` row to the
//! history, and exits 0 only if all pass. It needs the latency and MTU probes and the profile loader, which do
//! not exist yet. It will reuse `compare::DELIVERS_PCT` and `links::link_for_profile` (or its replacement).
