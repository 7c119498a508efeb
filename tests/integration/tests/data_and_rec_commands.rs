// SPDX-License-Identifier: MIT OR Apache-2.0
//! DATA_CREATE, DATA_CREATE_UNKNOWN, DATA_DESTROY, REC_AUX_COUNT, REC_CREATE and REC_DESTROY
//! through the real dispatcher, and the RIM they produce compared with the measurement
//! descriptors computed independently here from the same inputs.

use attest::measurement::{MeasuredRealmParams, extend_data, extend_rec, extend_ripas, rim_init};
use attest::sha::SOFT;
use rmm::arch::fake::FakePas;
use rmm::granule::GranuleAddr;
use rmm::realm::descriptor::Rd;
use rmm_abi::rmi::fid;
use rmm_abi::rmi::states::{GranuleState, HashAlgorithm};
use rmm_integration_tests::host::{Host, Shape, TestRealm, X4, status};
use rmm_integration_tests::snapshot::Snapshot;
use zerocopy::IntoBytes;

fn page(seed: u8) -> [u8; 4096] {
    core::array::from_fn(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
}

fn rim(host: &Host, realm: &TestRealm) -> [u8; 64] {
    Rd::new(&host.rig.machine, GranuleAddr::new(realm.rd).unwrap()).rim()
}

#[test]
fn data_create_copies_maps_and_counts() {
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    let tables = host.must_tables_to(&r, 0, 3);
    let data = host.must_delegated();
    let src = host.ns_page(&page(7));
    assert_eq!(
        host.data_create(r.rd, data, 0x3000, src, 1),
        [0, 0, 0, 0, src]
    );
    assert_eq!(host.rig.state(data), Some(GranuleState::Data));
    assert_eq!(host.rig.machine.inspect(data), page(7));
    assert_eq!(
        host.read_entry(r.rd, 0x3000, 3),
        [0, 3, 1, data, 1],
        "ASSIGNED RAM"
    );
    assert_eq!(host.refcount(tables[1]), 1);
    // Destroy: PA and top back, entry DESTROYED, granule scrubbed and DELEGATED.
    host.rig.machine.take_stage2_invalidations();
    assert_eq!(host.data_destroy(r.rd, 0x3000), [0, data, 0x20_0000, 0, X4]);
    assert_eq!(host.rig.machine.take_stage2_invalidations(), vec![1]);
    assert_eq!(
        host.read_entry(r.rd, 0x3000, 3),
        [0, 3, 0, 0, 2],
        "UNASSIGNED DESTROYED"
    );
    assert_eq!(host.rig.state(data), Some(GranuleState::Delegated));
    assert_eq!(host.rig.machine.inspect(data), [0; 4096]);
    assert_eq!(host.refcount(tables[1]), 0);
    // DATA_CREATE accepts a DESTROYED entry and maps it as RAM again.
    assert_eq!(host.data_create(r.rd, data, 0x3000, src, 0)[0], 0);
    assert_eq!(host.read_entry(r.rd, 0x3000, 3), [0, 3, 1, data, 1]);
}

#[test]
fn data_create_failures_in_order() {
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    let data = host.must_delegated();
    let src = host.ns_page(&page(1));
    let x0 = |out: [u64; 5]| out[0];
    assert_eq!(
        x0(host.data_create(r.rd, data, 0, src, 2)),
        status::INPUT,
        "flags"
    );
    assert_eq!(
        x0(host.data_create(0, 0, 0, data, 0)),
        status::INPUT,
        "src delegated, before RD"
    );
    assert_eq!(
        x0(host.data_create(r.rd, data, 0, src + 1, 0)),
        status::INPUT,
        "src misaligned"
    );
    assert_eq!(
        x0(host.data_create(r.rd, r.rd, 0, src, 0)),
        status::INPUT,
        "data = rd"
    );
    assert_eq!(
        x0(host.data_create(r.rd, host.alloc(1), 0, src, 0)),
        status::INPUT,
        "data NS"
    );
    assert_eq!(
        x0(host.data_create(r.rtt_base, data, 0, src, 0)),
        status::INPUT,
        "rd not an RD"
    );
    assert_eq!(
        x0(host.data_create(r.rd, data, 1 << 39, src, 0)),
        status::INPUT,
        "unprotected"
    );
    assert_eq!(
        x0(host.data_create(r.rd, data, 0x800, src, 0)),
        status::INPUT,
        "misaligned IPA"
    );
    assert_eq!(
        x0(host.data_create(r.rd, data, 0, src, 0)),
        status::rtt(1),
        "no tables"
    );
    host.must_tables_to(&r, 0, 3);
    let used = host.must_delegated();
    assert_eq!(x0(host.data_create(r.rd, used, 0, src, 0)), 0);
    assert_eq!(
        x0(host.data_create(r.rd, data, 0, src, 0)),
        status::rtt(3),
        "already assigned"
    );
    // The source delegated under us: INPUT, after the table checks; nothing changed.
    let before = rim(&host, &r);
    let racy = host.ns_page(&page(2));
    host.rig
        .machine
        .set_pas(racy, rmm::arch::fake::FakePas::Realm);
    assert_eq!(
        x0(host.data_create(r.rd, data, 0x1000, racy, 1)),
        status::INPUT
    );
    assert_eq!(host.rig.state(data), Some(GranuleState::Delegated));
    assert_eq!(
        host.rig.machine.inspect(data),
        [0; 4096],
        "what the copy wrote before the fault is cleared: a DELEGATED granule reads as zero"
    );
    assert_eq!(host.read_entry(r.rd, 0x1000, 3)[2], 0, "still unassigned");
    assert_eq!(rim(&host, &r), before, "RIM untouched");
    // Realm state is checked before the IPA: an active realm refuses even a bad IPA with
    // ERROR_REALM.
    assert_eq!(host.realm_activate(r.rd)[0], 0);
    assert_eq!(
        x0(host.data_create(r.rd, data, 1 << 39, src, 0)),
        status::realm(0)
    );
    // DATA_CREATE_UNKNOWN has no state check.
    assert_eq!(x0(host.data_create_unknown(r.rd, data, 0x1000)), 0);
}

#[test]
fn data_create_unknown_keeps_the_ripas() {
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    host.must_tables_to(&r, 0, 3);
    assert_eq!(host.init_ripas(r.rd, 0x1000, 0x2000)[0], 0);
    let (a, b) = (host.must_delegated(), host.must_delegated());
    assert_eq!(host.data_create_unknown(r.rd, a, 0)[0], 0);
    assert_eq!(host.data_create_unknown(r.rd, b, 0x1000)[0], 0);
    assert_eq!(
        host.read_entry(r.rd, 0, 3),
        [0, 3, 1, a, 0],
        "ASSIGNED EMPTY"
    );
    assert_eq!(
        host.read_entry(r.rd, 0x1000, 3),
        [0, 3, 1, b, 1],
        "ASSIGNED RAM"
    );
    // Destroying ASSIGNED EMPTY gives UNASSIGNED EMPTY, with no TLB invalidation.
    host.rig.machine.take_stage2_invalidations();
    assert_eq!(host.data_destroy(r.rd, 0)[..2], [0, a]);
    assert!(host.rig.machine.take_stage2_invalidations().is_empty());
    assert_eq!(host.read_entry(r.rd, 0, 3), [0, 3, 0, 0, 0]);
    // DATA_DESTROY failures.
    assert_eq!(
        host.data_destroy(r.rd, 0),
        [status::rtt(3), 0, 0x1000, 0, X4],
        "top = next live"
    );
    // No level-3 table at 4 MiB: ERROR_RTT(2), top = end of the level-2 table (1 GiB).
    assert_eq!(
        host.data_destroy(r.rd, 0x40_0000),
        [status::rtt(2), 0, 1 << 30, 0, X4]
    );
    assert_eq!(
        host.data_destroy(r.rd, 1 << 39),
        [status::INPUT, 0, 0, 0, X4]
    );
    assert_eq!(
        host.data_destroy(r.rtt_base, 0),
        [status::INPUT, 0, 0, 0, X4]
    );
}

fn measured(shape: &Shape) -> MeasuredRealmParams {
    MeasuredRealmParams {
        flags: 0,
        s2sz: shape.s2sz as u32,
        sve_vl: 0,
        num_bps: 2,
        num_wps: 2,
        pmu_num_ctrs: 0,
        hash_algo: HashAlgorithm::from_u64(shape.hash).unwrap(),
    }
}

#[test]
fn the_rim_follows_every_measured_command_with_both_hashes() {
    for hash in [0, 1] {
        let host = Host::new();
        let shape = Shape {
            hash,
            ..Shape::default()
        };
        let algo = HashAlgorithm::from_u64(hash).unwrap();
        let r = host.must_create_realm(shape);
        let mut expected = rim_init(&SOFT, &measured(&shape));
        assert_eq!(rim(&host, &r), expected, "initial RIM");
        host.must_tables_to(&r, 0, 3);
        // RTT_INIT_RIPAS: one descriptor per level-3 entry, already-RAM ones included.
        assert_eq!(host.init_ripas(r.rd, 0, 0x2000)[0], 0);
        assert_eq!(host.init_ripas(r.rd, 0x1000, 0x3000)[0], 0);
        for (base, top) in [
            (0, 0x1000),
            (0x1000, 0x2000),
            (0x1000, 0x2000),
            (0x2000, 0x3000),
        ] {
            expected = extend_ripas(&SOFT, algo, &expected, base, top);
        }
        assert_eq!(rim(&host, &r), expected, "after INIT_RIPAS");
        // DATA_CREATE measured and unmeasured.
        for (i, flags) in [(0u64, 1u64), (1, 0)] {
            let content = page(i as u8 + 40);
            let src = host.ns_page(&content);
            let data = host.must_delegated();
            let ipa = 0x10_0000 + i * 0x1000;
            assert_eq!(host.data_create(r.rd, data, ipa, src, flags)[0], 0);
            expected = extend_data(&SOFT, algo, &expected, ipa, flags, &content);
        }
        assert_eq!(rim(&host, &r), expected, "after DATA_CREATE");
        // DATA_CREATE_UNKNOWN is not measured.
        let data = host.must_delegated();
        assert_eq!(host.data_create_unknown(r.rd, data, 0x20_000)[0], 0);
        assert_eq!(rim(&host, &r), expected);
        // REC_CREATE: runnable RECs are measured, others are not.
        let mut params = host.must_rec_params(0, true);
        params.pc = 0x8_0000;
        params.gprs = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(host.rec_create(r.rd, host.must_delegated(), &params)[0], 0);
        expected = extend_rec(&SOFT, algo, &expected, 1, 0x8_0000, &params.gprs);
        let params = host.must_rec_params(1, false);
        assert_eq!(host.rec_create(r.rd, host.must_delegated(), &params)[0], 0);
        assert_eq!(rim(&host, &r), expected, "after REC_CREATE");
    }
}

#[test]
fn rim_of_a_known_realm_matches_a_fixed_vector() {
    // A 40-bit SHA-256 realm with default parameters: its initial RIM is the SHA-256 of a
    // 4 KiB page holding only s2sz = 40, num_bps = 2, num_wps = 2 (bytes 8, 0x18, 0x20).
    let mut params = [0u8; 4096];
    params[0x08] = 40;
    params[0x18] = 2;
    params[0x20] = 2;
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    let expected = attest::measurement::digest(HashAlgorithm::Sha256, &[&params]);
    assert_eq!(rim(&host, &r), expected);
    assert_eq!(&expected[32..], &[0; 32], "SHA-256 fills 32 bytes");
}

/// A parameter page the host moves out of the Non-secure PAS behind the granule table's back,
/// so that reading its fields faults, is ERROR_INPUT for REALM_CREATE and REC_CREATE and
/// changes nothing; the same page read again once it is back is accepted.
#[test]
fn parameter_pages_that_fault_while_read_change_nothing() {
    let host = Host::new();
    let shape = Shape::default();
    let rd = host.must_delegated();
    let rtt_base = host.must_delegated_run(shape.num_roots);
    let page = host.ns_page(Host::realm_params(&shape, rtt_base).as_bytes());
    host.rig.machine.set_pas(page, FakePas::Realm);
    let before = Snapshot::take(&host, &[]);
    let out = host.call(fid::REALM_CREATE, &[rd, page, 0, X4]);
    assert_eq!(out, [status::INPUT, 0, 0, 0, X4]);
    assert_eq!(
        before.differences(&Snapshot::take(&host, &[])),
        Vec::<String>::new()
    );
    host.rig.machine.set_pas(page, FakePas::NonSecure);
    assert_eq!(host.call(fid::REALM_CREATE, &[rd, page, 0, X4])[0], 0);

    let rec = host.must_delegated();
    let page = host.ns_page(host.must_rec_params(0, true).as_bytes());
    host.rig.machine.set_pas(page, FakePas::Realm);
    let before = Snapshot::take(&host, &[]);
    let out = host.call(fid::REC_CREATE, &[rd, rec, page, X4]);
    assert_eq!(out, [status::INPUT, 0, 0, 0, X4]);
    assert_eq!(
        before.differences(&Snapshot::take(&host, &[])),
        Vec::<String>::new()
    );
    host.rig.machine.set_pas(page, FakePas::NonSecure);
    assert_eq!(host.call(fid::REC_CREATE, &[rd, rec, page, X4])[0], 0);
}

#[test]
fn rec_create_destroy_and_failures_in_order() {
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    assert_eq!(host.rec_aux_count(r.rd), [0, 16, 0, 0, X4]);
    assert_eq!(host.rec_aux_count(r.rtt_base), [status::INPUT, 0, 0, 0, X4]);
    let x0 = |out: [u64; 5]| out[0];
    let rec = host.must_delegated();
    // num_aux > 16 first, even with a bad RD.
    let mut params = host.must_rec_params(0, true);
    params.num_aux = 17;
    assert_eq!(x0(host.rec_create(0, 0, &params)), status::INPUT);
    // A duplicate aux granule: INPUT, and the first copy is returned to DELEGATED.
    let mut params = host.must_rec_params(0, true);
    params.aux[5] = params.aux[4];
    assert_eq!(x0(host.rec_create(r.rd, rec, &params)), status::INPUT);
    assert!(
        params
            .aux
            .iter()
            .all(|a| host.rig.state(*a) == Some(GranuleState::Delegated))
    );
    // aux = rec, rec = rd.
    let mut params = host.must_rec_params(0, true);
    params.aux[0] = rec;
    assert_eq!(x0(host.rec_create(r.rd, rec, &params)), status::INPUT);
    let params = host.must_rec_params(0, true);
    assert_eq!(x0(host.rec_create(r.rd, r.rd, &params)), status::INPUT);
    // MPIDR out of order, malformed; num_aux < 16 is checked last.
    let mut bad = params.clone();
    bad.mpidr = 1;
    assert_eq!(x0(host.rec_create(r.rd, rec, &bad)), status::INPUT);
    bad.mpidr = 0x10;
    assert_eq!(x0(host.rec_create(r.rd, rec, &bad)), status::INPUT);
    let mut short = params.clone();
    short.num_aux = 15;
    assert_eq!(x0(host.rec_create(r.rd, rec, &short)), status::INPUT);
    assert!(
        params
            .aux
            .iter()
            .all(|a| host.rig.state(*a) == Some(GranuleState::Delegated))
    );
    // Success.
    assert_eq!(x0(host.rec_create(r.rd, rec, &params)), 0);
    assert_eq!(host.rig.state(rec), Some(GranuleState::Rec));
    assert!(
        params
            .aux
            .iter()
            .all(|a| host.rig.state(*a) == Some(GranuleState::RecAux))
    );
    assert_eq!(host.refcount(r.rd), 1);
    // The next REC must be index 1; the same MPIDR again is refused.
    let rec1 = host.must_delegated();
    let again = host.must_rec_params(0, true);
    assert_eq!(x0(host.rec_create(r.rd, rec1, &again)), status::INPUT);
    // Not after activation: ERROR_REALM before the MPIDR check.
    assert_eq!(x0(host.realm_activate(r.rd)), 0);
    assert_eq!(x0(host.rec_create(r.rd, rec1, &again)), status::realm(0));
    // Destroy: aux and REC scrubbed, RD reference dropped.
    assert_eq!(host.rec_destroy(rec), [0, 0, 0, 0, X4]);
    assert_eq!(
        host.rec_destroy(rec),
        [status::INPUT, 0, 0, 0, X4],
        "double destroy"
    );
    assert!(
        params
            .aux
            .iter()
            .all(|a| host.rig.state(*a) == Some(GranuleState::Delegated))
    );
    assert_eq!(host.refcount(r.rd), 0);
    assert_eq!(host.realm_destroy(r.rd)[0], 0);
}

/// DATA_DESTROY of a realm without CSM takes only its RD's lock: it completes while another
/// CPU holds the CSM lock, which only a CSM realm's DATA_DESTROY takes (`rmi/data.rs`,
/// `docs/locking.md`). Every host's ordinary page reclaim must not queue behind the CSM
/// operations of other realms.
#[test]
fn data_destroy_of_a_realm_without_csm_does_not_wait_for_the_csm_lock() {
    use rmm_integration_tests::held::call_while_held;
    use std::time::Duration;
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    host.must_tables_to(&r, 0, 3);
    let data = host.must_delegated();
    let src = host.ns_page(&page(3));
    assert_eq!(host.data_create(r.rd, data, 0x3000, src, 0)[0], 0);
    let (rig, rd) = (&host.rig, r.rd);
    let fid = u64::from(rmm_abi::rmi::fid::DATA_DESTROY);
    let (out, finished) = call_while_held(rig.monitor.csm.lock(), Duration::from_secs(10), || {
        rig.call(fid, &[rd, 0x3000, 0, X4])
    });
    assert!(finished, "DATA_DESTROY waited for the CSM lock");
    assert_eq!(out[..2], [status::SUCCESS, data]);
}

#[test]
fn a_realm_holds_at_most_1023_live_recs() {
    // MAX_RECS_ORDER is 10 (feature register 0): the RD's reference count, one per live
    // REC, stops at 2^10 - 1. The test stands in for 1,022 live RECs by raising that count
    // (16 auxiliary granules each would be 68 MiB of pages to delegate).
    let host = Host::new();
    let r = host.must_create_realm(Shape::default());
    let rd = GranuleAddr::new(r.rd).unwrap();
    let stand_ins = 1022;
    let with_rd = |change: &dyn Fn(&mut rmm::granule::LockedGranule<'_>)| {
        change(
            &mut host
                .rig
                .monitor
                .granules
                .lock(rd, GranuleState::Rd)
                .unwrap(),
        );
    };
    with_rd(&|rd| rd.add_refs(stand_ins).unwrap());
    let last = host.must_delegated();
    let out = host.rec_create(r.rd, last, &host.must_rec_params(0, true));
    assert_eq!(out[0], status::SUCCESS, "the 1,023rd");
    assert_eq!(host.refcount(r.rd), 1023);
    let refused = host.must_delegated();
    let params = host.must_rec_params(1, true);
    let out = host.rec_create(r.rd, refused, &params);
    assert_eq!(out[0], status::realm(0), "the 1,024th");
    assert_eq!(host.refcount(r.rd), 1023);
    for pa in [refused].iter().chain(&params.aux) {
        assert_eq!(
            host.rig.state(*pa),
            Some(GranuleState::Delegated),
            "{pa:#x}"
        );
    }
    // Once a REC is gone there is room again.
    assert_eq!(host.rec_destroy(last)[0], status::SUCCESS);
    let params = host.must_rec_params(1, true);
    let out = host.rec_create(r.rd, refused, &params);
    assert_eq!(out[0], status::SUCCESS, "room for one");
    assert_eq!(host.rec_destroy(refused)[0], status::SUCCESS);
    with_rd(&|rd| rd.sub_refs(stand_ins).unwrap());
    assert_eq!(host.realm_destroy(r.rd)[0], status::SUCCESS);
}
