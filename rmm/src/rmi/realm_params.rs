// SPDX-License-Identifier: MIT OR Apache-2.0
//! Validation of `RmiRealmParams` for RMI_REALM_CREATE against feature register 0, in the
//! reference RMM's order (TF-RMM `validate_realm_params`, rmm-spec-v1.0-rel0; see
//! `docs/reference/tf-rmm-rel0-facts.md` §5).
//!
//! Field widths follow TF-RMM: `s2sz`, `sve_vl`, `num_bps`, `num_wps`, `pmu_num_ctrs` and
//! `rtt_num_start` are read as 32 bits, `hash_algo` as 8 and `vmid` as 16; the bytes above
//! them are ignored. Every failure is `RMI_ERROR_INPUT`.
//!
//! Only the fields the monitor uses are read from the host's page ([`HostRealmParams::read`]:
//! three reads of 64, 64 and 32 bytes, each field once), never the whole 4 KiB structure.

use super::error::RmiError;
use super::ns_page;
use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable};
use crate::rtt::level::RttLevel;
use crate::rtt::walk::{MAX_ROOTS, Stage2};
use attest::measurement::MeasuredRealmParams;
use core::mem::offset_of;
use rmm_abi::rmi::features::FeatureRegister0;
use rmm_abi::rmi::realm_params::{RPV_SIZE, RealmFlags, RealmParams};
use rmm_abi::rmi::states::HashAlgorithm;

/// The fields of the host's `RmiRealmParams` that REALM_CREATE uses, as read (once) from its
/// page; the reserved bytes are not read (but the 8 after `hash_algo`, which the first read
/// takes to stay in 16-byte units, and ignores).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRealmParams {
    /// `flags`.
    pub flags: u64,
    /// `s2sz`.
    pub s2sz: u64,
    /// `sve_vl`.
    pub sve_vl: u64,
    /// `num_bps`.
    pub num_bps: u64,
    /// `num_wps`.
    pub num_wps: u64,
    /// `pmu_num_ctrs`.
    pub pmu_num_ctrs: u64,
    /// `hash_algo`.
    pub hash_algo: u64,
    /// `rpv`.
    pub rpv: [u8; RPV_SIZE],
    /// `vmid`.
    pub vmid: u64,
    /// `rtt_base`.
    pub rtt_base: u64,
    /// `rtt_level_start`.
    pub rtt_level_start: i64,
    /// `rtt_num_start`.
    pub rtt_num_start: u64,
}

// The reads below take `flags`..`hash_algo` (and one reserved slot) as eight consecutive
// 64-bit slots from offset 0, and `vmid`..`rtt_num_start` as four; each read starts on a
// 16-byte boundary, as host reads must.
const _: () = assert!(offset_of!(RealmParams, flags) == 0);
const _: () = assert!(offset_of!(RealmParams, hash_algo) == 6 * 8);
const _: () = assert!(offset_of!(RealmParams, rpv).is_multiple_of(16));
const _: () = assert!(offset_of!(RealmParams, vmid).is_multiple_of(16));
const _: () =
    assert!(offset_of!(RealmParams, rtt_num_start) == offset_of!(RealmParams, vmid) + 3 * 8);

impl HostRealmParams {
    /// Reads the fields from the host page at `pa` (tracked and UNDELEGATED, else
    /// `RMI_ERROR_INPUT`; so is a fault while reading).
    pub fn read(
        granules: &GranuleTable,
        machine: &impl Machine,
        pa: u64,
    ) -> Result<Self, RmiError> {
        let page = ns_page::host_page(granules, pa)?;
        let mut head = [0u64; 8];
        let mut rpv = [0u8; RPV_SIZE];
        let mut tail = [0u64; 4];
        ns_page::read(machine, page, offset_of!(RealmParams, flags), &mut head)?;
        ns_page::read(machine, page, offset_of!(RealmParams, rpv), &mut rpv)?;
        ns_page::read(machine, page, offset_of!(RealmParams, vmid), &mut tail)?;
        let [
            flags,
            s2sz,
            sve_vl,
            num_bps,
            num_wps,
            pmu_num_ctrs,
            hash_algo,
            _,
        ] = head;
        let [vmid, rtt_base, rtt_level_start, rtt_num_start] = tail;
        Ok(Self {
            flags,
            s2sz,
            sve_vl,
            num_bps,
            num_wps,
            pmu_num_ctrs,
            hash_algo,
            rpv,
            vmid,
            rtt_base,
            rtt_level_start: rtt_level_start as i64,
            rtt_num_start,
        })
    }
}

/// Smallest IPA width a realm may have.
pub const MIN_IPA_BITS: u32 = 32;

/// A start level of 0 needs a CPU with at least this PA width (the reference RMM's rule).
const START_LEVEL_0_MIN_PA_BITS: u8 = 44;

