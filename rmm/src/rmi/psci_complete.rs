// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_PSCI_COMPLETE: the host's answer to a realm's PSCI CPU_ON or AFFINITY_INFO naming
//! another REC.
//!
//! Check order, results and side effects are the reference RMM's
//! (`docs/reference/tf-rmm-rel0-realm-execution-facts.md` §5.1). The two RECs are locked
//! together; every refusal is ERROR_INPUT. The RMM, not the host, decides what the realm
//! learns: a target that is running or runnable is ALREADY_ON (CPU_ON) or ON
//! (AFFINITY_INFO) whatever the host says; the host can only deny a CPU_ON. A CPU_ON that
//! goes ahead resets the target's entry state (PC, PSTATE, SCTLR_EL1, x0) and makes it
//! runnable; nothing else of the target changes.

use super::args::PsciCompleteArgs;
use super::error::{Handled, RmiError};
use super::locks::lock_two;
use crate::arch::Machine;
use crate::invariant;
use crate::monitor::Monitor;
use crate::realm::rec::{INITIAL_PSTATE, INITIAL_SCTLR_EL1, Rec};
use crate::rsi::psci::{code, target_index};
use rmm_abi::psci::{
    PSCI_AFFINITY_INFO, PSCI_AFFINITY_INFO_SMC32, PSCI_AFFINITY_OFF, PSCI_AFFINITY_ON, PSCI_CPU_ON,
    PSCI_CPU_ON_SMC32, PsciReturn,
};
use rmm_abi::rmi::states::GranuleState;

/// SCTLR_EL1.EE: the endianness a CPU_ON target inherits from the caller.
const SCTLR_EE: u64 = 1 << 25;

/// Handles RMI_PSCI_COMPLETE(x1 = calling REC, x2 = target REC, x3 = status).
#[inline(always)]
pub fn handle(monitor: &Monitor, machine: &impl Machine, args: PsciCompleteArgs) -> Handled {
    let PsciCompleteArgs {
        calling: calling_pa,
        target: target_pa,
        status,
    } = args;
    let (calling_granule, target_granule) = lock_two(
        &monitor.granules,
        (calling_pa, GranuleState::Rec),
        (target_pa, GranuleState::Rec),
    )?;
    // A running calling REC cannot be waiting for the host (the reference RMM answers
    // ERROR_INPUT here, not ERROR_REC).
    if calling_granule.refcount() != 0 {
        return Err(RmiError::Input.into());
    }
    let calling = Rec::new(machine, calling_granule.addr());
    let target = Rec::new(machine, target_granule.addr());
    if !calling.psci_pending() || calling.rd() != target.rd() {
        return Err(RmiError::Input.into());
    }
    // The request, read where the caller's context is kept: the function id, the target,
    // CPU_ON's entry point and context id, and the caller's SCTLR_EL1 (for its endianness).
    let (function, target_mpidr, entry, context_id, caller_sctlr) = calling.with_context(|ctx| {
        let x = &ctx.gprs.x;
        (x[0], x[1], x[2], x[3], ctx.el1.sctlr)
    });
    if target_index(target_mpidr) != target.index() {
        return Err(RmiError::Input.into());
    }
    let target_on = target_granule.refcount() != 0 || target.runnable();
    let denied = code(PsciReturn::Denied);
    let (result, rmi) = match function as u32 {
        PSCI_CPU_ON | PSCI_CPU_ON_SMC32 => {
            if status != 0 && status != denied {
                return Err(RmiError::Input.into());
            }
            if target_on {
                // The realm is told the truth; a host that denied an already-running target
                // gets ERROR_INPUT, but the caller is completed all the same.
                let rmi = if status == denied {
                    Err(RmiError::Input)
                } else {
                    Ok(())
                };
                (code(PsciReturn::AlreadyOn), rmi)
            } else if status == denied {
                (denied, Ok(()))
            } else {
                target.with_context(|reset| {
                    reset.gprs.pstate = INITIAL_PSTATE;
                    reset.el1.sctlr = INITIAL_SCTLR_EL1 | (caller_sctlr & SCTLR_EE);
                    reset.gprs.x[0] = context_id;
                    reset.gprs.pc = entry;
                });
                target.set_runnable(true);
                (code(PsciReturn::Success), Ok(()))
            }
        }
        PSCI_AFFINITY_INFO | PSCI_AFFINITY_INFO_SMC32 => {
            if status != 0 {
                return Err(RmiError::Input.into());
            }
            let state = if target_on {
                PSCI_AFFINITY_ON
            } else {
                PSCI_AFFINITY_OFF
            };
            (state, Ok(()))
        }
        // Only CPU_ON and AFFINITY_INFO leave a request pending (and a REC waiting for its
        // completion does not run): anything else is an RMM bug.
        other => invariant::broken_at(
            "PSCI_COMPLETE: a pending request other than CPU_ON or AFFINITY_INFO",
            u64::from(other),
        ),
    };
    calling.with_context(|ctx| ctx.gprs.x[..4].copy_from_slice(&[result, 0, 0, 0]));
    calling.set_psci_pending(false);
    rmi?;
    Ok([])
}
