// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realms end to end: REALM_CREATE of every stage-2 shape and their complete teardown, the
//! shapes REALM_CREATE must refuse, one realm's whole life (tables, RIPAS, a measured image,
//! unprotected mappings, RECs, activation, teardown), folding and unfolding, and every CPU
//! creating and destroying realms at once.
//!
//! Expected values follow `docs/reference/tf-rmm-rel0-facts.md` (TF-RMM at
//! rmm-spec-v1.0-rel0) and are written out here from it, not from the RMM's code: every call
//! is checked on all of x0..x4 (outputs a command does not define are zero, x4 is preserved
//! unless it is an output). Each scenario delegates from its own window of
//! [`REALM_POOL`](crate::platform::REALM_POOL) and ends by undelegating every granule it
//! used, which must all succeed and come back zeroed: nothing may stay behind in the RMM.
//!
//! Memory: the primary's scenarios use 8 MiB windows from `REALM_POOL + 16 MiB` (first
//! 4 MiB delegated, last 4 MiB NS pages); the per-CPU stress uses `REALM_POOL + slot × 1 MiB`.

use super::pool::{Pool, check, check_err, check_ok};
use crate::exceptions::{Fault, probe_read};
use crate::platform::{NS_GIB, REALM_POOL, REALM_POOL_SIZE};
use crate::realm::{
    MEASURE_CONTENT, NS_NORMAL_RW, PAGE, Shape, align_down, fill_page, level_size, rec_params,
    table_end, write_realm_params, write_rec_params,
};
use crate::rmi::{self, X4, entry_state, ripas, status};
use crate::runner::{Failure, Outcome, Scenario};
use crate::{cpus, ensure, fail, regs};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use rmm_abi::rmi::realm_params::RealmParams;

/// Run by the primary only.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "realm_shapes_create_and_tear_down",
        run: shapes,
    },
    Scenario {
        name: "realm_create_refuses_invalid_params",
        run: invalid_params,
    },
    Scenario {
        name: "realm_lifecycle_image_recs_activate_teardown",
        run: lifecycle,
    },
    Scenario {
        name: "realm_rtt_fold_and_unfold",
        run: fold,
    },
];

/// Run by every CPU at once.
pub const EVERY_CPU: &[Scenario] = &[
    Scenario {
        name: "realm_create_destroy_stress",
        run: stress,
    },
    Scenario {
        name: "realm_shared_by_every_cpu",
        run: shared,
    },
];

const MIB: u64 = 1 << 20;
const L2_BLOCK: u64 = 2 * MIB;
const GIB: u64 = 1 << 30;
/// Auxiliary granules per REC (RMI_REC_AUX_COUNT).
const AUX: usize = 16;

/// Per-CPU stress slots: 1 MiB each from [`REALM_POOL`], the last 256 KiB kept NS.
const STRESS_SLOT: u64 = MIB;
/// The primary's scenario windows start after the 8 stress slots (with room to spare).
const WINDOWS: u64 = REALM_POOL + 16 * MIB;
const WINDOW: u64 = 8 * MIB;

/// Window `k` of the primary's scenarios: 4 MiB to delegate, then 4 MiB of NS pages.
pub(super) const fn window(k: u64) -> Pool {
    let base = WINDOWS + k * WINDOW;
    Pool::new(base, base + WINDOW / 2, base + WINDOW)
}

const _: () = assert!(WINDOWS + 6 * WINDOW <= REALM_POOL + REALM_POOL_SIZE);
const _: () = assert!(8 * STRESS_SLOT <= WINDOWS - REALM_POOL);

/// VMIDs: each concurrently live realm has its own.
const VMID_SHAPES: u64 = 0;
const VMID_INVALID: u64 = 2;
const VMID_LIFECYCLE: u64 = 3;
const VMID_FOLD: u64 = 4;
pub(super) const VMID_ISOLATION: u64 = 5;
/// Only ever in a REALM_CREATE that must fail.
const VMID_SPARE: u64 = 6;
const VMID_SHARED: u64 = 7;
/// The realm that runs the test payload.
pub(super) const VMID_EXEC: u64 = 8;
const VMID_STRESS: u64 = 0x100;

/// Data abort from the same EL, and its status code for a Granule Protection Fault.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
const DFSC_GPF: u64 = 0x28;

/// A realm this host created: its RD, first root table and shape.
pub(super) struct Realm {
    pub rd: u64,
    pub rtt_base: u64,
    pub shape: Shape,
}

impl Realm {
    /// Delegates an RD and the root tables from `pool` and creates a realm of `shape`.
    pub fn create(pool: &mut Pool, shape: Shape) -> Result<Self, Failure> {
        let rd = pool.delegate()?;
        let roots = shape.num_roots;
        let rtt_base = pool.delegate_aligned(roots, roots * PAGE)?;
        let page = pool.ns_page()?;
        Self::create_with(rd, rtt_base, page, shape)
    }

    /// Creates a realm of `shape` in the delegated granules `rd` and `rtt_base..`, writing the
    /// parameters to the NS page `page`.
    pub fn create_with(rd: u64, rtt_base: u64, page: u64, shape: Shape) -> Result<Self, Failure> {
        write_realm_params(page, &shape.params(rtt_base));
        check_ok(
            rmi::realm_create(rd, page),
            format_args!(
                "REALM_CREATE(s2sz {}, level {}, {} roots, hash {})",
                shape.s2sz, shape.start_level, shape.num_roots, shape.hash
            ),
        )?;
        Ok(Self {
            rd,
            rtt_base,
            shape,
        })
    }

    /// Checks RTT_READ_ENTRY(ipa, level) gives `[walk level, state, desc, ripas]`.
    pub fn entry(&self, ipa: u64, level: i64, want: [u64; 4]) -> Outcome {
        let [walk, state, desc, ripas] = want;
        check(
            rmi::rtt_read_entry(self.rd, ipa, level),
            [status::SUCCESS, walk, state, desc, ripas],
            format_args!("RTT_READ_ENTRY({ipa:#x}, level {level})"),
        )
    }

    /// Creates the tables mapping `ipa` from below the start level down to `level`, taking
    /// granules from `granules` in order. Returns the tables by level (0 where none).
    pub fn tables_to(&self, ipa: u64, level: i64, granules: &[u64]) -> Result<[u64; 4], Failure> {
        let mut tables = [0; 4];
        let mut free = granules.iter();
        for l in self.shape.start_level + 1..=level {
            let Some(&rtt) = free.next() else {
                fail!("tables_to({ipa:#x}, {level}): too few granules");
            };
            let at = align_down(ipa, l - 1);
            check(
                rmi::rtt_create(self.rd, rtt, at, l),
                [status::SUCCESS, 0, 0, 0, l as u64],
                format_args!("RTT_CREATE({rtt:#x}, {at:#x}, level {l})"),
            )?;
            tables[l as usize] = rtt;
        }
        Ok(tables)
    }

    /// Like [`Realm::tables_to`], delegating the tables from `pool`.
    pub fn new_tables_to(
        &self,
        pool: &mut Pool,
        ipa: u64,
        level: i64,
    ) -> Result<[u64; 4], Failure> {
        let granules = pool.delegate_many::<3>()?;
        let needed = (level - self.shape.start_level) as usize;
        self.tables_to(ipa, level, &granules[..needed.min(3)])
    }