/// Parameters that passed validation (the VMID is not claimed yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidParams {
    /// Stage-2 shape.
    pub s2: Stage2,
    /// VMID.
    pub vmid: u16,
    /// What the initial RIM measures.
    pub measured: MeasuredRealmParams,
}

fn low32(value: u64) -> u32 {
    value as u32
}

/// Number of starting-level tables a realm of `ipa_bits` starting at `level` needs.
fn roots_needed(ipa_bits: u32, level: RttLevel) -> u64 {
    let root_bits = level.entry_shift() + 9;
    if ipa_bits <= root_bits {
        1
    } else {
        1 << (ipa_bits - root_bits)
    }
}

/// Checks `p` against the features this RMM offers (`features`, with `vmid_bits` VMIDs).
pub fn validate(
    p: &HostRealmParams,
    features: FeatureRegister0,
    vmid_bits: u8,
) -> Result<ValidParams, RmiError> {
    let flags = p.flags;
    // Unknown flag bits are ignored (and measured), as in the reference RMM.
    let lpa2 = flags & RealmFlags::LPA2.bits() != 0;
    let sve = flags & RealmFlags::SVE.bits() != 0;
    let pmu = flags & RealmFlags::PMU.bits() != 0;
    let s2sz = low32(p.s2sz);
    let sve_vl = low32(p.sve_vl);
    let num_bps = low32(p.num_bps);
    let num_wps = low32(p.num_wps);
    let pmu_num_ctrs = low32(p.pmu_num_ctrs);
    let fail = Err(RmiError::Input);

    if lpa2 && !features.lpa2() {
        return fail;
    }
    if s2sz < MIN_IPA_BITS || s2sz > u32::from(features.s2sz()) {
        return fail;
    }
    // Zero breakpoints or watchpoints is refused; the bound is the raw ID-register field.
    if num_bps == 0
        || num_bps > u32::from(features.num_bps())
        || num_wps == 0
        || num_wps > u32::from(features.num_wps())
    {
        return fail;
    }
    if sve && (!features.sve_en() || sve_vl > u32::from(features.sve_vl())) {
        return fail;
    }
    // Deviation: TF-RMM assumes a PMU and never refuses the flag. This RMM does not switch
    // PMU state yet, reports PMU_EN = 0, and so refuses the flag.
    if pmu && (!features.pmu_en() || pmu_num_ctrs > u32::from(features.pmu_num_ctrs())) {
        return fail;
    }

    // IPA width and starting level (no LPA2: levels 0..=3, IPA 32..=48 bits).
    let Some(level) = RttLevel::new(p.rtt_level_start) else {
        return fail;
    };
    if level.get() == 0 && features.s2sz() < START_LEVEL_0_MIN_PA_BITS {
        return fail;
    }
    let levels = 3 - u32::from(level.get());
    let min_bits = levels * 9 + 13;
    let max_bits = min_bits + 8 + if level.get() > 0 { 4 } else { 0 };
    if s2sz < min_bits || s2sz > max_bits {
        return fail;
    }
    let num_roots = u64::from(low32(p.rtt_num_start));
    if num_roots != roots_needed(s2sz, level) || num_roots > MAX_ROOTS {
        return fail;
    }

    let Some(hash) = HashAlgorithm::from_u64(u64::from(p.hash_algo as u8)) else {
        return fail;
    };
    let vmid = p.vmid as u16;
    if u32::from(vmid) >= 1 << vmid_bits {
        return fail;
    }
    let Some(rtt_base) = GranuleAddr::new(p.rtt_base) else {
        return fail;
    };
    // Deviation: the reference RMM at rel0 only needs a granule-aligned base. Concatenated
    // starting-level tables must be aligned to their total size, or the hardware walk reads
    // a table that is not this realm's (later TF-RMM versions added the same check).
    if !p
        .rtt_base
        .is_multiple_of(num_roots * crate::GRANULE_SIZE as u64)
    {
        return fail;
    }
    Ok(ValidParams {
        s2: Stage2 {
            rtt_base,
            start_level: level,
            num_roots,
            ipa_bits: s2sz as u8,
        },
        vmid,
        measured: MeasuredRealmParams {
            flags,
            s2sz,
            sve_vl,
            num_bps,
            num_wps,
            pmu_num_ctrs,
            hash_algo: hash,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level(n: i64) -> RttLevel {
        RttLevel::new(n).expect("valid")
    }

    #[test]
    fn root_counts_follow_the_start_level() {
        assert_eq!(roots_needed(48, level(0)), 1);
        assert_eq!(roots_needed(39, level(1)), 1);
        assert_eq!(roots_needed(40, level(1)), 2);
        assert_eq!(roots_needed(43, level(1)), 16);
        assert_eq!(roots_needed(32, level(2)), 4);
        assert_eq!(roots_needed(34, level(2)), 16);
    }
}
