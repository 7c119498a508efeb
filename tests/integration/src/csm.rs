// SPDX-License-Identifier: MIT OR Apache-2.0
//! Confidential Shared Memory worlds for the host tests: several runnable realms on one host,
//! each a CSM realm (an APT bound while NEW) with a populated region range, and a way to make
//! one RSI call from a realm's REC 0 through the real REC_ENTER and see either the registers
//! the realm got back or the exit the host got.

use crate::host::{Host, Shape, status};
use crate::running::{
    RunnableRealm, Step, add_realm, exit_word, irq, rec_enter, rsi_call, script_rec,
};
use rmm::arch::fake::FakeMachine;
use rmm::arch::world::{RealmContext, RealmEntryConfig};
use rmm_abi::rmi::fid;
use std::sync::{Arc, Mutex};

/// Where each realm's region pages start (DATA, RIPAS RAM, measured while NEW).
pub const REGION: u64 = 0x10000;
/// Pages of DATA at [`REGION`].
pub const REGION_PAGES: u64 = 4;
/// A consumer window base: unassigned RIPAS EMPTY under the level-3 table of [0, 2 MiB).
pub const WINDOW: u64 = 0x20000;
/// 4 KiB.
pub const PAGE: u64 = 4096;
/// Where [`World::with_provider_block`] maps realm 0's 2 MiB block.
pub const BLOCK: u64 = 0x20_0000;
/// Where [`World::with_provider_block`] maps two DATA pages of realm 0 right after the block.
pub const AFTER_BLOCK: u64 = BLOCK + 0x20_0000;
/// Where [`World::with_provider_block`] maps two more 2 MiB blocks of realm 0, side by side.
pub const TWIN_BLOCKS: u64 = 0x60_0000;

/// RSI status values.
pub mod rsi {
    /// RSI_SUCCESS.
    pub const SUCCESS: u64 = 0;
    /// RSI_ERROR_INPUT.
    pub const INPUT: u64 = 1;
    /// RSI_ERROR_STATE.
    pub const STATE: u64 = 2;
}

/// Exit reasons.
pub mod exit {
    /// RMI_EXIT_IRQ.
    pub const IRQ: u64 = 1;
    /// RMI_EXIT_CSM_PREPARE.
    pub const PREPARE: u64 = 7;
    /// RMI_EXIT_CSM_POPULATE.
    pub const POPULATE: u64 = 8;
}

/// What one RSI call came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The realm got x0..x4 back (and then exited with an IRQ, which the test scripted).
    Returned([u64; 5]),
    /// The REC exited before the call completed: reason, `ripas_base`, `ripas_top`.
    Exited(u64, u64, u64),
}

impl Outcome {
    /// x0..x4, or a panic naming the exit.
    pub fn regs(self) -> [u64; 5] {
        match self {
            Outcome::Returned(regs) => regs,
            Outcome::Exited(reason, base, top) => {
                panic!("the call exited ({reason}, {base:#x}..{top:#x}) instead of returning")
            }
        }
    }

    /// x0, or a panic.
    pub fn status(self) -> u64 {
        self.regs()[0]
    }
}

/// Several CSM realms on one host.
pub struct World {
    /// The host.
    pub host: Host,
    /// The realms.
    pub realms: Vec<RunnableRealm>,
    /// Each realm's APT granule.
    pub apts: Vec<u64>,
    /// Each realm's region DATA granules.
    pub region_pas: Vec<Vec<u64>>,
    /// The run page.
    pub run: u64,
}

impl World {
    /// `n` active CSM realms (VMIDs 0x100 + i), each with [`REGION_PAGES`] DATA pages at
    /// [`REGION`] holding the byte `0xA0 + i`.
    pub fn new(n: usize) -> Self {
        Self::with(n, true)
    }

    /// `n` realms as [`World::new`], with an APT only if `apt`.
    pub fn with(n: usize, apt: bool) -> Self {
        Self::build(n, apt, false, 1)
    }

    /// [`World::new`] with two runnable RECs in each realm ([`World::call_from`]).
    pub fn with_two_recs(n: usize) -> Self {
        Self::build(n, true, false, 2)
    }

    /// [`World::new`], and realm 0 also maps [`BLOCK`] (2 MiB) as one level-2 block of
    /// DATA (512 pages measured in, then folded), two DATA pages at [`AFTER_BLOCK`] under a
    /// level-3 table and two more blocks side by side at [`TWIN_BLOCKS`] before it is
    /// activated: the first block's PA is [`World::block_pa`].
    pub fn with_provider_block(n: usize) -> Self {
        Self::build(n, true, true, 1)
    }

