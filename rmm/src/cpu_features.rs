// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the CPU offers (raw ID registers, read once at cold boot by `arch`) and what the RMM
//! therefore advertises in RMI feature register 0.
//!
//! The advertised value is the intersection of the hardware and [`RMM_CAPABILITIES`], the
//! list of features this RMM really implements. A capability flips to `true` in the same
//! change that implements it (for example SVE context switching with REC entry).

use rmm_abi::rmi::features::FeatureRegister0;

/// Raw ID registers the feature register is derived from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuIdRegisters {
    /// ID_AA64MMFR0_EL1 (PARange).
    pub id_aa64mmfr0: u64,
    /// ID_AA64MMFR1_EL1 (VMIDBits).
    pub id_aa64mmfr1: u64,
    /// ID_AA64PFR0_EL1 (SVE).
    pub id_aa64pfr0: u64,
    /// ID_AA64DFR0_EL1 (BRPs, WRPs, PMUVer).
    pub id_aa64dfr0: u64,
    /// ICH_VTR_EL2 (ListRegs).
    pub ich_vtr: u64,
    /// ID_AA64ISAR0_EL1 (SHA2: which SHA-2 instructions the hash engine may use).
    pub id_aa64isar0: u64,
    /// The rest of the AArch64 ID registers a realm can read (through the RMM, which
    /// sanitises them: `vcpu::id_regs`).
    pub more: MoreIdRegisters,
}

/// AArch64 ID registers only realms' reads need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MoreIdRegisters {
    /// ID_AA64PFR1_EL1.
    pub id_aa64pfr1: u64,
    /// ID_AA64ZFR0_EL1.
    pub id_aa64zfr0: u64,
    /// ID_AA64DFR1_EL1.
    pub id_aa64dfr1: u64,
    /// ID_AA64AFR0_EL1.
    pub id_aa64afr0: u64,
    /// ID_AA64AFR1_EL1.
    pub id_aa64afr1: u64,
    /// ID_AA64ISAR1_EL1.
    pub id_aa64isar1: u64,
    /// ID_AA64ISAR2_EL1.
    pub id_aa64isar2: u64,
    /// ID_AA64MMFR2_EL1.
    pub id_aa64mmfr2: u64,
}

/// Features this RMM implements, independent of the hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// 52-bit IPAs with 4 KiB granules (FEAT_LPA2) in realm stage 2.
    pub lpa2: bool,
    /// SVE state in RECs.
    pub sve: bool,
    /// PMU state in RECs.
    pub pmu: bool,
    /// SHA-256 realm measurements.
    pub sha256: bool,
    /// SHA-512 realm measurements.
    pub sha512: bool,
    /// log2 of the largest number of RECs per realm.
    pub max_recs_order: u64,
}

/// What this build of the RMM implements. SVE and PMU context switching arrive with realm
/// execution; LPA2 stage-2 tables are not planned for 1.0. Both hash algorithms are what
/// REALM_CREATE accepts; `max_recs_order` matches TF-RMM's 10.
pub const RMM_CAPABILITIES: Capabilities = Capabilities {
    lpa2: false,
    sve: false,
    pmu: false,
    sha256: true,
    sha512: true,
    max_recs_order: 10,
};

/// Largest IPA width without LPA2 (4 KiB granules, 4-level stage 2).
pub const MAX_S2SZ_WITHOUT_LPA2: u64 = 48;

/// ID_AA64MMFR0_EL1.PARange to a physical address width in bits.
pub const fn pa_range_bits(parange: u64) -> u64 {
    match parange {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        // 6 is 52 bits; 7.. are reserved for wider ranges. Both exceed what we use.
        _ => 52,
    }
}

const fn field(value: u64, shift: u32, bits: u32) -> u64 {
    (value >> shift) & ((1 << bits) - 1)
}

/// VTCR_EL2.PS for realms: the CPU's physical address range, capped at 48 bits (stage-2
/// tables without LPA2 cannot output wider addresses).
pub fn stage2_ps(cpu: &CpuIdRegisters) -> u8 {
    field(cpu.id_aa64mmfr0, 0, 4).min(5) as u8
}

/// Width of the VMIDs realms may use: 16 bits with FEAT_VMID16, else 8.
pub fn vmid_bits(cpu: &CpuIdRegisters) -> u8 {
    if field(cpu.id_aa64mmfr1, 4, 4) == 2 {
        16
    } else {
        8
    }
}

