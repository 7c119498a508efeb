// SPDX-License-Identifier: MIT OR Apache-2.0
//! Typed RMI calls, as a host hypervisor makes them: arguments in x1.., results in x0..x4.

use crate::smc::smc;
use rmm_abi::rmi::fid;

/// What the host sees after an RMI call: x0..x4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RmiRegs(pub [u64; 5]);

/// Calls `fid` with x1.. = `args` (at most 7).
pub fn call(fid: u64, args: &[u64]) -> RmiRegs {
    let mut regs = [0u64; 8];
    regs[0] = fid;
    for (slot, arg) in regs[1..].iter_mut().zip(args) {
        *slot = *arg;
    }
    let out = smc(regs);
    RmiRegs([out[0], out[1], out[2], out[3], out[4]])
}

/// RMI_VERSION(requested). x4 carries `x4` so callers can check it is preserved.
pub fn version(requested: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::VERSION), &[requested, 0, 0, x4])
}

/// RMI_FEATURES(index).
pub fn features(index: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::FEATURES), &[index, 0, 0, x4])
}

/// RMI_GRANULE_DELEGATE(pa).
pub fn granule_delegate(pa: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::GRANULE_DELEGATE), &[pa, 0, 0, x4])
}

/// RMI_GRANULE_UNDELEGATE(pa).
pub fn granule_undelegate(pa: u64, x4: u64) -> RmiRegs {
    call(u64::from(fid::GRANULE_UNDELEGATE), &[pa, 0, 0, x4])
}

/// The x4 value the realm wrappers pass where a command takes no x4 argument, so callers can
/// check it comes back preserved (SMCCC: x4 is preserved unless it is a result).
pub const X4: u64 = 0x4444_0000_4EA1_4444;

/// Packed RMI statuses, written out independently of the RMM's code.
pub mod status {
    /// RMI_SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// RMI_ERROR_INPUT.
    pub const INPUT: u64 = 1;
    /// RMI_ERROR_REC.
    pub const REC: u64 = 3;
    /// RMI_ERROR_REALM with index `index`.
    pub const fn realm(index: u64) -> u64 {
        2 | (index << 8)
    }
    /// RMI_ERROR_RTT at `level`.
    pub const fn rtt(level: i64) -> u64 {
        4 | (((level as u64) & 0xFF) << 8)
    }
}

/// `RmiRttEntryState`, as RTT_READ_ENTRY returns it in x2.
pub mod entry_state {
    /// UNASSIGNED.
    pub const UNASSIGNED: u64 = 0;
    /// ASSIGNED.
    pub const ASSIGNED: u64 = 1;
    /// TABLE.
    pub const TABLE: u64 = 2;
}

/// `RmiRipas`, as RTT_READ_ENTRY returns it in x4.
pub mod ripas {
    /// EMPTY.
    pub const EMPTY: u64 = 0;
    /// RAM.
    pub const RAM: u64 = 1;
    /// DESTROYED.
    pub const DESTROYED: u64 = 2;
}

fn rmi(fid: u32, args: &[u64]) -> RmiRegs {
    call(u64::from(fid), args)
}

/// RMI_REALM_CREATE(rd, params) → x0.
pub fn realm_create(rd: u64, params: u64) -> RmiRegs {
    rmi(fid::REALM_CREATE, &[rd, params, 0, X4])
}

/// RMI_REALM_ACTIVATE(rd) → x0.
pub fn realm_activate(rd: u64) -> RmiRegs {
    rmi(fid::REALM_ACTIVATE, &[rd, 0, 0, X4])
}

/// RMI_REALM_DESTROY(rd) → x0.
pub fn realm_destroy(rd: u64) -> RmiRegs {
    rmi(fid::REALM_DESTROY, &[rd, 0, 0, X4])
}

/// RMI_REC_AUX_COUNT(rd) → x0, x1 = number of auxiliary granules a REC needs.
pub fn rec_aux_count(rd: u64) -> RmiRegs {
    rmi(fid::REC_AUX_COUNT, &[rd, 0, 0, X4])
}

/// RMI_REC_CREATE(rd, rec, params) → x0.
pub fn rec_create(rd: u64, rec: u64, params: u64) -> RmiRegs {
    rmi(fid::REC_CREATE, &[rd, rec, params, X4])
}

/// RMI_REC_DESTROY(rec) → x0.
pub fn rec_destroy(rec: u64) -> RmiRegs {
    rmi(fid::REC_DESTROY, &[rec, 0, 0, X4])
}

