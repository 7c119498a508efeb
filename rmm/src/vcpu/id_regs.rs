// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a realm reads from the AArch64 ID registers (HCR_EL2.TID3 traps every read of the
//! ID space `op0 = 3, op1 = 0, CRn = 0`): the CPU's values with every feature the realm cannot
//! use taken out, computed once at cold boot.
//!
//! The rules are the reference RMM's (`docs/reference/tf-rmm-rel0-realm-execution-facts.md`
//! §3.6): AMU and SVE hidden in ID_AA64PFR0_EL1, MTE and SME in ID_AA64PFR1_EL1, trace, SPE,
//! BRBE and the like in ID_AA64DFR0/1_EL1; ID_AA64ZFR0_EL1 and ID_AA64SMFR0_EL1 read as zero
//! (realms have no SVE or SME here); AFR0/1, ISAR0, ISAR1, MMFR0..2 as the CPU has them;
//! everything else in the space reads as zero, except the pointer-authentication fields of
//! ID_AA64ISAR2_EL1 (APA3, GPA3, PAC_frac), which realms read as the CPU has them, as they
//! read ISAR1's (APA, API, GPA, GPI): the world switch switches all five PAuth keys
//! ([`crate::arch::world::PauthKeys`]), so a realm gets PAuth exactly as the hardware has it.

use crate::cpu_features::CpuIdRegisters;

/// `(CRm, op2)` of the registers a realm reads something other than zero from.
mod reg {
    pub const PFR0: (u8, u8) = (4, 0);
    pub const PFR1: (u8, u8) = (4, 1);
    pub const DFR0: (u8, u8) = (5, 0);
    pub const DFR1: (u8, u8) = (5, 1);
    pub const AFR0: (u8, u8) = (5, 4);
    pub const AFR1: (u8, u8) = (5, 5);
    pub const ISAR0: (u8, u8) = (6, 0);
    pub const ISAR1: (u8, u8) = (6, 1);
    pub const ISAR2: (u8, u8) = (6, 2);
    pub const MMFR0: (u8, u8) = (7, 0);
    pub const MMFR1: (u8, u8) = (7, 1);
    pub const MMFR2: (u8, u8) = (7, 2);
}

/// A 4-bit ID field at `shift`.
const fn field(shift: u32) -> u64 {
    0xF << shift
}

/// ID_AA64PFR0_EL1: SVE \[35:32\], AMU \[47:44\].
pub const PFR0_HIDDEN: u64 = field(32) | field(44);
/// ID_AA64PFR1_EL1: MTE \[11:8\], SME \[27:24\].
pub const PFR1_HIDDEN: u64 = field(8) | field(24);
/// ID_AA64DFR0_EL1: TraceVer, PMSS, SEBEP, CTX_CMPs, PMSVer, TraceFilt, TraceBuffer, BRBE,
/// ExtTrcBuff.
pub const DFR0_HIDDEN: u64 = 0x0FF0_FF0F_FF0F_00F0;
/// ID_AA64DFR1_EL1: ICNTR \[39:36\], EBEP \[51:48\].
pub const DFR1_HIDDEN: u64 = field(36) | field(48);
/// ID_AA64ISAR2_EL1's pointer-authentication fields, the only ones a realm reads: GPA3
/// \[11:8\], APA3 \[15:12\], PAC_frac \[27:24\].
pub const ISAR2_PAUTH: u64 = field(8) | field(12) | field(24);

/// The ID register values realms read, sanitised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RealmIdRegisters {
    values: [((u8, u8), u64); 12],
}

impl RealmIdRegisters {
    /// Sanitises the CPU's values.
    pub const fn from_cpu(cpu: &CpuIdRegisters) -> Self {
        let m = &cpu.more;
        Self {
            values: [
                (reg::PFR0, cpu.id_aa64pfr0 & !PFR0_HIDDEN),
                (reg::PFR1, m.id_aa64pfr1 & !PFR1_HIDDEN),
                (reg::DFR0, cpu.id_aa64dfr0 & !DFR0_HIDDEN),
                (reg::DFR1, m.id_aa64dfr1 & !DFR1_HIDDEN),
                (reg::AFR0, m.id_aa64afr0),
                (reg::AFR1, m.id_aa64afr1),
                (reg::ISAR0, cpu.id_aa64isar0),
                (reg::ISAR1, m.id_aa64isar1),
                (reg::ISAR2, m.id_aa64isar2 & ISAR2_PAUTH),
                (reg::MMFR0, cpu.id_aa64mmfr0),
                (reg::MMFR1, cpu.id_aa64mmfr1),
                (reg::MMFR2, m.id_aa64mmfr2),
            ],
        }
    }

