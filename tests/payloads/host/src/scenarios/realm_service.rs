// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running a REC of a [`TestVm`] the way a hypervisor does: enter it, and service every exit
//! it takes until the realm says it is done (or the REC powers off).
//!
//! - Host calls: the realm's reports become `TEST` lines (values the hypervisor can compute
//!   itself, such as measurements, are compared here too); prints, echoes, RIPAS policies
//!   and page removals are carried out.
//! - MMIO in the unprotected half: an emulated console and two test registers.
//! - Protected faults: a page with RIPAS RAM and no DATA is populated.
//! - RIPAS changes: RTT_SET_RIPAS as the realm's chosen policy says, then ACCEPT or REJECT.
//! - PSCI: CPU_ON and AFFINITY_INFO are completed with RMI_PSCI_COMPLETE (a REC turned on is
//!   started through the caller's `start` hook), CPU_OFF and SYSTEM_OFF end the run.
//! - IRQ/FIQ: nothing of ours is pending; the REC is entered again.
//! - A scenario can add to this ([`Service`], [`run_realm_with`]): set the GIC part of each
//!   entry, look at each exit, and serve host calls only it knows (the interrupt
//!   scenarios).
//!
//! Around every REC_ENTER the hypervisor fills its own FP/SIMD registers with a pattern and
//! checks them afterwards: the realm's values must never reach it, and the realm checks it
//! never sees the pattern.

use super::realm_vm::TestVm;
use crate::rmi::{self, status};
use crate::runner::{self, Failure, Outcome, Words};
use crate::{ensure, fail, fp_regs, println, regs};
use attest::measurement::extend_rem;
use attest::sha::SOFT as SOFT_ENGINE;
use core::fmt::Write;
use realm_protocol::{
    CHECKS, CONSOLE_OFFSET, EXTEND_SIZE, EXTEND_VALUE, HostCallCode, MAGIC_OFFSET, MMIO_MAGIC,
    RipasPolicy, SEA_OFFSET, check as check_index,
};
use rmm_abi::psci;

/// Most REC_ENTER calls one run may make before it is declared hung.
const MAX_ENTRIES: u32 = 20_000;

const EXIT_SYNC: u64 = 0;
const EXIT_IRQ: u64 = 1;
const EXIT_FIQ: u64 = 2;
const EXIT_PSCI: u64 = 3;
const EXIT_RIPAS_CHANGE: u64 = 4;
pub(super) const EXIT_HOST_CALL: u64 = 5;
const EC_DATA_ABORT_LOWER: u64 = 0x24;
/// ESR_EL2.EC of a trapped system register access.
const EC_SYSREG: u64 = 0x18;
const PAGE: u64 = 0x1000;

/// RecEnter flags.
const EMUL_MMIO: u64 = 1;
const INJECT_SEA: u64 = 2;
const RIPAS_RESPONSE_REJECT: u64 = 1 << 4;

/// What a run learned.
pub struct Transcript {
    /// Checks reported, by index (bit set = reported).
    pub reported: u128,
    /// Checks the realm or this hypervisor failed.
    pub failed: u64,
    /// The realm's own failure count from `Done`.
    pub done: Option<u64>,
    /// MMIO exits serviced.
    pub mmio: u32,
    /// Host calls serviced.
    pub host_calls: u32,
    /// RIPAS changes serviced.
    pub ripas_changes: u32,
    /// System register writes the RMM handed over (SYNC exits with EC 0x18: a GIC CPU
    /// interface write, e.g. an SGI).
    pub sysreg_writes: u32,
    /// The last of those: (ESR, value).
    pub last_sysreg_write: (u64, u64),
    /// The run ended with PSCI CPU_OFF.
    pub cpu_off: bool,
    /// The run ended with PSCI SYSTEM_OFF (or SYSTEM_RESET).
    pub system_off: bool,
    /// The emulated console's current line.
    console: [u8; 120],
    console_len: usize,
}

impl Transcript {
    const fn new() -> Self {
        Self {
            reported: 0,
            failed: 0,
            done: None,
            mmio: 0,
            host_calls: 0,
            ripas_changes: 0,
            sysreg_writes: 0,
            last_sysreg_write: (0, 0),
            cpu_off: false,
            system_off: false,
            console: [0; 120],
            console_len: 0,
        }
    }

    /// The emulated console received `byte`: a whole line is printed at its newline.
    fn console_byte(&mut self, byte: u8) {
        if byte != b'\n' && self.console_len < self.console.len() {
            self.console[self.console_len] = byte;
            self.console_len += 1;
        }
        if byte == b'\n' || self.console_len == self.console.len() {
            let text =
                core::str::from_utf8(&self.console[..self.console_len]).unwrap_or("<not UTF-8>");
            println!("realm console: {text}");
            self.console_len = 0;
        }
    }
}

