//! Benchmark mode: instruction counts under QEMU `-icount shift=0 -smp 1`, where the counter
//! advances by exactly one per instruction executed at any exception level.
//!
//! Prints `BENCH <name> instructions=<median> min=<n> max=<n> iterations=<n> empty_pair=<n>`,
//! with the cost of an empty pair of counter reads subtracted. Then it brackets a further run
//! of RMI_VERSION calls with two calls of [`bench_marker`], so that `cargo xtask bench`, which
//! asks QEMU to log every instruction executed inside the RMM and at the marker, can attribute
//! the round trip to the RMM exactly.

use crate::{println, regs, rmi, smc};

const ITERATIONS: usize = 101;
/// RMI_VERSION calls between the two markers.
pub const TRACED_CALLS: u64 = 64;

fn median_of(samples: &mut [u64; ITERATIONS]) -> (u64, u64, u64) {
    samples.sort_unstable();
    (samples[ITERATIONS / 2], samples[0], samples[ITERATIONS - 1])
}

fn measure(mut body: impl FnMut()) -> [u64; ITERATIONS] {
    let mut samples = [0; ITERATIONS];
    for sample in samples.iter_mut() {
        let start = regs::counter();
        body();
        *sample = regs::counter() - start;
    }
    samples
}

/// Where the instruction trace starts (`phase` 0) and ends (`phase` 1).
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_marker(phase: u64) -> u64 {
    core::hint::black_box(phase)
}

/// Runs the benchmarks and powers off.
pub fn run() -> ! {
    println!("BENCH mode: cntfrq={} Hz", regs::cntfrq_el0());
    let (empty, _, _) = median_of(&mut measure(|| {}));
    let mut samples = measure(|| {
        core::hint::black_box(rmi::version(0x1_0000, 0));
    });
    let (median, min, max) = median_of(&mut samples);
    println!(
        "BENCH rmi_version instructions={} min={} max={} iterations={ITERATIONS} empty_pair={empty}",
        median - empty,
        min - empty,
        max - empty
    );
    bench_marker(0);
    for _ in 0..TRACED_CALLS {
        core::hint::black_box(rmi::version(0x1_0000, 0));
    }
    bench_marker(1);
    println!("BENCH traced_calls={TRACED_CALLS}");
    smc::system_off()
}
