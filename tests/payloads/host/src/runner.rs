// SPDX-License-Identifier: MIT OR Apache-2.0
//! The scenario runner: runs scenarios, prints one machine-readable line per scenario and the
//! final summary. Transcript grammar (parsed by `cargo xtask test`):
//!
//! ```text
//! TEST cpu<N>.<name> PASS
//! TEST cpu<N>.<name> FAIL <reason>
//! <passed> passed, <failed> failed
//! ```

use crate::console::Line;
use crate::platform::MAX_CPUS;
use crate::{println, regs, smc};
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// What a scenario returns.
pub type Outcome = Result<(), Failure>;

/// A scenario failed. The reason (one line of text) is kept in this CPU's slot of [`REASONS`]
/// rather than in the value, so `Outcome` stays one word and needs no heap.
pub struct Failure(());

/// The latest failure reason of each CPU.
static REASONS: [spin::Mutex<Line>; MAX_CPUS] = [const { spin::Mutex::new(Line::new()) }; MAX_CPUS];

impl Failure {
    /// A failure with a formatted reason, recorded for the calling CPU.
    pub fn new(args: core::fmt::Arguments<'_>) -> Self {
        let mut reason = REASONS[regs::cpu_slot() % MAX_CPUS].lock();
        *reason = Line::new();
        let _ = reason.write_fmt(args);
        Self(())
    }

    /// The same failure with `context` put in front of its reason.
    pub fn context(self, context: core::fmt::Arguments<'_>) -> Self {
        let mut reason = REASONS[regs::cpu_slot() % MAX_CPUS].lock();
        let old = core::mem::take(&mut *reason);
        let _ = reason.write_fmt(format_args!("{context}: {}", old.as_str()));
        self
    }
}

/// `first`, then `cleanup` (tearing down what a scenario built). If `first` failed, its
/// reason is the one kept (a failing cleanup is appended to it), so the cause of a failure is
/// never replaced by the consequences of cleaning up after it.
pub fn and_cleanup(first: Outcome, cleanup: impl FnOnce() -> Outcome) -> Outcome {
    let Err(failure) = first else {
        return cleanup();
    };
    let slot = regs::cpu_slot() % MAX_CPUS;
    let saved = core::mem::take(&mut *REASONS[slot].lock());
    let cleaned = cleanup();
    let mut reason = REASONS[slot].lock();
    let late = core::mem::replace(&mut *reason, saved);
    if cleaned.is_err() {
        let _ = write!(reason, " (and the cleanup failed: {})", late.as_str());
    }
    Err(failure)
}

/// Fails the current scenario with a formatted reason.
#[macro_export]
macro_rules! fail {
    ($($arg:tt)*) => { return Err($crate::runner::Failure::new(format_args!($($arg)*))) };
}

/// Fails the current scenario unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => { if !$cond { $crate::fail!($($arg)*); } };
}

/// Fails the current scenario unless `left == right`, printing both in hex.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $what:expr) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            $crate::fail!("{}: got {:#x?}, expected {:#x?}", $what, left, right);
        }
    }};
}

/// One named scenario.
pub struct Scenario {
    /// Name printed after `cpu<N>.`.
    pub name: &'static str,
    /// The scenario body.
    pub run: fn() -> Outcome,
}

static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);
static CURRENT: [AtomicPtr<Scenario>; MAX_CPUS] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_CPUS];

/// Prints and counts one result for `cpu` (a failure must have been created on this CPU).
pub fn report(cpu: usize, name: &str, outcome: &Outcome) {
    match outcome {
        Ok(()) => {
            PASSED.fetch_add(1, Ordering::SeqCst);
            println!("TEST cpu{cpu}.{name} PASS");
        }
        Err(Failure(())) => {
            FAILED.fetch_add(1, Ordering::SeqCst);
            let reason = REASONS[regs::cpu_slot() % MAX_CPUS].lock();
            println!("TEST cpu{cpu}.{name} FAIL {}", reason.as_str());
        }
    }
}

/// Runs `scenarios` on this CPU, in order.
pub fn run(scenarios: &'static [Scenario]) {
    let cpu = regs::cpu_slot();
    for scenario in scenarios {
        CURRENT[cpu].store(core::ptr::from_ref(scenario).cast_mut(), Ordering::SeqCst);
        let outcome = (scenario.run)();
        report(cpu, scenario.name, &outcome);
    }
    CURRENT[cpu].store(core::ptr::null_mut(), Ordering::SeqCst);
}

/// Prints the summary line and powers the machine off.
pub fn finish() -> ! {
    let passed = PASSED.load(Ordering::SeqCst);
    let failed = FAILED.load(Ordering::SeqCst);
    println!("{passed} passed, {failed} failed");
    smc::system_off()
}

/// Called for an exception nobody expected: the running scenario fails with the fault's
/// registers. The primary then finishes the run; a secondary reports itself done and stops.
pub fn unexpected_exception(kind: u64, esr: u64, elr: u64, far: u64) -> ! {
    let cpu = regs::cpu_slot() % MAX_CPUS;
    let current = CURRENT[cpu].load(Ordering::SeqCst);
    // SAFETY: CURRENT only ever holds null or a pointer to a `&'static Scenario`.
    let name = unsafe { current.as_ref() }.map_or("outside_scenario", |s| s.name);
    let outcome = Err(Failure::new(format_args!(
        "unexpected exception (vector {kind}): ESR_EL2={esr:#x} ELR_EL2={elr:#x} FAR_EL2={far:#x}"
    )));
    report(cpu, name, &outcome);
    if cpu == 0 {
        finish()
    }
    crate::cpus::mark_done(cpu);
    loop {
        regs::wfe();
    }
}

/// Words shown on one line as `[0x1, 0x2]` (a `TEST` line's reason must be one line).
pub struct Words<'a>(pub &'a [u64]);

impl core::fmt::Display for Words<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (i, word) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{word:#x}")?;
        }
        f.write_str("]")
    }
}
