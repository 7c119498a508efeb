// SPDX-License-Identifier: MIT OR Apache-2.0
//! Stage-2 table entries (RTT entries): what the RMM stores in a realm's translation tables,
//! decoded into [`Entry`] and encoded back.
//!
//! Valid entries are what the MMU walks; invalid entries (bit 0 clear) are ignored by the MMU,
//! so the RMM keeps the host and realm IPA states there in software-defined bits. The
//! encoding is the reference RMM's (TF-RMM `s2tt_pvt_defs.h` at rmm-spec-v1.0-rel0), so a
//! reviewer can compare table dumps of the two:
//!
//! | entry | bits |
//! |---|---|
//! | unassigned, RIPAS EMPTY / RAM / DESTROYED | `0x0` / `0x20` / `0x40` (HIPAS\[4:2\] = 0, RIPAS\[6:5\]); all-zero is a valid entry, so a zeroed granule is an empty table |
//! | assigned, RIPAS EMPTY / DESTROYED | `OA \| 0x4` / `OA \| 0x44` (HIPAS = 1) |
//! | assigned, RIPAS RAM | valid page (`0b11`, level 3) or block (`0b01`, levels 1–2): `OA \| 0x7D8 \| type`: MemAttr\[4:2\] = Normal write-back (with HCR_EL2.FWB), S2AP RW, SH inner, AF |
//! | unassigned NS | bit 55 only |
//! | assigned NS | valid page/block: the host's `OA`, MemAttr\[4:2\], S2AP\[7:6\], plus SH inner, AF, XN = 0b10, NS (bit 55) |
//! | table | `OA \| 0b11` (levels 0–2) |
//! | CSM alias (level 3 only) | valid page: the provider's `OA \| 0x718 \| 0b11` (Normal write-back, SH inner, AF) with S2AP RO (`0x40`) or RW (`0xC0`), XN = 0b10 and the software bit 56 that marks an alias |
//!
//! Bit 55 is the hardware NS bit of a Realm stage-2 descriptor (the output is in the
//! Non-secure PAS); in invalid entries it marks the unprotected half. Bit 56 is one of the
//! descriptor bits the hardware ignores (software use): set only in CSM alias entries, it
//! keeps an alias from reading back as the consumer's own page.

use super::level::RttLevel;
use crate::granule::GranuleAddr;
use rmm_abi::rmi::states::Ripas;

const TYPE_MASK: u64 = 0b11;
const TYPE_BLOCK: u64 = 0b01;
const TYPE_TABLE_OR_PAGE: u64 = 0b11;
/// Output address bits (48-bit PAs; LPA2 is not offered).
pub const OA_MASK: u64 = 0x0000_FFFF_FFFF_F000;
/// MemAttr\[2:0\] at bits \[4:2\] (stage-2 with FWB).
pub const MEMATTR_MASK: u64 = 0b111 << 2;
/// The one MemAttr value FWB reserves.
pub const MEMATTR_RESERVED: u64 = 0b100 << 2;
/// S2AP\[1:0\] at bits \[7:6\].
pub const S2AP_MASK: u64 = 0b11 << 6;
const MEMATTR_NORMAL_WB: u64 = 0b110 << 2;
const S2AP_RW: u64 = 0b11 << 6;
const SH_INNER: u64 = 0b11 << 8;
const AF: u64 = 1 << 10;
/// XN\[1:0\] = 0b10: not executable at EL1 or EL0.
const XN_ALL: u64 = 0b10 << 53;
/// The NS bit of a Realm stage-2 descriptor.
pub const NS: u64 = 1 << 55;
/// Software bit 56 (ignored by the hardware): a CSM alias.
const ALIAS: u64 = 1 << 56;
const S2AP_RO: u64 = 0b01 << 6;
/// What every alias carries besides its output address and S2AP.
const ALIAS_ATTRS: u64 = MEMATTR_NORMAL_WB | SH_INNER | AF | XN_ALL | ALIAS | TYPE_TABLE_OR_PAGE;

const HIPAS_SHIFT: u32 = 2;
const HIPAS_MASK: u64 = 0b111 << HIPAS_SHIFT;
const HIPAS_ASSIGNED: u64 = 1 << HIPAS_SHIFT;
const RIPAS_SHIFT: u32 = 5;
const RIPAS_MASK: u64 = 0b11 << RIPAS_SHIFT;

