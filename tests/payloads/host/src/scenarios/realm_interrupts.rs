// SPDX-License-Identifier: MIT OR Apache-2.0
//! Interrupts and realms: the test realm's `Interrupts` scenario (`tests/payloads/realm/src/irq.rs`)
//! run as a [`TestVm`], with [`Irqs`] adding to the usual exit servicing what a hypervisor
//! with a GICv3 does around REC_ENTER:
//!
//! - every entry carries the list registers the last exit still had valid (state ≠ 0),
//!   plus what it injects; the exit's `gicv3_hcr` must show no bit outside 0xF80040FE and
//!   the list registers past the implemented ones must read 0;
//! - an injected interrupt must be handled by the next exit the realm makes (its list
//!   register state 0), and that exit's `gicv3_vmcr` must show the realm's Group 1 enable
//!   and priority mask;
//! - an IRQ exit is acknowledged (ICC_IAR1_EL1), handled and ended (ICC_EOIR1_EL1); more
//!   than [`IRQ_EXITS_MAX`] in one run is an interrupt storm and stops it.
//!
//! Scenarios (one realm each, on the primary):
//! - `realm_virtual_interrupt_via_list_register`: the realm asks for vINTID 100 and takes
//!   it exactly once from the list register; then it sends an SGI, which must reach this
//!   hypervisor as one `RMI_EXIT_SYNC` with the ICC_SGI1R_EL1 syndrome and the value.
//! - `realm_invalid_gic_state_refused`: while the realm waits in a host call, REC_ENTER with
//!   each invalid GIC state is RMI_ERROR_REC and leaves the run page's exit alone; invalid
//!   list registers with garbage in their other bits, and garbage past the implemented
//!   ones, are accepted; the realm continues with the exact answer.
//! - `realm_host_timer_irq_exits`: the hypervisor's own EL2 timer (PPI 26) fires while the
//!   realm spins; each firing is an IRQ exit, and the realm's registers survive them.
//! - `realm_virtual_timer_forces_irq_exit`: the realm's virtual timer expires while the
//!   hypervisor has the CPU; the next REC_ENTER exits with IRQ (without running the realm)
//!   and reports the timer asserted; the hypervisor injects vINTID 27 and the realm takes it,
//!   with no storm of IRQ exits from the still-asserted timer.
//!
//! Each scenario enables only the PPI it needs in this CPU's redistributor and disables it
//! again (timer off, pending state cleared) before it ends, whatever happened.

use super::realm_service::{Service, Transcript, checks_named, no_other_recs, run_realm_with};
use super::realm_vm::TestVm;
use crate::console::Line;
use crate::gic::{self, HostGic, SPURIOUS};
use crate::rmi::status;
use crate::runner::{Failure, Outcome, Scenario};
use crate::{ensure, fail, println, regs};
use core::cell::{Cell, RefCell};
use core::fmt::Write;
use realm_protocol::irq::{
    HOST_TIMER_INTID, LR_PRIORITY, MODE_LR, MODE_REJECT, MODE_SPIN, MODE_VTIMER, SGI1R_VALUE,
    VTIMER_INTID, gic_answer,
};
use realm_protocol::{HostCallCode, Scenario as RealmScenario};
use rmm_abi::rmi::rec_run::REC_GIC_NUM_LRS;
use rmm_abi::rmi::states::HashAlgorithm;

/// Run by the primary only, after the other realm scenarios.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "realm_virtual_interrupt_via_list_register",
        run: lr_injection,
    },
    Scenario {
        name: "realm_invalid_gic_state_refused",
        run: gic_state_refused,
    },
    Scenario {
        name: "realm_host_timer_irq_exits",
        run: host_timer_exits,
    },
    Scenario {
        name: "realm_virtual_timer_forces_irq_exit",
        run: virtual_timer,
    },
];

