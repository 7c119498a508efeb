// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `smc` instruction and typed calls built on it: RMI (through `rmm-abi`) and PSCI.

use rmm_abi::psci;

/// Issues `smc #0` with x0..x7 = `regs`; returns x0..x7 afterwards. x8..x17 are clobbered
/// (SMCCC 1.2 allows EL3 to use them).
pub fn smc(regs: [u64; 8]) -> [u64; 8] {
    let mut r = regs;
    // SAFETY: `smc #0` enters EL3, which returns to the next instruction with only x0..x17
    // possibly changed (declared below); memory is not touched on our behalf.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") r[0], inout("x1") r[1], inout("x2") r[2], inout("x3") r[3],
            inout("x4") r[4], inout("x5") r[5], inout("x6") r[6], inout("x7") r[7],
            out("x8") _, out("x9") _, out("x10") _, out("x11") _,
            out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    r
}

/// PSCI CPU_ON: starts the CPU `mpidr` at `entry` with x0 = `context`. Returns the PSCI status.
pub fn cpu_on(mpidr: u64, entry: u64, context: u64) -> i64 {
    smc([
        u64::from(psci::PSCI_CPU_ON),
        mpidr,
        entry,
        context,
        0,
        0,
        0,
        0,
    ])[0] as i64
}

/// PSCI SYSTEM_OFF: powers the machine off (QEMU exits). Does not return.
pub fn system_off() -> ! {
    smc([u64::from(psci::PSCI_SYSTEM_OFF), 0, 0, 0, 0, 0, 0, 0]);
    loop {
        crate::regs::wfe();
    }
}
