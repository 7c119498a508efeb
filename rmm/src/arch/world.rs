// SPDX-License-Identifier: MIT OR Apache-2.0
//! The door into a realm: the register state the world switch saves and restores, what it
//! reports when the realm traps back to R-EL2, and the [`RealmCpu`] trait.
//!
//! These are plain data types shared by the aarch64 world switch (which reads and writes them
//! from assembly, so the layouts are `repr(C)` with fixed offsets) and by the core's REC_ENTER
//! logic, which runs unchanged on the host against the fake. Nothing here decides anything:
//! which traps are handled, and how, is the job of the realm-execution logic above `arch`.

use core::mem::offset_of;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// A realm's general registers, PC and PSTATE (the asm relies on this exact layout).
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct RealmGprs {
    /// x0..x30.
    pub x: [u64; 31],
    /// The address the realm resumes at (ELR_EL2 on entry).
    pub pc: u64,
    /// The PSTATE the realm resumes with (SPSR_EL2 on entry).
    pub pstate: u64,
}

impl RealmGprs {
    /// Moves the PC past the (32-bit) instruction that trapped. The realm chose its PC, so
    /// the addition wraps rather than trusting it to be small.
    pub fn advance_pc(&mut self) {
        self.pc = self.pc.wrapping_add(4);
    }
}

/// Byte offset of [`RealmGprs::pc`], for the assembly.
pub const GPRS_PC_OFFSET: usize = offset_of!(RealmGprs, pc);
/// Byte offset of [`RealmGprs::pstate`], for the assembly.
pub const GPRS_PSTATE_OFFSET: usize = offset_of!(RealmGprs, pstate);
const _: () = assert!(GPRS_PC_OFFSET == 31 * 8 && GPRS_PSTATE_OFFSET == 32 * 8);

/// The EL1/EL0 system registers a realm owns, saved when it leaves the CPU and restored when
/// it comes back. The host's values of the same registers are swapped out around every run.
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct El1Sysregs {
    /// SCTLR_EL1.
    pub sctlr: u64,
    /// CPACR_EL1.
    pub cpacr: u64,
    /// TTBR0_EL1.
    pub ttbr0: u64,
    /// TTBR1_EL1.
    pub ttbr1: u64,
    /// TCR_EL1.
    pub tcr: u64,
    /// MAIR_EL1.
    pub mair: u64,
    /// AMAIR_EL1.
    pub amair: u64,
    /// VBAR_EL1.
    pub vbar: u64,
    /// CONTEXTIDR_EL1.
    pub contextidr: u64,
    /// TPIDR_EL0.
    pub tpidr_el0: u64,
    /// TPIDRRO_EL0.
    pub tpidrro_el0: u64,
    /// TPIDR_EL1.
    pub tpidr_el1: u64,
    /// SP_EL0.
    pub sp_el0: u64,
    /// SP_EL1.
    pub sp_el1: u64,
    /// ELR_EL1.
    pub elr: u64,
    /// SPSR_EL1.
    pub spsr: u64,
    /// ESR_EL1.
    pub esr: u64,
    /// FAR_EL1.
    pub far: u64,
    /// AFSR0_EL1.
    pub afsr0: u64,
    /// AFSR1_EL1.
    pub afsr1: u64,
    /// PAR_EL1.
    pub par: u64,
    /// CSSELR_EL1.
    pub csselr: u64,
    /// CNTKCTL_EL1.
    pub cntkctl: u64,
    /// MDSCR_EL1.
    pub mdscr: u64,
    /// CNTV_CTL_EL0 (the EL1 virtual timer).
    pub cntv_ctl: u64,
    /// CNTV_CVAL_EL0.
    pub cntv_cval: u64,
    /// CNTP_CTL_EL0 (the EL1 physical timer).
    pub cntp_ctl: u64,
    /// CNTP_CVAL_EL0.
    pub cntp_cval: u64,
}

