// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI function identifiers (RMM 1.0-rel0, fast SMC64, OEN 4) and the FID window that TF-A
//! forwards from the normal world to the RMM.
//!
//! Offsets 0x156, 0x160 and 0x163 are unallocated in 1.0. The CSM extension commands
//! [`APT_CREATE`] and [`APT_DESTROY`] sit at 0x16A/0x16B (see [`crate::csm`]).

use crate::smc::{SMC_64, SMC_FAST_CALL, fid_fnum, fid_oen, strip_sve_hint};

/// `RMI_VERSION`: x1 requested version → x1 lower, x2 higher implemented version.
pub const VERSION: u32 = 0xC400_0150;
/// `RMI_GRANULE_DELEGATE`: x1 PA.
pub const GRANULE_DELEGATE: u32 = 0xC400_0151;
/// `RMI_GRANULE_UNDELEGATE`: x1 PA.
pub const GRANULE_UNDELEGATE: u32 = 0xC400_0152;
/// `RMI_DATA_CREATE`: x1 rd, x2 data, x3 ipa, x4 src, x5 flags.
pub const DATA_CREATE: u32 = 0xC400_0153;
/// `RMI_DATA_CREATE_UNKNOWN`: x1 rd, x2 data, x3 ipa.
pub const DATA_CREATE_UNKNOWN: u32 = 0xC400_0154;
/// `RMI_DATA_DESTROY`: x1 rd, x2 ipa → x1 data PA, x2 top.
pub const DATA_DESTROY: u32 = 0xC400_0155;
/// `RMI_REALM_ACTIVATE`: x1 rd.
pub const REALM_ACTIVATE: u32 = 0xC400_0157;
/// `RMI_REALM_CREATE`: x1 rd, x2 params PA.
pub const REALM_CREATE: u32 = 0xC400_0158;
/// `RMI_REALM_DESTROY`: x1 rd.
pub const REALM_DESTROY: u32 = 0xC400_0159;
/// `RMI_REC_CREATE`: x1 rd, x2 rec, x3 params PA.
pub const REC_CREATE: u32 = 0xC400_015A;
/// `RMI_REC_DESTROY`: x1 rec.
pub const REC_DESTROY: u32 = 0xC400_015B;
/// `RMI_REC_ENTER`: x1 rec, x2 run PA.
pub const REC_ENTER: u32 = 0xC400_015C;
/// `RMI_RTT_CREATE`: x1 rd, x2 rtt, x3 ipa, x4 level.
pub const RTT_CREATE: u32 = 0xC400_015D;
/// `RMI_RTT_DESTROY`: x1 rd, x2 ipa, x3 level → x1 rtt PA, x2 top.
pub const RTT_DESTROY: u32 = 0xC400_015E;
/// `RMI_RTT_MAP_UNPROTECTED`: x1 rd, x2 ipa, x3 level, x4 desc.
pub const RTT_MAP_UNPROTECTED: u32 = 0xC400_015F;
/// `RMI_RTT_READ_ENTRY`: x1 rd, x2 ipa, x3 level → x1 level, x2 state, x3 desc, x4 ripas.
pub const RTT_READ_ENTRY: u32 = 0xC400_0161;
/// `RMI_RTT_UNMAP_UNPROTECTED`: x1 rd, x2 ipa, x3 level → x1 top.
pub const RTT_UNMAP_UNPROTECTED: u32 = 0xC400_0162;
/// `RMI_PSCI_COMPLETE`: x1 calling rec, x2 target rec, x3 status.
pub const PSCI_COMPLETE: u32 = 0xC400_0164;
/// `RMI_FEATURES`: x1 index → x1 value.
pub const FEATURES: u32 = 0xC400_0165;
/// `RMI_RTT_FOLD`: x1 rd, x2 ipa, x3 level → x1 rtt PA.
pub const RTT_FOLD: u32 = 0xC400_0166;
/// `RMI_REC_AUX_COUNT`: x1 rd → x1 count.
pub const REC_AUX_COUNT: u32 = 0xC400_0167;
/// `RMI_RTT_INIT_RIPAS`: x1 rd, x2 base, x3 top → x1 top processed.
pub const RTT_INIT_RIPAS: u32 = 0xC400_0168;
/// `RMI_RTT_SET_RIPAS`: x1 rd, x2 rec, x3 base, x4 top → x1 top processed.
pub const RTT_SET_RIPAS: u32 = 0xC400_0169;
/// `RMI_APT_CREATE` (CSM extension): x1 rd, x2 apt.
pub const APT_CREATE: u32 = crate::csm::RMI_APT_CREATE;
/// `RMI_APT_DESTROY` (CSM extension): x1 rd, x2 apt.
pub const APT_DESTROY: u32 = crate::csm::RMI_APT_DESTROY;

