// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fake's stage-2 TLBs and the stage-2 walker that fills them.
//!
//! The walker is an oracle independent of [`crate::rtt`]: it reads the realm's root and shape
//! from the VTTBR_EL2/VTCR_EL2 values the RMM installed for the run and decodes each
//! descriptor from the architecture's VMSAv8-64 stage-2 layout (4 KiB granule, 48-bit output
//! addresses): bit 0 valid; bits \[1:0\] = 0b11 a table (levels 0–2) or a page (level 3),
//! 0b01 a block (levels 1–2 only); OA bits \[47:12\] (a block's below its size ignored); AF
//! bit 10 (clear: an Access flag fault, the fake has no hardware AF update); S2AP\[7:6\]
//! (bit 6 read, bit 7 write); bit 55 the NS bit of a Realm stage-2 descriptor. It never looks
//! at software bits, so whatever the RMM means by an entry, the fake sees what the MMU would.
//!
//! Each simulated CPU (a thread) has a TLB of leaf entries (a page or a whole block, as the
//! walk found it) and of table entries (the walk cache: which next-level table a table
//! descriptor named), tagged with the VMID under the VTCR_EL2.VS the realm ran with
//! (VS = 0 drops VMID\[15:8\]). A lookup uses a matching leaf first, else starts the walk
//! below the deepest matching table entry, as a real walk cache lets the MMU do. Entries are
//! dropped only by invalidations that match them: a whole-VMID invalidation drops every entry
//! with its tag on every CPU, a per-IPA one every entry with its tag that translates that IPA
//! (leaf or table, at any level: `TLBI IPAS2E1IS`) on every CPU. A leaf cached for a 4 KiB
//! page is not dropped by an invalidation of another IPA of the block that replaced it.

extern crate std;

use super::hash::FastMap;
use std::collections::HashMap;
use std::format;
use std::string::String;
use std::thread::ThreadId;
use std::vec::Vec;

/// Output address bits of a descriptor (48-bit PAs).
const OA_MASK: u64 = 0x0000_FFFF_FFFF_F000;
const VALID: u64 = 1;
const TYPE_MASK: u64 = 0b11;
const TYPE_BLOCK: u64 = 0b01;
const AF: u64 = 1 << 10;
const S2AP_READ: u64 = 1 << 6;
const S2AP_WRITE: u64 = 1 << 7;
const NS: u64 = 1 << 55;

/// Bits of the IPA a level's entry translates below (4 KiB granule).
pub const fn level_shift(level: u8) -> u32 {
    12 + 9 * (3 - level as u32)
}

/// The translation regime a realm ran under: what VTTBR_EL2 and VTCR_EL2 say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Regime {
    /// The first root table (VTTBR_EL2.BADDR).
    pub root: u64,
    /// The VMID (VTTBR_EL2\[63:48\]).
    pub vmid: u16,
    /// VTCR_EL2.VS: 16-bit VMIDs.
    pub vmid16: bool,
    /// IPA width (64 − VTCR_EL2.T0SZ).
    pub ipa_bits: u32,
    /// Starting level (from VTCR_EL2.SL0 with TG0 = 4 KiB).
    pub start_level: u8,
    /// Output address width (VTCR_EL2.PS).
    pub pa_bits: u32,
}

impl Regime {
    /// Decodes VTTBR_EL2 and VTCR_EL2. Panics on a shape the fake does not model (another
    /// granule size, LPA2's level −1): the RMM never configures those.
    pub fn decode(vttbr: u64, vtcr: u64) -> Self {
        assert_eq!(
            (vtcr >> 14) & 0b11,
            0,
            "VTCR_EL2.TG0 {vtcr:#x}: the fake walks 4 KiB granules only"
        );
        assert_eq!(vtcr >> 33 & 1, 0, "VTCR_EL2.SL2 set: LPA2 is not modelled");
        let start_level = match (vtcr >> 6) & 0b11 {
            0 => 2,
            1 => 1,
            2 => 0,
            _ => 3,
        };
        let pa_bits = match (vtcr >> 16) & 0b111 {
            0 => 32,
            1 => 36,
            2 => 40,
            3 => 42,
            4 => 44,
            _ => 48,
        };
        Self {
            root: vttbr & OA_MASK,
            vmid: (vttbr >> 48) as u16,
            vmid16: vtcr >> 19 & 1 == 1,
            ipa_bits: 64 - (vtcr & 0x3F) as u32,
            start_level,
            pa_bits,
        }
    }

