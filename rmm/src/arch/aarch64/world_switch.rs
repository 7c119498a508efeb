// SPDX-License-Identifier: MIT OR Apache-2.0
//! The world switch: entering a realm at R-EL1 and coming back when it traps to R-EL2.
//!
//! `rmm_realm_run(gprs)` saves the RMM's callee-saved registers and `gprs` pointer on this
//! CPU's stack, loads the realm's x0..x30, ELR_EL2 and SPSR_EL2 from `gprs` and `eret`s. The
//! four lower-EL AArch64 vectors come back on the same stack (SP_EL2 is untouched while the
//! realm runs): each holds the whole exit path, which stashes x0/x1 below the frame, stores
//! the realm's registers through the saved pointer and returns from `rmm_realm_run` with the
//! vector's number, with no branch on the way. Both halves are assembly in the exception
//! vector table's spare bytes ([`super::vectors`]), on this module's frame layout ([`FRAME`],
//! [`FRAME_GPRS`]).
//!
//! Around those runs, [`HwMachine::run_realm`](super::machine::HwMachine) swaps the EL1
//! system registers and the FP/SIMD registers (the host's out, the realm's in, and back),
//! loads and saves the realm's virtual CPU interface ([`vgic_regs`]), masks the realm's
//! asserted timers before each entry, and installs the realm's EL2 configuration (stage 2,
//! traps, virtual MPIDR), restoring the RMM's values afterwards. The realm's FP/SIMD
//! registers and pointer-authentication keys move lazily, on its first use in a run (the
//! keys at entry once the REC has used them: [`PauthKeys`]).

use super::realm_sysregs::{mrs, msr};
use super::{fp_regs, sme, vgic_regs};
use crate::arch::world::{
    El1Sysregs, FpSlot, PAUTH_KEY_REGS, PauthKeys, RealmContext, RealmEntryConfig, RealmFp,
    RealmGprs, RealmTrap, TimerOutputs, TrapAction, TrapKind, VgicState, is_pauth_trap,
};
use crate::cpu_features::{
    CpuIdRegisters, fine_grained_traps, pmuv3_present, realm_hpmn, sme_present,
};

/// Bytes the run routine keeps on the stack: x19..x30 (x19..x28 at 0, x29 and x30 at 80) and
/// the `gprs` pointer. The realm-exit vectors pop it.
pub(super) const FRAME: usize = 112;
/// Offset of the `gprs` pointer in that frame.
pub(super) const FRAME_GPRS: usize = 96;

unsafe extern "C" {
    fn rmm_realm_run(gprs: *mut RealmGprs) -> u64;
}

macro_rules! el1_registers {
    ($($field:ident => $reg:literal),* $(,)?) => {
        /// Reads this CPU's EL1/EL0 registers into `regs`.
        fn save_el1(regs: &mut El1Sysregs) {
            $( regs.$field = mrs!($reg); )*
        }

        /// Writes `regs` into this CPU's EL1/EL0 registers.
        fn restore_el1(regs: &El1Sysregs) {
            $( msr!($reg, regs.$field); )*
        }
    };
}

el1_registers! {
    sctlr => "sctlr_el1",
    cpacr => "cpacr_el1",
    ttbr0 => "ttbr0_el1",
    ttbr1 => "ttbr1_el1",
    tcr => "tcr_el1",
    mair => "mair_el1",
    amair => "amair_el1",
    vbar => "vbar_el1",
    contextidr => "contextidr_el1",
    tpidr_el0 => "tpidr_el0",
    tpidrro_el0 => "tpidrro_el0",
    tpidr_el1 => "tpidr_el1",
    sp_el0 => "sp_el0",
    sp_el1 => "sp_el1",
    elr => "elr_el1",
    spsr => "spsr_el1",
    esr => "esr_el1",
    far => "far_el1",
    afsr0 => "afsr0_el1",
    afsr1 => "afsr1_el1",
    par => "par_el1",
    csselr => "csselr_el1",
    cntkctl => "cntkctl_el1",
    mdscr => "mdscr_el1",
    cntv_ctl => "cntv_ctl_el0",
    cntv_cval => "cntv_cval_el0",
    cntp_ctl => "cntp_ctl_el0",
    cntp_cval => "cntp_cval_el0",
}

