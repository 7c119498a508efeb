// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RmiRecRun` (RMM 1.0-rel0 A.6.3): the 4 KiB NS granule passed to `RMI_REC_ENTER`, made of
//! [`RecEnter`] (host → RMM, 0x000) and [`RecExit`] (RMM → host, 0x800), plus
//! [`RecEnterFlags`].
//!
//! Fields the specification declares narrower than 64 bits (`exit_reason` UInt8, `ripas_value`
//! UInt8, `imm` UInt16, `pmu_ovf_status` UInt8) are 64-bit slots here: the RMM writes the
//! exit, so it writes each value zero-extended into a zeroed structure (TF-RMM zeroes the whole
//! exit before every run), which reads correctly whatever width the host declares.

use core::mem::{offset_of, size_of};
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Number of GICv3 list-register slots in `RecEnter`/`RecExit`.
pub const REC_GIC_NUM_LRS: usize = 16;

/// Number of GPRs (x0..x30) in `RecEnter`/`RecExit`.
pub const REC_RUN_NR_GPRS: usize = 31;

abi_flags! {
    /// `RmiRecEnterFlags` (`RecEnter::flags`).
    pub struct RecEnterFlags {
        /// Bit 0: the host emulated the last MMIO data abort (read value in `gprs[0]`).
        const EMUL_MMIO = 1 << 0;
        /// Bit 1: inject a synchronous external abort (unprotected IPA only).
        const INJECT_SEA = 1 << 1;
        /// Bit 2: trap WFI executed by the realm to the host.
        const TRAP_WFI = 1 << 2;
        /// Bit 3: trap WFE executed by the realm to the host.
        const TRAP_WFE = 1 << 3;
        /// Bit 4: RIPAS change response; set = REJECT.
        const RIPAS_RESPONSE = 1 << 4;
    }
}

/// `RmiRecEnter`, 0x800 bytes.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RecEnter {
    /// 0x000: [`RecEnterFlags`].
    pub flags: u64,
    _reserved0: [u8; 0x200 - 0x8],
    /// 0x200: x0..x30 (host-call results, MMIO read value in `gprs[0]`).
    pub gprs: [u64; REC_RUN_NR_GPRS],
    _reserved1: [u8; 0x300 - 0x2F8],
    /// 0x300: ICH_HCR_EL2 value requested by the host.
    pub gicv3_hcr: u64,
    /// 0x308: `ICH_LR<n>_EL2` values requested by the host.
    pub gicv3_lrs: [u64; REC_GIC_NUM_LRS],
    _reserved2: [u8; 0x800 - 0x388],
}

/// `RmiRecExit`, 0x800 bytes (offsets below are within the exit; add 0x800 in the run page).
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RecExit {
    /// 0x000: [`crate::rmi::exit::RecExitReason`] (spec UInt8).
    pub exit_reason: u64,
    _reserved0: [u8; 0x100 - 0x8],
    /// 0x100: sanitised ESR_EL2.
    pub esr: u64,
    /// 0x108: FAR_EL2.
    pub far: u64,
    /// 0x110: HPFAR_EL2.
    pub hpfar: u64,
    _reserved1: [u8; 0x200 - 0x118],
    /// 0x200: x0..x30 (PSCI and host-call arguments, MMIO write value in `gprs[0]`).
    pub gprs: [u64; REC_RUN_NR_GPRS],
    _reserved2: [u8; 0x300 - 0x2F8],
    /// 0x300: ICH_HCR_EL2.
    pub gicv3_hcr: u64,
    /// 0x308: `ICH_LR<n>_EL2`.
    pub gicv3_lrs: [u64; REC_GIC_NUM_LRS],
    /// 0x388: ICH_MISR_EL2.
    pub gicv3_misr: u64,
    /// 0x390: ICH_VMCR_EL2.
    pub gicv3_vmcr: u64,
    _reserved3: [u8; 0x400 - 0x398],
    /// 0x400: CNTP_CTL_EL0.
    pub cntp_ctl: u64,
    /// 0x408: CNTP_CVAL_EL0.
    pub cntp_cval: u64,
    /// 0x410: CNTV_CTL_EL0.
    pub cntv_ctl: u64,
    /// 0x418: CNTV_CVAL_EL0.
    pub cntv_cval: u64,
    _reserved4: [u8; 0x500 - 0x420],
    /// 0x500: base of the requested RIPAS change (also the CSM exits' range base).
    pub ripas_base: u64,
    /// 0x508: top of the requested RIPAS change (also the CSM exits' range top).
    pub ripas_top: u64,
    /// 0x510: requested RIPAS, [`crate::rmi::states::Ripas`] (spec UInt8).
    pub ripas_value: u64,
    _reserved5: [u8; 0x600 - 0x518],
    /// 0x600: host-call immediate (spec UInt16).
    pub imm: u64,
    _reserved6: [u8; 0x700 - 0x608],
    /// 0x700: PMU overflow status, [`crate::rmi::states::PmuOverflowStatus`] (spec UInt8).
    pub pmu_ovf_status: u64,
    _reserved7: [u8; 0x800 - 0x708],
}

