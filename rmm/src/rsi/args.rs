// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every RSI (and realm PSCI and CSM) call's arguments as a named struct, decoded once from the
//! realm's registers at the dispatcher (the edge), as `rmi/args.rs` does for RMI: a handler
//! never sees a register by position.
//!
//! Decoding is only naming: each field is the raw 64-bit register, because which check fails
//! first is part of the ABI, so validation stays in the handlers, in the order the reference
//! RMM checks.

/// The realm's general-purpose registers x0..x30 as the world switch saved them.
pub type Regs = [u64; 31];

use crate::register_args::register_args;

register_args! {
    Regs, |x| x;
    /// RSI_VERSION.
    VersionArgs {
        /// The interface version the realm asks for.
        requested = x 1,
    }
    /// RSI_MEASUREMENT_READ.
    MeasurementReadArgs {
        /// 0 for the RIM, 1..=4 for a REM.
        index = x 1,
    }
    /// RSI_REALM_CONFIG.
    RealmConfigArgs {
        /// IPA of the protected granule the configuration is written into.
        ipa = x 1,
    }
    /// RSI_HOST_CALL.
    HostCallArgs {
        /// IPA of the realm's `RsiHostCall`.
        ipa = x 1,
    }
    /// RSI_IPA_STATE_GET.
    IpaStateGetArgs {
        /// First IPA of the range.
        base = x 1,
        /// End of the range.
        top = x 2,
    }
    /// RSI_IPA_STATE_SET.
    IpaStateSetArgs {
        /// First IPA of the range.
        base = x 1,
        /// End of the range.
        top = x 2,
        /// The RIPAS asked for (0 EMPTY, 1 RAM).
        ripas = x 3,
        /// Flags (`RSI_CHANGE_DESTROYED`).
        flags = x 4,
    }
    /// RSI_ATTEST_TOKEN_CONTINUE.
    AttestContinueArgs {
        /// IPA of the realm's buffer granule.
        ipa = x 1,
        /// Offset in that granule.
        offset = x 2,
        /// Bytes at most.
        size = x 3,
    }
    /// A realm PSCI call: the function id as the realm passed it (SVE hint and upper bits
    /// included, since CPU_OFF and the others show it to the host) and its three arguments,
    /// named for CPU_ON (AFFINITY_INFO: `target`, lowest affinity level in `entry`;
    /// PSCI_FEATURES: the function id asked about in `target`).
    PsciArgs {
        /// x0: the function id.
        fid = x 0,
        /// x1: the target CPU (MPIDR layout), or PSCI_FEATURES' function id.
        target = x 1,
        /// x2: CPU_ON's entry point, AFFINITY_INFO's lowest affinity level.
        entry = x 2,
        /// x3: CPU_ON's context id.
        context = x 3,
    }
}

/// RSI_MEASUREMENT_EXTEND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeasurementExtendArgs {
    /// The REM, 1..=4.
    pub index: u64,
    /// Bytes of `value` to extend with, at most 64.
    pub size: u64,
    /// x3..x10: the value, little-endian.
    pub value: [u64; 8],
}

impl MeasurementExtendArgs {
    /// Names the argument registers of `x`.
    #[inline(always)]
    pub fn decode(x: &Regs) -> Self {
        let mut value = [0; 8];
        value.copy_from_slice(&x[3..11]);
        Self {
            index: x[1],
            size: x[2],
            value,
        }
    }
}

/// RSI_ATTEST_TOKEN_INIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestInitArgs {
    /// x1..x8: the 64-byte challenge.
    pub challenge: [u64; 8],
}

impl AttestInitArgs {
    /// Names the argument registers of `x`.
    #[inline(always)]
    pub fn decode(x: &Regs) -> Self {
        let mut challenge = [0; 8];
        challenge.copy_from_slice(&x[1..9]);
        Self { challenge }
    }
}

/// A CSM call (`RSI_CSM_*`): x1..x4, which `csm::Call::decode` checks and names per call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsmArgs {
    /// x1..x4.
    pub regs: [u64; 4],
}

impl CsmArgs {
    /// Names the argument registers of `x`.
    #[inline(always)]
    pub const fn decode(x: &Regs) -> Self {
        Self {
            regs: [x[1], x[2], x[3], x[4]],
        }
    }
}
