// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inconsistencies only an RMM bug can cause stop the monitor (the `invariant` module's fatal
//! stop, a panic in host tests) instead of being logged while the command goes on; and a
//! page that changes hands is invalidated by IPA under its realm's VMID before that.

use rmm::granule::GranuleAddr;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::host::{Host, Shape, TestRealm, status};

const IPA: u64 = 0x3000;

/// A realm of VMID 0x1234 with one DATA page at `IPA`; returns the realm and the page.
fn realm_with_a_page(host: &Host) -> (TestRealm, u64) {
    let realm = host.must_create_realm(Shape {
        vmid: 0x1234,
        ..Shape::default()
    });
    host.must_tables_to(&realm, IPA, 3);
    let data = host.must_delegated();
    let src = host.ns_page(&[7; 4096]);
    assert_eq!(
        host.data_create(realm.rd, data, IPA, src, 0)[0],
        status::SUCCESS
    );
    (realm, data)
}

#[test]
fn data_destroy_invalidates_the_page_by_ipa_before_it_is_scrubbed() {
    let host = Host::new();
    let (realm, data) = realm_with_a_page(&host);
    host.rig.machine.take_ipa_invalidations();
    let out = host.data_destroy(realm.rd, IPA);
    assert_eq!(out[..2], [status::SUCCESS, data]);
    assert_eq!(host.rig.machine.take_ipa_invalidations(), [(0x1234, IPA)]);
    assert_eq!(host.rig.state(data), Some(GranuleState::Delegated));
}

#[test]
#[should_panic(expected = "RMM invariant broken")]
fn a_mapped_page_that_is_not_data_stops_the_monitor() {
    let host = Host::new();
    let (realm, data) = realm_with_a_page(&host);
    // An RMM bug elsewhere left the mapped granule DELEGATED: DATA_DESTROY must not zero it,
    // hand it back as DELEGATED or report success.
    let addr = GranuleAddr::new(data).expect("aligned");
    host.rig
        .monitor
        .granules
        .lock(addr, GranuleState::Data)
        .expect("DATA")
        .set_state(GranuleState::Delegated);
    host.data_destroy(realm.rd, IPA);
}

#[test]
#[should_panic(expected = "RMM invariant broken: RTT reference count")]
fn a_table_reference_count_out_of_range_stops_the_monitor() {
    let host = Host::new();
    let (realm, _) = realm_with_a_page(&host);
    // The level-3 table mapping IPA counts the page; an RMM bug drops the count to zero.
    let l3 = find_leaf_table(&host, &realm);
    host.rig
        .monitor
        .granules
        .lock(l3, GranuleState::Rtt)
        .expect("RTT")
        .sub_refs(1)
        .expect("one entry counted");
    host.data_destroy(realm.rd, IPA);
}

/// The level-3 table that maps `IPA`, from RTT_READ_ENTRY of its parent entry.
fn find_leaf_table(host: &Host, realm: &TestRealm) -> GranuleAddr {
    let out = host.read_entry(realm.rd, IPA & !0x1F_FFFF, 2);
    assert_eq!(out[0], status::SUCCESS);
    GranuleAddr::new(out[3]).expect("a table's address")
}

#[test]
#[should_panic(expected = "RMM invariant broken: the RD of a running REC is not an RD")]
fn a_running_rec_whose_rd_is_not_an_rd_stops_the_monitor_at_system_off() {
    use rmm_abi::psci::PSCI_SYSTEM_OFF;
    use rmm_integration_tests::running::{rsi_call, script, setup_with};
    let rig = setup_with(true, 1);
    script(
        rig.machine(),
        vec![Box::new(|_, _, ctx| rsi_call(ctx, PSCI_SYSTEM_OFF, &[]))],
    );
    // An RMM bug elsewhere changed the RD's granule state while its REC runs: SYSTEM_OFF must
    // not carry on as if the realm had powered off (it used to log a line and exit).
    let rd = GranuleAddr::new(rig.realm.rd).expect("aligned");
    rig.host
        .rig
        .monitor
        .granules
        .lock(rd, GranuleState::Rd)
        .expect("RD")
        .set_state(GranuleState::Delegated);
    rig.enter(0, &[]);
}

/// Overwrites word `index` of the RMM-owned granule `addr` behind the monitor's back, as a
/// stray write of an RMM bug would.
fn overwrite(host: &Host, addr: u64, index: usize, value: u64) {
    use rmm::arch::Machine;
    let addr = GranuleAddr::new(addr).expect("aligned");
    host.rig.machine.write_word(addr, index, value);
}

/// A realm whose RD word `index` was then overwritten with `value`.
fn realm_with_rd_word(index: usize, value: u64) -> (Host, TestRealm) {
    let host = Host::new();
    let realm = host.must_create_realm(Shape::default());
    overwrite(&host, realm.rd, index, value);
    (host, realm)
}

#[test]
#[should_panic(expected = "RMM invariant broken: an RD holds a")]
fn an_rd_whose_state_word_holds_no_state_stops_the_monitor() {
    // Word 0 of an RD is its lifecycle state (`realm/descriptor.rs`); 9 is none of them. It
    // used to read as SYSTEM_OFF.
    let (host, realm) = realm_with_rd_word(0, 9);
    host.realm_activate(realm.rd);
}

#[test]
#[should_panic(expected = "RMM invariant broken: an RD holds a")]
fn an_rd_whose_hash_word_holds_no_algorithm_stops_the_monitor() {
    // Word 6 is the measurement algorithm; it used to read as SHA-256.
    let (host, realm) = realm_with_rd_word(6, 0x77);
    host.must_tables_to(&realm, IPA, 3);
}

#[test]
#[should_panic(expected = "RMM invariant broken: a REC's RD link is not a granule address")]
fn a_rec_whose_rd_link_is_not_a_granule_stops_the_monitor() {
    use rmm_integration_tests::running::setup_with;
    let rig = setup_with(true, 1);
    // Word 0 of a REC is its RD's address (`realm/rec.rs`); it used to read as the REC itself.
    overwrite(&rig.host, rig.rec, 0, 0x123);
    rig.enter(0, &[]);
}
