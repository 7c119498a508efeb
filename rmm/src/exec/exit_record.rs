// SPDX-License-Identifier: MIT OR Apache-2.0
//! The exit record REC_ENTER hands the host: built zeroed once per entry, filled in place by
//! the one path that leaves the realm with only what the exit's kind allows, and written to the `RmiRecExit` half of the host's run page together with
//! the GIC group ([`ExitGic`], which REC_ENTER fills from the run).

use crate::arch::{Machine, NsAccessFault};
use crate::granule::GranuleAddr;
use crate::vcpu::gic::ExitGic;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::rec_run::{REC_RUN_EXIT_OFFSET, REC_RUN_NR_GPRS};
use zerocopy::IntoBytes;

/// What the host will see; every field not set is zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRecord {
    /// `exit_reason`.
    pub reason: RecExitReason,
    /// Sanitised ESR.
    pub esr: u64,
    /// Sanitised FAR.
    pub far: u64,
    /// HPFAR.
    pub hpfar: u64,
    /// `gprs` (host-call arguments, PSCI arguments, the MMIO write value in `gprs[0]`).
    pub gprs: [u64; REC_RUN_NR_GPRS],
    /// Timer state in `RmiRecExit` order: CNTP_CTL, CNTP_CVAL, CNTV_CTL, CNTV_CVAL.
    pub timers: [u64; 4],
    /// RIPAS change: base, top, value.
    pub ripas: [u64; 3],
    /// Host-call immediate.
    pub imm: u64,
}

impl ExitRecord {
    /// An exit for `reason` with every other field zero.
    pub const fn new(reason: RecExitReason) -> Self {
        Self {
            reason,
            esr: 0,
            far: 0,
            hpfar: 0,
            gprs: [0; REC_RUN_NR_GPRS],
            timers: [0; 4],
            ripas: [0; 3],
            imm: 0,
        }
    }

    /// Writes the record into the exit half of the host's run page `run`: each group of
    /// fields with the reserved words around it zeroed, nothing else of the page touched.
    pub fn write(
        &self,
        machine: &impl Machine,
        run: GranuleAddr,
        gic: &ExitGic,
    ) -> Result<(), NsAccessFault> {
        /// Zeros for the PMU pair, written from read-only data rather than cleared on the
        /// stack for every exit.
        static ZEROS: [u64; 2] = [0; 2];
        let base = REC_RUN_EXIT_OFFSET;
        let reason = [self.reason.as_u64(), 0];
        let fault = [self.esr, self.far, self.hpfar, 0];
        // The copy routine moves 16-byte units: x0..x29 straight from the record, then x30
        // with the reserved word after it.
        let (pairs, last) = self.gprs.split_at(REC_RUN_NR_GPRS - 1);
        let tail = [last[0], 0];
        let ripas = [self.ripas[0], self.ripas[1], self.ripas[2], 0];
        let imm = [self.imm, 0];
        machine.write_ns(run, base, reason.as_bytes())?;
        machine.write_ns(run, base + 0x100, fault.as_bytes())?;
        machine.write_ns(run, base + 0x200, pairs.as_bytes())?;
        machine.write_ns(run, base + 0x2F0, tail.as_bytes())?;
        machine.write_ns(run, base + 0x300, gic.as_bytes())?;
        machine.write_ns(run, base + 0x400, self.timers.as_bytes())?;
        machine.write_ns(run, base + 0x500, ripas.as_bytes())?;
        machine.write_ns(run, base + 0x600, imm.as_bytes())?;
        machine.write_ns(run, base + 0x700, ZEROS.as_bytes())
    }
}
