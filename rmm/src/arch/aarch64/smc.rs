// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `smc` instruction, and EL3's side of the RMI loop built on it.

use crate::arch::El3Port;
use crate::arch::{RmiRequest, RmiResult};
use rmm_abi::el3::{RMM_BOOT_COMPLETE, RMM_RMI_REQ_COMPLETE};

/// Issues `smc #0` with x0..x7 = `regs` and returns x0..x7 as EL3 left them.
///
/// SMCCC 1.2 lets EL3 use x0..x17 for results, so all of them are treated as clobbered.
#[inline(always)]
pub fn smc(regs: [u64; 8]) -> [u64; 8] {
    let mut out = regs;
    // SAFETY: `smc #0` transfers control to EL3 (TF-A), which returns to the next instruction
    // with x0..x17 possibly changed (declared below) and all other registers and memory
    // preserved, as the SMC calling convention and the RMM-EL3 interface guarantee.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") out[0],
            inout("x1") out[1],
            inout("x2") out[2],
            inout("x3") out[3],
            inout("x4") out[4],
            inout("x5") out[5],
            inout("x6") out[6],
            inout("x7") out[7],
            out("x8") _, out("x9") _, out("x10") _, out("x11") _,
            out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    out
}

/// EL3 reached through real SMCs.
pub struct El3Smc;

impl El3Port for El3Smc {
    #[inline(always)]
    fn boot_complete(&mut self, status: u64) -> Option<RmiRequest> {
        let regs = smc([u64::from(RMM_BOOT_COMPLETE), status, 0, 0, 0, 0, 0, 0]);
        Some(RmiRequest { regs })
    }

    #[inline(always)]
    fn rmi_complete(&mut self, result: &RmiResult) -> Option<RmiRequest> {
        let r = &result.regs;
        let regs = smc([
            u64::from(RMM_RMI_REQ_COMPLETE),
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            0,
            0,
        ]);
        Some(RmiRequest { regs })
    }
}

/// `SMCCC_ARCH_FEATURE_AVAILABILITY` (SMCCC 1.5, SMC64): which features of an EL3 control
/// register EL3 enabled for the caller's world.
const SMCCC_ARCH_FEATURE_AVAILABILITY: u64 = 0xC000_0003;
/// Its selector for SCR_EL3: the register's encoding (op0 3, op1 6, CRn 1, CRm 1, op2 0) as
/// `op0 << 19 | op1 << 16 | CRn << 12 | CRm << 8 | op2 << 5`.
const SCR_EL3_SELECTOR: u64 = 0x1E_1100;
/// SCR_EL3.FGTEn2 (bit 59): EL2 may use the FEAT_FGT2 registers.
const SCR_EL3_FGTEN2: u64 = 1 << 59;

/// Whether EL3 says it enabled FEAT_FGT2 (SCR_EL3.FGTEn2) for the Realm world. An EL3
/// without SMCCC_ARCH_FEATURE_AVAILABILITY (TF-A 2.12 has none; it answers `SMC_UNK`, -1)
/// or with any other answer than success is taken as "not enabled". Asked only on a CPU
/// that has FEAT_FGT2.
pub fn el3_fgt2_enabled() -> bool {
    let out = smc([
        SMCCC_ARCH_FEATURE_AVAILABILITY,
        SCR_EL3_SELECTOR,
        0,
        0,
        0,
        0,
        0,
        0,
    ]);
    out[0] == 0 && out[1] & SCR_EL3_FGTEN2 != 0
}
