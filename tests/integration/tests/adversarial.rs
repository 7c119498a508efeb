// SPDX-License-Identifier: MIT OR Apache-2.0
//! The adversarial host suite: a hostile host against the real dispatcher on the `arch` fake.
//!
//! One scene holds every kind of object (a NEW realm with tables, DATA, an unprotected mapping
//! and a REC; an ACTIVE realm with a runnable and an idle REC; a realm with only tables; a
//! destroyed realm, REC, table, DATA page and mapping; spare granules in every state). Each
//! table below is one line per case: the call, and the exact x0..x4 the reference RMM (TF-RMM
//! rel0, `docs/reference/tf-rmm-rel0-facts.md`) returns. Before and after every case the
//! suite takes a [`Snapshot`] (every granule's state and refcount, every granule's PAS and
//! contents, GTSI calls, TLB invalidations, VMIDs in use, and the scene's RTT entries through
//! RTT_READ_ENTRY) and requires the two to be equal: a refused command changes nothing.
//!
//! Categories: aliasing (one granule in two roles, parameter pages inside delegated or RMM
//! memory), misaligned, out-of-range and non-DRAM addresses, wrong granule and realm states,
//! destroying objects still in use, re-delegation, double destruction, zero and maximal sizes
//! and levels, and IPAs on both sides of the protected / unprotected boundary, for every RMI
//! command that names granules or IPAs.

use rmm_abi::rmi::fid;
use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::rec_params::{RecMpidr, RecParams};
use rmm_integration_tests::host::{Host, Shape, TestRealm, X4, status};
use rmm_integration_tests::snapshot::{Probe, Snapshot};
use zerocopy::IntoBytes;

const INPUT: u64 = status::INPUT;
const REC: u64 = status::REC;
const fn realm(i: u64) -> u64 {
    status::realm(i)
}
const fn rtt(level: u64) -> u64 {
    status::rtt(level)
}

const KIB4: u64 = 0x1000;
const MIB2: u64 = 2 << 20;
const GIB: u64 = 1 << 30;
/// The default realm shape is 40 bits: the protected half is [0, 2^39).
const PAR_END: u64 = 1 << 39;
const IPA_SIZE: u64 = 1 << 40;
/// Outside QEMU's one DRAM bank [0x4000_0000, 0x1_0000_0000).
const BELOW_DRAM: u64 = 0x1000;
const GAP: u64 = 0x3000_0000;
const DRAM_END: u64 = 0x1_0000_0000;
const HUGE: u64 = !0xFFF;
/// Tracked DRAM that is the RMM's own carve-out: UNDELEGATED in the granule table, but Realm
/// PAS, so the RMM's copy from it faults.
const CARVEOUT: u64 = 0x4010_0000;
/// An RTT_MAP_UNPROTECTED descriptor: Normal WB, read/write, at an NS page.
const NS_DESC: u64 = 0x9000_0000 | (0b110 << 2) | (0b11 << 6);

/// The objects every case works on.
struct Scene {
    host: Host,
    /// NEW realm (VMID 1, 40 bits, two level-1 roots): tables for [0, 2 MiB) and
    /// [PAR_END, PAR_END + 2 MiB); DATA at 0x1000 (RAM, measured) and 0x2000 (EMPTY); RIPAS
    /// RAM at 0x3000; an unprotected mapping at PAR_END; REC 0.
    new: TestRealm,
    l2: u64,
    l3: u64,
    data: u64,
    rec: u64,
    aux: u64,
    /// ACTIVE realm (VMID 2) with a runnable REC 0 and a REC 1 that is not runnable.
    active: TestRealm,
    arec: u64,
    idle: u64,
    /// A realm with a level-2 table and no REC.
    bare: TestRealm,
    /// Granules of objects destroyed during set-up (now DELEGATED): an RD, a REC.
    dead_rd: u64,
    dead_rec: u64,
    /// A DELEGATED granule and 16 more (for REC_CREATE's aux), and a run of 2 for roots.
    free: u64,
    spare_aux: [u64; 16],
    free_roots: u64,
    /// An NS page with content, and an NS run page.
    ns: u64,
    run: u64,
}

fn scene() -> Scene {
    let host = Host::new();
    let new = host.must_create_realm(Shape::default());
    let t = host.must_tables_to(&new, 0, 3);
    let (l2, l3) = (t[0], t[1]);
    host.must_tables_to(&new, PAR_END, 3);
    let src = host.ns_page(&[0x5A; 64]);
    let data = host.must_delegated();
    assert_eq!(host.data_create(new.rd, data, 0x1000, src, 1)[0], 0);
    let unknown = host.must_delegated();
    assert_eq!(host.data_create_unknown(new.rd, unknown, 0x2000)[0], 0);
    assert_eq!(host.init_ripas(new.rd, 0x3000, 0x4000)[0], 0);
    assert_eq!(host.map_unprotected(new.rd, PAR_END, 3, NS_DESC)[0], 0);
    // Destroyed before the cases run: a RAM DATA page at 0x5000 (now UNASSIGNED DESTROYED), a
    // level-3 table at 4 MiB, a mapping at PAR_END + 0x2000.
    assert_eq!(host.init_ripas(new.rd, 0x5000, 0x6000)[0], 0);
    let gone = host.must_delegated();
    assert_eq!(host.data_create_unknown(new.rd, gone, 0x5000)[0], 0);
    assert_eq!(host.data_destroy(new.rd, 0x5000)[0], 0);
    let table = host.must_delegated();
    assert_eq!(host.rtt_create(new.rd, table, 2 * MIB2, 3)[0], 0);
    assert_eq!(host.rtt_destroy(new.rd, 2 * MIB2, 3)[0], 0);
    assert_eq!(
        host.map_unprotected(new.rd, PAR_END + 0x2000, 3, NS_DESC)[0],
        0
    );
    assert_eq!(host.unmap_unprotected(new.rd, PAR_END + 0x2000, 3)[0], 0);
    let rec = host.must_delegated();
    let params = host.must_rec_params(0, true);
    assert_eq!(host.rec_create(new.rd, rec, &params)[0], 0);

    let active = host.must_create_realm(Shape {
        vmid: 2,
        ..Shape::default()
    });
    host.must_tables_to(&active, 0, 3);
    let arec = host.must_delegated();
    assert_eq!(
        host.rec_create(active.rd, arec, &host.must_rec_params(0, true))[0],
        0
    );
    let idle = host.must_delegated();
    assert_eq!(
        host.rec_create(active.rd, idle, &host.must_rec_params(1, false))[0],
        0
    );
    assert_eq!(host.realm_activate(active.rd)[0], 0);

    let bare = host.must_create_realm(Shape {
        vmid: 3,
        ..Shape::default()
    });
    host.must_tables_to(&bare, 0, 2);

    let dead = host.must_create_realm(Shape {
        vmid: 4,
        ..Shape::default()
    });
    let dead_rec = host.must_delegated();
    assert_eq!(
        host.rec_create(dead.rd, dead_rec, &host.must_rec_params(0, true))[0],
        0
    );
    assert_eq!(host.rec_destroy(dead_rec)[0], 0);
    assert_eq!(host.realm_destroy(dead.rd)[0], 0);

    let free = host.must_delegated();
    let spare_aux = core::array::from_fn(|_| host.must_delegated());
    let free_roots = host.must_delegated_run(2);
    let ns = host.ns_page(&[0xA5; 4096]);
    let run = host.ns_page(&[0; 4096]);
    Scene {
        new,
        l2,
        l3,
        data,
        rec,
        aux: params.aux[0],
        active,
        arec,
        idle,
        bare,
        dead_rd: dead.rd,
        dead_rec,
        free,
        spare_aux,
        free_roots,
        ns,
        run,
        host,
    }
}