/// **Test builds only**: the id the RMM's `fault-injection` build answers by loading from
/// the NS address in x1 at R-EL2 (to prove unexpected exceptions are reported). Release
/// builds treat it like any unknown id (`SMC_UNKNOWN`). It is the last id TF-A forwards;
/// RMM 1.0 leaves it unused (RMM 1.1 allocates it, which does not matter for test builds).
pub const TEST_FAULT_INJECTION: u32 = 0xC400_018E;

/// First function number TF-A forwards to the RMM as an RMI call.
pub const RMI_FNUM_FIRST: u32 = 0x150;

/// Last function number TF-A forwards to the RMM as an RMI call (0x18F, `RMM_RMI_REQ_COMPLETE`,
/// is the RMM's own reply to EL3 and is excluded).
pub const RMI_FNUM_LAST: u32 = 0x18E;

/// True if `fid` (after stripping the SVE hint) is a fast SMC64 standard-secure-service call
/// with a function number in `RMI_FNUM_FIRST..=RMI_FNUM_LAST` and no other bits set, i.e. a
/// call the RMM must answer (with `SMC_UNKNOWN` if it is not a known command).
pub fn is_rmi_range(fid: u64) -> bool {
    let fid = strip_sve_hint(fid);
    let Ok(fid) = u32::try_from(fid) else {
        return false;
    };
    let fnum = fid_fnum(fid) as u32;
    // Bits 23:16 must be zero (bit 16 already stripped); fast, SMC64, OEN 4.
    fid & 0x00FF_0000 == 0
        && fid & (SMC_FAST_CALL | SMC_64) == (SMC_FAST_CALL | SMC_64)
        && fid_oen(fid) == crate::smc::OEN_STD_SECURE
        && (RMI_FNUM_FIRST..=RMI_FNUM_LAST).contains(&fnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fid_values_match_reference_table() {
        let table: [(u32, u32); 25] = [
            (VERSION, 0xC4000150),
            (GRANULE_DELEGATE, 0xC4000151),
            (GRANULE_UNDELEGATE, 0xC4000152),
            (DATA_CREATE, 0xC4000153),
            (DATA_CREATE_UNKNOWN, 0xC4000154),
            (DATA_DESTROY, 0xC4000155),
            (REALM_ACTIVATE, 0xC4000157),
            (REALM_CREATE, 0xC4000158),
            (REALM_DESTROY, 0xC4000159),
            (REC_CREATE, 0xC400015A),
            (REC_DESTROY, 0xC400015B),
            (REC_ENTER, 0xC400015C),
            (RTT_CREATE, 0xC400015D),
            (RTT_DESTROY, 0xC400015E),
            (RTT_MAP_UNPROTECTED, 0xC400015F),
            (RTT_READ_ENTRY, 0xC4000161),
            (RTT_UNMAP_UNPROTECTED, 0xC4000162),
            (PSCI_COMPLETE, 0xC4000164),
            (FEATURES, 0xC4000165),
            (RTT_FOLD, 0xC4000166),
            (REC_AUX_COUNT, 0xC4000167),
            (RTT_INIT_RIPAS, 0xC4000168),
            (RTT_SET_RIPAS, 0xC4000169),
            (APT_CREATE, 0xC400016A),
            (APT_DESTROY, 0xC400016B),
        ];
        for (constant, expected) in table {
            assert_eq!(constant, expected, "{expected:#x}");
        }
    }

    #[test]
    fn rmi_range() {
        assert!(is_rmi_range(0xC4000150));
        assert!(
            is_rmi_range(0xC4000156),
            "unused offsets are still in range"
        );
        assert!(is_rmi_range(0xC400018E));
        assert!(is_rmi_range(0xC401018E), "SVE hint stripped");
        assert!(!is_rmi_range(0xC400018F), "REQ_COMPLETE excluded");
        assert!(!is_rmi_range(0xC400014F));
        assert!(!is_rmi_range(0xC4000190), "RSI range");
        assert!(!is_rmi_range(0x84000150), "SMC32");
        assert!(!is_rmi_range(0xC6000150), "other OEN");
        assert!(!is_rmi_range(0xC4020150), "bits 23:17 set");
        assert!(!is_rmi_range(0x1_C400_0150), "upper word set");
        assert!(!is_rmi_range(0));
    }
}
