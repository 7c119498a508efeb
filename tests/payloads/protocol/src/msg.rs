// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the message benchmark's realms ([`crate::csm::Op::MsgBench`]), the hypervisor and
//! `cargo xtask bench` agree on (`docs/benchmarks.md`, "Messages between two realms").
//!
//! A sender and a receiver realm exchange messages through a channel: a control page
//! ([`SEQ`], [`ACK`], [`NONCE`], [`TAG`], each in its own cache line) followed by the message
//! at [`DATA`]. The channel is a CSM region (read-write grant) or an unprotected range the
//! hypervisor maps into both realms. Per message, the sender fills it, copies or encrypts it
//! into the channel, bumps [`SEQ`] and waits for [`ACK`]; the receiver waits for [`SEQ`],
//! copies or decrypts the message out and writes [`ACK`].

/// Offset of the sender's sequence number (the message `seq` is in the channel).
pub const SEQ: u64 = 0;
/// Offset of the receiver's acknowledgement (the last message it has taken out).
pub const ACK: u64 = 0x40;
/// Offset of the 12-byte AES-GCM nonce of the message in the channel.
pub const NONCE: u64 = 0x80;
/// Offset of the 16-byte AES-GCM tag of the message in the channel.
pub const TAG: u64 = 0xC0;
/// Offset of the message.
pub const DATA: u64 = 0x1000;
/// The largest message.
pub const MAX_SIZE: u64 = 32 << 10;
/// Bytes of the channel: the control page and room for the largest message.
pub const CHANNEL_SIZE: u64 = DATA + MAX_SIZE;

/// [`crate::csm::Op::MsgBench`] x1: the side that sends.
pub const ROLE_SENDER: u64 = 0;
/// [`crate::csm::Op::MsgBench`] x1: the side that receives and acknowledges.
pub const ROLE_RECEIVER: u64 = 1;

/// [`crate::csm::Op::MsgBench`] x5: copy the plaintext.
pub const PLAIN: u64 = 0;
/// [`crate::csm::Op::MsgBench`] x5: AES-256-GCM, a fresh nonce per message, tag checked.
pub const AES_GCM: u64 = 1;

/// The message sizes the benchmark runs: 64 B, 128 B, … 32 KiB.
pub const SIZES: [u64; 10] = [
    64,
    128,
    256,
    512,
    1 << 10,
    2 << 10,
    4 << 10,
    8 << 10,
    16 << 10,
    32 << 10,
];

/// Word `i` of message `seq`: what the sender fills in and the receiver checks.
pub const fn word(seq: u64, i: u64) -> u64 {
    seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// The AES-256 key both realms hold (agreed beforehand: key exchange is not measured).
pub const KEY: [u8; 32] = *b"CSM message benchmark key, 256b!";

/// The 96-bit nonce of message `seq`: a counter (sequence numbers keep growing from one
/// run of [`crate::csm::Op::MsgBench`] to the next, and the realms are built afresh for every
/// boot, so no nonce repeats under [`KEY`]).
pub fn nonce(seq: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&seq.to_le_bytes());
    n[8..].copy_from_slice(b"msg1");
    n
}
