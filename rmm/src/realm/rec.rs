// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Realm Execution Context (REC): one virtual CPU of a realm, stored in its REC granule
//! and reached only through [`Rec`].
//!
//! REC_CREATE fills in what the host chose (MPIDR, entry point, initial registers, runnable
//! flag, auxiliary granules) and the owning realm; REC_DESTROY reads the auxiliary granules
//! back to scrub them. REC_ENTER keeps the realm CPU's saved context ([`RealmContext`]) and
//! what the last exit left pending (a host call to complete, a PSCI request for the host to
//! complete, a RIPAS change in progress, the syndrome of the last exit to the host) here
//! between runs.

use crate::arch::Machine;
use crate::arch::world::{FpRegs, FpSlot, RealmContext, RealmFp, VgicState};
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::vcpu::gic::INITIAL_HCR;
use rmm_abi::rmi::rec_params::{MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, RecMpidr};
use rmm_abi::rmi::states::Ripas;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// Word indices in the REC granule.
mod word {
    pub const RD: usize = 0;
    pub const MPIDR: usize = 1;
    pub const RUNNABLE: usize = 2;
    pub const PC: usize = 3;
    pub const GPRS: usize = 4; // 8 words
    pub const NUM_AUX: usize = 12;
    pub const AUX: usize = 16; // 16 words
    pub const HOST_CALL_PENDING: usize = 32;
    pub const LAST_ESR: usize = 33;
    pub const LAST_FAR: usize = 34;
    pub const LAST_HPFAR: usize = 35;
    pub const PSCI_PENDING: usize = 36;
    pub const RIPAS_BASE: usize = 37;
    pub const RIPAS_TOP: usize = 38;
    pub const RIPAS_ADDR: usize = 39;
    pub const RIPAS_VALUE: usize = 40;
    pub const RIPAS_CHANGE_DESTROYED: usize = 41;
    /// Non-zero while the realm's SMC waits to be handled outside the world switch
    /// (RSI_ATTEST_TOKEN_CONTINUE), within one REC_ENTER.
    pub const CALL_DEFERRED: usize = 42;
    /// The saved [`RecRunState`](super::RecRunState): the
    /// [`RealmContext`](crate::arch::world::RealmContext), then the virtual CPU interface.
    pub const CONTEXT: usize = 64;
    /// The saved [`FpRegs`](crate::arch::world::FpRegs) (zero from REC_CREATE's zeroed
    /// granule until the realm first uses FP/SIMD).
    pub const FP: usize = 192;
    /// The host's FP/SIMD registers while the realm's are in the CPU (during a REC_ENTER that
    /// loaded them; stale otherwise, and never read then).
    pub const HOST_FP: usize = 258;
}

/// What a REC keeps of its realm CPU between runs and REC_ENTER works on in place: the
/// context the world switch saves and restores, and the virtual CPU interface (of which
/// only HCR, VMCR and the active priorities matter between runs: the list registers come
/// from the host on every entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct RecRunState {
    /// General and EL1 registers.
    pub ctx: RealmContext,
    /// ICH_* registers.
    pub gic: VgicState,
}

/// Byte offset of [`RecRunState::gic`] in the REC granule.
const GIC_OFFSET: usize = word::CONTEXT * 8 + core::mem::offset_of!(RecRunState, gic);

/// PSTATE a REC starts with: EL1h, AArch64, D, A, I and F masked.
pub const INITIAL_PSTATE: u64 = 0x3C5;

/// SCTLR_EL1 a REC starts with (the reference RMM's value): SPAN, EIS, nTWE, nTWI, EOS, nAA,
/// CP15BEN, SA0, SA; MMU and caches off, little-endian.
pub const INITIAL_SCTLR_EL1: u64 = 0x00C5_0878;

/// MDSCR_EL1 a REC starts with: TDCC (EL0 DCC access traps).
pub const INITIAL_MDSCR_EL1: u64 = 0x1000;

/// The syndrome of the last exit to the host, which the next REC_ENTER's MMIO and SEA
/// completions check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastExit {
    /// ESR_EL2 (ISV cleared when the host was not shown it); 0 when nothing can be completed.
    pub esr: u64,
    /// FAR_EL2.
    pub far: u64,
    /// HPFAR_EL2.
    pub hpfar: u64,
}