const EXIT_IRQ: u64 = 1;
const EXIT_HOST_CALL: u64 = 5;
const LR_STATE_PENDING: u64 = 1 << 62;
const LR_STATE: u64 = 3 << 62;
const LR_HW: u64 = 1 << 61;
const LR_GROUP1: u64 = 1 << 60;
/// `gicv3_hcr` bits an exit may show: the host's (0x40FE) and EOIcount.
const EXIT_HCR_MASK: u64 = 0xF800_40FE;
/// ICH_VMCR_EL2.VENG1.
const VMCR_VENG1: u64 = 1 << 1;
/// CNTV_CTL ENABLE | ISTATUS (IMASK clear): the timer asserts its interrupt.
const TIMER_ASSERTED: u64 = 0b101;
/// Priority the hypervisor gives its PPIs (Non-secure view).
const PPI_PRIORITY: u8 = 0x80;
/// IRQ exits one run may take before it counts as a storm.
const IRQ_EXITS_MAX: u32 = 64;
/// IRQ exits allowed from the realm's timer call to the end of the run: the RMM's forced
/// exit, with room for one stray. An asserted timer the RMM does not mask makes many more.
const VTIMER_IRQ_EXITS_MAX: u32 = 3;
/// Times the host timer fires while the realm spins (re-armed after each IRQ exit).
const HOST_TIMER_FIRINGS: u32 = 8;
/// Delay of each host timer firing.
const HOST_TIMER_US: u64 = 1_000;
/// How long past the realm's timer deadline the hypervisor waits before entering again.
const PAST_DEADLINE_US: u64 = 2_000;
/// Longest the hypervisor waits for the realm's deadline.
const DEADLINE_WAIT_MAX_US: u64 = 200_000;

/// A pending Group 1 list register for `vintid` at `priority`.
const fn lr(vintid: u64, priority: u64) -> u64 {
    LR_STATE_PENDING | LR_GROUP1 | priority << 48 | vintid
}

/// The virtual CPU interface the RMM gives realms, from this CPU's ICH_VTR_EL2.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Implemented list registers.
    nr_lrs: usize,
    /// Implemented priority bits.
    pri_bits: u32,
    /// vINTID bits (16 or 24).
    id_bits: u32,
}

impl Shape {
    fn read() -> Self {
        let vtr = regs::ich_vtr_el2();
        Self {
            nr_lrs: ((vtr & 0x1F) as usize + 1).min(REC_GIC_NUM_LRS),
            pri_bits: ((vtr >> 29) & 7) as u32 + 1,
            id_bits: if (vtr >> 23) & 7 == 1 { 24 } else { 16 },
        }
    }

    /// What a priority mask of 0xFF reads back as.
    fn pmr_all(&self) -> u64 {
        (0xFF << (8 - self.pri_bits)) & 0xFF
    }
}

/// Where the realm's virtual timer test stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vtimer {
    /// The realm has not armed its timer.
    Idle,
    /// The deadline (CNTV_CVAL) passed while the host had the CPU: the next exit must be
    /// the RMM's IRQ exit.
    AwaitForcedExit(u64),
    /// The timer's interrupt was injected.
    Injected,
}

/// The interrupt side of a hypervisor, as a [`Service`] for one realm run.
struct Irqs {
    shape: Shape,
    freq: u64,
    /// List registers the next entry carries (what a hypervisor keeps per vCPU).
    lrs: Cell<[u64; REC_GIC_NUM_LRS]>,
    /// List registers for the next entry only, instead of `lrs`.
    once: Cell<Option<[u64; REC_GIC_NUM_LRS]>>,
    /// An LR injected for the next entry.
    inject_at: Cell<Option<usize>>,
    /// An LR injected into an earlier entry: the next exit the realm makes (not an IRQ
    /// exit) must show it handled.
    verify_at: Cell<Option<usize>>,
    /// Injected LRs seen handled.
    verified: Cell<u32>,
    /// Problems the hypervisor found (the first one's text is kept).
    problems: Cell<u32>,
    first_problem: RefCell<Line>,
    /// IRQ exits, and what the acknowledge gave on them.
    irq_exits: Cell<u32>,
    host_timer_acks: Cell<u32>,
    spurious_acks: Cell<u32>,
    other_acks: Cell<u32>,
    last_other: Cell<u32>,
    /// The realm spins with the host timer armed (from its `HostTimer` call to its next
    /// host call).
    spinning: Cell<bool>,
    /// Host timer re-arms left.
    rearms: Cell<u32>,
    /// IRQ exits acknowledged as the host timer while the realm spun.
    spin_irq_exits: Cell<u32>,
    vtimer: Cell<Vtimer>,
    vtimer_irq_exits: Cell<u32>,
    /// IRQ exits before the realm's `TimerArmed` call (its timer fired too early if any).
    irq_exits_before_armed: Cell<u32>,
    /// The forced exit came, with the timer asserted and its deadline.
    forced_exit_seen: Cell<bool>,
    /// Invalid GIC states REC_ENTER refused, and GicStateChecks rounds served.
    refused: Cell<u32>,
    rounds: Cell<u32>,
}