/// The Armv8 SHA-2 instructions a CPU has (ID_AA64ISAR0_EL1.SHA2, bits \[15:12\]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sha2Instructions {
    /// Neither: hashing stays in software.
    None,
    /// FEAT_SHA256: SHA256H, SHA256H2, SHA256SU0, SHA256SU1.
    Sha256,
    /// FEAT_SHA256 and FEAT_SHA512 (SHA512H, SHA512H2, SHA512SU0, SHA512SU1).
    Sha256And512,
}

/// Which SHA-2 instructions `cpu` implements. FEAT_SHA256 needs FEAT_AdvSIMD, which every
/// Armv8-A CPU with it has; values above 2 are reserved and taken as 2's superset.
pub fn sha2_instructions(cpu: &CpuIdRegisters) -> Sha2Instructions {
    match field(cpu.id_aa64isar0, 12, 4) {
        0 => Sha2Instructions::None,
        1 => Sha2Instructions::Sha256,
        _ => Sha2Instructions::Sha256And512,
    }
}

/// Whether the CPU implements the Scalable Matrix Extension (ID_AA64PFR1_EL1.SME
/// \[27:24\] non-zero), and with it PSTATE.SM/ZA and SVCR.
pub const fn sme_present(id_aa64pfr1: u64) -> bool {
    field(id_aa64pfr1, 24, 4) != 0
}

/// `MDCR_EL2.HPMN` while a realm runs on a CPU with `id_aa64dfr0` whose `PMCR_EL0.N` is
/// `pmcr_n` (its number of event counters).
///
/// Realms have no PMU (every access traps: `MDCR_EL2.TPM`, `TPMCR`), so what HPMN decides is
/// only which counters may count while a realm runs. With HPMN = 0 every counter is in the
/// EL2 range, disabled by `MDCR_EL2.HPME` = 0: nothing counts. HPMN = 0 is CONSTRAINED
/// UNPREDICTABLE without FEAT_HPMN0 (ID_AA64DFR0_EL1.HPMN0 \[63:60\] = 1), so then HPMN is
/// `PMCR_EL0.N`: every counter is in the EL1/EL0 range, which `PMCR_EL0.E` = 0 disables in
/// the Realm world (the RMM clears E at boot, EL3 keeps a per-world PMCR_EL0 and realms
/// cannot write it: TPMCR). Without a PMU (PMUVer \[11:8\] 0 or 0xF) the field is RES0: 0.
pub const fn realm_hpmn(id_aa64dfr0: u64, pmcr_n: u64) -> u64 {
    let pmu_ver = field(id_aa64dfr0, 8, 4);
    if pmu_ver == 0 || pmu_ver == 0xF || field(id_aa64dfr0, 60, 4) == 1 {
        0
    } else {
        pmcr_n & 0x1F
    }
}

/// Whether the CPU has a PMUv3 (ID_AA64DFR0_EL1.PMUVer neither 0 nor IMPLEMENTATION
/// DEFINED), so that PMCR_EL0 exists.
pub const fn pmuv3_present(id_aa64dfr0: u64) -> bool {
    !matches!(field(id_aa64dfr0, 8, 4), 0 | 0xF)
}

/// The fine-grained trap registers a CPU has, so the RMM writes exactly those (each is
/// UNDEFINED without its feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FineGrainedTraps {
    /// FEAT_FGT (ID_AA64MMFR0_EL1.FGT \[59:56\] >= 1): HFGRTR_EL2, HFGWTR_EL2, HFGITR_EL2,
    /// HDFGRTR_EL2, HDFGWTR_EL2.
    pub fgt: bool,
    /// FEAT_FGT with FEAT_AMUv1p1 (ID_AA64PFR0_EL1.AMU \[47:44\] >= 2): HAFGRTR_EL2.
    pub hafgrtr: bool,
    /// FEAT_FGT2 (FGT >= 2) and EL3 enabling it for the Realm world (SCR_EL3.FGTEn2, which
    /// EL3 reports through SMCCC_ARCH_FEATURE_AVAILABILITY; without it EL2's accesses to
    /// these registers trap to EL3): HFGRTR2_EL2, HFGWTR2_EL2, HFGITR2_EL2, HDFGRTR2_EL2,
    /// HDFGWTR2_EL2.
    pub fgt2: bool,
}