impl Scene {
    /// The RTT entries every snapshot reads back.
    fn probes(&self) -> Vec<Probe> {
        let rd = self.new.rd;
        let mut probes: Vec<Probe> = [
            (0, 1),
            (0, 2),
            (MIB2, 2),
            (2 * MIB2, 2),
            (GIB, 1),
            (PAR_END - GIB, 1),
            (PAR_END, 1),
            (PAR_END, 2),
            (IPA_SIZE - GIB, 1),
        ]
        .into_iter()
        .map(|(ipa, level)| (rd, ipa, level))
        .collect();
        probes.extend((0..8).map(|i| (rd, i * KIB4, 3)));
        probes.extend((0..4).map(|i| (rd, PAR_END + i * KIB4, 3)));
        probes.push((self.active.rd, 0, 3));
        probes.push((self.bare.rd, 0, 2));
        probes
    }

    /// An NS page holding RmiRealmParams for a fresh 40-bit realm (VMID 9) with the two free
    /// roots, edited by `edit`.
    fn realm_params(&self, edit: impl FnOnce(&mut RealmParams)) -> u64 {
        let mut p = Host::realm_params(
            &Shape {
                vmid: 9,
                ..Shape::default()
            },
            self.free_roots,
        );
        edit(&mut p);
        self.host.ns_page(p.as_bytes())
    }

    /// An NS page holding RmiRecParams for REC `index` with the spare aux granules, edited.
    fn rec_params(&self, index: u64, edit: impl FnOnce(&mut RecParams)) -> u64 {
        let mut p = RecParams::zeroed();
        p.flags = 1;
        p.mpidr = RecMpidr::from_index(index).expect("small index").bits();
        p.pc = 0x1000;
        p.num_aux = 16;
        p.aux = self.spare_aux;
        edit(&mut p);
        self.host.ns_page(p.as_bytes())
    }

    /// Granules of every state but `except`, each with its state's name.
    fn wrong(&self, except: &str) -> Vec<(&'static str, u64)> {
        [
            ("NS", self.ns),
            ("DELEGATED", self.free),
            ("RD", self.new.rd),
            ("REC", self.rec),
            ("REC_AUX", self.aux),
            ("RTT", self.l3),
            ("DATA", self.data),
        ]
        .into_iter()
        .filter(|(name, _)| *name != except)
        .collect()
    }
}

/// One refused call and the exact registers it must return.
struct Case {
    what: String,
    fid: u32,
    args: Vec<u64>,
    want: [u64; 5],
}

/// A case expecting `x0` with x1..x3 zero and x4 as passed (the fourth argument).
fn case(what: impl Into<String>, fid: u32, args: &[u64], x0: u64) -> Case {
    let x4 = args.get(3).copied().unwrap_or(0);
    Case {
        what: what.into(),
        fid,
        args: args.to_vec(),
        want: [x0, 0, 0, 0, x4],
    }
}

impl Case {
    /// The same case expecting `value` in output register `reg` (1..=3).
    fn out(mut self, reg: usize, value: u64) -> Self {
        self.want[reg] = value;
        self
    }
}

