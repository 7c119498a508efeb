// SPDX-License-Identifier: MIT OR Apache-2.0
//! EL3's attestation services through the EL3-RMM shared page: the realm attestation key
//! (`RMM_ATTEST_GET_REALM_KEY`) and the platform token (`RMM_ATTEST_GET_PLAT_TOKEN`).
//!
//! TF-A accepts only buffers inside the shared page, which is one page for all CPUs: every
//! use holds [`SHARED_PAGE_LOCK`]. The key's bytes are wiped from the shared page before the
//! lock is released, whatever EL3 answered.

use super::smc::smc;
use crate::GRANULE_SIZE;
use crate::arch::PlatformTokenHunk;
use core::sync::atomic::{AtomicU64, Ordering};
use rmm_abi::el3::{
    ATTEST_KEY_CURVE_ECC_SECP384R1, El3Status, RMM_ATTEST_GET_PLAT_TOKEN, RMM_ATTEST_GET_REALM_KEY,
};

/// PA (= VA: the carve-out is identity-mapped) of the EL3-RMM shared page; 0 until the cold
/// boot validated it.
static SHARED_PAGE: AtomicU64 = AtomicU64::new(0);

/// Serialises every use of the shared page.
static SHARED_PAGE_LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Records the shared page the cold boot validated (x3 of the boot arguments).
pub fn set_shared_page(pa: u64) {
    SHARED_PAGE.store(pa, Ordering::Release);
}

fn shared_page() -> Result<*mut u8, El3Status> {
    match SHARED_PAGE.load(Ordering::Acquire) {
        0 => Err(El3Status::Unknown),
        pa => Ok(pa as *mut u8),
    }
}

fn status(x0: u64) -> El3Status {
    El3Status::from_u64(x0).unwrap_or(El3Status::Unknown)
}

/// Copies `out.len()` (at most a page) bytes from the start of the shared page.
fn read_shared(page: *mut u8, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().take(GRANULE_SIZE).enumerate() {
        // SAFETY: `page` is the shared page boot validated (granule aligned, in the
        // identity-mapped carve-out, Realm PAS, read/write); `i` < 4096 keeps the access
        // inside it, and the caller holds SHARED_PAGE_LOCK so no other CPU uses it.
        *byte = unsafe { page.add(i).read_volatile() };
    }
}

/// Writes `bytes` (at most a page) at the start of the shared page.
fn write_shared(page: *mut u8, bytes: &[u8]) {
    for (i, byte) in bytes.iter().take(GRANULE_SIZE).enumerate() {
        // SAFETY: as in `read_shared`.
        unsafe { page.add(i).write_volatile(*byte) };
    }
}

/// Zeroes the whole shared page (volatile, so the stores are not elided).
fn wipe_shared(page: *mut u8) {
    for i in 0..GRANULE_SIZE {
        // SAFETY: as in `read_shared`.
        unsafe { page.add(i).write_volatile(0) };
    }
}

/// `RMM_ATTEST_GET_REALM_KEY(shared page, 4096, P-384)`: see
/// [`crate::arch::Machine::el3_realm_key`].
pub fn realm_key(out: &mut [u8; 48]) -> Result<usize, El3Status> {
    let _lock = SHARED_PAGE_LOCK.lock();
    let page = shared_page()?;
    let regs = smc([
        u64::from(RMM_ATTEST_GET_REALM_KEY),
        page as u64,
        GRANULE_SIZE as u64,
        ATTEST_KEY_CURVE_ECC_SECP384R1,
        0,
        0,
        0,
        0,
    ]);
    let result = match status(regs[0]) {
        El3Status::Ok => {
            let len = regs[1] as usize;
            read_shared(page, &mut out[..len.min(48)]);
            Ok(len)
        }
        error => Err(error),
    };
    wipe_shared(page);
    result
}

/// One `RMM_ATTEST_GET_PLAT_TOKEN(shared page, 4096, challenge length)`: see
/// [`crate::arch::Machine::el3_platform_token_hunk`].
pub fn platform_token_hunk(
    challenge: &[u8],
    out: &mut [u8],
) -> Result<PlatformTokenHunk, El3Status> {
    if challenge.len() > GRANULE_SIZE {
        return Err(El3Status::Inval);
    }
    let _lock = SHARED_PAGE_LOCK.lock();
    let page = shared_page()?;
    write_shared(page, challenge);
    let regs = smc([
        u64::from(RMM_ATTEST_GET_PLAT_TOKEN),
        page as u64,
        GRANULE_SIZE as u64,
        challenge.len() as u64,
        0,
        0,
        0,
        0,
    ]);
    let again = match status(regs[0]) {
        El3Status::Ok => false,
        El3Status::Again => true,
        error => return Err(error),
    };
    let len = regs[1] as usize;
    if len > GRANULE_SIZE || len > out.len() {
        return Err(El3Status::NoMem);
    }
    read_shared(page, &mut out[..len]);
    Ok(PlatformTokenHunk {
        len,
        remaining: regs[2] as usize,
        again,
    })
}
