// SPDX-License-Identifier: MIT OR Apache-2.0
//! The EL2 configuration a realm runs under, computed from its RD: VTCR_EL2 (the stage-2
//! shape), VTTBR_EL2 (VMID and root) and HCR_EL2 (what traps to the RMM), plus the virtual
//! MPIDR of its REC. Pure functions; the world switch only installs the values.

use crate::arch::world::RealmEntryConfig;
use crate::realm::descriptor::RealmConfig;
use crate::rtt::walk::Stage2;
use crate::vcpu::gic::VgicShape;

/// HCR_EL2 bits (Arm ARM D19.2.49).
mod hcr {
    /// Stage-2 translation on.
    pub const VM: u64 = 1 << 0;
    /// Set/way invalidation becomes clean+invalidate.
    pub const SWIO: u64 = 1 << 1;
    /// Stage-1 table walks to Device memory fault (protected table walk).
    pub const PTW: u64 = 1 << 2;
    /// Physical FIQ, IRQ and SError go to EL2 (and virtual ones can be signalled).
    pub const FMO: u64 = 1 << 3;
    /// See [`FMO`].
    pub const IMO: u64 = 1 << 4;
    /// See [`FMO`].
    pub const AMO: u64 = 1 << 5;
    /// Broadcast TLB and cache maintenance inner shareable: a realm's own EL1 TLB
    /// maintenance reaches every CPU its RECs ran on (the RMM does not track where a VMID
    /// last ran; TF-RMM rel0 does not set it).
    pub const FB: u64 = 1 << 9;
    /// Barriers at least inner shareable.
    pub const BSU_IS: u64 = 1 << 10;
    /// Trap WFI.
    pub const TWI: u64 = 1 << 13;
    /// Trap WFE.
    pub const TWE: u64 = 1 << 14;
    /// Trap reads of the ID registers (group 3), which the RMM sanitises.
    pub const TID3: u64 = 1 << 18;
    /// Trap SMC (RSI and PSCI reach the RMM this way).
    pub const TSC: u64 = 1 << 19;
    /// Trap implementation-defined system registers: the RMM switches none, so a realm could
    /// otherwise change IMPLEMENTATION DEFINED CPU state under the host or the next realm
    /// (TF-RMM rel0 does not set it). They read as zero and ignore writes.
    pub const TIDCP: u64 = 1 << 20;
    /// Trap ACTLR_EL1: the RMM does not switch it (TF-RMM rel0 does, and does not trap), so a
    /// realm's write would land in the host's. Reads as zero, writes ignored.
    pub const TACR: u64 = 1 << 21;
    /// EL1 is AArch64.
    pub const RW: u64 = 1 << 31;
    /// Trap the LORegions registers (FEAT_LOR): the RMM does not switch them.
    pub const TLOR: u64 = 1 << 35;
    /// Trap the RAS error record registers (FEAT_RAS): the RMM does not switch them.
    pub const TERR: u64 = 1 << 36;
    /// Route synchronous external aborts to EL2.
    pub const TEA: u64 = 1 << 37;
    /// Stage-2 attributes override stage 1 (the RTT encoding relies on it).
    pub const FWB: u64 = 1 << 46;
    /// Key-register accesses at EL1 do not trap (FEAT_PAuth): never set here.
    #[cfg(test)]
    pub const APK: u64 = 1 << 40;
    /// PAC instructions at EL1/EL0 do not trap: never set here.
    #[cfg(test)]
    pub const API: u64 = 1 << 41;
}

