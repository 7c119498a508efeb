// SPDX-License-Identifier: MIT OR Apache-2.0
//! No stale stage-2 translation survives a command that takes memory away from a realm.
//!
//! Realms with VMIDs on both sides of 256 run (REC_ENTER with scripted realms, each entry on
//! its own simulated CPU: the test thread or a new one) and touch their pages by IPA through
//! the fake's per-CPU TLBs, which the fake fills by its own stage-2 walk
//! (`rmm::arch::fake::tlb`, independent of `rmm::rtt`). The host then takes the pages away
//! (DATA_DESTROY, RTT_SET_RIPAS, UNMAP_UNPROTECTED, RTT_DESTROY, RTT_FOLD, REALM_DESTROY),
//! hands the granule to another realm, and every cached translation on every CPU is
//! compared with a fresh walk: none may be stale, and the first realm touching the old IPA
//! again must fault rather than reach the granule's new owner through its TLB.

use rmm::arch::fake::{FakeMachine, Stage2Fault};
use rmm::arch::world::RealmEntryConfig;
use rmm_abi::rmi::fid;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{Host, Shape, status};
use rmm_integration_tests::running::*;
use std::sync::{Arc, Mutex};

/// (first realm, second realm): VMIDs whose low bytes collide, on both sides of 256.
const VMID_PAIRS: [(u64, u64); 3] = [(0x101, 0x001), (0x001, 0x101), (0xFFFF, 0x0FF)];

const IRQ_EXIT: u64 = 1;
const RIPAS_EXIT: u64 = 4;
const EMPTY: u64 = 0;

/// An unprotected mapping descriptor for host page `pa`: Normal write-back, read-write.
const fn ns_desc(pa: u64) -> u64 {
    pa | (0b110 << 2) | (0b11 << 6)
}

/// What the second realm writes into the granule it is given.
const SECRET: [u8; 8] = *b"victim!!";

/// A host with the run page every entry uses.
struct Scene {
    host: Host,
    run: u64,
}

/// Where a run happens: the test thread (one simulated CPU for the whole test) or a new
/// thread (another CPU, whose TLB outlives the thread).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cpu {
    This,
    New,
}

/// What a realm access found: the bytes, or the stage-2 fault.
type Seen = Arc<Mutex<Vec<(u64, Result<[u8; 8], Stage2Fault>)>>>;

impl Scene {
    fn new() -> Self {
        let host = Host::new();
        let run = host.ns_page(&[0u8; 4096]);
        Self { host, run }
    }

    fn machine(&self) -> &FakeMachine {
        &self.host.rig.machine
    }

    /// An active realm of the running rig's layout with VMID `vmid`.
    fn realm(&self, vmid: u64) -> RunnableRealm {
        self.realm_then(vmid, |_| {})
    }

    /// As [`Self::realm`], with `extra` done to the NEW realm before it is activated.
    fn realm_then(&self, vmid: u64, extra: impl FnOnce(&RunnableRealm)) -> RunnableRealm {
        let shape = Shape {
            vmid,
            ..Shape::default()
        };
        let realm = add_realm(&self.host, shape, 1, false, false);
        extra(&realm);
        assert_eq!(self.host.realm_activate(realm.realm.rd)[0], status::SUCCESS);
        realm
    }

    /// Enters REC 0 of `realm` on `cpu`, running `step`, which must end in an IRQ exit.
    fn run(&self, realm: &RunnableRealm, cpu: Cpu, step: Step) {
        script_rec(self.machine(), realm.rec_id(0), vec![step]);
        let rig = &self.host.rig;
        let (rec, run) = (realm.recs[0], self.run);
        let enter = move || {
            assert_eq!(rec_enter(rig, rec, run, 0, &[], 0, &[])[0], status::SUCCESS);
            assert_eq!(exit_word(rig, run, 0), IRQ_EXIT);
        };
        match cpu {
            Cpu::This => enter(),
            Cpu::New => std::thread::scope(|s| {
                s.spawn(enter).join().expect("the realm CPU");
            }),
        }
    }

    /// `realm` reads 8 bytes at each of `ipas` on `cpu`; returns what it saw.
    fn read(
        &self,
        realm: &RunnableRealm,
        cpu: Cpu,
        ipas: &[u64],
    ) -> Vec<Result<[u8; 8], Stage2Fault>> {
        let seen: Seen = Arc::default();
        self.run(realm, cpu, reads(ipas.to_vec(), Arc::clone(&seen)));
        let seen = seen.lock().expect("not poisoned");
        seen.iter().map(|(_, r)| *r).collect()
    }