/// The FP/SIMD registers of one CPU: V0..V31 (128 bits each, as two little-endian
/// halves), FPCR and FPSR (the asm relies on this exact layout).
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct FpRegs {
    /// V0..V31.
    pub v: [[u64; 2]; 32],
    /// FPCR.
    pub fpcr: u64,
    /// FPSR.
    pub fpsr: u64,
}

const _: () = assert!(offset_of!(FpRegs, fpcr) == 512 && offset_of!(FpRegs, fpsr) == 520);

/// A realm CPU's pointer-authentication keys (FEAT_PAuth), zero from REC_CREATE.
///
/// The world switch moves them lazily: a run starts with HCR_EL2.APK and API clear, so the
/// realm's first key-register access or PAC instruction traps ([`is_pauth_trap`]); then the
/// keys are loaded (the host's set aside), APK and API set for the rest of the run, and the
/// instruction runs again. At the end of such a run the keys are saved back here and the
/// host's restored. A REC that has used PAuth once ([`PauthKeys::in_use`]) has its keys
/// loaded at the start of every later run instead, as a kernel that signs every return
/// address would otherwise pay that trap on every run.
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct PauthKeys {
    /// APIAKeyLo/Hi, APIBKeyLo/Hi, APDAKeyLo/Hi, APDBKeyLo/Hi, APGAKeyLo/Hi (EL1), in this
    /// order.
    pub keys: [u64; PAUTH_KEY_REGS],
    /// Non-zero once the realm has used PAuth (its keys have been loaded in some run).
    pub in_use: u64,
}

/// Number of PAuth key registers (five 128-bit keys, as Lo/Hi halves).
pub const PAUTH_KEY_REGS: usize = 10;

/// ESR_ELx.EC of a trapped PAC instruction (HCR_EL2.API clear).
pub const EC_PAUTH: u64 = 0x09;
/// ESR_ELx.EC of a trapped system register access.
const EC_SYSREG: u64 = 0x18;

/// Whether a synchronous trap with syndrome `esr` is the realm's use of pointer
/// authentication while its keys are not loaded: a PAC instruction (EC 0x09, trapped by
/// HCR_EL2.API = 0) or an MRS/MSR of a key register (EC 0x18, trapped by HCR_EL2.APK = 0:
/// `op0 = 3, op1 = 0, CRn = 2, CRm = 1..=3`, where the architecture has only the ten keys).
pub const fn is_pauth_trap(esr: u64) -> bool {
    let ec = (esr >> 26) & 0x3F;
    if ec == EC_PAUTH {
        return true;
    }
    let op0 = (esr >> 20) & 0b11;
    let op1 = (esr >> 14) & 0b111;
    let crn = (esr >> 10) & 0xF;
    let crm = (esr >> 1) & 0xF;
    ec == EC_SYSREG && op0 == 3 && op1 == 0 && crn == 2 && crm >= 1 && crm <= 3
}

/// Everything of a realm CPU the world switch moves on and off the physical CPU on every
/// run (the FP/SIMD registers move only when the realm uses them: [`RealmFp`]; the PAuth
/// keys likewise: [`PauthKeys`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct RealmContext {
    /// General registers, PC, PSTATE.
    pub gprs: RealmGprs,
    /// EL1/EL0 system registers and timers.
    pub el1: El1Sysregs,
    /// Pointer-authentication keys.
    pub pauth: PauthKeys,
}

/// List registers the `RmiRecEnter`/`RmiRecExit` layout has room for (and GICv3 can have).
pub const VGIC_MAX_LRS: usize = 16;

/// Active-priority registers per group GICv3 can have.
pub const VGIC_MAX_APRS: usize = 4;

