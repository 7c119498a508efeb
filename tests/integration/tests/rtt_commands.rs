// SPDX-License-Identifier: MIT OR Apache-2.0
//! RTT_CREATE, RTT_DESTROY, RTT_FOLD, RTT_READ_ENTRY, RTT_MAP/UNMAP_UNPROTECTED and
//! RTT_INIT_RIPAS through the real dispatcher: results, every failure in order, refcounts.

use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::host::{Host, Shape, TestRealm, X4, status};

const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;
/// Start of the unprotected half of the default 40-bit realm.
const UNPROTECTED: u64 = 1 << 39;
/// UNASSIGNED / ASSIGNED / TABLE.
const UNASSIGNED: u64 = 0;
const ASSIGNED: u64 = 1;
const TABLE: u64 = 2;
const EMPTY: u64 = 0;
const RAM: u64 = 1;
const DESTROYED: u64 = 2;

fn realm(host: &Host) -> TestRealm {
    host.must_create_realm(Shape::default())
}

#[test]
fn create_walks_down_and_read_entry_reports_tables() {
    let host = Host::new();
    let r = realm(&host);
    let tables = host.must_tables_to(&r, 0x4000_0000, 3);
    assert_eq!(
        host.read_entry(r.rd, 0x4000_0000, 1),
        [0, 1, TABLE, tables[0], EMPTY]
    );
    assert_eq!(
        host.read_entry(r.rd, 0x4000_0000, 2),
        [0, 2, TABLE, tables[1], EMPTY]
    );
    assert_eq!(
        host.read_entry(r.rd, 0x4000_0000, 3),
        [0, 3, UNASSIGNED, 0, EMPTY]
    );
    // A walk that stops early is not an error: it reports where it stopped.
    assert_eq!(host.read_entry(r.rd, 0, 3), [0, 1, UNASSIGNED, 0, EMPTY]);
    assert_eq!(host.refcount(r.rtt_base), 1);
    assert_eq!(host.refcount(tables[0]), 1);
    assert_eq!(host.refcount(tables[1]), 0);
}

#[test]
fn create_failures_in_order() {
    let host = Host::new();
    let r = realm(&host);
    let rtt = host.must_delegated();
    // x4 is the level argument, preserved.
    let err = |x0| [x0, 0, 0, 0, 2];
    // 1. Granules: both must be right, and distinct.
    assert_eq!(
        host.rtt_create(r.rd, r.rd, 0, 2),
        err(status::INPUT),
        "rtt = rd"
    );
    assert_eq!(
        host.rtt_create(r.rd, host.alloc(1), 0, 2),
        err(status::INPUT),
        "rtt not delegated"
    );
    assert_eq!(
        host.rtt_create(rtt, rtt + 0x1000, 0, 2),
        err(status::INPUT),
        "rd not an RD"
    );
    assert_eq!(
        host.rtt_create(r.rd, rtt + 1, 0, 2),
        err(status::INPUT),
        "misaligned"
    );
    assert_eq!(
        host.rtt_create(r.rd, 0x1000, 0, 2),
        err(status::INPUT),
        "outside DRAM"
    );
    // 2. Level and address.
    let at = |level: i64, x0| [x0, 0, 0, 0, level as u64];
    assert_eq!(
        host.rtt_create(r.rd, rtt, 0, 1),
        at(1, status::INPUT),
        "level = start level"
    );
    assert_eq!(host.rtt_create(r.rd, rtt, 0, 4), at(4, status::INPUT));
    assert_eq!(host.rtt_create(r.rd, rtt, 0, -1), at(-1, status::INPUT));
    assert_eq!(
        host.rtt_create(r.rd, rtt, 0x1000, 2),
        err(status::INPUT),
        "not 1 GiB aligned"
    );
    assert_eq!(
        host.rtt_create(r.rd, rtt, 1 << 40, 2),
        err(status::INPUT),
        "beyond IPA space"
    );
    // 3. The walk must reach the parent level.
    assert_eq!(
        host.rtt_create(r.rd, rtt, 0, 3),
        at(3, status::rtt(1)),
        "no level-2 table yet"
    );
    // 4. The parent entry must not already be a table.
    let tables = host.must_tables_to(&r, 0, 2);
    assert_eq!(host.rtt_create(r.rd, rtt, 0, 2), err(status::rtt(1)));
    assert_eq!(
        host.rig.state(rtt),
        Some(GranuleState::Delegated),
        "nothing changed"
    );
    assert_eq!(tables.len(), 1);
}