    /// `realm` reads each of `ipas` on this CPU and on a new one, and each read succeeds.
    fn touch(&self, realm: &RunnableRealm, ipas: &[u64]) {
        for cpu in [Cpu::This, Cpu::New] {
            for (ipa, seen) in ipas.iter().zip(self.read(realm, cpu, ipas)) {
                assert!(seen.is_ok(), "the realm reads {ipa:#x}: {seen:?}");
            }
        }
        let (leaves, _) = self.machine().cached_translations();
        assert!(leaves >= ipas.len(), "the TLBs hold what the realm used");
        self.assert_no_stale("the realm touched its pages");
    }

    /// `realm` writes [`SECRET`] at `ipa` on a new CPU.
    fn write_secret(&self, realm: &RunnableRealm, ipa: u64) {
        self.run(
            realm,
            Cpu::New,
            Box::new(move |m, config, _| {
                m.realm_write_ipa(config, ipa, &SECRET)
                    .expect("the new owner writes its page");
                irq()
            }),
        );
    }

    /// No CPU's TLB holds a translation the tables contradict.
    fn assert_no_stale(&self, after: &str) {
        let stale = self.machine().stale_translations();
        assert!(
            stale.is_empty(),
            "after {after}: {} stale translation(s) survive: {stale:#x?}",
            stale.len()
        );
    }

    /// The granule `pa`, which left `realm`, goes to `other` as DATA at [`UNPOPULATED_IPA`]
    /// (RIPAS RAM there), which writes [`SECRET`] into it; then `realm`, back on the test
    /// thread's CPU (whose TLB it filled), must fault at `old_ipa` rather than read it.
    fn hand_over(&self, pa: u64, other: &RunnableRealm, realm: &RunnableRealm, old_ipa: u64) {
        assert_eq!(
            self.host
                .data_create_unknown(other.realm.rd, pa, UNPOPULATED_IPA)[0],
            status::SUCCESS
        );
        self.write_secret(other, UNPOPULATED_IPA);
        self.assert_no_stale("the granule went to another realm");
        let seen = self.read(realm, Cpu::This, &[old_ipa]);
        assert!(
            matches!(seen[0], Err(Stage2Fault::Translation { .. })),
            "the old owner reads {old_ipa:#x} after its page went away: {:?}",
            seen[0].map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        );
    }
}

/// A realm step reading 8 bytes at each of `ipas` into `seen`, then taking an IRQ.
fn reads(ipas: Vec<u64>, seen: Seen) -> Step {
    Box::new(move |m: &FakeMachine, config: &RealmEntryConfig, _| {
        for &ipa in &ipas {
            let mut buf = [0u8; 8];
            let result = m.realm_read_ipa(config, ipa, &mut buf).map(|()| buf);
            seen.lock().expect("not poisoned").push((ipa, result));
        }
        irq()
    })
}

#[test]
fn data_destroy_then_the_granule_in_another_realm() {
    for (a, b) in VMID_PAIRS {
        let s = Scene::new();
        let first = s.realm(a);
        let second = s.realm(b);
        s.touch(&first, &[IMAGE_IPA, CALL_IPA]);
        assert_eq!(
            s.host.data_destroy(first.realm.rd, CALL_IPA)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!("DATA_DESTROY in VMID {a:#x}"));
        s.hand_over(first.call_pa, &second, &first, CALL_IPA);
        // The page it kept still works.
        assert!(s.read(&first, Cpu::This, &[IMAGE_IPA])[0].is_ok());
    }
}

