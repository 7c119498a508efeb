// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's benchmark scenarios: loops the hypervisor's `cargo xtask bench` boots run, and
//! the realm's own timing of calls the hypervisor cannot time (an RSI call handled inside the
//! RMM never reaches the host; a RIPAS change spans an exit, host work and an entry).
//!
//! Timing uses the generic counter, which under QEMU `-icount shift=0` (CNTFRQ 1 GHz) advances
//! by exactly one per instruction executed at any exception level. Each timed loop reports
//! one `BENCH <name> instructions=<median> min= max= iterations= empty_pair=` line through a
//! `Print` host call, the cost of an empty pair of counter reads subtracted.

use crate::{console, host_call, rsi};
use core::fmt::Write;
use realm_protocol::{HostCallCode, MMIO_MAGIC, RIPAS_BENCH_REGION};
use rmm_abi::rsi::fid;

const SUCCESS: u64 = 0;
const RSI_V1_0: u64 = 1 << 16;
const RIPAS_EMPTY: u64 = 0;
const RIPAS_RAM: u64 = 1;
const ACCEPT: u64 = 0;

/// `count` echo host calls, checking each answer; if `pauth`, after one read of APIAKeyLo_EL1
/// (which traps to the RMM once; from then on the RMM switches this REC's PAuth keys at
/// every entry and exit).
pub fn host_call_loop(count: u64, pauth: bool) -> u64 {
    let mut failures = 0;
    if pauth {
        let key: u64;
        // SAFETY: reading the realm's own APIAKeyLo_EL1 has no side effect.
        unsafe {
            core::arch::asm!("mrs {}, S3_0_C2_C1_0", out(reg) key, options(nomem, nostack));
        }
        core::hint::black_box(key);
    }
    for n in 0..count {
        let answer = host_call::call(HostCallCode::Echo, &[n]);
        if answer[0] != n + 1 {
            failures += 1;
        }
    }
    failures
}

/// Most calls a timed loop times (the samples live on the stack).
const MAX_TIMED: usize = 256;

/// The generic counter after an `isb`. With `-icount shift=0` and CNTFRQ = 1 GHz it advances by
/// one per instruction executed at any exception level. The RMM lets R-EL1 read the physical
/// counter (CNTHCTL_EL2.EL1PCTEN); CNTVOFF_EL2 is 0, so it equals the virtual one.
pub fn counter() -> u64 {
    let value: u64;
    // SAFETY: ISB and a counter read have no side effects.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntpct_el0", out(reg) value, options(nomem, nostack));
    }
    value
}

/// One RSI_VERSION between two counter reads: (status, counter delta).
fn timed_version() -> (u64, u64) {
    let (t0, t1, status): (u64, u64, u64);
    // SAFETY: RSI_VERSION changes only x0..x3 (declared clobbered with the rest of x0..x10,
    // which the RMM may write for other calls); it touches no memory of ours.
    unsafe {
        core::arch::asm!(
            "isb",
            "mrs {t0}, cntpct_el0",
            "smc #0",
            "isb",
            "mrs {t1}, cntpct_el0",
            t0 = out(reg) t0, t1 = out(reg) t1,
            inout("x0") u64::from(fid::VERSION) => status,
            inout("x1") RSI_V1_0 => _,
            out("x2") _, out("x3") _, out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _,
            options(nostack),
        );
    }
    (status, t1 - t0)
}

/// A line formatted in place, so it reaches the hypervisor as one `Print` host call.
struct Line {
    bytes: [u8; 240],
    len: usize,
}

