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

use rmm::arch::fake::{FakePas, MemoryView};
use rmm::granule::GranuleAddr;
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The state and refcount of every granule of [`World::granules`], indexed by granule number
/// over the range they span (a lookup is an index, not a tree search: the checks look up
/// every table and DATA granule after every command).
struct States {
    lo: u64,
    slots: Vec<Option<(GranuleState, u16)>>,
}

impl States {
    fn new(granules: &[(u64, GranuleState, u16)]) -> Self {
        let lo = granules.first().map_or(0, |g| g.0);
        let hi = granules.last().map_or(0, |g| g.0);
        let mut slots = vec![None; granules.len().min(1) + ((hi - lo) / 0x1000) as usize];
        for &(pa, state, count) in granules {
            slots[((pa - lo) / 0x1000) as usize] = Some((state, count));
        }
        Self { lo, slots }
    }

    fn slot(&self, pa: u64) -> Option<usize> {
        let offset = pa.checked_sub(self.lo)?;
        offset
            .is_multiple_of(0x1000)
            .then_some((offset / 0x1000) as usize)
            .filter(|i| *i < self.slots.len())
    }

    fn get(&self, pa: u64) -> Option<(GranuleState, u16)> {
        self.slot(pa).and_then(|i| self.slots[i])
    }
}

/// Granules referenced by a table entry (or as a root): a flag per granule of [`States`]'s
/// range, a set for anything outside it.
struct Refs<'s> {
    states: &'s States,
    flags: Vec<bool>,
    others: HashSet<u64>,
}

impl<'s> Refs<'s> {
    fn new(states: &'s States) -> Self {
        Self {
            states,
            flags: vec![false; states.slots.len()],
            others: HashSet::new(),
        }
    }

    /// Records a reference to `pa`; `false` if it was referenced already.
    fn insert(&mut self, pa: u64) -> bool {
        match self.states.slot(pa) {
            Some(i) => !std::mem::replace(&mut self.flags[i], true),
            None => self.others.insert(pa),
        }
    }

    fn contains(&self, pa: u64) -> bool {
        match self.states.slot(pa) {
            Some(i) => self.flags[i],
            None => self.others.contains(&pa),
        }
    }
}