/// Attribute bits the RMM sets on every protected (realm RAM) mapping.
const PROTECTED_ATTRS: u64 = MEMATTR_NORMAL_WB | S2AP_RW | SH_INNER | AF;
/// Attribute bits the RMM adds to the host's unprotected mapping descriptor.
const NS_ADDED_ATTRS: u64 = SH_INNER | AF | XN_ALL | NS;

/// A decoded RTT entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// No output address; the RIPAS the realm sees.
    Unassigned(Ripas),
    /// A protected granule (or block) at `pa`. RIPAS RAM means it is mapped.
    Assigned {
        /// Output address.
        pa: u64,
        /// RIPAS.
        ripas: Ripas,
    },
    /// Unprotected IPA with no mapping.
    UnassignedNs,
    /// Unprotected IPA mapped to host memory; `desc` is the stored (valid) descriptor.
    AssignedNs {
        /// The descriptor as stored, hardware bits included.
        desc: u64,
    },
    /// Points to the next-level table.
    Table(GranuleAddr),
    /// A Confidential Shared Memory alias (level 3 only): the consumer's window page mapped
    /// to the provider's DATA granule at `pa`, read-only or read-write as granted and never
    /// executable. Valid and counted, but never the consumer's own page: every RMI command
    /// that would take, destroy, fold or re-RIPAS the page refuses it (`docs/csm.md`).
    Alias {
        /// The provider's DATA granule.
        pa: u64,
        /// Read-write (else read-only).
        writable: bool,
    },
}

fn ripas_bits(ripas: Ripas) -> u64 {
    (ripas as u64) << RIPAS_SHIFT
}

fn leaf_type(level: RttLevel) -> u64 {
    if level == RttLevel::LEAF {
        TYPE_TABLE_OR_PAGE
    } else {
        TYPE_BLOCK
    }
}

impl Entry {
    /// Decodes `raw`, an entry of a table at `level`. Entries are written only by
    /// [`Entry::encode`], so every stored value decodes to what was encoded; bit patterns the
    /// encoder never produces decode to the most restrictive reading (RIPAS value 3 reads as
    /// DESTROYED: the realm cannot use the page, the host cannot hand it back as RAM). This
    /// is the one RMM-written value that does not stop the monitor when it does not decode:
    /// the decode runs once per entry in the 512-entry loops, and a stop there cost
    /// RTT_SET_RIPAS 2 MiB about 3 instructions per entry, +14% (`docs/architecture.md`).
    // Always inlined: the per-entry loops (RTT_SET_RIPAS, RTT_INIT_RIPAS, the RTT scans) are
    // three times faster with decode and encode folded into them, and the image is smaller.
    #[inline(always)]
    pub fn decode(raw: u64, level: RttLevel) -> Self {
        let ty = raw & TYPE_MASK;
        if ty == 0 {
            let ripas =
                Ripas::from_u64((raw & RIPAS_MASK) >> RIPAS_SHIFT).unwrap_or(Ripas::Destroyed);
            return match raw & HIPAS_MASK {
                0 if raw & NS != 0 => Entry::UnassignedNs,
                0 => Entry::Unassigned(ripas),
                _ => Entry::Assigned {
                    pa: raw & OA_MASK,
                    ripas,
                },
            };
        }
        if ty == TYPE_TABLE_OR_PAGE && level != RttLevel::LEAF {
            // A table descriptor's OA is a granule address by construction of the mask.
            if let Some(table) = GranuleAddr::new(raw & OA_MASK) {
                return Entry::Table(table);
            }
        }
        if raw & NS != 0 {
            Entry::AssignedNs { desc: raw }
        } else if raw & ALIAS != 0 && level == RttLevel::LEAF {
            Entry::Alias {
                pa: raw & OA_MASK,
                writable: raw & S2AP_MASK == S2AP_RW,
            }
        } else {
            Entry::Assigned {
                pa: raw & OA_MASK,
                ripas: Ripas::Ram,
            }
        }
    }