impl Irqs {
    fn new() -> Self {
        Self {
            shape: Shape::read(),
            freq: regs::cntfrq_el0(),
            lrs: Cell::new([0; REC_GIC_NUM_LRS]),
            once: Cell::new(None),
            inject_at: Cell::new(None),
            verify_at: Cell::new(None),
            verified: Cell::new(0),
            problems: Cell::new(0),
            first_problem: RefCell::new(Line::new()),
            irq_exits: Cell::new(0),
            host_timer_acks: Cell::new(0),
            spurious_acks: Cell::new(0),
            other_acks: Cell::new(0),
            last_other: Cell::new(0),
            spinning: Cell::new(false),
            rearms: Cell::new(0),
            spin_irq_exits: Cell::new(0),
            vtimer: Cell::new(Vtimer::Idle),
            vtimer_irq_exits: Cell::new(0),
            irq_exits_before_armed: Cell::new(0),
            forced_exit_seen: Cell::new(false),
            refused: Cell::new(0),
            rounds: Cell::new(0),
        }
    }

    fn ticks(&self, us: u64) -> u64 {
        self.freq * us / 1_000_000
    }

    /// Records a problem (printed now; the first one becomes the scenario's reason).
    fn problem(&self, args: core::fmt::Arguments<'_>) {
        println!("realm interrupts: {args}");
        if self.problems.get() == 0 {
            let _ = self.first_problem.borrow_mut().write_fmt(args);
        }
        self.problems.set(self.problems.get() + 1);
    }

    /// Fails with the first problem, if any.
    fn no_problems(&self) -> Outcome {
        match self.problems.get() {
            0 => Ok(()),
            n => fail!(
                "{n} problem(s), first: {}",
                self.first_problem.borrow().as_str()
            ),
        }
    }

    /// Puts `value` in a free implemented list register of the next entry.
    fn inject(&self, value: u64) {
        let mut lrs = self.lrs.get();
        match (0..self.shape.nr_lrs).find(|&i| lrs[i] & LR_STATE == 0) {
            Some(i) => {
                lrs[i] = value;
                self.lrs.set(lrs);
                self.inject_at.set(Some(i));
            }
            None => self.problem(format_args!(
                "no free list register to inject {value:#x} into: {lrs:#x?}"
            )),
        }
    }

    fn host_timer_arm(&self) {
        gic::set_cnthp_cval(regs::counter() + self.ticks(HOST_TIMER_US));
        gic::set_cnthp_ctl(1);
    }

    /// The exit's GIC part: checks, the injected LR's fate, the LRs to carry on.
    fn check_exit_gic(&self, vm: &TestVm, rec: usize, reason: u64) {
        let g = vm.exit_gic(rec);
        let nr = self.shape.nr_lrs;
        if g.hcr & !EXIT_HCR_MASK != 0 {
            self.problem(format_args!(
                "exit (reason {reason}) gicv3_hcr {:#x} has bits outside {EXIT_HCR_MASK:#x}",
                g.hcr
            ));
        }
        if let Some(i) = (nr..REC_GIC_NUM_LRS).find(|&i| g.lrs[i] != 0) {
            self.problem(format_args!(
                "exit gicv3_lrs[{i}] = {:#x}, past the {nr} implemented list registers",
                g.lrs[i]
            ));
        }
        if reason != EXIT_IRQ
            && let Some(i) = self.verify_at.take()
        {
            let vpmr = (g.vmcr >> 24) & 0xFF;
            if g.lrs[i] & LR_STATE != 0 {
                self.problem(format_args!(
                    "the exit after injecting shows gicv3_lrs[{i}] = {:#x}, not handled \
                     (vmcr {:#x}, hcr {:#x}, misr {:#x})",
                    g.lrs[i], g.vmcr, g.hcr, g.misr
                ));
            } else if g.vmcr & VMCR_VENG1 == 0 || vpmr != self.shape.pmr_all() {
                self.problem(format_args!(
                    "exit gicv3_vmcr {:#x}: VENG1 clear or VPMR {vpmr:#x} not {:#x}",
                    g.vmcr,
                    self.shape.pmr_all()
                ));
            } else {
                self.verified.set(self.verified.get() + 1);
            }
        }
        let mut carry = [0; REC_GIC_NUM_LRS];
        for (kept, lr) in carry.iter_mut().zip(&g.lrs[..nr]) {
            if lr & LR_STATE != 0 {
                *kept = *lr;
            }
        }
        self.lrs.set(carry);
    }

