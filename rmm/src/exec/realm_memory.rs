// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reaching a realm's own memory from an RSI call: the IPA it names is walked through its
//! stage-2 tables to the protected granule behind it, which stays locked (its last-level
//! table does) while the RMM reads or writes it.

use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable};
use crate::rtt::entry::Entry;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::{Stage2, walk};
use rmm_abi::rmi::states::Ripas;

/// Why an IPA could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    /// Not granule aligned or not in the protected half: the RSI call fails with
    /// RSI_ERROR_INPUT.
    Invalid,
    /// Protected but not mapped to RAM: the walk stopped at `level` and the realm sees
    /// `ripas` there. EMPTY fails the call; RAM or DESTROYED become a stage-2 abort
    /// reported to the host.
    NotMapped {
        /// Level of the last table the walk reached.
        level: RttLevel,
        /// The RIPAS of the IPA.
        ripas: Ripas,
    },
}

/// What the RMM does to a realm's page on the realm's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads it (the arguments of RSI_HOST_CALL).
    Read,
    /// Writes it (REALM_CONFIG, host-call results, token bytes).
    Write,
}

/// Runs `access` on the granule behind the protected, granule-aligned `ipa` of the realm
/// with stage 2 `s2`, and on the byte offset of `ipa` in it (0 unless a block maps it, in
/// which case the granule is the one inside the block). The table that maps it stays locked
/// throughout, so the host cannot take the granule away meanwhile (nor, for a CSM alias,
/// can the provider's page go: its teardown removes the alias under this table's lock
/// first).
///
/// The entry and its permission are checked now, when the RMM is about to touch the page:
/// a host-call result is written at the REC_ENTER after the call, and another REC of the
/// realm may have accepted a CSM window over the buffer in between. A read may go through
/// any CSM alias; a write only through a read-write one, so the RMM never writes a
/// provider's page through a read-only grant. A refused access fails the call as a buffer
/// in RIPAS EMPTY does.
pub fn with_granule<M: Machine, R>(
    granules: &GranuleTable,
    machine: &M,
    s2: &Stage2,
    ipa: u64,
    kind: Access,
    access: impl FnOnce(GranuleAddr) -> R,
) -> Result<R, Unreachable> {
    if !ipa.is_multiple_of(crate::GRANULE_SIZE as u64) || !s2.in_par(ipa) {
        return Err(Unreachable::Invalid);
    }
    let reached = walk(granules, machine, s2, ipa, RttLevel::LEAF);
    match reached.entry(machine) {
        Entry::Assigned {
            pa,
            ripas: Ripas::Ram,
        } => {
            let offset = ipa & (reached.level.entry_size() - 1);
            let granule = GranuleAddr::new(pa + offset).ok_or(Unreachable::Invalid)?;
            Ok(access(granule))
        }
        Entry::Alias { pa, writable } if writable || kind == Access::Read => {
            let granule = GranuleAddr::new(pa).ok_or(Unreachable::Invalid)?;
            Ok(access(granule))
        }
        Entry::Alias { .. } => Err(Unreachable::NotMapped {
            level: reached.level,
            ripas: Ripas::Empty,
        }),
        other @ (Entry::Unassigned(_)
        | Entry::Assigned { .. }
        | Entry::UnassignedNs
        | Entry::AssignedNs { .. }
        | Entry::Table(_)) => Err(Unreachable::NotMapped {
            level: reached.level,
            ripas: match other {
                Entry::Unassigned(Ripas::Ram) => Ripas::Ram,
                Entry::Unassigned(Ripas::Destroyed)
                | Entry::Assigned {
                    ripas: Ripas::Destroyed,
                    ..
                } => Ripas::Destroyed,
                _ => Ripas::Empty,
            },
        }),
    }
}

/// The RIPAS of every entry from `base` up to at most `top`, within the one last-level table
/// that maps `base` (the reference RMM never scans past it): returns the end of the run of
/// entries with the RIPAS of the first one, and that RIPAS. `None` if the first entry has no
/// RIPAS (cannot happen for a protected IPA).
pub fn ripas_run<M: Machine>(
    granules: &GranuleTable,
    machine: &M,
    s2: &Stage2,
    base: u64,
    top: u64,
) -> Option<(u64, Ripas)> {
    let reached = walk(granules, machine, s2, base, RttLevel::LEAF);
    let level = reached.level;
    let ripas_of =
        |index: usize| match Entry::decode(machine.read_word(reached.table.addr(), index), level) {
            Entry::Assigned { ripas, .. } | Entry::Unassigned(ripas) => Some(ripas),
            Entry::Alias { .. } => Some(Ripas::Ram),
            Entry::UnassignedNs | Entry::AssignedNs { .. } | Entry::Table(_) => None,
        };
    let first = ripas_of(reached.index)?;
    let mut addr = level.align_down(base);
    let mut index = reached.index;
    while index < crate::rtt::level::ENTRIES && addr < top && ripas_of(index) == Some(first) {
        addr += level.entry_size();
        index += 1;
    }
    Some((addr.min(top), first))
}
