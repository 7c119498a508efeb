// SPDX-License-Identifier: MIT OR Apache-2.0
//! The GICv3 virtual CPU interface registers (ICH_*_EL2) of this CPU, loaded from and saved
//! into a [`VgicState`] around a realm's run, and the CPU-interface set-up that lets a realm
//! reach them (`ICC_SRE_EL2`).
//!
//! Only the implemented list and active-priority registers may be accessed (the others are
//! UNDEFINED), so every access goes through an index match bounded by the counts the caller
//! took from ICH_VTR_EL2. Registers are named by their encodings, which every assembler
//! accepts.
//!
//! This file may not decide what the values are: the vGIC rules above `arch` do.

use super::realm_sysregs::{mrs, msr};
use crate::arch::world::{VGIC_MAX_APRS, VGIC_MAX_LRS, VgicState};

/// Generates a reader and a writer of the `n`th register of a numbered family.
macro_rules! numbered {
    ($read:ident, $write:ident, $($n:literal => $reg:literal),* $(,)?) => {
        fn $read(n: usize) -> u64 {
            match n {
                $( $n => mrs!($reg), )*
                _ => 0,
            }
        }

        fn $write(n: usize, value: u64) {
            match n {
                $( $n => msr!($reg, value), )*
                _ => {}
            }
        }
    };
}

numbered!(read_lr, write_lr,
    0 => "S3_4_C12_C12_0", 1 => "S3_4_C12_C12_1", 2 => "S3_4_C12_C12_2",
    3 => "S3_4_C12_C12_3", 4 => "S3_4_C12_C12_4", 5 => "S3_4_C12_C12_5",
    6 => "S3_4_C12_C12_6", 7 => "S3_4_C12_C12_7", 8 => "S3_4_C12_C13_0",
    9 => "S3_4_C12_C13_1", 10 => "S3_4_C12_C13_2", 11 => "S3_4_C12_C13_3",
    12 => "S3_4_C12_C13_4", 13 => "S3_4_C12_C13_5", 14 => "S3_4_C12_C13_6",
    15 => "S3_4_C12_C13_7",
);

numbered!(read_ap0r, write_ap0r,
    0 => "S3_4_C12_C8_0", 1 => "S3_4_C12_C8_1", 2 => "S3_4_C12_C8_2", 3 => "S3_4_C12_C8_3",
);

numbered!(read_ap1r, write_ap1r,
    0 => "S3_4_C12_C9_0", 1 => "S3_4_C12_C9_1", 2 => "S3_4_C12_C9_2", 3 => "S3_4_C12_C9_3",
);

/// ICC_SRE_EL2: SRE (system-register interface at EL2), DFB, DIB, and Enable (EL1 may use
/// ICC_SRE_EL1, whose SRE then reads as one).
const ICC_SRE_EL2_RMM: u64 = 0b1111;

/// Lets this CPU's realms use the GIC system-register interface (once per CPU at boot).
pub fn init_cpu() {
    msr!("S3_4_C12_C9_5", ICC_SRE_EL2_RMM);
    // SAFETY: a barrier; no memory or register effects beyond ordering.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
}

/// Loads `gic` into the virtual CPU interface: the first `aprs` active-priority registers of
/// each group, the first `lrs` list registers, VMCR and (last, since it enables the
/// interface) HCR. Returns whether any list register is in use (not all-zero).
pub fn load(gic: &VgicState, lrs: usize, aprs: usize) -> bool {
    // Iterators, not indexing: no bounds check (and no panic path) in the world switch.
    let groups = gic.ap0r.iter().zip(&gic.ap1r);
    for (n, (&ap0r, &ap1r)) in groups.enumerate().take(aprs.min(VGIC_MAX_APRS)) {
        write_ap0r(n, ap0r);
        write_ap1r(n, ap1r);
    }
    let mut in_use = 0;
    for (n, &lr) in gic.lrs.iter().enumerate().take(lrs.min(VGIC_MAX_LRS)) {
        write_lr(n, lr);
        in_use |= lr;
    }
    msr!("S3_4_C12_C11_7", gic.vmcr);
    msr!("S3_4_C12_C11_0", gic.hcr);
    in_use != 0
}

/// Saves the virtual CPU interface into `gic` (MISR included), then disables it and clears
/// its list and active-priority registers. `lrs_in_use` is what [`load`] said: list
/// registers loaded all-zero are still all-zero (only the hardware changes them, and only
/// the state of a valid one), so they are neither read nor cleared. The active priorities
/// always are: the realm may write them.
pub fn save_and_clear(gic: &mut VgicState, lrs: usize, aprs: usize, lrs_in_use: bool) {
    gic.misr = mrs!("S3_4_C12_C11_2");
    gic.hcr = mrs!("S3_4_C12_C11_0");
    gic.vmcr = mrs!("S3_4_C12_C11_7");
    msr!("S3_4_C12_C11_0", 0);
    let groups = gic.ap0r.iter_mut().zip(&mut gic.ap1r);
    for (n, (ap0r, ap1r)) in groups.enumerate().take(aprs.min(VGIC_MAX_APRS)) {
        *ap0r = read_ap0r(n);
        *ap1r = read_ap1r(n);
        write_ap0r(n, 0);
        write_ap1r(n, 0);
    }
    if lrs_in_use {
        for (n, lr) in gic.lrs.iter_mut().enumerate().take(lrs.min(VGIC_MAX_LRS)) {
            *lr = read_lr(n);
            write_lr(n, 0);
        }
    }
}