#[test]
fn ripas_change_to_empty_then_the_granule_in_another_realm() {
    for (a, b) in VMID_PAIRS {
        let s = Scene::new();
        let first = s.realm(a);
        let second = s.realm(b);
        s.touch(&first, &[CALL_IPA]);
        // The realm uses the page on this CPU, then gives it up.
        script_rec(
            s.machine(),
            first.rec_id(0),
            vec![Box::new(|m, config, ctx| {
                let mut buf = [0u8; 8];
                m.realm_read_ipa(config, CALL_IPA, &mut buf)
                    .expect("mapped");
                rsi_call(
                    ctx,
                    rsi::IPA_STATE_SET,
                    &[CALL_IPA, CALL_IPA + 0x1000, EMPTY, 0],
                )
            })],
        );
        let rig = &s.host.rig;
        assert_eq!(
            rec_enter(rig, first.recs[0], s.run, 0, &[], 0, &[])[0],
            status::SUCCESS
        );
        assert_eq!(exit_word(rig, s.run, 0), RIPAS_EXIT);
        let out = s.host.call(
            fid::RTT_SET_RIPAS,
            &[first.realm.rd, first.recs[0], CALL_IPA, CALL_IPA + 0x1000],
        );
        assert_eq!(out[..2], [status::SUCCESS, CALL_IPA + 0x1000]);
        s.assert_no_stale(&format!("RTT_SET_RIPAS to EMPTY in VMID {a:#x}"));
        // Assigned EMPTY: no longer mapped, so DATA_DESTROY needs no invalidation of its own.
        assert_eq!(
            s.host.data_destroy(first.realm.rd, CALL_IPA)[0],
            status::SUCCESS
        );
        s.hand_over(first.call_pa, &second, &first, CALL_IPA);
    }
}

#[test]
fn unmap_unprotected_then_the_granule_in_another_realm() {
    for (a, b) in VMID_PAIRS {
        let s = Scene::new();
        let ipa = UNPROTECTED + 0x5000;
        let shared = s.host.ns_page(b"shared");
        let first = s.realm_then(a, |r| {
            s.host.must_tables_to(&r.realm, ipa, 3);
            assert_eq!(
                s.host.map_unprotected(r.realm.rd, ipa, 3, ns_desc(shared))[0],
                status::SUCCESS
            );
        });
        let second = s.realm(b);
        s.touch(&first, &[ipa]);
        assert_eq!(
            s.host.unmap_unprotected(first.realm.rd, ipa, 3)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!("UNMAP_UNPROTECTED in VMID {a:#x}"));
        // The host gives its page to the other realm.
        assert_eq!(s.host.delegate(shared)[0], status::SUCCESS);
        s.hand_over(shared, &second, &first, ipa);
    }
}

#[test]
fn rtt_destroy_drops_the_walks_through_the_table() {
    for (a, b) in VMID_PAIRS {
        let s = Scene::new();
        let first = s.realm(a);
        let second = s.realm(b);
        s.touch(&first, &[IMAGE_IPA, CALL_IPA]);
        // A fault under the level-3 table: the walks through it are cached all the same.
        assert!(matches!(
            s.read(&first, Cpu::This, &[EMPTY_IPA])[0],
            Err(Stage2Fault::Translation { level: 3 })
        ));
        assert!(s.machine().cached_translations().1 > 0);
        for ipa in [IMAGE_IPA, CALL_IPA] {
            assert_eq!(s.host.data_destroy(first.realm.rd, ipa)[0], status::SUCCESS);
        }
        let out = s.host.rtt_destroy(first.realm.rd, 0, 3);
        assert_eq!(out[0], status::SUCCESS);
        s.assert_no_stale(&format!("RTT_DESTROY in VMID {a:#x}"));
        // The table granule becomes the other realm's memory.
        s.hand_over(out[1], &second, &first, EMPTY_IPA);
    }
}

#[test]
fn rtt_destroy_of_a_table_of_unprotected_mappings() {
    for (a, _) in VMID_PAIRS {
        let s = Scene::new();
        let base = UNPROTECTED + 0x20_0000;
        let pages = s.host.alloc(2);
        let first = s.realm_then(a, |r| {
            s.host.must_tables_to(&r.realm, base, 3);
            for i in 0..2 {
                let out = s.host.map_unprotected(
                    r.realm.rd,
                    base + i * 0x1000,
                    3,
                    ns_desc(pages + i * 0x1000),
                );
                assert_eq!(out[0], status::SUCCESS);
            }
        });
        s.touch(&first, &[base, base + 0x1000]);
        // Unprotected mappings are not counted: the table goes with them (reference rule).
        assert_eq!(
            s.host.rtt_destroy(first.realm.rd, base, 3)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!("RTT_DESTROY of live NS mappings in VMID {a:#x}"));
        for ipa in [base, base + 0x1000] {
            assert!(s.read(&first, Cpu::This, &[ipa])[0].is_err());
        }
    }
}