/// A realm CPU's GICv3 virtual CPU interface: the ICH_* registers the world switch loads
/// before the realm runs and reads back after (the asm does not touch this type; the
/// layout is `repr(C)` so the REC can keep it as bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct VgicState {
    /// ICH_HCR_EL2.
    pub hcr: u64,
    /// ICH_VMCR_EL2.
    pub vmcr: u64,
    /// ICH_AP0R<n>_EL2.
    pub ap0r: [u64; VGIC_MAX_APRS],
    /// ICH_AP1R<n>_EL2.
    pub ap1r: [u64; VGIC_MAX_APRS],
    /// ICH_LR<n>_EL2.
    pub lrs: [u64; VGIC_MAX_LRS],
    /// ICH_MISR_EL2 (read at exit; never written).
    pub misr: u64,
}

/// The EL1 generic timers' control bits (CNTV_CTL_EL0, CNTP_CTL_EL0).
pub mod timer_ctl {
    /// ENABLE.
    pub const ENABLE: u64 = 1 << 0;
    /// IMASK.
    pub const IMASK: u64 = 1 << 1;
    /// ISTATUS (read-only: the condition is met).
    pub const ISTATUS: u64 = 1 << 2;

    /// Whether a timer with control value `ctl` asserts its interrupt output: enabled, the
    /// condition met and not masked.
    pub const fn asserted(ctl: u64) -> bool {
        ctl & (ENABLE | IMASK | ISTATUS) == ENABLE | ISTATUS
    }
}

/// Which of a realm's two EL1 timers assert their output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerOutputs {
    /// The virtual timer (CNTV).
    pub virt: bool,
    /// The physical timer (CNTP).
    pub phys: bool,
}

impl TimerOutputs {
    /// The outputs of timers with controls `cntv_ctl` and `cntp_ctl`.
    pub const fn of(cntv_ctl: u64, cntp_ctl: u64) -> Self {
        Self {
            virt: timer_ctl::asserted(cntv_ctl),
            phys: timer_ctl::asserted(cntp_ctl),
        }
    }

    /// As bits: 0 the virtual timer, 1 the physical one (so `bits << 18` are their
    /// CNTHCTL_EL2.CNTVMASK / CNTPMASK).
    pub const fn bits(self) -> u64 {
        self.virt as u64 | (self.phys as u64) << 1
    }

    /// The bits of both controls the outputs depend on, in one word: equal keys mean equal
    /// outputs, so the world switch can skip working the outputs out while the key stays the
    /// same (the common case: neither timer touched since the last entry).
    pub const fn key(cntv_ctl: u64, cntp_ctl: u64) -> u64 {
        const BITS: u64 = timer_ctl::ENABLE | timer_ctl::IMASK | timer_ctl::ISTATUS;
        cntv_ctl & BITS | (cntp_ctl & BITS) << 3
    }
}

/// Whose FP/SIMD registers a [`RealmFp`] slot keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FpSlot {
    /// The realm CPU's, between runs.
    Realm,
    /// The host's, while the realm's are in the CPU (within one run).
    Host,
}

/// Where a realm CPU's FP/SIMD registers are kept between runs, and the host's while the
/// realm's are loaded (both in its REC). The world switch loads the realm's only when the
/// realm first uses FP/SIMD in a run, and stores them back at the end of that run, so runs
/// that never touch FP/SIMD cost nothing for it; the registers move straight between the
/// CPU and the slots, with no copy on the stack.
pub trait RealmFp {
    /// Runs `f` on the registers kept in `slot` (in place where the memory allows it).
    fn with_slot<R>(&self, slot: FpSlot, f: impl FnOnce(&mut FpRegs) -> R) -> R;
}

/// How the realm's translation and traps are configured for a run (EL2 registers the RMM
/// computes from the realm's parameters; the realm never sees them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RealmEntryConfig {
    /// VTTBR_EL2: VMID and the stage-2 root.
    pub vttbr: u64,
    /// VTCR_EL2: the stage-2 shape.
    pub vtcr: u64,
    /// HCR_EL2 while the realm runs.
    pub hcr: u64,
    /// VMPIDR_EL2: the MPIDR the realm reads (its REC's).
    pub vmpidr: u64,
    /// Implemented ICH_LR<n>_EL2 (1..=16): only these are loaded and saved.
    pub vgic_lrs: usize,
    /// Implemented ICH_AP0R<n>_EL2 / ICH_AP1R<n>_EL2 per group (1, 2 or 4).
    pub vgic_aprs: usize,
}

