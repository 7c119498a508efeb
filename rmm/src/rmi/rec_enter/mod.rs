// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_REC_ENTER: run a REC until its realm needs the host.
//!
//! Check order and side effects are the reference RMM's (TF-RMM `runtime/rmi/run.c`,
//! `docs/reference/tf-rmm-rel0-realm-execution-facts.md` §2.1): the run page before the REC;
//! a REC already running is ERROR_REC; the REC is then held by a reference, not its lock,
//! while the realm runs (so REC_DESTROY sees it in use). The exit is written to the run page
//! only when the command succeeds.
//!
//! The host's virtual-interrupt state (`gicv3_hcr`, `gicv3_lrs`) is validated before any
//! side effect ([`crate::vcpu::gic::validate`]: ERROR_REC) and then taken into the REC even
//! if a completion below fails, as in the reference; the exit shows the list registers after
//! the run, MISR, VMCR and the host's HCR bits ([`ExitGic`]).

use super::error::{Handled, RmiError};
use super::locks::{lock_one, tracked};
use crate::rmi::args::RecEnterArgs;

pub mod complete;
pub mod trap;
use crate::arch::Machine;
use crate::arch::world::TrapAction;
use crate::exec::exit_record::ExitRecord;
use crate::exec::{RecEnv, config};
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::locks;
use crate::monitor::Monitor;
use crate::realm::descriptor::Rd;
use crate::realm::rec::{LastExit, Rec, RecRunState};
use crate::vcpu::gic::{self, ExitGic, MAX_LRS, VgicShape};
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::rec_run::{REC_RUN_NR_GPRS, RecEnterFlags};
use rmm_abi::rmi::states::{GranuleState, RealmState};
use zerocopy::IntoBytes;

/// Offset of `RmiRecEnter.gprs` in the run page.
const ENTER_GPRS: usize = 0x200;

/// Offset of `RmiRecEnter.gicv3_hcr` (the list registers follow it).
const ENTER_GIC: usize = 0x300;

/// The parts of the host's `RmiRecEnter` this entry uses, each read once from the run page
/// only if it is needed (the whole 0x390 defined bytes cost ~1,000 instructions per entry
/// to clear and copy): the flags always; `gprs` when a host call waits for its results (all
/// of them) or the host completes an MMIO read (`gprs[0]`); `gicv3_hcr` and the implemented
/// list registers always.
struct EnterArgs {
    flags: RecEnterFlags,
    /// `gprs`, then the reserved word after them (the copy moves 16-byte units).
    gprs: [u64; REC_RUN_NR_GPRS + 1],
    /// `gicv3_hcr`, `gicv3_lrs` (only the implemented ones read; the rest zero), and the
    /// word after them.
    gic: [u64; 1 + MAX_LRS + 1],
}

impl EnterArgs {
    /// Nothing read yet.
    const fn new() -> Self {
        Self {
            flags: RecEnterFlags::from_bits_truncate(0),
            gprs: [0; REC_RUN_NR_GPRS + 1],
            gic: [0; 1 + MAX_LRS + 1],
        }
    }

    /// Reads what this entry needs into `self` (filled in place: the value is 0x190 bytes,
    /// and moving it out of a constructor cost three copies).
    fn read<M: Machine>(
        &mut self,
        machine: &M,
        run: GranuleAddr,
        host_call_pending: bool,
        vgic: &VgicShape,
    ) -> Result<(), RmiError> {
        let mut flags = [0u64; 2];
        machine
            .read_ns(run, 0, flags.as_mut_bytes())
            .map_err(|_| RmiError::Input)?;
        self.flags = RecEnterFlags::from_bits_truncate(flags[0]);
        let needed = if host_call_pending {
            self.gprs.len()
        } else if self.flags.contains(RecEnterFlags::EMUL_MMIO) {
            2
        } else {
            0
        };
        if needed != 0 {
            machine
                .read_ns(run, ENTER_GPRS, self.gprs[..needed].as_mut_bytes())
                .map_err(|_| RmiError::Input)?;
        }
        // HCR and the implemented LRs, rounded up to whole 16-byte units.
        let words = (1 + vgic.nr_lrs.min(MAX_LRS)).next_multiple_of(2);
        machine
            .read_ns(run, ENTER_GIC, self.gic[..words].as_mut_bytes())
            .map_err(|_| RmiError::Input)
    }

    fn gprs(&self) -> &[u64; REC_RUN_NR_GPRS] {
        self.gprs[..REC_RUN_NR_GPRS]
            .try_into()
            .unwrap_or(&[0; REC_RUN_NR_GPRS])
    }

    fn gic_hcr(&self) -> u64 {
        self.gic[0]
    }

    fn gic_lrs(&self) -> &[u64; MAX_LRS] {
        self.gic[1..=MAX_LRS].try_into().unwrap_or(&[0; MAX_LRS])
    }
}

/// Handles RMI_REC_ENTER(x1 = rec, x2 = run page).
#[inline(always)]
pub fn handle(monitor: &Monitor, machine: &impl Machine, args: RecEnterArgs) -> Handled {
    enter(monitor, machine, args.rec, args.run)?;
    Ok([])
}

