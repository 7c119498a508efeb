// SPDX-License-Identifier: MIT OR Apache-2.0
//! Copying to and from host (Non-secure) memory with a fault fix-up.
//!
//! The host may change a granule's PAS at any time (delegating it on another CPU, or through
//! a misbehaving EL3), so any load from or store to host memory may take a Granule Protection
//! Fault (so may any store the RMM makes to a REC exit in a host page). Those accesses happen only in `rmm_ns_copy`, whose code lies between
//! `rmm_ns_access_start` and `rmm_ns_access_end`. The vectors check a synchronous data abort's
//! ELR against that range and, on a match, resume at `rmm_ns_access_fault`, which returns 1
//! instead of stopping the CPU. The routine touches only x0..x4 (caller-saved), so resuming
//! at the fault label loses nothing the caller needs.

use crate::GRANULE_SIZE;
use crate::arch::NsAccessFault;
use crate::mmu::layout::{MAP_SPAN, ns_va};

core::arch::global_asm!(
    ".section .text.rmm_ns_access, \"ax\"",
    ".global rmm_ns_copy",
    ".global rmm_ns_access_start",
    ".global rmm_ns_access_end",
    ".global rmm_ns_access_fault",
    // x0 = destination, x1 = source, x2 = bytes (a non-zero multiple of 16).
    "rmm_ns_copy:",
    "rmm_ns_access_start:",
    "1:",
    "ldp x3, x4, [x1], #16",
    "stp x3, x4, [x0], #16",
    "subs x2, x2, #16",
    "b.ne 1b",
    "mov x0, #0",
    "ret",
    "rmm_ns_access_end:",
    "rmm_ns_access_fault:",
    "mov x0, #1",
    "ret",
);

unsafe extern "C" {
    fn rmm_ns_copy(dst: *mut u8, src: *const u8, len: usize) -> u64;
}

/// The NS-window address of `len` bytes at `offset` in the host granule `pa`, if the range is
/// one the copy routine can do (16-byte multiples, non-empty, inside one granule) and the
/// window maps `pa`.
fn ns_range(pa: u64, offset: usize, len: usize) -> Result<usize, NsAccessFault> {
    let fits = offset.is_multiple_of(16)
        && len.is_multiple_of(16)
        && len != 0
        && offset
            .checked_add(len)
            .is_some_and(|end| end <= GRANULE_SIZE);
    if !fits || pa >= MAP_SPAN || !pa.is_multiple_of(GRANULE_SIZE as u64) {
        return Err(NsAccessFault);
    }
    Ok(ns_va(pa) as usize + offset)
}

/// Copies `buf.len()` bytes at `offset` of the host granule `pa` into `buf`.
pub fn read(pa: u64, offset: usize, buf: &mut [u8]) -> Result<(), NsAccessFault> {
    let src = ns_range(pa, offset, buf.len())?;
    // SAFETY: `buf` is RMM memory, which cannot fault; the source range lies inside one
    // granule of the NS window, and every load from it either reads host memory or takes a
    // data abort that the vectors fix up into a return value of 1.
    let faulted = unsafe { rmm_ns_copy(buf.as_mut_ptr(), src as *const u8, buf.len()) };
    if faulted == 0 {
        Ok(())
    } else {
        Err(NsAccessFault)
    }
}

/// Copies `buf` to `offset` of the host granule `pa`.
pub fn write(pa: u64, offset: usize, buf: &[u8]) -> Result<(), NsAccessFault> {
    let dst = ns_range(pa, offset, buf.len())?;
    // SAFETY: as in `read`, with the roles swapped: loads come from RMM memory, and every
    // store to the NS-window range either reaches host memory or faults into a return of 1.
    // The routine only reads through its source pointer.
    let faulted = unsafe { rmm_ns_copy(dst as *mut u8, buf.as_ptr(), buf.len()) };
    if faulted == 0 {
        Ok(())
    } else {
        Err(NsAccessFault)
    }
}

/// Copies the host granule at `pa` into `page` through the NS window. `page` is RMM memory or
/// (DATA_CREATE) a locked Realm-PAS granule through the Realm window: stores to either cannot
/// fault.
///
/// Any address is safe: one the NS window does not map (not DRAM) faults like one in the
/// wrong PAS, and both come back as [`NsAccessFault`].
pub fn copy_granule_in(pa: u64, page: &mut [u8; GRANULE_SIZE]) -> Result<(), NsAccessFault> {
    if pa >= MAP_SPAN {
        return Err(NsAccessFault);
    }
    // SAFETY: `page` is a valid, writable 4 KiB buffer that cannot fault (see above). The
    // source is inside the NS window's virtual range; every load from it either reads host
    // memory or takes a data abort that the vectors fix up into a return value of 1.
    let faulted = unsafe { rmm_ns_copy(page.as_mut_ptr(), ns_va(pa) as *const u8, GRANULE_SIZE) };
    if faulted == 0 {
        Ok(())
    } else {
        Err(NsAccessFault)
    }
}
