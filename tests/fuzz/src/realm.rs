// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fake realm of the RMI and RSI targets: each time the RMM runs it, it reads from the
//! input what the realm does until it traps: an RSI or PSCI call with arguments drawn from
//! pools of realm IPAs and MPIDRs, an HVC, a data or instruction abort at an IPA of the pool,
//! a trapped system-register access, WFI/WFE, an arbitrary syndrome, or an interrupt.
//! When the input is used up it takes an IRQ, so every REC_ENTER returns to the host. Each
//! run first reads every IPA of the pool through the fake's TLB model, so the checker can
//! look for stale translations after every command.
//!
//! An RSI_ATTEST_TOKEN_CONTINUE whose (unused) x4 is 1 has a host interrupt arrive while the
//! RMM handles it (the fake's host IRQ line, which the signing loop polls), so the
//! interrupted-signature path is reachable; the interrupt is taken as soon as the realm runs
//! again, and the host handles it when REC_ENTER returns. What each RSI call returned is
//! read when its REC next runs and counted in [`Seen`].

use crate::input::Input;
use rmm::arch::Machine;
use rmm::arch::fake::FakeMachine;
use rmm::arch::world::{RealmTrap, TrapKind};
use rmm_abi::psci;
use rmm_abi::rsi::fid as rsi;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The unprotected half of the harness's 40-bit realms.
pub const UNPROTECTED: u64 = 1 << 39;

/// Realm IPAs the realm names: RAM with DATA, RAM without, EMPTY, table boundaries, the
/// unprotected half, the top of the IPA space, host-call aligned addresses.
pub const IPAS: [u64; 16] = [
    0x0,
    0x1000,
    0x2000,
    0x3000,
    0x2100,
    0x8000,
    0x1F_F000,
    0x20_0000,
    0x4000_0000,
    UNPROTECTED,
    UNPROTECTED + 0x1000,
    UNPROTECTED + 0x20_0000,
    UNPROTECTED - 0x1000,
    (1 << 40) - 0x1000,
    1 << 40,
    0x1000 + 0x100,
];

/// The RSI function ids the realm calls (and two outside RSI).
pub const RSI_FIDS: [u64; 12] = [
    rsi::VERSION as u64,
    rsi::FEATURES as u64,
    rsi::MEASUREMENT_READ as u64,
    rsi::MEASUREMENT_EXTEND as u64,
    rsi::ATTEST_TOKEN_INIT as u64,
    rsi::ATTEST_TOKEN_CONTINUE as u64,
    rsi::REALM_CONFIG as u64,
    rsi::IPA_STATE_SET as u64,
    rsi::IPA_STATE_GET as u64,
    rsi::HOST_CALL as u64,
    0xC400_01AF,
    0x8400_0190,
];

/// The PSCI function ids the realm calls (and two outside PSCI).
pub const PSCI_FIDS: [u64; 11] = [
    psci::PSCI_VERSION as u64,
    psci::PSCI_CPU_SUSPEND as u64,
    psci::PSCI_CPU_OFF as u64,
    psci::PSCI_CPU_ON as u64,
    psci::PSCI_CPU_ON_SMC32 as u64,
    psci::PSCI_AFFINITY_INFO as u64,
    psci::PSCI_SYSTEM_OFF as u64,
    psci::PSCI_SYSTEM_RESET as u64,
    psci::PSCI_FEATURES as u64,
    0x8400_0014,
    0xC400_000C,
];

/// Small argument values: MPIDRs of RECs 0..3, RIPAS values, flags, sizes.
const SMALL: [u64; 8] = [0, 1, 2, 3, 0x100, 0x40, 0x1_0000, 0xFFFF_FFFF];

/// ESR of a trapped `smc #0`.
const SMC: u64 = 0x17 << 26 | 1 << 25;

/// Syndromes (ISS bits included) for aborts and other traps; the input may also give
/// arbitrary ones.
const ESRS: [u64; 10] = [
    0x24 << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 5 << 16 | 1 << 6 | 0x7, // ISV write, x5
    0x24 << 26 | 1 << 25 | 1 << 24 | 3 << 22 | 31 << 16 | 0x7,         // ISV read, xzr
    0x24 << 26 | 1 << 25 | 1 << 6 | 0x7,                               // no ISV, write
    0x24 << 26 | 1 << 25 | 0x01FF_FFFF,                                // every ISS bit
    0x20 << 26 | 1 << 25 | 0x7,                                        // instruction abort
    0x18 << 26 | 1 << 25 | 0x30_0000 | 3 << 10 | 1,                    // MSR, system register
    0x18 << 26 | 1 << 25 | 0x01FF_FFFF,                                // MRS/MSR, every ISS bit
    0x01 << 26 | 1 << 25,                                              // WFI
    0x01 << 26 | 1 << 25 | 1,                                          // WFE
    0x16 << 26 | 1 << 25 | 0x1234,                                     // HVC
];

