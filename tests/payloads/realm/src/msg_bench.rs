// SPDX-License-Identifier: MIT OR Apache-2.0
//! The message benchmark's two sides ([`Op::MsgBench`](realm_protocol::csm::Op::MsgBench),
//! `realm_protocol::msg`, `docs/benchmarks.md`), built only into the `msgbench` realm (the
//! hard-float target with the Armv8 AES and PMULL instructions, so that AES-256-GCM runs on
//! RustCrypto's `aes` and `polyval` hardware backends).
//!
//! Per message the sender fills its private buffer, copies it into the channel (or encrypts it
//! into the channel with a fresh nonce and writes the tag), bumps the sequence number and waits
//! for the acknowledgement; the receiver waits for the sequence number, copies the message out
//! (or copies the ciphertext out and decrypts it there, the tag checked first), checks its
//! first and last words and acknowledges.
//!
//! The QEMU plugin that counts each realm's instructions (`tests/tools/icount-plugin`) needs
//! three things from this file, found by their symbols: the wait loop [`msg_wait`] (up to
//! `msg_wait_end`), whose instructions it leaves out, and the markers `msg_mark_begin` (a run
//! starts), `msg_mark_fill` (the sender has filled the message) and `msg_mark_msg` (a message
//! is done on this side), at each of which it closes a count.

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use core::cell::UnsafeCell;
use realm_protocol::msg::{
    ACK, AES_GCM, DATA, KEY, MAX_SIZE, NONCE, ROLE_SENDER, SEQ, TAG, nonce, word,
};

const BUF: usize = MAX_SIZE as usize;

/// A REC's private message buffer (in the realm's protected memory).
#[repr(C, align(64))]
struct Buffer(UnsafeCell<[u8; BUF]>);

// SAFETY: each REC uses only the buffer of its own index, one CPU at a time.
unsafe impl Sync for Buffer {}

/// The private buffers of the sender (REC 0 of its realm) and of the receiver (likewise, in
/// the other realm); indexed by role so one image serves both.
static BUFFERS: [Buffer; 2] = [const { Buffer(UnsafeCell::new([0; BUF])) }; 2];

core::arch::global_asm!(
    ".section .text.msg_bench, \"ax\"",
    // msg_wait(x0 address, x1 wanted, x2 deadline): spins until the word at x0 is at least
    // x1 (0) or CNTVCT reaches x2 (1). The plugin leaves every instruction up to
    // msg_wait_end out of the counts.
    ".global msg_wait",
    ".balign 64",
    "msg_wait:",
    "1:",
    "ldar x3, [x0]",
    "cmp x3, x1",
    "b.hs 2f",
    "mrs x4, cntvct_el0",
    "cmp x4, x2",
    "b.lo 1b",
    "mov x0, #1",
    "ret",
    "2:",
    "mov x0, #0",
    "ret",
    ".global msg_wait_end",
    "msg_wait_end:",
    // The markers: the plugin closes a count when one of them executes.
    ".global msg_mark_begin",
    "msg_mark_begin:",
    "ret",
    ".global msg_mark_fill",
    "msg_mark_fill:",
    "ret",
    ".global msg_mark_msg",
    "msg_mark_msg:",
    "ret",
    // msg_copy(x0 dst, x1 src, x2 bytes, a multiple of 64): 64 bytes per iteration through
    // four vector registers, as a tuned memcpy does.
    ".global msg_copy",
    "msg_copy:",
    "cbz x2, 4f",
    "3:",
    "ldp q0, q1, [x1], #32",
    "ldp q2, q3, [x1], #32",
    "stp q0, q1, [x0], #32",
    "stp q2, q3, [x0], #32",
    "subs x2, x2, #64",
    "b.hi 3b",
    "4:",
    "ret",
);

unsafe extern "C" {
    fn msg_wait(address: u64, wanted: u64, deadline: u64) -> u64;
    fn msg_mark_begin();
    fn msg_mark_fill();
    fn msg_mark_msg();
    fn msg_copy(dst: u64, src: u64, bytes: u64);
}

fn store_release(ipa: u64, value: u64) {
    // SAFETY: `ipa` is a word of the channel the hypervisor gave both realms for this
    // command; an aligned store-release.
    unsafe {
        core::arch::asm!("stlr {v}, [{a}]", v = in(reg) value, a = in(reg) ipa, options(nostack))
    };
}

fn wait(ipa: u64, wanted: u64, patience: u64) -> bool {
    // SAFETY: `ipa` is a word of the channel; the routine only loads it and reads CNTVCT.
    unsafe { msg_wait(ipa, wanted, crate::irq::now() + patience) == 0 }
}

