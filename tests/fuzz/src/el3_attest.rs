// SPDX-License-Identifier: MIT OR Apache-2.0
//! The EL3 attestation target: the realm key and platform token EL3 hands over at cold boot
//! (key bytes and reported length, token contents and length, hunk size, `E_RMM_AGAIN`,
//! failures), through `attestation::provision` into a buffer of a size the input chooses.
//! Provisioning must either fail cleanly or keep exactly the token EL3 handed out, and only
//! succeed with a 48-byte key, no failed call and a token that fits the buffer.

use crate::input::Input;
use rmm::arch::fake::FakeMachine;
use rmm::arch::fake::machine::{FakeEl3Attest, SAMPLE_PLATFORM_TOKEN, SAMPLE_REALM_KEY};
use rmm::attestation;
use rmm_abi::el3::El3Status;
use std::sync::{Mutex, OnceLock};

const BUFFER: usize = 0x5000;

/// One buffer for every run: `provision` keeps a `&'static` slice of it in the
/// `Attestation` it returns, which each run drops before the next takes the buffer.
struct Buffer(*mut u8);
// SAFETY: the pointer is only turned into a slice under `BUF`'s lock (see `run`).
unsafe impl Send for Buffer {}

static BUF: OnceLock<Mutex<Buffer>> = OnceLock::new();

const STATUSES: [El3Status; 4] = [
    El3Status::Unknown,
    El3Status::BadAddr,
    El3Status::NoMem,
    El3Status::Inval,
];

/// Runs the target on `data`.
pub fn run(data: &[u8]) {
    let input = Input::new(data);
    let knobs = input.byte();
    let mut el3 = FakeEl3Attest::default();
    if knobs & 1 != 0 {
        let len = usize::from(input.byte() % 64);
        el3.key = (0..len)
            .map(|i| SAMPLE_REALM_KEY.get(i).copied().unwrap_or(0) ^ input.byte())
            .collect();
    }
    if knobs & 2 != 0 {
        el3.key_failure = Some(STATUSES[input.below(4)]);
    }
    if knobs & 4 != 0 {
        let len = usize::from(input.u16()) % 0x5000;
        el3.platform_token = (0..len)
            .map(|i| SAMPLE_PLATFORM_TOKEN.get(i).copied().unwrap_or(0) ^ input.byte())
            .collect();
    }
    if knobs & 8 != 0 {
        el3.hunk = usize::from(input.u16()) % 0x1100;
    }
    el3.again_while_remaining = knobs & 0x10 != 0;
    if knobs & 0x20 != 0 {
        el3.token_failure = Some(STATUSES[input.below(4)]);
    }
    let limit = if knobs & 0x40 != 0 {
        usize::from(input.u16()) % BUFFER
    } else {
        BUFFER
    };
    let expected_token = el3.platform_token.clone();
    let failing = el3.key_failure.is_some() || el3.token_failure.is_some();
    let key = el3.key.clone();
    let machine = FakeMachine::qemu();
    machine.configure_el3_attest(|a| *a = el3);
    let lock = BUF.get_or_init(|| {
        Mutex::new(Buffer(
            Box::leak(vec![0u8; BUFFER].into_boxed_slice()).as_mut_ptr(),
        ))
    });
    let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
    // SAFETY: `guard` serialises the runs; the slice (and the `Attestation` holding part of
    // it) does not outlive this block, so no two live references to the buffer exist.
    let buffer: &'static mut [u8] = unsafe { core::slice::from_raw_parts_mut(guard.0, limit) };
    buffer.fill(0xA5);
    if let Ok(a) = attestation::provision(&machine, buffer) {
        assert_eq!(a.platform_token(), &expected_token[..], "token kept");
        assert!(a.platform_token_calls() >= 1);
        assert_eq!(key.len(), 48, "accepted a key of {} bytes", key.len());
        assert!(!failing, "provisioned although an EL3 call failed");
        assert!(!expected_token.is_empty() && expected_token.len() <= limit);
    }
    drop(guard);
}
