// SPDX-License-Identifier: MIT OR Apache-2.0
//! A realm that runs, for the REC_ENTER, PSCI and RIPAS-change tests: a small realm with
//! RECs and an NS run page, and a scripted realm CPU (`FakeRealm`) that plays the realm's
//! side of each entry (its SMCs, MMIO accesses and faults) and checks what the RMM gave it.
//! Several such realms can live on one host ([`add_realm`]) and run at once on different
//! threads, each REC with its own script ([`script_rec`]).

use crate::host::{Host, Shape, TestRealm, X4, status};
use rmm::arch::fake::machine::FakeRealm;
use rmm::arch::fake::{FakeMachine, FakeRecId};
use rmm::arch::world::{RealmContext, RealmEntryConfig, RealmTrap, TrapKind};
use rmm_abi::rmi::fid;
use rmm_abi::rmi::rec_params::RecMpidr;
use std::sync::{Arc, Mutex};

/// Where REC 0 starts; holds DATA.
pub const IMAGE_IPA: u64 = 0x1000;
/// Holds DATA too (host-call structures, REALM_CONFIG pages).
pub const CALL_IPA: u64 = 0x2000;
/// RIPAS RAM without DATA.
pub const UNPOPULATED_IPA: u64 = 0x3000;
/// RIPAS EMPTY (never initialised).
pub const EMPTY_IPA: u64 = 0x8000;
/// The unprotected half of a 40-bit realm.
pub const UNPROTECTED: u64 = 1 << 39;

/// ESR_EL2 of a trapped `smc #0`.
pub const SMC: u64 = 0x17 << 26 | 1 << 25;
/// ESR_EL2 of a trapped `hvc #0`.
pub const HVC: u64 = 0x16 << 26 | 1 << 25;
/// ESR_EL2 of a data abort from a lower EL (add ISS bits).
pub const DABT: u64 = 0x24 << 26 | 1 << 25;
/// ESR ISV.
pub const ISV: u64 = 1 << 24;

/// A realm with tables at IPA 0 down to level 3, RAM at [0x1000, 0x4000) of which 0x1000
/// and 0x2000 hold DATA, RECs 0.. (REC 0 runnable and entering at 0x1000, the others not
/// runnable), and an NS run page.
pub struct Rig {
    /// The host and its machine.
    pub host: Host,
    /// The realm.
    pub realm: TestRealm,
    /// The RECs, by index.
    pub recs: Vec<u64>,
    /// REC 0.
    pub rec: u64,
    /// The run page.
    pub run: u64,
    /// PA of the DATA granule at [`CALL_IPA`].
    pub call_pa: u64,
}

/// A realm of the [`Rig`]'s layout built by [`add_realm`].
pub struct RunnableRealm {
    /// The realm.
    pub realm: TestRealm,
    /// The RECs, by index.
    pub recs: Vec<u64>,
    /// PA of the DATA granule at [`CALL_IPA`].
    pub call_pa: u64,
}

impl RunnableRealm {
    /// REC `index` as the fake realm CPU knows it (for [`script_rec`]).
    pub fn rec_id(&self, index: u64) -> FakeRecId {
        FakeRecId {
            vmid: self.realm.shape.vmid as u16,
            mpidr: RecMpidr::from_index(index).expect("small index").bits(),
        }
    }
}

/// Builds the [`Rig`] with `recs` RECs (at least 1), activated if `activate`.
pub fn setup_with(activate: bool, recs: u64) -> Rig {
    let host = Host::new();
    let RunnableRealm {
        realm,
        recs,
        call_pa,
    } = add_realm(&host, Shape::default(), recs, false, activate);
    let run = host.ns_page(&[0u8; 4096]);
    Rig {
        host,
        realm,
        rec: recs[0],
        recs,
        run,
        call_pa,
    }
}

/// A realm of `shape` on `host` laid out as the [`Rig`]'s, with `recs` RECs (at least 1; REC
/// 0 runnable, the others only if `all_runnable`), activated if `activate`.
pub fn add_realm(
    host: &Host,
    shape: Shape,
    recs: u64,
    all_runnable: bool,
    activate: bool,
) -> RunnableRealm {
    let realm = host.must_create_realm(shape);
    let rd = realm.rd;
    host.must_tables_to(&realm, 0, 3);
    assert_eq!(host.init_ripas(rd, IMAGE_IPA, 0x4000)[0], status::SUCCESS);
    let mut pas = [0; 2];
    for (i, ipa) in [IMAGE_IPA, CALL_IPA].into_iter().enumerate() {
        let data = host.must_delegated();
        let src = host.ns_page(&[0u8; 4096]);
        assert_eq!(host.data_create(rd, data, ipa, src, 0)[0], status::SUCCESS);
        pas[i] = data;
    }
    let recs: Vec<u64> = (0..recs.max(1))
        .map(|index| {
            let rec = host.must_delegated();
            let mut params = host.must_rec_params(index, index == 0 || all_runnable);
            params.pc = IMAGE_IPA;
            assert_eq!(host.rec_create(rd, rec, &params)[0], status::SUCCESS);
            rec
        })
        .collect();
    if activate {
        assert_eq!(host.realm_activate(rd)[0], status::SUCCESS);
    }
    RunnableRealm {
        realm,
        recs,
        call_pa: pas[1],
    }
}