macro_rules! pauth_key_registers {
    ($($index:literal => $reg:literal),* $(,)?) => {
        /// Reads this CPU's EL1 PAuth key registers into `keys` (the [`PauthKeys::keys`]
        /// order).
        fn save_keys(keys: &mut [u64; PAUTH_KEY_REGS]) {
            $( keys[$index] = mrs!($reg); )*
        }

        /// Writes `keys` into this CPU's EL1 PAuth key registers.
        fn load_keys(keys: &[u64; PAUTH_KEY_REGS]) {
            $( msr!($reg, keys[$index]); )*
        }
    };
}

// By encoding, so no assembler extension is needed: APIAKeyLo/Hi_EL1, APIBKeyLo/Hi_EL1,
// APDAKeyLo/Hi_EL1, APDBKeyLo/Hi_EL1, APGAKeyLo/Hi_EL1. (EL2 accesses to them are not
// trapped by HCR_EL2; TF-A built with ENABLE_RME sets SCR_EL3.APK/API for every world.)
pauth_key_registers! {
    0 => "S3_0_C2_C1_0",
    1 => "S3_0_C2_C1_1",
    2 => "S3_0_C2_C1_2",
    3 => "S3_0_C2_C1_3",
    4 => "S3_0_C2_C2_0",
    5 => "S3_0_C2_C2_1",
    6 => "S3_0_C2_C2_2",
    7 => "S3_0_C2_C2_3",
    8 => "S3_0_C2_C3_0",
    9 => "S3_0_C2_C3_1",
}

/// `HCR_EL2.APK` (bit 40) and `API` (bit 41): the realm's key-register accesses and PAC
/// instructions do not trap. Set only while the realm's keys are in the CPU.
const HCR_EL2_APK_API: u64 = 1 << 40 | 1 << 41;

/// Puts the realm's PAuth keys into the CPU and returns the host's, which were there; then
/// the realm's key accesses and PAC instructions stop trapping (`hcr` | APK | API, which the
/// next ERET synchronises). Marks the keys in use, so later runs load them at entry.
#[inline(never)]
fn load_realm_keys(pauth: &mut PauthKeys, hcr: u64) -> [u64; PAUTH_KEY_REGS] {
    let mut host = [0; PAUTH_KEY_REGS];
    save_keys(&mut host);
    load_keys(&pauth.keys);
    pauth.in_use = 1;
    msr!("hcr_el2", hcr | HCR_EL2_APK_API);
    host
}

/// Saves the realm's PAuth keys from the CPU into `pauth` and puts `host`'s back.
#[inline(never)]
fn unload_realm_keys(pauth: &mut PauthKeys, host: &[u64; PAUTH_KEY_REGS]) {
    save_keys(&mut pauth.keys);
    load_keys(host);
}

/// The EL2 controls a realm run changes, as the RMM had them.
struct El2Controls {
    hcr: u64,
    vttbr: u64,
    vtcr: u64,
    cptr: u64,
    mdcr: u64,
    cnthctl: u64,
    cntvoff: u64,
    vmpidr: u64,
}

impl El2Controls {
    fn save() -> Self {
        Self {
            hcr: mrs!("hcr_el2"),
            vttbr: mrs!("vttbr_el2"),
            vtcr: mrs!("vtcr_el2"),
            cptr: mrs!("cptr_el2"),
            mdcr: mrs!("mdcr_el2"),
            cnthctl: mrs!("cnthctl_el2"),
            cntvoff: mrs!("cntvoff_el2"),
            vmpidr: mrs!("vmpidr_el2"),
        }
    }