fn enter<M: Machine>(
    monitor: &Monitor,
    machine: &M,
    rec_pa: u64,
    run_pa: u64,
) -> Result<(), RmiError> {
    let granules = &monitor.granules;
    let run = tracked(granules, run_pa)?;
    if granules.state_unlocked(run) != Some(GranuleState::Undelegated) {
        return Err(RmiError::Input);
    }
    let rec_addr = {
        let mut rec = lock_one(granules, rec_pa, GranuleState::Rec)?;
        if rec.refcount() != 0 {
            return Err(RmiError::Rec);
        }
        rec.get_ref().map_err(|_| RmiError::Rec)?;
        rec.addr()
    };
    let result = run_rec(monitor, machine, rec_addr, run);
    // The reference taken above keeps the REC a REC (REC_DESTROY refuses a referenced one).
    let mut rec = locks::owned_inline(granules, rec_addr, GranuleState::Rec).unwrap_or_else(|| {
        invariant::broken_at("a running REC stopped being a REC", rec_addr.get())
    });
    invariant::holds(rec.put_ref(), "REC reference count");
    result
}

/// Everything after the REC is referenced.
fn run_rec<M: Machine>(
    monitor: &Monitor,
    machine: &M,
    rec_addr: GranuleAddr,
    run: GranuleAddr,
) -> Result<(), RmiError> {
    let rec = Rec::new(machine, rec_addr);
    let mut enter = EnterArgs::new();
    enter.read(machine, run, rec.host_call_pending(), &monitor.config.vgic)?;
    let rd = rec.rd();
    // The RD outlives the REC (it counts it); its configuration never changes after
    // REALM_CREATE and its state is one word, so neither needs the RD lock here.
    let realm = Rd::new(machine, rd);
    match realm.state() {
        RealmState::New => return Err(RmiError::Realm(0)),
        RealmState::SystemOff => return Err(RmiError::Realm(1)),
        RealmState::Active => {}
    }
    if !rec.runnable() || rec.psci_pending() {
        return Err(RmiError::Rec);
    }
    gic::validate(&monitor.config.vgic, enter.gic_hcr(), enter.gic_lrs())
        .map_err(|_| RmiError::Rec)?;
    let env = RecEnv {
        monitor,
        machine,
        rec,
        rd,
        realm: realm.config(),
    };
    // The REC's context and virtual CPU interface are used where they are kept (the REC is
    // ours while we hold its reference).
    rec.with_run_state(|state| run_in_place(&env, &enter, run, state))
}

/// The entry from the completions on, with the REC's run state lent in place (a frame of
/// its own, so the exit records it moves stay aligned for the copy routine).
#[inline(never)]
fn run_in_place<M: Machine>(
    env: &RecEnv<'_, M>,
    enter: &EnterArgs,
    run: GranuleAddr,
    state: &mut RecRunState,
) -> Result<(), RmiError> {
    let (monitor, machine, rec) = (env.monitor, env.machine, &env.rec);
    // Taken even if a completion below fails, as in the reference.
    gic::take_host_state(
        &mut state.gic,
        &monitor.config.vgic,
        enter.gic_hcr(),
        enter.gic_lrs(),
    );
    let ctx = &mut state.ctx;
    let last = rec.last_exit();
    complete::emulation(
        env.realm.s2.par_end(),
        enter.flags,
        enter.gprs[0],
        &last,
        ctx,
    )
    .map_err(|_| RmiError::Rec)?;
    complete::ripas_change(rec, enter.flags, ctx);
    // The exit this entry ends with: zeroed with reason SYNC here, once, and written in place
    // by the one path that leaves the realm (built by value at each exit site and moved out,
    // it cost this function about 2 KB of code).
    let mut exit = ExitRecord::new(RecExitReason::Sync);
    if complete::host_call(env, enter.gprs(), ctx, &mut exit) {
        // The realm cannot run until the host maps its host-call page.
        return exit
            .write(machine, run, &ExitGic::NONE)
            .map_err(|_| RmiError::Input);
    }
    rec.set_last_exit(&LastExit { esr: 0, ..last });

    let flags = enter.flags;
    let cpu = config::CpuShape {
        ps: monitor.config.stage2_ps,
        vmid_bits: monitor.config.vmid_bits,
        vgic: monitor.config.vgic,
    };
    let entry = config::entry_config(
        &env.realm,
        rec.mpidr(),
        &cpu,
        flags.contains(RecEnterFlags::TRAP_WFI),
        flags.contains(RecEnterFlags::TRAP_WFE),
    );
    // `Some` once a trap ended the run: what the next REC_ENTER may complete.
    let mut outcome: Option<Option<LastExit>> = None;
    loop {
        machine.run_realm(
            &entry,
            &mut state.ctx,
            &mut state.gic,
            rec,
            |ctx, realm_trap| match trap::handle(env, ctx, realm_trap, &mut exit) {
                trap::Outcome::Resume => TrapAction::Resume,
                trap::Outcome::Injected => TrapAction::ResumeInjected,
                trap::Outcome::Exit { last } => {
                    outcome = Some(last);
                    TrapAction::Stop
                }
            },
        );
        // A deferred call (`rsi::dispatch`) runs here, with the world switch's frame popped,
        // and the realm runs on if it resumes (its whole context, an injected exception's
        // included, is in `state` for the next entry).
        if !rec.take_deferred_call() {
            break;
        }
        outcome = None;
        if !trap::deferred(env, &mut state.ctx, &mut exit, &mut outcome) {
            break;
        }
    }
    let Some(last) = outcome else {
        return Err(RmiError::Rec);
    };
    let el1 = &state.ctx.el1;
    exit.timers = [el1.cntp_ctl, el1.cntp_cval, el1.cntv_ctl, el1.cntv_cval];
    if let Some(last) = &last {
        rec.set_last_exit(last);
    }
    exit.write(machine, run, &ExitGic::after(&state.gic))
        .map_err(|_| RmiError::Input)
}