#[test]
fn tables_in_the_unprotected_half_inherit_unassigned_ns() {
    let host = Host::new();
    let r = realm(&host);
    let tables = host.must_tables_to(&r, UNPROTECTED, 3);
    assert_eq!(
        host.read_entry(r.rd, UNPROTECTED + 0x5000, 3),
        [0, 3, UNASSIGNED, 0, EMPTY]
    );
    let raw = host.rig.machine.inspect(tables[1]);
    assert!(
        raw.chunks_exact(8)
            .all(|e| u64::from_le_bytes(e.try_into().unwrap()) == 1 << 55)
    );
    // NS tables are counted in the parent like any table.
    assert_eq!(host.refcount(r.rtt_base + 0x1000), 1);
}

#[test]
fn destroy_reports_the_table_and_the_top_of_the_non_live_region() {
    let host = Host::new();
    let r = realm(&host);
    let a = host.must_tables_to(&r, 0, 3);
    let b = host.must_tables_to(&r, 4 * MIB2, 3); // shares the level-2 table
    assert_eq!(b.len(), 1);
    // The level-3 table at 0 goes; its parent entry becomes UNASSIGNED DESTROYED; the next
    // live entry of the level-2 table is the table at 8 MiB.
    assert_eq!(host.rtt_destroy(r.rd, 0, 3), [0, a[1], 4 * MIB2, 0, X4]);
    assert_eq!(
        host.read_entry(r.rd, 0, 3),
        [0, 2, UNASSIGNED, 0, DESTROYED]
    );
    assert_eq!(host.rig.state(a[1]), Some(GranuleState::Delegated));
    assert_eq!(host.rig.machine.inspect(a[1]), [0; 4096]);
    assert_eq!(host.refcount(a[0]), 1);
    // Failures: no table there (walk stops at level 2) → ERROR_RTT(2), top from there.
    assert_eq!(
        host.rtt_destroy(r.rd, 0, 3),
        [status::rtt(2), 0, 4 * MIB2, 0, X4]
    );
    // A table with live entries → ERROR_RTT(level), top = the address itself.
    assert_eq!(host.rtt_destroy(r.rd, 0, 2), [status::rtt(2), 0, 0, 0, X4]);
    // Before the walk: top = 0.
    assert_eq!(
        host.rtt_destroy(r.rd, 0x1000, 3),
        [status::INPUT, 0, 0, 0, X4]
    );
    assert_eq!(
        host.rtt_destroy(r.rtt_base, 0, 3),
        [status::INPUT, 0, 0, 0, X4]
    );
    assert_eq!(
        host.rtt_destroy(r.rd, 0, 1),
        [status::INPUT, 0, 0, 0, X4],
        "root level"
    );
    // In the unprotected half the parent becomes UNASSIGNED_NS again.
    let ns = host.must_tables_to(&r, UNPROTECTED, 2);
    assert_eq!(host.rtt_destroy(r.rd, UNPROTECTED, 2)[..2], [0, ns[0]]);
    assert_eq!(
        host.read_entry(r.rd, UNPROTECTED, 1),
        [0, 1, UNASSIGNED, 0, EMPTY]
    );
    assert_eq!(
        host.rig.machine.inspect(r.rtt_base + 0x1000)[..8],
        (1u64 << 55).to_le_bytes()
    );
}

