// SPDX-License-Identifier: MIT OR Apache-2.0
//! The first rule of `docs/locking.md`: a command that names two or more granules locks them
//! in ascending address order, whichever argument each one is. A lock order is invisible to
//! one CPU (every order gives the same results), so each test makes it visible with two: this
//! CPU holds the command's lower granule while another CPU runs the command, and a third
//! checks that the higher one stays free, as it must while the command waits for the lower
//! one. A command that took the higher granule first would hold it there; two commands doing
//! that in opposite orders deadlock the machine.

use rmm::granule::GranuleAddr;
use rmm_abi::rmi::fid;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;
use rmm_integration_tests::host::{Host, Shape, TestRealm, status};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use zerocopy::IntoBytes;

/// How long the command runs before the probe looks: ample for it to lock whatever it locks
/// before it reaches the held granule.
const HEAD_START: Duration = Duration::from_millis(100);
/// How long the probe may take to lock a granule nobody holds.
const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// Runs RMI `fid` with `args` on another CPU while this one holds the granule `low`, checks
/// that meanwhile a third CPU can lock `high` (the command does not hold it while it waits
/// for `low`), then lets the command finish and returns its x0..x4.
fn locks_low_before_high(rig: &Rig, low: u64, high: u64, fid: u32, args: &[u64]) -> [u64; 5] {
    assert!(low < high, "the test names the lower granule first");
    let granule = |pa| GranuleAddr::new(pa).expect("aligned");
    let held = rig
        .monitor
        .granules
        .lock_any(granule(low))
        .expect("tracked");
    let probed = AtomicBool::new(false);
    std::thread::scope(|s| {
        let command = s.spawn(|| rig.call(u64::from(fid), args));
        std::thread::sleep(HEAD_START);
        let probe = s.spawn(|| {
            drop(rig.monitor.granules.lock_any(granule(high)));
            probed.store(true, Ordering::Release);
        });
        let deadline = Instant::now() + PROBE_LIMIT;
        while !probed.load(Ordering::Acquire) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let high_was_free = probed.load(Ordering::Acquire);
        // Let the command (and a probe stuck behind it) finish, so the scope can end.
        drop(held);
        let out = command.join().expect("the command returned");
        probe.join().expect("the probe returned");
        assert!(
            high_was_free,
            "command {fid:#x}: held {high:#x} while it waited for {low:#x}"
        );
        out
    })
}

/// A realm with two RECs, whose REC granules are `rec_first` (if given) and a fresh one.
fn realm_with_recs(host: &Host, rec_first: Option<u64>) -> (TestRealm, u64, u64) {
    let realm = host.must_create_realm(Shape::default());
    let rec0 = rec_first.unwrap_or_else(|| host.must_delegated());
    let rec1 = host.must_delegated();
    for (index, rec) in [rec0, rec1].into_iter().enumerate() {
        let params = host.must_rec_params(index as u64, true);
        assert_eq!(host.rec_create(realm.rd, rec, &params)[0], 0);
    }
    (realm, rec0, rec1)
}

#[test]
fn rtt_create_locks_the_lower_of_table_and_rd_first() {
    let host = Host::new();
    let below = host.must_delegated();
    let realm = host.must_create_realm(Shape::default());
    let above = host.must_delegated();
    let rig = &host.rig;
    let args = |rtt, ipa| [realm.rd, rtt, ipa, 2];
    let out = locks_low_before_high(rig, below, realm.rd, fid::RTT_CREATE, &args(below, 0));
    assert_eq!(out[0], status::SUCCESS, "the table below the RD");
    let out = locks_low_before_high(rig, realm.rd, above, fid::RTT_CREATE, &args(above, 1 << 30));
    assert_eq!(out[0], status::SUCCESS, "the table above the RD");
}

#[test]
fn data_create_locks_the_lower_of_page_and_rd_first() {
    let host = Host::new();
    let below = host.must_delegated();
    let realm = host.must_create_realm(Shape::default());
    host.must_tables_to(&realm, 0, 3);
    let above = host.must_delegated();
    let src = host.ns_page(&[7; 4096]);
    let rig = &host.rig;
    let args = |data, ipa| [realm.rd, data, ipa, src, 0];
    let out = locks_low_before_high(rig, below, realm.rd, fid::DATA_CREATE, &args(below, 0x1000));
    assert_eq!(out[0], status::SUCCESS, "the page below the RD");
    let out = locks_low_before_high(rig, realm.rd, above, fid::DATA_CREATE, &args(above, 0x2000));
    assert_eq!(out[0], status::SUCCESS, "the page above the RD");
}

