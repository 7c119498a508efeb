// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RMI loop as EL3 drives it: requests in through the simulated EL3, results out, for the
//! commands the walking skeleton implements and for every id it does not.

use rmm::arch::El3Port;
use rmm::arch::fake::{FakeEl3, FakeMachine};
use rmm::rmi::RmiRequest;
use rmm::rmi::serve;
use rmm_abi::rmi::RmiCommand;
use rmm_abi::smc::{SMC_SVE_HINT, SMC_UNKNOWN};
use rmm_integration_tests::qemu_monitor;

const VERSION: u64 = 0xC400_0150;
const FEATURES: u64 = 0xC400_0165;
const DELEGATE: u64 = 0xC400_0151;
const UNDELEGATE: u64 = 0xC400_0152;
/// Every command: RMM 1.0's and the CSM extension's RMI_APT_CREATE/DESTROY.
const IMPLEMENTED: [u64; 25] = [
    0xC400_015C,
    VERSION,
    FEATURES,
    DELEGATE,
    UNDELEGATE,
    0xC400_0153,
    0xC400_0154,
    0xC400_0155,
    0xC400_0157,
    0xC400_0158,
    0xC400_0159,
    0xC400_015A,
    0xC400_015B,
    0xC400_015D,
    0xC400_015E,
    0xC400_015F,
    0xC400_0161,
    0xC400_0162,
    0xC400_0164,
    0xC400_0166,
    0xC400_0167,
    0xC400_0168,
    0xC400_0169,
    0xC400_016A,
    0xC400_016B,
];
const V1_0: u64 = 0x1_0000;
const X4: u64 = 0xDEAD_BEEF_0000_0004;

/// Boots, serves `requests`, and returns the host-visible x0..x4 of each.
fn run(requests: Vec<RmiRequest>) -> Vec<[u64; 5]> {
    let monitor = qemu_monitor();
    let mut el3 = FakeEl3::with_requests(requests.clone());
    let first = el3.boot_complete(0);
    let machine = FakeMachine::qemu();
    monitor.prepare_cpu(&machine);
    serve(&monitor, &machine, &mut el3, first);
    assert_eq!(el3.results.len(), requests.len(), "every request answered");
    el3.results.iter().map(|r| r.regs).collect()
}

#[test]
fn version_1_0_succeeds_and_preserves_x4() {
    let out = run(vec![RmiRequest::new(VERSION, &[V1_0, 7, 8, X4])]);
    assert_eq!(out[0], [0, V1_0, V1_0, 0, X4]);
}

#[test]
fn other_versions_get_error_input_with_our_range() {
    for requested in [0, 1, 0x1_0001, 0x2_0000, 0xFFFF, u64::MAX, 1 << 32 | V1_0] {
        let out = run(vec![RmiRequest::new(VERSION, &[requested, 0, 0, X4])]);
        assert_eq!(out[0], [1, V1_0, V1_0, 0, X4], "requested {requested:#x}");
    }
}

#[test]
fn sve_hint_bit_is_ignored() {
    let out = run(vec![
        RmiRequest::new(VERSION | SMC_SVE_HINT, &[V1_0, 0, 0, X4]),
        RmiRequest::new(FEATURES | SMC_SVE_HINT, &[0, 0, 0, X4]),
    ]);
    assert_eq!(out[0], [0, V1_0, V1_0, 0, X4]);
    assert_eq!(out[1][0], 0);
    assert_ne!(out[1][1], 0);
}

#[test]
fn features_register_0_matches_the_hardware_and_what_we_implement() {
    let out = run(vec![RmiRequest::new(FEATURES, &[0, 0, 0, X4])]);
    // s2sz 48 (capped, no LPA2), BPS 5, WPS 3, no SVE/PMU, SHA-256 and SHA-512, 4 LRs (3),
    // MAX_RECS_ORDER 10.
    let expected = 48 | 5 << 14 | 3 << 20 | 1 << 32 | 1 << 33 | 3 << 34 | 10 << 38;
    assert_eq!(out[0], [0, expected, 0, 0, X4]);
}

#[test]
fn features_other_indices_are_zero() {
    for index in [1, 2, 255, u64::MAX] {
        let out = run(vec![RmiRequest::new(FEATURES, &[index, 0, 0, X4])]);
        assert_eq!(out[0], [0, 0, 0, 0, X4], "index {index:#x}");
    }
}

#[test]
fn every_unimplemented_id_in_the_forwarded_range_is_smc_unknown() {
    let requests: Vec<RmiRequest> = (0xC400_0150..=0xC400_018F)
        .filter(|fid| !IMPLEMENTED.contains(fid))
        .flat_map(|fid| [fid, fid | SMC_SVE_HINT])
        .map(|fid| RmiRequest::new(fid, &[1, 2, 3, X4, 5, 6, 7]))
        .collect();
    assert_eq!(requests.len(), 2 * (0x40 - IMPLEMENTED.len()));
    for (req, out) in requests.iter().zip(run(requests.clone())) {
        assert_eq!(out, [SMC_UNKNOWN, 0, 0, 0, X4], "fid {:#x}", req.regs[0]);
    }
}

#[test]
fn ids_outside_the_rmi_range_are_smc_unknown_too() {
    // EL3 never forwards these, but the dispatcher must not depend on that.
    for fid in [
        0,
        0xC400_014F,
        0xC400_0190,
        0x8400_0000,
        u64::MAX,
        0xC500_0150,
    ] {
        let out = run(vec![RmiRequest::new(fid, &[0, 0, 0, X4])]);
        assert_eq!(out[0], [SMC_UNKNOWN, 0, 0, 0, X4], "fid {fid:#x}");
    }
}

#[test]
fn every_known_command_is_implemented() {
    for command in RmiCommand::ALL {
        let fid = u64::from(command.fid());
        assert!(IMPLEMENTED.contains(&fid), "{}", command.name());
        let out = run(vec![RmiRequest::new(fid, &[0, 0, 0, X4])]);
        assert_ne!(out[0][0], SMC_UNKNOWN, "{}", command.name());
    }
}

#[test]
fn a_long_session_keeps_answering() {
    let requests: Vec<RmiRequest> = (0..1000)
        .map(|i| RmiRequest::new(if i % 2 == 0 { VERSION } else { FEATURES }, &[0, 0, 0, i]))
        .collect();
    let out = run(requests);
    for (i, regs) in out.iter().enumerate() {
        assert_eq!(regs[4], i as u64, "x4 of request {i}");
    }
}