#[test]
fn map_and_unmap_unprotected() {
    let host = Host::new();
    let r = realm(&host);
    let ipa = UNPROTECTED + 0x20_0000;
    let host_page = 0x9000_0000;
    let desc = host_page | (0b101 << 2) | (0b11 << 6);
    let err = |x0| [x0, 0, 0, 0, desc];
    // Level before RD, descriptor before address.
    assert_eq!(
        host.map_unprotected(0, ipa, 0, desc),
        err(status::INPUT),
        "level 0"
    );
    assert_eq!(
        host.map_unprotected(0, ipa, 3, desc),
        err(status::INPUT),
        "bad RD"
    );
    assert_eq!(
        host.map_unprotected(r.rd, 0, 3, desc | 1)[0],
        status::INPUT,
        "type bits"
    );
    assert_eq!(
        host.map_unprotected(r.rd, 0, 3, 0b100 << 2)[0],
        status::INPUT,
        "MemAttr 0b100"
    );
    assert_eq!(
        host.map_unprotected(r.rd, 0, 3, desc),
        err(status::INPUT),
        "protected half"
    );
    assert_eq!(
        host.map_unprotected(r.rd, ipa + 8, 3, desc),
        err(status::INPUT),
        "misaligned"
    );
    assert_eq!(
        host.map_unprotected(r.rd, ipa, 3, desc),
        err(status::rtt(1)),
        "no tables"
    );
    host.must_tables_to(&r, ipa, 3);
    assert_eq!(host.map_unprotected(r.rd, ipa, 3, desc), [0, 0, 0, 0, desc]);
    assert_eq!(
        host.map_unprotected(r.rd, ipa, 3, desc),
        [status::rtt(3), 0, 0, 0, desc],
        "twice"
    );
    assert_eq!(host.read_entry(r.rd, ipa, 3), [0, 3, ASSIGNED, desc, EMPTY]);
    // Unmapping a page that is not mapped: ERROR_RTT at the walk level, top = the end of
    // the non-live run after it (here the end of the table, 2 MiB past the mapping).
    assert_eq!(
        host.unmap_unprotected(r.rd, ipa + 0x1000, 3),
        [status::rtt(3), ipa + MIB2, 0, 0, X4]
    );
    host.rig.machine.take_stage2_invalidations();
    assert_eq!(
        host.unmap_unprotected(r.rd, ipa, 3),
        [0, ipa + MIB2, 0, 0, X4]
    );
    assert_eq!(
        host.rig.machine.take_stage2_invalidations(),
        vec![1],
        "TLBI for VMID 1"
    );
    assert_eq!(host.read_entry(r.rd, ipa, 3), [0, 3, UNASSIGNED, 0, EMPTY]);
    // A 1 GiB unprotected block is allowed (level 1).
    let block = UNPROTECTED + GIB;
    assert_eq!(
        host.map_unprotected(r.rd, block, 1, 0x4000_0000 | (0b110 << 2)),
        [0, 0, 0, 0, 0x4000_0000 | (0b110 << 2)]
    );
    assert_eq!(
        host.read_entry(r.rd, block, 1),
        [0, 1, ASSIGNED, 0x4000_0000 | (0b110 << 2), EMPTY]
    );
}

#[test]
fn unprotected_mappings_do_not_keep_a_table_alive() {
    let host = Host::new();
    let r = realm(&host);
    let ipa = UNPROTECTED;
    let tables = host.must_tables_to(&r, ipa, 3);
    assert_eq!(host.map_unprotected(r.rd, ipa, 3, 0x9000_0000)[0], 0);
    assert_eq!(host.refcount(tables[1]), 0);
    host.rig.machine.take_stage2_invalidations();
    assert_eq!(host.rtt_destroy(r.rd, ipa, 3)[..2], [0, tables[1]]);
    assert!(
        !host.rig.machine.take_stage2_invalidations().is_empty(),
        "the mapping's TLB entries go"
    );
}

