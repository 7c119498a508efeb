// SPDX-License-Identifier: MIT OR Apache-2.0
//! More inconsistencies only an RMM bug can cause, each shown by corrupting the monitor's
//! state behind its back: a running REC's RD that is no longer an RD (every RSI call that
//! locks it: `locks::running_rd`), and a REC's aux granule that is no longer REC_AUX at
//! REC_DESTROY. Each stops the monitor (a panic in host tests) instead of answering an error
//! or skipping the granule as before.

use rmm::attestation;
use rmm::granule::GranuleAddr;
use rmm::realm::rec::Rec;
use rmm_abi::rmi::states::GranuleState;
use rmm_abi::rsi::fid;
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::{Rig, rsi_call, script, setup_with};

/// A running realm whose REC 0 makes the RSI call `id` with `args` on its next entry, and
/// whose RD an RMM bug then turned into a DELEGATED granule.
fn rec_calling_with_a_broken_rd(id: u32, args: &'static [u64]) -> Rig {
    let rig = setup_with(true, 1);
    script(
        rig.machine(),
        vec![Box::new(move |_, _, ctx| rsi_call(ctx, id, args))],
    );
    let rd = GranuleAddr::new(rig.realm.rd).expect("aligned");
    rig.host
        .rig
        .monitor
        .granules
        .lock(rd, GranuleState::Rd)
        .expect("RD")
        .set_state(GranuleState::Delegated);
    rig
}

#[test]
#[should_panic(expected = "RMM invariant broken: the RD of a running REC is not an RD")]
fn measurement_read_stops_on_a_running_rec_whose_rd_is_not_an_rd() {
    // It used to answer RSI_ERROR_INPUT.
    rec_calling_with_a_broken_rd(fid::MEASUREMENT_READ, &[0]).enter(0, &[]);
}

#[test]
#[should_panic(expected = "RMM invariant broken: the RD of a running REC is not an RD")]
fn measurement_extend_stops_on_a_running_rec_whose_rd_is_not_an_rd() {
    rec_calling_with_a_broken_rd(fid::MEASUREMENT_EXTEND, &[1, 8, 0x55]).enter(0, &[]);
}

#[test]
#[should_panic(expected = "RMM invariant broken: the RD of a running REC is not an RD")]
fn realm_config_stops_on_a_running_rec_whose_rd_is_not_an_rd() {
    rec_calling_with_a_broken_rd(fid::REALM_CONFIG, &[0x1000]).enter(0, &[]);
}

#[test]
#[should_panic(expected = "RMM invariant broken: the RD of a running REC is not an RD")]
fn attest_token_init_stops_on_a_running_rec_whose_rd_is_not_an_rd() {
    // It used to answer RSI_ERROR_UNKNOWN. With attestation material (without it INIT
    // answers RSI_ERROR_UNKNOWN before it reads the RD).
    let rig = rec_calling_with_a_broken_rd(fid::ATTEST_TOKEN_INIT, &[0; 8]);
    let buffer = Box::leak(vec![0u8; 0x4000].into_boxed_slice());
    attestation::provision_into(&rig.host.rig.monitor.attestation, rig.machine(), buffer)
        .expect("the fake EL3's key and token");
    rig.enter(0, &[]);
}

#[test]
#[should_panic(expected = "RMM invariant broken: a REC's aux granule is not REC_AUX")]
fn rec_destroy_stops_on_an_aux_granule_that_is_not_rec_aux() {
    let rig = setup_with(false, 1);
    let machine = rig.machine();
    let rec = Rec::new(machine, GranuleAddr::new(rig.rec).expect("aligned"));
    let aux = rec.aux().nth(3).expect("16 aux granules");
    // An RMM bug elsewhere handed the aux granule back as DELEGATED: REC_DESTROY must not
    // skip it (it used to), scrub it or report success.
    rig.host
        .rig
        .monitor
        .granules
        .lock(aux, GranuleState::RecAux)
        .expect("REC_AUX")
        .set_state(GranuleState::Delegated);
    rig.host.rec_destroy(rig.rec);
}

#[test]
fn rec_destroy_hands_back_every_aux_granule() {
    let rig = setup_with(false, 1);
    let machine = rig.machine();
    let rec = Rec::new(machine, GranuleAddr::new(rig.rec).expect("aligned"));
    let aux: Vec<GranuleAddr> = rec.aux().collect();
    assert_eq!(aux.len(), 16);
    assert_eq!(rig.host.rec_destroy(rig.rec)[0], status::SUCCESS);
    for granule in aux {
        assert_eq!(
            rig.host.rig.state(granule.get()),
            Some(GranuleState::Delegated)
        );
    }
}
