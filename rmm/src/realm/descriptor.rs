// SPDX-License-Identifier: MIT OR Apache-2.0
//! The Realm Descriptor (RD): a realm's configuration, lifecycle state and measurements,
//! stored in its RD granule and reached only through [`Rd`].
//!
//! The RD granule is Realm PAS, so the host cannot read or change it. The layout is private
//! to this file (word indices below); everything else uses typed accessors. Fields written
//! once at REALM_CREATE ([`RealmConfig`]) are read as a whole; the state, REC count and
//! measurements change later, under the RD lock.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::invariant;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::Stage2;
use rmm_abi::measurement::{MAX_MEASUREMENT_SIZE, Measurement};
use rmm_abi::rmi::states::{HashAlgorithm, RealmState};

/// Number of Realm Extensible Measurements (slots 1..=4).
pub const REM_COUNT: usize = rmm_abi::measurement::NUM_REMS;

const MEASUREMENT_WORDS: usize = MAX_MEASUREMENT_SIZE / 8;

/// Word indices in the RD granule.
mod word {
    pub const STATE: usize = 0;
    pub const IPA_BITS: usize = 1;
    pub const START_LEVEL: usize = 2;
    pub const NUM_ROOTS: usize = 3;
    pub const RTT_BASE: usize = 4;
    pub const VMID: usize = 5;
    pub const HASH: usize = 6;
    pub const REC_COUNT: usize = 7;
    pub const FLAGS: usize = 8;
    pub const SVE_VL: usize = 9;
    pub const NUM_BPS: usize = 10;
    pub const NUM_WPS: usize = 11;
    pub const PMU_NUM_CTRS: usize = 12;
    /// The APT granule bound by RMI_APT_CREATE (0: none). Written under the CSM lock and the
    /// RD lock.
    pub const APT: usize = 13;
    /// RIM: 8 words.
    pub const RIM: usize = 16;
    /// RPV: 8 words.
    pub const RPV: usize = 24;
    /// REM 1..=4: 8 words each.
    pub const REM: usize = 32;
}

/// What REALM_CREATE fixed for the realm's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealmConfig {
    /// Stage-2 shape.
    pub s2: Stage2,
    /// The realm's VMID.
    pub vmid: u16,
    /// Measurement algorithm.
    pub hash: HashAlgorithm,
    /// `RmiRealmFlags` as accepted.
    pub flags: u64,
    /// SVE vector length (VQ - 1).
    pub sve_vl: u8,
    /// Breakpoints.
    pub num_bps: u8,
    /// Watchpoints.
    pub num_wps: u8,
    /// PMU counters.
    pub pmu_num_ctrs: u8,
}

/// A realm's RD granule, which the caller holds locked (or referenced).
#[derive(Debug, Clone, Copy)]
pub struct Rd<'m, M: Machine> {
    machine: &'m M,
    addr: GranuleAddr,
}

impl<'m, M: Machine> Rd<'m, M> {
    /// The RD in granule `addr`.
    pub fn new(machine: &'m M, addr: GranuleAddr) -> Self {
        Self { machine, addr }
    }

    fn read(&self, index: usize) -> u64 {
        self.machine.read_word(self.addr, index)
    }

    fn write(&self, index: usize, value: u64) {
        self.machine.write_word(self.addr, index, value);
    }

    /// Writes a new realm's configuration, state NEW, no RECs and initial RIM `rim` into a
    /// (zeroed) granule.
    pub fn initialise(&self, config: &RealmConfig, rpv: &[u8; 64], rim: &Measurement) {
        self.write(word::STATE, RealmState::New as u64);
        self.write(word::IPA_BITS, u64::from(config.s2.ipa_bits));
        self.write(word::START_LEVEL, config.s2.start_level.as_u64());
        self.write(word::NUM_ROOTS, config.s2.num_roots);
        self.write(word::RTT_BASE, config.s2.rtt_base.get());
        self.write(word::VMID, u64::from(config.vmid));
        self.write(word::HASH, config.hash as u64);
        self.write(word::REC_COUNT, 0);
        self.write(word::FLAGS, config.flags);
        self.write(word::SVE_VL, u64::from(config.sve_vl));
        self.write(word::NUM_BPS, u64::from(config.num_bps));
        self.write(word::NUM_WPS, u64::from(config.num_wps));
        self.write(word::PMU_NUM_CTRS, u64::from(config.pmu_num_ctrs));
        self.write_bytes(word::RPV, rpv);
        self.set_rim(rim);
    }