    /// The tag TLB entries filled under this regime carry: VS = 0 ignores VMID\[15:8\].
    pub const fn tag(&self) -> u16 {
        if self.vmid16 {
            self.vmid
        } else {
            self.vmid & 0xFF
        }
    }
}

/// A stage-2 fault the walk (or a cached entry) gives, with the level it was found at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage2Fault {
    /// No valid descriptor (or a reserved one), or an IPA beyond the IPA width.
    Translation {
        /// The level of the faulting lookup.
        level: u8,
    },
    /// A leaf with AF = 0.
    AccessFlag {
        /// The leaf's level.
        level: u8,
    },
    /// S2AP does not allow the access.
    Permission {
        /// The leaf's level.
        level: u8,
    },
    /// An output (or table) address beyond VTCR_EL2.PS.
    AddressSize {
        /// The level of the descriptor.
        level: u8,
    },
    /// The walk or the access touched a granule of the wrong physical address space (on
    /// hardware a Granule Protection Fault): the PA.
    GranuleProtection {
        /// The physical address.
        pa: u64,
    },
}

/// What a realm access needs: read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A load.
    Read,
    /// A store.
    Write,
}

/// A leaf translation: a page or block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Leaf {
    /// The level of the descriptor (3 a page, 1–2 a block).
    pub level: u8,
    /// The output address of the page or block (aligned to its size).
    pub out: u64,
    /// Reads allowed (S2AP\[0\]).
    pub read: bool,
    /// Writes allowed (S2AP\[1\]).
    pub write: bool,
    /// The output is in the Non-secure PAS (the descriptor's NS bit).
    pub ns: bool,
}

impl Leaf {
    /// The PA `ipa` translates to through this leaf.
    pub const fn pa(&self, ipa: u64) -> u64 {
        self.out | (ipa & ((1 << level_shift(self.level)) - 1))
    }

    /// The fault, if any, of `access` through this leaf.
    pub const fn check(&self, access: Access) -> Result<(), Stage2Fault> {
        let allowed = match access {
            Access::Read => self.read,
            Access::Write => self.write,
        };
        if allowed {
            Ok(())
        } else {
            Err(Stage2Fault::Permission { level: self.level })
        }
    }
}

/// Walks `regime`'s tables for `ipa`, reading descriptors with `read` (PA of a descriptor →
/// its value, or the fault the read takes). `from` starts the walk at a level below the root,
/// with that level's table (a walk-cache hit): (level, table PA). Each table descriptor the
/// walk follows is pushed on `passed` as (its level, next table PA), also when the walk
/// ends in a fault further down (a walk cache may keep those).
pub fn walk(
    regime: &Regime,
    ipa: u64,
    from: Option<(u8, u64)>,
    read: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    passed: &mut Vec<(u8, u64)>,
) -> Result<Leaf, Stage2Fault> {
    if regime.ipa_bits < 64 && ipa >> regime.ipa_bits != 0 {
        return Err(Stage2Fault::Translation {
            level: regime.start_level,
        });
    }
    let (mut level, mut table) = from.unwrap_or((regime.start_level, regime.root));
    loop {
        let shift = level_shift(level);
        // The start level indexes the concatenated roots with every IPA bit above `shift`;
        // the levels below use nine bits each.
        let index = if level == regime.start_level {
            ipa >> shift
        } else {
            (ipa >> shift) & 0x1FF
        };
        let desc = read(table + index * 8)?;
        if desc & VALID == 0 {
            return Err(Stage2Fault::Translation { level });
        }
        let out = desc & OA_MASK;
        if out >> regime.pa_bits != 0 {
            return Err(Stage2Fault::AddressSize { level });
        }
        if desc & TYPE_MASK == TYPE_BLOCK {
            // Blocks exist at levels 1 and 2 only with a 4 KiB granule (without LPA2); the
            // encoding is reserved at levels 0 and 3.
            if level == 0 || level == 3 {
                return Err(Stage2Fault::Translation { level });
            }
        } else if level < 3 {
            passed.push((level, out));
            table = out;
            level += 1;
            continue;
        }
        if desc & AF == 0 {
            return Err(Stage2Fault::AccessFlag { level });
        }
        return Ok(Leaf {
            level,
            out: out & !((1 << shift) - 1),
            read: desc & S2AP_READ != 0,
            write: desc & S2AP_WRITE != 0,
            ns: desc & NS != 0,
        });
    }
}