/// A RIPAS change the realm asked for with RSI_IPA_STATE_SET and the host has not finished
/// (pending while `base != top`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RipasChange {
    /// Start of the range the realm asked for.
    pub base: u64,
    /// End of that range (exclusive).
    pub top: u64,
    /// The first address RTT_SET_RIPAS has not changed yet.
    pub addr: u64,
    /// The RIPAS asked for (EMPTY or RAM).
    pub ripas: Ripas,
    /// Whether DESTROYED entries may change too (the realm passed exactly
    /// `RSI_CHANGE_DESTROYED`).
    pub change_destroyed: bool,
}

impl RipasChange {
    /// Nothing pending.
    pub const NONE: Self = Self {
        base: 0,
        top: 0,
        addr: 0,
        ripas: Ripas::Empty,
        change_destroyed: false,
    };
}

/// What REC_CREATE stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecInit {
    /// The owning realm's RD.
    pub rd: GranuleAddr,
    /// The REC's MPIDR.
    pub mpidr: RecMpidr,
    /// Whether the REC may run.
    pub runnable: bool,
    /// Entry point.
    pub pc: u64,
    /// x0..x7 at entry.
    pub gprs: [u64; REC_CREATE_NR_GPRS],
    /// Auxiliary granules, the first `num_aux` valid.
    pub aux: [GranuleAddr; MAX_REC_AUX_GRANULES],
    /// Number of auxiliary granules.
    pub num_aux: usize,
}

/// A REC granule, which the caller holds locked (or referenced, while it runs).
#[derive(Debug)]
pub struct Rec<'m, M: Machine> {
    machine: &'m M,
    addr: GranuleAddr,
}

impl<M: Machine> Clone for Rec<'_, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: Machine> Copy for Rec<'_, M> {}

impl<'m, M: Machine> Rec<'m, M> {
    /// The REC in granule `addr`.
    pub fn new(machine: &'m M, addr: GranuleAddr) -> Self {
        Self { machine, addr }
    }

    /// Writes a new REC into its (zeroed) granule.
    pub fn initialise(&self, init: &RecInit) {
        let m = self.machine;
        m.write_word(self.addr, word::RD, init.rd.get());
        m.write_word(self.addr, word::MPIDR, init.mpidr.bits());
        m.write_word(self.addr, word::RUNNABLE, u64::from(init.runnable));
        m.write_word(self.addr, word::PC, init.pc);
        for (i, gpr) in init.gprs.iter().enumerate() {
            m.write_word(self.addr, word::GPRS + i, *gpr);
        }
        m.write_word(self.addr, word::NUM_AUX, init.num_aux as u64);
        // The context's other registers are the granule's zeros.
        self.with_context(|ctx| {
            ctx.gprs.x[..REC_CREATE_NR_GPRS].copy_from_slice(&init.gprs);
            ctx.gprs.pc = init.pc;
            ctx.gprs.pstate = INITIAL_PSTATE;
            ctx.el1.sctlr = INITIAL_SCTLR_EL1;
            ctx.el1.mdscr = INITIAL_MDSCR_EL1;
        });
        m.write_word(self.addr, GIC_OFFSET / 8, INITIAL_HCR);
        for (i, aux) in init.aux[..init.num_aux.min(MAX_REC_AUX_GRANULES)]
            .iter()
            .enumerate()
        {
            m.write_word(self.addr, word::AUX + i, aux.get());
        }
    }

    /// The owning realm's RD. REC_CREATE stored a granule address there and only this type
    /// writes a REC: anything else means the RMM overwrote its own memory, and the monitor
    /// stops.
    pub fn rd(&self) -> GranuleAddr {
        let raw = self.machine.read_word(self.addr, word::RD);
        GranuleAddr::new(raw).unwrap_or_else(|| {
            invariant::broken_at("a REC's RD link is not a granule address", raw)
        })
    }

    /// The REC's MPIDR.
    pub fn mpidr(&self) -> u64 {
        self.machine.read_word(self.addr, word::MPIDR)
    }

    /// The REC's linear index in its realm (from its MPIDR, as REC_CREATE checked it).
    pub fn index(&self) -> u64 {
        RecMpidr::new(self.mpidr()).map_or(u64::MAX, RecMpidr::index)
    }