    fn install(values: &Self) {
        msr!("vtcr_el2", values.vtcr);
        msr!("vttbr_el2", values.vttbr);
        msr!("cptr_el2", values.cptr);
        msr!("mdcr_el2", values.mdcr);
        msr!("cnthctl_el2", values.cnthctl);
        msr!("cntvoff_el2", values.cntvoff);
        msr!("vmpidr_el2", values.vmpidr);
        msr!("hcr_el2", values.hcr);
    }
}

/// `CPTR_EL2.TTA` (E2H = 0): trace unit system register accesses trap.
const CPTR_EL2_TTA: u64 = 1 << 20;
/// `CPTR_EL2.TAM`: activity monitor (AMU) accesses trap.
const CPTR_EL2_TAM: u64 = 1 << 30;

/// `CPTR_EL2` (E2H = 0) while a realm runs with its FP/SIMD registers loaded: RES1 bits 13,
/// 9 and 0..7, `TSM` (bit 12) and `TZ` (bit 8): SME and SVE trap (a realm has neither);
/// FP/SIMD does not (`TFP` clear); trace (`TTA`) and the activity monitors (`TAM`) trap, as
/// in TF-RMM, so a realm can neither read every world's activity counters nor leave trace
/// state behind (the accesses read as zero and ignore writes). `TAM` is RES0, so ignored,
/// without FEAT_AMUv1.
const CPTR_EL2_REALM: u64 = 0x33FF | CPTR_EL2_TTA | CPTR_EL2_TAM;

/// `CPTR_EL2` while a realm runs before its first FP/SIMD use in this run: as
/// [`CPTR_EL2_REALM`] plus `TFP` (bit 10), so that use traps and the world switch loads the
/// realm's registers then (the host's are still in the CPU until that moment).
const CPTR_EL2_REALM_FP_UNLOADED: u64 = CPTR_EL2_REALM | 1 << 10;

/// ESR_EL2.EC of a trapped FP/SIMD access.
const EC_FP_ACCESS: u64 = 0x07;
/// ESR_EL2.EC of a trapped SMC (AArch64).
const EC_SMC64: u64 = 0x17;

/// The exception classes (as bits) that may be a realm's first use of state the world switch
/// loads lazily: FP/SIMD (0x07), a PAC instruction (0x09) or a system register access (0x18,
/// which may be a PAuth key's).
const LAZY_CLASSES: u64 = 1 << EC_FP_ACCESS | 1 << 0x09 | 1 << 0x18;

/// A synchronous trap of class [`LAZY_CLASSES`] with syndrome `esr`: if it is the realm's first
/// FP/SIMD use in this run, puts the host's FP/SIMD registers aside and loads the realm's
/// (from `fp`); if it is its first PAuth use, the same for the keys ([`load_realm_keys`]).
/// Either way the instruction (whose address ELR_EL2 kept) runs again, untrapped; the answer
/// says whether that is so. Out of line: at most twice per run.
#[cold]
#[inline(never)]
fn first_use(
    esr: u64,
    fp_loaded: &mut bool,
    fp: &impl RealmFp,
    host_keys: &mut Option<[u64; PAUTH_KEY_REGS]>,
    pauth: &mut PauthKeys,
    hcr: u64,
) -> bool {
    if !*fp_loaded && (esr >> 26) & 0x3F == EC_FP_ACCESS {
        fp.with_slot(FpSlot::Host, fp_regs::save);
        fp.with_slot(FpSlot::Realm, |regs| fp_regs::load(regs));
        *fp_loaded = true;
        return true;
    }
    if host_keys.is_none() && is_pauth_trap(esr) {
        *host_keys = Some(load_realm_keys(pauth, hcr));
        return true;
    }
    false
}

/// `MDCR_EL2.TPMS`: statistical profiling (SPE) register accesses trap.
const MDCR_EL2_TPMS: u64 = 1 << 14;
/// `MDCR_EL2.TTRF`: trace filter control (TRFCR_EL1) accesses trap.
const MDCR_EL2_TTRF: u64 = 1 << 19;
/// `MDCR_EL2.HPMN` \[4:0\].
const MDCR_EL2_HPMN: u64 = 0x1F;