/// What a TLB entry is looked up by: the VMID tag, the level of the descriptor it caches and
/// the IPA bits above that level's (the entry translates every IPA with those bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    tag: u16,
    level: u8,
    index: u64,
}

impl Key {
    const fn of(tag: u16, level: u8, ipa: u64) -> Self {
        Self {
            tag,
            level,
            index: ipa >> level_shift(level),
        }
    }

    const fn ipa(&self) -> u64 {
        self.index << level_shift(self.level)
    }

    const fn translates(&self, ipa: u64) -> bool {
        ipa >> level_shift(self.level) == self.index
    }
}

/// One CPU's TLB.
#[derive(Debug, Default, Clone)]
struct CpuTlb {
    /// Leaf entries, with the regime whose walk filled them.
    leaves: FastMap<Key, (Regime, Leaf)>,
    /// Walk-cache entries: the next-level table a table descriptor at `level` named.
    tables: FastMap<Key, (Regime, u64)>,
}

/// A cached entry that no longer matches what a fresh walk of its realm's tables gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleTranslation {
    /// The simulated CPU that holds it.
    pub cpu: ThreadId,
    /// The VMID of the realm whose walk filled it.
    pub vmid: u16,
    /// The tag it is matched by.
    pub tag: u16,
    /// The first IPA it translates.
    pub ipa: u64,
    /// What it says and what the tables say now.
    pub what: String,
}

/// Every simulated CPU's stage-2 TLB.
#[derive(Debug, Default, Clone)]
pub struct Tlbs {
    cpus: HashMap<ThreadId, CpuTlb>,
}

