// SPDX-License-Identifier: MIT OR Apache-2.0
//! CSM mode: the Confidential Shared Memory scenarios (`scenarios/csm_*.rs`,
//! `docs/testing.md`) on their own boot, so they have the machine's memory and CPUs to
//! themselves. Every secondary is started (each warm-boots the RMM), runs nothing of its own
//! and serves jobs: the read-write scenario runs the consumer's REC on CPU 1 while the
//! primary runs the provider's. The demo mode (`scenarios/demo.rs`) boots the same way, and so
//! does the message benchmark (`scenarios/msg_bench.rs`), its receiver's REC on CPU 1.

use crate::gic::Cpus;
use crate::runner::Scenario;
use crate::{cpus, println, runner};

/// Runs `lists` (the CSM scenarios, the demo, or the message benchmark: `lines` TEST lines in
/// all, on every CPU) and powers off.
pub fn run(all: &Cpus, lists: &[&'static [Scenario]], lines: usize) -> ! {
    let secondaries = all.count.saturating_sub(1);
    let plan = secondaries + lines;
    println!("PLAN {plan} tests on {} CPUs", all.count);
    cpus::set_secondary_scenarios(&[]);
    let started = cpus::start_secondaries(all, all.count);
    cpus::wait_arrivals(started);
    cpus::release();
    lists.iter().for_each(|list| runner::run(list));
    runner::finish()
}
