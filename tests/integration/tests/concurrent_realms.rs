// SPDX-License-Identifier: MIT OR Apache-2.0
//! Several realms, and several RECs of one realm, run at the same time on different threads
//! (simulated physical CPUs), each entered through the real dispatcher (RMI_REC_ENTER) and
//! played by its own scripted realm CPU (`FakeMachine::set_rec_realm`).
//!
//! Every REC's script meets the others inside the realm (a rendezvous that completes only if
//! all of them are in `run_realm` at once, and fails the test after a timeout otherwise), and
//! checks that it runs its own REC (VMID, MPIDR, stage-2 root), that the registers it left at
//! its exit came back at its next entry, and that the host call it placed in its realm's
//! memory reached its host thread, and the host's results came back to it, unmixed with the
//! others'.

use rmm::arch::fake::{FakeMachine, FakeRecId};
use rmm::arch::world::RealmContext;
use rmm_abi::rsi::fid as rsi;
use rmm_integration_tests::host::{Host, Shape, status};
use rmm_integration_tests::running::*;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long a realm CPU waits for the others before failing the test.
const TIMEOUT: Duration = Duration::from_secs(30);

/// RecExitReason HOST_CALL and IRQ.
const EXIT_HOST_CALL: u64 = 5;
const EXIT_IRQ: u64 = 1;

/// Offsets in the exit half of the run page: reason, gprs, list registers, VMCR, host-call
/// immediate.
const EXIT_REASON: usize = 0;
const EXIT_GPRS: usize = 0x200;
const EXIT_GIC_LRS: usize = 0x308;
const EXIT_GIC_VMCR: usize = 0x390;
const EXIT_IMM: usize = 0x600;

/// Size of an `RsiHostCall` (imm, then 31 registers).
const HOST_CALL_SIZE: u64 = 0x100;

/// A barrier with a timeout: round `r` completes once every party arrived `r` times.
struct Rendezvous {
    parties: usize,
    arrived: Mutex<usize>,
    all_here: Condvar,
}

impl Rendezvous {
    fn new(parties: usize) -> Arc<Self> {
        Arc::new(Self {
            parties,
            arrived: Mutex::new(0),
            all_here: Condvar::new(),
        })
    }

    fn meet(&self, round: usize, who: &str) {
        let mut arrived = self.arrived.lock().expect("not poisoned");
        *arrived += 1;
        self.all_here.notify_all();
        let (arrived, _) = self
            .all_here
            .wait_timeout_while(arrived, TIMEOUT, |a| *a < round * self.parties)
            .expect("not poisoned");
        let (got, wanted) = (*arrived, round * self.parties);
        drop(arrived);
        assert!(
            got >= wanted,
            "{who}: the other realm CPUs were not in their realms at the same time (round \
             {round}: {got} of {wanted} arrivals)"
        );
    }
}

/// One REC, run by its own host thread.
#[derive(Clone, Copy, Debug)]
struct Cpu {
    /// Distinguishes this REC's registers, memory and host-call values from the others'.
    tag: u64,
    /// The REC granule and its run page.
    rec: u64,
    run: u64,
    /// The REC as the fake realm CPU sees it.
    id: FakeRecId,
    /// The realm's stage-2 root.
    root: u64,
    /// PA and IPA of this REC's host-call structure (in its realm's memory).
    call_pa: u64,
    call_ipa: u64,
}

impl Cpu {
    fn name(&self) -> String {
        format!("REC {:?}", self.id)
    }

    /// What the realm passes in host-call register `i`.
    fn arg(&self, i: usize) -> u64 {
        self.tag << 32 | i as u64
    }

    /// What the host answers in host-call register `i`.
    fn result(&self, i: usize) -> u64 {
        self.tag << 40 | 0x100 | i as u64
    }

    /// Registers the realm sets before its exit and expects back at its next entry.
    fn keep(&self, ctx: &mut RealmContext) {
        ctx.gprs.x[19] = self.tag << 8 | 19;
        ctx.gprs.x[28] = self.tag << 8 | 28;
        ctx.el1.tpidr_el1 = self.tag << 16;
    }