    /// The raw entry for a table at `level`. `pa` of an assigned entry must be aligned to
    /// `level`'s entry size (the callers check it).
    #[inline(always)]
    pub fn encode(self, level: RttLevel) -> u64 {
        match self {
            Entry::Unassigned(ripas) => ripas_bits(ripas),
            Entry::Assigned {
                pa,
                ripas: Ripas::Ram,
            } => (pa & OA_MASK) | PROTECTED_ATTRS | leaf_type(level),
            Entry::Assigned { pa, ripas } => (pa & OA_MASK) | HIPAS_ASSIGNED | ripas_bits(ripas),
            Entry::UnassignedNs => NS,
            Entry::AssignedNs { desc } => desc,
            Entry::Table(table) => table.get() | TYPE_TABLE_OR_PAGE,
            Entry::Alias { pa, writable } => {
                (pa & OA_MASK) | ALIAS_ATTRS | if writable { S2AP_RW } else { S2AP_RO }
            }
        }
    }

    /// The stored descriptor for the host's unprotected mapping `host_desc` (already
    /// validated: only OA, MemAttr and S2AP bits) at `level`.
    pub fn assigned_ns(host_desc: u64, level: RttLevel) -> Self {
        Entry::AssignedNs {
            desc: (host_desc & (OA_MASK | MEMATTR_MASK | S2AP_MASK))
                | NS_ADDED_ATTRS
                | leaf_type(level),
        }
    }

    /// The host-visible part of an unprotected mapping's descriptor: OA, MemAttr, S2AP.
    pub fn host_desc(desc: u64) -> u64 {
        desc & (OA_MASK | MEMATTR_MASK | S2AP_MASK)
    }

    /// The same entry kind at `level` with its output address replaced (assigned kinds only;
    /// other kinds are returned unchanged). Used to split a block into the next level's
    /// entries.
    pub fn with_pa(self, pa: u64, level: RttLevel) -> Self {
        match self {
            Entry::Assigned { ripas, .. } => Entry::Assigned { pa, ripas },
            Entry::AssignedNs { desc } => {
                Entry::assigned_ns((Self::host_desc(desc) & !OA_MASK) | (pa & OA_MASK), level)
            }
            other @ (Entry::Unassigned(_)
            | Entry::UnassignedNs
            | Entry::Table(_)
            | Entry::Alias { .. }) => other,
        }
    }

    /// True if the entry counts in its table's reference count: a table, protected memory
    /// (assigned with any RIPAS) or a CSM alias. Unassigned entries and unprotected mappings
    /// do not count.
    pub fn is_counted(self) -> bool {
        matches!(
            self,
            Entry::Assigned { .. } | Entry::Table(_) | Entry::Alias { .. }
        )
    }