#[test]
fn fold_unassigned_tables_at_any_level_and_unfold_again() {
    let host = Host::new();
    let r = realm(&host);
    let tables = host.must_tables_to(&r, 0, 3);
    // A level-3 table of UNASSIGNED EMPTY folds into an UNASSIGNED EMPTY level-2 entry.
    assert_eq!(host.rtt_fold(r.rd, 0, 3), [0, tables[1], 0, 0, X4]);
    assert_eq!(host.read_entry(r.rd, 0, 3), [0, 2, UNASSIGNED, 0, EMPTY]);
    assert_eq!(host.rig.state(tables[1]), Some(GranuleState::Delegated));
    assert_eq!(host.refcount(tables[0]), 0);
    // And the level-2 table into a level-1 entry.
    assert_eq!(host.rtt_fold(r.rd, 0, 2), [0, tables[0], 0, 0, X4]);
    assert_eq!(host.refcount(r.rtt_base), 0);
    // Failures: nothing to fold.
    assert_eq!(host.rtt_fold(r.rd, 0, 2), [status::rtt(1), 0, 0, 0, X4]);
    assert_eq!(host.rtt_fold(r.rd, 0, 3), [status::rtt(1), 0, 0, 0, X4]);
    assert_eq!(host.rtt_fold(r.rd, 0, 1), [status::INPUT, 0, 0, 0, X4]);
    // A mixed table does not fold.
    let tables = host.must_tables_to(&r, 0, 3);
    assert_eq!(host.init_ripas(r.rd, 0, 0x1000), [0, 0x1000, 0, 0, X4]);
    assert_eq!(host.rtt_fold(r.rd, 0, 3), [status::rtt(3), 0, 0, 0, X4]);
    assert_eq!(host.rig.state(tables[1]), Some(GranuleState::Rtt));
}

#[test]
fn fold_assigned_pages_into_a_block_and_unfold_it() {
    let host = Host::new();
    let r = realm(&host);
    let ipa = 0x4000_0000;
    let tables = host.must_tables_to(&r, ipa, 3);
    let data = host.must_delegated_run(512);
    assert_eq!(data % MIB2, 0);
    for i in 0..512 {
        assert_eq!(
            host.data_create_unknown(r.rd, data + i * 0x1000, ipa + i * 0x1000)[0],
            0
        );
    }
    assert_eq!(host.refcount(tables[1]), 512);
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), [0, tables[1], 0, 0, X4]);
    assert_eq!(host.read_entry(r.rd, ipa, 3), [0, 2, ASSIGNED, data, EMPTY]);
    assert_eq!(host.refcount(tables[0]), 1, "the block counts once");
    assert_eq!(
        host.refcount(tables[1]),
        0,
        "the folded table gives up its 512"
    );
    assert_eq!(host.rig.state(tables[1]), Some(GranuleState::Delegated));
    // Unfold: a new level-3 table with 512 pages, counted 512.
    let rtt = host.must_delegated();
    assert_eq!(host.rtt_create(r.rd, rtt, ipa, 3)[0], 0);
    assert_eq!(host.refcount(rtt), 512);
    assert_eq!(
        host.read_entry(r.rd, ipa + 0x5000, 3),
        [0, 3, ASSIGNED, data + 0x5000, EMPTY]
    );
    // A level-2 table holding a table (counted once, neither empty nor full) does not fold.
    assert_eq!(host.rtt_fold(r.rd, ipa, 2), [status::rtt(2), 0, 0, 0, X4]);
}

/// 512 DATA pages at `ipa` (a level-3 table), page `i` backed by `pa(i)`, the pages in
/// `ram` with RIPAS RAM and the others EMPTY; returns the tables.
fn data_pages(host: &Host, r: &TestRealm, ipa: u64, pa: impl Fn(u64) -> u64, ram: &[u64]) -> u64 {
    let table = *host
        .must_tables_to(r, ipa, 3)
        .last()
        .expect("a new level-3 table");
    for &i in ram {
        let at = ipa + i * 0x1000;
        assert_eq!(host.init_ripas(r.rd, at, at + 0x1000)[0], 0);
    }
    for i in 0..512 {
        assert_eq!(
            host.data_create_unknown(r.rd, pa(i), ipa + i * 0x1000)[0],
            0
        );
    }
    assert_eq!(host.refcount(table), 512);
    table
}