/// RSI status values (`RsiStatus`): SUCCESS, ERROR_INPUT, ERROR_STATE, INCOMPLETE.
const RSI_INCOMPLETE: u64 = 3;

/// What the realm saw of its RSI calls.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// RSI results by (function id, status in x0), read when the calling REC next ran (calls
    /// the RMM restarts, or whose REC never ran again, are not counted).
    pub rsi: BTreeMap<(u64, u64), u64>,
    /// RSI_ATTEST_TOKEN_CONTINUE calls a host interrupt stopped (RSI_INCOMPLETE, x1 = 0).
    pub interrupted: u64,
}

/// Installs a realm on `machine` that plays its part from `input`; returns what it sees.
pub fn install(machine: &FakeMachine, input: &Input) -> Arc<Mutex<Seen>> {
    let input = input.clone();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    // The RSI call each REC (VTTBR, MPIDR) made last, and whether an interrupt came with it.
    let mut outstanding: HashMap<(u64, u64), (u64, bool)> = HashMap::new();
    machine.set_realm(Box::new(move |m, config, ctx| {
        if let Some((fid, irq)) = outstanding.remove(&(config.vttbr, config.vmpidr)) {
            let (x0, x1) = (ctx.gprs.x[0], ctx.gprs.x[1]);
            // An RSI status; a restarted call still has its function id in x0.
            if x0 <= RSI_INCOMPLETE {
                let mut seen = record.lock().unwrap_or_else(|e| e.into_inner());
                *seen.rsi.entry((fid, x0)).or_default() += 1;
                if irq && x0 == RSI_INCOMPLETE && x1 == 0 {
                    seen.interrupted += 1;
                }
            }
        }
        // The realm first reads every IPA of the pool through this CPU's TLB (faults
        // ignored), so the fake's TLB model holds what it could use; this takes no input.
        for ipa in IPAS {
            let _ = m.realm_read_ipa(config, ipa, &mut [0u8; 8]);
        }
        if m.host_irq_pending() {
            // The interrupt of a CONTINUE below, still pending: taken at once.
            m.set_host_irq_pending(false);
            return trap(TrapKind::Irq, 0, 0, 0);
        }
        if input.is_empty() {
            return trap(TrapKind::Irq, 0, 0, 0);
        }
        let what = input.byte();
        // Occasionally the realm changes its PC or PSTATE before trapping.
        if what & 0x80 != 0 {
            match input.byte() % 3 {
                0 => ctx.gprs.pc = input.u64(),
                1 => ctx.gprs.pstate = input.u64(),
                _ => {
                    let r = input.below(31);
                    ctx.gprs.x[r] = input.u64();
                }
            }
        }
        match what & 0x7F {
            0..=0x3F => {
                ctx.gprs.x[0] = input.pick(&RSI_FIDS);
                for i in 1..=4 {
                    ctx.gprs.x[i] = if input.byte() & 1 == 0 {
                        input.pick(&IPAS)
                    } else {
                        input.pick(&SMALL)
                    };
                }
                let fid = ctx.gprs.x[0];
                let irq = fid == u64::from(rsi::ATTEST_TOKEN_CONTINUE) && ctx.gprs.x[4] == 1;
                if irq {
                    m.set_host_irq_pending(true);
                }
                outstanding.insert((config.vttbr, config.vmpidr), (fid, irq));
                trap(TrapKind::Sync, SMC, 0, 0)
            }
            0x40..=0x4F => {
                ctx.gprs.x[0] = input.pick(&PSCI_FIDS);
                ctx.gprs.x[1] = input.pick(&SMALL);
                ctx.gprs.x[2] = input.pick(&IPAS);
                ctx.gprs.x[3] = input.pick(&SMALL);
                trap(TrapKind::Sync, SMC, 0, 0)
            }
            0x50..=0x5F => {
                let ipa = input.pick(&IPAS);
                let esr = input.pick(&ESRS);
                let far = 0xFFFF_0000_0000_0000 | (ipa & 0xFFF);
                trap(TrapKind::Sync, esr, far, (ipa >> 12) << 4)
            }
            0x60..=0x67 => {
                let r = input.below(31);
                ctx.gprs.x[r] = input.u64();
                trap(TrapKind::Sync, input.pick(&ESRS), 0, 0)
            }
            0x68..=0x6F => {
                let kind = match input.byte() % 4 {
                    0 => TrapKind::Sync,
                    1 => TrapKind::Irq,
                    2 => TrapKind::Fiq,
                    _ => TrapKind::SError,
                };
                trap(kind, input.u64(), input.u64(), input.u64())
            }
            0x70..=0x77 => trap(TrapKind::Fiq, 0, 0, 0),
            _ => trap(TrapKind::Irq, 0, 0, 0),
        }
    }));
    seen
}

fn trap(kind: TrapKind, esr: u64, far: u64, hpfar: u64) -> RealmTrap {
    RealmTrap {
        kind,
        esr,
        far,
        hpfar,
    }
}