    /// True if the entry is *live* for the "top of the non-live region" outputs: it has an
    /// output address (a table, assigned memory, an unprotected mapping or a CSM alias).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            Entry::Assigned { .. }
                | Entry::Table(_)
                | Entry::AssignedNs { .. }
                | Entry::Alias { .. }
        )
    }

    /// True if the MMU uses this entry (a removal needs a TLB invalidation).
    pub fn is_valid(raw: u64) -> bool {
        raw & 1 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(n: i64) -> RttLevel {
        RttLevel::new(n).expect("valid")
    }

    #[test]
    fn every_kind_round_trips_at_every_level() {
        for level in 0..=3 {
            let level = l(level);
            let pa = 0x8000_0000 & !(level.entry_size() - 1);
            let mut kinds = std::vec![Entry::UnassignedNs,];
            if level.get() >= 1 {
                kinds.push(Entry::assigned_ns(pa | MEMATTR_MASK | S2AP_MASK, level));
            }
            for ripas in Ripas::ALL {
                kinds.push(Entry::Unassigned(ripas));
                if level.get() >= 1 {
                    kinds.push(Entry::Assigned { pa, ripas });
                }
            }
            if level != RttLevel::LEAF {
                kinds.push(Entry::Table(
                    GranuleAddr::new(0x4800_0000).expect("aligned"),
                ));
            }
            for kind in kinds {
                let raw = kind.encode(level);
                assert_eq!(
                    Entry::decode(raw, level),
                    kind,
                    "{kind:?} at {level:?}: {raw:#x}"
                );
            }
        }
    }

    #[test]
    fn only_ram_and_ns_mappings_and_tables_are_valid() {
        let pa = 0x8000_0000;
        assert!(Entry::is_valid(
            Entry::Assigned {
                pa,
                ripas: Ripas::Ram
            }
            .encode(l(3))
        ));
        assert!(!Entry::is_valid(
            Entry::Assigned {
                pa,
                ripas: Ripas::Empty
            }
            .encode(l(3))
        ));
        assert!(!Entry::is_valid(
            Entry::Assigned {
                pa,
                ripas: Ripas::Destroyed
            }
            .encode(l(3))
        ));
        assert!(!Entry::is_valid(Entry::Unassigned(Ripas::Ram).encode(l(3))));
        assert!(!Entry::is_valid(Entry::UnassignedNs.encode(l(3))));
        assert!(Entry::is_valid(Entry::assigned_ns(pa, l(3)).encode(l(3))));
    }

    #[test]
    fn hardware_bits_of_mappings() {
        let page = Entry::Assigned {
            pa: 0x8000_1000,
            ripas: Ripas::Ram,
        }
        .encode(l(3));
        assert_eq!(page, 0x8000_1000 | 0x7DB, "TF-RMM's assigned_ram page");
        let block = Entry::Assigned {
            pa: 0x8020_0000,
            ripas: Ripas::Ram,
        }
        .encode(l(2));
        assert_eq!(block & 0b11, 0b01);
        let ns = Entry::assigned_ns(0x9000_0000 | (0b101 << 2) | (0b01 << 6), l(3)).encode(l(3));
        assert_eq!(ns & NS, NS, "output in the Non-secure PAS");
        assert_eq!((ns >> 53) & 0b11, 0b10, "never executable");
        assert_eq!(
            Entry::host_desc(ns),
            0x9000_0000 | (0b101 << 2) | (0b01 << 6)
        );
        let empty = Entry::Assigned {
            pa: 0x8000_1000,
            ripas: Ripas::Empty,
        }
        .encode(l(3));
        assert_eq!(empty, 0x8000_1004);
        let destroyed = Entry::Assigned {
            pa: 0x8000_1000,
            ripas: Ripas::Destroyed,
        }
        .encode(l(3));
        assert_eq!(destroyed, 0x8000_1044);
        assert_eq!(Entry::Unassigned(Ripas::Ram).encode(l(3)), 0x20);
        assert_eq!(Entry::Unassigned(Ripas::Destroyed).encode(l(3)), 0x40);
        assert_eq!(Entry::UnassignedNs.encode(l(3)), 1 << 55);
    }

    #[test]
    fn aliases_are_level_3_pages_with_their_own_bit() {
        let rw = Entry::Alias {
            pa: 0x8000_5000,
            writable: true,
        };
        let ro = Entry::Alias {
            pa: 0x8000_5000,
            writable: false,
        };
        let common = 0x8000_5000 | 0b110 << 2 | 0b11 << 8 | 1 << 10 | 0b10 << 53 | 1 << 56 | 0b11;
        assert_eq!(rw.encode(l(3)), common | 0b11 << 6);
        assert_eq!(ro.encode(l(3)), common | 0b01 << 6);
        assert_eq!(Entry::decode(common | 0b11 << 6, l(3)), rw);
        assert_eq!(Entry::decode(common | 0b01 << 6, l(3)), ro);
        assert_eq!(Entry::decode(common, l(3)), ro, "S2AP none: not writable");
        // The alias bit on a block (the encoder never writes one) reads as the realm's RAM.
        assert_eq!(
            Entry::decode((common & !0b11) | 0b01 | 0b11 << 6, l(2)),
            Entry::Assigned {
                pa: 0x8000_5000,
                ripas: Ripas::Ram
            }
        );
    }

    #[test]
    fn unassigned_decoding_follows_hipas_ripas_and_ns() {
        assert_eq!(
            Entry::decode(0x60, l(3)),
            Entry::Unassigned(Ripas::Destroyed)
        );
        assert_eq!(
            Entry::decode(0x8000_1064, l(3)),
            Entry::Assigned {
                pa: 0x8000_1000,
                ripas: Ripas::Destroyed
            },
            "RIPAS value 3 reads as DESTROYED"
        );
        assert_eq!(
            Entry::decode(0x8000_1000 | 0b010 << 2, l(2)),
            Entry::Assigned {
                pa: 0x8000_1000,
                ripas: Ripas::Empty
            },
            "any non-zero HIPAS is assigned"
        );
        assert_eq!(Entry::decode(NS | 0x20, l(1)), Entry::UnassignedNs);
        assert_eq!(
            Entry::decode(NS | HIPAS_ASSIGNED | 0x9000_0000, l(3)),
            Entry::Assigned {
                pa: 0x9000_0000,
                ripas: Ripas::Empty
            },
            "NS only marks unassigned entries"
        );
        // A valid descriptor with NS at level 3 is an unprotected page; a table at level 3
        // does not exist.
        assert_eq!(
            Entry::decode(NS | 0x9000_0003, l(3)),
            Entry::AssignedNs {
                desc: NS | 0x9000_0003
            }
        );
        assert_eq!(
            Entry::decode(0x9000_0003, l(2)),
            Entry::Table(GranuleAddr::new(0x9000_0000).expect("aligned"))
        );
        assert_eq!(
            Entry::decode(0x9020_0001, l(2)),
            Entry::Assigned {
                pa: 0x9020_0000,
                ripas: Ripas::Ram
            }
        );
    }

    #[test]
    fn unprotected_descriptors_keep_only_the_hosts_fields() {
        let host = 0x9000_0000 | 0b101 << 2 | 0b01 << 6;
        let junk = 1 << 5 | 0b11 << 8 | 1 << 10 | 1 << 54 | 1 << 60 | 0b11;
        let page = 0x9000_0000 | 0b101 << 2 | 0b01 << 6 | 0b11 << 8 | 1 << 10 | 0b10 << 53 | NS;
        assert_eq!(
            Entry::assigned_ns(host | junk, l(3)),
            Entry::AssignedNs { desc: page | 0b11 }
        );
        assert_eq!(
            Entry::assigned_ns(host, l(2)),
            Entry::AssignedNs { desc: page | 0b01 }
        );
        assert_eq!(Entry::host_desc(page | junk), host);
        assert_eq!(
            Entry::host_desc(u64::MAX),
            OA_MASK | MEMATTR_MASK | S2AP_MASK
        );
    }

    #[test]
    fn with_pa_moves_only_assigned_entries() {
        let assigned = Entry::Assigned {
            pa: 0x8000_0000,
            ripas: Ripas::Destroyed,
        };
        assert_eq!(
            assigned.with_pa(0x8000_3000, l(3)),
            Entry::Assigned {
                pa: 0x8000_3000,
                ripas: Ripas::Destroyed
            }
        );
        let block = Entry::assigned_ns(0x9000_0000 | 0b101 << 2 | 0b01 << 6, l(2));
        assert_eq!(
            block.with_pa(0x9000_7000, l(3)),
            Entry::assigned_ns(0x9000_7000 | 0b101 << 2 | 0b01 << 6, l(3))
        );
        let table = Entry::Table(GranuleAddr::new(0x4800_0000).expect("aligned"));
        let alias = Entry::Alias {
            pa: 0x8000_5000,
            writable: true,
        };
        for other in [
            Entry::Unassigned(Ripas::Ram),
            Entry::UnassignedNs,
            table,
            alias,
        ] {
            assert_eq!(other.with_pa(0x8000_3000, l(3)), other);
        }
    }

    #[test]
    fn counted_and_live_kinds() {
        let pa = 0x8000_0000;
        let table = Entry::Table(GranuleAddr::new(0x4800_0000).expect("aligned"));
        let ns = Entry::assigned_ns(0x9000_0000, l(3));
        let alias = Entry::Alias {
            pa,
            writable: false,
        };
        for (entry, counted, live) in [
            (Entry::Unassigned(Ripas::Ram), false, false),
            (Entry::Unassigned(Ripas::Destroyed), false, false),
            (Entry::UnassignedNs, false, false),
            (
                Entry::Assigned {
                    pa,
                    ripas: Ripas::Empty,
                },
                true,
                true,
            ),
            (table, true, true),
            (ns, false, true),
            (alias, true, true),
        ] {
            assert_eq!(entry.is_counted(), counted, "{entry:?}");
            assert_eq!(entry.is_live(), live, "{entry:?}");
        }
        assert!(Entry::is_valid(alias.encode(l(3))));
        assert!(Entry::is_valid(table.encode(l(2))));
        assert!(!Entry::is_valid(0b10));
    }

    #[test]
    fn a_zero_entry_is_unassigned_empty() {
        assert_eq!(Entry::decode(0, l(3)), Entry::Unassigned(Ripas::Empty));
    }
}