/// Unaligned, non-DRAM and out-of-range addresses, each with its name.
fn bad_addresses(valid: u64) -> [(&'static str, u64); 8] {
    [
        ("+8", valid + 8),
        ("+0x800", valid + 0x800),
        ("0", 0),
        ("below DRAM", BELOW_DRAM),
        ("gap", GAP),
        ("DRAM end", DRAM_END),
        ("huge", HUGE),
        ("u64::MAX", u64::MAX),
    ]
}

/// Runs every case against `scene`, each between two snapshots; fails with every case that
/// returned other registers or changed anything.
fn run(scene: &Scene, cases: Vec<Case>) {
    let probes = scene.probes();
    let mut failures = Vec::new();
    let count = cases.len();
    for case in cases {
        let before = Snapshot::take(&scene.host, &probes);
        let got = scene.host.call(case.fid, &case.args);
        let after = Snapshot::take(&scene.host, &probes);
        let mut wrong = Vec::new();
        if got != case.want {
            wrong.push(format!("got {got:x?}, want {:x?}", case.want));
        }
        let changed = before.differences(&after);
        if !changed.is_empty() {
            wrong.push(format!("changed {changed:#?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}", case.what, wrong.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn granule_delegate_and_undelegate() {
    let s = scene();
    let mut cases = Vec::new();
    for (what, pa) in bad_addresses(s.ns) {
        cases.push(case(
            format!("DELEGATE {what}"),
            fid::GRANULE_DELEGATE,
            &[pa, 0, 0, X4],
            INPUT,
        ));
        cases.push(case(
            format!("UNDELEGATE {what}"),
            fid::GRANULE_UNDELEGATE,
            &[pa, 0, 0, X4],
            INPUT,
        ));
    }
    // Re-delegation of a granule in any realm state.
    for (state, pa) in s.wrong("NS") {
        let what = format!("re-DELEGATE a {state} granule");
        cases.push(case(what, fid::GRANULE_DELEGATE, &[pa, 0, 0, X4], INPUT));
    }
    // Undelegating something in use, or that is the host's already.
    for (state, pa) in s.wrong("DELEGATED") {
        let what = format!("UNDELEGATE a {state} granule");
        cases.push(case(what, fid::GRANULE_UNDELEGATE, &[pa, 0, 0, X4], INPUT));
    }
    cases.push(case(
        "UNDELEGATE the RMM's carve-out",
        fid::GRANULE_UNDELEGATE,
        &[CARVEOUT, 0, 0, X4],
        INPUT,
    ));
    run(&s, cases);
}

#[test]
fn realm_create() {
    let s = scene();
    let ok = s.realm_params(|_| {});
    let c = |what: &str, rd: u64, params: u64| {
        case(what, fid::REALM_CREATE, &[rd, params, 0, X4], INPUT)
    };
    let mut cases = vec![
        // Aliasing: the RD is one of the roots; the roots are someone else's.
        c("RD = root 0", s.free_roots, ok),
        c("RD = root 1", s.free_roots + KIB4, ok),
        c(
            "roots = a live realm's roots",
            s.free,
            s.realm_params(|p| p.rtt_base = s.new.rtt_base),
        ),
        c(
            "roots = the RD",
            s.free,
            s.realm_params(|p| p.rtt_base = s.free),
        ),
        c(
            "roots = an RD",
            s.free,
            s.realm_params(|p| p.rtt_base = s.new.rd),
        ),
        c(
            "roots = NS memory",
            s.free,
            s.realm_params(|p| p.rtt_base = s.ns),
        ),
        c(
            "roots misaligned",
            s.free,
            s.realm_params(|p| p.rtt_base += 8),
        ),
        c(
            "roots outside DRAM",
            s.free,
            s.realm_params(|p| p.rtt_base = GAP),
        ),
        c(
            "roots run past DRAM",
            s.free,
            s.realm_params(|p| p.rtt_base = DRAM_END - KIB4),
        ),
        // The parameter page must be host memory.
        c("params in a DELEGATED granule", s.free, s.free),
        c("params in an RD", s.free, s.new.rd),
        c("params in a DATA granule", s.free, s.data),
        c("params in the RMM's carve-out", s.free, CARVEOUT),
        // A VMID in use.
        c(
            "VMID of a live realm",
            s.free,
            s.realm_params(|p| p.vmid = 1),
        ),
        // Zero and maximal sizes.
        c("s2sz 0", s.free, s.realm_params(|p| p.s2sz = 0)),
        c("s2sz 31", s.free, s.realm_params(|p| p.s2sz = 31)),
        c("s2sz 49", s.free, s.realm_params(|p| p.s2sz = 49)),
        c("s2sz 255", s.free, s.realm_params(|p| p.s2sz = 255)),
        c(
            "s2sz u32::MAX",
            s.free,
            s.realm_params(|p| p.s2sz = 0xFFFF_FFFF),
        ),
        c("0 breakpoints", s.free, s.realm_params(|p| p.num_bps = 0)),
        c("63 breakpoints", s.free, s.realm_params(|p| p.num_bps = 63)),
        c("0 watchpoints", s.free, s.realm_params(|p| p.num_wps = 0)),
        c("63 watchpoints", s.free, s.realm_params(|p| p.num_wps = 63)),
        c("0 roots", s.free, s.realm_params(|p| p.rtt_num_start = 0)),
        c("1 root", s.free, s.realm_params(|p| p.rtt_num_start = 1)),
        c("16 roots", s.free, s.realm_params(|p| p.rtt_num_start = 16)),
        c(
            "u32::MAX roots",
            s.free,
            s.realm_params(|p| p.rtt_num_start = 0xFFFF_FFFF),
        ),
        c(
            "start level -1",
            s.free,
            s.realm_params(|p| p.rtt_level_start = -1),
        ),
        c(
            "start level 4",
            s.free,
            s.realm_params(|p| p.rtt_level_start = 4),
        ),
        c(
            "start level i64::MIN",
            s.free,
            s.realm_params(|p| p.rtt_level_start = i64::MIN),
        ),
        c(
            "start level i64::MAX",
            s.free,
            s.realm_params(|p| p.rtt_level_start = i64::MAX),
        ),
        c("hash 2", s.free, s.realm_params(|p| p.hash_algo = 2)),
        c("hash 255", s.free, s.realm_params(|p| p.hash_algo = 255)),
        c("every flag", s.free, s.realm_params(|p| p.flags = u64::MAX)),
    ];
    for (state, rd) in s.wrong("DELEGATED") {
        cases.push(c(&format!("RD is {state}"), rd, ok));
    }
    for (what, addr) in bad_addresses(s.free) {
        cases.push(c(&format!("RD {what}"), addr, ok));
        cases.push(c(&format!("params {what}"), s.free, addr));
    }
    cases.push(c(
        "RD destroyed (DELEGATED, but roots taken)",
        s.dead_rd,
        s.realm_params(|p| p.rtt_base = s.l2),
    ));
    run(&s, cases);
}

#[test]
fn realm_activate_destroy_and_aux_count() {
    let s = scene();
    let activate = |what: &str, rd: u64, x0| case(what, fid::REALM_ACTIVATE, &[rd, 0, 0, X4], x0);
    let destroy = |what: &str, rd: u64, x0| case(what, fid::REALM_DESTROY, &[rd, 0, 0, X4], x0);
    let aux = |what: &str, rd: u64| case(what, fid::REC_AUX_COUNT, &[rd, 0, 0, X4], INPUT);
    let mut cases = vec![
        activate("ACTIVATE an active realm", s.active.rd, realm(0)),
        // Destroy while in use: RECs, tables, DATA.
        destroy(
            "DESTROY a realm with a REC, tables and DATA",
            s.new.rd,
            realm(0),
        ),
        destroy("DESTROY an active realm with RECs", s.active.rd, realm(0)),
        destroy("DESTROY a realm with a table", s.bare.rd, realm(0)),
        // Double destroy.
        destroy("DESTROY a destroyed realm", s.dead_rd, INPUT),
        activate("ACTIVATE a destroyed realm", s.dead_rd, INPUT),
        aux("REC_AUX_COUNT of a destroyed realm", s.dead_rd),
    ];
    for (state, rd) in s.wrong("RD") {
        cases.push(activate(&format!("ACTIVATE a {state} granule"), rd, INPUT));
        cases.push(destroy(&format!("DESTROY a {state} granule"), rd, INPUT));
        cases.push(aux(&format!("REC_AUX_COUNT of a {state} granule"), rd));
    }
    for (what, addr) in bad_addresses(s.new.rd) {
        cases.push(activate(&format!("ACTIVATE {what}"), addr, INPUT));
        cases.push(destroy(&format!("DESTROY {what}"), addr, INPUT));
        cases.push(aux(&format!("REC_AUX_COUNT {what}"), addr));
    }
    run(&s, cases);
}

#[test]
fn rec_create_and_destroy() {
    let s = scene();
    let rd = s.new.rd;
    let next = s.rec_params(1, |_| {});
    let c = |what: &str, rd: u64, rec: u64, params: u64, x0| {
        case(what, fid::REC_CREATE, &[rd, rec, params, X4], x0)
    };
    let destroy = |what: &str, rec: u64, x0| case(what, fid::REC_DESTROY, &[rec, 0, 0, X4], x0);
    let mut cases = vec![
        // Aliasing.
        c("REC = RD", rd, rd, next, INPUT),
        c("REC = its own aux 0", rd, s.spare_aux[0], next, INPUT),
        c("REC = its own aux 15", rd, s.spare_aux[15], next, INPUT),
        c(
            "aux 0 = the RD",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[0] = rd),
            INPUT,
        ),
        c(
            "aux 7 = the REC",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[7] = s.free),
            INPUT,
        ),
        c(
            "aux 3 = aux 2",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[3] = p.aux[2]),
            INPUT,
        ),
        c(
            "aux 15 = aux 0",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[15] = p.aux[0]),
            INPUT,
        ),
        c(
            "aux = a live REC's aux",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[9] = s.aux),
            INPUT,
        ),
        c(
            "aux = an NS page",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[4] = s.ns),
            INPUT,
        ),
        c(
            "aux = an RTT",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[4] = s.l3),
            INPUT,
        ),
        c(
            "aux misaligned",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[1] += 8),
            INPUT,
        ),
        c(
            "aux outside DRAM",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[1] = GAP),
            INPUT,
        ),
        c(
            "aux past DRAM",
            rd,
            s.free,
            s.rec_params(1, |p| p.aux[1] = HUGE),
            INPUT,
        ),
        c(
            "params in a DELEGATED granule",
            rd,
            s.free,
            s.spare_aux[0],
            INPUT,
        ),
        c("params in the REC granule", rd, s.free, s.free, INPUT),
        c("params in the RMM's carve-out", rd, s.free, CARVEOUT, INPUT),
        c("params in an RD", rd, s.free, rd, INPUT),
        // Sizes.
        c(
            "0 aux granules",
            rd,
            s.free,
            s.rec_params(1, |p| p.num_aux = 0),
            INPUT,
        ),
        c(
            "15 aux granules",
            rd,
            s.free,
            s.rec_params(1, |p| p.num_aux = 15),
            INPUT,
        ),
        c(
            "17 aux granules",
            rd,
            s.free,
            s.rec_params(1, |p| p.num_aux = 17),
            INPUT,
        ),
        c(
            "u64::MAX aux granules",
            0,
            0,
            s.rec_params(1, |p| p.num_aux = u64::MAX),
            INPUT,
        ),
        // MPIDR: out of order, repeated, malformed.
        c(
            "MPIDR index 0 again",
            rd,
            s.free,
            s.rec_params(0, |_| {}),
            INPUT,
        ),
        c(
            "MPIDR index 2 (gap)",
            rd,
            s.free,
            s.rec_params(2, |_| {}),
            INPUT,
        ),
        c(
            "MPIDR bits 7:4",
            rd,
            s.free,
            s.rec_params(1, |p| p.mpidr |= 0x10),
            INPUT,
        ),
        c(
            "MPIDR bit 32",
            rd,
            s.free,
            s.rec_params(1, |p| p.mpidr |= 1 << 32),
            INPUT,
        ),
        c(
            "MPIDR all ones",
            rd,
            s.free,
            s.rec_params(1, |p| p.mpidr = u64::MAX),
            INPUT,
        ),
        // Realm states: after activation, and destroyed.
        c(
            "active realm",
            s.active.rd,
            s.free,
            s.rec_params(2, |_| {}),
            realm(0),
        ),
        c("destroyed realm", s.dead_rd, s.free, next, INPUT),
        // Destroy while in use / double destroy.
        destroy("REC_DESTROY a destroyed REC", s.dead_rec, INPUT),
    ];
    for (state, pa) in s.wrong("DELEGATED") {
        cases.push(c(&format!("REC is {state}"), rd, pa, next, INPUT));
    }
    for (state, pa) in s.wrong("RD") {
        cases.push(c(&format!("RD is {state}"), pa, s.free, next, INPUT));
    }
    for (state, pa) in s.wrong("REC") {
        cases.push(destroy(
            &format!("REC_DESTROY a {state} granule"),
            pa,
            INPUT,
        ));
    }
    for (what, addr) in bad_addresses(s.free) {
        cases.push(c(&format!("REC {what}"), rd, addr, next, INPUT));
        cases.push(c(&format!("RD {what}"), addr, s.free, next, INPUT));
        cases.push(c(&format!("params {what}"), rd, s.free, addr, INPUT));
        cases.push(destroy(&format!("REC_DESTROY {what}"), addr, INPUT));
    }
    run(&s, cases);
}

