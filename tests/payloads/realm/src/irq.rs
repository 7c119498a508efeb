// SPDX-License-Identifier: MIT OR Apache-2.0
//! Interrupts in the realm ([`realm_protocol::Scenario::Interrupts`]).
//!
//! The realm uses the GICv3 system registers. With HCR_EL2.IMO set by the RMM, the ICC_*
//! registers it names at EL1 are the virtual CPU interface (ICV_*), fed by the list
//! registers the host passes in `RmiRecEnter`. IRQs stay masked (PSTATE.I) except inside
//! [`take_irqs`], which waits a bounded time; the vector ([`handle`]) acknowledges with
//! ICC_IAR1_EL1, records the INTID, masks the virtual timer if it was the timer's, and EOIs.
//!
//! Modes (x2):
//! - LR: GIC set-up checks, then the realm asks for [`LR_INTID`] and must take it exactly
//!   once, with nothing pending and no active priority afterwards; last it sends an SGI
//!   (ICC_SGI1R_EL1 = [`SGI1R_VALUE`]), which the host must see.
//! - reject: two host calls during which the host tries invalid GIC states; each answer
//!   must be exact and no interrupt may arrive.
//! - spin: the host arms its own timer, the realm spins [`SPIN_US`] over 28 registers
//!   while IRQ exits come and go, then checks every register's closed-form value.
//! - vtimer: the realm arms its virtual timer, exits, and must then take [`VTIMER_INTID`]
//!   (injected by the host after the RMM reported the timer) with the timer asserted.

use crate::host_call;
use crate::scenarios::Checks;
use core::sync::atomic::{AtomicU64, Ordering};
use realm_protocol::irq::{
    HOST_TIMER_DELAY_US, LR_INTID, LR_PRIORITY, MODE_LR, MODE_REJECT, MODE_SPIN, MODE_VTIMER,
    SGI1R_VALUE, SPIN_US, VTIMER_DELAY_US, VTIMER_INTID, WAIT_US, gic_answer,
};
use realm_protocol::{HostCallCode, check};

/// ICC_IAR1_EL1 / ICC_HPPIR1_EL1 value for "nothing".
const SPURIOUS: u64 = 1023;
/// CNTV_CTL_EL0 bits.
const TIMER_ENABLE: u64 = 1;
const TIMER_IMASK: u64 = 2;
const TIMER_ISTATUS: u64 = 4;
/// Most IRQs the vector takes with IRQs left unmasked; past this it resumes the interrupted
/// code with IRQs masked, so a storm cannot stop the realm.
const STORM: u64 = 32;

/// IRQs taken (not spurious) since the last [`reset`].
static COUNT: AtomicU64 = AtomicU64::new(0);
/// The first INTIDs taken.
static INTIDS: [AtomicU64; 8] = [const { AtomicU64::new(u64::MAX) }; 8];
/// Spurious acknowledgements (IAR read 1020..1023).
static SPURIOUS_COUNT: AtomicU64 = AtomicU64::new(0);
/// CNTV_CTL_EL0 when the virtual timer's interrupt was taken.
static CNTV_AT_IRQ: AtomicU64 = AtomicU64::new(u64::MAX);

macro_rules! read_reg {
    ($name:ident, $reg:literal) => {
        #[doc = concat!("Reads ", $reg, ".")]
        fn $name() -> u64 {
            let value: u64;
            // SAFETY: reading a GIC CPU-interface or timer register at EL1 changes nothing,
            // except ICC_IAR1_EL1, which acknowledges (only `handle` reads it).
            unsafe {
                core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) value, options(nostack));
            }
            value
        }
    };
}

macro_rules! write_reg {
    ($name:ident, $reg:literal) => {
        #[doc = concat!("Writes ", $reg, ", then ISB.")]
        fn $name(value: u64) {
            // SAFETY: a GIC CPU-interface or timer register the realm owns; no memory is
            // touched.
            unsafe {
                core::arch::asm!(concat!("msr ", $reg, ", {}"), "isb", in(reg) value,
                    options(nostack));
            }
        }
    };
}

