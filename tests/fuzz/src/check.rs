// SPDX-License-Identifier: MIT OR Apache-2.0
//! The invariants checked after every command, from outside the RMM: the granule table, the
//! simulated machine and the realms' stage-2 tables as the MMU would walk them.
//!
//! - every table's reference count equals its counted entries (tables and assigned memory),
//!   every RD's equals its live RECs;
//! - every table and DATA granule is referenced exactly once, and is in the state its entry
//!   says; no RTT or DATA granule is orphaned;
//! - every granule the RMM tracks outside UNDELEGATED is in the Realm PAS, every UNDELEGATED
//!   one of the pools in the Non-secure PAS; every DELEGATED granule is zero;
//! - nothing Realm is mapped NS: a valid protected-half leaf maps DATA without the NS bit, a
//!   valid unprotected-half leaf has it;
//! - no stale translation: a valid leaf that a command removed or changed was invalidated
//!   (by IPA within it, or the whole VMID) under its realm's VMID during that command.

use rmm::arch::fake::FakePas;
use rmm::granule::GranuleAddr;
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;
use std::collections::{BTreeMap, BTreeSet};

type HashMap<K, V> = BTreeMap<K, V>;
type HashSet<K> = BTreeSet<K>;

/// A live realm as the harness created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealmInfo {
    /// RD.
    pub rd: u64,
    /// First root table.
    pub rtt_base: u64,
    /// Concatenated roots.
    pub num_roots: u64,
    /// Start level.
    pub start_level: i64,
    /// IPA width.
    pub s2sz: u64,
    /// VMID.
    pub vmid: u16,
}

/// A valid leaf the MMU would use: (VMID, IPA, level) → descriptor.
pub type Leaves = BTreeMap<(u16, u64, i64), u64>;

const OA: u64 = 0x0000_FFFF_FFFF_F000;
const NS: u64 = 1 << 55;

fn level_shift(level: i64) -> u64 {
    12 + 9 * (3 - level) as u64
}

/// Walks every live realm's tables. Returns the valid leaves; records in `refs` every granule
/// an entry references (with what references it) and checks the tables' reference counts.
fn walk(
    rig: &Rig,
    realms: &[RealmInfo],
    states: &HashMap<u64, (GranuleState, u16)>,
    refs: &mut HashMap<u64, String>,
) -> Result<Leaves, String> {
    let mut leaves = Leaves::new();
    for r in realms {
        let mut stack: Vec<(u64, i64, u64)> = (0..r.num_roots)
            .map(|n| {
                let span = 1u64 << (level_shift(r.start_level) + 9);
                (r.rtt_base + n * 0x1000, r.start_level, n * span)
            })
            .collect();
        for (root, _, _) in &stack {
            if refs
                .insert(*root, format!("root of RD {:#x}", r.rd))
                .is_some()
            {
                return Err(format!("root {root:#x} referenced twice"));
            }
        }
        let unprotected = 1u64 << (r.s2sz - 1);
        while let Some((table, level, base)) = stack.pop() {
            let lvl = RttLevel::new(level).ok_or("bad level")?;
            match states.get(&table) {
                Some((GranuleState::Rtt, _)) => {}
                other => return Err(format!("table {table:#x} of RD {:#x} is {other:?}", r.rd)),
            }
            let raw = rig.machine.inspect(table);
            let mut counted = 0u16;
            for (i, e) in raw.chunks_exact(8).enumerate() {
                let desc = u64::from_le_bytes(e.try_into().expect("8 bytes"));
                if desc == 0 {
                    // Unassigned, RIPAS EMPTY: not counted, not valid, references nothing.
                    continue;
                }
                let ipa = base + ((i as u64) << level_shift(level));
                let entry = Entry::decode(desc, lvl);
                if entry.is_counted() {
                    counted += 1;
                }
                let is_table = desc & 0b11 == 0b11 && level < 3;
                if is_table {
                    let next = desc & OA;
                    if refs.insert(next, format!("table entry {ipa:#x}")).is_some() {
                        return Err(format!("table {next:#x} referenced twice"));
                    }
                    stack.push((next, level + 1, ipa));
                    continue;
                }
                if let Entry::Assigned { pa, .. } = entry {
                    let size = 1u64 << level_shift(level);
                    for g in (pa..pa + size).step_by(0x1000) {
                        if states.get(&g).map(|s| s.0) != Some(GranuleState::Data) {
                            return Err(format!(
                                "RD {:#x} IPA {ipa:#x} level {level}: {g:#x} is not DATA",
                                r.rd
                            ));
                        }
                        if refs.insert(g, format!("assigned {ipa:#x}")).is_some() {
                            return Err(format!("DATA {g:#x} mapped twice"));
                        }
                    }
                }
                if desc & 1 != 0 {
                    let in_unprotected = ipa >= unprotected;
                    if in_unprotected != (desc & NS != 0) {
                        return Err(format!(
                            "RD {:#x} IPA {ipa:#x} level {level}: valid leaf {desc:#x} with the \
                             NS bit {} in the {} half",
                            r.rd,
                            if desc & NS != 0 { "set" } else { "clear" },
                            if in_unprotected {
                                "unprotected"
                            } else {
                                "protected"
                            },
                        ));
                    }
                    leaves.insert((r.vmid, ipa, level), desc);
                }
            }
            let count = states[&table].1;
            if count != counted {
                return Err(format!(
                    "RTT {table:#x} (level {level}, RD {:#x}): refcount {count}, {counted} counted \
                     entries",
                    r.rd
                ));
            }
        }
    }
    Ok(leaves)
}