    /// The pending Group 1 interrupt the host gives this REC (a vINTID of its own).
    fn lr(&self) -> u64 {
        1 << 62 | 1 << 60 | 0xA0 << 48 | (32 + self.tag)
    }

    /// The VMCR the realm sets on its virtual CPU interface (VPMR = the tag, VENG1).
    fn vmcr(&self) -> u64 {
        (self.tag & 0xFF) << 24 | 2
    }

    fn kept(&self, ctx: &RealmContext) -> bool {
        ctx.gprs.x[19] == self.tag << 8 | 19
            && ctx.gprs.x[28] == self.tag << 8 | 28
            && ctx.el1.tpidr_el1 == self.tag << 16
    }
}

/// Installs each CPU's script: the first entry places a host call in realm memory, meets
/// the others, takes its interrupt on its CPU's virtual interface and makes the host call;
/// the second, after meeting them again, checks the results, its registers and its virtual
/// interface, and exits with an IRQ.
fn install(machine: &FakeMachine, cpus: &[Cpu]) {
    let rendezvous = Rendezvous::new(cpus.len());
    for &cpu in cpus {
        let (first, second) = (Arc::clone(&rendezvous), Arc::clone(&rendezvous));
        script_rec(
            machine,
            cpu.id,
            vec![
                Box::new(move |m, config, ctx| {
                    let who = cpu.name();
                    assert_eq!(FakeRecId::of(config), cpu.id, "{who}: its own REC");
                    assert_eq!(
                        config.vttbr & 0xFFFF_FFFF_F000,
                        cpu.root,
                        "{who}: its tables"
                    );
                    assert_eq!(ctx.gprs.pc, IMAGE_IPA, "{who}: entry point");
                    let mut call = [0u8; HOST_CALL_SIZE as usize];
                    call[..2].copy_from_slice(&(cpu.tag as u16).to_le_bytes());
                    for i in 0..31 {
                        call[8 + i * 8..16 + i * 8].copy_from_slice(&cpu.arg(i).to_le_bytes());
                    }
                    m.realm_write(cpu.call_pa, &call);
                    cpu.keep(ctx);
                    let lr0 = |m: &FakeMachine| {
                        let mut lr = 0;
                        m.with_live_vgic(|gic| lr = gic.lrs[0]);
                        lr
                    };
                    assert_eq!(lr0(m), cpu.lr(), "{who}: its interrupt loaded");
                    first.meet(1, &who);
                    assert_eq!(lr0(m), cpu.lr(), "{who}: its interrupt still there");
                    // The realm takes and ends it, and sets its priority mask.
                    m.with_live_vgic(|gic| {
                        gic.lrs[0] = 0;
                        gic.vmcr = cpu.vmcr();
                    });
                    let mut back = [0u8; HOST_CALL_SIZE as usize];
                    m.realm_read(cpu.call_pa, &mut back);
                    assert_eq!(back, call, "{who}: its memory, untouched by the others");
                    rsi_call(ctx, rsi::HOST_CALL, &[cpu.call_ipa])
                }),
                Box::new(move |m, config, ctx| {
                    let who = cpu.name();
                    assert_eq!(FakeRecId::of(config), cpu.id, "{who}: its own REC");
                    second.meet(2, &who);
                    assert_eq!(ctx.gprs.x[0], 0, "{who}: RSI_SUCCESS");
                    assert_eq!(ctx.gprs.x[1], cpu.call_ipa, "{who}: x1 untouched");
                    assert_eq!(ctx.gprs.pc, IMAGE_IPA + 4, "{who}: past its SMC");
                    assert!(cpu.kept(ctx), "{who}: its own registers back");
                    m.with_live_vgic(|gic| {
                        assert_eq!(gic.vmcr, cpu.vmcr(), "{who}: its VMCR back");
                        assert_eq!(gic.lrs, [0; 16], "{who}: no interrupts");
                    });
                    let mut back = [0u8; HOST_CALL_SIZE as usize];
                    m.realm_read(cpu.call_pa, &mut back);
                    for i in 0..31 {
                        let at = 8 + i * 8;
                        let v = u64::from_le_bytes(back[at..at + 8].try_into().unwrap());
                        assert_eq!(v, cpu.result(i), "{who}: its host's result {i}");
                    }
                    irq()
                }),
            ],
        );
    }
}