/// RMI_RTT_CREATE(rd, rtt, ipa, level) → x0. x4 is the level (an argument).
pub fn rtt_create(rd: u64, rtt: u64, ipa: u64, level: i64) -> RmiRegs {
    rmi(fid::RTT_CREATE, &[rd, rtt, ipa, level as u64])
}

/// RMI_RTT_DESTROY(rd, ipa, level) → x0, x1 = RTT PA, x2 = top of the non-live range.
pub fn rtt_destroy(rd: u64, ipa: u64, level: i64) -> RmiRegs {
    rmi(fid::RTT_DESTROY, &[rd, ipa, level as u64, X4])
}

/// RMI_RTT_FOLD(rd, ipa, level of the folded table) → x0, x1 = RTT PA.
pub fn rtt_fold(rd: u64, ipa: u64, level: i64) -> RmiRegs {
    rmi(fid::RTT_FOLD, &[rd, ipa, level as u64, X4])
}

/// RMI_RTT_READ_ENTRY(rd, ipa, level) → x0, x1 = walk level, x2 = state, x3 = descriptor,
/// x4 = RIPAS (on success; x4 preserved on failure).
pub fn rtt_read_entry(rd: u64, ipa: u64, level: i64) -> RmiRegs {
    rmi(fid::RTT_READ_ENTRY, &[rd, ipa, level as u64, X4])
}

/// RMI_RTT_INIT_RIPAS(rd, base, top) → x0, x1 = top of the range done.
pub fn rtt_init_ripas(rd: u64, base: u64, top: u64) -> RmiRegs {
    rmi(fid::RTT_INIT_RIPAS, &[rd, base, top, X4])
}

/// RMI_RTT_MAP_UNPROTECTED(rd, ipa, level, desc) → x0. x4 is `desc` (an argument).
pub fn rtt_map_unprotected(rd: u64, ipa: u64, level: i64, desc: u64) -> RmiRegs {
    rmi(fid::RTT_MAP_UNPROTECTED, &[rd, ipa, level as u64, desc])
}

/// RMI_RTT_UNMAP_UNPROTECTED(rd, ipa, level) → x0, x1 = top of the non-live range.
pub fn rtt_unmap_unprotected(rd: u64, ipa: u64, level: i64) -> RmiRegs {
    rmi(fid::RTT_UNMAP_UNPROTECTED, &[rd, ipa, level as u64, X4])
}

/// RMI_DATA_CREATE(rd, data, ipa, src, flags) → x0. x4 is `src` (an argument).
pub fn data_create(rd: u64, data: u64, ipa: u64, src: u64, flags: u64) -> RmiRegs {
    rmi(fid::DATA_CREATE, &[rd, data, ipa, src, flags])
}

/// RMI_DATA_CREATE_UNKNOWN(rd, data, ipa) → x0.
pub fn data_create_unknown(rd: u64, data: u64, ipa: u64) -> RmiRegs {
    rmi(fid::DATA_CREATE_UNKNOWN, &[rd, data, ipa, X4])
}

/// RMI_DATA_DESTROY(rd, ipa) → x0, x1 = data PA, x2 = top of the non-live range.
pub fn data_destroy(rd: u64, ipa: u64) -> RmiRegs {
    rmi(fid::DATA_DESTROY, &[rd, ipa, 0, X4])
}

/// RMI_REC_ENTER(rec, run) → x0.
pub fn rec_enter(rec: u64, run: u64) -> RmiRegs {
    rmi(fid::REC_ENTER, &[rec, run, 0, X4])
}

/// RMI_RTT_SET_RIPAS(rd, rec, base, top) → x0, x1 = the first address not changed.
pub fn rtt_set_ripas(rd: u64, rec: u64, base: u64, top: u64) -> RmiRegs {
    rmi(fid::RTT_SET_RIPAS, &[rd, rec, base, top])
}

/// RMI_PSCI_COMPLETE(calling rec, target rec, status) → x0.
pub fn psci_complete(calling: u64, target: u64, status: u64) -> RmiRegs {
    rmi(fid::PSCI_COMPLETE, &[calling, target, status, X4])
}

/// RMI_APT_CREATE(rd, apt) → x0 (CSM: binds the DELEGATED granule `apt` to the NEW realm).
pub fn apt_create(rd: u64, apt: u64) -> RmiRegs {
    call(u64::from(rmm_abi::csm::RMI_APT_CREATE), &[rd, apt, 0, X4])
}

/// RMI_APT_DESTROY(rd, apt) → x0 (CSM: removes every relation of the realm; the APT granule
/// goes back to DELEGATED).
pub fn apt_destroy(rd: u64, apt: u64) -> RmiRegs {
    call(u64::from(rmm_abi::csm::RMI_APT_DESTROY), &[rd, apt, 0, X4])
}
