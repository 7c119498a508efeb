// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI function identifiers (RMM 1.0-rel0, fast SMC64, OEN 4, function numbers 0x190–0x199)
//! and the RSI function-number window 0x190–0x1AF.
//!
//! The CSM extension's RSI calls use the vendor hypervisor range instead (see
//! [`crate::csm`]).

/// `RSI_VERSION`: x1 requested version → x1 lower, x2 higher implemented version.
pub const VERSION: u32 = 0xC400_0190;
/// `RSI_FEATURES`: x1 index → x1 value.
pub const FEATURES: u32 = 0xC400_0191;
/// `RSI_MEASUREMENT_READ`: x1 index → x1..x8 value.
pub const MEASUREMENT_READ: u32 = 0xC400_0192;
/// `RSI_MEASUREMENT_EXTEND`: x1 index, x2 size, x3..x10 value.
pub const MEASUREMENT_EXTEND: u32 = 0xC400_0193;
/// `RSI_ATTEST_TOKEN_INIT`: x1..x8 challenge → x1 upper bound of the token size.
pub const ATTEST_TOKEN_INIT: u32 = 0xC400_0194;
/// `RSI_ATTEST_TOKEN_CONTINUE`: x1 buffer IPA, x2 offset, x3 size → x1 bytes written.
pub const ATTEST_TOKEN_CONTINUE: u32 = 0xC400_0195;
/// `RSI_REALM_CONFIG`: x1 IPA of an `RsiRealmConfig` granule.
pub const REALM_CONFIG: u32 = 0xC400_0196;
/// `RSI_IPA_STATE_SET`: x1 base, x2 top, x3 ripas, x4 flags → x1 new base, x2 response.
pub const IPA_STATE_SET: u32 = 0xC400_0197;
/// `RSI_IPA_STATE_GET`: x1 base, x2 end → x1 top, x2 ripas.
pub const IPA_STATE_GET: u32 = 0xC400_0198;
/// `RSI_HOST_CALL`: x1 IPA of an `RsiHostCall`.
pub const HOST_CALL: u32 = 0xC400_0199;

/// First function number of the RSI window.
pub const RSI_FNUM_FIRST: u32 = 0x190;

/// Last function number of the RSI window.
pub const RSI_FNUM_LAST: u32 = 0x1AF;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fid_values_match_reference_table() {
        let table: [(u32, u32); 10] = [
            (VERSION, 0xC4000190),
            (FEATURES, 0xC4000191),
            (MEASUREMENT_READ, 0xC4000192),
            (MEASUREMENT_EXTEND, 0xC4000193),
            (ATTEST_TOKEN_INIT, 0xC4000194),
            (ATTEST_TOKEN_CONTINUE, 0xC4000195),
            (REALM_CONFIG, 0xC4000196),
            (IPA_STATE_SET, 0xC4000197),
            (IPA_STATE_GET, 0xC4000198),
            (HOST_CALL, 0xC4000199),
        ];
        for (constant, expected) in table {
            assert_eq!(constant, expected, "{expected:#x}");
        }
    }
}