impl Line {
    const fn new() -> Self {
        Self {
            bytes: [0; 240],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.bytes[..self.len]).unwrap_or("<not UTF-8>")
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dest = self.bytes.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// (median, min, max) of `samples`, which it sorts.
fn median(samples: &mut [u64]) -> (u64, u64, u64) {
    samples.sort_unstable();
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

/// Prints the `BENCH <name>` line of `samples` (sorted in place), less the median cost of an
/// empty pair of counter reads.
fn report(name: &str, samples: &mut [u64]) {
    let mut empty = [0u64; MAX_TIMED];
    let pairs = &mut empty[..samples.len().clamp(1, MAX_TIMED)];
    for e in pairs.iter_mut() {
        let t0 = counter();
        *e = counter() - t0;
    }
    let (empty, _, _) = median(pairs);
    let (med, min, max) = median(samples);
    let mut line = Line::new();
    let _ = write!(
        line,
        "BENCH {name} instructions={} min={} max={} iterations={} empty_pair={empty}",
        med.saturating_sub(empty),
        min.saturating_sub(empty),
        max.saturating_sub(empty),
        samples.len(),
    );
    host_call::print(line.as_str());
}

/// The RSI_VERSION benchmark ([`realm_protocol::Scenario::RsiVersionLoop`]): `count` calls
/// (1..=256) timed here, between two `Echo` host calls that bracket the traced segment; then
/// prints their `BENCH rsi_version` line ([`report`]).
pub fn rsi_version_loop(count: u64) -> u64 {
    let n = (count as usize).clamp(1, MAX_TIMED);
    let mut failures = 0;
    let mut samples = [0u64; MAX_TIMED];
    host_call::call(HostCallCode::Echo, &[0]);
    for s in samples[..n].iter_mut() {
        let (status, delta) = timed_version();
        if status != SUCCESS {
            failures += 1;
        }
        *s = delta;
    }
    host_call::call(HostCallCode::Echo, &[1]);
    report("rsi_version", &mut samples[..n]);
    failures
}

/// The MMIO round-trip benchmark ([`realm_protocol::Scenario::MmioLoop`]): `count` 64-bit
/// loads from the emulated magic register between two `Echo` host calls; each must read
/// [`MMIO_MAGIC`].
pub fn mmio_loop(count: u64) -> u64 {
    let magic = console::magic() as *const u64;
    let mut failures = 0;
    host_call::call(HostCallCode::Echo, &[0]);
    for _ in 0..count {
        // SAFETY: an MMIO load from the emulated register; no memory is behind it.
        if unsafe { magic.read_volatile() } != MMIO_MAGIC {
            failures += 1;
        }
    }
    host_call::call(HostCallCode::Echo, &[1]);
    failures
}

/// RSI_IPA_STATE_SET of all of [`RIPAS_BENCH_REGION`] to `ripas`, repeated while the host
/// changes only part of it: true if the whole region changed and every answer was ACCEPT.
fn set_region(ripas: u64) -> bool {
    let (mut base, top) = RIPAS_BENCH_REGION;
    for _ in 0..(top - base) / 0x1000 {
        let r = rsi::call(fid::IPA_STATE_SET, &[base, top, ripas, 0]);
        if r[0] != SUCCESS || r[2] != ACCEPT || r[1] <= base || r[1] > top {
            return false;
        }
        base = r[1];
        if base == top {
            return true;
        }
    }
    false
}

/// The RIPAS-change benchmark ([`realm_protocol::Scenario::RipasChangeLoop`]): `count` rounds
/// (1..=256), each an `Echo`, one RSI_IPA_STATE_SET of [`RIPAS_BENCH_REGION`] (2 MiB, RIPAS
/// EMPTY, no DATA) to RAM timed here, a second `Echo`, and the region made EMPTY again
/// (untimed). The timed call must come back SUCCESS, ACCEPT, done to the region's top in one
/// go, with IPA_STATE_GET then reporting the whole region RAM. Prints `BENCH ripas_change_2m`.
pub fn ripas_change_loop(count: u64) -> u64 {
    let n = (count as usize).clamp(1, MAX_TIMED);
    let (base, top) = RIPAS_BENCH_REGION;
    let mut failures = 0;
    let mut samples = [0u64; MAX_TIMED];
    for (round, s) in samples[..n].iter_mut().enumerate() {
        host_call::call(HostCallCode::Echo, &[round as u64]);
        let t0 = counter();
        let r = rsi::call(fid::IPA_STATE_SET, &[base, top, RIPAS_RAM, 0]);
        *s = counter() - t0;
        host_call::call(HostCallCode::Echo, &[round as u64]);
        let state = rsi::call(fid::IPA_STATE_GET, &[base, top]);
        if r[..3] != [SUCCESS, top, ACCEPT] || state[..3] != [SUCCESS, top, RIPAS_RAM] {
            failures += 1;
        }
        if !set_region(RIPAS_EMPTY) {
            failures += 1;
        }
    }
    report("ripas_change_2m", &mut samples[..n]);
    failures
}
