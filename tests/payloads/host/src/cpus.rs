// SPDX-License-Identifier: MIT OR Apache-2.0
//! Bringing up the secondary CPUs and keeping the transcript clean while they boot.
//!
//! Each PSCI CPU_ON makes TF-A warm-boot our RMM on that CPU (which logs a line) before the
//! CPU reaches us. So the sequence is: start all secondaries, wait (silently) until every one
//! has arrived, report the arrivals, then release them to run their scenarios while the RMM is
//! quiet. Every wait has a deadline, so a CPU that never arrives or never finishes is a FAIL,
//! not a hang.
//!
//! A secondary that has finished its scenarios then serves jobs the primary posts to it
//! ([`post_job`]): this is how a realm's second REC runs on another physical CPU while the
//! primary runs the first.

use crate::gic::Cpus;
use crate::platform::MAX_CPUS;
use crate::runner::{Failure, Scenario, report};
use crate::{entry, regs, smc};
use core::sync::atomic::{AtomicBool, Ordering};

static ARRIVED: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
static DONE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
static RELEASED: AtomicBool = AtomicBool::new(false);

/// A job for a secondary: a function and its argument.
#[derive(Clone, Copy)]
struct Job {
    run: fn(u64),
    arg: u64,
}

/// Jobs posted to each secondary, and whether it is running one.
static JOBS: [spin::Mutex<Option<Job>>; MAX_CPUS] = [const { spin::Mutex::new(None) }; MAX_CPUS];
static BUSY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Seconds to wait for secondaries to arrive, and to finish.
const ARRIVAL_DEADLINE_S: u64 = 5;
const FINISH_DEADLINE_S: u64 = 20;

const MPIDR_AFFINITY: u64 = 0xFF_00FF_FFFF;

/// What released secondaries run (the suite's per-CPU scenarios unless changed before start).
static SECONDARY_SCENARIOS: spin::Once<&'static [&'static [Scenario]]> = spin::Once::new();

/// Chooses what secondaries run; call before starting them. Defaults to the per-CPU suite.
pub fn set_secondary_scenarios(scenarios: &'static [&'static [Scenario]]) {
    SECONDARY_SCENARIOS.call_once(|| scenarios);
}

/// What a released secondary runs, list by list.
pub fn secondary_scenarios() -> &'static [&'static [Scenario]] {
    SECONDARY_SCENARIOS.call_once(|| crate::scenarios::EVERY_CPU)
}

/// Starts up to `limit - 1` CPUs of `cpus` other than this one; slot i+1 gets the i-th other
/// CPU. Returns a bit mask of the slots that were started.
pub fn start_secondaries(cpus: &Cpus, limit: usize) -> u64 {
    let me = regs::mpidr_el1() & MPIDR_AFFINITY;
    let entry = entry::host_secondary_entry as *const () as u64;
    let mut started = 0u64;
    let others = cpus.mpidr[..cpus.count].iter().filter(|&&m| m != me);
    for (slot, &mpidr) in (1..MAX_CPUS.min(limit)).zip(others) {
        let status = smc::cpu_on(mpidr, entry, slot as u64);
        if status == 0 {
            started |= 1 << slot;
        } else {
            let reason = Failure::new(format_args!("PSCI CPU_ON({mpidr:#x}) returned {status}"));
            report(slot, "cpu_on", &Err(reason));
        }
    }
    started
}

/// Waits for the started secondaries; reports `cpu<N>.warm_boot` for each.
pub fn wait_arrivals(started: u64) {
    let arrived = wait_all(&ARRIVED, started, ARRIVAL_DEADLINE_S);
    for slot in slots(started) {
        let outcome = if arrived & (1 << slot) != 0 {
            Ok(())
        } else {
            Err(Failure::new(format_args!(
                "did not reach the hypervisor within {ARRIVAL_DEADLINE_S} s of CPU_ON"
            )))
        };
        report(slot, "warm_boot", &outcome);
    }
}

/// Lets the secondaries run their scenarios.
pub fn release() {
    RELEASED.store(true, Ordering::SeqCst);
    regs::sev();
}