/// [`setup_with`] one REC.
pub fn setup(activate: bool) -> Rig {
    setup_with(activate, 1)
}

impl Rig {
    /// The simulated machine.
    pub fn machine(&self) -> &FakeMachine {
        &self.host.rig.machine
    }

    /// REC_ENTER of REC 0 with entry `flags` and `gprs`.
    pub fn enter(&self, flags: u64, gprs: &[u64]) -> [u64; 5] {
        self.enter_rec(self.rec, flags, gprs)
    }

    /// REC_ENTER of `rec` with entry `flags` and `gprs`.
    pub fn enter_rec(&self, rec: u64, flags: u64, gprs: &[u64]) -> [u64; 5] {
        self.enter_full(rec, flags, gprs, 0, &[])
    }

    /// REC_ENTER of REC 0 with no flags and the GIC fields `gicv3_hcr` = `hcr` and
    /// `gicv3_lrs` starting with `lrs`.
    pub fn enter_gic(&self, hcr: u64, lrs: &[u64]) -> [u64; 5] {
        self.enter_full(self.rec, 0, &[], hcr, lrs)
    }

    /// REC_ENTER of `rec` with every entry field this rig sets.
    pub fn enter_full(
        &self,
        rec: u64,
        flags: u64,
        gprs: &[u64],
        hcr: u64,
        lrs: &[u64],
    ) -> [u64; 5] {
        rec_enter(&self.host.rig, rec, self.run, flags, gprs, hcr, lrs)
    }

    /// Word at `offset` of the exit half of the run page.
    pub fn exit(&self, offset: usize) -> u64 {
        exit_word(&self.host.rig, self.run, offset)
    }
}

/// REC_ENTER of `rec` with the run page `run` holding entry `flags`, `gprs`, `gicv3_hcr` =
/// `hcr` and `gicv3_lrs` starting with `lrs`. Takes the [`crate::Rig`] (not the [`Host`]),
/// so threads can enter RECs at once.
pub fn rec_enter(
    rig: &crate::Rig,
    rec: u64,
    run: u64,
    flags: u64,
    gprs: &[u64],
    hcr: u64,
    lrs: &[u64],
) -> [u64; 5] {
    let mut page = [0u8; 4096];
    page[..8].copy_from_slice(&flags.to_le_bytes());
    for (i, g) in gprs.iter().enumerate() {
        page[0x200 + i * 8..0x208 + i * 8].copy_from_slice(&g.to_le_bytes());
    }
    page[0x300..0x308].copy_from_slice(&hcr.to_le_bytes());
    for (i, lr) in lrs.iter().enumerate() {
        page[0x308 + i * 8..0x310 + i * 8].copy_from_slice(&lr.to_le_bytes());
    }
    rig.machine.host_write(run, &page).expect("NS run page");
    rig.call(u64::from(fid::REC_ENTER), &[rec, run, 0, X4])
}

/// Word at `offset` of the exit half of the run page `run`.
pub fn exit_word(rig: &crate::Rig, run: u64, offset: usize) -> u64 {
    let page = rig.machine.host_read(run).expect("NS run page");
    let at = 0x800 + offset;
    u64::from_le_bytes(page[at..at + 8].try_into().expect("8 bytes"))
}

/// A scripted realm entry: what the realm does until it traps.
pub type Step =
    Box<dyn FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) -> RealmTrap + Send>;

/// Each realm entry (of any REC without its own script) runs the next step; one entry too
/// many fails the test.
pub fn script(machine: &FakeMachine, steps: Vec<Step>) {
    machine.set_realm(stepper(steps));
}

/// Each entry of `rec` runs the next step; one entry too many fails the test.
pub fn script_rec(machine: &FakeMachine, rec: FakeRecId, steps: Vec<Step>) {
    machine.set_rec_realm(rec, stepper(steps));
}

fn stepper(steps: Vec<Step>) -> FakeRealm {
    let steps = Arc::new(Mutex::new(steps.into_iter()));
    Box::new(move |m, config, ctx| {
        let mut step = steps
            .lock()
            .expect("not poisoned")
            .next()
            .expect("the RMM entered the realm more often than the test expected");
        step(m, config, ctx)
    })
}

/// A synchronous trap with `esr`.
pub fn sync(esr: u64) -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Sync,
        esr,
        far: 0,
        hpfar: 0,
    }
}

/// A physical IRQ while the realm runs.
pub fn irq() -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Irq,
        esr: 0,
        far: 0,
        hpfar: 0,
    }
}

/// The realm makes SMC `id` with `args` in x1...
pub fn rsi_call(ctx: &mut RealmContext, id: u32, args: &[u64]) -> RealmTrap {
    ctx.gprs.x[0] = u64::from(id);
    ctx.gprs.x[1..=args.len()].copy_from_slice(args);
    sync(SMC)
}

/// A stage-2 abort at `ipa` with `esr`.
pub fn abort_at(ipa: u64, esr: u64) -> RealmTrap {
    RealmTrap {
        kind: TrapKind::Sync,
        esr,
        far: 0xFFFF_0000_0000_0000 | (ipa & 0xFFF),
        hpfar: (ipa >> 12) << 4,
    }
}