    /// The PA of realm 0's 2 MiB block (a world from [`World::with_provider_block`]).
    pub fn block_pa(&self) -> u64 {
        let entry = self.host.read_entry(self.rd(0), BLOCK, 2);
        assert_eq!(entry[..3], [0, 2, 1], "an assigned level-2 entry");
        entry[3]
    }

    fn build(n: usize, apt: bool, block: bool, recs: u64) -> Self {
        let host = Host::new();
        let mut realms = Vec::new();
        let mut apts = Vec::new();
        let mut region_pas = Vec::new();
        for i in 0..n {
            let shape = Shape {
                vmid: 0x100 + i as u64,
                ..Shape::default()
            };
            let r = add_realm(&host, shape, recs, true, false);
            let rd = r.realm.rd;
            if apt {
                let granule = host.must_delegated();
                assert_eq!(apt_create(&host, rd, granule)[0], status::SUCCESS);
                apts.push(granule);
            }
            let mut pas = Vec::new();
            for p in 0..REGION_PAGES {
                let data = host.must_delegated();
                let src = host.ns_page(&[0xA0 + i as u8; 4096]);
                assert_eq!(
                    host.data_create(rd, data, REGION + p * PAGE, src, 0)[0],
                    status::SUCCESS
                );
                pas.push(data);
            }
            if block && i == 0 {
                host.must_tables_to(&r.realm, BLOCK, 3);
                let run = host.must_delegated_run(512);
                let src = host.ns_page(&[0xB0; 4096]);
                for p in 0..512 {
                    let out = host.data_create(rd, run + p * PAGE, BLOCK + p * PAGE, src, 0);
                    assert_eq!(out[0], status::SUCCESS);
                }
                assert_eq!(host.rtt_fold(rd, BLOCK, 3)[0], status::SUCCESS, "fold");
                // Two DATA pages right after the block, under a level-3 table.
                host.must_tables_to(&r.realm, AFTER_BLOCK, 3);
                for p in 0..2 {
                    let data = host.must_delegated();
                    let out = host.data_create(rd, data, AFTER_BLOCK + p * PAGE, src, 0);
                    assert_eq!(out[0], status::SUCCESS);
                }
                // Two blocks side by side.
                for block in [TWIN_BLOCKS, TWIN_BLOCKS + 0x20_0000] {
                    host.must_tables_to(&r.realm, block, 3);
                    let run = host.must_delegated_run(512);
                    for p in 0..512 {
                        let out = host.data_create(rd, run + p * PAGE, block + p * PAGE, src, 0);
                        assert_eq!(out[0], status::SUCCESS);
                    }
                    assert_eq!(host.rtt_fold(rd, block, 3)[0], status::SUCCESS, "fold");
                }
            }
            assert_eq!(host.realm_activate(rd)[0], status::SUCCESS);
            realms.push(r);
            region_pas.push(pas);
        }
        let run = host.ns_page(&[0u8; 4096]);
        Self {
            host,
            realms,
            apts,
            region_pas,
            run,
        }
    }

    /// The fake machine.
    pub fn machine(&self) -> &FakeMachine {
        &self.host.rig.machine
    }

    /// RD of realm `i`.
    pub fn rd(&self, i: usize) -> u64 {
        self.realms[i].realm.rd
    }

    /// Realm `i` makes RSI call `fid` with `args` from REC 0.
    pub fn call(&self, i: usize, fid: u32, args: &[u64]) -> Outcome {
        self.call_then(i, fid, args, |_, _, _| {})
    }