    /// Whether the REC is runnable.
    pub fn runnable(&self) -> bool {
        self.machine.read_word(self.addr, word::RUNNABLE) != 0
    }

    /// Marks the REC runnable or not (PSCI CPU_ON / CPU_OFF).
    pub fn set_runnable(&self, runnable: bool) {
        self.machine
            .write_word(self.addr, word::RUNNABLE, u64::from(runnable));
    }

    /// Runs `f` on the realm CPU's saved context where it is kept (no copy of the whole
    /// context out and back). The caller holds the REC, so nothing else touches it meanwhile.
    pub fn with_context<R>(&self, f: impl FnOnce(&mut RealmContext) -> R) -> R {
        self.machine
            .with_realm_value(self.addr, word::CONTEXT * 8, f)
    }

    /// Runs `f` on the REC's run state where it is kept. The caller holds the REC so that
    /// nothing else touches it meanwhile (REC_ENTER's reference).
    pub fn with_run_state<R>(&self, f: impl FnOnce(&mut RecRunState) -> R) -> R {
        self.machine
            .with_realm_value(self.addr, word::CONTEXT * 8, f)
    }

    /// Whether an RSI_HOST_CALL exit waits for its results.
    pub fn host_call_pending(&self) -> bool {
        self.machine.read_word(self.addr, word::HOST_CALL_PENDING) != 0
    }

    /// Sets or clears the pending host call.
    pub fn set_host_call_pending(&self, pending: bool) {
        self.machine
            .write_word(self.addr, word::HOST_CALL_PENDING, u64::from(pending));
    }

    /// The syndrome of the last exit to the host.
    pub fn last_exit(&self) -> LastExit {
        let m = self.machine;
        LastExit {
            esr: m.read_word(self.addr, word::LAST_ESR),
            far: m.read_word(self.addr, word::LAST_FAR),
            hpfar: m.read_word(self.addr, word::LAST_HPFAR),
        }
    }

    /// Records the syndrome of an exit to the host.
    pub fn set_last_exit(&self, last: &LastExit) {
        let m = self.machine;
        m.write_word(self.addr, word::LAST_ESR, last.esr);
        m.write_word(self.addr, word::LAST_FAR, last.far);
        m.write_word(self.addr, word::LAST_HPFAR, last.hpfar);
    }

    /// Marks the realm's SMC as one to handle once the world switch has returned.
    pub fn defer_call(&self) {
        self.machine.write_word(self.addr, word::CALL_DEFERRED, 1);
    }

    /// Whether the realm's SMC waits to be handled outside the world switch; clears it.
    pub fn take_deferred_call(&self) -> bool {
        let deferred = self.machine.read_word(self.addr, word::CALL_DEFERRED) != 0;
        if deferred {
            self.machine.write_word(self.addr, word::CALL_DEFERRED, 0);
        }
        deferred
    }

    /// Whether a PSCI CPU_ON or AFFINITY_INFO waits for the host's RMI_PSCI_COMPLETE.
    pub fn psci_pending(&self) -> bool {
        self.machine.read_word(self.addr, word::PSCI_PENDING) != 0
    }

    /// Sets or clears the pending PSCI request.
    pub fn set_psci_pending(&self, pending: bool) {
        self.machine
            .write_word(self.addr, word::PSCI_PENDING, u64::from(pending));
    }

    /// Whether a RIPAS change is pending (two words; REC_ENTER asks on every entry).
    pub fn ripas_change_pending(&self) -> bool {
        let m = self.machine;
        m.read_word(self.addr, word::RIPAS_BASE) != m.read_word(self.addr, word::RIPAS_TOP)
    }

    /// The RIPAS change in progress ([`RipasChange::NONE`]-like when nothing is pending).
    pub fn ripas_change(&self) -> RipasChange {
        let m = self.machine;
        RipasChange {
            base: m.read_word(self.addr, word::RIPAS_BASE),
            top: m.read_word(self.addr, word::RIPAS_TOP),
            addr: m.read_word(self.addr, word::RIPAS_ADDR),
            ripas: if m.read_word(self.addr, word::RIPAS_VALUE) == Ripas::Ram as u64 {
                Ripas::Ram
            } else {
                Ripas::Empty
            },
            change_destroyed: m.read_word(self.addr, word::RIPAS_CHANGE_DESTROYED) != 0,
        }
    }