/// A block may only replace 512 pages that are exactly what it maps: the granules in
/// sequence from a 2 MiB aligned first one, all with one RIPAS. Anything else would map
/// granules the realm does not own (or change a RIPAS) and must not fold.
#[test]
fn pages_out_of_sequence_misaligned_or_of_mixed_ripas_do_not_fold() {
    let host = Host::new();
    let r = realm(&host);
    let refused = [status::rtt(3), 0, 0, 0, X4];
    // Two pages swapped.
    let data = host.must_delegated_run(512);
    let swapped = |i| match i {
        100 => data + 101 * 0x1000,
        101 => data + 100 * 0x1000,
        i => data + i * 0x1000,
    };
    let ipa = GIB;
    let table = data_pages(&host, &r, ipa, swapped, &[]);
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), refused, "out of sequence");
    assert_eq!(host.rig.state(table), Some(GranuleState::Rtt));
    assert_eq!(host.refcount(table), 512);
    // One RIPAS RAM page among EMPTY ones (the RAM page is the first, then in the middle).
    for ram in [0, 300] {
        let ipa = GIB + MIB2 * (1 + ram);
        let data = host.must_delegated_run(512);
        let table = data_pages(&host, &r, ipa, |i| data + i * 0x1000, &[ram]);
        assert_eq!(host.rtt_fold(r.rd, ipa, 3), refused, "mixed RIPAS ({ram})");
        assert_eq!(host.refcount(table), 512);
        assert_eq!(
            host.read_entry(r.rd, ipa + ram * 0x1000, 3),
            [0, 3, ASSIGNED, data + ram * 0x1000, RAM]
        );
    }
    // In sequence but from a granule that is not 2 MiB aligned.
    let run = host.must_delegated_run(1024);
    let ipa = 2 * GIB;
    let table = data_pages(&host, &r, ipa, |i| run + (i + 1) * 0x1000, &[]);
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), refused, "misaligned");
    assert_eq!(host.refcount(table), 512);
    // All RIPAS RAM and in sequence: folds into a valid block.
    let ipa = 3 * GIB;
    let data = host.must_delegated_run(512);
    let all: Vec<u64> = (0..512).collect();
    let ram = *host
        .must_tables_to(&r, ipa, 3)
        .last()
        .expect("a new level-3 table");
    assert_eq!(host.init_ripas(r.rd, ipa, ipa + MIB2)[0], 0);
    for i in all {
        assert_eq!(
            host.data_create_unknown(r.rd, data + i * 0x1000, ipa + i * 0x1000)[0],
            0
        );
    }
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), [0, ram, 0, 0, X4]);
    assert_eq!(host.read_entry(r.rd, ipa, 3), [0, 2, ASSIGNED, data, RAM]);
    assert_eq!(host.refcount(ram), 0);
}

/// A host descriptor for each page index.
type Desc = dyn Fn(u64) -> u64;

/// MemAttr Normal write-back, S2AP read-write: the attributes of the host's mappings below.
const NS_ATTRS: u64 = 0b110 << 2 | 0b11 << 6;

/// Maps 512 unprotected pages at `ipa`, page `i` to host descriptor `desc(i)`; returns the
/// level-3 table.
fn ns_pages(host: &Host, r: &TestRealm, ipa: u64, desc: impl Fn(u64) -> u64) -> u64 {
    let table = *host
        .must_tables_to(r, ipa, 3)
        .last()
        .expect("a new level-3 table");
    for i in 0..512 {
        assert_eq!(
            host.map_unprotected(r.rd, ipa + i * 0x1000, 3, desc(i))[0],
            0
        );
    }
    assert_eq!(
        host.refcount(table),
        0,
        "unprotected mappings are not counted"
    );
    table
}