    /// An IRQ exit: acknowledge, handle, end.
    fn irq_exit(&self) -> Outcome {
        let n = self.irq_exits.get() + 1;
        self.irq_exits.set(n);
        let intid = gic::acknowledge();
        match intid {
            SPURIOUS => self.spurious_acks.set(self.spurious_acks.get() + 1),
            i if u64::from(i) == HOST_TIMER_INTID => {
                gic::set_cnthp_ctl(0);
                self.host_timer_acks.set(self.host_timer_acks.get() + 1);
                if self.spinning.get() {
                    self.spin_irq_exits.set(self.spin_irq_exits.get() + 1);
                    if self.rearms.get() > 0 {
                        self.rearms.set(self.rearms.get() - 1);
                        self.host_timer_arm();
                    }
                }
            }
            other => {
                self.other_acks.set(self.other_acks.get() + 1);
                self.last_other.set(other);
            }
        }
        if intid != SPURIOUS {
            gic::end_of_interrupt(intid);
        }
        ensure!(
            n <= IRQ_EXITS_MAX,
            "interrupt storm: {n} IRQ exits (last acknowledge {intid})"
        );
        Ok(())
    }

    /// The realm's virtual timer, after an exit.
    fn vtimer_exit(&self, vm: &TestVm, rec: usize, reason: u64) -> Outcome {
        let state = self.vtimer.get();
        if state == Vtimer::Idle {
            return Ok(());
        }
        if reason == EXIT_IRQ {
            let n = self.vtimer_irq_exits.get() + 1;
            self.vtimer_irq_exits.set(n);
            ensure!(
                n <= VTIMER_IRQ_EXITS_MAX,
                "{n} IRQ exits since the realm's virtual timer expired (exit cntv_ctl {:#x}): \
                 the asserted timer is not masked",
                vm.exit_word(rec, 0x410)
            );
        }
        if let Vtimer::AwaitForcedExit(cval) = state {
            let (ctl, exit_cval) = (vm.exit_word(rec, 0x410), vm.exit_word(rec, 0x418));
            if reason != EXIT_IRQ || ctl & 7 != TIMER_ASSERTED || exit_cval != cval {
                self.problem(format_args!(
                    "the entry after the realm's timer expired exited with reason {reason}, \
                     cntv_ctl {ctl:#x}, cntv_cval {exit_cval:#x}; expected IRQ, \
                     {TIMER_ASSERTED:#x}, {cval:#x} ({} IRQ exits before the realm's call)",
                    self.irq_exits_before_armed.get()
                ));
            } else {
                self.forced_exit_seen.set(true);
            }
            self.inject(lr(VTIMER_INTID, LR_PRIORITY));
            self.vtimer.set(Vtimer::Injected);
        }
        Ok(())
    }