/// The checks named `prefix*`, as a mask of indices.
pub fn checks_named(prefix: &str) -> u128 {
    CHECKS
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with(prefix))
        .fold(0u128, |m, (i, _)| m | 1 << i)
}

const _: () = assert!(CHECKS.len() <= 128, "the transcript records 128 checks");

/// No other REC may be started.
pub fn no_other_recs(rec: usize) -> Outcome {
    fail!("the realm turned on REC {rec}; this scenario runs one REC")
}

/// What a scenario adds to [`run_realm_with`]'s servicing.
pub trait Service {
    /// Called before every REC_ENTER of REC `rec` (e.g. to set the entry's GIC part).
    fn before_enter(&self, _vm: &TestVm, _rec: usize) -> Outcome {
        Ok(())
    }

    /// Called after every successful REC_ENTER of REC `rec` with the exit reason, before the
    /// exit is serviced.
    fn after_exit(&self, _vm: &TestVm, _rec: usize, _reason: u64) -> Outcome {
        Ok(())
    }

    /// Serves host call `code`, which the loop does not know itself (gprs in `gpr(i)`);
    /// returns the answer's gprs.
    fn host_call(
        &self,
        _vm: &TestVm,
        _rec: usize,
        code: HostCallCode,
        _gpr: &dyn Fn(u64) -> u64,
    ) -> Result<[u64; 31], Failure> {
        fail!("realm made host call {code:?}, which this scenario does not serve")
    }
}

/// Adds nothing.
struct NoService;

impl Service for NoService {}

/// Runs REC `rec` of `vm` until the realm says `Done`, or the REC turns itself or the realm
/// off, servicing every exit. `start` runs a REC that CPU_ON turned on.
pub fn run_realm(
    vm: &TestVm,
    rec: usize,
    start: &dyn Fn(usize) -> Outcome,
) -> Result<Transcript, Failure> {
    run_realm_with(vm, rec, start, &NoService)
}