/// What the invariants need to know besides the machine.
pub struct World<'a> {
    /// Live realms.
    pub realms: &'a [RealmInfo],
    /// Live RECs: (REC, its RD).
    pub recs: &'a [(u64, u64)],
    /// Granules of the pools (checked for PAS even when UNDELEGATED).
    pub pool: &'a [u64],
}

/// Checks the invariants; returns the valid leaves for the next call's TLB check.
pub fn check(rig: &Rig, world: &World<'_>) -> Result<Leaves, String> {
    let states: HashMap<u64, (GranuleState, u16)> = rig
        .monitor
        .granules
        .snapshot()
        .filter(|(_, s, c)| *s != GranuleState::Undelegated || *c != 0)
        .map(|(a, s, c)| (a.get(), (s, c)))
        .collect();
    let mut refs = HashMap::new();
    let leaves = walk(rig, world.realms, &states, &mut refs)?;
    let rds: HashSet<u64> = world.realms.iter().map(|r| r.rd).collect();
    for (&pa, &(state, count)) in &states {
        if rig.machine.pas(pa) != Some(FakePas::Realm) {
            return Err(format!("{state:?} granule {pa:#x} is not in the Realm PAS"));
        }
        match state {
            GranuleState::Undelegated => {
                return Err(format!("UNDELEGATED {pa:#x} with refcount {count}"));
            }
            GranuleState::Delegated => {
                if count != 0 {
                    return Err(format!("DELEGATED {pa:#x} with refcount {count}"));
                }
                if rig.machine.inspect(pa) != [0; 4096] {
                    return Err(format!("DELEGATED {pa:#x} is not zero"));
                }
            }
            GranuleState::Rtt | GranuleState::Data if !refs.contains_key(&pa) => {
                return Err(format!("{state:?} {pa:#x} is referenced by no live realm"));
            }
            GranuleState::Rd => {
                if !rds.contains(&pa) {
                    return Err(format!("RD {pa:#x} is no live realm"));
                }
                let recs = world.recs.iter().filter(|(_, rd)| *rd == pa).count();
                if usize::from(count) != recs {
                    return Err(format!("RD {pa:#x}: refcount {count}, {recs} RECs"));
                }
            }
            GranuleState::Rec if !world.recs.iter().any(|(rec, _)| *rec == pa) => {
                return Err(format!("REC {pa:#x} is no live REC"));
            }
            _ => {}
        }
    }
    for r in world.realms {
        if states.get(&r.rd).map(|s| s.0) != Some(GranuleState::Rd) {
            return Err(format!("live realm's RD {:#x} is not an RD", r.rd));
        }
        if !rig.monitor.vmids.is_claimed(r.vmid) {
            return Err(format!("live realm {:#x}'s VMID {} is free", r.rd, r.vmid));
        }
    }
    for &pa in world.pool {
        if !states.contains_key(&pa)
            && GranuleAddr::new(pa).is_some_and(|a| rig.monitor.granules.is_tracked(a))
            && rig.machine.pas(pa) != Some(FakePas::NonSecure)
        {
            return Err(format!("UNDELEGATED {pa:#x} is not in the NS PAS"));
        }
    }
    Ok(leaves)
}

/// The TLB checks after a step, taking the invalidations the step made from `machine`: every
/// changed leaf was invalidated ([`no_stale_translations`]), and nothing the fake's TLB model
/// holds contradicts the tables now.
pub fn tlbs_after(
    machine: &rmm::arch::fake::FakeMachine,
    before: &Leaves,
    after: &Leaves,
) -> Result<(), String> {
    let per_ipa = machine.take_ipa_invalidations();
    let all = machine.take_stage2_invalidations();
    no_stale_translations(before, after, &per_ipa, &all)?;
    let cached = machine.stale_translations();
    match cached.first() {
        Some(first) => Err(format!(
            "{} stale TLB entries (fake TLB model), first: VMID {:#x} IPA {:#x}: {}",
            cached.len(),
            first.vmid,
            first.ipa,
            first.what
        )),
        None => Ok(()),
    }
}

/// Checks that every valid leaf in `before` that is not in `after` unchanged was invalidated
/// during the call: `ipa_invalidations` are (VMID, IPA) pairs, `all` every invalidation's VMID
/// (whole-VMID invalidations are those in `all` beyond the per-IPA ones).
pub fn no_stale_translations(
    before: &Leaves,
    after: &Leaves,
    ipa_invalidations: &[(u16, u64)],
    all: &[u16],
) -> Result<(), String> {
    let mut whole: BTreeMap<u16, isize> = BTreeMap::new();
    for v in all {
        *whole.entry(*v).or_default() += 1;
    }
    for (v, _) in ipa_invalidations {
        *whole.entry(*v).or_default() -= 1;
    }
    for (&(vmid, ipa, level), desc) in before {
        if after.get(&(vmid, ipa, level)) == Some(desc) {
            continue;
        }
        if whole.get(&vmid).is_some_and(|n| *n > 0) {
            continue;
        }
        let size = 1u64 << level_shift(level);
        let covered = ipa_invalidations
            .iter()
            .any(|&(v, at)| v == vmid && at >= ipa && at < ipa + size);
        if !covered {
            return Err(format!(
                "VMID {vmid:#x} IPA {ipa:#x} level {level}: valid leaf {desc:#x} removed or \
                 changed without a TLB invalidation (per-IPA: {ipa_invalidations:x?})"
            ));
        }
    }
    Ok(())
}
