// SPDX-License-Identifier: MIT OR Apache-2.0
//! The realm's GICv3 virtual CPU interface as the host sees it: which `RmiRecEnter` GIC
//! values the RMM accepts, what of them it takes into the REC, and what the exit shows.
//!
//! The rules are the reference RMM's (`docs/reference/tf-rmm-rel0-realm-execution-facts.md`
//! §2.2): the host may set only the ICH_HCR_EL2 bits in [`HOST_HCR_MASK`] (so never En); of
//! the implemented list registers, an invalid one is ignored whole, and a valid one must not
//! be a hardware interrupt, must use only the implemented priority bits, must have no pINTID
//! bits but EOI, must name an INTID a virtual interrupt can have, and must not repeat the
//! vINTID of a later valid one. The RMM keeps En, vSGIEOICount and DVIM, and shows the host
//! only its own bits and EOIcount.

use crate::arch::world::{VGIC_MAX_APRS, VGIC_MAX_LRS, VgicState};
use zerocopy::{Immutable, IntoBytes};

/// ICH_HCR_EL2 bits the host controls: UIE, LRENPIE, NPIE, VGrp0EIE, VGrp0DIE, VGrp1EIE,
/// VGrp1DIE, TDIR.
pub const HOST_HCR_MASK: u64 = 0x40FE;

/// ICH_HCR_EL2 bits an exit shows the host: its own and EOIcount \[31:27\].
pub const EXIT_HCR_MASK: u64 = 0xF800_0000 | HOST_HCR_MASK;

/// ICH_HCR_EL2 a REC starts with: En, vSGIEOICount, DVIM.
pub const INITIAL_HCR: u64 = 0x8101;

/// List registers the `RmiRecEnter`/`RmiRecExit` layout has room for.
pub const MAX_LRS: usize = VGIC_MAX_LRS;

const LR_STATE_SHIFT: u32 = 62;
const LR_HW: u64 = 1 << 61;
const LR_PRIORITY_SHIFT: u32 = 48;
/// pINTID \[44:32\] without EOI (bit 41).
const LR_PINTID_NOT_EOI: u64 = 0x1DFF_0000_0000;

/// What the CPU's virtual interface implements (from ICH_VTR_EL2 at cold boot).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VgicShape {
    /// Implemented list registers (1..=16).
    pub nr_lrs: usize,
    /// Implemented priority bits (5..=8).
    pub pri_bits: u32,
    /// Virtual INTID bits (16 or 24).
    pub id_bits: u32,
    /// Active-priority registers per group (1, 2 or 4).
    pub nr_aprs: usize,
}

impl VgicShape {
    /// The shape ICH_VTR_EL2 `vtr` describes.
    pub const fn from_ich_vtr(vtr: u64) -> Self {
        let nr_lrs = (vtr & 0x1F) as usize + 1;
        let pri_bits = ((vtr >> 29) & 0x7) as u32 + 1;
        let pre_bits = ((vtr >> 26) & 0x7) as u32 + 1;
        Self {
            nr_lrs: if nr_lrs > MAX_LRS { MAX_LRS } else { nr_lrs },
            pri_bits,
            id_bits: if (vtr >> 23) & 0x7 == 1 { 24 } else { 16 },
            nr_aprs: match pre_bits {
                7 => VGIC_MAX_APRS,
                6 => 2,
                _ => 1,
            },
        }
    }

    /// Whether a valid list register may name `vintid` (SGIs, PPIs and SPIs up to 1019, and
    /// LPIs up to the implemented INTID width; no extended ranges).
    const fn vintid_ok(&self, vintid: u64) -> bool {
        vintid <= 1019 || (vintid >= 8192 && vintid < 1 << self.id_bits)
    }
}

/// The host's GIC values are not acceptable (REC_ENTER fails with RMI_ERROR_REC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidGicState;

