// SPDX-License-Identifier: MIT OR Apache-2.0
//! Four CPUs at once (issue 17, test 11): four CSM realms in a ring, each on its own thread,
//! each sharing its region with the next and accepting from the previous, reading the
//! provider's bytes through the alias (translated through that thread's simulated TLB),
//! revoking, sharing again — while the calls race for the CSM lock and the RD locks. Realm
//! 0's region runs from the last two pages of its 2 MiB block into the table after it, so one
//! ACCEPT in four walks a provider block and then a table under contention. Every
//! call must answer success or a spec error (never stop the monitor); afterwards no CPU may
//! hold a stale translation, every window is back to unassigned RIPAS EMPTY, every table's
//! reference count matches its live entries, and every APT granule decodes in full (fields,
//! checksum, rules and the zeros after the table) with no grant or received grant left.

use rmm::arch::fake::FakeMachine;
use rmm::arch::world::{RealmContext, RealmEntryConfig};
use rmm::rtt::entry::Entry;
use rmm::rtt::level::RttLevel;
use rmm_integration_tests::csm::{
    ACCEPT, AFTER_BLOCK, CREATE, Outcome, PAGE, QUERY, READ_WRITE, REGION, REGION_PAGES, REVOKE,
    SHARE, WINDOW, World, call_on, rsi,
};
use std::sync::atomic::{AtomicU64, Ordering};

const REALMS: usize = 4;
const ROUNDS: usize = 60;
const SIZE: u64 = REGION_PAGES * PAGE;

#[test]
fn four_realms_share_in_a_ring_on_four_cpus() {
    let w = World::with_provider_block(REALMS);
    let ids: Vec<u64> = (0..REALMS).map(|i| w.realm_id(i)).collect();
    let regions: Vec<u64> = (0..REALMS)
        .map(|i| {
            let base = if i == 0 {
                AFTER_BLOCK - 2 * PAGE
            } else {
                REGION
            };
            let r = w.call(i, CREATE, &[base, SIZE]).regs();
            assert_eq!(r[0], rsi::SUCCESS);
            r[1]
        })
        .collect();
    // The share realm i offers realm i + 1 (0: none yet).
    let offered: Vec<AtomicU64> = (0..REALMS).map(|_| AtomicU64::new(0)).collect();
    let runs: Vec<u64> = (0..REALMS).map(|_| w.host.ns_page(&[0; 8])).collect();
    let accepted = AtomicU64::new(0);
    // Lockstep phases (share, accept, revoke), each run by the four threads at once.
    let barrier = std::sync::Barrier::new(REALMS);
    std::thread::scope(|scope| {
        for i in 0..REALMS {
            let (rig, realm) = (&w.host.rig, &w.realms[i]);
            let (ids, regions, offered, accepted) = (&ids, &regions, &offered, &accepted);
            let barrier = &barrier;
            let run = runs[i];
            scope.spawn(move || {
                let next = (i + 1) % REALMS;
                let prev = (i + REALMS - 1) % REALMS;
                let call = |fid, args: &[u64]| call_on(rig, realm, run, fid, args, |_, _, _| {});
                for round in 0..ROUNDS {
                    // Provider: offer (again) to the next realm.
                    if offered[i].load(Ordering::Acquire) == 0 {
                        let out = call(SHARE, &[regions[i], ids[next], READ_WRITE]).regs();
                        assert_eq!(out[0], rsi::SUCCESS, "SHARE by {i}");
                        offered[i].store(out[1], Ordering::Release);
                    }
                    barrier.wait();
                    // Consumer: accept what the previous realm offers.
                    let share = offered[prev].load(Ordering::Acquire);
                    if share != 0 {
                        // Realm 0's block and the pages after it hold 0xB0.
                        let byte = if prev == 0 { 0xB0 } else { 0xA0 + prev as u8 };
                        let out = call_on(
                            rig,
                            realm,
                            run,
                            ACCEPT,
                            &[share, ids[prev], WINDOW, SIZE],
                            move |m: &FakeMachine, c: &RealmEntryConfig, ctx: &mut RealmContext| {
                                if ctx.gprs.x[0] == rsi::SUCCESS {
                                    for page in [1, 2] {
                                        let mut b = [0u8; 4];
                                        m.realm_read_ipa(c, WINDOW + page * PAGE, &mut b)
                                            .expect("an attached window reads");
                                        assert_eq!(b, [byte; 4], "the provider's bytes");
                                    }
                                }
                            },
                        );
                        match out {
                            Outcome::Returned(regs) if regs[0] == rsi::SUCCESS => {
                                accepted.fetch_add(1, Ordering::Relaxed);
                            }
                            // Revoked meanwhile, or already attached: spec errors.
                            Outcome::Returned(regs) => {
                                assert!(matches!(regs[0], rsi::INPUT | rsi::STATE), "{regs:?}")
                            }
                            // The CSM lock was contended and a host interrupt pending: the
                            // fake never raises one here, so any exit is wrong.
                            Outcome::Exited(..) => panic!("ACCEPT by {i} exited: {out:?}"),
                        }
                    }
                    barrier.wait();
                    // Provider: every other round, revoke (the consumer's window goes EMPTY).
                    if round % 2 == 1 {
                        let share = offered[i].swap(0, Ordering::AcqRel);
                        if share != 0 {
                            assert_eq!(call(REVOKE, &[share]).status(), rsi::SUCCESS);
                        }
                    }
                    let q = call(QUERY, &[0]).regs();
                    assert_eq!(q[..2], [rsi::SUCCESS, ids[i]]);
                }
                // Leave nothing offered.
                let share = offered[i].swap(0, Ordering::AcqRel);
                if share != 0 {
                    assert_eq!(call(REVOKE, &[share]).status(), rsi::SUCCESS);
                }
            });
        }
    });
    assert!(
        accepted.load(Ordering::Relaxed) > 0,
        "the ring shared something"
    );
    assert!(
        w.machine().stale_translations().is_empty(),
        "no CPU keeps a stale alias"
    );
    for i in 0..REALMS {
        let l3 = w.host.read_entry(w.rd(i), 0, 2)[3];
        let mut live = 0u16;
        for index in 0..512u64 {
            let mut word = [0; 8];
            w.machine().realm_read(l3 + index * 8, &mut word);
            let entry = Entry::decode(u64::from_le_bytes(word), RttLevel::LEAF);
            assert!(
                !matches!(entry, Entry::Alias { .. }),
                "realm {i}: an alias survived"
            );
            live += u16::from(entry.is_counted());
        }
        assert_eq!(w.host.refcount(l3), live, "realm {i}'s table count");
        for p in 0..REGION_PAGES {
            assert_eq!(
                w.entry(i, WINDOW + p * PAGE)[1..],
                [0, 0, 0],
                "window of {i}"
            );
        }
        let mut granule = [0u8; 4096];
        w.machine().realm_read(w.apts[i], &mut granule);
        let table = apt::FwApt::decode(&granule)
            .unwrap_or_else(|e| panic!("realm {i}'s APT does not decode in full: {e:?}"));
        assert_eq!(table.owner.get(), w.realm_id(i), "realm {i}'s APT owner");
        assert_eq!(table.relations().count(), 0, "realm {i}: a grant survived");
    }
}
