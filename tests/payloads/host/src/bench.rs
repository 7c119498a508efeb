//! Benchmark mode: instruction counts under QEMU `-icount shift=0 -smp 1`, where the counter
//! advances by exactly one per instruction executed at any exception level.
//!
//! For each benchmark it prints
//! `BENCH <name> instructions=<median> min=<n> max=<n> iterations=<n> empty_pair=<n>`,
//! with the cost of an empty pair of counter reads subtracted. Then it runs each benchmark's
//! call [`TRACED_CALLS`] more times between two calls of [`bench_marker`] (one marker call
//! between consecutive segments), printing `BENCH traced <name> calls=<n>` in segment order,
//! so that `cargo xtask bench`, which asks QEMU to log every instruction executed inside the
//! RMM and at the marker, can attribute each command's cost to the RMM exactly.

use crate::platform::GRANULE_POOL;
use crate::{println, regs, rmi, smc};

const ITERATIONS: usize = 101;
/// Calls per traced segment.
pub const TRACED_CALLS: u64 = 64;
const PAGE: u64 = 4096;

fn median_of(samples: &mut [u64; ITERATIONS]) -> (u64, u64, u64) {
    samples.sort_unstable();
    (samples[ITERATIONS / 2], samples[0], samples[ITERATIONS - 1])
}

/// Where each traced segment starts and the last one ends.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_marker(phase: u64) -> u64 {
    core::hint::black_box(phase)
}

fn report(name: &str, samples: &mut [u64; ITERATIONS], empty: u64) {
    let (median, min, max) = median_of(samples);
    println!(
        "BENCH {name} instructions={} min={} max={} iterations={ITERATIONS} empty_pair={empty}",
        median - empty,
        min - empty,
        max - empty
    );
}

fn expect_success(name: &str, x0: u64) {
    if x0 != 0 {
        println!("BENCH error {name} returned x0={x0:#x}");
    }
}

/// Runs the benchmarks and powers off.
pub fn run() -> ! {
    println!("BENCH mode: cntfrq={} Hz", regs::cntfrq_el0());
    let mut empty_samples = [0; ITERATIONS];
    for s in empty_samples.iter_mut() {
        let t0 = regs::counter();
        *s = regs::counter() - t0;
    }
    let (empty, _, _) = median_of(&mut empty_samples);

    let mut version = [0; ITERATIONS];
    for s in version.iter_mut() {
        let t0 = regs::counter();
        core::hint::black_box(rmi::version(0x1_0000, 0));
        *s = regs::counter() - t0;
    }
    report("rmi_version", &mut version, empty);

    // Steady state: the same granule, delegated and undelegated again and again, while a
    // neighbour in the same 2 MiB block stays delegated. Without it, TF-A's granule protection
    // tables would split a contiguous 2 MiB NS block on every delegation and fuse it again on
    // every undelegation: EL3 work that depends on the host's memory layout, not on the RMM.
    let pin = GRANULE_POOL + 0x10_0000;
    expect_success("pin delegate", rmi::granule_delegate(pin, 0).0[0]);
    let (mut delegate, mut undelegate) = ([0; ITERATIONS], [0; ITERATIONS]);
    for (d, u) in delegate.iter_mut().zip(undelegate.iter_mut()) {
        let t0 = regs::counter();
        let out = rmi::granule_delegate(GRANULE_POOL, 0);
        let t1 = regs::counter();
        let back = rmi::granule_undelegate(GRANULE_POOL, 0);
        let t2 = regs::counter();
        expect_success("granule_delegate", out.0[0]);
        expect_success("granule_undelegate", back.0[0]);
        (*d, *u) = (t1 - t0, t2 - t1);
    }
    expect_success("pin undelegate", rmi::granule_undelegate(pin, 0).0[0]);
    report("granule_delegate", &mut delegate, empty);
    report("granule_undelegate", &mut undelegate, empty);

    let granule = |i: u64| GRANULE_POOL + i * PAGE;
    bench_marker(0);
    for _ in 0..TRACED_CALLS {
        core::hint::black_box(rmi::version(0x1_0000, 0));
    }
    bench_marker(1);
    for i in 0..TRACED_CALLS {
        core::hint::black_box(rmi::granule_delegate(granule(i), 0));
    }
    bench_marker(2);
    for i in 0..TRACED_CALLS {
        core::hint::black_box(rmi::granule_undelegate(granule(i), 0));
    }
    bench_marker(3);
    for name in ["rmi_version", "granule_delegate", "granule_undelegate"] {
        println!("BENCH traced {name} calls={TRACED_CALLS}");
    }
    smc::system_off()
}
