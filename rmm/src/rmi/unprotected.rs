// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_RTT_MAP_UNPROTECTED and RMI_RTT_UNMAP_UNPROTECTED: the host's mappings of its own
//! memory into the unprotected half of a realm's IPA space.
//!
//! Check order is the reference RMM's (`docs/reference/tf-rmm-rel0-facts.md` §11.6–11.7):
//! the level (1..=3) before the RD, then (for MAP) the host's descriptor before the address.
//! The descriptor may hold only the output address (aligned to the level), MemAttr\[4:2\]
//! (not the reserved 0b100) and S2AP; the RMM adds the rest. These mappings are not counted
//! in the table's reference count.

use super::args::{MapUnprotectedArgs, RttEntryArgs};
use super::error::{Handled, RmiError};
use super::locks::lock_rd;
use super::rtt_args::{mapping_level, valid_map_addr};
use crate::arch::Machine;
use crate::monitor::Monitor;
use crate::rtt::entry::{Entry, MEMATTR_MASK, MEMATTR_RESERVED, OA_MASK, S2AP_MASK};
use crate::rtt::level::RttLevel;
use crate::rtt::walk::walk;

/// True if `desc` is a descriptor the host may ask for at `level`.
fn valid_host_desc(desc: u64, level: RttLevel) -> bool {
    let oa = OA_MASK & !(level.entry_size() - 1);
    desc & !(oa | MEMATTR_MASK | S2AP_MASK) == 0 && desc & MEMATTR_MASK != MEMATTR_RESERVED
}

/// Handles RMI_RTT_MAP_UNPROTECTED(x1 = rd, x2 = ipa, x3 = level, x4 = desc).
#[inline(always)]
pub fn map(monitor: &Monitor, machine: &impl Machine, args: MapUnprotectedArgs) -> Handled {
    let MapUnprotectedArgs {
        rd,
        ipa,
        level,
        desc,
    } = args;
    let level = mapping_level(level)?;
    let (_rd, config) = lock_rd(monitor, machine, rd)?;
    let s2 = config.s2;
    if !valid_host_desc(desc, level) {
        return Err(RmiError::Input.into());
    }
    if !valid_map_addr(&s2, ipa, level) || s2.in_par(ipa) {
        return Err(RmiError::Input.into());
    }
    let at = walk(&monitor.granules, machine, &s2, ipa, level);
    if at.level != level {
        return Err(RmiError::Rtt(at.level).into());
    }
    if at.entry(machine) != Entry::UnassignedNs {
        return Err(RmiError::Rtt(level).into());
    }
    // The entry was invalid: no TLB entry can exist for it.
    at.set(machine, Entry::assigned_ns(desc, level));
    Ok([])
}

/// Handles RMI_RTT_UNMAP_UNPROTECTED(x1 = rd, x2 = ipa, x3 = level) → x1 = top.
#[inline(always)]
pub fn unmap(monitor: &Monitor, machine: &impl Machine, args: RttEntryArgs) -> Handled<1> {
    let RttEntryArgs { rd, ipa, level } = args;
    let level = mapping_level(level)?;
    let (_rd, config) = lock_rd(monitor, machine, rd)?;
    let s2 = config.s2;
    if !valid_map_addr(&s2, ipa, level) || s2.in_par(ipa) {
        return Err(RmiError::Input.into());
    }
    let at = walk(&monitor.granules, machine, &s2, ipa, level);
    if at.level != level || !matches!(at.entry(machine), Entry::AssignedNs { .. }) {
        let top = at.nonlive_top(machine, ipa);
        return Err(RmiError::Rtt(at.level).with([top]));
    }
    at.replace(machine, config.vmid, ipa, Entry::UnassignedNs);
    Ok([at.nonlive_top(machine, ipa)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_descriptors() {
        let l3 = RttLevel::LEAF;
        let l2 = RttLevel::new(2).expect("valid");
        assert!(valid_host_desc(
            0x9000_0000 | (0b110 << 2) | (0b11 << 6),
            l3
        ));
        assert!(valid_host_desc(0, l3), "device nGnRnE, no access");
        assert!(!valid_host_desc(0b100 << 2, l3), "FWB reserved MemAttr");
        assert!(!valid_host_desc(1 << 5, l3), "bit 5");
        assert!(!valid_host_desc(0b11, l3), "type bits");
        assert!(!valid_host_desc(1 << 10, l3), "AF");
        assert!(!valid_host_desc(0b11 << 8, l3), "SH");
        assert!(!valid_host_desc(1 << 48, l3), "OA above 48 bits");
        assert!(!valid_host_desc(1 << 55, l3), "NS");
        assert!(!valid_host_desc(0x9000_1000, l2), "OA not 2 MiB aligned");
        assert!(valid_host_desc(0x9020_0000, l2));
    }
}