    /// Tries REC_ENTER with an invalid GIC state: it must be RMI_ERROR_REC, and leave the
    /// exit half of the run page alone. Accepted means the realm ran: the run stops.
    fn refuse(
        &self,
        vm: &TestVm,
        rec: usize,
        what: &str,
        hcr: u64,
        lrs: &[u64; REC_GIC_NUM_LRS],
        answer: &[u64; 31],
    ) -> Outcome {
        const MARK: u64 = 0xDEAD_61C0;
        vm.set_gic(rec, hcr, lrs);
        vm.mark_exit(rec, MARK);
        let x0 = vm.enter(rec, 0, answer);
        ensure!(
            x0 != status::SUCCESS,
            "REC_ENTER with {what} was accepted: the realm ran (exit reason {})",
            vm.exit_word(rec, 0)
        );
        if x0 != status::REC {
            self.problem(format_args!(
                "REC_ENTER with {what} gave {x0:#x}, expected ERROR_REC"
            ));
        } else if vm.exit_word(rec, 0) != MARK {
            self.problem(format_args!(
                "REC_ENTER with {what} was refused but wrote the run page's exit"
            ));
        } else {
            self.refused.set(self.refused.get() + 1);
        }
        Ok(())
    }

    /// Round 0 of `GicStateChecks`: every invalid state; returns how many were tried.
    fn refuse_all(&self, vm: &TestVm, rec: usize, answer: &[u64; 31]) -> Result<u32, Failure> {
        let Shape {
            nr_lrs,
            pri_bits,
            id_bits,
        } = self.shape;
        let none = [0; REC_GIC_NUM_LRS];
        let one = |value: u64| {
            let mut lrs = none;
            lrs[0] = value;
            lrs
        };
        let v = |vintid: u64| lr(vintid, LR_PRIORITY);
        let mut tried = 0;
        let mut refuse = |what: &str, hcr: u64, lrs: [u64; REC_GIC_NUM_LRS]| {
            tried += 1;
            self.refuse(vm, rec, what, hcr, &lrs, answer)
        };
        refuse("gicv3_hcr En (bit 0)", 1, none)?;
        refuse("gicv3_hcr vSGIEOICount (bit 8)", 1 << 8, none)?;
        refuse("gicv3_hcr DVIM (bit 15)", 1 << 15, none)?;
        refuse("gicv3_hcr EOIcount (bit 27)", 1 << 27, none)?;
        refuse("an LR with HW (bit 61)", 0, one(v(100) | LR_HW))?;
        if pri_bits < 8 {
            let priority = LR_PRIORITY | 1 << (7 - pri_bits);
            refuse(
                "an LR priority with an unimplemented bit",
                0,
                one(lr(100, priority)),
            )?;
        }
        refuse("an LR with pINTID bit 32", 0, one(v(100) | 1 << 32))?;
        refuse("an LR with pINTID bit 44", 0, one(v(100) | 1 << 44))?;
        refuse("an LR with vINTID 1020", 0, one(v(1020)))?;
        refuse("an LR with vINTID 1023", 0, one(v(1023)))?;
        refuse("an LR with vINTID 8191", 0, one(v(8191)))?;
        refuse("an LR with a vINTID past IDbits", 0, one(v(1 << id_bits)))?;
        if gic::icc_ctlr() & (1 << 19) == 0 {
            refuse("an LR with vINTID 4096 (no ExtRange)", 0, one(v(4096)))?;
        }
        if nr_lrs >= 2 {
            let mut lrs = one(v(100));
            lrs[1] = v(100);
            refuse("LR0 and LR1 with the same vINTID", 0, lrs)?;
            let mut lrs = one(v(101));
            lrs[nr_lrs - 1] = lr(101, 0x80);
            refuse("LR0 and the last LR with the same vINTID", 0, lrs)?;
            let mut lrs = one(v(100));
            lrs[nr_lrs - 1] = v(102) | LR_HW;
            refuse("a valid LR0 and HW in the last LR", 0, lrs)?;
        }
        Ok(tried)
    }
}

impl Service for Irqs {
    fn before_enter(&self, vm: &TestVm, rec: usize) -> Outcome {
        let lrs = self.once.take().unwrap_or(self.lrs.get());
        vm.set_gic(rec, 0, &lrs);
        if let Some(i) = self.inject_at.take() {
            self.verify_at.set(Some(i));
        }
        Ok(())
    }