/// The host side of one CPU: enter, see the host call, answer it, enter again, see the IRQ.
fn drive(rig: &rmm_integration_tests::Rig, cpu: Cpu) {
    let who = cpu.name();
    assert_eq!(
        rec_enter(rig, cpu.rec, cpu.run, 0, &[], 0, &[cpu.lr()])[0],
        status::SUCCESS
    );
    let exit = |offset| exit_word(rig, cpu.run, offset);
    assert_eq!(exit(EXIT_REASON), EXIT_HOST_CALL, "{who}");
    assert_eq!(exit(EXIT_GIC_LRS), 0, "{who}: its interrupt taken");
    assert_eq!(exit(EXIT_GIC_VMCR), cpu.vmcr(), "{who}: its VMCR");
    assert_eq!(exit(EXIT_IMM), cpu.tag & 0xFFFF, "{who}: its immediate");
    for i in 0..31 {
        assert_eq!(exit(EXIT_GPRS + i * 8), cpu.arg(i), "{who}: its gprs[{i}]");
    }
    let results: Vec<u64> = (0..31).map(|i| cpu.result(i)).collect();
    assert_eq!(
        rec_enter(rig, cpu.rec, cpu.run, 0, &results, 0, &[])[0],
        status::SUCCESS
    );
    assert_eq!(exit(EXIT_REASON), EXIT_IRQ, "{who}");
}

/// Runs every CPU on its own thread at once and checks the entries the fake saw.
fn run_at_once(host: &Host, cpus: &[Cpu]) {
    let machine = &host.rig.machine;
    install(machine, cpus);
    let rig = &host.rig;
    std::thread::scope(|scope| {
        let threads: Vec<_> = cpus
            .iter()
            .map(|&cpu| scope.spawn(move || drive(rig, cpu)))
            .collect();
        for t in threads {
            t.join().expect("no CPU failed");
        }
    });
    let entries = machine.take_realm_entries();
    for cpu in cpus {
        let mine: Vec<_> = entries
            .iter()
            .filter(|e| FakeRecId::of(e) == cpu.id)
            .collect();
        assert_eq!(mine.len(), 2, "{}: two entries", cpu.name());
        assert!(mine.iter().all(|e| e.vttbr & 0xFFFF_FFFF_F000 == cpu.root));
    }
    assert_eq!(entries.len(), 2 * cpus.len(), "no other entries");
}

/// `realms` realms of one runnable REC each (VMIDs 1..), one CPU each.
fn separate_realms(realms: u64) {
    let host = Host::new();
    let cpus: Vec<Cpu> = (1..=realms)
        .map(|vmid| {
            let shape = Shape {
                vmid,
                ..Shape::default()
            };
            let realm = add_realm(&host, shape, 1, false, true);
            Cpu {
                tag: 0xA0 + vmid,
                rec: realm.recs[0],
                run: host.ns_page(&[0; 4096]),
                id: realm.rec_id(0),
                root: realm.realm.rtt_base,
                call_pa: realm.call_pa + HOST_CALL_SIZE,
                call_ipa: CALL_IPA + HOST_CALL_SIZE,
            }
        })
        .collect();
    run_at_once(&host, &cpus);
}

#[test]
fn two_realms_run_at_once_each_its_own_script() {
    separate_realms(2);
}

#[test]
fn three_realms_run_at_once_each_its_own_script() {
    separate_realms(3);
}

#[test]
fn two_recs_of_one_realm_run_at_once() {
    let host = Host::new();
    let realm = add_realm(&host, Shape::default(), 2, true, true);
    let cpus: Vec<Cpu> = (0..2)
        .map(|index| Cpu {
            tag: 0xB0 + index,
            rec: realm.recs[index as usize],
            run: host.ns_page(&[0; 4096]),
            id: realm.rec_id(index),
            root: realm.realm.rtt_base,
            // One page, a structure each.
            call_pa: realm.call_pa + HOST_CALL_SIZE * (index + 1),
            call_ipa: CALL_IPA + HOST_CALL_SIZE * (index + 1),
        })
        .collect();
    assert_ne!(cpus[0].id, cpus[1].id);
    run_at_once(&host, &cpus);
}