    /// Destroys `tables` (as [`Realm::tables_to`] returned them) bottom-up. Each must give
    /// back its own address and, as the top of the non-live range, the end of its parent
    /// table's range: the caller makes sure nothing live follows in those tables.
    pub fn destroy_tables(&self, ipa: u64, tables: &[u64; 4]) -> Outcome {
        self.destroy_tables_to(ipa, tables, self.shape.start_level + 1)
    }

    /// Like [`Realm::destroy_tables`], but only the tables at levels `lowest..=3`.
    pub fn destroy_tables_to(&self, ipa: u64, tables: &[u64; 4], lowest: i64) -> Outcome {
        for l in (lowest..=3).rev() {
            let rtt = tables[l as usize];
            if rtt == 0 {
                continue;
            }
            let at = align_down(ipa, l - 1);
            check(
                rmi::rtt_destroy(self.rd, at, l),
                [status::SUCCESS, rtt, table_end(ipa, l - 1), 0, X4],
                format_args!("RTT_DESTROY({at:#x}, level {l})"),
            )?;
        }
        Ok(())
    }

    /// REALM_DESTROY, which must succeed.
    pub fn destroy(&self) -> Outcome {
        check_ok(
            rmi::realm_destroy(self.rd),
            format_args!("REALM_DESTROY({:#x})", self.rd),
        )
    }
}

/// Fails unless the host takes a Granule Protection Fault reading `pa`; returns the fault.
pub(super) fn expect_gpf(pa: u64, what: &str) -> Result<Fault, Failure> {
    match probe_read(pa) {
        Ok(value) => fail!("host read {value:#x} from the {what} granule {pa:#x} without a fault"),
        Err(fault) => {
            ensure!(
                fault.class() == EC_DATA_ABORT_SAME_EL
                    && fault.status_code() == DFSC_GPF
                    && fault.far == pa,
                "reading the {what} granule {pa:#x}: ESR_EL2={:#x} FAR_EL2={:#x}, expected a \
                 GPF (EC 0x25, DFSC 0x28) there",
                fault.esr,
                fault.far
            );
            Ok(fault)
        }
    }
}

/// Creates REC `index` of `realm` in `rec` with the 16 granules from `aux`, runnable.
pub(super) fn create_rec(
    pool: &mut Pool,
    realm: &Realm,
    rec: u64,
    index: u64,
    aux: u64,
) -> Outcome {
    let page = pool.ns_page()?;
    let aux: [u64; AUX] = core::array::from_fn(|i| aux + i as u64 * PAGE);
    write_rec_params(page, &rec_params(index, 0, &aux, true));
    check_ok(
        rmi::rec_create(realm.rd, rec, page),
        format_args!("REC_CREATE({rec:#x}, index {index})"),
    )
}

// ---------------------------------------------------------------------------------------
// 1. Shapes.

pub(super) const fn shape(
    s2sz: u64,
    start_level: i64,
    num_roots: u64,
    hash: u64,
    vmid: u64,
) -> Shape {
    Shape {
        s2sz,
        start_level,
        num_roots,
        hash,
        vmid,
    }
}

/// The valid shapes built and torn down, one after another with the same VMID (so each
/// REALM_DESTROY must have released it).
const SHAPES: [Shape; 6] = [
    shape(32, 2, 4, 0, VMID_SHAPES),
    shape(40, 1, 2, 0, VMID_SHAPES),
    shape(48, 0, 1, 1, VMID_SHAPES),
    shape(39, 1, 1, 1, VMID_SHAPES),
    shape(43, 1, 16, 0, VMID_SHAPES),
    shape(34, 2, 16, 1, VMID_SHAPES),
];

fn shapes() -> Outcome {
    let mut pool = window(0);
    for (i, &s) in SHAPES.iter().enumerate() {
        build_and_tear_down(&mut pool, s, i as u64).map_err(|f| {
            f.context(format_args!(
                "s2sz {} level {} {} roots",
                s.s2sz, s.start_level, s.num_roots
            ))
        })?;
    }
    Ok(())
}

