// SPDX-License-Identifier: MIT OR Apache-2.0
//! The emulated MMIO console and test registers in the unprotected half: every access is a
//! stage-2 fault the RMM reports to the hypervisor, which emulates it.

use realm_protocol::{CONSOLE_OFFSET, MAGIC_OFFSET, SEA_OFFSET};

/// The unprotected half's base for this realm (from RSI_REALM_CONFIG's IPA width).
pub fn unprotected_base() -> u64 {
    1 << (crate::scenarios::ipa_width() - 1)
}

/// Writes `text` to the console data register, one byte store per character.
pub fn print(text: &str) {
    let data = (unprotected_base() + CONSOLE_OFFSET) as *mut u8;
    for &byte in text.as_bytes() {
        // SAFETY: an MMIO store to an unprotected IPA the hypervisor emulates; no memory of
        // ours is behind it.
        unsafe { data.write_volatile(byte) };
    }
}

/// The magic register's address.
pub fn magic() -> u64 {
    unprotected_base() + MAGIC_OFFSET
}

/// The register whose accesses the hypervisor answers with an external abort.
pub fn sea() -> u64 {
    unprotected_base() + SEA_OFFSET
}
