// SPDX-License-Identifier: MIT OR Apache-2.0
//! The system registers the core reads, through `aarch64-cpu`.

use crate::cpu_features::{CpuIdRegisters, MoreIdRegisters};
use aarch64_cpu::registers::{
    ICH_VTR_EL2, ID_AA64DFR0_EL1, ID_AA64ISAR0_EL1, ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1,
    ID_AA64PFR0_EL1, Readable, TPIDR_EL2,
};

/// Reads an ID register by its generic name (`S3_0_C0_Cm_op2`: every one of them is defined
/// in the ID space, reading as 0 where the CPU has nothing to report).
macro_rules! id_reg {
    ($name:literal) => {{
        let value: u64;
        // SAFETY: reading an AArch64 ID register has no side effects and never traps at EL2.
        unsafe {
            core::arch::asm!(concat!("mrs {}, ", $name), out(reg) value, options(nomem, nostack))
        };
        value
    }};
}

/// Snapshot of the ID registers RMI_FEATURES and the hash engine are derived from.
pub fn cpu_id_registers() -> CpuIdRegisters {
    CpuIdRegisters {
        id_aa64mmfr0: ID_AA64MMFR0_EL1.get(),
        id_aa64mmfr1: ID_AA64MMFR1_EL1.get(),
        id_aa64pfr0: ID_AA64PFR0_EL1.get(),
        id_aa64dfr0: ID_AA64DFR0_EL1.get(),
        ich_vtr: ICH_VTR_EL2.get(),
        id_aa64isar0: ID_AA64ISAR0_EL1.get(),
        more: MoreIdRegisters {
            id_aa64pfr1: id_reg!("S3_0_C0_C4_1"),
            id_aa64zfr0: id_reg!("S3_0_C0_C4_4"),
            id_aa64dfr1: id_reg!("S3_0_C0_C5_1"),
            id_aa64afr0: id_reg!("S3_0_C0_C5_4"),
            id_aa64afr1: id_reg!("S3_0_C0_C5_5"),
            id_aa64isar1: id_reg!("S3_0_C0_C6_1"),
            id_aa64isar2: id_reg!("S3_0_C0_C6_2"),
            id_aa64mmfr2: id_reg!("S3_0_C0_C7_2"),
        },
    }
}

/// This CPU's index, stored in TPIDR_EL2 by the entry code.
pub fn cpu_index() -> usize {
    TPIDR_EL2.get() as usize
}
