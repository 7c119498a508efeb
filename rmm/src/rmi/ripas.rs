// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_RTT_INIT_RIPAS: marking the protected IPA range a new realm starts with as RAM, and
//! measuring it.
//!
//! Check order and semantics are the reference RMM's (`docs/reference/tf-rmm-rel0-facts.md`
//! §11.5): `top <= base` is refused before the RD is looked up; the walk from `base` stops at
//! the deepest existing table; whole entries of that table are processed while they fit
//! under `top`, UNASSIGNED EMPTY becoming UNASSIGNED RAM and UNASSIGNED RAM left as it is,
//! and every processed entry — already-RAM ones included — extends the RIM with one RIPAS
//! descriptor for that entry's range. The first entry of another kind ends the command.

use super::args::InitRipasArgs;
use super::error::{Handled, RmiError};
use super::locks::lock_rd;
use super::rtt_args::valid_map_addr;
use crate::arch::Machine;
use crate::monitor::Monitor;
use crate::realm::descriptor::Rd;
use crate::rtt::entry::Entry;
use crate::rtt::level::{ENTRIES, RttLevel};
use crate::rtt::walk::walk;
use attest::measurement::extend_ripas;
use rmm_abi::rmi::states::{RealmState, Ripas};

/// Handles RMI_RTT_INIT_RIPAS(x1 = rd, x2 = base, x3 = top) → x1 = top of the range done.
#[inline(always)]
pub fn init(monitor: &Monitor, machine: &impl Machine, args: InitRipasArgs) -> Handled<1> {
    let InitRipasArgs {
        rd: rd_pa,
        base,
        top,
    } = args;
    if top <= base {
        return Err(RmiError::Input.into());
    }
    let (rd, config) = lock_rd(monitor, machine, rd_pa)?;
    let s2 = config.s2;
    let page = RttLevel::LEAF;
    // `top` is exclusive: its last page must be in the protected half.
    if !valid_map_addr(&s2, base, page)
        || !valid_map_addr(&s2, top, page)
        || !s2.in_par(base)
        || !s2.in_par(top - page.entry_size())
    {
        return Err(RmiError::Input.into());
    }
    let realm = Rd::new(machine, rd.addr());
    if realm.state() != RealmState::New {
        return Err(RmiError::Realm(0).into());
    }
    let at = walk(&monitor.granules, machine, &s2, base, page);
    let level = at.level;
    if !level.is_aligned(base) {
        return Err(RmiError::Rtt(level).into());
    }
    let size = level.entry_size();
    let mut rim = realm.rim();
    let mut addr = base;
    for index in at.index..ENTRIES {
        let next = addr + size;
        if next > top {
            break;
        }
        match Entry::decode(machine.read_word(at.table.addr(), index), level) {
            Entry::Unassigned(Ripas::Empty) => {
                at.set_at(machine, index, Entry::Unassigned(Ripas::Ram));
            }
            Entry::Unassigned(Ripas::Ram) => {}
            Entry::Unassigned(Ripas::Destroyed)
            | Entry::Assigned { .. }
            | Entry::UnassignedNs
            | Entry::AssignedNs { .. }
            | Entry::Table(_)
            | Entry::Alias { .. } => break,
        }
        rim = extend_ripas(machine.sha2_engine(), config.hash, &rim, addr, next);
        addr = next;
    }
    if addr == base {
        return Err(RmiError::Rtt(level).into());
    }
    realm.set_rim(&rim);
    Ok([addr])
}
