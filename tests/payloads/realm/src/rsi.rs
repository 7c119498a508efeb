// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI calls: `smc #0` with the function id in x0 and arguments in x1..x10; the RMM answers
//! in x0..x8 and preserves every other register.

use rmm_abi::rsi::fid;

/// Issues `smc #0` with x0..x10 = `regs`; returns x0..x10 afterwards.
pub fn smc(regs: [u64; 11]) -> [u64; 11] {
    let mut r = regs;
    // SAFETY: the SMC traps to the RMM, which returns to the next instruction with at most
    // x0..x10 changed (declared); it does not touch our memory except where an RSI command
    // names it, and those buffers are passed by address only when the caller owns them.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") r[0], inout("x1") r[1], inout("x2") r[2], inout("x3") r[3],
            inout("x4") r[4], inout("x5") r[5], inout("x6") r[6], inout("x7") r[7],
            inout("x8") r[8], inout("x9") r[9], inout("x10") r[10],
            options(nostack),
        );
    }
    r
}

/// An RSI call with up to ten arguments.
pub fn call(id: u32, args: &[u64]) -> [u64; 11] {
    let mut regs = [0u64; 11];
    regs[0] = u64::from(id);
    for (slot, arg) in regs[1..].iter_mut().zip(args) {
        *slot = *arg;
    }
    smc(regs)
}

/// RSI_VERSION(requested) → (status, lower, higher).
pub fn version(requested: u64) -> (u64, u64, u64) {
    let r = call(fid::VERSION, &[requested]);
    (r[0], r[1], r[2])
}

/// RSI_REALM_CONFIG(ipa) → status.
pub fn realm_config(ipa: u64) -> u64 {
    call(fid::REALM_CONFIG, &[ipa])[0]
}

/// RSI_HOST_CALL(ipa) → status.
pub fn host_call(ipa: u64) -> u64 {
    call(fid::HOST_CALL, &[ipa])[0]
}