#[test]
fn rtt_create_destroy_and_fold() {
    let s = scene();
    let rd = s.new.rd;
    let create = |what: &str, rd: u64, rtt: u64, ipa: u64, level: u64, x0| {
        case(what, fid::RTT_CREATE, &[rd, rtt, ipa, level], x0)
    };
    let destroy = |what: &str, rd: u64, ipa: u64, level: u64, x0| {
        case(what, fid::RTT_DESTROY, &[rd, ipa, level, X4], x0)
    };
    let fold = |what: &str, rd: u64, ipa: u64, level: u64, x0| {
        case(what, fid::RTT_FOLD, &[rd, ipa, level, X4], x0)
    };
    let mut cases = vec![
        // Aliasing and wrong states of the new table.
        create("RTT = RD", rd, rd, MIB2, 3, INPUT),
        create("RTT = a root", rd, s.new.rtt_base, MIB2, 3, INPUT),
        create("RTT = another realm's RD", rd, s.active.rd, MIB2, 3, INPUT),
        // Levels: the start level, below it, past 3, and huge values.
        create("level 1 (the start level)", rd, s.free, 0, 1, INPUT),
        create("level 0", rd, s.free, 0, 0, INPUT),
        create("level -1", rd, s.free, 0, u64::MAX, INPUT),
        create("level 4", rd, s.free, 0, 4, INPUT),
        create("level i64::MAX", rd, s.free, 0, i64::MAX as u64, INPUT),
        create("level i64::MIN", rd, s.free, 0, i64::MIN as u64, INPUT),
        // Addresses: not aligned to the parent entry, out of range, boundary.
        create(
            "IPA 4 KiB into a 2 MiB block",
            rd,
            s.free,
            MIB2 + KIB4,
            3,
            INPUT,
        ),
        create("IPA 2 MiB into a 1 GiB block", rd, s.free, MIB2, 2, INPUT),
        create("IPA = IPA size", rd, s.free, IPA_SIZE, 2, INPUT),
        create("IPA huge", rd, s.free, HUGE & !(GIB - 1), 2, INPUT),
        // The walk: a table already there, or no parent.
        create("level-3 table exists", rd, s.free, 0, 3, rtt(2)),
        create("level-2 table exists", rd, s.free, 0, 2, rtt(1)),
        create("no level-2 parent", rd, s.free, GIB, 3, rtt(1)),
        create(
            "unprotected level-3 table exists",
            rd,
            s.free,
            PAR_END,
            3,
            rtt(2),
        ),
        create(
            "last protected GiB, no parent",
            rd,
            s.free,
            PAR_END - MIB2,
            3,
            rtt(1),
        ),
        // RTT_DESTROY: in use, double destroy, nothing there, bad arguments.
        destroy("DESTROY a level-3 table with DATA", rd, 0, 3, rtt(3)).out(2, 0),
        destroy("DESTROY a level-2 table with a table", rd, 0, 2, rtt(2)).out(2, 0),
        destroy(
            "DESTROY the table destroyed in set-up",
            rd,
            2 * MIB2,
            3,
            rtt(2),
        )
        .out(2, GIB),
        destroy("DESTROY where no table is", rd, MIB2, 3, rtt(2)).out(2, GIB),
        destroy("DESTROY under no level-2 table", rd, GIB, 3, rtt(1)).out(2, PAR_END),
        destroy("DESTROY a root (level 1)", rd, 0, 1, INPUT),
        destroy("DESTROY level 4", rd, 0, 4, INPUT),
        destroy("DESTROY level -1", rd, 0, u64::MAX, INPUT),
        destroy("DESTROY misaligned", rd, KIB4, 3, INPUT),
        destroy("DESTROY at IPA size", rd, IPA_SIZE, 2, INPUT),
        destroy("DESTROY in a destroyed realm", s.dead_rd, 0, 2, INPUT),
        // RTT_FOLD: mixed tables, tables of tables, nothing there, bad arguments.
        fold("FOLD a level-3 table with two DATA pages", rd, 0, 3, rtt(3)),
        fold("FOLD a level-2 table holding a table", rd, 0, 2, rtt(2)),
        fold("FOLD where no table is", rd, MIB2, 3, rtt(2)),
        fold(
            "FOLD the table destroyed in set-up",
            rd,
            2 * MIB2,
            3,
            rtt(2),
        ),
        fold("FOLD under no level-2 table", rd, GIB, 3, rtt(1)),
        fold(
            "FOLD an unprotected table with a mapping",
            rd,
            PAR_END,
            3,
            rtt(3),
        ),
        fold("FOLD a root", rd, 0, 1, INPUT),
        fold("FOLD level 4", rd, 0, 4, INPUT),
        fold("FOLD misaligned", rd, KIB4, 3, INPUT),
        fold("FOLD at IPA size", rd, IPA_SIZE, 3, INPUT),
    ];
    for (state, pa) in s.wrong("DELEGATED") {
        cases.push(create(&format!("RTT is {state}"), rd, pa, MIB2, 3, INPUT));
    }
    for (state, pa) in s.wrong("RD") {
        cases.push(create(
            &format!("RD is {state}"),
            pa,
            s.free,
            MIB2,
            3,
            INPUT,
        ));
        cases.push(destroy(
            &format!("DESTROY with RD = {state}"),
            pa,
            0,
            3,
            INPUT,
        ));
        cases.push(fold(&format!("FOLD with RD = {state}"), pa, 0, 3, INPUT));
    }
    for (what, addr) in bad_addresses(s.free) {
        cases.push(create(&format!("RTT {what}"), rd, addr, MIB2, 3, INPUT));
        cases.push(create(&format!("RD {what}"), addr, s.free, MIB2, 3, INPUT));
        cases.push(destroy(
            &format!("DESTROY with RD {what}"),
            addr,
            0,
            3,
            INPUT,
        ));
        cases.push(fold(&format!("FOLD with RD {what}"), addr, 0, 3, INPUT));
    }
    run(&s, cases);
}