/// Checks the host's ICH_HCR_EL2 and list register values for an entry.
pub fn validate(shape: &VgicShape, hcr: u64, lrs: &[u64; MAX_LRS]) -> Result<(), InvalidGicState> {
    if hcr & !HOST_HCR_MASK != 0 {
        return Err(InvalidGicState);
    }
    let implemented = &lrs[..shape.nr_lrs.min(MAX_LRS)];
    let valid = |lr: u64| lr >> LR_STATE_SHIFT != 0;
    let vintid = |lr: u64| lr & 0xFFFF_FFFF;
    let unused_priority = (1u64 << (8 - shape.pri_bits.min(8))) - 1;
    for (i, &lr) in implemented.iter().enumerate() {
        if !valid(lr) {
            continue;
        }
        let priority = (lr >> LR_PRIORITY_SHIFT) & 0xFF;
        if lr & LR_HW != 0
            || priority & unused_priority != 0
            || lr & LR_PINTID_NOT_EOI != 0
            || !shape.vintid_ok(vintid(lr))
            || implemented
                .get(i + 1..)
                .unwrap_or(&[])
                .iter()
                .any(|&other| valid(other) && vintid(other) == vintid(lr))
        {
            return Err(InvalidGicState);
        }
    }
    Ok(())
}

/// The REC's ICH_HCR_EL2 after an entry with the host's `host_hcr`: the host's bits
/// replaced, the RMM's kept.
pub const fn entry_hcr(rec_hcr: u64, host_hcr: u64) -> u64 {
    (rec_hcr & !HOST_HCR_MASK) | (host_hcr & HOST_HCR_MASK)
}

/// Takes an entry's host values (which passed [`validate`]) into the REC's virtual CPU
/// interface `gic`: the host's implemented list registers (the others zero) and its
/// ICH_HCR_EL2 bits; the REC's other HCR bits, VMCR and active priorities, which the host
/// never sets, are kept.
pub fn take_host_state(
    gic: &mut VgicState,
    shape: &VgicShape,
    host_hcr: u64,
    host_lrs: &[u64; MAX_LRS],
) {
    let implemented = shape.nr_lrs.min(MAX_LRS);
    gic.hcr = entry_hcr(gic.hcr, host_hcr);
    gic.lrs = [0; MAX_LRS];
    gic.lrs[..implemented].copy_from_slice(&host_lrs[..implemented]);
    gic.misr = 0;
}

/// The GIC group of `RmiRecExit` (offsets 0x300..0x3A0 of the exit half), as written.
#[derive(Debug, Clone, PartialEq, Eq, IntoBytes, Immutable)]
#[repr(C)]
pub struct ExitGic {
    /// `gicv3_hcr`: the host's bits and EOIcount only.
    pub hcr: u64,
    /// `gicv3_lrs`: the implemented list registers after the run, the others zero.
    pub lrs: [u64; MAX_LRS],
    /// `gicv3_misr`.
    pub misr: u64,
    /// `gicv3_vmcr`.
    pub vmcr: u64,
    /// The reserved word after them (the copy moves 16-byte units).
    reserved: u64,
}

impl ExitGic {
    /// An exit that did not run the realm shows no GIC state.
    pub const NONE: Self = Self {
        hcr: 0,
        lrs: [0; MAX_LRS],
        misr: 0,
        vmcr: 0,
        reserved: 0,
    };