impl Tlbs {
    /// Translates `ipa` on `cpu` for `regime`: a cached leaf, else a walk (from the deepest
    /// cached table, else the root) whose leaf and tables are cached. A fault is not cached,
    /// the tables the walk passed before it are.
    pub fn translate(
        &mut self,
        cpu: ThreadId,
        regime: &Regime,
        ipa: u64,
        read: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> Result<Leaf, Stage2Fault> {
        let tag = regime.tag();
        let tlb = self.cpus.entry(cpu).or_default();
        for level in (0..=3).rev() {
            if let Some((_, leaf)) = tlb.leaves.get(&Key::of(tag, level, ipa)) {
                return Ok(*leaf);
            }
        }
        let from = (regime.start_level..3).rev().find_map(|level| {
            tlb.tables
                .get(&Key::of(tag, level, ipa))
                .map(|(_, next)| (level + 1, *next))
        });
        let mut passed = Vec::new();
        let walked = walk(regime, ipa, from, read, &mut passed);
        for (level, next) in passed {
            tlb.tables.insert(Key::of(tag, level, ipa), (*regime, next));
        }
        let leaf = walked?;
        tlb.leaves
            .insert(Key::of(tag, leaf.level, ipa), (*regime, leaf));
        Ok(leaf)
    }

    /// Swaps the TLBs of CPUs `a` and `b`: a machine image taken on one thread and restored
    /// on another keeps its CPU's translations on the CPU that now runs it.
    pub fn swap_cpus(&mut self, a: ThreadId, b: ThreadId) {
        let first = self.cpus.remove(&a);
        let second = self.cpus.remove(&b);
        if let Some(tlb) = first {
            self.cpus.insert(b, tlb);
        }
        if let Some(tlb) = second {
            self.cpus.insert(a, tlb);
        }
    }

    /// `TLBI VMALLS12E1IS`: drops every entry tagged `tag` on every CPU.
    pub fn invalidate_vmid(&mut self, tag: u16) {
        for tlb in self.cpus.values_mut() {
            tlb.leaves.retain(|key, _| key.tag != tag);
            tlb.tables.retain(|key, _| key.tag != tag);
        }
    }

    /// `TLBI IPAS2E1IS`: drops every entry tagged `tag` that translates `ipa`, leaf or table,
    /// at any level, on every CPU.
    pub fn invalidate_ipa(&mut self, tag: u16, ipa: u64) {
        for tlb in self.cpus.values_mut() {
            tlb.leaves
                .retain(|key, _| key.tag != tag || !key.translates(ipa));
            tlb.tables
                .retain(|key, _| key.tag != tag || !key.translates(ipa));
        }
    }

    /// How many entries (leaves, tables) all CPUs hold.
    pub fn len(&self) -> (usize, usize) {
        self.cpus.values().fold((0, 0), |(l, t), tlb| {
            (l + tlb.leaves.len(), t + tlb.tables.len())
        })
    }

    /// Every cached entry that a fresh walk (from the root of the regime that filled it, no
    /// cache) contradicts: a leaf whose IPAs no longer all translate to the same PAs with the
    /// same permissions and PAS, a table entry whose descriptor no longer names that table.
    pub fn stale(
        &self,
        read: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
    ) -> Vec<StaleTranslation> {
        // Checked in any order (`read` only reads), reported in a fixed one: by CPU, leaves
        // before tables, by key. Sorting only what is found keeps the check cheap.
        let mut found = Vec::new();
        for (cpu, tlb) in &self.cpus {
            for (key, (regime, leaf)) in &tlb.leaves {
                if let Err(what) = leaf_holds(regime, key.ipa(), leaf, read) {
                    found.push((*cpu, 0, *key, *regime, what));
                }
            }
            for (key, (regime, next)) in &tlb.tables {
                if let Err(what) = table_holds(regime, key, *next, read) {
                    found.push((*cpu, 1, *key, *regime, what));
                }
            }
        }
        found.sort_by_cached_key(|(cpu, kind, key, _, _)| (format!("{cpu:?}"), *kind, *key));
        found
            .into_iter()
            .map(|(cpu, _, key, regime, what)| StaleTranslation {
                cpu,
                vmid: regime.vmid,
                tag: key.tag,
                ipa: key.ipa(),
                what,
            })
            .collect()
    }
}

/// Whether every IPA of the cached `leaf` at `base` still translates as it says.
fn leaf_holds(
    regime: &Regime,
    base: u64,
    leaf: &Leaf,
    read: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
) -> Result<(), String> {
    let end = base + (1 << level_shift(leaf.level));
    let mut ipa = base;
    while ipa < end {
        let fresh = match walk(regime, ipa, None, read, &mut Vec::new()) {
            Ok(leaf) => leaf,
            Err(fault) => {
                return Err(format!(
                    "cached level {} leaf {leaf:x?}, but IPA {ipa:#x} now faults: {fault:?}",
                    leaf.level
                ));
            }
        };
        let same = fresh.pa(ipa) == leaf.pa(ipa)
            && fresh.read == leaf.read
            && fresh.write == leaf.write
            && fresh.ns == leaf.ns;
        if !same {
            return Err(format!(
                "cached level {} leaf {leaf:x?} gives PA {:#x}, but IPA {ipa:#x} now maps \
                 {fresh:x?} (PA {:#x})",
                leaf.level,
                leaf.pa(ipa),
                fresh.pa(ipa)
            ));
        }
        // A fresh leaf at least as large covers the rest of the cached one.
        let step = 1u64 << level_shift(fresh.level.max(leaf.level));
        ipa = (ipa & !(step - 1)) + step;
    }
    Ok(())
}

/// Whether the table descriptor at `key` still names `next` in a fresh walk.
fn table_holds(
    regime: &Regime,
    key: &Key,
    next: u64,
    read: &mut dyn FnMut(u64) -> Result<u64, Stage2Fault>,
) -> Result<(), String> {
    let ipa = key.ipa();
    let mut passed = Vec::new();
    let ended = walk(regime, ipa, None, read, &mut passed);
    if passed.contains(&(key.level, next)) {
        Ok(())
    } else {
        Err(format!(
            "cached level {} table descriptor → {next:#x}, but a walk of {ipa:#x} now passes \
             {passed:x?} ({ended:?})",
            key.level
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 40-bit, level-1-start regime with its root at 0x10_000 and VMID `vmid`.
    fn regime(vmid: u16, vmid16: bool) -> Regime {
        Regime {
            root: 0x10_000,
            vmid,
            vmid16,
            ipa_bits: 40,
            start_level: 1,
            pa_bits: 48,
        }
    }

    struct Mem(HashMap<u64, u64>);

    impl Mem {
        fn read(&self) -> impl FnMut(u64) -> Result<u64, Stage2Fault> + '_ {
            |pa| Ok(self.0.get(&pa).copied().unwrap_or(0))
        }
    }

    const PAGE_RW: u64 = 0b11 | AF | S2AP_READ | S2AP_WRITE;

    /// Root (0x10_000) → L2 at 0x11_000 → L3 at 0x12_000, IPA 0x5000 → PA 0x9_9000.
    fn tables() -> Mem {
        let mut m = HashMap::new();
        m.insert(0x10_000, 0x11_000 | 0b11);
        m.insert(0x11_000, 0x12_000 | 0b11);
        m.insert(0x12_000 + 5 * 8, 0x9_9000 | PAGE_RW);
        Mem(m)
    }

    #[test]
    fn regime_from_registers() {
        // What exec/config.rs writes for a 40-bit level-1 realm, PS = 48 bits, VS = 1.
        let vtcr = 24 | 1 << 6 | 0b01 << 8 | 0b01 << 10 | 0b11 << 12 | 5 << 16 | 1 << 19 | 1 << 31;
        let r = Regime::decode(0x0123_0000_8800_0000, vtcr);
        assert_eq!(
            r,
            Regime {
                root: 0x8800_0000,
                vmid: 0x123,
                vmid16: true,
                ipa_bits: 40,
                start_level: 1,
                pa_bits: 48,
            }
        );
        assert_eq!(r.tag(), 0x123);
        assert_eq!(
            Regime::decode(0x0123_0000_8800_0000, vtcr & !(1 << 19)).tag(),
            0x23
        );
    }

    #[test]
    fn walks_pages_blocks_and_concatenated_roots() {
        let mem = tables();
        let mut passed = Vec::new();
        let leaf = walk(&regime(1, true), 0x5123, None, &mut mem.read(), &mut passed).unwrap();
        assert_eq!(leaf.pa(0x5123), 0x9_9123);
        assert_eq!(passed, [(1, 0x11_000), (2, 0x12_000)]);
        assert!(leaf.read && leaf.write && !leaf.ns);
        // A level-2 block, read-only, NS.
        let mut m = tables().0;
        m.insert(0x11_000 + 8, 0x4060_0000 | 0b01 | AF | S2AP_READ | NS);
        let mem = Mem(m);
        let w = walk(
            &regime(1, true),
            0x20_1234,
            None,
            &mut mem.read(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(
            w,
            Leaf {
                level: 2,
                out: 0x4060_0000,
                read: true,
                write: false,
                ns: true
            }
        );
        assert_eq!(
            w.check(Access::Write),
            Err(Stage2Fault::Permission { level: 2 })
        );
        // IPA bit 39 indexes the second concatenated root.
        let mut m = tables().0;
        m.insert(0x10_000 + 512 * 8, 0x8000_0000 | 0b01 | AF | S2AP_READ);
        let mem = Mem(m);
        let w = walk(
            &regime(1, true),
            1 << 39,
            None,
            &mut mem.read(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!((w.level, w.out), (1, 0x8000_0000));
        // Beyond the IPA width, invalid, reserved encodings, AF clear.
        let mem = tables();
        assert_eq!(
            walk(
                &regime(1, true),
                1 << 40,
                None,
                &mut mem.read(),
                &mut Vec::new()
            ),
            Err(Stage2Fault::Translation { level: 1 })
        );
        assert_eq!(
            walk(
                &regime(1, true),
                0x6000,
                None,
                &mut mem.read(),
                &mut Vec::new()
            ),
            Err(Stage2Fault::Translation { level: 3 })
        );
        let mut m = tables().0;
        m.insert(0x12_000 + 6 * 8, 0x9_a000 | 0b01 | AF | S2AP_READ);
        m.insert(0x12_000 + 7 * 8, 0x9_b000 | 0b11 | S2AP_READ);
        let mem = Mem(m);
        assert_eq!(
            walk(
                &regime(1, true),
                0x6000,
                None,
                &mut mem.read(),
                &mut Vec::new()
            ),
            Err(Stage2Fault::Translation { level: 3 })
        );
        assert_eq!(
            walk(
                &regime(1, true),
                0x7000,
                None,
                &mut mem.read(),
                &mut Vec::new()
            ),
            Err(Stage2Fault::AccessFlag { level: 3 })
        );
    }

    #[test]
    fn invalidations_drop_only_what_they_match() {
        let cpu = std::thread::current().id();
        let mut m = tables();
        let mut tlbs = Tlbs::default();
        let big = regime(0x105, true);
        let small = regime(0x05, true);
        tlbs.translate(cpu, &big, 0x5000, &mut m.read()).unwrap();
        tlbs.translate(cpu, &small, 0x5000, &mut m.read()).unwrap();
        assert_eq!(tlbs.len(), (2, 4));
        // The page changes hands in the tables: both entries are stale.
        m.0.insert(0x12_000 + 5 * 8, 0x7_7000 | PAGE_RW);
        assert_eq!(tlbs.stale(&mut m.read()).len(), 2);
        // A hit uses the stale entry, not the tables.
        let hit = tlbs.translate(cpu, &big, 0x5008, &mut m.read()).unwrap();
        assert_eq!(hit.pa(0x5008), 0x9_9008);
        // VMID 0x05 under an 8-bit tag does not reach 0x105's 16-bit-tagged entries.
        tlbs.invalidate_ipa(0x05, 0x5000);
        assert_eq!(tlbs.len(), (1, 2));
        tlbs.invalidate_ipa(0x105, 0x6000);
        assert_eq!(
            tlbs.len(),
            (1, 0),
            "the walk cache of 0x5000 is 0x6000's too"
        );
        tlbs.invalidate_ipa(0x105, 0x5000);
        assert_eq!(tlbs.len(), (0, 0));
        assert!(tlbs.stale(&mut m.read()).is_empty());
        // An 8-bit regime tags 0x105's entries 0x05.
        tlbs.translate(cpu, &regime(0x105, false), 0x5000, &mut m.read())
            .unwrap();
        tlbs.invalidate_vmid(0x105);
        assert_eq!(tlbs.len().0, 1);
        tlbs.invalidate_vmid(0x05);
        assert_eq!(tlbs.len(), (0, 0));
    }

    #[test]
    fn a_page_entry_outlives_an_invalidation_of_another_ipa_of_its_block() {
        let cpu = std::thread::current().id();
        let m = tables();
        let mut tlbs = Tlbs::default();
        let r = regime(1, true);
        tlbs.translate(cpu, &r, 0x5000, &mut m.read()).unwrap();
        // The level-2 entry over [0, 2 MiB) goes (say, its table destroyed) and only IPA 0
        // is invalidated: the table entries go, the page entry of 0x5000 stays, and is stale.
        tlbs.invalidate_ipa(1, 0);
        assert_eq!(tlbs.len().0, 1);
        let mut m = m;
        m.0.insert(0x11_000, 0);
        let stale = tlbs.stale(&mut m.read());
        assert_eq!(stale.len(), 1, "{stale:#?}");
        assert_eq!(stale[0].ipa, 0x5000);
    }
}