/// Waits for the started secondaries to finish; reports the ones that did not.
pub fn wait_finished(started: u64) {
    let arrived = slots(started).fold(0, |m, s| {
        m | (u64::from(ARRIVED[s].load(Ordering::SeqCst)) << s)
    });
    let done = wait_all(&DONE, arrived, FINISH_DEADLINE_S);
    for slot in slots(arrived & !done) {
        let reason = Failure::new(format_args!(
            "did not finish its scenarios within {FINISH_DEADLINE_S} s"
        ));
        report(slot, "finished", &Err(reason));
    }
}

/// Called by a secondary on arrival; returns when released.
pub fn arrive_and_wait(slot: usize) {
    ARRIVED[slot].store(true, Ordering::SeqCst);
    while !RELEASED.load(Ordering::SeqCst) {
        regs::wfe();
    }
}

/// CPUs running scenarios: the primary and every secondary that arrived (stable once the
/// secondaries are released).
pub fn running() -> usize {
    1 + ARRIVED[1..]
        .iter()
        .filter(|a| a.load(Ordering::SeqCst))
        .count()
}

/// True once `slot` has called [`mark_done`].
pub fn is_done(slot: usize) -> bool {
    DONE[slot % MAX_CPUS].load(Ordering::SeqCst)
}

/// Waits `seconds` (by the generic timer).
pub fn delay(seconds: u64) {
    let deadline = regs::deadline_after(seconds);
    while regs::counter() < deadline {
        core::hint::spin_loop();
    }
}

/// Called by a secondary when it has nothing more to run.
pub fn mark_done(slot: usize) {
    DONE[slot % MAX_CPUS].store(true, Ordering::SeqCst);
    regs::sev();
}

fn slots(mask: u64) -> impl Iterator<Item = usize> {
    (0..MAX_CPUS).filter(move |s| mask & (1 << s) != 0)
}

/// Spins until every slot in `mask` has its flag set or `seconds` pass; returns the set ones.
fn wait_all(flags: &[AtomicBool; MAX_CPUS], mask: u64, seconds: u64) -> u64 {
    let deadline = regs::deadline_after(seconds);
    loop {
        let set = slots(mask).fold(0, |m, s| {
            m | (u64::from(flags[s].load(Ordering::SeqCst)) << s)
        });
        if set == mask || regs::counter() > deadline {
            return set;
        }
        core::hint::spin_loop();
    }
}

/// Waits up to `seconds` for secondary `slot` to finish its scenarios; true if it did.
pub fn wait_idle(slot: usize, seconds: u64) -> bool {
    let deadline = regs::deadline_after(seconds);
    while !is_done(slot) || BUSY[slot % MAX_CPUS].load(Ordering::SeqCst) {
        if regs::counter() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// Posts `run(arg)` to secondary `slot`, which must have finished its scenarios and hold no
/// other job; false if it cannot take it.
pub fn post_job(slot: usize, run: fn(u64), arg: u64) -> bool {
    if slot == 0 || slot >= MAX_CPUS || !is_done(slot) || BUSY[slot].load(Ordering::SeqCst) {
        return false;
    }
    let mut job = JOBS[slot].lock();
    if job.is_some() {
        return false;
    }
    *job = Some(Job { run, arg });
    BUSY[slot].store(true, Ordering::SeqCst);
    drop(job);
    regs::sev();
    true
}

/// Waits up to `seconds` for the job posted to `slot` to finish; true if it did.
pub fn wait_job(slot: usize, seconds: u64) -> bool {
    let deadline = regs::deadline_after(seconds);
    while BUSY[slot % MAX_CPUS].load(Ordering::SeqCst) {
        if regs::counter() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// A finished secondary's loop: runs the jobs posted to it, forever.
pub fn serve_jobs(slot: usize) -> ! {
    let slot = slot % MAX_CPUS;
    loop {
        let job = JOBS[slot].lock().take();
        match job {
            Some(job) => {
                (job.run)(job.arg);
                BUSY[slot].store(false, Ordering::SeqCst);
                regs::sev();
            }
            None => regs::wfe(),
        }
    }
}