    /// As [`World::call`]; if the call returns, `after` runs in the realm (on its entry
    /// configuration, e.g. to touch memory) before the scripted IRQ exit.
    pub fn call_then(
        &self,
        i: usize,
        fid: u32,
        args: &[u64],
        after: impl FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) + Send + 'static,
    ) -> Outcome {
        self.call_on(self.run, i, fid, args, after)
    }

    /// As [`World::call_then`] with the run page `run` (one per thread when realms run at
    /// once).
    pub fn call_on(
        &self,
        run: u64,
        i: usize,
        fid: u32,
        args: &[u64],
        after: impl FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) + Send + 'static,
    ) -> Outcome {
        call_on(&self.host.rig, &self.realms[i], run, fid, args, after)
    }

    /// [`World::call`] from REC `rec` of realm `i`.
    pub fn call_from(&self, i: usize, rec: usize, fid: u32, args: &[u64]) -> Outcome {
        call_on_rec(
            &self.host.rig,
            &self.realms[i],
            rec,
            self.run,
            fid,
            args,
            |_, _, _| {},
        )
    }

    /// Realm `i`'s CSM RealmId (RSI_CSM_QUERY(0)).
    pub fn realm_id(&self, i: usize) -> u64 {
        let regs = self.call(i, QUERY, &[0]).regs();
        assert_eq!(regs[0], rsi::SUCCESS, "QUERY(0)");
        regs[1]
    }

    /// The stage-2 entry of realm `i` at `ipa` (RTT_READ_ENTRY at level 3): x1..x4.
    pub fn entry(&self, i: usize, ipa: u64) -> [u64; 4] {
        let out = self.host.read_entry(self.rd(i), ipa, 3);
        assert_eq!(out[0], status::SUCCESS, "RTT_READ_ENTRY");
        [out[1], out[2], out[3], out[4]]
    }
}

/// RMI_APT_CREATE.
pub fn apt_create(host: &Host, rd: u64, apt: u64) -> [u64; 5] {
    host.call(fid::APT_CREATE, &[rd, apt])
}

/// RMI_APT_DESTROY.
pub fn apt_destroy(host: &Host, rd: u64, apt: u64) -> [u64; 5] {
    host.call(fid::APT_DESTROY, &[rd, apt])
}

/// The CSM RSI function ids.
pub const CREATE: u32 = 0xC600_0190;
/// RSI_CSM_SHARE.
pub const SHARE: u32 = 0xC600_0191;
/// RSI_CSM_ACCEPT.
pub const ACCEPT: u32 = 0xC600_0192;
/// RSI_CSM_DETACH.
pub const DETACH: u32 = 0xC600_0193;
/// RSI_CSM_REVOKE.
pub const REVOKE: u32 = 0xC600_0194;
/// RSI_CSM_DESTROY.
pub const DESTROY: u32 = 0xC600_0195;
/// RSI_CSM_QUERY.
pub const QUERY: u32 = 0xC600_0196;
/// Read-only and read-write grant modes.
pub const READ: u64 = 1;
/// Read and write.
pub const READ_WRITE: u64 = 3;

/// Realm `realm` makes RSI call `fid` with `args` from REC 0, entered with the run page `run`
/// on `rig` (the [`crate::Rig`] is shared by threads; the host allocator is not); if the call
/// returns, `after` runs in the realm before a scripted IRQ exit.
pub fn call_on(
    rig: &crate::Rig,
    realm: &RunnableRealm,
    run: u64,
    fid: u32,
    args: &[u64],
    after: impl FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) + Send + 'static,
) -> Outcome {
    call_on_rec(rig, realm, 0, run, fid, args, after)
}

/// [`call_on`] from REC `rec` of the realm.
pub fn call_on_rec(
    rig: &crate::Rig,
    realm: &RunnableRealm,
    rec: usize,
    run: u64,
    fid: u32,
    args: &[u64],
    after: impl FnMut(&FakeMachine, &RealmEntryConfig, &mut RealmContext) + Send + 'static,
) -> Outcome {
    let got: Arc<Mutex<Option<[u64; 5]>>> = Arc::new(Mutex::new(None));
    let seen = got.clone();
    let args = args.to_vec();
    let mut after = after;
    let steps: Vec<Step> = vec![
        Box::new(move |_, _, ctx| rsi_call(ctx, fid, &args)),
        Box::new(move |m, config, ctx| {
            let mut regs = [0; 5];
            regs.copy_from_slice(&ctx.gprs.x[..5]);
            *seen.lock().expect("not poisoned") = Some(regs);
            after(m, config, ctx);
            irq()
        }),
    ];
    script_rec(&rig.machine, realm.rec_id(rec as u64), steps);
    let out = rec_enter(rig, realm.recs[rec], run, 0, &[], 0, &[]);
    assert_eq!(out[0], status::SUCCESS, "REC_ENTER");
    let reason = exit_word(rig, run, 0);
    match *got.lock().expect("not poisoned") {
        Some(regs) => {
            assert_eq!(reason, exit::IRQ, "the scripted exit");
            Outcome::Returned(regs)
        }
        None => Outcome::Exited(
            reason,
            exit_word(rig, run, 0x500),
            exit_word(rig, run, 0x508),
        ),
    }
}
