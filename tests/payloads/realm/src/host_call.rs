// SPDX-License-Identifier: MIT OR Apache-2.0
//! Talking to the hypervisor through `RSI_HOST_CALL`: one `RsiHostCall` structure per REC in
//! realm memory (0x100-aligned, so it never crosses a granule), filled, handed over, read
//! back.

use core::cell::UnsafeCell;
use core::fmt::Write;
use realm_protocol::{HostCallCode, MAX_RECS};
use rmm_abi::rsi::host_call::{RSI_HOST_CALL_NR_GPRS, RsiHostCall};

#[repr(C, align(256))]
struct Slot(UnsafeCell<RsiHostCall>);

// SAFETY: each REC uses only its own slot (indexed by its MPIDR), so one CPU at a time, and
// never re-entrantly (the exception handler reports through it only when the interrupted
// code was not using it, and then never returns).
unsafe impl Sync for Slot {}

static SLOTS: [Slot; MAX_RECS] = [const { Slot(UnsafeCell::new(RsiHostCall::zeroed())) }; MAX_RECS];

/// This REC's index, from its MPIDR_EL1 (the RMM's virtual MPIDR: Aff0 is the index for the
/// few RECs this realm runs).
pub fn rec_index() -> usize {
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    (mpidr & 0xF) as usize % MAX_RECS
}

fn slot() -> &'static Slot {
    &SLOTS[rec_index()]
}

/// The IPA of this REC's host-call structure.
pub fn slot_ipa() -> u64 {
    slot().0.get() as u64
}

/// Makes host call `code` with `args` in gprs\[0..\]; returns the gprs the host answered.
pub fn call(code: HostCallCode, args: &[u64]) -> [u64; RSI_HOST_CALL_NR_GPRS] {
    call_raw(code as u16, args).1
}

/// Makes a host call with immediate `imm`; returns the RSI status and the answered gprs.
pub fn call_raw(imm: u16, args: &[u64]) -> (u64, [u64; RSI_HOST_CALL_NR_GPRS]) {
    let ptr = slot().0.get();
    let mut request = RsiHostCall::zeroed();
    request.imm = imm;
    for (slot, arg) in request.gprs.iter_mut().zip(args) {
        *slot = *arg;
    }
    // SAFETY: `ptr` is the slot's valid, aligned storage; nothing else holds a reference.
    unsafe { ptr.write_volatile(request) };
    let status = crate::rsi::host_call(ptr as u64);
    // SAFETY: as above; the RMM wrote the host's results before returning.
    let answer = unsafe { ptr.read_volatile() };
    (status, answer.gprs)
}

/// Prints `text` on the hypervisor's console (in pieces of up to 240 bytes).
pub fn print(text: &str) {
    for piece in text.as_bytes().chunks(240) {
        let mut args = [0u64; RSI_HOST_CALL_NR_GPRS];
        args[0] = piece.len() as u64;
        for (i, chunk) in piece.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            args[1 + i] = u64::from_le_bytes(word);
        }
        call(HostCallCode::Print, &args);
    }
}

/// Tells the hypervisor the scenario is over; never returns (the host does not enter again).
pub fn done(failures: u64) -> ! {
    loop {
        call(HostCallCode::Done, &[failures]);
    }
}

/// A `core::fmt::Write` that prints through host calls, one call per `write_str`.
pub struct HostConsole;

impl Write for HostConsole {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        print(s);
        Ok(())
    }
}
