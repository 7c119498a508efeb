// SPDX-License-Identifier: MIT OR Apache-2.0
//! The run mode, chosen by `cargo xtask` without rebuilding: QEMU's `-device loader` writes a
//! magic word and a mode into NS memory before anything runs. No magic means the full test
//! suite (the default on the FVP, where nothing preloads it).

use crate::platform::MAILBOX;

/// "RMMHOST1", little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RMMHOST1");

/// What the hypervisor does after boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Run every scenario and print the transcript.
    Suite,
    /// Print instruction-count benchmarks (expects `-icount shift=0 -smp 1`).
    Bench,
    /// Run the traced benchmark segments (expects QEMU's instruction log as well).
    BenchTrace,
    /// Prove an RMM fault is reported and stops only that CPU (needs the RMM's test-only
    /// `fault-injection` build).
    Fault,
    /// Boot the Linux realm the descriptor next to the mailbox describes (`linux/`).
    Linux,
    /// Run the Confidential Shared Memory scenarios (`csm.rs`).
    Csm,
    /// Tell the CSM demo's story (`scenarios/demo.rs`).
    Demo,
    /// The message benchmark between two realms (`scenarios/msg_bench.rs`), counted by a QEMU
    /// plugin; [`msg_params`] says how much of it.
    MsgBench,
}

/// Reads the mode once, at boot.
pub fn mode() -> Mode {
    // SAFETY: MAILBOX is NS DRAM below the hypervisor image that nothing else uses; two
    // aligned loads with the MMU off.
    let (magic, mode) = unsafe {
        (
            core::ptr::read_volatile(MAILBOX as *const u64),
            core::ptr::read_volatile((MAILBOX + 8) as *const u64),
        )
    };
    match (magic, mode) {
        (MAGIC, 1) => Mode::Bench,
        (MAGIC, 2) => Mode::Fault,
        (MAGIC, 3) => Mode::BenchTrace,
        (MAGIC, 4) => Mode::Linux,
        (MAGIC, 5) => Mode::Csm,
        (MAGIC, 6) => Mode::Demo,
        (MAGIC, 7) => Mode::MsgBench,
        _ => Mode::Suite,
    }
}

/// The message benchmark's parameters, after the mode: round trips per run and a mask of
/// `realm_protocol::msg::SIZES` (bit `i`: size `i`); 0 leaves the default (1,000, all).
pub fn msg_params() -> (u64, u64) {
    // SAFETY: as in `mode`: two more words of the mailbox.
    unsafe {
        (
            core::ptr::read_volatile((MAILBOX + 16) as *const u64),
            core::ptr::read_volatile((MAILBOX + 24) as *const u64),
        )
    }
}