    /// The realm's configuration. Every value was validated by REALM_CREATE before it was
    /// stored and the RD is written only by this type: a field that no longer holds such a
    /// value means the RMM overwrote its own memory, and the monitor stops.
    /// One combined test and one out-of-line stop, so that the accessor stays small enough
    /// to be inlined into the handlers that read one or two fields.
    pub fn config(&self) -> RealmConfig {
        let num_roots = self.read(word::NUM_ROOTS);
        let ipa_bits = self.read(word::IPA_BITS);
        let rtt_base = GranuleAddr::new(self.read(word::RTT_BASE));
        let start_level = RttLevel::new(self.read(word::START_LEVEL) as i64);
        let hash = HashAlgorithm::from_u64(self.read(word::HASH));
        let (Some(rtt_base), Some(start_level), Some(hash), 1..=16, 13..=48) =
            (rtt_base, start_level, hash, num_roots, ipa_bits)
        else {
            invariant::broken_at(
                "an RD holds a configuration REALM_CREATE never stores",
                self.addr.get(),
            )
        };
        RealmConfig {
            s2: Stage2 {
                rtt_base,
                start_level,
                num_roots,
                ipa_bits: ipa_bits as u8,
            },
            vmid: self.read(word::VMID) as u16,
            hash,
            flags: self.read(word::FLAGS),
            sve_vl: self.read(word::SVE_VL) as u8,
            num_bps: self.read(word::NUM_BPS) as u8,
            num_wps: self.read(word::NUM_WPS) as u8,
            pmu_num_ctrs: self.read(word::PMU_NUM_CTRS) as u8,
        }
    }

    /// [`Rd::config`], out of line (inlined it is about 120 bytes): for Confidential Shared
    /// Memory's stage-2 views, token shares, unmapping and invalidation, which read it once per
    /// question. Its mapping effect reads it inline: with this call there, the link changed
    /// ACCEPT's per-page loop and cost it 2.6% at 8 MiB.
    #[inline(never)]
    pub fn config_out_of_line(&self) -> RealmConfig {
        self.config()
    }

    /// The realm's lifecycle state (a value no state has stops the monitor, as in
    /// [`Rd::config`]).
    pub fn state(&self) -> RealmState {
        let raw = self.read(word::STATE);
        RealmState::from_u64(raw).unwrap_or_else(|| {
            invariant::broken_at(
                "an RD holds a realm state REALM_CREATE never stores",
                self.addr.get(),
            )
        })
    }

    /// Changes the lifecycle state.
    pub fn set_state(&self, state: RealmState) {
        self.write(word::STATE, state as u64);
    }

    /// Number of RECs ever created (the index the next REC's MPIDR must encode).
    pub fn rec_count(&self) -> u64 {
        self.read(word::REC_COUNT)
    }

    /// Sets the REC count.
    pub fn set_rec_count(&self, count: u64) {
        self.write(word::REC_COUNT, count);
    }

    /// The APT granule bound to the realm (CSM), if any.
    pub fn apt(&self) -> Option<GranuleAddr> {
        match self.read(word::APT) {
            0 => None,
            pa => GranuleAddr::new(pa),
        }
    }

    /// Binds (`Some`) or unbinds the realm's APT granule; the caller holds the CSM lock and
    /// the RD lock.
    pub fn set_apt(&self, apt: Option<GranuleAddr>) {
        self.write(word::APT, apt.map_or(0, GranuleAddr::get));
    }

    /// The Realm Initial Measurement.
    pub fn rim(&self) -> Measurement {
        self.read_bytes(word::RIM)
    }

    /// Replaces the RIM.
    pub fn set_rim(&self, rim: &Measurement) {
        self.write_bytes(word::RIM, rim);
    }

    /// The Realm Personalization Value.
    pub fn rpv(&self) -> [u8; 64] {
        self.read_bytes(word::RPV)
    }

    /// The Realm Personalization Value as the eight little-endian words it is stored as, for
    /// copying it on as words (RSI_REALM_CONFIG).
    pub fn rpv_words(&self) -> [u64; 8] {
        core::array::from_fn(|i| self.read(word::RPV + i))
    }

    /// REM `slot` (0..4, for REM1..REM4).
    pub fn rem(&self, slot: usize) -> Measurement {
        self.read_bytes(word::REM + (slot % REM_COUNT) * MEASUREMENT_WORDS)
    }

    /// Replaces REM `slot` (0..4).
    pub fn set_rem(&self, slot: usize, value: &Measurement) {
        self.write_bytes(word::REM + (slot % REM_COUNT) * MEASUREMENT_WORDS, value);
    }

    fn read_bytes(&self, first: usize) -> [u8; 64] {
        let mut out = [0; 64];
        for (i, chunk) in out.chunks_exact_mut(8).enumerate() {
            chunk.copy_from_slice(&self.read(first + i).to_le_bytes());
        }
        out
    }

    fn write_bytes(&self, first: usize, bytes: &[u8; 64]) {
        for (i, chunk) in bytes.chunks_exact(8).enumerate() {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write(first + i, u64::from_le_bytes(word));
        }
    }
}