/// HCR_EL2 while a realm runs, with WFI/WFE trapped as the host asked.
///
/// Pointer authentication starts trapped (APK/API clear): the world switch loads the realm's
/// keys on its first key access or PAC instruction and sets APK/API itself for the rest of
/// that run (at entry, once the REC has used PAuth: `arch::world::PauthKeys`). The LORegions and
/// RAS error record registers (TLOR, TERR) trap too, and read as zero and ignore writes like
/// other unknown system registers: the RMM does not switch them, so a realm could otherwise
/// leave state in them for the next realm (or the host) on that CPU. Both bits are RES0 (so
/// ignored) on a CPU without the feature.
pub const fn hcr_el2(trap_wfi: bool, trap_wfe: bool) -> u64 {
    let mut value = hcr::VM
        | hcr::SWIO
        | hcr::PTW
        | hcr::FMO
        | hcr::IMO
        | hcr::AMO
        | hcr::FB
        | hcr::BSU_IS
        | hcr::TID3
        | hcr::TSC
        | hcr::TIDCP
        | hcr::TACR
        | hcr::RW
        | hcr::TLOR
        | hcr::TERR
        | hcr::TEA
        | hcr::FWB;
    if trap_wfi {
        value |= hcr::TWI;
    }
    if trap_wfe {
        value |= hcr::TWE;
    }
    value
}

/// VTCR_EL2 for a realm's stage 2: 4 KiB granule, inner-shareable write-back walks, the IPA
/// width and starting level from its RD, output size `ps` (VTCR_EL2.PS encoding) and 16-bit
/// VMIDs if the CPU has them.
pub const fn vtcr_el2(s2: &Stage2, ps: u8, vmid16: bool) -> u64 {
    let t0sz = 64 - s2.ipa_bits as u64;
    // SL0 for TG0 = 4 KiB: level 2 → 0, level 1 → 1, level 0 → 2 (level 3 → 3 with TTST).
    let sl0 = match s2.start_level.as_u64() {
        0 => 2,
        1 => 1,
        2 => 0,
        _ => 3,
    };
    let irgn0_wb = 0b01 << 8;
    let orgn0_wb = 0b01 << 10;
    let sh0_inner = 0b11 << 12;
    let res1 = 1 << 31;
    let vs = if vmid16 { 1 << 19 } else { 0 };
    t0sz | sl0 << 6 | irgn0_wb | orgn0_wb | sh0_inner | (ps as u64 & 0b111) << 16 | vs | res1
}

/// VTTBR_EL2: the realm's VMID and its first root table.
pub const fn vttbr_el2(s2: &Stage2, vmid: u16) -> u64 {
    (vmid as u64) << 48 | s2.rtt_base.get()
}

/// VMPIDR_EL2 for a REC with `mpidr` (affinity fields as REC_CREATE accepted them): bit 31 is
/// RES1 in MPIDR_EL1, and U (bit 30) stays 0 (multiprocessor system).
pub const fn vmpidr_el2(mpidr: u64) -> u64 {
    mpidr | 1 << 31
}

/// The CPU features an entry configuration depends on (fixed at cold boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuShape {
    /// VTCR_EL2.PS for realms.
    pub ps: u8,
    /// Width of VMIDs (8 or 16).
    pub vmid_bits: u8,
    /// The virtual CPU interface.
    pub vgic: VgicShape,
}

