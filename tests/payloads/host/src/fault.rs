// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fault mode: proves that an unexpected exception inside the RMM is reported and stops only
//! the CPU it happened on. Needs the RMM's test-only `fault-injection` build, which turns
//! `rmm_abi::rmi::fid::TEST_FAULT_INJECTION` into a load from the NS address in x1 at R-EL2 (a Granule
//! Protection Fault). `cargo xtask test` checks the RMM's report on the UART.
//!
//! CPU 1 makes the call and must never come back. CPUs 2 and 3 ask the RMM (mode 3) to
//! recurse through 1 MiB of stack: each one's stack overflows into the unmapped guard hole
//! below it, which the RMM must report as `stack overflow on CPU n` before stopping that CPU,
//! without touching the stacks of the CPUs below (without the guard the recursion runs on
//! through them and the RMM's data). CPU 0 then checks that the RMM still
//! serves RMI on its own CPU, and that the RMM's fault-tolerant NS copy (mode 1 of the same
//! id) turns a Granule Protection Fault into `RMI_ERROR_INPUT` and keeps running, and that the
//! RIM the RMM computed (read with mode 2) equals the host's own software computation, and
//! that the RMM's assembly `memcpy` and `memset` give the bytes they should for every short
//! length and alignment (mode 4). Last,
//! CPU 0 proves the hypervisor's own safety net: it executes
//! an undefined instruction outside any expected-fault window, which must become a FAIL line
//! for that scenario followed by the summary and power-off (xtask expects exactly that
//! failure).

use crate::gic::Cpus;
use crate::runner::{Outcome, Scenario, report};
use crate::{cpus, ensure_eq, fail, println, rmi, runner, scenarios};
use rmm_abi::rmi::fid::TEST_FAULT_INJECTION;

/// An NS address the RMM may not read: the hypervisor's own image.
const NS_TARGET: u64 = crate::platform::IMAGE_BASE;
/// How long CPU 0 waits before concluding CPU 1 is stopped.
const WAIT_S: u64 = 1;

/// CPU 0's checks that the RMM still serves it (the first two per-CPU scenarios).
const SERVED_ON_CPU0: &[Scenario] = scenarios::RMI_BASICS.split_at(2).0;

const FIXUP_ON_CPU0: &[Scenario] = &[
    Scenario {
        name: "rmm_ns_copy_fault_becomes_error_input",
        run: ns_copy_fixup,
    },
    Scenario {
        name: "rmm_memcpy_and_memset_match_bytewise",
        run: memory_routines,
    },
];

/// Cases the RMM's check of its `memcpy` and `memset` runs (mode 4): 201 lengths, 64
/// offset pairs for the copy and 8 offsets for the fill.
const MEM_CASES: u64 = 201 * (64 + 8);

fn memory_routines() -> Outcome {
    let out = rmi::call(u64::from(TEST_FAULT_INJECTION), &[0, 4, 0, 7]).0;
    ensure_eq!(
        out,
        [0, MEM_CASES, 0, 0, 7],
        "memcpy/memset check (x1 = the cases checked, or the first wrong case)"
    );
    Ok(())
}

/// The page CPU 0 hands the RMM's NS copy: NS, then delegated, then NS again.
const COPY_PAGE: u64 = crate::platform::GRANULE_POOL + 0x40_0000;
const COPY_MARK: u64 = 0x0123_4567_89AB_CDEF;

fn ns_copy_fixup() -> Outcome {
    // SAFETY: an aligned store to an NS granule of the hypervisor's pool (MMU off).
    unsafe { core::ptr::write_volatile(COPY_PAGE as *mut u64, COPY_MARK) };
    let copy = |x4| rmi::call(u64::from(TEST_FAULT_INJECTION), &[COPY_PAGE, 1, 0, x4]).0;
    let out = copy(4);
    ensure_eq!(out, [0, COPY_MARK, 0, 0, 4], "copy of an NS page");
    let out = rmi::granule_delegate(COPY_PAGE, 0).0;
    ensure_eq!(out[0], 0, "delegate");
    let out = copy(5);
    ensure_eq!(
        out,
        [1, 0, 0, 0, 5],
        "copy of a delegated page (GPF fixed up)"
    );
    let out = rmi::granule_undelegate(COPY_PAGE, 0).0;
    ensure_eq!(out[0], 0, "undelegate");
    let out = copy(6);
    ensure_eq!(out, [0, 0, 0, 0, 6], "copy after undelegate (zeroed)");
    Ok(())
}

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

/// What CPUs 2 and 3 ask the RMM to use of their 12 KiB stacks: far more than there is.
const OVERFLOW_BYTES: u64 = 1 << 20;

const ON_SECONDARIES: &[&[Scenario]] = &[&[Scenario {
    name: "rmm_fault_never_returns",
    run: inject,
}]];

/// CPU 1: a Granule Protection Fault at R-EL2; CPUs 2 and 3: a stack overflow at R-EL2.
fn inject() -> Outcome {
    let out = match crate::regs::cpu_slot() {
        2 | 3 => rmi::call(u64::from(TEST_FAULT_INJECTION), &[0, 3, OVERFLOW_BYTES, 0]),
        _ => rmi::call(u64::from(TEST_FAULT_INJECTION), &[NS_TARGET, 0]),
    };
    fail!(
        "the RMM returned x0={:#x} x1={:#x} instead of stopping (is this the \
         fault-injection build?)",
        out.0[0],
        out.0[1]
    )
}

/// The CPUs that fault (one call each, never returning).
const FAULTING: usize = 3;

/// Runs the fault-mode checks and powers off.
pub fn run(all: &Cpus) -> ! {
    // cpu<n>.warm_boot and cpu<n>.stopped_in_rmm for CPUs 1 to 3, then CPU 0's lists.
    let plan = 2 * FAULTING
        + SERVED_ON_CPU0.len()
        + FIXUP_ON_CPU0.len()
        + scenarios::RIM_PROBE.len()
        + LAST_ON_CPU0.len();
    println!("PLAN {plan} tests on {} CPUs", FAULTING + 1);
    cpus::set_secondary_scenarios(ON_SECONDARIES);
    let started = cpus::start_secondaries(all, FAULTING + 1);
    cpus::wait_arrivals(started);
    cpus::release();
    cpus::delay(WAIT_S);
    for slot in 1..=FAULTING {
        let outcome = if cpus::is_done(slot) {
            Err(runner::Failure::new(format_args!(
                "CPU {slot} came back from the faulting call"
            )))
        } else {
            Ok(())
        };
        report(slot, "stopped_in_rmm", &outcome);
    }
    // One passing line from CPUs 1 to 3 would be wrong; the FAIL comes from `inject` if it
    // returns.
    runner::run(SERVED_ON_CPU0);
    runner::run(FIXUP_ON_CPU0);
    runner::run(scenarios::RIM_PROBE);
    runner::run(LAST_ON_CPU0);
    runner::finish()
}