/// `MDCR_EL2` while a realm runs, but for `HPMN`: trap PMU (`TPM`, `TPMCR`), debug (`TDA`,
/// `TDOSA`, `TDRA`), statistical profiling (`TPMS`) and trace filter (`TTRF`) register
/// accesses; the realm gets none of the host's debug, PMU, SPE or trace state and leaves
/// none behind (TPMS and TTRF are RES0, so ignored, without FEAT_SPE / FEAT_TRF). `HPME` is
/// clear, so counters in the EL2 range do not count. `HPMN` is this CPU's
/// [`crate::cpu_features::realm_hpmn`], which [`init_cpu`] puts in the RMM's own MDCR_EL2
/// and [`run_realm`] copies from there (0 with FEAT_HPMN0, as TF-RMM; `PMCR_EL0.N` without,
/// where 0 is CONSTRAINED UNPREDICTABLE).
const MDCR_EL2_REALM: u64 =
    1 << 5 | 1 << 6 | 1 << 9 | 1 << 10 | 1 << 11 | MDCR_EL2_TPMS | MDCR_EL2_TTRF;

const _: () = assert!(
    CPTR_EL2_REALM & (CPTR_EL2_TTA | CPTR_EL2_TAM) == CPTR_EL2_TTA | CPTR_EL2_TAM
        && MDCR_EL2_REALM & (MDCR_EL2_TPMS | MDCR_EL2_TTRF) == MDCR_EL2_TPMS | MDCR_EL2_TTRF
        && MDCR_EL2_REALM & MDCR_EL2_HPMN == 0
);

/// ID_AA64MMFR1_EL1.HCX \[43:40\]: HCRX_EL2 exists.
const MMFR1_HCX_SHIFT: u32 = 40;

/// `PMCR_EL0.E`: the counters in the EL1/EL0 range (and the cycle counter) are enabled.
const PMCR_EL0_E: u64 = 1;
/// `PMCR_EL0.N` \[15:11\]: the number of event counters.
const PMCR_EL0_N_SHIFT: u32 = 11;