/// Unprotected mappings fold into a block only if the 512 pages are the host's consecutive
/// granules from a 2 MiB aligned one, with identical attributes; the block unfolds into the
/// same 512 mappings.
#[test]
fn unprotected_mappings_fold_only_when_contiguous_with_one_set_of_attributes() {
    let host = Host::new();
    let r = realm(&host);
    let refused = [status::rtt(3), 0, 0, 0, X4];
    let ns = 0x1_0000_0000;
    let cases: [(&str, Box<Desc>); 5] = [
        (
            "one page out of sequence",
            Box::new(move |i| (ns + if i == 7 { 0x1000 } else { i * 0x1000 }) | NS_ATTRS),
        ),
        (
            "the last page one granule too far",
            Box::new(move |i| (ns + (i + u64::from(i == 511)) * 0x1000) | NS_ATTRS),
        ),
        (
            "one page with another MemAttr",
            Box::new(move |i| {
                (ns + i * 0x1000)
                    | if i == 3 {
                        0b101 << 2 | 0b11 << 6
                    } else {
                        NS_ATTRS
                    }
            }),
        ),
        (
            "one page read-only",
            Box::new(move |i| {
                (ns + i * 0x1000)
                    | if i == 511 {
                        0b110 << 2 | 0b01 << 6
                    } else {
                        NS_ATTRS
                    }
            }),
        ),
        (
            "not 2 MiB aligned",
            Box::new(move |i| (ns + (i + 1) * 0x1000) | NS_ATTRS),
        ),
    ];
    for (n, (what, desc)) in cases.into_iter().enumerate() {
        let ipa = UNPROTECTED + n as u64 * MIB2;
        let table = ns_pages(&host, &r, ipa, desc);
        assert_eq!(host.rtt_fold(r.rd, ipa, 3), refused, "{what}");
        assert_eq!(host.rig.state(table), Some(GranuleState::Rtt), "{what}");
    }
    // Contiguous, aligned, one set of attributes: a 2 MiB block of the host's memory.
    let ipa = UNPROTECTED + GIB;
    let table = ns_pages(&host, &r, ipa, |i| (ns + i * 0x1000) | NS_ATTRS);
    let parent = host.read_entry(r.rd, ipa, 1)[3];
    assert_eq!(host.refcount(parent), 1, "the level-3 table");
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), [0, table, 0, 0, X4]);
    assert_eq!(host.rig.state(table), Some(GranuleState::Delegated));
    assert_eq!(
        host.refcount(parent),
        0,
        "an unprotected block is not counted"
    );
    assert_eq!(
        host.read_entry(r.rd, ipa, 3),
        [0, 2, ASSIGNED, ns | NS_ATTRS, EMPTY]
    );
    assert_eq!(
        host.read_entry(r.rd, ipa + 0x1234_5000 % MIB2, 3),
        [0, 2, ASSIGNED, ns | NS_ATTRS, EMPTY],
        "the block's descriptor, wherever it is read"
    );
    // RTT_CREATE under the block: 512 pages again, each at its own host address with the
    // block's attributes, none counted.
    let rtt = host.must_delegated();
    assert_eq!(host.rtt_create(r.rd, rtt, ipa, 3)[0], 0);
    assert_eq!(host.refcount(rtt), 0, "unprotected pages are not counted");
    assert_eq!(host.refcount(parent), 1, "the new table is");
    for i in [0, 1, 2, 255, 510, 511] {
        assert_eq!(
            host.read_entry(r.rd, ipa + i * 0x1000, 3),
            [0, 3, ASSIGNED, (ns + i * 0x1000) | NS_ATTRS, EMPTY],
            "page {i}"
        );
    }
    // And it folds back.
    assert_eq!(host.rtt_fold(r.rd, ipa, 3), [0, rtt, 0, 0, X4]);
    // A read-only, non-cacheable block unfolds with its own attributes.
    let ro = 0b001 << 2 | 0b01 << 6;
    let ipa = UNPROTECTED + 2 * GIB;
    host.must_tables_to(&r, ipa, 2);
    assert_eq!(host.map_unprotected(r.rd, ipa, 2, (ns + MIB2) | ro)[0], 0);
    let rtt = host.must_delegated();
    assert_eq!(host.rtt_create(r.rd, rtt, ipa, 3)[0], 0);
    assert_eq!(
        host.read_entry(r.rd, ipa + 0x3000, 3),
        [0, 3, ASSIGNED, (ns + MIB2 + 0x3000) | ro, EMPTY]
    );
}

