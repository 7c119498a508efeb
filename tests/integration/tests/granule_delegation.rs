// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_GRANULE_DELEGATE / UNDELEGATE through the real dispatcher on simulated memory with PAS
//! tags: success, every failure condition, and what each leaves behind (granule state, PAS,
//! contents, EL3 calls).

use rmm::arch::fake::FakePas;
use rmm_abi::el3::El3Status;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;

const DELEGATE: u64 = 0xC400_0151;
const UNDELEGATE: u64 = 0xC400_0152;
const X4: u64 = 0x4444_4444_4444_4444;
const OK: [u64; 5] = [0, 0, 0, 0, X4];
const INPUT: [u64; 5] = [1, 0, 0, 0, X4];
const PAGE: u64 = 0x5000_0000;

fn pattern() -> [u8; 4096] {
    core::array::from_fn(|i| (i % 251) as u8 | 1)
}

fn delegate(rig: &Rig, pa: u64) -> [u64; 5] {
    rig.call(DELEGATE, &[pa, 0, 0, X4])
}

fn undelegate(rig: &Rig, pa: u64) -> [u64; 5] {
    rig.call(UNDELEGATE, &[pa, 0, 0, X4])
}

#[test]
fn delegate_moves_the_granule_to_realm_and_zeroes_it() {
    let rig = Rig::qemu();
    rig.machine.host_write(PAGE, &pattern()).unwrap();
    assert_eq!(delegate(&rig, PAGE), OK);
    assert_eq!(rig.state(PAGE), Some(GranuleState::Delegated));
    assert_eq!(rig.machine.pas(PAGE), Some(FakePas::Realm));
    assert_eq!(
        rig.machine.inspect(PAGE),
        [0; 4096],
        "host data must not reach a realm"
    );
    assert!(
        rig.machine.host_read(PAGE).is_err(),
        "the host can no longer read it"
    );
}

#[test]
fn undelegate_gives_the_host_back_a_zero_granule() {
    let rig = Rig::qemu();
    rig.machine.host_write(PAGE, &pattern()).unwrap();
    assert_eq!(delegate(&rig, PAGE), OK);
    assert_eq!(undelegate(&rig, PAGE), OK);
    assert_eq!(rig.state(PAGE), Some(GranuleState::Undelegated));
    assert_eq!(rig.machine.pas(PAGE), Some(FakePas::NonSecure));
    assert_eq!(rig.machine.host_read(PAGE).unwrap(), [0; 4096]);
    // And again: the cycle is repeatable.
    assert_eq!(delegate(&rig, PAGE), OK);
    assert_eq!(undelegate(&rig, PAGE), OK);
}

#[test]
fn el3_refusal_on_delegate_leaves_the_granule_with_the_host() {
    let rig = Rig::qemu();
    // The RMM's own carve-out is tracked DRAM, but EL3 knows it is not NS.
    let carveout = 0x4010_0000;
    assert_eq!(delegate(&rig, carveout), INPUT);
    assert_eq!(rig.state(carveout), Some(GranuleState::Undelegated));
    assert_eq!(rig.machine.pas(carveout), Some(FakePas::Realm));
    // Any EL3 error, on an ordinary page.
    rig.machine.host_write(PAGE, &pattern()).unwrap();
    for status in [
        El3Status::BadAddr,
        El3Status::BadPas,
        El3Status::Unknown,
        El3Status::Inval,
    ] {
        rig.machine.fail_gtsi(Some(status));
        assert_eq!(delegate(&rig, PAGE), INPUT, "{status:?}");
        assert_eq!(rig.state(PAGE), Some(GranuleState::Undelegated));
        assert_eq!(rig.machine.host_read(PAGE).unwrap(), pattern(), "untouched");
    }
    rig.machine.fail_gtsi(None);
    assert_eq!(
        delegate(&rig, PAGE),
        OK,
        "the lock was released on every error path"
    );
}