/// Puts the EL2 registers realms run under but the world switch does not install on this
/// CPU into a known state, at cold and warm boot, instead of relying on what TF-A left in
/// the Realm world's EL2 context:
/// - `VPIDR_EL2` = this CPU's `MIDR_EL1`, so a realm reads a sane MIDR_EL1;
/// - with FEAT_FGT, `HFGRTR_EL2`, `HFGWTR_EL2`, `HFGITR_EL2`, `HDFGRTR_EL2`, `HDFGWTR_EL2` = 0:
///   no fine-grained trap beyond the coarse ones, and every negative-polarity (`n…`) control
///   traps — the registers of newer features (PIR, POR, GCS, BRBE, ACCDATA, …), which the
///   RMM does not switch, read as zero and ignore writes for the realm;
/// - with FEAT_FGT and FEAT_AMUv1p1, `HAFGRTR_EL2` = 0: no fine-grained AMU trap (every
///   positive-polarity bit), as the coarse `CPTR_EL2.TAM` traps all AMU accesses of a realm;
/// - with FEAT_FGT2 enabled for the Realm world by EL3 (`el3_fgt2`: SCR_EL3.FGTEn2, which
///   EL3 reports through SMCCC_ARCH_FEATURE_AVAILABILITY), `HFGRTR2_EL2`, `HFGWTR2_EL2`,
///   `HFGITR2_EL2`, `HDFGRTR2_EL2`, `HDFGWTR2_EL2` = 0: as for the FGT registers, every
///   negative-polarity control traps (the registers of features the RMM does not switch)
///   and no positive one does. Without FGTEn2 EL2 cannot access them (they trap to EL3) and
///   they are left alone;
/// - with FEAT_HCX, `HCRX_EL2` = 0: TCR2_EL1, SCTLR2_EL1 and the like trap, and the
///   instructions it enables (LS64, MOPS, …) are not enabled, matching the ID registers a
///   realm reads (ISAR2 shows only its PAuth fields);
/// - with a PMUv3, `PMCR_EL0.E` = 0 in the Realm world (EL3 keeps one PMCR_EL0 per world;
///   realms cannot write it: `MDCR_EL2.TPMCR`) and `MDCR_EL2.HPMN` of the RMM's own MDCR_EL2
///   = [`realm_hpmn`], which every realm run uses: no counter counts while the RMM or a realm
///   runs;
/// - with FEAT_SME, SVCR readable at R-EL2 ([`sme::init_cpu`]).
///
/// The registers exist only with their feature, so each is written only if the ID register
/// says so.
pub fn init_cpu(cpu: &CpuIdRegisters, el3_fgt2: bool) {
    msr!("vpidr_el2", mrs!("midr_el1"));
    let fgt = fine_grained_traps(cpu.id_aa64mmfr0, cpu.id_aa64pfr0, el3_fgt2);
    if fgt.fgt {
        msr!("S3_4_C1_C1_4", 0); // HFGRTR_EL2
        msr!("S3_4_C1_C1_5", 0); // HFGWTR_EL2
        msr!("S3_4_C1_C1_6", 0); // HFGITR_EL2
        msr!("S3_4_C3_C1_4", 0); // HDFGRTR_EL2
        msr!("S3_4_C3_C1_5", 0); // HDFGWTR_EL2
    }
    if fgt.hafgrtr {
        msr!("S3_4_C3_C1_6", 0); // HAFGRTR_EL2
    }
    if fgt.fgt2 {
        msr!("S3_4_C3_C1_2", 0); // HFGRTR2_EL2
        msr!("S3_4_C3_C1_3", 0); // HFGWTR2_EL2
        msr!("S3_4_C3_C1_7", 0); // HFGITR2_EL2
        msr!("S3_4_C3_C1_0", 0); // HDFGRTR2_EL2
        msr!("S3_4_C3_C1_1", 0); // HDFGWTR2_EL2
    }
    if (cpu.id_aa64mmfr1 >> MMFR1_HCX_SHIFT) & 0xF != 0 {
        msr!("S3_4_C1_C2_2", 0); // HCRX_EL2
    }
    if pmuv3_present(cpu.id_aa64dfr0) {
        let pmcr = mrs!("pmcr_el0");
        msr!("pmcr_el0", pmcr & !PMCR_EL0_E);
        let hpmn = realm_hpmn(cpu.id_aa64dfr0, pmcr >> PMCR_EL0_N_SHIFT);
        msr!("mdcr_el2", (mrs!("mdcr_el2") & !MDCR_EL2_HPMN) | hpmn);
    }
    sme::init_cpu(sme_present(cpu.more.id_aa64pfr1));
    isb();
}

/// `CNTHCTL_EL2` (E2H = 0) while a realm runs: EL1 may read the physical counter and use the
/// physical timer (`EL1PCTEN`, `EL1PCEN`).
const CNTHCTL_EL2_REALM: u64 = 0b11;

/// `CNTHCTL_EL2.CNTVMASK` (FEAT_RME): the EL1 virtual timer's interrupt output is masked.
const CNTHCTL_CNTVMASK: u64 = 1 << 18;
/// `CNTHCTL_EL2.CNTPMASK` (FEAT_RME): the EL1 physical timer's interrupt output is masked.
const CNTHCTL_CNTPMASK: u64 = 1 << 19;

/// INTIDs of the EL1 virtual and physical timers' PPIs (the Server Base System
/// Architecture's, which QEMU `virt` and the FVP follow).
const PPI_VIRTUAL_TIMER: u64 = 27;
const PPI_PHYSICAL_TIMER: u64 = 30;

/// Where [`TimerOutputs::bits`] go in `CNTHCTL_EL2` to mask those timers.
const CNTHCTL_EL2_TIMER_MASK_SHIFT: u32 = 18;
const _: () = assert!(
    CNTHCTL_CNTVMASK == 1 << CNTHCTL_EL2_TIMER_MASK_SHIFT
        && CNTHCTL_CNTPMASK == 2 << CNTHCTL_EL2_TIMER_MASK_SHIFT
);