read_reg!(icc_iar1, "S3_0_C12_C12_0");
write_reg!(icc_eoir1, "S3_0_C12_C12_1");
read_reg!(icc_hppir1, "S3_0_C12_C12_2");
read_reg!(icc_ctlr, "S3_0_C12_C12_4");
read_reg!(icc_sre, "S3_0_C12_C12_5");
write_reg!(set_icc_sre, "S3_0_C12_C12_5");
read_reg!(icc_igrpen1, "S3_0_C12_C12_7");
write_reg!(set_icc_igrpen1, "S3_0_C12_C12_7");
read_reg!(icc_pmr, "S3_0_C4_C6_0");
write_reg!(set_icc_pmr, "S3_0_C4_C6_0");
read_reg!(icc_rpr, "S3_0_C12_C11_3");
write_reg!(icc_dir, "S3_0_C12_C11_1");
write_reg!(icc_sgi1r, "S3_0_C12_C11_5");
read_reg!(cntv_ctl, "cntv_ctl_el0");
write_reg!(set_cntv_ctl, "cntv_ctl_el0");
write_reg!(set_cntv_cval, "cntv_cval_el0");
read_reg!(cntfrq, "cntfrq_el0");

/// The virtual counter after an ISB.
pub(crate) fn now() -> u64 {
    let value: u64;
    // SAFETY: ISB and a counter read have no side effects.
    unsafe {
        core::arch::asm!("isb", "mrs {}, cntvct_el0", out(reg) value, options(nomem, nostack));
    }
    value
}

/// Counter ticks in `us` microseconds.
pub(crate) fn ticks(us: u64) -> u64 {
    cntfrq() * us / 1_000_000
}

