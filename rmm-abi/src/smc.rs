// SPDX-License-Identifier: MIT OR Apache-2.0
//! SMC Calling Convention (SMCCC) basics: function-identifier encoding, owning entity numbers,
//! the SMCCC v1.3 SVE hint bit and the generic return values.
//!
//! Function identifiers are `u32` (SMCCC passes them in W0). Widen with `u64::from` to compare
//! with a 64-bit x0; the `from_fid` decoders in this crate take the full x0 and reject values
//! with bits 63:32 set.

/// SMCCC v1.3 "SVE live state not needed" hint, bit 16 of the FID. TF-A ORs it into the FID it
/// forwards to the RMM; it must be stripped before dispatch.
pub const SMC_SVE_HINT: u64 = 1 << 16;

/// `SMC_UNKNOWN` / `NOT_SUPPORTED` (-1) as a 64-bit register value: the answer to an unknown FID.
pub const SMC_UNKNOWN: u64 = u64::MAX;

/// SMCCC `NOT_SUPPORTED` return code.
pub const SMCCC_NOT_SUPPORTED: i64 = -1;

/// `SMCCC_VERSION` (SMC32, arch service).
pub const SMCCC_VERSION: u32 = 0x8000_0000;

/// `SMCCC_ARCH_FEATURES` (SMC32, arch service).
pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;

/// FID bit 31: fast (atomic) call.
pub const SMC_FAST_CALL: u32 = 1 << 31;

/// FID bit 30: SMC64 calling convention (clear for SMC32).
pub const SMC_64: u32 = 1 << 30;

/// Shift of the 6-bit owning entity number, FID bits `[29:24]`.
pub const OEN_SHIFT: u32 = 24;

/// Mask of the owning entity number after shifting.
pub const OEN_MASK: u32 = 0x3F;

/// Mask of the function number, FID bits `[15:0]`.
pub const FNUM_MASK: u32 = 0xFFFF;

/// OEN 0: Arm architecture calls (SMCCC_VERSION, …).
pub const OEN_ARCH: u8 = 0;

/// OEN 1: CPU service calls.
pub const OEN_CPU: u8 = 1;

/// OEN 2: SiP service calls.
pub const OEN_SIP: u8 = 2;

/// OEN 3: OEM service calls.
pub const OEN_OEM: u8 = 3;

/// OEN 4: standard secure service calls (PSCI, RMI, RSI, RMM-EL3).
pub const OEN_STD_SECURE: u8 = 4;

/// OEN 5: standard hypervisor service calls.
pub const OEN_STD_HYP: u8 = 5;

/// OEN 6: vendor-specific hypervisor service calls (used by the CSM RSI extension).
pub const OEN_VENDOR_HYP: u8 = 6;

/// Clears the SVE hint bit (bit 16) of a function identifier.
pub const fn strip_sve_hint(fid: u64) -> u64 {
    fid & !SMC_SVE_HINT
}

/// Builds a fast-call SMC64 FID: `0xC000_0000 | oen << 24 | fnum`. `oen` is masked to 6 bits.
pub const fn fid64(oen: u8, fnum: u16) -> u32 {
    SMC_FAST_CALL | SMC_64 | (((oen as u32) & OEN_MASK) << OEN_SHIFT) | fnum as u32
}

/// Builds a fast-call SMC32 FID: `0x8000_0000 | oen << 24 | fnum`. `oen` is masked to 6 bits.
pub const fn fid32(oen: u8, fnum: u16) -> u32 {
    SMC_FAST_CALL | (((oen as u32) & OEN_MASK) << OEN_SHIFT) | fnum as u32
}

/// The owning entity number of a FID, bits `[29:24]`.
pub const fn fid_oen(fid: u32) -> u8 {
    ((fid >> OEN_SHIFT) & OEN_MASK) as u8
}

/// The function number of a FID, bits `[15:0]`.
pub const fn fid_fnum(fid: u32) -> u16 {
    (fid & FNUM_MASK) as u16
}

/// True if the FID requests the SMC64 convention.
pub const fn is_smc64(fid: u32) -> bool {
    fid & SMC_64 != 0
}

/// True if the FID is a fast call.
pub const fn is_fast_call(fid: u32) -> bool {
    fid & SMC_FAST_CALL != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fid_builders() {
        assert_eq!(fid64(4, 0x150), 0xC400_0150);
        assert_eq!(fid64(6, 0x190), 0xC600_0190);
        assert_eq!(fid32(4, 0x2), 0x8400_0002);
        assert_eq!(fid64(0x44, 0x1), 0xC400_0001, "oen masked to 6 bits");
        assert_eq!(fid_oen(0xC600_0196), 6);
        assert_eq!(fid_fnum(0xC400_01CF), 0x1CF);
        assert!(is_smc64(0xC400_0150));
        assert!(!is_smc64(0x8400_0000));
        assert!(is_fast_call(0x8400_0000));
        assert!(!is_fast_call(0x0400_0000));
    }

    #[test]
    fn sve_hint() {
        assert_eq!(SMC_SVE_HINT, 0x1_0000);
        assert_eq!(strip_sve_hint(0xC401_0150), 0xC400_0150);
        assert_eq!(strip_sve_hint(0xC400_0150), 0xC400_0150);
        assert_eq!(SMC_UNKNOWN, 0xFFFF_FFFF_FFFF_FFFF);
        assert_eq!(SMCCC_NOT_SUPPORTED as u64, SMC_UNKNOWN);
    }
}