    /// What a realm reads from the ID register `op0 = 3, op1 = 0, CRn = 0, crm, op2`.
    pub fn read(&self, crm: u8, op2: u8) -> u64 {
        self.values
            .iter()
            .find(|(at, _)| *at == (crm, op2))
            .map_or(0, |(_, value)| *value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu_features::MoreIdRegisters;

    fn everything() -> CpuIdRegisters {
        CpuIdRegisters {
            id_aa64mmfr0: 0x1111,
            id_aa64mmfr1: 0x2222,
            id_aa64pfr0: u64::MAX,
            id_aa64dfr0: u64::MAX,
            ich_vtr: u64::MAX,
            id_aa64isar0: 0x3333,
            more: MoreIdRegisters {
                id_aa64pfr1: u64::MAX,
                id_aa64zfr0: u64::MAX,
                id_aa64dfr1: u64::MAX,
                id_aa64afr0: 0x44,
                id_aa64afr1: 0x55,
                id_aa64isar1: u64::MAX,
                id_aa64isar2: u64::MAX,
                id_aa64mmfr2: 0x6666,
            },
        }
    }

    #[test]
    fn hidden_fields_read_as_zero_and_the_rest_passes() {
        let r = RealmIdRegisters::from_cpu(&everything());
        assert_eq!(
            r.read(4, 0),
            0xFFFF_0FF0_FFFF_FFFF,
            "PFR0 without SVE and AMU"
        );
        assert_eq!(
            r.read(4, 1),
            0xFFFF_FFFF_F0FF_F0FF,
            "PFR1 without MTE and SME"
        );
        assert_eq!(
            r.read(5, 0),
            0xF00F_00F0_00F0_FF0F,
            "DFR0 without trace and SPE"
        );
        assert_eq!(
            r.read(5, 1),
            0xFFF0_FF0F_FFFF_FFFF,
            "DFR1 without EBEP and ICNTR"
        );
        assert_eq!(r.read(6, 1), u64::MAX, "ISAR1 with PAuth");
        assert_eq!(
            r.read(6, 2),
            0x0F00_FF00,
            "ISAR2: only APA3, GPA3 and PAC_frac"
        );
        assert_eq!(
            [
                r.read(5, 4),
                r.read(5, 5),
                r.read(6, 0),
                r.read(7, 0),
                r.read(7, 1),
                r.read(7, 2)
            ],
            [0x44, 0x55, 0x3333, 0x1111, 0x2222, 0x6666]
        );
    }

    #[test]
    fn pauth_fields_read_as_the_cpu_has_them() {
        // QEMU's `max` with the IMPDEF algorithm (API 5, GPI 1) plus other ISAR1/ISAR2
        // features, and a QARMA3 CPU (APA3 5, GPA3 1).
        let mut cpu = everything();
        cpu.more.id_aa64isar1 = 0x1 << 28 | 0x3 << 20 | 0x5 << 8 | 0x1;
        cpu.more.id_aa64isar2 = 0x1 << 28 | 0x1 << 16 | 0x2;
        let r = RealmIdRegisters::from_cpu(&cpu);
        assert_eq!(r.read(6, 1), cpu.more.id_aa64isar1);
        assert_eq!(r.read(6, 2), 0, "no PAuth field in this ISAR2");
        cpu.more.id_aa64isar1 = 0;
        cpu.more.id_aa64isar2 = 0x1 << 24 | 0x5 << 12 | 0x1 << 8 | 0x2;
        let r = RealmIdRegisters::from_cpu(&cpu);
        assert_eq!(r.read(6, 2), 0x0100_5100);
        // A CPU without PAuth: nothing to show.
        cpu.more.id_aa64isar2 = 0;
        assert_eq!(RealmIdRegisters::from_cpu(&cpu).read(6, 2), 0);
        assert_eq!(RealmIdRegisters::from_cpu(&cpu).read(6, 1), 0);
    }

    #[test]
    fn sve_sme_and_every_other_register_read_as_zero() {
        let r = RealmIdRegisters::from_cpu(&everything());
        assert_eq!(r.read(4, 4), 0, "ZFR0");
        assert_eq!(r.read(4, 5), 0, "SMFR0");
        assert_eq!(r.read(1, 0), 0, "ID_PFR0_EL1 (AArch32)");
        assert_eq!(r.read(7, 3), 0, "MMFR3");
    }
}