/// `RmiRecRun`, 0x1000 bytes.
#[derive(Clone, Debug, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RecRun {
    /// 0x000: entry information (host → RMM).
    pub enter: RecEnter,
    /// 0x800: exit information (RMM → host).
    pub exit: RecExit,
}

impl RecEnter {
    /// An all-zero structure.
    pub const fn zeroed() -> Self {
        Self {
            flags: 0,
            _reserved0: [0; 0x200 - 0x8],
            gprs: [0; REC_RUN_NR_GPRS],
            _reserved1: [0; 0x300 - 0x2F8],
            gicv3_hcr: 0,
            gicv3_lrs: [0; REC_GIC_NUM_LRS],
            _reserved2: [0; 0x800 - 0x388],
        }
    }
}

impl RecExit {
    /// An all-zero structure (what the RMM starts from before filling an exit).
    pub const fn zeroed() -> Self {
        Self {
            exit_reason: 0,
            _reserved0: [0; 0x100 - 0x8],
            esr: 0,
            far: 0,
            hpfar: 0,
            _reserved1: [0; 0x200 - 0x118],
            gprs: [0; REC_RUN_NR_GPRS],
            _reserved2: [0; 0x300 - 0x2F8],
            gicv3_hcr: 0,
            gicv3_lrs: [0; REC_GIC_NUM_LRS],
            gicv3_misr: 0,
            gicv3_vmcr: 0,
            _reserved3: [0; 0x400 - 0x398],
            cntp_ctl: 0,
            cntp_cval: 0,
            cntv_ctl: 0,
            cntv_cval: 0,
            _reserved4: [0; 0x500 - 0x420],
            ripas_base: 0,
            ripas_top: 0,
            ripas_value: 0,
            _reserved5: [0; 0x600 - 0x518],
            imm: 0,
            _reserved6: [0; 0x700 - 0x608],
            pmu_ovf_status: 0,
            _reserved7: [0; 0x800 - 0x708],
        }
    }
}

impl RecRun {
    /// An all-zero structure.
    pub const fn zeroed() -> Self {
        Self {
            enter: RecEnter::zeroed(),
            exit: RecExit::zeroed(),
        }
    }
}

/// Offset of [`RecRun::exit`] in the run granule.
pub const REC_RUN_EXIT_OFFSET: usize = 0x800;

const _: () = assert!(size_of::<RecEnter>() == 0x800);
const _: () = assert!(offset_of!(RecEnter, flags) == 0x000);
const _: () = assert!(offset_of!(RecEnter, gprs) == 0x200);
const _: () = assert!(offset_of!(RecEnter, gicv3_hcr) == 0x300);
const _: () = assert!(offset_of!(RecEnter, gicv3_lrs) == 0x308);

const _: () = assert!(size_of::<RecExit>() == 0x800);
const _: () = assert!(offset_of!(RecExit, exit_reason) == 0x000);
const _: () = assert!(offset_of!(RecExit, esr) == 0x100);
const _: () = assert!(offset_of!(RecExit, far) == 0x108);
const _: () = assert!(offset_of!(RecExit, hpfar) == 0x110);
const _: () = assert!(offset_of!(RecExit, gprs) == 0x200);
const _: () = assert!(offset_of!(RecExit, gicv3_hcr) == 0x300);
const _: () = assert!(offset_of!(RecExit, gicv3_lrs) == 0x308);
const _: () = assert!(offset_of!(RecExit, gicv3_misr) == 0x388);
const _: () = assert!(offset_of!(RecExit, gicv3_vmcr) == 0x390);
const _: () = assert!(offset_of!(RecExit, cntp_ctl) == 0x400);
const _: () = assert!(offset_of!(RecExit, cntp_cval) == 0x408);
const _: () = assert!(offset_of!(RecExit, cntv_ctl) == 0x410);
const _: () = assert!(offset_of!(RecExit, cntv_cval) == 0x418);
const _: () = assert!(offset_of!(RecExit, ripas_base) == 0x500);
const _: () = assert!(offset_of!(RecExit, ripas_top) == 0x508);
const _: () = assert!(offset_of!(RecExit, ripas_value) == 0x510);
const _: () = assert!(offset_of!(RecExit, imm) == 0x600);
const _: () = assert!(offset_of!(RecExit, pmu_ovf_status) == 0x700);