#[test]
fn rtt_read_entry_and_init_ripas() {
    let s = scene();
    let rd = s.new.rd;
    let read = |what: &str, rd: u64, ipa: u64, level: u64| {
        case(what, fid::RTT_READ_ENTRY, &[rd, ipa, level, X4], INPUT)
    };
    let ripas = |what: &str, rd: u64, base: u64, top: u64, x0| {
        case(what, fid::RTT_INIT_RIPAS, &[rd, base, top, X4], x0)
    };
    let mut cases = vec![
        read("READ_ENTRY level 0 (above the start level)", rd, 0, 0),
        read("READ_ENTRY level 4", rd, 0, 4),
        read("READ_ENTRY level -1", rd, 0, u64::MAX),
        read("READ_ENTRY misaligned for level 3", rd, 8, 3),
        read("READ_ENTRY misaligned for level 2", rd, KIB4, 2),
        read("READ_ENTRY at IPA size", rd, IPA_SIZE, 1),
        read("READ_ENTRY huge IPA", rd, HUGE, 3),
        read("READ_ENTRY of a destroyed realm", s.dead_rd, 0, 1),
        // Zero and negative sizes are refused before the RD is looked at.
        ripas("INIT_RIPAS empty range", rd, 0x3000, 0x3000, INPUT),
        ripas("INIT_RIPAS top < base", rd, 0x4000, 0x3000, INPUT),
        ripas("INIT_RIPAS empty range, no RD", 0, 0x3000, 0x3000, INPUT),
        ripas("INIT_RIPAS whole IPA space", rd, 0, HUGE, INPUT),
        // The specification has no input condition on base's alignment (its `base_align` is
        // ERROR_RTT at the walk's level); TF-RMM rel0, and this RMM with it, refuse it as
        // input: docs/conformance.md.
        ripas("INIT_RIPAS base misaligned", rd, 0x3008, 0x4000, INPUT),
        ripas("INIT_RIPAS top misaligned", rd, 0x3000, 0x4008, INPUT),
        // The protected / unprotected boundary.
        ripas(
            "INIT_RIPAS across the boundary",
            rd,
            PAR_END - KIB4,
            PAR_END + KIB4,
            INPUT,
        ),
        ripas(
            "INIT_RIPAS in the unprotected half",
            rd,
            PAR_END,
            PAR_END + KIB4,
            INPUT,
        ),
        ripas(
            "INIT_RIPAS up to the boundary, no table",
            rd,
            PAR_END - KIB4,
            PAR_END,
            rtt(1),
        ),
        ripas(
            "INIT_RIPAS at IPA size",
            rd,
            IPA_SIZE,
            IPA_SIZE + KIB4,
            INPUT,
        ),
        // States: an active realm; entries that stop the walk at once.
        ripas(
            "INIT_RIPAS in an active realm",
            s.active.rd,
            0,
            KIB4,
            realm(0),
        ),
        ripas("INIT_RIPAS over DATA", rd, 0x1000, 0x2000, rtt(3)),
        ripas(
            "INIT_RIPAS over a destroyed page",
            rd,
            0x5000,
            0x6000,
            rtt(3),
        ),
        ripas(
            "INIT_RIPAS not aligned to the walk's level",
            rd,
            MIB2 + KIB4,
            2 * MIB2,
            rtt(2),
        ),
        ripas("INIT_RIPAS in a destroyed realm", s.dead_rd, 0, KIB4, INPUT),
    ];
    for (state, pa) in s.wrong("RD") {
        cases.push(read(&format!("READ_ENTRY with RD = {state}"), pa, 0, 1));
        cases.push(ripas(
            &format!("INIT_RIPAS with RD = {state}"),
            pa,
            0,
            KIB4,
            INPUT,
        ));
    }
    for (what, addr) in bad_addresses(rd) {
        cases.push(read(&format!("READ_ENTRY with RD {what}"), addr, 0, 1));
        cases.push(ripas(
            &format!("INIT_RIPAS with RD {what}"),
            addr,
            0,
            KIB4,
            INPUT,
        ));
    }
    run(&s, cases);
}