/// Masks exactly the timers with controls `cntv_ctl` and `cntp_ctl` that assert their
/// output (CNTHCTL_EL2 keeps which are masked), waiting for a newly masked one's interrupt to
/// go; returns which assert ([`TimerOutputs::bits`]). Out of line: the realm rarely touches
/// its timers between two traps, and the trap path stays short without this.
#[cold]
#[inline(never)]
fn settle_timers(cntv_ctl: u64, cntp_ctl: u64) -> u64 {
    let asserted = TimerOutputs::of(cntv_ctl, cntp_ctl).bits();
    let masked = (mrs!("cnthctl_el2") >> CNTHCTL_EL2_TIMER_MASK_SHIFT) & 0b11;
    if asserted != masked {
        msr!(
            "cnthctl_el2",
            CNTHCTL_EL2_REALM | asserted << CNTHCTL_EL2_TIMER_MASK_SHIFT
        );
        isb();
        wait_for_masked_timers(asserted);
    }
    asserted
}

/// After masking the timers in `masked` ([`TimerOutputs::bits`]): waits (boundedly) until the
/// interrupt controller no longer shows their PPIs as the highest pending, so the realm is
/// not entered only to be interrupted at once by a timer the host already knows about.
/// Should the wait run out, the realm merely takes an IRQ exit.
fn wait_for_masked_timers(masked: u64) {
    for _ in 0..64 {
        let pending = mrs!("S3_0_C12_C12_2") & 0xFF_FFFF; // ICC_HPPIR1_EL1.INTID
        let still = (masked & 1 != 0 && pending == PPI_VIRTUAL_TIMER)
            || (masked & 2 != 0 && pending == PPI_PHYSICAL_TIMER);
        if !still {
            return;
        }
    }
}