/// One realm of `shape`: a table chain to level 3 at IPA 0 (protected) and in the last 2 MiB
/// of the IPA space (unprotected, under the last root), a measured page, an unprotected
/// mapping; then everything destroyed and every granule undelegated.
fn build_and_tear_down(pool: &mut Pool, shape: Shape, seed: u64) -> Outcome {
    let realm = Realm::create(pool, shape)?;
    let (rd, sl) = (realm.rd, shape.start_level);
    expect_gpf(rd, "RD")?;
    let last_root = realm.rtt_base + (shape.num_roots - 1) * PAGE;
    expect_gpf(last_root, "root RTT")?;

    let high = shape.ipa_size() - L2_BLOCK;
    realm.entry(0, sl, [sl as u64, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;
    realm.entry(
        align_down(high, sl),
        sl,
        [sl as u64, entry_state::UNASSIGNED, 0, ripas::EMPTY],
    )?;
    if sl > 0 {
        check_err(
            rmi::rtt_read_entry(rd, 0, sl - 1),
            status::INPUT,
            format_args!("RTT_READ_ENTRY above the start level"),
        )?;
    }
    let low_tables = realm.new_tables_to(pool, 0, 3)?;
    let high_tables = realm.new_tables_to(pool, high, 3)?;
    let child = (sl + 1) as usize;
    realm.entry(
        0,
        sl,
        [
            sl as u64,
            entry_state::TABLE,
            low_tables[child],
            ripas::EMPTY,
        ],
    )?;
    realm.entry(
        align_down(high, sl),
        sl,
        [
            sl as u64,
            entry_state::TABLE,
            high_tables[child],
            ripas::EMPTY,
        ],
    )?;

    let data = pool.delegate()?;
    let src = pool.ns_page()?;
    fill_page(src, 0x5EED_0000 + seed);
    check(
        rmi::data_create(rd, data, 0, src, MEASURE_CONTENT),
        [status::SUCCESS, 0, 0, 0, src],
        format_args!("DATA_CREATE at 0"),
    )?;
    realm.entry(0, 3, [3, entry_state::ASSIGNED, data, ripas::RAM])?;

    let ns = pool.ns_page()?;
    let desc = ns | NS_NORMAL_RW;
    check(
        rmi::rtt_map_unprotected(rd, high, 3, desc),
        [status::SUCCESS, 0, 0, 0, desc],
        format_args!("RTT_MAP_UNPROTECTED({high:#x})"),
    )?;
    realm.entry(high, 3, [3, entry_state::ASSIGNED, desc, ripas::EMPTY])?;
    check_err(
        rmi::realm_destroy(rd),
        status::realm(0),
        format_args!("REALM_DESTROY with tables and data"),
    )?;

    // Teardown, the unprotected side first so nothing live follows the protected chain.
    check(
        rmi::rtt_unmap_unprotected(rd, high, 3),
        [status::SUCCESS, shape.ipa_size(), 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED({high:#x})"),
    )?;
    // The table under the root is all unassigned NS once its children are gone: it folds
    // back into the root entry (at any level, level 1 into level 0 included).
    let top_table = sl + 1;
    realm.destroy_tables_to(high, &high_tables, top_table + 1)?;
    check(
        rmi::rtt_fold(rd, align_down(high, sl), top_table),
        [status::SUCCESS, high_tables[child], 0, 0, X4],
        format_args!("RTT_FOLD of the unprotected level-{top_table} table"),
    )?;
    check(
        rmi::data_destroy(rd, 0),
        [status::SUCCESS, data, L2_BLOCK, 0, X4],
        format_args!("DATA_DESTROY at 0"),
    )?;
    realm.entry(0, 3, [3, entry_state::UNASSIGNED, 0, ripas::DESTROYED])?;
    realm.destroy_tables_to(0, &low_tables, top_table + 1)?;
    // DESTROYED where the data or a table was, EMPTY elsewhere: that one does not fold.
    check(
        rmi::rtt_fold(rd, 0, top_table),
        [status::rtt(top_table), 0, 0, 0, X4],
        format_args!("RTT_FOLD of a mixed level-{top_table} table"),
    )?;
    let mut top_only = [0; 4];
    top_only[child] = low_tables[child];
    realm.destroy_tables(0, &top_only)?;
    realm.entry(
        0,
        sl,
        [sl as u64, entry_state::UNASSIGNED, 0, ripas::DESTROYED],
    )?;
    realm.entry(
        align_down(high, sl),
        sl,
        [sl as u64, entry_state::UNASSIGNED, 0, ripas::EMPTY],
    )?;
    realm.destroy()?;
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// Invalid parameters.

fn invalid_params() -> Outcome {
    let mut pool = window(1);
    let rd = pool.delegate()?;
    let roots = pool.delegate_aligned(16, 16 * PAGE)?;
    let page = pool.ns_page()?;
    let good = shape(40, 1, 2, 0, VMID_INVALID);
    // Each case changes the good parameters (built one at a time: a RealmParams is 4 KiB and
    // the stack is 32 KiB).
    type Change = fn(&mut RealmParams, u64, u64);
    let cases: [(&str, Change); 18] = [
        ("1 root for 40 bits at level 1", |p, _, _| {
            p.rtt_num_start = 1
        }),
        ("4 roots for 40 bits at level 1", |p, _, _| {
            p.rtt_num_start = 4
        }),
        ("2 roots for 32 bits at level 2", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (32, 2, 2)
        }),
        ("start level 3", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (32, 3, 1)
        }),
        ("s2sz 31", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (31, 2, 2)
        }),
        ("s2sz 49", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (49, 0, 2)
        }),
        ("s2sz 39 at level 0", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (39, 0, 1)
        }),
        ("s2sz 44 at level 1", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (44, 1, 32)
        }),
        ("s2sz 35 at level 2", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (35, 2, 32)
        }),
        ("start level -1 without LPA2", |p, _, _| {
            (p.s2sz, p.rtt_level_start, p.rtt_num_start) = (48, -1, 1)
        }),
        ("hash algorithm 2", |p, _, _| p.hash_algo = 2),
        ("the LPA2 flag", |p, _, _| p.flags = 1),
        ("the SVE flag", |p, _, _| p.flags = 2),
        ("no breakpoints", |p, _, _| p.num_bps = 0),
        ("no watchpoints", |p, _, _| p.num_wps = 0),
        ("an unaligned rtt_base", |p, _, _| p.rtt_base += 8),
        ("the RD as rtt_base", |p, rd, _| p.rtt_base = rd),
        ("NS roots", |p, _, ns| p.rtt_base = ns),
    ];
    for (what, change) in cases {
        let mut params = good.params(roots);
        change(&mut params, rd, page);
        write_realm_params(page, &params);
        check_err(
            rmi::realm_create(rd, page),
            status::INPUT,
            format_args!("REALM_CREATE with {what}"),
        )?;
    }
    write_realm_params(page, &good.params(roots));
    check_err(
        rmi::realm_create(page, page),
        status::INPUT,
        format_args!("REALM_CREATE with an NS RD"),
    )?;
    check_err(
        rmi::realm_create(rd, roots + 15 * PAGE),
        status::INPUT,
        format_args!("REALM_CREATE with delegated params"),
    )?;
    check_err(
        rmi::realm_create(roots + PAGE, page),
        status::INPUT,
        format_args!("REALM_CREATE with the RD as the second root"),
    )?;

    // None of the failures kept the VMID; a live realm does, until it is destroyed.
    let first = Realm::create_with(rd, roots, page, good)?;
    let rd2 = pool.delegate()?;
    let page2 = pool.ns_page()?;
    write_realm_params(page2, &good.params(roots + 2 * PAGE));
    check_err(
        rmi::realm_create(rd2, page2),
        status::INPUT,
        format_args!("REALM_CREATE with a VMID in use"),
    )?;
    let page3 = pool.ns_page()?;
    write_realm_params(
        page3,
        &shape(40, 1, 2, 0, VMID_SPARE).params(roots + 4 * PAGE),
    );
    check_err(
        rmi::realm_create(rd, page3),
        status::INPUT,
        format_args!("REALM_CREATE in a live RD"),
    )?;
    first.destroy()?;
    let second = Realm::create_with(rd2, roots + 2 * PAGE, page2, good)?;
    second.destroy()?;
    check_err(
        rmi::realm_destroy(rd2),
        status::INPUT,
        format_args!("REALM_DESTROY twice"),
    )?;
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// 2. One realm's life.

/// Pages of the realm image.
const IMAGE_PAGES: u64 = 8;
/// The RIPAS RAM range set before loading.
const RAM_TOP: u64 = 16 * PAGE;