#[test]
fn rtt_map_and_unmap_unprotected() {
    let s = scene();
    let rd = s.new.rd;
    let map = |what: &str, rd: u64, ipa: u64, level: u64, desc: u64, x0| {
        case(what, fid::RTT_MAP_UNPROTECTED, &[rd, ipa, level, desc], x0)
    };
    let unmap = |what: &str, rd: u64, ipa: u64, level: u64, x0| {
        case(what, fid::RTT_UNMAP_UNPROTECTED, &[rd, ipa, level, X4], x0)
    };
    let free_ipa = PAR_END + 0x4000;
    let mut cases = vec![
        // Levels first (before the RD).
        map("MAP level 0", 0, free_ipa, 0, NS_DESC, INPUT),
        map("MAP level 4", rd, free_ipa, 4, NS_DESC, INPUT),
        map("MAP level -1", rd, free_ipa, u64::MAX, NS_DESC, INPUT),
        // The descriptor, before the address.
        map("MAP desc type bits", rd, 0, 3, NS_DESC | 3, INPUT),
        map("MAP desc AF", rd, 0, 3, NS_DESC | 1 << 10, INPUT),
        map("MAP desc SH", rd, free_ipa, 3, NS_DESC | 3 << 8, INPUT),
        map(
            "MAP desc MemAttr 0b100",
            rd,
            free_ipa,
            3,
            0x9000_0000 | 0b100 << 2,
            INPUT,
        ),
        map(
            "MAP desc OA not 2 MiB aligned",
            rd,
            PAR_END + MIB2,
            2,
            NS_DESC + KIB4,
            INPUT,
        ),
        map(
            "MAP desc OA above 48 bits",
            rd,
            free_ipa,
            3,
            NS_DESC | 1 << 48,
            INPUT,
        ),
        map(
            "MAP desc top bits",
            rd,
            free_ipa,
            3,
            NS_DESC | 1 << 63,
            INPUT,
        ),
        map("MAP desc all ones", rd, free_ipa, 3, u64::MAX, INPUT),
        // The boundary: the last protected page, the protected half, past the IPA space.
        map(
            "MAP the last protected page",
            rd,
            PAR_END - KIB4,
            3,
            NS_DESC,
            INPUT,
        ),
        map("MAP IPA 0", rd, 0, 3, NS_DESC, INPUT),
        map("MAP at IPA size", rd, IPA_SIZE, 3, NS_DESC, INPUT),
        map("MAP huge IPA", rd, HUGE, 3, NS_DESC, INPUT),
        map("MAP misaligned IPA", rd, free_ipa + 8, 3, NS_DESC, INPUT),
        map(
            "MAP IPA not block aligned",
            rd,
            PAR_END + KIB4,
            2,
            NS_DESC & !0x1F_F000,
            INPUT,
        ),
        // The walk and the entry.
        map("MAP over a mapping", rd, PAR_END, 3, NS_DESC, rtt(3)),
        map(
            "MAP a 2 MiB block over a table",
            rd,
            PAR_END,
            2,
            NS_DESC & !0x1F_F000,
            rtt(2),
        ),
        map(
            "MAP without a level-3 table",
            rd,
            PAR_END + GIB,
            3,
            NS_DESC,
            rtt(1),
        ),
        map(
            "MAP the last unprotected page, no table",
            rd,
            IPA_SIZE - KIB4,
            3,
            NS_DESC,
            rtt(1),
        ),
        map(
            "MAP in a destroyed realm",
            s.dead_rd,
            free_ipa,
            3,
            NS_DESC,
            INPUT,
        ),
        // UNMAP: before the walk x1 = 0; after it x1 = the top of the non-live range.
        unmap("UNMAP level 0", rd, PAR_END, 0, INPUT),
        unmap("UNMAP level 4", rd, PAR_END, 4, INPUT),
        unmap(
            "UNMAP the last protected page",
            rd,
            PAR_END - KIB4,
            3,
            INPUT,
        ),
        unmap("UNMAP protected IPA 0", rd, 0, 3, INPUT),
        unmap("UNMAP at IPA size", rd, IPA_SIZE, 3, INPUT),
        unmap("UNMAP misaligned", rd, PAR_END + 8, 3, INPUT),
        unmap("UNMAP a page never mapped", rd, PAR_END + KIB4, 3, rtt(3)).out(1, PAR_END + MIB2),
        unmap("UNMAP twice", rd, PAR_END + 0x2000, 3, rtt(3)).out(1, PAR_END + MIB2),
        unmap(
            "UNMAP without a level-3 table",
            rd,
            PAR_END + GIB,
            3,
            rtt(1),
        )
        .out(1, IPA_SIZE),
        unmap("UNMAP a table as a block", rd, PAR_END, 2, rtt(2)).out(1, PAR_END),
        unmap("UNMAP in a destroyed realm", s.dead_rd, PAR_END, 3, INPUT),
    ];
    for (state, pa) in s.wrong("RD") {
        cases.push(map(
            &format!("MAP with RD = {state}"),
            pa,
            free_ipa,
            3,
            NS_DESC,
            INPUT,
        ));
        cases.push(unmap(
            &format!("UNMAP with RD = {state}"),
            pa,
            PAR_END,
            3,
            INPUT,
        ));
    }
    for (what, addr) in bad_addresses(rd) {
        cases.push(map(
            &format!("MAP with RD {what}"),
            addr,
            free_ipa,
            3,
            NS_DESC,
            INPUT,
        ));
        cases.push(unmap(
            &format!("UNMAP with RD {what}"),
            addr,
            PAR_END,
            3,
            INPUT,
        ));
    }
    run(&s, cases);
}