/// The whole entry configuration for one REC of `realm`.
pub fn entry_config(
    realm: &RealmConfig,
    mpidr: u64,
    cpu: &CpuShape,
    trap_wfi: bool,
    trap_wfe: bool,
) -> RealmEntryConfig {
    RealmEntryConfig {
        vttbr: vttbr_el2(&realm.s2, realm.vmid),
        vtcr: vtcr_el2(&realm.s2, cpu.ps, cpu.vmid_bits == 16),
        hcr: hcr_el2(trap_wfi, trap_wfe),
        vmpidr: vmpidr_el2(mpidr),
        vgic_lrs: cpu.vgic.nr_lrs,
        vgic_aprs: cpu.vgic.nr_aprs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::granule::GranuleAddr;
    use crate::rtt::level::RttLevel;

    fn s2(ipa_bits: u8, level: i64) -> Stage2 {
        Stage2 {
            rtt_base: GranuleAddr::new(0x8800_0000).unwrap(),
            start_level: RttLevel::new(level).unwrap(),
            num_roots: 1,
            ipa_bits,
        }
    }

    #[test]
    fn vtcr_fields() {
        // 48-bit IPA from level 0, 48-bit PS, 16-bit VMIDs.
        let v = vtcr_el2(&s2(48, 0), 5, true);
        assert_eq!(v & 0x3F, 16, "T0SZ");
        assert_eq!(v >> 6 & 0b11, 2, "SL0 for level 0");
        assert_eq!(v >> 14 & 0b11, 0, "TG0 4K");
        assert_eq!(v >> 16 & 0b111, 5, "PS");
        assert_eq!(v >> 19 & 1, 1, "VS");
        assert_eq!(v >> 12 & 0b11, 0b11, "SH0 inner");
        assert_eq!(v >> 31 & 1, 1, "RES1");
        // The whole value: T0SZ 16, SL0 2 << 6, IRGN0 and ORGN0 write-back (0b01 << 8 and
        // << 10), SH0 inner (0b11 << 12), PS 5 << 16, VS 1 << 19, RES1 1 << 31.
        assert_eq!(v, 0x800D_3590);
        // 32-bit IPA from level 2, 8-bit VMIDs.
        let v = vtcr_el2(&s2(32, 2), 2, false);
        assert_eq!(v & 0x3F, 32);
        assert_eq!(v >> 6 & 0b11, 0);
        assert_eq!(v >> 19 & 1, 0);
        assert_eq!(vtcr_el2(&s2(39, 1), 5, true) >> 6 & 0b11, 1);
    }

    #[test]
    fn vttbr_and_hcr() {
        assert_eq!(vttbr_el2(&s2(40, 1), 0x1234), 0x1234_0000_8800_0000);
        let h = hcr_el2(false, true);
        assert_ne!(
            h & hcr::TSC,
            0,
            "SMC must trap or RSI never reaches the RMM"
        );
        assert_ne!(h & hcr::VM, 0);
        assert_ne!(h & hcr::TID3, 0, "ID registers are sanitised");
        assert_eq!(
            h & 1 << 29,
            0,
            "HCD is RES0 with EL3 implemented: SCR_EL3.HCE decides"
        );
        assert_ne!(h & hcr::TLOR, 0, "LORegions registers trap");
        assert_ne!(h & hcr::TERR, 0, "RAS error record registers trap");
        assert_eq!(
            h & (hcr::APK | hcr::API),
            0,
            "PAuth traps until the world switch loads the realm's keys"
        );
        assert_eq!(h & hcr::TWI, 0);
        assert_ne!(h & hcr::TWE, 0);
        assert_eq!(vmpidr_el2(0x0001_0203), 0x8001_0203);
    }

    /// The whole of HCR_EL2, written out from the Arm ARM's bit positions (D19.2.49) rather
    /// than from this module's constants, so a constant at the wrong bit is caught: VM 0,
    /// SWIO 1, PTW 2, FMO 3, IMO 4, AMO 5, FB 9, BSU 10 (inner shareable), TID3 18, TSC 19,
    /// TIDCP 20, TACR 21, RW 31, TLOR 35, TERR 36, TEA 37, FWB 46; TWI 13 and TWE 14 as asked;
    /// APK 40 and API 41 never; HCD 29 not (RES0 when EL3 is implemented, as with CCA always:
    /// SCR_EL3.HCE decides, and a realm's HVC traps to the RMM, which injects UNDEFINED).
    #[test]
    fn hcr_is_exactly_the_documented_bits() {
        let always = 0x0000_4038_803C_063F;
        assert_eq!(hcr_el2(false, false), always);
        assert_eq!(hcr_el2(true, false), always | 1 << 13);
        assert_eq!(hcr_el2(false, true), always | 1 << 14);
        assert_eq!(hcr_el2(true, true), always | 1 << 13 | 1 << 14);
        assert_eq!(hcr::APK | hcr::API, 0b11 << 40);
    }
}