fn copy(dst: u64, src: u64, bytes: u64) {
    // SAFETY: both ranges are `bytes` long (a multiple of 64), inside the private buffer or
    // the channel of this command, and do not overlap.
    unsafe { msg_copy(dst, src, bytes) }
}

fn mark(marker: unsafe extern "C" fn()) {
    // SAFETY: the markers are a bare `ret`.
    unsafe { marker() }
}

/// The channel's bytes `[offset, offset + len)` as a slice.
///
/// # Safety
///
/// The range must be inside the channel of this command, which nothing else in this realm
/// uses while the slice lives.
unsafe fn channel<'a>(base: u64, offset: u64, len: u64) -> &'a mut [u8] {
    // SAFETY: as the caller promises.
    unsafe { core::slice::from_raw_parts_mut((base + offset) as *mut u8, len as usize) }
}

/// Runs one side of `count` messages of `size` bytes through the channel at `base`,
/// numbered `first + 1` on; returns \[messages completed, messages wrong or failing their
/// tag check\].
pub fn run(args: &[u64]) -> [u64; 2] {
    let &[role, base, size, count, cipher, first, patience_us, ..] = args else {
        return [0, u64::MAX];
    };
    if size == 0 || size > MAX_SIZE || size % 64 != 0 || role > 1 {
        return [0, u64::MAX];
    }
    crate::fp::enable();
    let patience = crate::irq::ticks(patience_us);
    // SAFETY: this REC's own buffer (see `Buffer`).
    let buffer = unsafe { &mut *BUFFERS[role as usize].0.get() };
    let message = &mut buffer[..size as usize];
    let aes = Aes256Gcm::new(&KEY.into());
    let (mut done, mut bad) = (0, 0);
    mark(msg_mark_begin);
    for seq in first + 1..=first + count {
        if role == ROLE_SENDER {
            for (i, chunk) in message.chunks_exact_mut(8).enumerate() {
                chunk.copy_from_slice(&word(seq, i as u64).to_le_bytes());
            }
            mark(msg_mark_fill);
            if cipher == AES_GCM {
                let n = nonce(seq);
                // SAFETY: the nonce, tag and message areas of the channel.
                let (out, n_out, t_out) = unsafe {
                    (
                        channel(base, DATA, size),
                        channel(base, NONCE, 12),
                        channel(base, TAG, 16),
                    )
                };
                n_out.copy_from_slice(&n);
                let Ok(buf) = InOutBuf::new(&*message, out) else {
                    return [done, u64::MAX];
                };
                match aes.encrypt_inout_detached(&Nonce::from(n), &[], buf) {
                    Ok(tag) => t_out.copy_from_slice(&tag),
                    Err(_) => return [done, u64::MAX],
                }
            } else {
                copy(base + DATA, message.as_ptr() as u64, size);
            }
            store_release(base + SEQ, seq);
            if !wait(base + ACK, seq, patience) {
                break;
            }
        } else {
            if !wait(base + SEQ, seq, patience) {
                break;
            }
            copy(message.as_mut_ptr() as u64, base + DATA, size);
            // The ciphertext was copied out first: GCM checks the tag in one pass and
            // decrypts in another, and the hypervisor could change shared memory between them.
            let tag_ok = cipher != AES_GCM || decrypt(&aes, base, seq, message);
            let last = (size / 8 - 1) as usize;
            let first_ok = message[..8] == word(seq, 0).to_le_bytes();
            let last_ok = message[last * 8..last * 8 + 8] == word(seq, last as u64).to_le_bytes();
            if !(tag_ok && first_ok && last_ok) {
                bad += 1;
            }
            store_release(base + ACK, seq);
        }
        done += 1;
        mark(msg_mark_msg);
    }
    [done, bad]
}

/// Decrypts `message` (the ciphertext of message `seq`, copied out of the channel at `base`)
/// in place with the nonce and tag in the channel; false if the nonce is not the expected
/// one or the tag does not match (then `message` is left as it was).
fn decrypt(aes: &Aes256Gcm, base: u64, seq: u64, message: &mut [u8]) -> bool {
    // SAFETY: the nonce and tag areas of the channel.
    let (n_in, t_in) = unsafe { (channel(base, NONCE, 12), channel(base, TAG, 16)) };
    let mut n = [0u8; 12];
    n.copy_from_slice(n_in);
    let mut t = [0u8; 16];
    t.copy_from_slice(t_in);
    n == nonce(seq)
        && aes
            .decrypt_inout_detached(&Nonce::from(n), &[], InOutBuf::from(message), &Tag::from(t))
            .is_ok()
}
