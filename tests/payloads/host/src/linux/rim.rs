// SPDX-License-Identifier: MIT OR Apache-2.0
//! The RIM of the realm [`super::stage2::Vm::build`] made, computed by the VMM from what it
//! gave the RMM: the realm parameters, the RTT_INIT_RIPAS entries (level-2 blocks of RAM),
//! the measured DATA_CREATE of each blob's pages as QEMU loaded them into NS memory, in IPA
//! order, and the one runnable REC. xtask computes the same RIM from the files it loaded
//! (`xtask/src/linux/mod.rs`, `expected_rim`); the token's RIM must equal both.
//!
//! Computed after the build, outside its timed phases (software SHA-256 of every loaded
//! page).

use super::desc::{Descriptor, FLAG_MEASURE};
use crate::realm::PAGE;
use attest::measurement::{MeasuredRealmParams, extend_data, extend_rec, extend_ripas, rim_init};
use attest::sha::SOFT;

/// The size of an RTT_INIT_RIPAS entry (the RAM's level-2 blocks).
const BLOCK: u64 = 2 << 20;

/// The NS page at `pa` as DATA_CREATE copied it (the whole page: past a blob's end, what
/// the NS memory holds there, which xtask expects to be zero).
fn page(pa: u64) -> [u8; 4096] {
    let mut page = [0u8; 4096];
    for (i, chunk) in page.chunks_exact_mut(8).enumerate() {
        // SAFETY: `pa` is a page of a blob QEMU's loader put into NS DRAM below the VMM's
        // pools (`desc.rs`, page aligned); the VMM only reads it. Aligned 8-byte loads with
        // the MMU off.
        let word = unsafe { core::ptr::read_volatile((pa + i as u64 * 8) as *const u64) };
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    page
}

/// The RIM (its first 32 bytes for SHA-256) of a realm created with `params` and built from
/// `desc`.
pub fn compute(params: &MeasuredRealmParams, desc: &Descriptor) -> [u8; 64] {
    let algo = params.hash_algo;
    let mut rim = rim_init(&SOFT, params);
    let mut base = desc.ram_ipa;
    while base < desc.ram_ipa + desc.ram_size {
        rim = extend_ripas(&SOFT, algo, &rim, base, base + BLOCK);
        base += BLOCK;
    }
    let flags = u64::from(desc.flags & FLAG_MEASURE != 0);
    let mut blobs = [desc.kernel, desc.initrd, desc.dtb];
    blobs.sort_unstable_by_key(|b| b.ipa);
    for blob in blobs.iter().filter(|b| b.len > 0) {
        for i in 0..blob.len.div_ceil(PAGE) {
            let content = page(blob.pa + i * PAGE);
            rim = extend_data(&SOFT, algo, &rim, blob.ipa + i * PAGE, flags, &content);
        }
    }
    let mut gprs = [0u64; 8];
    gprs[0] = desc.dtb.ipa;
    extend_rec(&SOFT, algo, &rim, 1, desc.kernel.ipa, &gprs)
}