    /// Records a RIPAS change.
    pub fn set_ripas_change(&self, change: &RipasChange) {
        let m = self.machine;
        m.write_word(self.addr, word::RIPAS_BASE, change.base);
        m.write_word(self.addr, word::RIPAS_TOP, change.top);
        m.write_word(self.addr, word::RIPAS_ADDR, change.addr);
        m.write_word(self.addr, word::RIPAS_VALUE, change.ripas as u64);
        m.write_word(
            self.addr,
            word::RIPAS_CHANGE_DESTROYED,
            u64::from(change.change_destroyed),
        );
    }

    /// The auxiliary granules, in the order REC_CREATE received them.
    pub fn aux(&self) -> impl Iterator<Item = GranuleAddr> + '_ {
        let count =
            (self.machine.read_word(self.addr, word::NUM_AUX) as usize).min(MAX_REC_AUX_GRANULES);
        (0..count)
            .filter_map(move |i| GranuleAddr::new(self.machine.read_word(self.addr, word::AUX + i)))
    }
}

impl<M: Machine> RealmFp for Rec<'_, M> {
    // Out of line: inlined at its four call sites in the world switch, it cost every trap that
    // resumes 2 instructions (register allocation in the world switch's loop), RSI_VERSION
    // 141 instead of 139.
    #[inline(never)]
    fn with_slot<R>(&self, slot: FpSlot, f: impl FnOnce(&mut FpRegs) -> R) -> R {
        let word = match slot {
            FpSlot::Realm => word::FP,
            FpSlot::Host => word::HOST_FP,
        };
        self.machine.with_realm_value(self.addr, word * 8, f)
    }
}

const _: () = assert!(
    word::CONTEXT * 8 + core::mem::size_of::<RecRunState>() <= word::FP * 8
        && word::FP * 8 + core::mem::size_of::<FpRegs>() <= word::HOST_FP * 8
        && word::HOST_FP * 8 + core::mem::size_of::<FpRegs>() <= crate::GRANULE_SIZE
        && (word::FP * 8).is_multiple_of(16)
        && (word::HOST_FP * 8).is_multiple_of(16),
    "the saved run state and both FP/SIMD slots must fit in the REC granule, apart and \
     16-byte aligned"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{FakeMachine, FakePas};

    /// The two FP/SIMD slots are where the layout puts them, apart from each other and from
    /// every other word of the REC: what is saved in one slot reads back from it and leaves
    /// all other words of the granule as they were.
    #[test]
    fn each_fp_slot_keeps_its_own_words() {
        let machine = FakeMachine::qemu();
        let pa = 0x8000_0000;
        machine.set_pas(pa, FakePas::Realm);
        let addr = GranuleAddr::new(pa).unwrap();
        let marker = |w: usize| 0xA000 + w as u64;
        for w in 0..512 {
            machine.write_word(addr, w, marker(w));
        }
        let rec = Rec::new(&machine, addr);
        rec.with_slot(FpSlot::Realm, |fp| {
            fp.v[0] = [1, 2];
            fp.fpsr = 3;
        });
        rec.with_slot(FpSlot::Host, |fp| fp.v[31] = [4, 5]);
        // V0 is the slot's first two words, FPSR its 66th, V31 words 62 and 63.
        let written = [
            (word::FP, 1),
            (word::FP + 1, 2),
            (word::FP + 65, 3),
            (word::HOST_FP + 62, 4),
            (word::HOST_FP + 63, 5),
        ];
        for w in 0..512 {
            let expected = written
                .iter()
                .find(|(at, _)| *at == w)
                .map_or(marker(w), |(_, v)| *v);
            assert_eq!(machine.read_word(addr, w), expected, "word {w}");
        }
        let realm = rec.with_slot(FpSlot::Realm, |fp| (fp.v[0], fp.fpsr));
        assert_eq!(realm, ([1, 2], 3));
        assert_eq!(rec.with_slot(FpSlot::Host, |fp| fp.v[31]), [4, 5]);
    }
}
