// SPDX-License-Identifier: MIT OR Apache-2.0
//! The hypervisor's own FP/SIMD registers (V0..V31, FPCR, FPSR): filled with a pattern before
//! every REC_ENTER and checked after it, so a realm's values never show up here and ours
//! never survive into a realm unnoticed (the registers are moved by `realm_protocol::fp`;
//! EL2 FP/SIMD access is never trapped here: CPTR_EL2.TFP is clear).

use realm_protocol::fp::{FpState, load, save};

/// The hypervisor's pattern: every word of V0..V31 distinct, FPCR with RMode = toward zero
/// and FZ, FPSR with QC and IOC set.
pub const HOST_PATTERN: FpState = {
    let mut s = [0u64; 66];
    let mut i = 0;
    while i < 64 {
        s[i] = 0x4057_0000_0000_0000 | (i as u64) << 8 | 0x5A;
        i += 1;
    }
    s[64] = 0x01C0_0000;
    s[65] = 0x0800_0001;
    FpState(s)
};

/// Fills the registers with [`HOST_PATTERN`].
pub fn fill() {
    load(&HOST_PATTERN);
}

/// Whether the registers still hold [`HOST_PATTERN`]; the first word that differs if not.
pub fn intact() -> Result<(), (usize, u64)> {
    let mut now = FpState([0; 66]);
    save(&mut now);
    match now
        .0
        .iter()
        .zip(HOST_PATTERN.0.iter())
        .position(|(a, b)| a != b)
    {
        None => Ok(()),
        Some(i) => Err((i, now.0[i])),
    }
}
