// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_VERSION, RMI_FEATURES and unknown function ids, checked against the RMM 1.0-rel0
//! ABI. Expected values are written out here independently of the RMM's code: the feature
//! register is recomputed from this CPU's own ID registers with raw shifts.

use crate::rmi::{self, RmiRegs};
use crate::runner::{Outcome, Scenario};
use crate::{ensure, ensure_eq, regs};
use rmm_abi::smc::{SMC_SVE_HINT, SMC_UNKNOWN};

/// The scenarios of this file.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "rmi_version_1_0",
        run: version_1_0,
    },
    Scenario {
        name: "rmi_version_other_versions_rejected",
        run: version_others,
    },
    Scenario {
        name: "rmi_version_with_sve_hint",
        run: version_sve_hint,
    },
    Scenario {
        name: "rmi_features_register_0",
        run: features_register_0,
    },
    Scenario {
        name: "rmi_features_other_indices_zero",
        run: features_other_indices,
    },
    Scenario {
        name: "rmi_unknown_fids_return_smc_unknown",
        run: unknown_fids,
    },
];

const V1_0: u64 = 0x1_0000;
const RMI_SUCCESS: u64 = 0;
const RMI_ERROR_INPUT: u64 = 1;
/// A value x4 must come back with (SMCCC: x4 preserved unless it is a result).
const X4_PATTERN: u64 = 0x4444_5555_6666_7777;

fn check_preserved_x4(out: &RmiRegs) -> Outcome {
    ensure_eq!(out.0[4], X4_PATTERN, "x4 (must be preserved)");
    Ok(())
}

fn version_1_0() -> Outcome {
    let out = rmi::version(V1_0, X4_PATTERN);
    ensure_eq!(out.0[0], RMI_SUCCESS, "x0");
    ensure_eq!(out.0[1], V1_0, "x1 (lower)");
    ensure_eq!(out.0[2], V1_0, "x2 (higher)");
    ensure_eq!(out.0[3], 0, "x3");
    check_preserved_x4(&out)
}

fn version_others() -> Outcome {
    for requested in [
        0,
        0x1,
        0x1_0001,
        0x2_0000,
        0x0_FFFF,
        0xFFFF_FFFF,
        1 << 32 | V1_0,
        u64::MAX,
    ] {
        let out = rmi::version(requested, X4_PATTERN);
        ensure!(
            out.0[0] == RMI_ERROR_INPUT && out.0[1] == V1_0 && out.0[2] == V1_0,
            "RMI_VERSION({requested:#x}) gave x0={:#x} x1={:#x} x2={:#x}, expected 1, 0x10000, 0x10000",
            out.0[0],
            out.0[1],
            out.0[2]
        );
        check_preserved_x4(&out)?;
    }
    Ok(())
}

fn version_sve_hint() -> Outcome {
    let fid = u64::from(rmm_abi::rmi::fid::VERSION) | SMC_SVE_HINT;
    let out = rmi::call(fid, &[V1_0, 0, 0, X4_PATTERN]);
    ensure_eq!(out.0[0], RMI_SUCCESS, "x0");
    ensure_eq!(out.0[1], V1_0, "x1");
    check_preserved_x4(&out)
}

/// What our RMM must advertise on this CPU: S2SZ = PA size capped at 48 (no LPA2), no SVE or
/// PMU yet, BRPs/WRPs as the ID register encodes them, both hash algorithms, ICH_VTR.ListRegs,
/// MAX_RECS_ORDER 10.
fn expected_feature_register_0() -> u64 {
    let pa_bits = match regs::id_aa64mmfr0_el1() & 0xF {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        _ => 48,
    };
    let dfr0 = regs::id_aa64dfr0_el1();
    let bps = (dfr0 >> 12) & 0xF;
    let wps = (dfr0 >> 20) & 0xF;
    let lrs = regs::ich_vtr_el2() & 0x1F;
    pa_bits | bps << 14 | wps << 20 | 1 << 32 | 1 << 33 | lrs << 34 | 10 << 38
}

fn features_register_0() -> Outcome {
    let out = rmi::features(0, X4_PATTERN);
    ensure_eq!(out.0[0], RMI_SUCCESS, "x0");
    ensure_eq!(
        out.0[1],
        expected_feature_register_0(),
        "feature register 0"
    );
    ensure_eq!(out.0[1] >> 42, 0, "reserved bits [63:42]");
    ensure_eq!(out.0[2], 0, "x2");
    check_preserved_x4(&out)
}

fn features_other_indices() -> Outcome {
    for index in [1, 2, 0xFF, 1 << 32, u64::MAX] {
        let out = rmi::features(index, X4_PATTERN);
        ensure!(
            out.0[0] == RMI_SUCCESS && out.0[1] == 0,
            "RMI_FEATURES({index:#x}) gave x0={:#x} x1={:#x}, expected 0, 0",
            out.0[0],
            out.0[1]
        );
        check_preserved_x4(&out)?;
    }
    Ok(())
}

/// Every id TF-A forwards (0xC4000150..=0xC400018E) that this RMM does not implement yet,
/// with and without the SVE hint: SMC_UNKNOWN, x4 preserved.
fn unknown_fids() -> Outcome {
    // RMM 1.0's commands and the CSM extension's RMI_APT_CREATE/DESTROY (0x16A, 0x16B).
    const IMPLEMENTED: [u64; 25] = [
        0x150, 0x151, 0x152, 0x153, 0x154, 0x155, 0x157, 0x158, 0x159, 0x15A, 0x15B, 0x15C, 0x15D,
        0x15E, 0x15F, 0x161, 0x162, 0x164, 0x165, 0x166, 0x167, 0x168, 0x169, 0x16A, 0x16B,
    ];
    let mut checked = 0;
    for fnum in (0x150..=0x18E).filter(|f| !IMPLEMENTED.contains(f)) {
        for hint in [0, SMC_SVE_HINT] {
            let fid = 0xC400_0000 | fnum | hint;
            let out = rmi::call(fid, &[0x1000, 0x2000, 0x3000, X4_PATTERN, 5, 6, 7]);
            ensure!(
                out.0[0] == SMC_UNKNOWN,
                "fid {fid:#x} gave x0={:#x}, expected SMC_UNKNOWN",
                out.0[0]
            );
            check_preserved_x4(&out)?;
            checked += 1;
        }
    }
    ensure_eq!(
        checked,
        2 * (0x18F - 0x150 - IMPLEMENTED.len()),
        "number of ids checked"
    );
    Ok(())
}