#[test]
fn el3_refusal_on_undelegate_keeps_the_granule_delegated() {
    let rig = Rig::qemu();
    assert_eq!(delegate(&rig, PAGE), OK);
    rig.machine.fail_gtsi(Some(El3Status::BadPas));
    assert_eq!(undelegate(&rig, PAGE), INPUT);
    assert_eq!(rig.state(PAGE), Some(GranuleState::Delegated));
    assert_eq!(rig.machine.pas(PAGE), Some(FakePas::Realm));
    rig.machine.fail_gtsi(None);
    assert_eq!(undelegate(&rig, PAGE), OK);
}

#[test]
fn fvp_banks_are_tracked_and_the_gap_between_them_is_not() {
    let rig = Rig::fvp();
    for pa in [0x8000_0000, 0xFBFF_F000, 0x8_8000_0000, 0x8_FFFF_F000] {
        assert_eq!(delegate(&rig, pa), OK, "{pa:#x}");
        assert_eq!(undelegate(&rig, pa), OK, "{pa:#x}");
    }
    for pa in [
        0xFC00_0000,
        0xFDC0_0000,
        0x1_0000_0000,
        0x8_7FFF_F000,
        0x9_0000_0000,
    ] {
        assert_eq!(delegate(&rig, pa), INPUT, "{pa:#x}");
    }
}

#[test]
fn four_cpus_delegating_at_once_agree_with_el3() {
    let rig = Rig::qemu();
    let shared: Vec<u64> = (0..4).map(|i| PAGE + i * 0x1000).collect();
    let delegated_shared = std::sync::atomic::AtomicI64::new(0);
    std::thread::scope(|s| {
        for cpu in 0..4u64 {
            let (rig, shared, delegated_shared) = (&rig, &shared, &delegated_shared);
            s.spawn(move || {
                let own: Vec<u64> = (0..32)
                    .map(|i| 0x6000_0000 + (cpu * 32 + i) * 0x1000)
                    .collect();
                for round in 0..20 {
                    for &pa in &own {
                        assert_eq!(delegate(rig, pa), OK);
                    }
                    for &pa in shared {
                        if delegate(rig, pa) == OK {
                            delegated_shared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if (round + cpu) % 2 == 0 && undelegate(rig, pa) == OK {
                            delegated_shared.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                    for &pa in &own {
                        assert_eq!(undelegate(rig, pa), OK);
                    }
                }
            });
        }
    });
    let mut live = 0;
    for pa in (0x6000_0000..0x6000_0000 + 128 * 0x1000)
        .step_by(0x1000)
        .chain(shared)
    {
        let state = rig.state(pa).unwrap();
        let pas = rig.machine.pas(pa).unwrap();
        assert_eq!(
            state == GranuleState::Delegated,
            pas == FakePas::Realm,
            "{pa:#x}"
        );
        if state == GranuleState::Delegated {
            live += 1;
            assert_eq!(rig.machine.inspect(pa), [0; 4096]);
        }
    }
    assert_eq!(
        live,
        delegated_shared.into_inner(),
        "successes match the final states"
    );
}

/// A reference count pushed out of range is an RMM bug: the monitor stops with a line naming
/// the counter and the direction (`invariant::holds` with `RefcountError::what`).
#[test]
#[should_panic(expected = "RMM invariant broken: a table's count: underflow")]
fn a_refcount_underflow_stops_naming_the_direction() {
    rmm::invariant::holds(
        Err(rmm::granule::table::RefcountError::Underflow),
        "a table's count",
    );
}

/// As above, for a count that would pass its maximum.
#[test]
#[should_panic(expected = "RMM invariant broken: a table's count: overflow")]
fn a_refcount_overflow_stops_naming_the_direction() {
    rmm::invariant::holds(
        Err(rmm::granule::table::RefcountError::Overflow),
        "a table's count",
    );
}