/// Whether the CPU with these ID registers has FEAT_FGT2 (before asking EL3 about it).
pub const fn fgt2_present(id_aa64mmfr0: u64) -> bool {
    field(id_aa64mmfr0, 56, 4) >= 2
}

/// The fine-grained trap registers to write on a CPU with these ID registers, `el3_fgt2`
/// saying whether EL3 reported SCR_EL3.FGTEn2 set for the Realm world.
pub const fn fine_grained_traps(
    id_aa64mmfr0: u64,
    id_aa64pfr0: u64,
    el3_fgt2: bool,
) -> FineGrainedTraps {
    let fgt = field(id_aa64mmfr0, 56, 4) >= 1;
    FineGrainedTraps {
        fgt,
        hafgrtr: fgt && field(id_aa64pfr0, 44, 4) >= 2,
        fgt2: fgt2_present(id_aa64mmfr0) && el3_fgt2,
    }
}

/// RMI feature register 0 for this CPU and these capabilities.
pub fn feature_register_0(cpu: &CpuIdRegisters, caps: &Capabilities) -> FeatureRegister0 {
    let pa_bits = pa_range_bits(field(cpu.id_aa64mmfr0, 0, 4));
    let s2sz = if caps.lpa2 {
        pa_bits
    } else {
        pa_bits.min(MAX_S2SZ_WITHOUT_LPA2)
    };
    let sve = caps.sve && field(cpu.id_aa64pfr0, 32, 4) != 0;
    let pmu = caps.pmu && !matches!(field(cpu.id_aa64dfr0, 8, 4), 0 | 0xF);
    FeatureRegister0::default()
        .with_s2sz(s2sz)
        .with_lpa2(false)
        .with_sve_en(sve)
        .with_sve_vl(0)
        .with_num_bps(field(cpu.id_aa64dfr0, 12, 4))
        .with_num_wps(field(cpu.id_aa64dfr0, 20, 4))
        .with_pmu_en(pmu)
        .with_pmu_num_ctrs(0)
        .with_hash_sha_256(caps.sha256)
        .with_hash_sha_512(caps.sha512)
        .with_gicv3_num_lrs(field(cpu.ich_vtr, 0, 5))
        .with_max_recs_order(caps.max_recs_order)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ID registers as QEMU 10 `-cpu max` reports them (PARange 6, 6 BRPs, 4 WRPs, SVE,
    /// 4 list registers, SHA-256 and SHA-512).
    fn qemu_max() -> CpuIdRegisters {
        CpuIdRegisters {
            id_aa64mmfr0: 0x6,
            id_aa64mmfr1: 2 << 4,
            id_aa64pfr0: 1 << 32,
            id_aa64dfr0: (3 << 20) | (5 << 12) | (9 << 8),
            ich_vtr: 3,
            // SHA2 = 2 (SHA-256 and SHA-512) with AES, SHA1 and CRC32 around it.
            id_aa64isar0: (1 << 16) | (2 << 12) | (1 << 8) | (2 << 4),
            more: MoreIdRegisters::default(),
        }
    }

    #[test]
    fn hpmn_is_zero_only_with_hpmn0_or_without_a_pmu() {
        // PMUv3 (PMUVer 1), no FEAT_HPMN0: every counter in the EL1 range.
        assert_eq!(realm_hpmn(1 << 8, 6), 6);
        assert_eq!(realm_hpmn(9 << 8, 31), 31);
        // FEAT_HPMN0: 0.
        assert_eq!(realm_hpmn(1 << 60 | 9 << 8, 6), 0);
        // No PMU, or an IMPLEMENTATION DEFINED one: the field is RES0.
        assert_eq!(realm_hpmn(0, 6), 0);
        assert_eq!(realm_hpmn(0xF << 8, 6), 0);
        // Only N's five bits count; other HPMN0 values are reserved (taken as "not 1").
        assert_eq!(realm_hpmn(1 << 8, 0x3F), 0x1F);
        assert_eq!(realm_hpmn(2 << 60 | 1 << 8, 4), 4);
        assert!(pmuv3_present(1 << 8) && !pmuv3_present(0) && !pmuv3_present(0xF << 8));
    }

    #[test]
    fn fine_grained_trap_registers_follow_the_id_fields_and_el3() {
        let none = fine_grained_traps(0, 0, true);
        assert_eq!(
            none,
            FineGrainedTraps {
                fgt: false,
                hafgrtr: false,
                fgt2: false
            }
        );
        // FEAT_FGT only; AMUv1 (1) is not AMUv1p1.
        let fgt = fine_grained_traps(1 << 56, 1 << 44, true);
        assert!(fgt.fgt && !fgt.hafgrtr && !fgt.fgt2);
        // AMUv1p1 without FGT: no HAFGRTR_EL2.
        assert!(!fine_grained_traps(0, 2 << 44, true).hafgrtr);
        assert!(fine_grained_traps(1 << 56, 2 << 44, false).hafgrtr);
        // FEAT_FGT2 only when EL3 enabled it for the Realm world.
        assert!(fgt2_present(2 << 56) && !fgt2_present(1 << 56));
        assert!(!fine_grained_traps(2 << 56, 0, false).fgt2);
        let fgt2 = fine_grained_traps(2 << 56, 0, true);
        assert!(fgt2.fgt && fgt2.fgt2);
        // Neighbouring fields do not leak in: MMFR0.ECV [63:60] and ExS [47:44] around FGT,
        // PFR0.MPAM [43:40] and DIT [51:48] around AMU.
        assert!(!fine_grained_traps(0xF << 60 | 0xF << 44, 0, true).fgt);
        assert!(!fine_grained_traps(1 << 56, 0xF << 40 | 0xF << 48, true).hafgrtr);
    }

    #[test]
    fn sme_follows_pfr1_sme() {
        assert!(sme_present(1 << 24) && sme_present(2 << 24));
        assert!(!sme_present(0xF << 20 | 0xF << 28));
    }

    #[test]
    fn sha2_instructions_follow_isar0_sha2() {
        assert_eq!(
            sha2_instructions(&qemu_max()),
            Sha2Instructions::Sha256And512
        );
        let only_field = |sha2: u64| CpuIdRegisters {
            id_aa64isar0: sha2 << 12,
            ..CpuIdRegisters::default()
        };
        assert_eq!(sha2_instructions(&only_field(0)), Sha2Instructions::None);
        assert_eq!(sha2_instructions(&only_field(1)), Sha2Instructions::Sha256);
        assert_eq!(
            sha2_instructions(&only_field(2)),
            Sha2Instructions::Sha256And512
        );
        // Neighbouring fields (SHA1 below, CRC32 above) do not leak in.
        let neighbours = CpuIdRegisters {
            id_aa64isar0: (0xF << 8) | (0xF << 16),
            ..CpuIdRegisters::default()
        };
        assert_eq!(sha2_instructions(&neighbours), Sha2Instructions::None);
    }

    #[test]
    fn vmid_width_follows_vmidbits() {
        assert_eq!(vmid_bits(&qemu_max()), 16);
        let old = CpuIdRegisters {
            id_aa64mmfr1: 0,
            ..qemu_max()
        };
        assert_eq!(vmid_bits(&old), 8);
    }

    #[test]
    fn caps_s2sz_at_48_without_lpa2() {
        let f = feature_register_0(&qemu_max(), &RMM_CAPABILITIES);
        assert_eq!(f.0 & 0xFF, 48);
        let narrow = CpuIdRegisters {
            id_aa64mmfr0: 2,
            ..qemu_max()
        };
        assert_eq!(feature_register_0(&narrow, &RMM_CAPABILITIES).0 & 0xFF, 40);
    }

    #[test]
    fn encodes_every_field_where_the_spec_puts_it() {
        let f = feature_register_0(&qemu_max(), &RMM_CAPABILITIES).0;
        let expected = 48 | (5 << 14) | (3 << 20) | (1 << 32) | (1 << 33) | (3 << 34) | (10 << 38);
        assert_eq!(f, expected, "{f:#x} != {expected:#x}");
    }

    #[test]
    fn advertises_sve_and_pmu_only_when_both_hardware_and_rmm_have_them() {
        let all = Capabilities {
            sve: true,
            pmu: true,
            ..RMM_CAPABILITIES
        };
        let f = feature_register_0(&qemu_max(), &all).0;
        assert_eq!((f >> 9) & 1, 1);
        assert_eq!((f >> 26) & 1, 1);
        let bare = CpuIdRegisters {
            id_aa64pfr0: 0,
            id_aa64dfr0: 0xF << 8,
            ..qemu_max()
        };
        let f = feature_register_0(&bare, &all).0;
        assert_eq!((f >> 9) & 1, 0);
        assert_eq!((f >> 26) & 1, 0);
    }
}