/// Which vector the realm's exception came in through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// A synchronous exception (ESR_EL2 says which).
    Sync,
    /// A physical IRQ.
    Irq,
    /// A physical FIQ.
    Fiq,
    /// An SError.
    SError,
    /// Not a trap: the realm was not entered because one of its timers started or stopped
    /// asserting its output since the last exit (see [`RealmCpu::run_realm`]).
    TimerChanged,
}

/// What the world switch read when the realm trapped to R-EL2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealmTrap {
    /// The vector.
    pub kind: TrapKind,
    /// ESR_EL2.
    pub esr: u64,
    /// FAR_EL2.
    pub far: u64,
    /// HPFAR_EL2.
    pub hpfar: u64,
}

/// What to do after a trap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapAction {
    /// Re-enter the realm with the general registers, PC and PSTATE in the context.
    Resume,
    /// Re-enter the realm after an exception was injected: ESR, ELR, SPSR and FAR of
    /// [`RealmContext::el1`] were changed and must reach the CPU.
    ResumeInjected,
    /// Stop running the realm.
    Stop,
}

/// Runs realm code on this CPU.
pub trait RealmCpu {
    /// Installs `config` and the realm's EL1 state from `ctx` (saving the host's), then
    /// repeatedly enters the realm at `ctx.gprs.pc` and, each time it traps back, stores its
    /// general registers in `ctx` and calls `on_trap`.
    ///
    /// While the realm is loaded its EL1 registers live in the CPU: during `on_trap`, only
    /// `ctx.gprs` and `ctx.el1.vbar` are current (the rest of `ctx.el1` is as it was at
    /// entry). `on_trap` may change the general registers, PC and PSTATE, or inject an
    /// exception by writing ESR, ELR, SPSR and FAR in `ctx.el1` and answering
    /// [`TrapAction::ResumeInjected`]. Before returning, the realm's EL1 state is saved into
    /// `ctx` and the host's restored, so nothing of the realm remains in the CPU.
    ///
    /// The realm's FP/SIMD registers come from `fp` the first time it uses FP/SIMD in this
    /// call (its first access traps to R-EL2, which the implementation handles itself) and
    /// go back to `fp` before returning; the host's are restored.
    ///
    /// Its PAuth keys likewise come from `ctx.pauth` the first time it uses PAuth in this call
    /// (or at entry once [`PauthKeys::in_use`]; see [`PauthKeys`]) and go back there before
    /// returning, with the host's keys restored; such traps never reach `on_trap`.
    ///
    /// The virtual CPU interface is loaded from `gic` (its first `config.vgic_lrs` list
    /// registers and `config.vgic_aprs` active-priority registers per group) before the
    /// first entry and saved back into it, MISR included, before returning; then it is
    /// disabled and its list and active-priority registers cleared, so nothing of the realm's
    /// interrupt state stays in the CPU.
    ///
    /// Timers: before every entry, a realm timer whose output is asserted is masked from the
    /// interrupt controller for that run (CNTHCTL_EL2.CNTVMASK / CNTPMASK), so a timer the
    /// host has already been told about cannot keep interrupting the realm; and if the
    /// asserted state of either timer differs from what `ctx.el1`'s controls (those at the
    /// last exit) gave, the realm is not entered: `on_trap` is called with
    /// [`TrapKind::TimerChanged`], so the host hears about the change first.
    fn run_realm<F>(
        &self,
        config: &RealmEntryConfig,
        ctx: &mut RealmContext,
        gic: &mut VgicState,
        fp: &impl RealmFp,
        on_trap: F,
    ) where
        F: FnMut(&mut RealmContext, &RealmTrap) -> TrapAction;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ESR of an MRS/MSR trap (EC 0x18) of `S<op0>_<op1>_C<crn>_C<crm>_<op2>`.
    fn sysreg_esr(op0: u64, op1: u64, crn: u64, crm: u64, op2: u64, read: bool) -> u64 {
        EC_SYSREG << 26
            | 1 << 25
            | op0 << 20
            | op2 << 17
            | op1 << 14
            | crn << 10
            | 5 << 5
            | crm << 1
            | u64::from(read)
    }