/// [`run_realm`] with `service`'s additions.
pub fn run_realm_with(
    vm: &TestVm,
    rec: usize,
    start: &dyn Fn(usize) -> Outcome,
    service: &dyn Service,
) -> Result<Transcript, Failure> {
    let cpu = regs::cpu_slot();
    let par_end = vm.realm.shape.par_end();
    let mut magic = MMIO_MAGIC;
    let mut flags = 0u64;
    let mut answer = [0u64; 31];
    let mut t = Transcript::new();
    for _ in 0..MAX_ENTRIES {
        service.before_enter(vm, rec)?;
        fp_regs::fill();
        let x0 = vm.enter(rec, flags, &answer);
        if let Err((word, value)) = fp_regs::intact() {
            fail!("REC_ENTER({rec}) changed the host's FP/SIMD word {word} to {value:#x}");
        }
        ensure!(x0 == status::SUCCESS, "REC_ENTER({rec}) gave {x0:#x}");
        flags = 0;
        answer = [0; 31];
        let exit = |offset| vm.exit_word(rec, offset);
        let reason = exit(0);
        let esr = exit(0x100);
        let far = exit(0x108);
        let hpfar = exit(0x110);
        let gpr = |i: u64| exit(0x200 + i * 8);
        service.after_exit(vm, rec, reason)?;
        match reason {
            EXIT_HOST_CALL => {
                t.host_calls += 1;
                let imm = exit(0x600);
                match HostCallCode::from_u16(imm as u16) {
                    Some(HostCallCode::Report) => {
                        report_check(vm, &mut t, cpu, gpr(0), gpr(1), &|i| gpr(2 + i))?
                    }
                    Some(HostCallCode::Print) => {
                        let len = gpr(0).min(240) as usize;
                        let mut bytes = [0u8; 248];
                        for i in 0..31u64.min(len.div_ceil(8) as u64) {
                            bytes[i as usize * 8..i as usize * 8 + 8]
                                .copy_from_slice(&gpr(1 + i).to_le_bytes());
                        }
                        let text = core::str::from_utf8(&bytes[..len]).unwrap_or("<not UTF-8>");
                        println!("realm: {text}");
                    }
                    Some(HostCallCode::Echo) => {
                        answer = core::array::from_fn(|i| gpr(i as u64) + i as u64 + 1);
                    }
                    Some(HostCallCode::Done) => {
                        t.done = Some(gpr(0));
                        return Ok(t);
                    }
                    Some(HostCallCode::Exception) => fail!(
                        "realm took an unexpected exception: ESR_EL1={:#x} ELR_EL1={:#x} \
                         FAR_EL1={:#x} vector {}",
                        gpr(0),
                        gpr(1),
                        gpr(2),
                        gpr(3)
                    ),
                    Some(HostCallCode::RipasPolicy) => {
                        let Some(policy) = RipasPolicy::from_u64(gpr(0)) else {
                            fail!("unknown RIPAS policy {}", gpr(0));
                        };
                        vm.set_ripas_policy(policy, gpr(1));
                    }
                    Some(HostCallCode::DestroyPage) => vm.destroy_page(gpr(0))?,
                    Some(
                        code @ (HostCallCode::InjectIrq
                        | HostCallCode::GicStateChecks
                        | HostCallCode::HostTimer
                        | HostCallCode::TimerArmed
                        | HostCallCode::CsmNext),
                    ) => answer = service.host_call(vm, rec, code, &gpr)?,
                    None => fail!("realm made host call {imm:#x}"),
                }
            }
            EXIT_SYNC if (esr >> 26) & 0x3F == EC_SYSREG => {
                // Nothing to emulate here: the write is recorded for the scenario to check.
                t.sysreg_writes += 1;
                t.last_sysreg_write = (esr, gpr(0));
            }
            EXIT_SYNC => {
                ensure!(
                    (esr >> 26) & 0x3F == EC_DATA_ABORT_LOWER,
                    "unexpected SYNC exit: ESR {esr:#x} FAR {far:#x} HPFAR {hpfar:#x}"
                );
                let ipa = ((hpfar >> 4) << 12) | (far & 0xFFF);
                if ipa >= par_end {
                    t.mmio += 1;
                    let offset = ipa - par_end;
                    if offset == CONSOLE_OFFSET {
                        t.console_byte(gpr(0) as u8);
                    }
                    flags = emulate_mmio(offset, esr, gpr(0), &mut magic, &mut answer)?;
                } else {
                    populate_on_fault(vm, ipa & !(PAGE - 1), esr)?;
                }
            }
            EXIT_RIPAS_CHANGE => {
                t.ripas_changes += 1;
                flags = change_ripas(vm, rec, exit(0x500), exit(0x508))?;
            }
            EXIT_PSCI => {
                let fid = gpr(0) as u32;
                match fid {
                    psci::PSCI_CPU_ON | psci::PSCI_CPU_ON_SMC32 => {
                        let target = psci_target(vm, gpr(1))?;
                        complete_psci(vm, rec, target)?;
                        if vm.mark_started(target) {
                            start(target)?;
                        }
                    }
                    psci::PSCI_AFFINITY_INFO | psci::PSCI_AFFINITY_INFO_SMC32 => {
                        let target = psci_target(vm, gpr(1))?;
                        complete_psci(vm, rec, target)?;
                    }
                    psci::PSCI_CPU_SUSPEND | psci::PSCI_CPU_SUSPEND_SMC32 => {}
                    psci::PSCI_CPU_OFF => {
                        t.cpu_off = true;
                        return Ok(t);
                    }
                    psci::PSCI_SYSTEM_OFF | psci::PSCI_SYSTEM_RESET => {
                        t.system_off = true;
                        return Ok(t);
                    }
                    other => fail!("PSCI exit for function {other:#x}"),
                }
            }
            EXIT_IRQ | EXIT_FIQ => {}
            other => fail!("unexpected exit reason {other} (ESR {esr:#x})"),
        }
    }
    fail!("REC {rec} did not finish within {MAX_ENTRIES} entries")
}

/// A protected fault: the page must be RIPAS RAM without DATA, which the hypervisor then
/// populates (any other protected fault means the realm touched memory it was not given).
fn populate_on_fault(vm: &TestVm, page: u64, esr: u64) -> Outcome {
    let entry = rmi::rtt_read_entry(vm.realm.rd, page, 3).0;
    ensure!(
        entry[0] == status::SUCCESS
            && entry[2] == rmi::entry_state::UNASSIGNED
            && entry[4] == rmi::ripas::RAM
            && !vm.is_populated(page),
        "protected fault at {page:#x} (ESR {esr:#x}), RTT entry {entry:#x?}"
    );
    vm.populate(page)
}

/// Carries out the RIPAS change `[base, top)` of REC `rec` as the realm's policy says;
/// returns the RecEnter flags that answer it.
pub(super) fn change_ripas(vm: &TestVm, rec: usize, base: u64, top: u64) -> Result<u64, Failure> {
    let (rd, rec_pa) = (vm.realm.rd, vm.recs[rec]);
    let (policy, pages) = vm.take_ripas_policy();
    let ends = match policy {
        RipasPolicy::Reject => return Ok(RIPAS_RESPONSE_REJECT),
        // In two calls when the range has several pages, as a host short of time would.
        RipasPolicy::Accept => {
            let half = ((top - base) / 2) & !(PAGE - 1);
            [if half == 0 { top } else { base + half }, top]
        }
        RipasPolicy::Partial => {
            let end = base.saturating_add(pages * PAGE).min(top);
            [end, end]
        }
    };
    let mut at = base;
    for end in ends {
        if at >= end {
            continue;
        }
        let out = rmi::rtt_set_ripas(rd, rec_pa, at, end).0;
        if out[0] != status::SUCCESS {
            // The RMM refused the rest (e.g. DESTROYED memory the realm did not let change):
            // the realm learns how far it got.
            println!(
                "RTT_SET_RIPAS({at:#x}, {end:#x}) stopped with {:#x}; the realm is told",
                out[0]
            );
            break;
        }
        ensure!(
            out[1] > at && out[1] <= end,
            "RTT_SET_RIPAS({at:#x}, {end:#x}) reported progress to {:#x}",
            out[1]
        );
        at = out[1];
    }
    Ok(0)
}