#[test]
fn rtt_fold_of_unprotected_mappings_then_unmap() {
    for (a, _) in VMID_PAIRS {
        let s = Scene::new();
        let base = UNPROTECTED + 0x40_0000;
        let pages = s.host.alloc_aligned(512);
        let first = s.realm_then(a, |r| {
            s.host.must_tables_to(&r.realm, base, 3);
            for i in 0..512 {
                let out = s.host.map_unprotected(
                    r.realm.rd,
                    base + i * 0x1000,
                    3,
                    ns_desc(pages + i * 0x1000),
                );
                assert_eq!(out[0], status::SUCCESS);
            }
        });
        s.touch(&first, &[base, base + 0x1000, base + 0x1F_F000]);
        assert_eq!(s.host.rtt_fold(first.realm.rd, base, 3)[0], status::SUCCESS);
        s.assert_no_stale(&format!("RTT_FOLD in VMID {a:#x}"));
        // One block now: unmapping it must leave none of the pages behind.
        assert_eq!(
            s.host.unmap_unprotected(first.realm.rd, base, 2)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!(
            "UNMAP_UNPROTECTED of the folded block in VMID {a:#x}"
        ));
        for ipa in [base, base + 0x1000, base + 0x1F_F000] {
            assert!(s.read(&first, Cpu::This, &[ipa])[0].is_err(), "{ipa:#x}");
        }
    }
}

#[test]
fn rtt_fold_of_data_then_unfold_and_destroy() {
    for (a, b) in VMID_PAIRS {
        let s = Scene::new();
        let base = 0x20_0000;
        let data = s.host.must_delegated_run(512);
        let first = s.realm_then(a, |r| {
            let rd = r.realm.rd;
            s.host.must_tables_to(&r.realm, base, 3);
            assert_eq!(
                s.host.init_ripas(rd, base, base + 0x20_0000)[0],
                status::SUCCESS
            );
            for i in 0..512 {
                let out = s
                    .host
                    .data_create_unknown(rd, data + i * 0x1000, base + i * 0x1000);
                assert_eq!(out[0], status::SUCCESS);
            }
        });
        let second = s.realm(b);
        s.touch(&first, &[base, base + 0x1000]);
        assert_eq!(s.host.rtt_fold(first.realm.rd, base, 3)[0], status::SUCCESS);
        s.assert_no_stale(&format!("RTT_FOLD of DATA in VMID {a:#x}"));
        // The block is used as a block, then split again.
        s.touch(&first, &[base + 0x2000]);
        let rtt = s.host.must_delegated();
        assert_eq!(
            s.host.rtt_create(first.realm.rd, rtt, base, 3)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!("RTT_CREATE splitting the block in VMID {a:#x}"));
        s.touch(&first, &[base + 0x1000]);
        assert_eq!(
            s.host.data_destroy(first.realm.rd, base + 0x1000)[0],
            status::SUCCESS
        );
        s.assert_no_stale(&format!(
            "DATA_DESTROY of a page of the split block in VMID {a:#x}"
        ));
        s.hand_over(data + 0x1000, &second, &first, base + 0x1000);
    }
}

#[test]
fn realm_destroy_then_its_vmid_reused() {
    for (a, _) in VMID_PAIRS {
        let s = Scene::new();
        // A 1 GiB unprotected block in a root: not counted, it goes with the realm.
        let first = s.realm_then(a, |r| {
            assert_eq!(
                s.host
                    .map_unprotected(r.realm.rd, UNPROTECTED, 1, ns_desc(0xC000_0000))[0],
                status::SUCCESS
            );
        });
        s.touch(&first, &[UNPROTECTED + 0x5000, IMAGE_IPA]);
        let rd = first.realm.rd;
        for ipa in [IMAGE_IPA, CALL_IPA] {
            assert_eq!(s.host.data_destroy(rd, ipa)[0], status::SUCCESS);
        }
        for level in [3, 2] {
            assert_eq!(s.host.rtt_destroy(rd, 0, level)[0], status::SUCCESS);
        }
        assert_eq!(s.host.rec_destroy(first.recs[0])[0], status::SUCCESS);
        assert_eq!(s.host.realm_destroy(rd)[0], status::SUCCESS);
        s.assert_no_stale(&format!("REALM_DESTROY of VMID {a:#x}"));
        // The next realm with this VMID must not inherit the mapping.
        let next = s.realm(a);
        assert!(matches!(
            s.read(&next, Cpu::This, &[UNPROTECTED + 0x5000])[0],
            Err(Stage2Fault::Translation { .. })
        ));
    }
}
