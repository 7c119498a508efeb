// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property test: random sequences of RTT and DATA commands (valid and invalid) on one realm
//! keep the table invariants after every step:
//! - every RTT's reference count equals its counted entries (tables and assigned memory);
//! - every granule a table points at is in the state its entry says, and is pointed at once;
//! - every DATA granule is mapped by exactly one entry; every DELEGATED granule is zero.

use proptest::prelude::*;
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::host::{Host, Shape, TestRealm};
use std::collections::HashMap;

const UNPROTECTED: u64 = 1 << 39;

#[derive(Debug, Clone)]
enum Op {
    RttCreate { slot: usize, ipa: u64, level: i64 },
    RttDestroy { ipa: u64, level: i64 },
    RttFold { ipa: u64, level: i64 },
    DataUnknown { slot: usize, ipa: u64 },
    Data { slot: usize, ipa: u64 },
    DataDestroy { ipa: u64 },
    InitRipas { base: u64, pages: u64 },
    Map { ipa: u64, level: i64 },
    Unmap { ipa: u64, level: i64 },
}

/// A few IPAs that exercise shared and separate tables in both halves.
fn ipa() -> impl Strategy<Value = u64> {
    let bases = [
        0u64,
        0x20_0000,
        0x4000_0000,
        UNPROTECTED,
        UNPROTECTED + 0x20_0000,
    ];
    (0..bases.len(), 0u64..3).prop_map(move |(b, page)| bases[b] + page * 0x1000)
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0usize..24;
    let level = 1i64..=3;
    prop_oneof![
        (slot.clone(), ipa(), 2i64..=3).prop_map(|(slot, ipa, level)| Op::RttCreate {
            slot,
            ipa,
            level
        }),
        (ipa(), 2i64..=3).prop_map(|(ipa, level)| Op::RttDestroy { ipa, level }),
        (ipa(), 2i64..=3).prop_map(|(ipa, level)| Op::RttFold { ipa, level }),
        (slot.clone(), ipa()).prop_map(|(slot, ipa)| Op::DataUnknown { slot, ipa }),
        (slot, ipa()).prop_map(|(slot, ipa)| Op::Data { slot, ipa }),
        ipa().prop_map(|ipa| Op::DataDestroy { ipa }),
        (ipa(), 1u64..4).prop_map(|(base, pages)| Op::InitRipas { base, pages }),
        (ipa(), level.clone()).prop_map(|(ipa, level)| Op::Map { ipa, level }),
        (ipa(), level).prop_map(|(ipa, level)| Op::Unmap { ipa, level }),
    ]
}

fn align(ipa: u64, level: i64) -> u64 {
    let shift = 12 + 9 * (3 - level) as u64;
    ipa & !((1 << shift) - 1)
}

fn apply(host: &Host, r: &TestRealm, pool: &[u64], src: u64, op: &Op) {
    match *op {
        Op::RttCreate { slot, ipa, level } => {
            host.rtt_create(r.rd, pool[slot], align(ipa, level - 1), level);
        }
        Op::RttDestroy { ipa, level } => {
            host.rtt_destroy(r.rd, align(ipa, level - 1), level);
        }
        Op::RttFold { ipa, level } => {
            host.rtt_fold(r.rd, align(ipa, level - 1), level);
        }
        Op::DataUnknown { slot, ipa } => {
            host.data_create_unknown(r.rd, pool[slot], ipa);
        }
        Op::Data { slot, ipa } => {
            host.data_create(r.rd, pool[slot], ipa, src, 1);
        }
        Op::DataDestroy { ipa } => {
            host.data_destroy(r.rd, ipa);
        }
        Op::InitRipas { base, pages } => {
            host.init_ripas(r.rd, base, base + pages * 0x1000);
        }
        Op::Map { ipa, level } => {
            host.map_unprotected(
                r.rd,
                align(ipa, level),
                level,
                0x9000_0000 & !((1 << (12 + 9 * (3 - level) as u64)) - 1),
            );
        }
        Op::Unmap { ipa, level } => {
            host.unmap_unprotected(r.rd, align(ipa, level), level);
        }
    }
}

/// Walks every table from the roots and checks the invariants.
fn check(host: &Host, r: &TestRealm) -> Result<(), String> {
    let machine = &host.rig.machine;
    let states: HashMap<u64, (GranuleState, u16)> = host
        .rig
        .monitor
        .granules
        .snapshot()
        .filter(|(_, s, _)| *s != GranuleState::Undelegated)
        .map(|(a, s, c)| (a.get(), (s, c)))
        .collect();
    let mut seen: HashMap<u64, &str> = HashMap::new();
    let mut stack: Vec<(u64, i64)> = (0..r.shape.num_roots)
        .map(|n| (r.rtt_base + n * 0x1000, r.shape.start_level))
        .collect();
    while let Some((table, level)) = stack.pop() {
        let lvl = RttLevel::new(level).unwrap();
        let raw = machine.inspect(table);
        let mut counted = 0u16;
        for e in raw.chunks_exact(8) {
            let entry = Entry::decode(u64::from_le_bytes(e.try_into().unwrap()), lvl);
            if entry.is_counted() {
                counted += 1;
            }
            match entry {
                Entry::Table(next) => {
                    if states.get(&next.get()).map(|s| s.0) != Some(GranuleState::Rtt) {
                        return Err(format!("table entry -> {next:?} not an RTT"));
                    }
                    if seen.insert(next.get(), "table").is_some() {
                        return Err(format!("{next:?} referenced twice"));
                    }
                    stack.push((next.get(), level + 1));
                }
                Entry::Assigned { pa, .. } => {
                    let pages = lvl.entry_size() / 0x1000;
                    for p in 0..pages {
                        let g = pa + p * 0x1000;
                        if states.get(&g).map(|s| s.0) != Some(GranuleState::Data) {
                            return Err(format!("assigned entry -> {g:#x} not DATA"));
                        }
                        if seen.insert(g, "data").is_some() {
                            return Err(format!("{g:#x} mapped twice"));
                        }
                    }
                }
                _ => {}
            }
        }
        let count = states[&table].1;
        if count != counted {
            return Err(format!(
                "RTT {table:#x} refcount {count}, {counted} counted entries"
            ));
        }
    }
    for (pa, (state, _)) in &states {
        match state {
            GranuleState::Data if !seen.contains_key(pa) => {
                return Err(format!("DATA {pa:#x} not mapped"));
            }
            GranuleState::Delegated if machine.inspect(*pa) != [0; 4096] => {
                return Err(format!("DELEGATED {pa:#x} not zero"));
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_rtt_and_data_sequences_keep_the_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let host = Host::new();
        let r = host.must_create_realm(Shape::default());
        let pool: Vec<u64> = (0..24).map(|_| host.must_delegated()).collect();
        let src = host.ns_page(&[0x5A; 4096]);
        for (i, op) in ops.iter().enumerate() {
            apply(&host, &r, &pool, src, op);
            if let Err(broken) = check(&host, &r) {
                prop_assert!(false, "after step {i} {op:?}: {broken}");
            }
        }
    }
}