/// The REC index a PSCI target MPIDR names (RECs of the test realm have Aff0 only).
fn psci_target(vm: &TestVm, mpidr: u64) -> Result<usize, Failure> {
    let index = (mpidr & 0xF) as usize;
    ensure!(
        index < vm.rec_count && mpidr >> 4 == 0,
        "PSCI target {mpidr:#x} is not a REC of this realm"
    );
    Ok(index)
}

/// RMI_PSCI_COMPLETE for REC `rec`'s request on `target`, always agreeing.
fn complete_psci(vm: &TestVm, rec: usize, target: usize) -> Outcome {
    let out = rmi::psci_complete(vm.recs[rec], vm.recs[target], 0).0;
    ensure!(
        out[0] == status::SUCCESS,
        "PSCI_COMPLETE({rec}, {target}) gave {:#x}",
        out[0]
    );
    Ok(())
}

/// Emulates an MMIO access at `offset` in the unprotected half; returns the entry flags.
fn emulate_mmio(
    offset: u64,
    esr: u64,
    written: u64,
    magic: &mut u64,
    answer: &mut [u64; 31],
) -> Result<u64, Failure> {
    const ISV: u64 = 1 << 24;
    const WNR: u64 = 1 << 6;
    ensure!(esr & ISV != 0, "MMIO exit without ISV: ESR {esr:#x}");
    let is_write = esr & WNR != 0;
    let size = 1u64 << ((esr >> 22) & 3);
    let mask = if size == 8 {
        u64::MAX
    } else {
        (1 << (size * 8)) - 1
    };
    match offset {
        CONSOLE_OFFSET if is_write => Ok(EMUL_MMIO),
        MAGIC_OFFSET if is_write => {
            *magic = written & mask;
            Ok(EMUL_MMIO)
        }
        MAGIC_OFFSET => {
            answer[0] = *magic & mask;
            Ok(EMUL_MMIO)
        }
        SEA_OFFSET => Ok(INJECT_SEA),
        _ => fail!("MMIO at unknown offset {offset:#x} (ESR {esr:#x})"),
    }
}

/// Prints the realm's report of check `index` as a TEST line, after checking values the
/// hypervisor can verify itself.
fn report_check(
    vm: &TestVm,
    t: &mut Transcript,
    cpu: usize,
    index: u64,
    realm_failed: u64,
    detail: &dyn Fn(u64) -> u64,
) -> Outcome {
    let Some(name) = CHECKS.get(index as usize) else {
        fail!("realm reported unknown check {index}");
    };
    ensure!(
        t.reported & (1 << index) == 0,
        "realm reported {name} twice"
    );
    t.reported |= 1 << index;
    let details: [u64; 8] = core::array::from_fn(|i| detail(i as u64));
    let mut outcome: Outcome = if realm_failed != 0 {
        Err(Failure::new(format_args!(
            "realm check failed; details {}",
            Words(&details)
        )))
    } else {
        Ok(())
    };
    if outcome.is_ok() {
        let expected = if index == const { check_index("rsi.measurement_read_rim") } {
            Some(vm.rim)
        } else if index == const { check_index("rsi.measurement_extend") } {
            extend_rem(
                &SOFT_ENGINE,
                vm.hash,
                &[0; 64],
                &EXTEND_VALUE[..EXTEND_SIZE as usize],
            )
        } else {
            None
        };
        if let Some(want) = expected {
            let want: [u64; 8] = core::array::from_fn(|i| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&want[i * 8..i * 8 + 8]);
                u64::from_le_bytes(w)
            });
            if want != details {
                outcome = Err(Failure::new(format_args!(
                    "realm read {}, the hypervisor computed {}",
                    Words(&details),
                    Words(&want)
                )));
            }
        }
    }
    if outcome.is_err() {
        t.failed += 1;
    }
    let mut line = crate::console::Line::new();
    let _ = write!(line, "{}{name}", vm.label);
    runner::report(cpu, line.as_str(), &outcome);
    Ok(())
}