#[test]
fn rec_create_locks_the_lower_of_rec_and_rd_first() {
    let host = Host::new();
    let below = host.must_delegated();
    let realm = host.must_create_realm(Shape::default());
    let above = host.must_delegated();
    let rig = &host.rig;
    for (index, rec, low, high) in [(0, below, below, realm.rd), (1, above, realm.rd, above)] {
        let params = host.ns_page(host.must_rec_params(index, true).as_bytes());
        let out = locks_low_before_high(rig, low, high, fid::REC_CREATE, &[realm.rd, rec, params]);
        assert_eq!(out[0], status::SUCCESS, "REC {index}");
    }
}

#[test]
fn psci_complete_locks_the_lower_rec_first_in_either_role() {
    let host = Host::new();
    let (_, rec0, rec1) = realm_with_recs(&host, None);
    let rig = &host.rig;
    for (calling, target) in [(rec0, rec1), (rec1, rec0)] {
        let out = locks_low_before_high(rig, rec0, rec1, fid::PSCI_COMPLETE, &[calling, target, 0]);
        assert_eq!(out[0], status::INPUT, "no PSCI request is pending");
    }
}

#[test]
fn rtt_set_ripas_locks_the_lower_of_rd_and_rec_first() {
    let host = Host::new();
    // REC 0 below its RD, REC 1 above it.
    let below = host.must_delegated();
    let (realm, rec0, rec1) = realm_with_recs(&host, Some(below));
    assert!(rec0 < realm.rd && realm.rd < rec1);
    let rig = &host.rig;
    for (rec, low, high) in [(rec0, rec0, realm.rd), (rec1, realm.rd, rec1)] {
        let args = [realm.rd, rec, 0, 0x1000];
        let out = locks_low_before_high(rig, low, high, fid::RTT_SET_RIPAS, &args);
        assert_eq!(out[0], status::INPUT, "no RIPAS change is pending");
    }
}

#[test]
fn apt_create_locks_the_lower_of_rd_and_apt_first() {
    let host = Host::new();
    let below = host.must_delegated();
    let first = host.must_create_realm(Shape::default());
    let second = host.must_create_realm(Shape {
        vmid: 2,
        ..Shape::default()
    });
    let above = host.must_delegated();
    let rig = &host.rig;
    let out = locks_low_before_high(rig, below, first.rd, fid::APT_CREATE, &[first.rd, below]);
    assert_eq!(out[0], status::SUCCESS, "the APT below the RD");
    let out = locks_low_before_high(rig, second.rd, above, fid::APT_CREATE, &[second.rd, above]);
    assert_eq!(out[0], status::SUCCESS, "the APT above the RD");
}

#[test]
fn realm_create_locks_the_rd_and_the_roots_in_address_order() {
    let host = Host::new();
    let shape = |vmid| Shape {
        vmid,
        ..Shape::default()
    };
    // The RD below the roots.
    let rd = host.must_delegated();
    let roots = host.must_delegated_run(2);
    let params = host.ns_page(Host::realm_params(&shape(3), roots).as_bytes());
    let out = locks_low_before_high(&host.rig, rd, roots, fid::REALM_CREATE, &[rd, params]);
    assert_eq!(out[0], status::SUCCESS, "RD below the roots");
    // The RD right after the last root: not one of them, and locked after them.
    let roots = host.must_delegated_run(2);
    let rd = host.must_delegated();
    assert_eq!(rd, roots + 0x2000, "the allocator is contiguous here");
    let params = host.ns_page(Host::realm_params(&shape(4), roots).as_bytes());
    let out = locks_low_before_high(&host.rig, roots, rd, fid::REALM_CREATE, &[rd, params]);
    assert_eq!(out[0], status::SUCCESS, "RD just above the roots");
    assert_eq!(host.rig.state(rd), Some(GranuleState::Rd));
}
