// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Pool`]: a scenario's own window of NS DRAM, split into granules it delegates (bump
//! allocated, every one recorded) and NS pages it keeps (parameter and source pages), and
//! [`check`], exact comparison of an RMI call's x0..x4 with a one-line failure reason.
//!
//! [`Pool::undelegate_all`] gives every delegated granule back and fails unless each
//! undelegation succeeds and the granule comes back zeroed: a granule the RMM still holds
//! (leaked in some realm object) or hands back with data in it is caught there.

use crate::realm::{PAGE, first_nonzero_word};
use crate::rmi::{self, RmiRegs, X4};
use crate::runner::{Failure, Outcome};
use crate::{ensure, fail};
use core::fmt;

/// Registers printed on one line in hex.
pub struct Hex(pub [u64; 5]);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e] = self.0;
        write!(f, "[{a:#x} {b:#x} {c:#x} {d:#x} {e:#x}]")
    }
}

/// Fails unless `out` is exactly `want` (x0..x4).
pub fn check(out: RmiRegs, want: [u64; 5], what: fmt::Arguments<'_>) -> Outcome {
    if out.0 != want {
        fail!("{what}: got {}, expected {}", Hex(out.0), Hex(want));
    }
    Ok(())
}

/// Fails unless `out` is a success with no outputs and x4 = [`X4`].
pub fn check_ok(out: RmiRegs, what: fmt::Arguments<'_>) -> Outcome {
    check(out, [rmi::status::SUCCESS, 0, 0, 0, X4], what)
}

/// Fails unless `out` is the error `status` with no outputs and x4 = [`X4`].
pub fn check_err(out: RmiRegs, status: u64, what: fmt::Arguments<'_>) -> Outcome {
    check(out, [status, 0, 0, 0, X4], what)
}

/// Most separate runs of delegated granules a pool records.
const MAX_RUNS: usize = 48;

/// A scenario's granules: `[base, ns_base)` to delegate, `[ns_base, end)` kept NS.
pub struct Pool {
    next: u64,
    limit: u64,
    ns_next: u64,
    ns_end: u64,
    runs: [(u64, u64); MAX_RUNS],
    count: usize,
}

impl Pool {
    /// A pool delegating from `base` up to `ns_base` and handing out NS pages from `ns_base`
    /// up to `end`.
    pub const fn new(base: u64, ns_base: u64, end: u64) -> Self {
        Self {
            next: base,
            limit: ns_base,
            ns_next: ns_base,
            ns_end: end,
            runs: [(0, 0); MAX_RUNS],
            count: 0,
        }
    }

    fn record(&mut self, pa: u64, n: u64) -> Outcome {
        if let Some(last) = self.runs[..self.count].last_mut()
            && last.0 + last.1 * PAGE == pa
        {
            last.1 += n;
            return Ok(());
        }
        ensure!(self.count < MAX_RUNS, "pool: more than {MAX_RUNS} runs");
        self.runs[self.count] = (pa, n);
        self.count += 1;
        Ok(())
    }

    /// `n` contiguous delegated granules, the first aligned to `align` bytes.
    pub fn delegate_aligned(&mut self, n: u64, align: u64) -> Result<u64, Failure> {
        let base = self.next.next_multiple_of(align);
        ensure!(
            base + n * PAGE <= self.limit,
            "pool exhausted: {n} granules at {base:#x} pass {:#x}",
            self.limit
        );
        for i in 0..n {
            let pa = base + i * PAGE;
            let out = rmi::granule_delegate(pa, X4);
            if out.0 != [rmi::status::SUCCESS, 0, 0, 0, X4] {
                // Keep what was delegated recorded, so undelegate_all still returns it.
                self.record(base, i)?;
                self.next = base + i * PAGE;
                fail!("GRANULE_DELEGATE({pa:#x}) gave {}", Hex(out.0));
            }
        }
        self.record(base, n)?;
        self.next = base + n * PAGE;
        Ok(base)
    }

    /// `n` contiguous delegated granules.
    pub fn delegate_run(&mut self, n: u64) -> Result<u64, Failure> {
        self.delegate_aligned(n, PAGE)
    }

    /// One delegated granule.
    pub fn delegate(&mut self) -> Result<u64, Failure> {
        self.delegate_run(1)
    }

    /// `N` delegated granules, not necessarily contiguous.
    pub fn delegate_many<const N: usize>(&mut self) -> Result<[u64; N], Failure> {
        let base = self.delegate_run(N as u64)?;
        Ok(core::array::from_fn(|i| base + i as u64 * PAGE))
    }

    /// A fresh NS page (not delegated; its content is whatever was there).
    pub fn ns_page(&mut self) -> Result<u64, Failure> {
        self.ns_run(1)
    }

    /// `n` contiguous fresh NS pages, the first aligned to `align` bytes.
    pub fn ns_aligned(&mut self, n: u64, align: u64) -> Result<u64, Failure> {
        let base = self.ns_next.next_multiple_of(align);
        ensure!(
            base + n * PAGE <= self.ns_end,
            "pool: out of NS pages at {base:#x}"
        );
        self.ns_next = base + n * PAGE;
        Ok(base)
    }

    /// `n` contiguous fresh NS pages.
    pub fn ns_run(&mut self, n: u64) -> Result<u64, Failure> {
        self.ns_aligned(n, PAGE)
    }

    /// How many granules this pool has delegated (and not yet given back).
    pub fn delegated(&self) -> u64 {
        self.runs[..self.count].iter().map(|&(_, n)| n).sum()
    }

    /// Undelegates every granule this pool delegated. Fails unless every undelegation
    /// succeeds (x1..x3 zero, x4 preserved) and every granule comes back all zeros; tries
    /// them all either way and reports the first problem and how many there were.
    pub fn undelegate_all(&mut self) -> Outcome {
        let mut problems = 0u64;
        let mut first = None;
        let mut total = 0u64;
        for &(base, n) in &self.runs[..self.count] {
            for i in 0..n {
                let pa = base + i * PAGE;
                total += 1;
                let out = rmi::granule_undelegate(pa, X4);
                let problem = if out.0 != [rmi::status::SUCCESS, 0, 0, 0, X4] {
                    Some((pa, out.0, None))
                } else {
                    first_nonzero_word(pa).map(|word| (pa, out.0, Some(word)))
                };
                if let Some(p) = problem {
                    problems += 1;
                    first.get_or_insert(p);
                }
            }
        }
        self.count = 0;
        match first {
            None => Ok(()),
            Some((pa, out, None)) => fail!(
                "{problems} of {total} granules did not undelegate; first {pa:#x}: {}",
                Hex(out)
            ),
            Some((pa, _, Some(word))) => {
                fail!("{problems} of {total} granules came back dirty; first {pa:#x} (word {word})")
            }
        }
    }
}