    fn after_exit(&self, vm: &TestVm, rec: usize, reason: u64) -> Outcome {
        self.check_exit_gic(vm, rec, reason);
        if reason == EXIT_HOST_CALL && self.spinning.replace(false) {
            gic::set_cnthp_ctl(0);
            self.rearms.set(0);
        }
        if reason == EXIT_IRQ {
            self.irq_exit()?;
        }
        self.vtimer_exit(vm, rec, reason)
    }

    fn host_call(
        &self,
        vm: &TestVm,
        rec: usize,
        code: HostCallCode,
        gpr: &dyn Fn(u64) -> u64,
    ) -> Result<[u64; 31], Failure> {
        match code {
            HostCallCode::InjectIrq => {
                self.inject(lr(gpr(0), gpr(1)));
                Ok([0; 31])
            }
            HostCallCode::GicStateChecks => {
                let answer = core::array::from_fn(gic_answer);
                self.rounds.set(self.rounds.get() + 1);
                let garbage = match gpr(0) {
                    0 => {
                        let tried = self.refuse_all(vm, rec, &answer)?;
                        println!(
                            "realm interrupts: {} of {tried} invalid GIC states refused",
                            self.refused.get()
                        );
                        // Invalid (state 0) list registers with every other bit set.
                        let mut lrs = [0; REC_GIC_NUM_LRS];
                        lrs[..self.shape.nr_lrs].fill(!LR_STATE);
                        lrs
                    }
                    _ => {
                        // Pending hardware interrupts with a reserved vINTID, past the
                        // implemented list registers.
                        let mut lrs = [0; REC_GIC_NUM_LRS];
                        lrs[self.shape.nr_lrs..].fill(lr(1020, 0xFF) | LR_HW);
                        lrs
                    }
                };
                self.once.set(Some(garbage));
                Ok(answer)
            }
            HostCallCode::HostTimer => {
                self.spinning.set(true);
                self.rearms.set(HOST_TIMER_FIRINGS - 1);
                self.host_timer_arm();
                Ok([0; 31])
            }
            HostCallCode::TimerArmed => {
                let cval = gpr(0);
                let now = regs::counter();
                let limit = now + self.ticks(DEADLINE_WAIT_MAX_US);
                let target = cval.saturating_add(self.ticks(PAST_DEADLINE_US));
                if target > limit {
                    self.problem(format_args!(
                        "the realm's timer deadline {cval:#x} is too far from now ({now:#x})"
                    ));
                }
                while regs::counter() < target.min(limit) {
                    core::hint::spin_loop();
                }
                self.vtimer_irq_exits.set(0);
                self.irq_exits_before_armed.set(self.irq_exits.get());
                self.vtimer.set(Vtimer::AwaitForcedExit(cval));
                Ok([0; 31])
            }
            other => fail!("realm made host call {other:?}, which this scenario does not serve"),
        }
    }
}

/// Runs the realm's interrupt scenario in `mode` with PPIs `ppis` enabled in this CPU's
/// redistributor, checks it reported exactly the checks named `prefix*`, then `after`.
fn run_mode(
    mode: u64,
    ppis: &[u32],
    prefix: &str,
    after: &dyn Fn(&Irqs, &Transcript) -> Outcome,
) -> Outcome {
    let gic = HostGic::init()?;
    let vm = TestVm::build(
        RealmScenario::Interrupts,
        mode,
        0,
        HashAlgorithm::Sha256,
        true,
    )?;
    let irqs = Irqs::new();
    let mut ran = Ok(());
    for &ppi in ppis {
        if ran.is_ok() {
            ran = gic.enable_ppi(ppi, PPI_PRIORITY);
        }
    }
    let ran = ran.and_then(|()| run_realm_with(&vm, 0, &no_other_recs, &irqs));
    // Quiesce whatever happened: timer off, PPIs off and not pending, nothing active.
    gic::set_cnthp_ctl(0);
    for &ppi in ppis {
        gic.disable_ppi(ppi);
    }
    for _ in 0..4 {
        match gic::acknowledge() {
            SPURIOUS => break,
            intid => {
                println!("realm interrupts: INTID {intid} was still pending at the end");
                gic::end_of_interrupt(intid);
            }
        }
    }
    let outcome = ran.and_then(|t| {
        irqs.no_problems()?;
        after(&irqs, &t)?;
        ensure!(
            irqs.other_acks.get() == 0,
            "{} IRQ exits acknowledged an unexpected INTID (last {})",
            irqs.other_acks.get(),
            irqs.last_other.get()
        );
        let expected = checks_named(prefix);
        ensure!(
            t.reported == expected,
            "realm reported checks {:#x}, expected {expected:#x}",
            t.reported
        );
        ensure!(t.failed == 0, "{} realm checks failed", t.failed);
        ensure!(
            t.done == Some(0),
            "realm finished with {:?} failures",
            t.done
        );
        Ok(())
    });
    if outcome.is_err() {
        let _ = vm.tear_down();
        return outcome;
    }
    vm.tear_down()
}