    /// What the host may see of the virtual CPU interface `after` a run.
    pub const fn after(after: &VgicState) -> Self {
        Self {
            hcr: after.hcr & EXIT_HCR_MASK,
            lrs: after.lrs,
            misr: after.misr,
            vmcr: after.vmcr,
            reserved: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// QEMU's: 4 LRs, 5 priority bits, 5 preemption bits, 16-bit INTIDs.
    const QEMU: VgicShape = VgicShape::from_ich_vtr(0x9000_0003);

    fn lr(vintid: u64, priority: u64) -> u64 {
        1 << 62 | 1 << 60 | priority << 48 | vintid
    }

    fn with(lrs: &[u64]) -> [u64; MAX_LRS] {
        let mut all = [0; MAX_LRS];
        all[..lrs.len()].copy_from_slice(lrs);
        all
    }

    #[test]
    fn shape_from_ich_vtr() {
        assert_eq!(
            QEMU,
            VgicShape {
                nr_lrs: 4,
                pri_bits: 5,
                id_bits: 16,
                nr_aprs: 1
            }
        );
        let big = VgicShape::from_ich_vtr(0x7 << 29 | 0x6 << 26 | 1 << 23 | 0xF);
        assert_eq!(
            (big.nr_lrs, big.pri_bits, big.id_bits, big.nr_aprs),
            (16, 8, 24, 4)
        );
        // Six preemption bits use two active-priority registers per group, five or fewer one.
        let six = VgicShape::from_ich_vtr(0x5 << 29 | 0x5 << 26 | 0x7);
        assert_eq!((six.nr_lrs, six.pri_bits, six.nr_aprs), (8, 6, 2));
        assert_eq!(VgicShape::from_ich_vtr(0x4 << 26).nr_aprs, 1);
        // A ListRegs field above 15 (not architected) is held to the 16 the ABI has room for.
        assert_eq!(VgicShape::from_ich_vtr(0x1F).nr_lrs, MAX_LRS);
    }

    #[test]
    fn accepts_what_the_host_may_set() {
        assert_eq!(validate(&QEMU, HOST_HCR_MASK, &with(&[])), Ok(()));
        let lrs = with(&[lr(27, 0xA0), lr(8192, 0), 0, lr(15, 0xF8) | 1 << 41]);
        assert_eq!(validate(&QEMU, 0, &lrs), Ok(()));
        // An invalid LR is not looked at; LRs past the implemented ones are ignored.
        let lrs = with(&[u64::MAX >> 2, 0, 0, 0, lr(27, 0xA0) | LR_HW]);
        assert_eq!(validate(&QEMU, 0, &lrs), Ok(()));
    }

    #[test]
    fn refuses_every_bad_value() {
        for hcr in [1, 1 << 8, 1 << 15, 1 << 27] {
            assert_eq!(
                validate(&QEMU, hcr, &with(&[])),
                Err(InvalidGicState),
                "{hcr:#x}"
            );
        }
        for (what, lrs) in [
            ("hardware interrupt", with(&[lr(27, 0) | LR_HW])),
            ("unimplemented priority bit", with(&[lr(27, 0xA4)])),
            ("pINTID bits", with(&[lr(27, 0) | 1 << 32])),
            ("INTID 1020", with(&[lr(1020, 0)])),
            ("INTID between SPIs and LPIs", with(&[lr(4096, 0)])),
            ("INTID past 16 bits", with(&[lr(1 << 16, 0)])),
            ("same INTID twice", with(&[lr(27, 0), 0, lr(27, 0x10)])),
        ] {
            assert_eq!(validate(&QEMU, 0, &lrs), Err(InvalidGicState), "{what}");
        }
    }

    #[test]
    fn entry_takes_the_hosts_lrs_and_keeps_the_recs_state() {
        let saved = VgicState {
            hcr: INITIAL_HCR | 0x2 | 3 << 27,
            vmcr: 0xF800_0002,
            ap0r: [1, 0, 0, 0],
            ap1r: [2, 0, 0, 0],
            lrs: [7; MAX_LRS],
            misr: 9,
        };
        let host = [lr(27, 0xA0); MAX_LRS];
        let mut state = saved.clone();
        take_host_state(&mut state, &QEMU, 0x4, &host);
        assert_eq!(state.hcr, INITIAL_HCR | 0x4 | 3 << 27);
        assert_eq!(
            (state.vmcr, state.ap0r, state.ap1r),
            (saved.vmcr, saved.ap0r, saved.ap1r)
        );
        assert_eq!(&state.lrs[..4], &host[..4]);
        assert!(
            state.lrs[4..].iter().all(|&l| l == 0),
            "unimplemented LRs are zero"
        );
        assert_eq!(state.misr, 0);

        let exit = ExitGic::after(&VgicState {
            hcr: u64::MAX,
            ..state.clone()
        });
        assert_eq!(exit.hcr, EXIT_HCR_MASK, "never En, vSGIEOICount, DVIM");
        assert_eq!(exit.lrs, state.lrs);
        assert_eq!(exit.as_bytes().len(), 0xA0);
    }

    #[test]
    fn the_rmm_keeps_its_hcr_bits() {
        assert_eq!(
            entry_hcr(INITIAL_HCR, u64::MAX),
            INITIAL_HCR | HOST_HCR_MASK
        );
        assert_eq!(entry_hcr(INITIAL_HCR | 0x2, 0), INITIAL_HCR);
        assert_eq!(
            EXIT_HCR_MASK & INITIAL_HCR,
            0,
            "En, vSGIEOICount, DVIM never shown"
        );
    }
}
