// SPDX-License-Identifier: MIT OR Apache-2.0
//! Four host CPUs (threads) drive one monitor at once: each builds and tears down its own
//! realms, and all of them fight over the tables of one shared realm. Afterwards every
//! granule must be back where it started (nothing leaked, nothing double-freed), and no
//! command may have failed in a way the sequential semantics do not allow.

use rmm_abi::rmi::fid;
use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::states::GranuleState;
use rmm_integration_tests::Rig;
use rmm_integration_tests::host::Host;
use std::sync::Arc;
use zerocopy::IntoBytes;

const CPUS: u64 = 4;
const ROUNDS: u64 = 40;

fn call(rig: &Rig, f: u32, args: &[u64]) -> u64 {
    rig.call(u64::from(f), args)[0]
}

/// Per-CPU pool of 64 granules at its own 1 MiB slot.
fn pool(cpu: u64) -> u64 {
    0x9000_0000 + cpu * 0x10_0000
}

fn params_page(rig: &Rig, pa: u64, vmid: u64, rtt_base: u64) {
    let mut p = RealmParams::zeroed();
    p.s2sz = 39;
    p.num_bps = 1;
    p.num_wps = 1;
    p.vmid = vmid;
    p.rtt_base = rtt_base;
    p.rtt_level_start = 1;
    p.rtt_num_start = 1;
    let mut page = [0u8; 4096];
    page.copy_from_slice(p.as_bytes());
    rig.machine.host_write(pa, &page).unwrap();
}

fn private_realm_cycles(rig: &Rig, cpu: u64) {
    let base = pool(cpu);
    let (rd, root, l2, l3, data, params, src) = (
        base,
        base + 0x1000,
        base + 0x2000,
        base + 0x3000,
        base + 0x4000,
        base + 0x5000,
        base + 0x6000,
    );
    rig.machine.host_write(src, &[cpu as u8 + 1; 4096]).unwrap();
    for g in [rd, root, l2, l3, data] {
        assert_eq!(call(rig, fid::GRANULE_DELEGATE, &[g]), 0);
    }
    for round in 0..ROUNDS {
        params_page(rig, params, 100 + cpu, root);
        assert_eq!(
            call(rig, fid::REALM_CREATE, &[rd, params]),
            0,
            "cpu {cpu} round {round}"
        );
        assert_eq!(call(rig, fid::RTT_CREATE, &[rd, l2, 0, 2]), 0);
        assert_eq!(call(rig, fid::RTT_CREATE, &[rd, l3, 0, 3]), 0);
        assert_eq!(call(rig, fid::DATA_CREATE, &[rd, data, 0x1000, src, 1]), 0);
        assert_eq!(call(rig, fid::DATA_DESTROY, &[rd, 0x1000]), 0);
        assert_eq!(call(rig, fid::RTT_DESTROY, &[rd, 0, 3]), 0);
        assert_eq!(call(rig, fid::RTT_DESTROY, &[rd, 0, 2]), 0);
        assert_eq!(call(rig, fid::REALM_DESTROY, &[rd]), 0);
    }
    for g in [rd, root, l2, l3, data] {
        assert_eq!(
            call(rig, fid::GRANULE_UNDELEGATE, &[g]),
            0,
            "cpu {cpu}: {g:#x} leaked"
        );
    }
}

/// Every CPU creates and destroys tables at the same few IPAs of one realm: each command
/// either succeeds or fails with ERROR_RTT (someone else got there first), never anything
/// else, and the table it handed in is DELEGATED again whenever it did not become an RTT.
fn shared_realm_fight(rig: &Rig, cpu: u64, rd: u64) {
    let rtt = pool(cpu) + 0x8000;
    assert_eq!(call(rig, fid::GRANULE_DELEGATE, &[rtt]), 0);
    for round in 0..ROUNDS * 4 {
        let ipa = (round % 3) << 30;
        let create = call(rig, fid::RTT_CREATE, &[rd, rtt, ipa, 2]);
        assert!(create == 0 || create & 0xFF == 4, "create: {create:#x}");
        let out = rig.call(u64::from(fid::RTT_DESTROY), &[rd, ipa, 2]);
        assert!(out[0] == 0 || out[0] & 0xFF == 4, "destroy: {:#x}", out[0]);
        // Whoever destroyed a table, ours must be free again before we reuse it.
        while rig.state(rtt) != Some(GranuleState::Delegated) {
            let out = rig.call(u64::from(fid::RTT_DESTROY), &[rd, ipa, 2]);
            assert!(out[0] == 0 || out[0] & 0xFF == 4);
            std::thread::yield_now();
        }
    }
    assert_eq!(call(rig, fid::GRANULE_UNDELEGATE, &[rtt]), 0);
}

#[test]
fn four_cpus_create_and_destroy_realms_and_tables_at_once() {
    let host = Host::new();
    let shared = host.must_create_realm(Default::default());
    let rig = Arc::new(host.rig);
    let threads: Vec<_> = (0..CPUS)
        .map(|cpu| {
            let rig = Arc::clone(&rig);
            std::thread::spawn(move || {
                private_realm_cycles(&rig, cpu);
                shared_realm_fight(&rig, cpu, shared.rd);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no CPU panicked");
    }
    assert_eq!(
        call(&rig, fid::REALM_DESTROY, &[shared.rd]),
        0,
        "no table left behind"
    );
    for (addr, state, count) in rig.monitor.granules.snapshot() {
        if addr.get() >= 0x9000_0000 && addr.get() < 0x9100_0000 {
            assert_eq!((state, count), (GranuleState::Undelegated, 0), "{addr:?}");
        }
    }
}