/// The vector's IRQ handler (vector 5: current EL, SP_ELx).
pub fn handle() {
    let intid = icc_iar1() & 0xFF_FFFF;
    if (1020..=1023).contains(&intid) {
        SPURIOUS_COUNT.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let n = COUNT.fetch_add(1, Ordering::SeqCst);
    if let Some(slot) = INTIDS.get(n as usize) {
        slot.store(intid, Ordering::SeqCst);
    }
    if intid == VTIMER_INTID {
        let ctl = cntv_ctl();
        CNTV_AT_IRQ.store(ctl, Ordering::SeqCst);
        set_cntv_ctl(ctl | TIMER_IMASK);
    }
    icc_eoir1(intid);
    // EOImode 1 splits priority drop (EOIR) from deactivation (DIR).
    if icc_ctlr() & 2 != 0 {
        icc_dir(intid);
    }
    if n + 1 >= STORM {
        // Resume the interrupted code with IRQs masked (the vector returns with SPSR_EL1).
        // SAFETY: sets PSTATE.I in the saved state the `eret` restores; nothing else changes.
        unsafe {
            core::arch::asm!("mrs {t}, spsr_el1", "orr {t}, {t}, #0x80", "msr spsr_el1, {t}",
                t = out(reg) _, options(nomem, nostack));
        }
    }
}

/// Forgets every IRQ taken so far.
fn reset() {
    COUNT.store(0, Ordering::SeqCst);
    SPURIOUS_COUNT.store(0, Ordering::SeqCst);
    CNTV_AT_IRQ.store(u64::MAX, Ordering::SeqCst);
    for slot in &INTIDS {
        slot.store(u64::MAX, Ordering::SeqCst);
    }
}

/// Unmasks IRQs until `want` have been taken or `timeout_us` passed, then for `settle_us`
/// longer (so a repeated delivery shows); masks them again and returns how many were taken.
fn take_irqs(want: u64, timeout_us: u64, settle_us: u64) -> u64 {
    let before = COUNT.load(Ordering::SeqCst);
    let deadline = now() + ticks(timeout_us);
    // SAFETY: unmasks IRQs; the vector handles them and returns here.
    unsafe { core::arch::asm!("msr daifclr, #2", "isb", options(nomem, nostack)) };
    while COUNT.load(Ordering::SeqCst) - before < want && now() < deadline {
        core::hint::spin_loop();
    }
    let settle = now() + ticks(settle_us);
    while now() < settle {
        core::hint::spin_loop();
    }
    // SAFETY: masks IRQs again.
    unsafe { core::arch::asm!("msr daifset, #2", "isb", options(nomem, nostack)) };
    COUNT.load(Ordering::SeqCst) - before
}

fn intid(n: usize) -> u64 {
    INTIDS[n].load(Ordering::SeqCst)
}

/// Enables Group 1 in the virtual CPU interface with the lowest priority mask; returns
/// (ICC_SRE_EL1, ICC_PMR_EL1, ICC_IGRPEN1_EL1, ICC_CTLR_EL1) read back.
fn gic_setup() -> [u64; 4] {
    set_icc_sre(icc_sre() | 1);
    set_icc_pmr(0xFF);
    set_icc_igrpen1(1);
    [icc_sre(), icc_pmr(), icc_igrpen1(), icc_ctlr()]
}

/// The priority mask 0xFF reads back as with the implemented priority bits
/// (ICC_CTLR_EL1.PRIbits + 1).
fn pmr_all(ctlr: u64) -> u64 {
    let bits = ((ctlr >> 8) & 7) + 1;
    (0xFF << (8 - bits)) & 0xFF
}

/// The scenario in mode `mode`.
pub fn run(mode: u64) -> u64 {
    reset();
    match mode {
        MODE_LR => lr(),
        MODE_REJECT => reject(),
        MODE_SPIN => spin(),
        MODE_VTIMER => vtimer(),
        _ => {
            host_call::print("unknown interrupt mode");
            1
        }
    }
}

fn lr() -> u64 {
    let mut c = Checks::new();
    let [sre, pmr, igrpen1, ctlr] = gic_setup();
    c.report(
        const { check("irq.lr.gic_sysregs") },
        sre & 1 == 1 && pmr == pmr_all(ctlr) && igrpen1 & 1 == 1,
        &[sre, pmr, igrpen1, ctlr],
    );
    host_call::call(HostCallCode::InjectIrq, &[LR_INTID, LR_PRIORITY]);
    let taken = take_irqs(1, WAIT_US, 1_000);
    let spurious = SPURIOUS_COUNT.load(Ordering::SeqCst);
    c.report(
        const { check("irq.lr.taken_once") },
        taken == 1 && intid(0) == LR_INTID && spurious == 0,
        &[taken, intid(0), intid(1), spurious],
    );
    let (hppir, rpr) = (icc_hppir1() & 0xFF_FFFF, icc_rpr() & 0xFF);
    c.report(
        const { check("irq.lr.nothing_pending_after") },
        hppir == SPURIOUS && rpr == 0xFF,
        &[hppir, rpr],
    );
    // An IPI: the host must see it (a SYNC exit with the value), the realm goes on.
    icc_sgi1r(SGI1R_VALUE);
    c.failures()
}

/// One `GicStateChecks` round: the answer must be exact, and nothing may be delivered.
fn reject_round(c: &mut Checks, round: u64, index: u64) {
    let answer = host_call::call(HostCallCode::GicStateChecks, &[round]);
    let wrong = answer
        .iter()
        .enumerate()
        .position(|(i, &v)| v != gic_answer(i));
    let taken = take_irqs(1, 2_000, 0);
    let spurious = SPURIOUS_COUNT.load(Ordering::SeqCst);
    let hppir = icc_hppir1() & 0xFF_FFFF;
    c.report(
        index,
        wrong.is_none() && taken == 0 && spurious == 0 && hppir == SPURIOUS,
        &[
            wrong.map_or(u64::MAX, |i| i as u64),
            wrong.map_or(0, |i| answer[i]),
            taken,
            intid(0),
            spurious,
            hppir,
        ],
    );
}

fn reject() -> u64 {
    let mut c = Checks::new();
    gic_setup();
    reject_round(&mut c, 0, const { check("irq.reject.continues") });
    reject_round(&mut c, 1, const { check("irq.reject.upper_lrs_ignored") });
    c.failures()
}

/// Registers the spin loop works on (x1..x28).
const SPIN_REGS: usize = 28;

/// What [`realm_irq_spin`] reads and writes.
#[repr(C)]
struct SpinState {
    /// CNTVCT_EL0 value to spin until.
    deadline: u64,
    /// Iterations done (written).
    iterations: u64,
    /// x1..x28 before and after.
    regs: [u64; SPIN_REGS],
}

unsafe extern "C" {
    /// Loads x1..x28 from `state`, adds i to x<i> on every iteration until the virtual
    /// counter reaches the deadline, and stores them and the iteration count back.
    fn realm_irq_spin(state: *mut SpinState);
}

core::arch::global_asm!(
    ".section .text.realm_irq_spin, \"ax\"",
    ".global realm_irq_spin",
    "realm_irq_spin:",
    "stp x29, x30, [sp, #-112]!",
    "stp x27, x28, [sp, #16]",
    "stp x25, x26, [sp, #32]",
    "stp x23, x24, [sp, #48]",
    "stp x21, x22, [sp, #64]",
    "stp x19, x20, [sp, #80]",
    "stp x18, x0, [sp, #96]",
    "ldr x30, [x0, #0]",
    "mov x29, #0",
    "ldp x1, x2, [x0, #16]",
    "ldp x3, x4, [x0, #32]",
    "ldp x5, x6, [x0, #48]",
    "ldp x7, x8, [x0, #64]",
    "ldp x9, x10, [x0, #80]",
    "ldp x11, x12, [x0, #96]",
    "ldp x13, x14, [x0, #112]",
    "ldp x15, x16, [x0, #128]",
    "ldp x17, x18, [x0, #144]",
    "ldp x19, x20, [x0, #160]",
    "ldp x21, x22, [x0, #176]",
    "ldp x23, x24, [x0, #192]",
    "ldp x25, x26, [x0, #208]",
    "ldp x27, x28, [x0, #224]",
    "1:",
    ".irp n, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28",
    "add x\\n, x\\n, #\\n",
    ".endr",
    "add x29, x29, #1",
    "mrs x0, cntvct_el0",
    "cmp x0, x30",
    "b.lo 1b",
    "ldr x0, [sp, #104]",
    "str x29, [x0, #8]",
    "stp x1, x2, [x0, #16]",
    "stp x3, x4, [x0, #32]",
    "stp x5, x6, [x0, #48]",
    "stp x7, x8, [x0, #64]",
    "stp x9, x10, [x0, #80]",
    "stp x11, x12, [x0, #96]",
    "stp x13, x14, [x0, #112]",
    "stp x15, x16, [x0, #128]",
    "stp x17, x18, [x0, #144]",
    "stp x19, x20, [x0, #160]",
    "stp x21, x22, [x0, #176]",
    "stp x23, x24, [x0, #192]",
    "stp x25, x26, [x0, #208]",
    "stp x27, x28, [x0, #224]",
    "ldr x18, [sp, #96]",
    "ldp x19, x20, [sp, #80]",
    "ldp x21, x22, [sp, #64]",
    "ldp x23, x24, [sp, #48]",
    "ldp x25, x26, [sp, #32]",
    "ldp x27, x28, [sp, #16]",
    "ldp x29, x30, [sp], #112",
    "ret",
);

fn spin() -> u64 {
    let mut c = Checks::new();
    let init: [u64; SPIN_REGS] =
        core::array::from_fn(|i| 0x0101_0101_0101_0101_u64.wrapping_mul(i as u64 + 1) ^ 0xA5);
    host_call::call(HostCallCode::HostTimer, &[HOST_TIMER_DELAY_US]);
    let mut state = SpinState {
        deadline: now() + ticks(SPIN_US),
        iterations: 0,
        regs: init,
    };
    // SAFETY: `state` is a valid, exclusive SpinState; the routine follows the procedure
    // call standard (it saves and restores x18..x30) and touches no other memory.
    unsafe { realm_irq_spin(&mut state) };
    let n = state.iterations;
    let bad = (0..SPIN_REGS)
        .find(|&i| state.regs[i] != init[i].wrapping_add(n.wrapping_mul(i as u64 + 1)));
    c.report(
        const { check("irq.spin.registers_survive") },
        n > 0 && bad.is_none(),
        &[
            n,
            bad.map_or(u64::MAX, |i| i as u64 + 1),
            bad.map_or(0, |i| state.regs[i]),
            COUNT.load(Ordering::SeqCst),
        ],
    );
    c.failures()
}

fn vtimer() -> u64 {
    let mut c = Checks::new();
    gic_setup();
    let cval = now() + ticks(VTIMER_DELAY_US);
    set_cntv_cval(cval);
    set_cntv_ctl(TIMER_ENABLE);
    host_call::call(HostCallCode::TimerArmed, &[cval]);
    let taken = take_irqs(1, WAIT_US, 1_000);
    let at_irq = CNTV_AT_IRQ.load(Ordering::SeqCst);
    let spurious = SPURIOUS_COUNT.load(Ordering::SeqCst);
    c.report(
        const { check("irq.vtimer.taken") },
        taken == 1
            && intid(0) == VTIMER_INTID
            && at_irq & 7 == TIMER_ENABLE | TIMER_ISTATUS
            && spurious == 0,
        &[taken, intid(0), intid(1), at_irq, spurious],
    );
    let ctl = cntv_ctl();
    let hppir = icc_hppir1() & 0xFF_FFFF;
    let rpr = icc_rpr() & 0xFF;
    c.report(
        const { check("irq.vtimer.masked_nothing_pending") },
        ctl & 7 == TIMER_ENABLE | TIMER_IMASK | TIMER_ISTATUS && hppir == SPURIOUS && rpr == 0xFF,
        &[ctl, hppir, rpr],
    );
    set_cntv_ctl(0);
    c.failures()
}