/// Walks every live realm's tables. Returns the valid leaves; records in `refs` every granule
/// an entry references (each at most once) and checks the tables' reference counts.
fn walk(
    mem: &MemoryView<'_>,
    realms: &[RealmInfo],
    states: &States,
    refs: &mut Refs<'_>,
) -> Result<Leaves, String> {
    let mut leaves = Leaves::new();
    let mut live = Vec::new();
    for r in realms {
        let mut stack: Vec<(u64, i64, u64)> = (0..r.num_roots)
            .map(|n| {
                let span = 1u64 << (level_shift(r.start_level) + 9);
                (r.rtt_base + n * 0x1000, r.start_level, n * span)
            })
            .collect();
        for (root, _, _) in &stack {
            if !refs.insert(*root) {
                return Err(format!("root {root:#x} referenced twice"));
            }
        }
        let unprotected = 1u64 << (r.s2sz - 1);
        while let Some((table, level, base)) = stack.pop() {
            let lvl = RttLevel::new(level).ok_or("bad level")?;
            match states.get(table) {
                Some((GranuleState::Rtt, _)) => {}
                other => return Err(format!("table {table:#x} of RD {:#x} is {other:?}", r.rd)),
            }
            let raw = mem.page(table).unwrap_or(&ZERO_PAGE);
            let mut counted = 0u16;
            // What the loop below does nothing with (not counted, no table, no memory, not
            // valid): runs of one such descriptor are skipped whole.
            let inert = |desc: u64| {
                desc == 0
                    || (desc & 1 == 0
                        && !(desc & 0b11 == 0b11 && level < 3)
                        && !matches!(
                            Entry::decode(desc, lvl),
                            Entry::Assigned { .. } | Entry::Table(_) | Entry::Alias { .. }
                        ))
            };
            live.clear();
            // A table byte for byte as it was when last walked at this level has the same
            // descriptors that may matter (the check below still looks at every one of them).
            let known = WALKED.with_borrow(|walked| {
                let (bytes, found) = walked.get(&(table, level))?;
                (bytes[..] == raw[..]).then(|| live.extend_from_slice(found))
            });
            if known.is_none() {
                live_descriptors(raw, 0, &inert, &mut live);
                WALKED.with_borrow_mut(|walked| {
                    if walked.len() >= 1024 {
                        walked.clear();
                    }
                    walked.insert((table, level), (Box::new(*raw), live.clone()))
                });
            }
            if SELF_CHECK.load(Ordering::Relaxed) {
                let mut seen = [false; 512];
                for &(i, desc) in &live {
                    assert_eq!(raw[i * 8..i * 8 + 8], desc.to_le_bytes(), "descriptor {i}");
                    seen[i] = true;
                }
                for (i, e) in raw.chunks_exact(8).enumerate() {
                    let desc = u64::from_le_bytes(e.try_into().expect("8 bytes"));
                    assert!(seen[i] || inert(desc), "skipped descriptor {i}: {desc:#x}");
                }
            }
            for &(i, desc) in &live {
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
                    if !refs.insert(next) {
                        return Err(format!("table {next:#x} referenced twice"));
                    }
                    stack.push((next, level + 1, ipa));
                    continue;
                }
                if let Entry::Assigned { pa, .. } = entry {
                    let size = 1u64 << level_shift(level);
                    for g in (pa..pa + size).step_by(0x1000) {
                        if states.get(g).map(|s| s.0) != Some(GranuleState::Data) {
                            return Err(format!(
                                "RD {:#x} IPA {ipa:#x} level {level}: {g:#x} is not DATA",
                                r.rd
                            ));
                        }
                        if !refs.insert(g) {
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
            let count = states.get(table).map_or(0, |s| s.1);
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

static ZERO_PAGE: [u8; 4096] = [0; 4096];

/// What a table's bytes held when last walked on this thread, and which of its descriptors
/// [`live_descriptors`] found may matter: (table, level) → (bytes, (index, descriptor)).
type Walked = BTreeMap<(u64, i64), (Box<[u8; 4096]>, Vec<(usize, u64)>)>;

thread_local! {
    static WALKED: RefCell<Walked> = const { RefCell::new(BTreeMap::new()) };
}

static SELF_CHECK: AtomicBool = AtomicBool::new(false);

/// From now on every check also compares [`World::granules`] with the granule table's own
/// snapshot and the descriptors the table walk skipped with every descriptor (the corpus
/// replay tests turn it on; the fuzzer, for speed, does not).
pub fn self_check() {
    SELF_CHECK.store(true, Ordering::Relaxed);
}

/// Pushes on `out` (index, descriptor) of the descriptors of `raw` (a table, or a run of it
/// starting at descriptor `first`) that may matter: it skips every run of one descriptor that
/// is `inert` (the unprotected half's 512 `UnassignedNs` roots, the zeros of a sparse table)
/// by testing the run against itself shifted by one descriptor — one `memcmp`, where testing
/// the descriptors one by one costs an instrumented comparison each in a fuzz build — and
/// then halves of halves down to eight descriptors.
fn live_descriptors(
    raw: &[u8],
    first: usize,
    inert: &dyn Fn(u64) -> bool,
    out: &mut Vec<(usize, u64)>,
) {
    let n = raw.len() / 8;
    let word = |k: usize| u64::from_le_bytes(raw[k * 8..k * 8 + 8].try_into().expect("8 bytes"));
    if n == 0 || (raw[..raw.len() - 8] == raw[8..] && inert(word(0))) {
        return;
    }
    if n <= 8 {
        out.extend((0..n).map(|k| (first + k, word(k))));
        return;
    }
    let half = n / 2 * 8;
    live_descriptors(&raw[..half], first, inert, out);
    live_descriptors(&raw[half..], first + half / 8, inert, out);
}

/// What the invariants need to know besides the machine.
pub struct World<'a> {
    /// Every granule not UNDELEGATED with refcount 0, by ascending address
    /// (`Lease::tracked_granules`; compared with the granule table's own snapshot after
    /// [`self_check`]).
    pub granules: &'a [(u64, GranuleState, u16)],
    /// Live realms.
    pub realms: &'a [RealmInfo],
    /// Live RECs: (REC, its RD).
    pub recs: &'a [(u64, u64)],
    /// Granules of the pools (checked for PAS even when UNDELEGATED).
    pub pool: &'a [u64],
}

/// Checks the invariants; returns the valid leaves for the next call's TLB check.
pub fn check(rig: &Rig, world: &World<'_>) -> Result<Leaves, String> {
    rig.machine.view(|mem| check_memory(rig, mem, world))
}

/// [`check`] with the machine's memory lent (`rig.machine` must not be called: its lock is
/// held).
fn check_memory(rig: &Rig, mem: &MemoryView<'_>, world: &World<'_>) -> Result<Leaves, String> {
    if SELF_CHECK.load(Ordering::Relaxed) {
        let table = rmm_integration_tests::snapshot::tracked_granules(&rig.monitor.granules);
        assert_eq!(
            world.granules, table,
            "World::granules is not the granule table"
        );
    }
    let states = States::new(world.granules);
    let mut refs = Refs::new(&states);
    let leaves = walk(mem, world.realms, &states, &mut refs)?;
    let rds: HashSet<u64> = world.realms.iter().map(|r| r.rd).collect();
    for &(pa, state, count) in world.granules {
        if mem.pas(pa) != Some(FakePas::Realm) {
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
                // A slice comparison against a page the optimiser cannot see is one
                // `memcmp` (against a known zero page it becomes an instrumented loop).
                if mem
                    .page(pa)
                    .is_some_and(|page| page[..] != std::hint::black_box(&ZERO_PAGE)[..])
                {
                    return Err(format!("DELEGATED {pa:#x} is not zero"));
                }
            }
            GranuleState::Rtt | GranuleState::Data if !refs.contains(pa) => {
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
        if states.get(r.rd).map(|s| s.0) != Some(GranuleState::Rd) {
            return Err(format!("live realm's RD {:#x} is not an RD", r.rd));
        }
        if !rig.monitor.vmids.is_claimed(r.vmid) {
            return Err(format!("live realm {:#x}'s VMID {} is free", r.rd, r.vmid));
        }
    }
    for &pa in world.pool {
        if states.get(pa).is_none()
            && GranuleAddr::new(pa).is_some_and(|a| rig.monitor.granules.is_tracked(a))
            && mem.pas(pa) != Some(FakePas::NonSecure)
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
