// SPDX-License-Identifier: MIT OR Apache-2.0
//! Function identifiers of the SMCs the RMM issues to EL3 (TF-A RMMD, RMM-EL3 interface
//! 0.x, fast SMC64, OEN 4), and the constants of their arguments.

/// `RMM_RMI_REQ_COMPLETE`: x1..x5 = results for NS x0..x4; "returns" with the next RMI call.
pub const RMM_RMI_REQ_COMPLETE: u32 = 0xC400_018F;
/// `RMM_GTSI_DELEGATE`: x1 PA → x0 status.
pub const RMM_GTSI_DELEGATE: u32 = 0xC400_01B0;
/// `RMM_GTSI_UNDELEGATE`: x1 PA → x0 status.
pub const RMM_GTSI_UNDELEGATE: u32 = 0xC400_01B1;
/// `RMM_ATTEST_GET_REALM_KEY`: x1 buffer PA, x2 buffer size, x3 curve → x1 key size.
pub const RMM_ATTEST_GET_REALM_KEY: u32 = 0xC400_01B2;
/// `RMM_ATTEST_GET_PLAT_TOKEN`: x1 buffer PA, x2 buffer size, x3 challenge size → x1 hunk
/// size, x2 remaining size (may return `E_RMM_AGAIN`).
pub const RMM_ATTEST_GET_PLAT_TOKEN: u32 = 0xC400_01B3;
/// `RMM_EL3_FEATURES` (interface ≥ 0.4): x1 index → x1 feature register.
pub const RMM_EL3_FEATURES: u32 = 0xC400_01B4;
/// `RMM_EL3_TOKEN_SIGN` (interface ≥ 0.4, optional): x1 opcode, x2 buffer PA, x3 size,
/// x4 curve.
pub const RMM_EL3_TOKEN_SIGN: u32 = 0xC400_01B5;
/// `RMM_BOOT_COMPLETE`: x1 boot status (0 or a [`super::BootError`] code); "returns" with the
/// first RMI call.
pub const RMM_BOOT_COMPLETE: u32 = 0xC400_01CF;

/// First function number of the RMM → EL3 window.
pub const RMM_EL3_FNUM_FIRST: u32 = 0x1B0;
/// Last function number of the RMM → EL3 window.
pub const RMM_EL3_FNUM_LAST: u32 = 0x1CF;

/// `RMM_ATTEST_GET_REALM_KEY` x3 / `RMM_EL3_TOKEN_SIGN` x4: ECC SECP384R1 (P-384).
pub const ATTEST_KEY_CURVE_ECC_SECP384R1: u64 = 0;

/// `RMM_EL3_FEATURES` index of feature register 0.
pub const RMM_EL3_FEAT_REG_0_IDX: u64 = 0;
/// Feature register 0 bit 0: `RMM_EL3_TOKEN_SIGN` supported.
pub const RMM_EL3_FEAT_REG_0_EL3_TOKEN_SIGN: u64 = 1 << 0;

/// `RMM_EL3_TOKEN_SIGN` opcode: push a signing request.
pub const RMM_EL3_TOKEN_SIGN_PUSH_REQ_OP: u64 = 1;
/// `RMM_EL3_TOKEN_SIGN` opcode: pull a signing response.
pub const RMM_EL3_TOKEN_SIGN_PULL_RESP_OP: u64 = 2;
/// `RMM_EL3_TOKEN_SIGN` opcode: get the realm attestation public key.
pub const RMM_EL3_TOKEN_SIGN_GET_RAK_PUB_OP: u64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fid_values_match_reference_table() {
        let table: [(u32, u32); 8] = [
            (RMM_RMI_REQ_COMPLETE, 0xC400018F),
            (RMM_GTSI_DELEGATE, 0xC40001B0),
            (RMM_GTSI_UNDELEGATE, 0xC40001B1),
            (RMM_ATTEST_GET_REALM_KEY, 0xC40001B2),
            (RMM_ATTEST_GET_PLAT_TOKEN, 0xC40001B3),
            (RMM_EL3_FEATURES, 0xC40001B4),
            (RMM_EL3_TOKEN_SIGN, 0xC40001B5),
            (RMM_BOOT_COMPLETE, 0xC40001CF),
        ];
        for (constant, expected) in table {
            assert_eq!(constant, expected, "{expected:#x}");
        }
    }
}
