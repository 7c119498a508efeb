//! Fault mode: proves that an unexpected exception inside the RMM is reported and stops only
//! the CPU it happened on. Needs the RMM's test-only `fault-injection` build, which turns
//! `rmm_abi::rmi::fid::TEST_FAULT_INJECTION` into a load from the NS address in x1 at R-EL2 (a Granule
//! Protection Fault). `cargo xtask test` checks the RMM's report on the UART.
//!
//! CPU 1 makes the call and must never come back; CPU 0 then checks that the RMM still
//! serves RMI on its own CPU. Last, CPU 0 proves the hypervisor's own safety net: it executes
//! an undefined instruction outside any expected-fault window, which must become a FAIL line
//! for that scenario followed by the summary and power-off (xtask expects exactly that
//! failure).

use crate::gic::Cpus;
use crate::runner::{Outcome, Scenario, report};
use crate::{cpus, fail, println, rmi, runner, scenarios};
use rmm_abi::rmi::fid::TEST_FAULT_INJECTION;

/// An NS address the RMM may not read: the hypervisor's own image.
const NS_TARGET: u64 = crate::platform::IMAGE_BASE;
/// How long CPU 0 waits before concluding CPU 1 is stopped.
const WAIT_S: u64 = 1;

/// CPU 0's checks that the RMM still serves it (the first two per-CPU scenarios).
const SERVED_ON_CPU0: &[Scenario] = scenarios::EVERY_CPU.split_at(2).0;

const LAST_ON_CPU0: &[Scenario] = &[Scenario {
    name: "host_exception_becomes_fail",
    run: undefined_instruction,
}];

fn undefined_instruction() -> Outcome {
    // SAFETY: `udf` only raises an Undefined Instruction exception at NS-EL2, which the
    // hypervisor's vectors turn into this scenario's FAIL line, the summary and power-off.
    unsafe { core::arch::asm!("udf #0", options(nomem, nostack)) };
    fail!("the undefined instruction did not trap")
}

const ON_CPU1: &[Scenario] = &[Scenario {
    name: "rmm_fault_never_returns",
    run: inject,
}];

fn inject() -> Outcome {
    let out = rmi::call(u64::from(TEST_FAULT_INJECTION), &[NS_TARGET]);
    fail!(
        "the RMM returned x0={:#x} instead of stopping (is this the fault-injection build?)",
        out.0[0]
    )
}

/// Runs the fault-mode checks and powers off.
pub fn run(all: &Cpus) -> ! {
    // cpu1.warm_boot and cpu1.stopped_in_rmm, then CPU 0's lists.
    let plan = 2 + SERVED_ON_CPU0.len() + LAST_ON_CPU0.len();
    println!("PLAN {plan} tests on 2 CPUs");
    cpus::set_secondary_scenarios(ON_CPU1);
    let started = cpus::start_secondaries(all, 2);
    cpus::wait_arrivals(started);
    cpus::release();
    cpus::delay(WAIT_S);
    let outcome = if cpus::is_done(1) {
        Err(runner::Failure::new(format_args!(
            "CPU 1 came back from the faulting call"
        )))
    } else {
        Ok(())
    };
    report(1, "stopped_in_rmm", &outcome);
    // One passing line from CPU 1 would be wrong; the FAIL comes from `inject` if it returns.
    runner::run(SERVED_ON_CPU0);
    runner::run(LAST_ON_CPU0);
    runner::finish()
}