#[test]
fn data_create_create_unknown_and_destroy() {
    let s = scene();
    let rd = s.new.rd;
    let src = s.ns;
    let create = |what: &str, rd: u64, data: u64, ipa: u64, src: u64, flags: u64, x0| {
        case(what, fid::DATA_CREATE, &[rd, data, ipa, src, flags], x0)
    };
    let unknown = |what: &str, rd: u64, data: u64, ipa: u64, x0| {
        case(what, fid::DATA_CREATE_UNKNOWN, &[rd, data, ipa, X4], x0)
    };
    let destroy =
        |what: &str, rd: u64, ipa: u64, x0| case(what, fid::DATA_DESTROY, &[rd, ipa, 0, X4], x0);
    let free = s.free;
    let mut cases = vec![
        // Flags first, then the source page.
        create("flags 2", rd, free, 0x3000, src, 2, INPUT),
        create("flags u64::MAX", 0, 0, 0, 0, u64::MAX, INPUT),
        create(
            "source DELEGATED",
            rd,
            free,
            0x3000,
            s.spare_aux[0],
            0,
            INPUT,
        ),
        create(
            "source = the target granule",
            rd,
            free,
            0x3000,
            free,
            0,
            INPUT,
        ),
        create("source a DATA granule", rd, free, 0x3000, s.data, 1, INPUT),
        create("source an RD", rd, free, 0x3000, rd, 1, INPUT),
        // After every table check: the copy itself faults.
        create(
            "source in the RMM's carve-out",
            rd,
            free,
            0x3000,
            CARVEOUT,
            1,
            INPUT,
        ),
        // Aliasing of the target.
        create("target = RD", rd, rd, 0x3000, src, 0, INPUT),
        create("target = the source", rd, src, 0x3000, src, 0, INPUT),
        unknown("UNKNOWN target = RD", rd, rd, 0x3000, INPUT),
        // Realm state comes before the IPA checks.
        create("active realm", s.active.rd, free, 0x3000, src, 0, realm(0)),
        create(
            "active realm, unprotected IPA",
            s.active.rd,
            free,
            PAR_END,
            src,
            0,
            realm(0),
        ),
        create("destroyed realm", s.dead_rd, free, 0x3000, src, 0, INPUT),
        unknown("UNKNOWN destroyed realm", s.dead_rd, free, 0x3000, INPUT),
        // The boundary and out-of-range IPAs.
        create("first unprotected page", rd, free, PAR_END, src, 0, INPUT),
        create("IPA size", rd, free, IPA_SIZE, src, 0, INPUT),
        create("huge IPA", rd, free, HUGE, src, 0, INPUT),
        create("misaligned IPA", rd, free, 0x3008, src, 0, INPUT),
        create(
            "last protected page, no table",
            rd,
            free,
            PAR_END - KIB4,
            src,
            0,
            rtt(1),
        ),
        unknown("UNKNOWN first unprotected page", rd, free, PAR_END, INPUT),
        unknown("UNKNOWN IPA size", rd, free, IPA_SIZE, INPUT),
        unknown("UNKNOWN misaligned IPA", rd, free, 0x3800, INPUT),
        unknown(
            "UNKNOWN last protected page, no table",
            rd,
            free,
            PAR_END - KIB4,
            rtt(1),
        ),
        // The walk and the entry.
        create("no level-3 table", rd, free, MIB2, src, 0, rtt(2)),
        create("no level-2 table", rd, free, GIB, src, 0, rtt(1)),
        create("page already assigned", rd, free, 0x1000, src, 0, rtt(3)),
        create("page assigned EMPTY", rd, free, 0x2000, src, 1, rtt(3)),
        unknown("UNKNOWN no level-3 table", rd, free, MIB2, rtt(2)),
        unknown("UNKNOWN page already assigned", rd, free, 0x1000, rtt(3)),
        // DATA_DESTROY: before the walk x2 = 0, after it the top of the non-live range.
        destroy("DESTROY first unprotected page", rd, PAR_END, INPUT),
        destroy("DESTROY IPA size", rd, IPA_SIZE, INPUT),
        destroy("DESTROY misaligned", rd, 0x1008, INPUT),
        destroy("DESTROY destroyed realm", s.dead_rd, 0x1000, INPUT),
        destroy("DESTROY an unassigned page", rd, 0, rtt(3)).out(2, 0x1000),
        destroy("DESTROY an unassigned RAM page", rd, 0x3000, rtt(3)).out(2, MIB2),
        destroy("DESTROY twice", rd, 0x5000, rtt(3)).out(2, MIB2),
        destroy("DESTROY with no level-3 table", rd, MIB2, rtt(2)).out(2, GIB),
        destroy("DESTROY with no level-2 table", rd, GIB, rtt(1)).out(2, PAR_END),
    ];
    for (state, pa) in s.wrong("DELEGATED") {
        cases.push(create(
            &format!("target {state}"),
            rd,
            pa,
            0x3000,
            src,
            0,
            INPUT,
        ));
        cases.push(unknown(
            &format!("UNKNOWN target {state}"),
            rd,
            pa,
            0x3000,
            INPUT,
        ));
    }
    for (state, pa) in s.wrong("RD") {
        cases.push(create(
            &format!("RD = {state}"),
            pa,
            free,
            0x3000,
            src,
            0,
            INPUT,
        ));
        cases.push(unknown(
            &format!("UNKNOWN RD = {state}"),
            pa,
            free,
            0x3000,
            INPUT,
        ));
        cases.push(destroy(
            &format!("DESTROY with RD = {state}"),
            pa,
            0x1000,
            INPUT,
        ));
    }
    for (what, addr) in bad_addresses(free) {
        cases.push(create(
            &format!("target {what}"),
            rd,
            addr,
            0x3000,
            src,
            0,
            INPUT,
        ));
        cases.push(create(
            &format!("source {what}"),
            rd,
            free,
            0x3000,
            addr,
            0,
            INPUT,
        ));
        cases.push(create(
            &format!("RD {what}"),
            addr,
            free,
            0x3000,
            src,
            0,
            INPUT,
        ));
        cases.push(unknown(
            &format!("UNKNOWN target {what}"),
            rd,
            addr,
            0x3000,
            INPUT,
        ));
        cases.push(unknown(
            &format!("UNKNOWN RD {what}"),
            addr,
            free,
            0x3000,
            INPUT,
        ));
        cases.push(destroy(
            &format!("DESTROY with RD {what}"),
            addr,
            0x1000,
            INPUT,
        ));
    }
    run(&s, cases);
}