fn lifecycle() -> Outcome {
    let mut pool = window(2);
    let shape = shape(40, 1, 2, 0, VMID_LIFECYCLE);
    let realm = Realm::create(&mut pool, shape)?;
    let rd = realm.rd;
    check(
        rmi::rec_aux_count(rd),
        [status::SUCCESS, AUX as u64, 0, 0, X4],
        format_args!("REC_AUX_COUNT"),
    )?;

    // Tables down to level 3 at IPA 0.
    let low = realm.new_tables_to(&mut pool, 0, 3)?;
    realm.entry(0, 1, [1, entry_state::TABLE, low[2], ripas::EMPTY])?;
    realm.entry(0, 2, [2, entry_state::TABLE, low[3], ripas::EMPTY])?;
    realm.entry(0, 3, [3, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;
    let spare = pool.delegate()?;
    for (ipa, level, want, what) in [
        (0, 3, status::rtt(2), "over an existing table"),
        (0x4000_0000, 3, status::rtt(1), "without the level-2 table"),
        (PAGE, 3, status::INPUT, "at an unaligned IPA"),
        (0, 1, status::INPUT, "at the start level"),
        (1 << 40, 2, status::INPUT, "outside the IPA space"),
    ] {
        check(
            rmi::rtt_create(rd, spare, ipa, level),
            [want, 0, 0, 0, level as u64],
            format_args!("RTT_CREATE {what}"),
        )?;
    }
    check(
        rmi::rtt_create(rd, rd, L2_BLOCK, 3),
        [status::INPUT, 0, 0, 0, 3],
        format_args!("RTT_CREATE with the RD as the table"),
    )?;

    // RIPAS: pages at level 3, whole blocks (2 MiB, 1 GiB) where there is no finer table.
    let par = shape.par_end();
    let ripas_cases = [
        (0, RAM_TOP, [status::SUCCESS, RAM_TOP], "of 16 pages"),
        (0, PAGE, [status::SUCCESS, PAGE], "of a RAM page again"),
        (
            L2_BLOCK,
            3 * L2_BLOCK,
            [status::SUCCESS, 3 * L2_BLOCK],
            "of 2 blocks",
        ),
        (
            3 * L2_BLOCK + PAGE,
            4 * L2_BLOCK,
            [status::rtt(2), 0],
            "unaligned to the block",
        ),
        (RAM_TOP, RAM_TOP, [status::INPUT, 0], "of an empty range"),
        (
            1 << 39,
            (1 << 39) + PAGE,
            [status::INPUT, 0],
            "outside the PAR",
        ),
        (
            par - GIB,
            par + PAGE,
            [status::INPUT, 0],
            "ending past the PAR",
        ),
        (
            par - GIB,
            par,
            [status::SUCCESS, par],
            "of the last 1 GiB block",
        ),
    ];
    for (base, top, [x0, x1], what) in ripas_cases {
        check(
            rmi::rtt_init_ripas(rd, base, top),
            [x0, x1, 0, 0, X4],
            format_args!("RTT_INIT_RIPAS {what}"),
        )?;
    }
    realm.entry(
        RAM_TOP - PAGE,
        3,
        [3, entry_state::UNASSIGNED, 0, ripas::RAM],
    )?;
    realm.entry(RAM_TOP, 3, [3, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;
    realm.entry(L2_BLOCK, 3, [2, entry_state::UNASSIGNED, 0, ripas::RAM])?;
    realm.entry(
        3 * L2_BLOCK,
        2,
        [2, entry_state::UNASSIGNED, 0, ripas::EMPTY],
    )?;
    realm.entry(par - GIB, 3, [1, entry_state::UNASSIGNED, 0, ripas::RAM])?;

    // A measured image of 8 distinct pages.
    let data = pool.delegate_many::<{ IMAGE_PAGES as usize }>()?;
    let src = pool.ns_run(IMAGE_PAGES)?;
    for (i, &pa) in data.iter().enumerate() {
        let (ipa, src) = (i as u64 * PAGE, src + i as u64 * PAGE);
        fill_page(src, 0x1A6E_0000 + i as u64);
        check(
            rmi::data_create(rd, pa, ipa, src, MEASURE_CONTENT),
            [status::SUCCESS, 0, 0, 0, src],
            format_args!("DATA_CREATE({pa:#x}, {ipa:#x})"),
        )?;
    }
    for (i, &pa) in data.iter().enumerate() {
        realm.entry(
            i as u64 * PAGE,
            3,
            [3, entry_state::ASSIGNED, pa, ripas::RAM],
        )?;
    }
    expect_gpf(data[IMAGE_PAGES as usize - 1], "DATA")?;
    for (data, ipa, src, flags, want, what) in [
        (
            spare,
            0,
            src,
            MEASURE_CONTENT,
            status::rtt(3),
            "over a page",
        ),
        (spare, RAM_TOP, src, 2, status::INPUT, "with flags 2"),
        (
            spare,
            RAM_TOP,
            rd,
            MEASURE_CONTENT,
            status::INPUT,
            "from the RD",
        ),
        (
            spare,
            1 << 39,
            src,
            MEASURE_CONTENT,
            status::INPUT,
            "outside the PAR",
        ),
        (spare, 0x4000_0000, src, 0, status::rtt(1), "without tables"),
        (
            low[3],
            RAM_TOP,
            src,
            0,
            status::INPUT,
            "into an RTT granule",
        ),
        (
            spare,
            RAM_TOP + 8,
            src,
            0,
            status::INPUT,
            "at an unaligned IPA",
        ),
        (rd, RAM_TOP, src, 0, status::INPUT, "into the RD"),
    ] {
        check(
            rmi::data_create(rd, data, ipa, src, flags),
            [want, 0, 0, 0, src],
            format_args!("DATA_CREATE {what}"),
        )?;
    }

    // Unknown content keeps the RIPAS the entry had.
    let [unknown_ram, unknown_empty] = pool.delegate_many::<2>()?;
    let (ipa_ram, ipa_empty) = (9 * PAGE, 0x20 * PAGE);
    check_ok(
        rmi::data_create_unknown(rd, unknown_ram, ipa_ram),
        format_args!("DATA_CREATE_UNKNOWN in RAM"),
    )?;
    check_ok(
        rmi::data_create_unknown(rd, unknown_empty, ipa_empty),
        format_args!("DATA_CREATE_UNKNOWN in EMPTY"),
    )?;
    realm.entry(
        ipa_ram,
        3,
        [3, entry_state::ASSIGNED, unknown_ram, ripas::RAM],
    )?;
    realm.entry(
        ipa_empty,
        3,
        [3, entry_state::ASSIGNED, unknown_empty, ripas::EMPTY],
    )?;
    // RTT_INIT_RIPAS stops at the first assigned page: progress up to it, or an error there.
    check(
        rmi::rtt_init_ripas(rd, ipa_empty - 2 * PAGE, ipa_empty + PAGE),
        [status::SUCCESS, ipa_empty, 0, 0, X4],
        format_args!("RTT_INIT_RIPAS up to an assigned page"),
    )?;
    check(
        rmi::rtt_init_ripas(rd, ipa_empty, ipa_empty + PAGE),
        [status::rtt(3), 0, 0, 0, X4],
        format_args!("RTT_INIT_RIPAS of an assigned page"),
    )?;

    // Walks that stop early report where, and the top of the non-live range there.
    for (out, want, what) in [
        (
            rmi::data_destroy(rd, GIB),
            [status::rtt(1), 0, 1 << 39, 0, X4],
            "DATA_DESTROY without tables",
        ),
        (
            rmi::rtt_destroy(rd, GIB, 3),
            [status::rtt(1), 0, 1 << 39, 0, X4],
            "RTT_DESTROY without a level-2 table",
        ),
        (
            rmi::rtt_destroy(rd, L2_BLOCK, 3),
            [status::rtt(2), 0, GIB, 0, X4],
            "RTT_DESTROY of no table",
        ),
        (
            rmi::rtt_read_entry(rd, 1 << 40, 3),
            [status::INPUT, 0, 0, 0, X4],
            "RTT_READ_ENTRY outside the IPA space",
        ),
    ] {
        check(out, want, format_args!("{what}"))?;
    }

    // An unprotected mapping in the upper half.
    let up = shape.par_end();
    let high = realm.new_tables_to(&mut pool, up, 3)?;
    let ns = pool.ns_page()?;
    let desc = ns | NS_NORMAL_RW;
    check(
        rmi::rtt_map_unprotected(rd, up, 3, desc),
        [status::SUCCESS, 0, 0, 0, desc],
        format_args!("RTT_MAP_UNPROTECTED({up:#x})"),
    )?;
    realm.entry(up, 3, [3, entry_state::ASSIGNED, desc, ripas::EMPTY])?;
    for (ipa, level, d, want, what) in [
        (up, 3, desc, status::rtt(3), "over a mapping"),
        (RAM_TOP, 3, desc, status::INPUT, "in the PAR"),
        (up + PAGE, 3, desc | 1 << 10, status::INPUT, "with AF set"),
        (up + PAGE, 0, desc, status::INPUT, "at level 0"),
        (up + PAGE, 2, desc, status::INPUT, "of a page at level 2"),
        (
            up + L2_BLOCK,
            3,
            desc,
            status::rtt(2),
            "without a level-3 table",
        ),
    ] {
        check(
            rmi::rtt_map_unprotected(rd, ipa, level, d),
            [want, 0, 0, 0, d],
            format_args!("RTT_MAP_UNPROTECTED {what}"),
        )?;
    }
    check(
        rmi::rtt_unmap_unprotected(rd, up, 3),
        [status::SUCCESS, up + L2_BLOCK, 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED({up:#x})"),
    )?;
    realm.entry(up, 3, [3, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;
    check(
        rmi::rtt_unmap_unprotected(rd, up, 3),
        [status::rtt(3), up + L2_BLOCK, 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED of nothing"),
    )?;
    check(
        rmi::rtt_unmap_unprotected(rd, up + L2_BLOCK, 3),
        [status::rtt(2), up + GIB, 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED without a level-3 table"),
    )?;
    // Blocks: 2 MiB at level 2, 1 GiB at level 1 (the minimum block level).
    let ns_block = pool.ns_aligned(1, L2_BLOCK)?;
    let desc2 = ns_block | NS_NORMAL_RW;
    check(
        rmi::rtt_map_unprotected(rd, up + L2_BLOCK, 2, desc2),
        [status::SUCCESS, 0, 0, 0, desc2],
        format_args!("RTT_MAP_UNPROTECTED of a 2 MiB block"),
    )?;
    realm.entry(
        up + L2_BLOCK,
        3,
        [2, entry_state::ASSIGNED, desc2, ripas::EMPTY],
    )?;
    check(
        rmi::rtt_unmap_unprotected(rd, up + L2_BLOCK, 2),
        [status::SUCCESS, up + GIB, 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED of a 2 MiB block"),
    )?;
    let desc1 = NS_GIB | NS_NORMAL_RW;
    check(
        rmi::rtt_map_unprotected(rd, up + GIB, 1, desc1),
        [status::SUCCESS, 0, 0, 0, desc1],
        format_args!("RTT_MAP_UNPROTECTED of a 1 GiB block"),
    )?;
    realm.entry(up + GIB, 3, [1, entry_state::ASSIGNED, desc1, ripas::EMPTY])?;
    // Any MemAttr but FWB's reserved 0b100 and any S2AP: here Device-nGnRE, no access.
    let device = ns | (0b001 << 2);
    check(
        rmi::rtt_map_unprotected(rd, up + 2 * PAGE, 3, device),
        [status::SUCCESS, 0, 0, 0, device],
        format_args!("RTT_MAP_UNPROTECTED of device memory"),
    )?;
    realm.entry(
        up + 2 * PAGE,
        3,
        [3, entry_state::ASSIGNED, device, ripas::EMPTY],
    )?;
    let reserved = ns | (0b100 << 2) | (0b11 << 6);
    check(
        rmi::rtt_map_unprotected(rd, up + 3 * PAGE, 3, reserved),
        [status::INPUT, 0, 0, 0, reserved],
        format_args!("RTT_MAP_UNPROTECTED with the reserved MemAttr"),
    )?;
    // Left mapped, all three: unprotected mappings keep neither a table nor the realm alive.
    check(
        rmi::rtt_map_unprotected(rd, up + PAGE, 3, desc),
        [status::SUCCESS, 0, 0, 0, desc],
        format_args!("RTT_MAP_UNPROTECTED({:#x})", up + PAGE),
    )?;

    // RECs 0 and 1, in MPIDR index order.
    let [rec0, rec1, rec2] = pool.delegate_many::<3>()?;
    let aux = [
        pool.delegate_run(AUX as u64)?,
        pool.delegate_run(AUX as u64)?,
        pool.delegate_run(AUX as u64)?,
    ];
    let rec_page = pool.ns_page()?;
    let aux_list = |n: usize| -> [u64; AUX] { core::array::from_fn(|i| aux[n] + i as u64 * PAGE) };
    for (rec, index, aux, num_aux, want, what) in [
        (rec1, 1, aux_list(1), AUX, status::INPUT, "of index 1 first"),
        (
            rec0,
            0,
            aux_list(0),
            AUX - 1,
            status::INPUT,
            "with 15 aux granules",
        ),
        (rec0, 0, aux_list(0), AUX, status::SUCCESS, "of index 0"),
        (
            rec1,
            1,
            aux_list(0),
            AUX,
            status::INPUT,
            "with aux granules in use",
        ),
        (rec1, 1, aux_list(1), AUX, status::SUCCESS, "of index 1"),
        (
            rec2,
            3,
            aux_list(2),
            AUX,
            status::INPUT,
            "of index 3 after 1",
        ),
        (
            aux[2],
            2,
            aux_list(2),
            AUX,
            status::INPUT,
            "in one of its aux granules",
        ),
        (rec0, 2, aux_list(2), AUX, status::INPUT, "in a live REC"),
    ] {
        write_rec_params(rec_page, &rec_params(index, 0, &aux[..num_aux], true));
        check_err(
            rmi::rec_create(rd, rec, rec_page),
            want,
            format_args!("REC_CREATE {what}"),
        )?;
    }
    // More than 16 aux granules, and a malformed MPIDR (Aff0[7:4] set).
    let mut params = rec_params(2, 0, &aux_list(2), true);
    params.num_aux = AUX as u64 + 1;
    write_rec_params(rec_page, &params);
    check_err(
        rmi::rec_create(rd, rec2, rec_page),
        status::INPUT,
        format_args!("REC_CREATE with 17 aux granules"),
    )?;
    params.num_aux = AUX as u64;
    params.mpidr = 0x12;
    write_rec_params(rec_page, &params);
    check_err(
        rmi::rec_create(rd, rec2, rec_page),
        status::INPUT,
        format_args!("REC_CREATE with MPIDR 0x12"),
    )?;
    expect_gpf(rec1, "REC")?;
    expect_gpf(aux[1] + (AUX as u64 - 1) * PAGE, "REC aux")?;
    check_err(
        rmi::realm_destroy(rd),
        status::realm(0),
        format_args!("REALM_DESTROY with RECs"),
    )?;

    // Activation ends the measured phase; unknown content may still be added.
    check_ok(rmi::realm_activate(rd), format_args!("REALM_ACTIVATE"))?;
    check_err(
        rmi::realm_activate(rd),
        status::realm(0),
        format_args!("REALM_ACTIVATE twice"),
    )?;
    write_rec_params(rec_page, &rec_params(2, 0, &aux_list(2), true));
    check_err(
        rmi::rec_create(rd, rec2, rec_page),
        status::realm(0),
        format_args!("REC_CREATE in an active realm"),
    )?;
    // More than 16 aux granules is refused first; exactly 16 is checked after the state.
    let mut params = rec_params(2, 0, &aux_list(2), true);
    for (num_aux, want) in [
        (AUX as u64 + 1, status::INPUT),
        (AUX as u64 - 1, status::realm(0)),
    ] {
        params.num_aux = num_aux;
        write_rec_params(rec_page, &params);
        check_err(
            rmi::rec_create(rd, rec2, rec_page),
            want,
            format_args!("REC_CREATE with {num_aux} aux granules in an active realm"),
        )?;
    }
    check_err(
        rmi::realm_activate(rec0),
        status::INPUT,
        format_args!("REALM_ACTIVATE of a REC"),
    )?;
    check(
        rmi::data_create(rd, spare, RAM_TOP, src, MEASURE_CONTENT),
        [status::realm(0), 0, 0, 0, src],
        format_args!("DATA_CREATE in an active realm"),
    )?;
    check_err(
        rmi::rtt_init_ripas(rd, RAM_TOP, RAM_TOP + PAGE),
        status::realm(0),
        format_args!("RTT_INIT_RIPAS in an active realm"),
    )?;
    // The order of the checks: DATA_CREATE refuses the state before looking at the IPA,
    // RTT_INIT_RIPAS looks at the range first.
    check(
        rmi::data_create(rd, spare, RAM_TOP + 8, src, MEASURE_CONTENT),
        [status::realm(0), 0, 0, 0, src],
        format_args!("DATA_CREATE at a bad IPA in an active realm"),
    )?;
    check_err(
        rmi::rtt_init_ripas(rd, RAM_TOP + 8, RAM_TOP + PAGE),
        status::INPUT,
        format_args!("RTT_INIT_RIPAS of a bad range in an active realm"),
    )?;
    let ipa_late = 0x21 * PAGE;
    check_ok(
        rmi::data_create_unknown(rd, spare, ipa_late),
        format_args!("DATA_CREATE_UNKNOWN in an active realm"),
    )?;
    realm.entry(ipa_late, 3, [3, entry_state::ASSIGNED, spare, ripas::EMPTY])?;
    check_err(
        rmi::data_create_unknown(rd, rec2, up + 4 * PAGE),
        status::INPUT,
        format_args!("DATA_CREATE_UNKNOWN outside the PAR"),
    )?;

    // Teardown: every page (ascending, so the top is the next live page), the tables
    // bottom-up, the RECs, the realm.
    let mut pages = [(0, 0, 0); IMAGE_PAGES as usize + 3];
    for (i, &pa) in data.iter().enumerate() {
        pages[i] = (i as u64 * PAGE, pa, ripas::DESTROYED);
    }
    pages[IMAGE_PAGES as usize] = (ipa_ram, unknown_ram, ripas::DESTROYED);
    pages[IMAGE_PAGES as usize + 1] = (ipa_empty, unknown_empty, ripas::EMPTY);
    pages[IMAGE_PAGES as usize + 2] = (ipa_late, spare, ripas::EMPTY);
    for (i, &(ipa, pa, after)) in pages.iter().enumerate() {
        let top = pages.get(i + 1).map_or(L2_BLOCK, |next| next.0);
        check(
            rmi::data_destroy(rd, ipa),
            [status::SUCCESS, pa, top, 0, X4],
            format_args!("DATA_DESTROY({ipa:#x})"),
        )?;
        realm.entry(ipa, 3, [3, entry_state::UNASSIGNED, 0, after])?;
    }
    check(
        rmi::data_destroy(rd, 0),
        [status::rtt(3), 0, L2_BLOCK, 0, X4],
        format_args!("DATA_DESTROY of a destroyed page"),
    )?;
    // Unknown content over a DESTROYED entry stays DESTROYED (assigned, not mapped).
    check_ok(
        rmi::data_create_unknown(rd, spare, 0),
        format_args!("DATA_CREATE_UNKNOWN over DESTROYED"),
    )?;
    realm.entry(0, 3, [3, entry_state::ASSIGNED, spare, ripas::DESTROYED])?;
    check(
        rmi::data_destroy(rd, 0),
        [status::SUCCESS, spare, L2_BLOCK, 0, X4],
        format_args!("DATA_DESTROY of an assigned DESTROYED page"),
    )?;
    realm.entry(0, 3, [3, entry_state::UNASSIGNED, 0, ripas::DESTROYED])?;
    // The level-3 table goes with a mapping in it; the level-2 table's top stops at the
    // 1 GiB mapping that follows it in the root.
    realm.destroy_tables_to(up, &high, 3)?;
    check(
        rmi::rtt_destroy(rd, up, 2),
        [status::SUCCESS, high[2], up + GIB, 0, X4],
        format_args!("RTT_DESTROY({up:#x}, level 2)"),
    )?;
    check(
        rmi::rtt_destroy(rd, 0, 2),
        [status::rtt(2), 0, 0, 0, X4],
        format_args!("RTT_DESTROY of a level-2 table with a child"),
    )?;
    realm.destroy_tables(0, &low)?;
    realm.entry(0, 1, [1, entry_state::UNASSIGNED, 0, ripas::DESTROYED])?;
    for rec in [rec0, rec1] {
        check_ok(rmi::rec_destroy(rec), format_args!("REC_DESTROY({rec:#x})"))?;
    }
    check_err(
        rmi::rec_destroy(rec0),
        status::INPUT,
        format_args!("REC_DESTROY twice"),
    )?;
    realm.destroy()?;
    check_err(
        rmi::rec_aux_count(rd),
        status::INPUT,
        format_args!("REC_AUX_COUNT of a destroyed realm"),
    )?;
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// 3. Fold and unfold.

fn fold() -> Outcome {
    let mut pool = window(3);
    let shape = shape(40, 1, 2, 0, VMID_FOLD);
    let realm = Realm::create(&mut pool, shape)?;
    let rd = realm.rd;
    // A level-2 table for [0, 1 GiB) and a level-3 table for the block at 2 MiB.
    let base = L2_BLOCK;
    let tables = realm.new_tables_to(&mut pool, base, 3)?;
    let (l2, l3) = (tables[2], tables[3]);
    // Granules for the unprotected side's tables, taken before the 2 MiB block fills the
    // rest of the window.
    let high_granules = pool.delegate_many::<2>()?;
    let block = pool.delegate_aligned(512, L2_BLOCK)?;
    let page = |i: u64| (base + i * PAGE, block + i * PAGE);
    let fold_ok = |what: &str| {
        check(
            rmi::rtt_fold(rd, base, 3),
            [status::SUCCESS, l3, 0, 0, X4],
            format_args!("RTT_FOLD of {what}"),
        )
    };
    let unfold = |what: &str| {
        check(
            rmi::rtt_create(rd, l3, base, 3),
            [status::SUCCESS, 0, 0, 0, 3],
            format_args!("RTT_CREATE unfolding {what}"),
        )
    };
    let fill = |what: &str| -> Outcome {
        for i in 0..512 {
            let (ipa, pa) = page(i);
            check_ok(
                rmi::data_create_unknown(rd, pa, ipa),
                format_args!("DATA_CREATE_UNKNOWN({pa:#x}, {ipa:#x}) in {what}"),
            )?;
        }
        Ok(())
    };
    let empty_all = || -> Outcome {
        for i in 0..512 {
            let (ipa, pa) = page(i);
            check(
                rmi::data_destroy(rd, ipa),
                [status::SUCCESS, pa, ipa + PAGE, 0, X4],
                format_args!("DATA_DESTROY({ipa:#x})"),
            )?;
        }
        Ok(())
    };

    // 512 pages of RIPAS EMPTY fold into an assigned level-2 block, but not 511.
    fill("EMPTY")?;
    realm.entry(
        page(5).0,
        3,
        [3, entry_state::ASSIGNED, page(5).1, ripas::EMPTY],
    )?;
    let (last_ipa, last_pa) = page(511);
    check(
        rmi::data_destroy(rd, last_ipa),
        [status::SUCCESS, last_pa, base + L2_BLOCK, 0, X4],
        format_args!("DATA_DESTROY of the last page"),
    )?;
    check(
        rmi::rtt_fold(rd, base, 3),
        [status::rtt(3), 0, 0, 0, X4],
        format_args!("RTT_FOLD of 511 pages"),
    )?;
    check_ok(
        rmi::data_create_unknown(rd, last_pa, last_ipa),
        format_args!("DATA_CREATE_UNKNOWN of the last page again"),
    )?;
    fold_ok("512 EMPTY pages")?;
    for (ipa, want, what) in [
        (base, status::rtt(2), "of a block"),
        (GIB, status::rtt(1), "without a level-2 table"),
    ] {
        check_err(
            rmi::rtt_fold(rd, ipa, 3),
            want,
            format_args!("RTT_FOLD {what}"),
        )?;
    }
    realm.entry(base, 3, [2, entry_state::ASSIGNED, block, ripas::EMPTY])?;
    realm.entry(base, 2, [2, entry_state::ASSIGNED, block, ripas::EMPTY])?;
    // The folded table went back to DELEGATED: it can be the table that unfolds the block.
    unfold("an EMPTY block")?;
    realm.entry(base, 2, [2, entry_state::TABLE, l3, ripas::EMPTY])?;
    realm.entry(
        page(7).0,
        3,
        [3, entry_state::ASSIGNED, page(7).1, ripas::EMPTY],
    )?;
    empty_all()?;
    fold_ok("512 unassigned EMPTY entries")?;
    realm.entry(base, 3, [2, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;

    // RIPAS RAM: unassigned RAM folds too, and RAM pages fold into a valid block mapping.
    unfold("unassigned EMPTY")?;
    check(
        rmi::rtt_init_ripas(rd, base, base + L2_BLOCK),
        [status::SUCCESS, base + L2_BLOCK, 0, 0, X4],
        format_args!("RTT_INIT_RIPAS of 512 pages"),
    )?;
    fold_ok("512 unassigned RAM entries")?;
    realm.entry(base, 3, [2, entry_state::UNASSIGNED, 0, ripas::RAM])?;
    unfold("unassigned RAM")?;
    realm.entry(page(1).0, 3, [3, entry_state::UNASSIGNED, 0, ripas::RAM])?;
    fill("RAM")?;
    realm.entry(
        page(3).0,
        3,
        [3, entry_state::ASSIGNED, page(3).1, ripas::RAM],
    )?;
    fold_ok("512 RAM pages")?;
    realm.entry(base, 2, [2, entry_state::ASSIGNED, block, ripas::RAM])?;
    unfold("a RAM block")?;
    realm.entry(
        page(511).0,
        3,
        [3, entry_state::ASSIGNED, page(511).1, ripas::RAM],
    )?;
    empty_all()?;
    // Measured content over DESTROYED is RAM (mapped) again.
    let src = pool.ns_page()?;
    fill_page(src, 0xF01D);
    let (ipa0, pa0) = page(0);
    check(
        rmi::data_create(rd, pa0, ipa0, src, MEASURE_CONTENT),
        [status::SUCCESS, 0, 0, 0, src],
        format_args!("DATA_CREATE over DESTROYED"),
    )?;
    realm.entry(ipa0, 3, [3, entry_state::ASSIGNED, pa0, ripas::RAM])?;
    check(
        rmi::data_destroy(rd, ipa0),
        [status::SUCCESS, pa0, base + L2_BLOCK, 0, X4],
        format_args!("DATA_DESTROY({ipa0:#x})"),
    )?;
    // Unknown content keeps DESTROYED: 512 assigned DESTROYED pages fold as well.
    fill("DESTROYED")?;
    realm.entry(
        page(2).0,
        3,
        [3, entry_state::ASSIGNED, page(2).1, ripas::DESTROYED],
    )?;
    fold_ok("512 DESTROYED pages")?;
    realm.entry(base, 2, [2, entry_state::ASSIGNED, block, ripas::DESTROYED])?;
    unfold("a DESTROYED block")?;
    realm.entry(
        page(9).0,
        3,
        [3, entry_state::ASSIGNED, page(9).1, ripas::DESTROYED],
    )?;
    empty_all()?;
    fold_ok("512 unassigned DESTROYED entries")?;
    realm.entry(base, 3, [2, entry_state::UNASSIGNED, 0, ripas::DESTROYED])?;

    // The unprotected half: unassigned NS entries fold, and so do 512 mappings of a
    // contiguous, 2 MiB-aligned NS range with the same attributes.
    let up = shape.par_end();
    let high = realm.tables_to(up, 3, &high_granules)?;
    let (h2, h3) = (high[2], high[3]);
    check(
        rmi::rtt_fold(rd, up, 3),
        [status::SUCCESS, h3, 0, 0, X4],
        format_args!("RTT_FOLD of 512 unassigned NS entries"),
    )?;
    realm.entry(up, 3, [2, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;
    check(
        rmi::rtt_create(rd, h3, up, 3),
        [status::SUCCESS, 0, 0, 0, 3],
        format_args!("RTT_CREATE unfolding unassigned NS"),
    )?;
    let ns = pool.ns_aligned(512, L2_BLOCK)?;
    for i in 0..512 {
        let (ipa, desc) = (up + i * PAGE, (ns + i * PAGE) | NS_NORMAL_RW);
        check(
            rmi::rtt_map_unprotected(rd, ipa, 3, desc),
            [status::SUCCESS, 0, 0, 0, desc],
            format_args!("RTT_MAP_UNPROTECTED({ipa:#x})"),
        )?;
    }
    check(
        rmi::rtt_fold(rd, up, 3),
        [status::SUCCESS, h3, 0, 0, X4],
        format_args!("RTT_FOLD of 512 NS mappings"),
    )?;
    realm.entry(
        up,
        2,
        [2, entry_state::ASSIGNED, ns | NS_NORMAL_RW, ripas::EMPTY],
    )?;
    // Unfolding gives the 512 mappings back; one with other attributes stops the fold.
    check(
        rmi::rtt_create(rd, h3, up, 3),
        [status::SUCCESS, 0, 0, 0, 3],
        format_args!("RTT_CREATE unfolding an NS block"),
    )?;
    let ns_page = |i: u64| (up + i * PAGE, (ns + i * PAGE) | NS_NORMAL_RW);
    realm.entry(
        ns_page(5).0,
        3,
        [3, entry_state::ASSIGNED, ns_page(5).1, ripas::EMPTY],
    )?;
    let (odd_ipa, odd_rw) = ns_page(7);
    let odd_ro = odd_rw & !(0b11 << 6) | (0b01 << 6);
    for (desc, fold_status, what) in [
        (odd_ro, status::rtt(3), "with one read-only page"),
        (odd_rw, status::SUCCESS, "again"),
    ] {
        check(
            rmi::rtt_unmap_unprotected(rd, odd_ipa, 3),
            [status::SUCCESS, odd_ipa + PAGE, 0, 0, X4],
            format_args!("RTT_UNMAP_UNPROTECTED({odd_ipa:#x})"),
        )?;
        check(
            rmi::rtt_map_unprotected(rd, odd_ipa, 3, desc),
            [status::SUCCESS, 0, 0, 0, desc],
            format_args!("RTT_MAP_UNPROTECTED({odd_ipa:#x}, {desc:#x})"),
        )?;
        let x1 = if fold_status == status::SUCCESS {
            h3
        } else {
            0
        };
        check(
            rmi::rtt_fold(rd, up, 3),
            [fold_status, x1, 0, 0, X4],
            format_args!("RTT_FOLD of NS mappings {what}"),
        )?;
    }
    check(
        rmi::rtt_unmap_unprotected(rd, up, 2),
        [status::SUCCESS, up + level_size(1), 0, 0, X4],
        format_args!("RTT_UNMAP_UNPROTECTED of the level-2 block"),
    )?;
    // A level-2 table of unassigned NS entries folds into the level-1 root entry.
    check(
        rmi::rtt_fold(rd, up, 2),
        [status::SUCCESS, h2, 0, 0, X4],
        format_args!("RTT_FOLD of a level-2 table of unassigned NS entries"),
    )?;
    realm.entry(up, 1, [1, entry_state::UNASSIGNED, 0, ripas::EMPTY])?;

    // The protected level-2 table mixes DESTROYED (the folded block) and EMPTY: no fold.
    check(
        rmi::rtt_fold(rd, 0, 2),
        [status::rtt(2), 0, 0, 0, X4],
        format_args!("RTT_FOLD of a mixed level-2 table"),
    )?;
    check(
        rmi::rtt_destroy(rd, 0, 2),
        [status::SUCCESS, l2, 1 << 39, 0, X4],
        format_args!("RTT_DESTROY of the level-2 table"),
    )?;
    realm.destroy()?;
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// 4. Every CPU at once.

/// Create/destroy rounds per CPU.
const STRESS_ROUNDS: u64 = 12;

fn stress() -> Outcome {
    let slot = regs::cpu_slot() as u64;
    let base = REALM_POOL + slot * STRESS_SLOT;
    let mut pool = Pool::new(base, base + STRESS_SLOT * 3 / 4, base + STRESS_SLOT);
    // A different shape on each CPU, each with its own VMID.
    let shapes = [
        shape(40, 1, 2, 0, 0),
        shape(39, 1, 1, 1, 0),
        shape(32, 2, 4, 0, 0),
        shape(48, 0, 1, 0, 0),
    ];
    let shape = Shape {
        vmid: VMID_STRESS + slot,
        ..shapes[slot as usize % shapes.len()]
    };
    let rd = pool.delegate()?;
    let roots = pool.delegate_aligned(shape.num_roots, shape.num_roots * PAGE)?;
    let tables = pool.delegate_many::<3>()?;
    let data = pool.delegate()?;
    let params = pool.ns_page()?;
    let src = pool.ns_page()?;
    fill_page(src, 0x57E5_5000 + slot);
    for round in 0..STRESS_ROUNDS {
        let ipa = (round % 8) * L2_BLOCK + round * PAGE;
        let rounds = || -> Outcome {
            let realm = Realm::create_with(rd, roots, params, shape)?;
            let built = realm.tables_to(ipa, 3, &tables)?;
            check(
                rmi::data_create(rd, data, ipa, src, MEASURE_CONTENT),
                [status::SUCCESS, 0, 0, 0, src],
                format_args!("DATA_CREATE({ipa:#x})"),
            )?;
            realm.entry(ipa, 3, [3, entry_state::ASSIGNED, data, ripas::RAM])?;
            check(
                rmi::data_destroy(rd, ipa),
                [status::SUCCESS, data, table_end(ipa, 3), 0, X4],
                format_args!("DATA_DESTROY({ipa:#x})"),
            )?;
            realm.destroy_tables(ipa, &built)?;
            realm.destroy()
        };
        rounds().map_err(|f| f.context(format_args!("round {round}")))?;
    }
    pool.undelegate_all()
}

// ---------------------------------------------------------------------------------------
// One realm, every CPU.

/// The shared realm's RD once CPU 0 has created it (0 until then).
static SHARED_RD: AtomicU64 = AtomicU64::new(0);
/// CPUs done with their part of the shared realm.
static SHARED_DONE: AtomicUsize = AtomicUsize::new(0);
/// How long a CPU waits for the others.
const SHARED_DEADLINE_S: u64 = 10;
/// Measured pages each CPU adds to the shared realm.
const SHARED_PAGES: u64 = 16;
const SHARED_SHAPE: Shape = shape(40, 1, 2, 0, VMID_SHARED);

/// Spins until `ready()` or the deadline; false on timeout.
fn wait_for(ready: impl Fn() -> bool) -> bool {
    let deadline = regs::deadline_after(SHARED_DEADLINE_S);
    while !ready() {
        if regs::counter() > deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// CPU 0 creates a realm and its level-2 table for [0, 1 GiB); then every CPU at once
/// builds, fills with measured pages, checks and empties its own level-3 table under that
/// shared level-2 table (the RD and the upper tables are contended); CPU 0 tears the realm
/// down once all are done, and every CPU undelegates what it used.
fn shared() -> Outcome {
    let slot = regs::cpu_slot() as u64;
    // The stress scenario's slot, which it has given back in full.
    let base = REALM_POOL + slot * STRESS_SLOT;
    let mut pool = Pool::new(base, base + STRESS_SLOT * 3 / 4, base + STRESS_SLOT);
    if slot != 0 {
        ensure!(
            wait_for(|| SHARED_RD.load(Ordering::SeqCst) != 0),
            "CPU 0 did not create the shared realm within {SHARED_DEADLINE_S} s"
        );
        let rd = SHARED_RD.load(Ordering::SeqCst);
        let mine = shared_part(&mut pool, rd, slot);
        SHARED_DONE.fetch_add(1, Ordering::SeqCst);
        mine?;
        return pool.undelegate_all();
    }
    let realm = Realm::create(&mut pool, SHARED_SHAPE)?;
    let tables = realm.new_tables_to(&mut pool, 0, 2)?;
    SHARED_RD.store(realm.rd, Ordering::SeqCst);
    let mine = shared_part(&mut pool, realm.rd, slot);
    SHARED_DONE.fetch_add(1, Ordering::SeqCst);
    let cpus = cpus::running();
    ensure!(
        wait_for(|| SHARED_DONE.load(Ordering::SeqCst) == cpus),
        "only {} of {cpus} CPUs finished with the shared realm within {SHARED_DEADLINE_S} s",
        SHARED_DONE.load(Ordering::SeqCst)
    );
    mine?;
    realm.destroy_tables(0, &tables)?;
    realm.destroy()?;
    pool.undelegate_all()
}

/// This CPU's level-3 table (at 2 MiB × (slot + 1)) and pages in the shared realm `rd`.
fn shared_part(pool: &mut Pool, rd: u64, slot: u64) -> Outcome {
    let realm = Realm {
        rd,
        rtt_base: 0,
        shape: SHARED_SHAPE,
    };
    let base = (slot + 1) * L2_BLOCK;
    let l3 = pool.delegate()?;
    check(
        rmi::rtt_create(rd, l3, base, 3),
        [status::SUCCESS, 0, 0, 0, 3],
        format_args!("RTT_CREATE({l3:#x}, {base:#x}, level 3)"),
    )?;
    let data = pool.delegate_run(SHARED_PAGES)?;
    let src = pool.ns_page()?;
    fill_page(src, 0x5A4E_D000 + slot);
    for i in 0..SHARED_PAGES {
        let (ipa, pa) = (base + i * PAGE, data + i * PAGE);
        check(
            rmi::data_create(rd, pa, ipa, src, MEASURE_CONTENT),
            [status::SUCCESS, 0, 0, 0, src],
            format_args!("DATA_CREATE({pa:#x}, {ipa:#x})"),
        )?;
    }
    for i in 0..SHARED_PAGES {
        let (ipa, pa) = (base + i * PAGE, data + i * PAGE);
        realm.entry(ipa, 3, [3, entry_state::ASSIGNED, pa, ripas::RAM])?;
    }
    for i in 0..SHARED_PAGES {
        let (ipa, pa) = (base + i * PAGE, data + i * PAGE);
        let top = if i + 1 < SHARED_PAGES {
            ipa + PAGE
        } else {
            base + L2_BLOCK
        };
        check(
            rmi::data_destroy(rd, ipa),
            [status::SUCCESS, pa, top, 0, X4],
            format_args!("DATA_DESTROY({ipa:#x})"),
        )?;
    }
    // The top depends on which other CPUs' tables are still there: the next one's address,
    // or the end of the level-2 table.
    let out = rmi::rtt_destroy(rd, base, 3);
    let [x0, x1, top, x3, x4] = out.0;
    ensure!(
        [x0, x1, x3, x4] == [status::SUCCESS, l3, 0, X4]
            && top > base
            && top <= GIB
            && top % L2_BLOCK == 0,
        "RTT_DESTROY({base:#x}, level 3): got {}, expected [0x0 {l3:#x} <a 2 MiB boundary in \
         ({base:#x}, 1 GiB]> 0x0 {X4:#x}]",
        super::pool::Hex(out.0)
    );
    Ok(())
}
