// SPDX-License-Identifier: MIT OR Apache-2.0
//! The monitor built without Confidential Shared Memory (`rmm` without its `csm` feature, what
//! a user gets building the platform crates with `--no-default-features`): the APT commands
//! and the CSM RSI calls are unknown function ids, answered `SMC_UNKNOWN` without touching
//! anything, and everything else works as in the default build. Compiled only without the
//! feature: `cargo test -p rmm-integration-tests --no-default-features --test without_csm`,
//! a step of `cargo xtask test`.
#![cfg(not(feature = "csm"))]

use rmm_abi::rmi::fid;
use rmm_abi::rmi::states::GranuleState;
use rmm_abi::smc::SMC_UNKNOWN;
use rmm_integration_tests::csm::{
    ACCEPT, CREATE, DESTROY, DETACH, PAGE, QUERY, REGION, REVOKE, SHARE, World, apt_create,
    apt_destroy,
};
use rmm_integration_tests::host::status;

#[test]
fn the_apt_commands_are_unknown_and_change_nothing() {
    let w = World::with(1, false);
    let (host, rd) = (&w.host, w.rd(0));
    let granule = host.must_delegated();
    assert_eq!(apt_create(host, rd, granule)[0], SMC_UNKNOWN, "APT_CREATE");
    assert_eq!(host.rig.state(granule), Some(GranuleState::Delegated));
    assert_eq!(
        apt_destroy(host, rd, granule)[0],
        SMC_UNKNOWN,
        "APT_DESTROY"
    );
    assert_eq!(host.rig.state(granule), Some(GranuleState::Delegated));
    // Nothing was bound to the granule: the host takes it back.
    assert_eq!(
        host.call(fid::GRANULE_UNDELEGATE, &[granule])[0],
        status::SUCCESS
    );
}

#[test]
fn the_csm_rsi_calls_are_unknown_to_realms() {
    let w = World::with(2, false);
    for (fid, args) in [
        (CREATE, [REGION, 4 * PAGE, 0, 0]),
        (SHARE, [1, 1, 1, 0]),
        (ACCEPT, [1, 1, 0x20_0000, PAGE]),
        (DETACH, [1, 0, 0, 0]),
        (REVOKE, [1, 0, 0, 0]),
        (DESTROY, [1, 0, 0, 0]),
        (QUERY, [0, 0, 0, 0]),
    ] {
        let regs = w.call(0, fid, &args).regs();
        assert_eq!(regs[0], SMC_UNKNOWN, "RSI {fid:#x}");
        assert_eq!(regs[1..4], [0; 3], "RSI {fid:#x}: nothing else returned");
    }
    // The region's pages are still the realm's own, and the host may destroy them.
    let entry = w.entry(0, REGION);
    assert_eq!([entry[1], entry[3]], [1, 1], "assigned, RIPAS RAM");
    assert_eq!(
        w.host.call(fid::DATA_DESTROY, &[w.rd(0), REGION])[0],
        status::SUCCESS
    );
}
