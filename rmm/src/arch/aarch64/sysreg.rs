//! The system registers the core reads, through `aarch64-cpu`.

use crate::cpu_features::CpuIdRegisters;
use aarch64_cpu::registers::{
    ICH_VTR_EL2, ID_AA64DFR0_EL1, ID_AA64ISAR0_EL1, ID_AA64MMFR0_EL1, ID_AA64MMFR1_EL1,
    ID_AA64PFR0_EL1, Readable, TPIDR_EL2,
};

/// Snapshot of the ID registers RMI_FEATURES and the hash engine are derived from.
pub fn cpu_id_registers() -> CpuIdRegisters {
    CpuIdRegisters {
        id_aa64mmfr0: ID_AA64MMFR0_EL1.get(),
        id_aa64mmfr1: ID_AA64MMFR1_EL1.get(),
        id_aa64pfr0: ID_AA64PFR0_EL1.get(),
        id_aa64dfr0: ID_AA64DFR0_EL1.get(),
        ich_vtr: ICH_VTR_EL2.get(),
        id_aa64isar0: ID_AA64ISAR0_EL1.get(),
    }
}

/// This CPU's index, stored in TPIDR_EL2 by the entry code.
pub fn cpu_index() -> usize {
    TPIDR_EL2.get() as usize
}