/// Runs the realm on this CPU (see [`crate::arch::world::RealmCpu::run_realm`]).
#[inline(never)]
pub fn run_realm<F>(
    config: &RealmEntryConfig,
    ctx: &mut RealmContext,
    gic: &mut VgicState,
    fp: &impl RealmFp,
    mut on_trap: F,
) where
    F: FnMut(&mut RealmContext, &RealmTrap) -> TrapAction,
{
    // Neither the realm nor the FP/SIMD switch below may run in the host's Streaming SVE
    // mode.
    sme::leave_streaming_mode();
    let mut host = El1Sysregs::default();
    save_el1(&mut host);
    let rmm = El2Controls::save();
    El2Controls::install(&El2Controls {
        hcr: config.hcr,
        vttbr: config.vttbr,
        vtcr: config.vtcr,
        cptr: rmm.cptr,
        mdcr: MDCR_EL2_REALM | (rmm.mdcr & MDCR_EL2_HPMN),
        cnthctl: CNTHCTL_EL2_REALM,
        cntvoff: 0,
        vmpidr: config.vmpidr,
    });
    restore_el1(&ctx.el1);
    let lrs_in_use = vgic_regs::load(gic, config.vgic_lrs, config.vgic_aprs);
    // Which timers asserted their output at the last exit (the controls saved then).
    let at_last_exit = TimerOutputs::of(ctx.el1.cntv_ctl, ctx.el1.cntp_ctl).bits();
    // The timer controls' key when the timers last needed nothing (masks in place, no change
    // since the last exit). At entry that is the saved controls' key if no timer asserted
    // at the last exit: CNTHCTL_EL2 was just installed with neither timer masked.
    let mut settled = if at_last_exit == 0 {
        TimerOutputs::key(ctx.el1.cntv_ctl, ctx.el1.cntp_ctl)
    } else {
        u64::MAX
    };
    // FP/SIMD is switched lazily: the host's registers stay in the CPU until the realm's
    // first FP/SIMD access traps, then go aside while the realm's are loaded.
    // Whether the realm's are in the CPU (and the host's in the REC's host slot).
    let mut fp_loaded = false;
    // The host's PAuth keys once the realm's are in the CPU: from the realm's first use in
    // this run, or from the start if the REC has used PAuth before (see `PauthKeys`).
    let mut host_keys = if ctx.pauth.in_use != 0 {
        Some(load_realm_keys(&mut ctx.pauth, config.hcr))
    } else {
        None
    };
    isb();
    loop {
        let (cntv_ctl, cntp_ctl) = (mrs!("cntv_ctl_el0"), mrs!("cntp_ctl_el0"));
        let key = TimerOutputs::key(cntv_ctl, cntp_ctl);
        let timer_changed = key != settled && {
            let asserted = settle_timers(cntv_ctl, cntp_ctl);
            if asserted == at_last_exit {
                settled = key;
            }
            asserted != at_last_exit
        };
        let trap = if timer_changed {
            // The host hears about the timer before the realm runs again.
            RealmTrap {
                kind: TrapKind::TimerChanged,
                esr: 0,
                far: 0,
                hpfar: 0,
            }
        } else {
            // The realm's traps are on only while it runs (the RMM's own SHA-2 routines use the
            // FP/SIMD registers in `on_trap`). The ERET synchronises this write.
            msr!(
                "cptr_el2",
                if fp_loaded {
                    CPTR_EL2_REALM
                } else {
                    CPTR_EL2_REALM_FP_UNLOADED
                }
            );
            // SAFETY: `ctx.gprs` is a valid, exclusively borrowed `RealmGprs`, which the routine
            // reads and writes through the pointer it saved; it restores every callee-saved
            // register and the stack pointer before returning, like a normal call. The realm runs
            // at EL1 under the stage-2 tables and traps just installed, so it can touch only its
            // own memory, and every exception it takes comes back through the lower-EL vectors
            // to the return path of this call.
            let vector = unsafe { rmm_realm_run(&mut ctx.gprs) };
            let trap = RealmTrap {
                kind: match vector {
                    0 => TrapKind::Sync,
                    1 => TrapKind::Irq,
                    2 => TrapKind::Fiq,
                    _ => TrapKind::SError,
                },
                esr: mrs!("esr_el2"),
                far: mrs!("far_el2"),
                hpfar: mrs!("hpfar_el2"),
            };
            msr!("cptr_el2", rmm.cptr);
            isb();
            // On the fast path an SMC (RSI, the commonest trap, never a first use) is told
            // apart with one comparison, any other class with a shift of a constant; the
            // rest is out of line.
            // (ESR_EL2 bits above the class hold ISS2 with some features: masked off.)
            let class = (trap.esr >> 26) & 0x3F;
            if vector == 0
                && class != EC_SMC64
                && (LAZY_CLASSES >> class) & 1 != 0
                && first_use(
                    trap.esr,
                    &mut fp_loaded,
                    fp,
                    &mut host_keys,
                    &mut ctx.pauth,
                    config.hcr,
                )
            {
                continue;
            }
            trap
        };
        ctx.el1.vbar = mrs!("vbar_el1");
        match on_trap(ctx, &trap) {
            TrapAction::Resume => {}
            TrapAction::ResumeInjected => {
                msr!("esr_el1", ctx.el1.esr);
                msr!("elr_el1", ctx.el1.elr);
                msr!("spsr_el1", ctx.el1.spsr);
                msr!("far_el1", ctx.el1.far);
            }
            TrapAction::Stop => break,
        }
    }
    save_el1(&mut ctx.el1);
    vgic_regs::save_and_clear(gic, config.vgic_lrs, config.vgic_aprs, lrs_in_use);
    if fp_loaded {
        fp.with_slot(FpSlot::Realm, fp_regs::save);
        fp.with_slot(FpSlot::Host, |regs| fp_regs::load(regs));
    }
    if let Some(host_keys) = &host_keys {
        unload_realm_keys(&mut ctx.pauth, host_keys);
    }
    restore_el1(&host);
    El2Controls::install(&rmm);
    isb();
}

fn isb() {
    // SAFETY: a barrier; no memory or register effects beyond ordering.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
}
