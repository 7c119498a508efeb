// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests: random sequences of DELEGATE, UNDELEGATE, host writes and EL3 refusals,
//! checked after every step against a model and against the granule invariants:
//! - the RMM's granule state is DELEGATED exactly when EL3 has the granule in the Realm PAS;
//! - a DELEGATED granule is all zeros;
//! - an NS granule holds exactly what the host last wrote (zeros after an undelegation);
//! - every result is what the model predicts (success, or `RMI_ERROR_INPUT` with nothing
//!   changed), with x1..x3 zero and x4 preserved.

use proptest::prelude::*;
use rmm::arch::fake::FakePas;
use rmm_abi::el3::El3Status;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;

const DELEGATE: u64 = 0xC400_0151;
const UNDELEGATE: u64 = 0xC400_0152;
const X4: u64 = 0x0BAD_CAFE_0000_0004;
const POOL: u64 = 0x5000_0000;
const GRANULES: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Delegate(usize),
    Undelegate(usize),
    HostWrite(usize, u8),
    /// Delegate an address that is never valid (misaligned, outside DRAM, RMM carve-out).
    DelegateInvalid(u8),
    El3Refuses(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..GRANULES).prop_map(Op::Delegate),
        4 => (0..GRANULES).prop_map(Op::Undelegate),
        2 => (0..GRANULES, 1u8..).prop_map(|(g, b)| Op::HostWrite(g, b)),
        1 => any::<u8>().prop_map(Op::DelegateInvalid),
        1 => any::<bool>().prop_map(Op::El3Refuses),
    ]
}

fn pa(granule: usize) -> u64 {
    POOL + granule as u64 * 0x1000
}

#[derive(Debug, Default, Clone, Copy)]
struct Model {
    delegated: bool,
    /// The byte the host last filled the granule with (0 = zeros).
    content: u8,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_sequences_keep_the_granule_invariants(ops in proptest::collection::vec(op(), 1..120)) {
        let rig = Rig::qemu();
        let mut model = [Model::default(); GRANULES];
        let mut el3_refuses = false;
        for op in ops {
            match op {
                Op::Delegate(g) => {
                    let ok = !model[g].delegated && !el3_refuses;
                    let out = rig.call(DELEGATE, &[pa(g), 0, 0, X4]);
                    prop_assert_eq!(out, [u64::from(!ok), 0, 0, 0, X4], "{:?}", op);
                    if ok {
                        model[g] = Model { delegated: true, content: 0 };
                    }
                }
                Op::Undelegate(g) => {
                    let ok = model[g].delegated && !el3_refuses;
                    let out = rig.call(UNDELEGATE, &[pa(g), 0, 0, X4]);
                    prop_assert_eq!(out, [u64::from(!ok), 0, 0, 0, X4], "{:?}", op);
                    if ok {
                        model[g].delegated = false;
                    }
                }
                Op::HostWrite(g, byte) => {
                    let written = rig.machine.host_write(pa(g), &[byte; 4096]);
                    prop_assert_eq!(written.is_ok(), !model[g].delegated);
                    if written.is_ok() {
                        model[g].content = byte;
                    }
                }
                Op::DelegateInvalid(which) => {
                    let bad = [pa(0) + 8, 0x3FFF_F000, 0x1_0000_0000, 0x4010_0000][usize::from(which % 4)];
                    let out = rig.call(DELEGATE, &[bad, 0, 0, X4]);
                    prop_assert_eq!(out, [1, 0, 0, 0, X4]);
                }
                Op::El3Refuses(refuse) => {
                    el3_refuses = refuse;
                    rig.machine.fail_gtsi(refuse.then_some(El3Status::BadPas));
                }
            }
            for (g, m) in model.iter().enumerate() {
                let state = rig.state(pa(g)).expect("tracked");
                let pas = rig.machine.pas(pa(g)).expect("memory");
                prop_assert_eq!(state == GranuleState::Delegated, m.delegated);
                prop_assert_eq!(pas == FakePas::Realm, m.delegated, "PAS agrees with the table");
                let expected = if m.delegated { 0 } else { m.content };
                prop_assert!(rig.machine.inspect(pa(g)).iter().all(|b| *b == expected));
            }
            prop_assert_eq!(rig.state(0x4010_0000), Some(GranuleState::Undelegated));
        }
    }
}