/// ESR_EL2 of the realm's `msr ICC_SGI1R_EL1, x<rt>` with Rt left out: EC 0x18, IL, op0 3,
/// op2 5, op1 0, CRn 12, CRm 11, a write.
const SGI1R_WRITE_ESR: u64 = 0x18 << 26 | 1 << 25 | 3 << 20 | 5 << 17 | 12 << 10 | 11 << 1;
/// ESR ISS Rt field.
const ESR_RT: u64 = 0x1F << 5;

fn lr_injection() -> Outcome {
    run_mode(MODE_LR, &[], "irq.lr.", &|irqs, t| {
        ensure!(
            irqs.verified.get() == 1,
            "the injected list register was seen handled at {} exits, expected 1",
            irqs.verified.get()
        );
        let (esr, value) = t.last_sysreg_write;
        ensure!(
            t.sysreg_writes == 1 && esr & !ESR_RT == SGI1R_WRITE_ESR && value == SGI1R_VALUE,
            "the realm's SGI: {} system register exits, the last ESR {esr:#x} value {value:#x} \
             (expected one, ESR {SGI1R_WRITE_ESR:#x} value {SGI1R_VALUE:#x})",
            t.sysreg_writes
        );
        Ok(())
    })
}

fn gic_state_refused() -> Outcome {
    run_mode(MODE_REJECT, &[], "irq.reject.", &|irqs, _| {
        ensure!(
            irqs.rounds.get() == 2,
            "{} GicStateChecks rounds, expected 2",
            irqs.rounds.get()
        );
        ensure!(
            irqs.irq_exits.get() == 0,
            "{} IRQ exits with no interrupt enabled",
            irqs.irq_exits.get()
        );
        Ok(())
    })
}

fn host_timer_exits() -> Outcome {
    run_mode(
        MODE_SPIN,
        &[HOST_TIMER_INTID as u32],
        "irq.spin.",
        &|irqs, _| {
            println!(
                "realm interrupts: {} IRQ exits while the realm spun ({} host timer, {} \
                 spurious acknowledges)",
                irqs.irq_exits.get(),
                irqs.spin_irq_exits.get(),
                irqs.spurious_acks.get()
            );
            ensure!(
                irqs.spin_irq_exits.get() >= 1,
                "no IRQ exit from the host timer while the realm spun (CNTHP_CTL {:#x}, \
                 ISR_EL1 {:#x}, HPPIR1 {})",
                gic::cnthp_ctl(),
                gic::isr_el1(),
                gic::highest_pending()
            );
            Ok(())
        },
    )
}

fn virtual_timer() -> Outcome {
    run_mode(
        MODE_VTIMER,
        &[VTIMER_INTID as u32],
        "irq.vtimer.",
        &|irqs, _| {
            println!(
                "realm interrupts: {} IRQ exits after the realm's timer expired \
                 ({} spurious acknowledges)",
                irqs.vtimer_irq_exits.get(),
                irqs.spurious_acks.get()
            );
            ensure!(
                irqs.vtimer.get() == Vtimer::Injected,
                "the realm never reported its timer armed, or no exit followed ({:?})",
                irqs.vtimer.get()
            );
            ensure!(
                irqs.forced_exit_seen.get(),
                "no IRQ exit reporting the expired timer"
            );
            ensure!(
                irqs.verified.get() == 1,
                "the injected timer interrupt was seen handled at {} exits, expected 1",
                irqs.verified.get()
            );
            Ok(())
        },
    )
}
