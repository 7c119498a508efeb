//! The Realm Execution Context (REC): one virtual CPU of a realm, stored in its REC granule
//! and reached only through [`Rec`].
//!
//! REC_CREATE fills in what the host chose (MPIDR, entry point, initial registers, runnable
//! flag, auxiliary granules) and the owning realm; REC_DESTROY reads the auxiliary granules
//! back to scrub them. Realm entry (a later stage) adds the saved register context after
//! these words.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use rmm_abi::rmi::rec_params::{MAX_REC_AUX_GRANULES, REC_CREATE_NR_GPRS, RecMpidr};

/// Word indices in the REC granule.
mod word {
    pub const RD: usize = 0;
    pub const MPIDR: usize = 1;
    pub const RUNNABLE: usize = 2;
    pub const PC: usize = 3;
    pub const GPRS: usize = 4; // 8 words
    pub const NUM_AUX: usize = 12;
    pub const AUX: usize = 16; // 16 words
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

/// A REC granule, which the caller holds locked.
#[derive(Debug, Clone, Copy)]
pub struct Rec<'m, M: Machine> {
    machine: &'m M,
    addr: GranuleAddr,
}

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
        for (i, aux) in init.aux[..init.num_aux.min(MAX_REC_AUX_GRANULES)]
            .iter()
            .enumerate()
        {
            m.write_word(self.addr, word::AUX + i, aux.get());
        }
    }

    /// The owning realm's RD.
    pub fn rd(&self) -> GranuleAddr {
        let raw = self.machine.read_word(self.addr, word::RD);
        GranuleAddr::new(raw).unwrap_or(self.addr)
    }

    /// The REC's MPIDR.
    pub fn mpidr(&self) -> u64 {
        self.machine.read_word(self.addr, word::MPIDR)
    }

    /// Whether the REC is runnable.
    pub fn runnable(&self) -> bool {
        self.machine.read_word(self.addr, word::RUNNABLE) != 0
    }

    /// Entry point.
    pub fn pc(&self) -> u64 {
        self.machine.read_word(self.addr, word::PC)
    }

    /// Initial x`n` (0..8).
    pub fn gpr(&self, n: usize) -> u64 {
        self.machine
            .read_word(self.addr, word::GPRS + n % REC_CREATE_NR_GPRS)
    }

    /// The auxiliary granules, in the order REC_CREATE received them.
    pub fn aux(&self) -> impl Iterator<Item = GranuleAddr> + '_ {
        let count =
            (self.machine.read_word(self.addr, word::NUM_AUX) as usize).min(MAX_REC_AUX_GRANULES);
        (0..count)
            .filter_map(move |i| GranuleAddr::new(self.machine.read_word(self.addr, word::AUX + i)))
    }
}