    #[test]
    fn pauth_traps_are_pac_instructions_and_the_ten_key_registers() {
        assert!(is_pauth_trap(EC_PAUTH << 26 | 1 << 25));
        assert!(is_pauth_trap(EC_PAUTH << 26));
        assert!(
            is_pauth_trap(0xFF << 32 | EC_PAUTH << 26),
            "ISS2 bits do not matter"
        );
        for (crm, op2s) in [(1, 0..4), (2, 0..4), (3, 0..2)] {
            for op2 in op2s {
                for read in [false, true] {
                    assert!(is_pauth_trap(sysreg_esr(3, 0, 2, crm, op2, read)));
                }
            }
        }
        // TTBR0_EL1, TCR_EL1 (CRn 2, CRm 0), a key's encoding at another op1, op0 or CRn,
        // and other classes with a key-like ISS are not PAuth traps.
        assert!(!is_pauth_trap(sysreg_esr(3, 0, 2, 0, 0, true)));
        assert!(!is_pauth_trap(sysreg_esr(3, 0, 2, 0, 2, false)));
        assert!(!is_pauth_trap(sysreg_esr(3, 4, 2, 1, 0, true)));
        assert!(!is_pauth_trap(sysreg_esr(2, 0, 2, 1, 0, true)));
        assert!(!is_pauth_trap(sysreg_esr(3, 0, 3, 1, 0, true)));
        assert!(!is_pauth_trap(sysreg_esr(3, 0, 2, 4, 0, true)));
        assert!(!is_pauth_trap(
            sysreg_esr(3, 0, 2, 1, 0, true) & !(0x3F << 26) | 0x17 << 26
        ));
        assert!(!is_pauth_trap(0x07 << 26));
    }

    #[test]
    fn timer_outputs_follow_enable_istatus_and_imask() {
        use timer_ctl::{ENABLE, IMASK, ISTATUS};
        assert_eq!(TimerOutputs::of(ENABLE | ISTATUS, 0).bits(), 0b01);
        assert_eq!(TimerOutputs::of(0, ENABLE | ISTATUS).bits(), 0b10);
        assert_eq!(
            TimerOutputs::of(ENABLE | ISTATUS | IMASK, ISTATUS).bits(),
            0
        );
        assert_eq!(TimerOutputs::of(ENABLE, ENABLE | ISTATUS | 8).bits(), 0b10);
    }

    #[test]
    fn equal_timer_keys_mean_equal_outputs() {
        // Every pair of control values over the three bits and one bit above them.
        let values = 0..16u64;
        for (v1, p1, v2, p2) in values.clone().flat_map(|v1| {
            values.clone().flat_map(move |p1| {
                (0..16).flat_map(move |v2| (0..16).map(move |p2| (v1, p1, v2, p2)))
            })
        }) {
            if TimerOutputs::key(v1, p1) == TimerOutputs::key(v2, p2) {
                assert_eq!(TimerOutputs::of(v1, p1), TimerOutputs::of(v2, p2));
            }
        }
        // The key tells the two timers apart.
        use timer_ctl::{ENABLE, ISTATUS};
        assert_ne!(
            TimerOutputs::key(ENABLE | ISTATUS, 0),
            TimerOutputs::key(0, ENABLE | ISTATUS)
        );
    }
}
