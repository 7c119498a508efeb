// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a host needs to build realms: parameter pages (`RmiRealmParams` and `RmiRecParams`
//! from `rmm-abi`, laid out with zerocopy and copied into an NS granule), stage-2 shape
//! arithmetic, and plain page access to the host's own NS memory.
//!
//! Shared by the realm scenarios and the benchmarks. Nothing here interprets RMI results.

use rmm_abi::rmi::realm_params::RealmParams;
use rmm_abi::rmi::rec_params::{MAX_REC_AUX_GRANULES, RecFlags, RecMpidr, RecParams};
use zerocopy::IntoBytes;

/// Bytes in a granule.
pub const PAGE: u64 = 4096;

/// `RMI_DATA_CREATE` flags: measure the content.
pub const MEASURE_CONTENT: u64 = 1;

/// Stage-2 descriptor bits a host passes to RTT_MAP_UNPROTECTED: MemAttr\[4:2\] = 0b110
/// (Normal write-back with FWB) and S2AP\[7:6\] = read/write. The output address is ORed in.
pub const NS_NORMAL_RW: u64 = (0b110 << 2) | (0b11 << 6);

/// Bytes one entry of a table at `level` (0..=3) maps.
pub const fn level_size(level: i64) -> u64 {
    1 << (12 + 9 * (3 - level) as u64)
}

/// `addr` rounded down to an entry at `level`.
pub const fn align_down(addr: u64, level: i64) -> u64 {
    addr & !(level_size(level) - 1)
}

/// End of the range the table at `level` that maps `ipa` covers (512 entries; a concatenated
/// root is one 4 KiB table like any other).
pub const fn table_end(ipa: u64, level: i64) -> u64 {
    let span = level_size(level) * 512;
    (ipa & !(span - 1)) + span
}

/// A realm's stage-2 shape and the rest of its `RmiRealmParams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// IPA width in bits.
    pub s2sz: u64,
    /// Starting level of the stage-2 tables.
    pub start_level: i64,
    /// Number of concatenated starting-level tables.
    pub num_roots: u64,
    /// 0 = SHA-256, 1 = SHA-512.
    pub hash: u64,
    /// VMID.
    pub vmid: u64,
}

impl Shape {
    /// Size of the IPA space.
    pub const fn ipa_size(&self) -> u64 {
        1 << self.s2sz
    }

    /// End of the protected half (the PAR is `[0, par_end)`).
    pub const fn par_end(&self) -> u64 {
        1 << (self.s2sz - 1)
    }

    /// `RmiRealmParams` for this shape with root tables from `rtt_base`: 2 breakpoints,
    /// 2 watchpoints, no SVE, PMU or LPA2.
    pub fn params(&self, rtt_base: u64) -> RealmParams {
        let mut p = RealmParams::zeroed();
        p.s2sz = self.s2sz;
        p.num_bps = 2;
        p.num_wps = 2;
        p.hash_algo = self.hash;
        p.vmid = self.vmid;
        p.rtt_base = rtt_base;
        p.rtt_level_start = self.start_level;
        p.rtt_num_start = self.num_roots;
        p
    }
}

/// `RmiRecParams` for the REC with MPIDR index `index`, entry point `pc`, auxiliary granules
/// `aux` (at most 16; `num_aux` says how many), runnable or not.
pub fn rec_params(index: u64, pc: u64, aux: &[u64], runnable: bool) -> RecParams {
    let mut p = RecParams::zeroed();
    p.flags = if runnable {
        RecFlags::RUNNABLE.bits()
    } else {
        0
    };
    p.mpidr = RecMpidr::from_index(index).map_or(u64::MAX, RecMpidr::bits);
    p.pc = pc;
    p.gprs = [index, 1, 2, 3, 4, 5, 6, 7];
    p.num_aux = aux.len() as u64;
    for (slot, &pa) in p.aux.iter_mut().zip(aux.iter().take(MAX_REC_AUX_GRANULES)) {
        *slot = pa;
    }
    p
}

/// Copies `bytes` (a multiple of 8 bytes, at most a granule) to the NS granule at `pa`.
pub fn write_page(pa: u64, bytes: &[u8]) {
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // SAFETY: `pa` is an NS granule the hypervisor owns (a parameter or source page of a
        // scenario's or the benchmark's pool) and `i * 8` stays inside it; aligned 8-byte
        // stores with the MMU off.
        unsafe {
            core::ptr::write_volatile((pa + i as u64 * 8) as *mut u64, u64::from_le_bytes(word))
        };
    }
}

/// Writes `params` into the NS granule `page` for REALM_CREATE.
pub fn write_realm_params(page: u64, params: &RealmParams) {
    write_page(page, params.as_bytes());
}

/// Writes `params` into the NS granule `page` for REC_CREATE.
pub fn write_rec_params(page: u64, params: &RecParams) {
    write_page(page, params.as_bytes());
}

/// Fills the NS granule at `pa` with a pattern derived from `seed` (distinct seeds give
/// distinct pages).
pub fn fill_page(pa: u64, seed: u64) {
    for i in 0..PAGE / 8 {
        // SAFETY: as in `write_page`: an NS granule the hypervisor owns, aligned stores.
        unsafe {
            core::ptr::write_volatile((pa + i * 8) as *mut u64, seed.rotate_left(i as u32) ^ i)
        };
    }
}

/// The index of the first non-zero 8-byte word of the NS granule at `pa`, if any.
pub fn first_nonzero_word(pa: u64) -> Option<u64> {
    (0..PAGE / 8).find(|i| {
        // SAFETY: as in `write_page`: an NS granule the hypervisor owns, aligned loads.
        unsafe { core::ptr::read_volatile((pa + i * 8) as *const u64) != 0 }
    })
}