#[test]
fn init_ripas_marks_ram_and_measures_every_entry() {
    let host = Host::new();
    let r = realm(&host);
    let tables = host.must_tables_to(&r, 0, 3);
    let err = |x0| [x0, 0, 0, 0, X4];
    assert_eq!(
        host.init_ripas(r.rd, 0x2000, 0x2000),
        err(status::INPUT),
        "empty range, before RD"
    );
    assert_eq!(
        host.init_ripas(0, 0x3000, 0x2000),
        err(status::INPUT),
        "top < base, before RD"
    );
    assert_eq!(host.init_ripas(0, 0, 0x2000), err(status::INPUT), "bad RD");
    assert_eq!(
        host.init_ripas(r.rd, 0, 0x2800),
        err(status::INPUT),
        "top misaligned (top_gran_align)"
    );
    assert_eq!(
        host.init_ripas(r.rd, 0x800, 0x2000),
        err(status::INPUT),
        "base misaligned (as TF-RMM; the specification's base_align says RTT(3))"
    );
    assert_eq!(
        host.init_ripas(r.rd, 0, UNPROTECTED + 0x1000),
        err(status::INPUT),
        "beyond PAR"
    );
    assert_eq!(host.init_ripas(r.rd, 0, 0x3000), [0, 0x3000, 0, 0, X4]);
    assert_eq!(host.read_entry(r.rd, 0x2000, 3), [0, 3, UNASSIGNED, 0, RAM]);
    assert_eq!(
        host.read_entry(r.rd, 0x3000, 3),
        [0, 3, UNASSIGNED, 0, EMPTY]
    );
    // Already RAM is processed again; the range stops at the end of the table.
    assert_eq!(host.init_ripas(r.rd, 0x1000, 4 * MIB2), [0, MIB2, 0, 0, X4]);
    // Where only a level-2 table exists, whole 2 MiB blocks are processed.
    assert_eq!(
        host.init_ripas(r.rd, MIB2, 3 * MIB2 + 0x1000),
        [0, 3 * MIB2, 0, 0, X4]
    );
    assert_eq!(host.read_entry(r.rd, MIB2, 3), [0, 2, UNASSIGNED, 0, RAM]);
    assert_eq!(
        host.init_ripas(r.rd, MIB2 + 0x1000, 3 * MIB2),
        err(status::rtt(2)),
        "not block aligned"
    );
    // A DESTROYED entry stops the command; at the first entry it is an error.
    let data = host.must_delegated();
    assert_eq!(host.data_create_unknown(r.rd, data, 0x10_0000)[0], 0);
    assert_eq!(
        host.init_ripas(r.rd, 0x10_0000, 0x10_2000),
        err(status::rtt(3))
    );
    // Not after activation.
    assert_eq!(host.realm_activate(r.rd)[0], 0);
    assert_eq!(host.init_ripas(r.rd, 0x4000, 0x5000), err(status::realm(0)));
    assert_eq!(tables.len(), 2);
}

/// A level-1 table is never homogeneous for an assigned block (RMM 1.0 A5.5.6: ASSIGNED and
/// ASSIGNED_NS fold only from a level 2 or 3 table), so RTT_FOLD of one full of contiguous,
/// aligned 1 GiB unprotected blocks fails `rtt_homo` with the table's own level
/// (`ERROR_RTT(level)`, B4.3.17.2), not its parent's (TF-RMM rel0 answers `ERROR_RTT(L−1)`).
#[test]
fn a_level_1_table_of_blocks_does_not_fold_and_names_its_own_level() {
    let host = Host::new();
    let r = host.must_create_realm(Shape {
        s2sz: 48,
        start_level: 0,
        num_roots: 1,
        ..Shape::default()
    });
    // The unprotected half of a 48-bit realm starts at 2^47, a level-0 entry.
    let ipa = 1 << 47;
    let tables = host.must_tables_to(&r, ipa, 1);
    for i in 0..512 {
        assert_eq!(
            host.map_unprotected(r.rd, ipa + i * GIB, 1, (i * GIB) | NS_ATTRS)[0],
            0,
            "block {i}"
        );
    }
    assert_eq!(host.rtt_fold(r.rd, ipa, 1), [status::rtt(1), 0, 0, 0, X4]);
    assert_eq!(host.rig.state(tables[0]), Some(GranuleState::Rtt));
    assert_eq!(
        host.read_entry(r.rd, ipa, 0),
        [0, 0, TABLE, tables[0], EMPTY]
    );
}