const _: () = assert!(size_of::<RecRun>() == 0x1000);
const _: () = assert!(offset_of!(RecRun, enter) == 0x000);
const _: () = assert!(offset_of!(RecRun, exit) == REC_RUN_EXIT_OFFSET);

#[cfg(test)]
mod tests {
    use super::*;

    fn put_u64(buf: &mut [u8], off: usize, v: u64) {
        buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn enter_flags() {
        assert_eq!(RecEnterFlags::EMUL_MMIO.bits(), 1);
        assert_eq!(RecEnterFlags::INJECT_SEA.bits(), 2);
        assert_eq!(RecEnterFlags::TRAP_WFI.bits(), 4);
        assert_eq!(RecEnterFlags::TRAP_WFE.bits(), 8);
        assert_eq!(RecEnterFlags::RIPAS_RESPONSE.bits(), 0x10);
        assert_eq!(RecEnterFlags::from_bits(0x1F), Some(RecEnterFlags::ALL));
        assert_eq!(RecEnterFlags::from_bits(0x20), None);
    }

    #[test]
    fn run_page_offsets() {
        let mut buf = [0u8; 0x1000];
        put_u64(&mut buf, 0x000, 0x11);
        put_u64(&mut buf, 0x200, 0xAA);
        put_u64(&mut buf, 0x2F0, 0xBB);
        put_u64(&mut buf, 0x300, 0xCC);
        put_u64(&mut buf, 0x308, 0xD0);
        put_u64(&mut buf, 0x380, 0xDF);
        put_u64(&mut buf, 0x800, 5);
        put_u64(&mut buf, 0x900, 0x9200_0046);
        put_u64(&mut buf, 0x908, 0x1234);
        put_u64(&mut buf, 0x910, 0x5670);
        put_u64(&mut buf, 0xA00, 1);
        put_u64(&mut buf, 0xAF0, 30);
        put_u64(&mut buf, 0xB88, 0x77);
        put_u64(&mut buf, 0xB90, 0x88);
        put_u64(&mut buf, 0xC18, 0x99);
        put_u64(&mut buf, 0xD00, 0x1000);
        put_u64(&mut buf, 0xD08, 0x2000);
        put_u64(&mut buf, 0xD10, 1);
        put_u64(&mut buf, 0xE00, 0xBEEF);
        put_u64(&mut buf, 0xF00, 1);

        let run = RecRun::read_from_bytes(&buf).expect("size matches");
        assert_eq!(run.enter.flags, 0x11);
        assert_eq!(run.enter.gprs[0], 0xAA);
        assert_eq!(run.enter.gprs[30], 0xBB);
        assert_eq!(run.enter.gicv3_hcr, 0xCC);
        assert_eq!(run.enter.gicv3_lrs[0], 0xD0);
        assert_eq!(run.enter.gicv3_lrs[15], 0xDF);
        assert_eq!(run.exit.exit_reason, 5);
        assert_eq!(run.exit.esr, 0x9200_0046);
        assert_eq!(run.exit.far, 0x1234);
        assert_eq!(run.exit.hpfar, 0x5670);
        assert_eq!(run.exit.gprs[0], 1);
        assert_eq!(run.exit.gprs[30], 30);
        assert_eq!(run.exit.gicv3_misr, 0x77);
        assert_eq!(run.exit.gicv3_vmcr, 0x88);
        assert_eq!(run.exit.cntv_cval, 0x99);
        assert_eq!(run.exit.ripas_base, 0x1000);
        assert_eq!(run.exit.ripas_top, 0x2000);
        assert_eq!(run.exit.ripas_value, 1);
        assert_eq!(run.exit.imm, 0xBEEF);
        assert_eq!(run.exit.pmu_ovf_status, 1);
        assert_eq!(run.as_bytes(), &buf[..]);

        let enter = RecEnter::read_from_bytes(&buf[..0x800]).expect("size matches");
        assert_eq!(enter, run.enter);
        let exit = RecExit::read_from_bytes(&buf[REC_RUN_EXIT_OFFSET..]).expect("size matches");
        assert_eq!(exit, run.exit);
    }

    #[test]
    fn zeroed_is_all_zero() {
        assert!(RecRun::zeroed().as_bytes().iter().all(|&b| b == 0));
    }
}