#[test]
fn rec_enter() {
    let s = scene();
    let run_page = s.run;
    let c = |what: &str, rec: u64, run: u64, x0| case(what, fid::REC_ENTER, &[rec, run, 0, X4], x0);
    let mut cases = vec![
        // The run page is checked first; it must be tracked host memory.
        c("run page DELEGATED", s.arec, s.free, INPUT),
        c("run page = the REC", s.arec, s.arec, INPUT),
        c("run page an RD", s.arec, s.active.rd, INPUT),
        c("run page DATA", s.arec, s.data, INPUT),
        c("run page bad, REC bad", s.active.rd, s.free, INPUT),
        // Tracked and UNDELEGATED, but the RMM's own memory: reading it faults.
        c("run page in the RMM's carve-out", s.arec, CARVEOUT, INPUT),
        // The REC.
        c("REC = the run page", run_page, run_page, INPUT),
        c("REC destroyed", s.dead_rec, run_page, INPUT),
        c("REC of a NEW realm", s.rec, run_page, realm(0)),
        c("REC not runnable", s.idle, run_page, REC),
    ];
    for (state, pa) in s.wrong("REC") {
        cases.push(c(&format!("REC is {state}"), pa, run_page, INPUT));
    }
    for (what, addr) in bad_addresses(run_page) {
        cases.push(c(&format!("run page {what}"), s.arec, addr, INPUT));
        cases.push(c(&format!("REC {what}"), addr, run_page, INPUT));
    }
    // Completions the REC's last exit (none yet) does not allow.
    for (flags, what) in [(1, "EMUL_MMIO"), (2, "INJECT_SEA"), (3, "both")] {
        let mut page = [0u8; 4096];
        page[..8].copy_from_slice(&(flags as u64).to_le_bytes());
        let run = s.host.ns_page(&page);
        cases.push(c(
            &format!("{what} with nothing to complete"),
            s.arec,
            run,
            REC,
        ));
    }
    run(&s, cases);
}

/// Destroying a REC while it runs: REC_ENTER holds a reference, so REC_DESTROY (and a second
/// REC_ENTER) of it get ERROR_REC and change nothing, and the REC_ENTER in progress finishes.
#[test]
fn rec_destroyed_while_it_runs() {
    use rmm::arch::world::{RealmTrap, TrapKind};
    use std::sync::mpsc;
    let s = scene();
    let (running_tx, running_rx) = mpsc::channel::<()>();
    let (resume_tx, resume_rx) = mpsc::channel::<()>();
    let resume_rx = std::sync::Mutex::new(resume_rx);
    s.host.rig.machine.set_realm(Box::new(move |_, _, _| {
        running_tx.send(()).expect("the test waits");
        resume_rx
            .lock()
            .expect("not poisoned")
            .recv()
            .expect("the test resumes the realm");
        RealmTrap {
            kind: TrapKind::Irq,
            esr: 0,
            far: 0,
            hpfar: 0,
        }
    }));
    let probes = s.probes();
    let (rig, arec, run) = (&s.host.rig, s.arec, s.run);
    std::thread::scope(|scope| {
        let entered = scope.spawn(move || rig.call(u64::from(fid::REC_ENTER), &[arec, run, 0, X4]));
        running_rx.recv().expect("the realm runs");
        let cases = [
            (
                "REC_DESTROY of a running REC",
                fid::REC_DESTROY,
                [s.arec, 0, 0, X4],
                REC,
            ),
            (
                "REC_ENTER of a running REC",
                fid::REC_ENTER,
                [s.arec, s.run, 0, X4],
                REC,
            ),
            (
                "REALM_DESTROY of its realm",
                fid::REALM_DESTROY,
                [s.active.rd, 0, 0, X4],
                realm(0),
            ),
            (
                "UNDELEGATE of the REC",
                fid::GRANULE_UNDELEGATE,
                [s.arec, 0, 0, X4],
                INPUT,
            ),
        ];
        for (what, fid, args, x0) in cases {
            let before = Snapshot::take(&s.host, &probes);
            assert_eq!(s.host.call(fid, &args), [x0, 0, 0, 0, X4], "{what}");
            let changed = before.differences(&Snapshot::take(&s.host, &probes));
            assert!(changed.is_empty(), "{what} changed {changed:#?}");
        }
        resume_tx.send(()).expect("the realm waits");
        assert_eq!(entered.join().expect("no panic"), [0, 0, 0, 0, X4]);
    });
    // Once it has left the realm, the REC can go.
    assert_eq!(s.host.rec_destroy(s.arec), [0, 0, 0, 0, X4]);
}

/// The checker itself: each kind of change a command can make shows up as a difference.
#[test]
fn snapshots_see_every_kind_of_change() {
    let s = scene();
    let probes = s.probes();
    let changed = |what: &str, call: &dyn Fn(), expect: &[&str]| {
        let before = Snapshot::take(&s.host, &probes);
        call();
        let diff = before
            .differences(&Snapshot::take(&s.host, &probes))
            .join("\n");
        for needle in expect {
            assert!(diff.contains(needle), "{what}: no {needle:?} in:\n{diff}");
        }
    };
    let page = s.host.alloc(1);
    changed(
        "DELEGATE",
        &|| assert_eq!(s.host.delegate(page)[0], 0),
        &["granule", "PAS of", "GTSI"],
    );
    changed(
        "DATA_CREATE",
        &|| assert_eq!(s.host.data_create(s.new.rd, page, 0x3000, s.ns, 1)[0], 0),
        &[
            "Data refcount 0",
            "Rtt refcount 3",
            "contents of",
            "RTT entry",
        ],
    );
    changed(
        "UNMAP_UNPROTECTED",
        &|| assert_eq!(s.host.unmap_unprotected(s.new.rd, PAR_END, 3)[0], 0),
        &["TLB", "RTT entry"],
    );
    changed(
        "REALM_DESTROY",
        &|| {
            assert_eq!(s.host.rtt_destroy(s.bare.rd, 0, 2)[0], 0);
            assert_eq!(s.host.realm_destroy(s.bare.rd)[0], 0);
        },
        &["VMIDs", "Rd refcount 0 -> Delegated refcount 0"],
    );
}
