// SPDX-License-Identifier: MIT OR Apache-2.0
//! The scenarios, grouped by which CPUs run them.

mod attestation;
mod csm_accept;
mod csm_attest;
mod csm_bench;
mod csm_realm;
mod csm_scale;
mod csm_share;
mod csm_teardown;
mod demo;
mod granules;
mod isolation;
mod measured;
mod msg_bench;
mod pool;
mod realm_exec;
mod realm_interrupts;
mod realm_service;
mod realm_smp;
mod realm_vm;
mod realms;
mod rmi_basics;

use crate::runner::Scenario;

/// The RMI basics (version, features, unknown ids).
pub const RMI_BASICS: &[Scenario] = rmi_basics::SCENARIOS;

/// Run by every CPU, primary and secondaries alike, list after list.
pub const EVERY_CPU: &[&[Scenario]] = &[
    RMI_BASICS,
    granules::SCENARIOS,
    realms::EVERY_CPU,
    measured::EVERY_CPU,
];

/// The RMM's measurements against the host's own (needs the RMM's test-only RIM probe, so it
/// runs in the fault group).
pub const RIM_PROBE: &[Scenario] = measured::RIM_PROBE;

/// Number of scenarios in [`EVERY_CPU`].
pub const EVERY_CPU_COUNT: usize = count(EVERY_CPU);

/// Run by the primary CPU only, after [`EVERY_CPU`] (while the secondaries may still be
/// running theirs).
pub const PRIMARY_ONLY: &[&[Scenario]] = &[
    isolation::SCENARIOS,
    realms::SCENARIOS,
    realm_exec::SCENARIOS,
    realm_interrupts::SCENARIOS,
    attestation::SCENARIOS,
];

/// `TEST` lines the test realm adds (one per check it reports) to those of [`PRIMARY_ONLY`].
pub const REALM_CHECK_LINES: usize = realm_exec::REALM_CHECK_LINES;

/// Number of scenarios in [`PRIMARY_ONLY`].
pub const PRIMARY_ONLY_COUNT: usize = count(PRIMARY_ONLY);

/// The attestation benchmark (`cargo xtask bench`).
pub use attestation::bench as attestation_bench;
/// The CSM benchmarks (`cargo xtask bench`).
pub use csm_bench::bench as csm_bench;

/// The CSM mode's scenarios (`crate::csm`), run by the primary in this order.
pub const CSM: &[&[Scenario]] = &[
    csm_share::SCENARIOS,
    csm_teardown::SCENARIOS,
    csm_accept::SCENARIOS,
    csm_scale::SCENARIOS,
    csm_attest::SCENARIOS,
];

/// Number of scenarios in [`CSM`].
pub const CSM_COUNT: usize = count(CSM);

/// `TEST` lines the CSM scenarios add from other CPUs (the consumer of the message loop).
pub const CSM_SECONDARY_LINES: usize = 1;

/// The demo's story (`cargo xtask run`), run by the primary in the `Demo` mode.
pub const DEMO: &[&[Scenario]] = &[demo::SCENARIOS];

/// `TEST` lines of the demo: its story and the consumer's side on another CPU.
pub const DEMO_LINES: usize = count(DEMO) + demo::SECONDARY_LINES;

/// The message benchmark (mode `MsgBench`, `cargo xtask bench`), run by the primary.
pub const MSG_BENCH: &[&[Scenario]] = &[msg_bench::SCENARIOS];

/// `TEST` lines of [`MSG_BENCH`].
pub const MSG_BENCH_LINES: usize = count(MSG_BENCH);

/// Run by the primary CPU once every other CPU has finished.
pub const AFTER_ALL: &[Scenario] = granules::AFTER_ALL;

const fn count(lists: &[&[Scenario]]) -> usize {
    let mut total = 0;
    let mut i = 0;
    while i < lists.len() {
        total += lists[i].len();
        i += 1;
    }
    total
}
