// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the CSM realm ([`Scenario::Csm`](crate::Scenario)) and the hypervisor agree on.
//!
//! The hypervisor drives each CSM realm one command at a time: the realm asks with a
//! [`HostCallCode::CsmNext`](crate::HostCallCode) host call, the answer's gprs\[0\] is an
//! [`Op`] and gprs\[1..\] its arguments, and the results come back in gprs\[0..\] of the
//! realm's next `CsmNext`. The hypervisor knows every realm's RealmId and every RegionId and
//! ShareId, so it can hand them from one realm to another and check each status itself.
//!
//! IPA layout of a CSM realm (all in the first GiB, under the level-2 table the hypervisor
//! builds for the image): the image's level-3 table covers `[0, 2 MiB)`; provider regions
//! start at [`REGION_IPA`], consumer windows at [`WINDOW_IPA`], the large blob's regions at
//! [`BLOB_IPA`] and its windows at [`BLOB_WINDOW_IPA`].

/// gprs\[0\] of the realm's first `CsmNext`.
pub const READY: u64 = 0xC5A0_5EAD_0000_0001;

/// Where provider regions start (RIPAS RAM, populated on `RMI_EXIT_CSM_POPULATE`).
pub const REGION_IPA: u64 = 0x40_0000;
/// Where consumer windows start.
pub const WINDOW_IPA: u64 = 0x80_0000;
/// Where the large blob's regions start (provider).
pub const BLOB_IPA: u64 = 0x100_0000;
/// Where the large blob's windows start (consumer).
pub const BLOB_WINDOW_IPA: u64 = 0x200_0000;
/// The largest region (`MAX_REGION_SIZE`, docs/csm.md).
pub const MAX_REGION_SIZE: u64 = 8 << 20;
/// The end of the IPA range CSM realms use: 128 MiB, room for the benchmark's 64 MiB blob
/// from [`BLOB_IPA`].
pub const IPA_LIMIT: u64 = 0x800_0000;

/// Results of the message loop ([`Op::Messages`]): words at these byte offsets of the shared
/// page. The provider writes its sequence number and payload, the consumer its own, each in
/// its own cache line.
pub const MSG_P2C_SEQ: u64 = 0;
/// The provider's payload for message `seq`: [`message`]`(0, seq)`.
pub const MSG_P2C_DATA: u64 = 8;
/// The consumer's sequence number.
pub const MSG_C2P_SEQ: u64 = 0x100;
/// The consumer's payload for message `seq`: [`message`]`(1, seq)`.
pub const MSG_C2P_DATA: u64 = 0x108;

/// [`Op::Messages`] x1: the side that sends first.
pub const ROLE_PROVIDER: u64 = 0;
/// [`Op::Messages`] x1: the side that answers.
pub const ROLE_CONSUMER: u64 = 1;

/// The payload of message `seq` sent by side `role`.
pub const fn message(role: u64, seq: u64) -> u64 {
    (seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (role << 63)) | 1
}

/// Word `index` of the pattern with `seed` (never zero, so unwritten memory never matches).
pub const fn pattern(seed: u64, index: u64) -> u64 {
    (seed.rotate_left(17) ^ index.wrapping_mul(0xA5A5_5A5A_0123_4567)) | 1 << 62
}

/// A command (gprs\[0\] of the hypervisor's answer) and what its results are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Op {
    /// `RSI_CSM_CREATE(x1 base, x2 size)` → \[status, RegionId\].
    Create = 1,
    /// `RSI_CSM_SHARE(x1 region, x2 consumer, x3 mode)` → \[status, ShareId\].
    Share = 2,
    /// `RSI_CSM_ACCEPT(x1 share, x2 provider, x3 window, x4 size)` → \[status, size, mode\].
    Accept = 3,
    /// `RSI_CSM_DETACH(x1 share)` → \[status\].
    Detach = 4,
    /// `RSI_CSM_REVOKE(x1 share)` → \[status\].
    Revoke = 5,
    /// `RSI_CSM_DESTROY(x1 region)` → \[status\].
    Destroy = 6,
    /// `RSI_CSM_QUERY(x1 share or 0)` → \[status, x1, x2, x3, x4\].
    Query = 7,
    /// `RSI_IPA_STATE_SET(x1 base, x2 top, x3 ripas, x4 flags)`, repeated while the host
    /// accepts and the range is not done → \[status, next, response\] of the last call.
    IpaStateSet = 8,
    /// `RSI_IPA_STATE_GET(x1 base, x2 top)` → \[status, top of the run, ripas\].
    IpaStateGet = 9,
    /// Writes [`pattern`]`(x3, i)` to word `i` of every `x4`-byte stride of `[x1, x1 + x2)`
    /// → \[0\].
    Write = 10,
    /// Checks that memory holds what [`Op::Write`] with the same arguments wrote →
    /// \[mismatches, first bad address, value found there\].
    Verify = 11,
    /// Reads the word at x1, expecting it may fault → \[ESR_EL1 of the exception or 0,
    /// value read\].
    ProbeRead = 12,
    /// Writes x2 to the word at x1, expecting it may fault → \[ESR_EL1 or 0\].
    ProbeWrite = 13,
    /// Exchanges x3 messages as side x1 ([`ROLE_PROVIDER`] or [`ROLE_CONSUMER`]) through the
    /// page at x2 (see [`MSG_P2C_SEQ`]), giving up after x4 µs without progress →
    /// \[messages completed, payloads that were wrong, counter ticks taken\].
    Messages = 14,
    /// The realm says `Done` and stops.
    Finish = 15,
    /// An attestation token for the challenge [`crate::attest::challenge`]`(x3)`: INIT, then
    /// CONTINUEs of [`TOKEN_CHUNK`] bytes into the protected page at x2, each chunk copied to
    /// the unprotected page at x1 after its length word (written last) → \[status of the
    /// last call, token length\].
    Attest = 16,
    /// The message benchmark (`crate::msg`, needs the realm's `msgbench` build): side x1
    /// ([`crate::msg::ROLE_SENDER`] or [`crate::msg::ROLE_RECEIVER`]) exchanges x4 messages
    /// of x3 bytes through the channel at x2, copied ([`crate::msg::PLAIN`]) or encrypted
    /// ([`crate::msg::AES_GCM`]) as x5 says, numbered x6 + 1 to x6 + x4 (numbers keep growing
    /// from run to run, so the channel's counters need no reset), giving up after x7 µs
    /// without progress → \[messages completed, messages wrong or failing their tag check\].
    MsgBench = 17,
}

/// Bytes per `RSI_ATTEST_TOKEN_CONTINUE` of [`Op::Attest`].
pub const TOKEN_CHUNK: u64 = 256;

/// Where a CSM realm's unprotected page starts, from the start of the unprotected half
/// (the hypervisor maps one per REC there).
pub const SHARED_OFFSET: u64 = 0x10_0000;

impl Op {
    /// The op with number `n`.
    pub const fn from_u64(n: u64) -> Option<Self> {
        Some(match n {
            1 => Self::Create,
            2 => Self::Share,
            3 => Self::Accept,
            4 => Self::Detach,
            5 => Self::Revoke,
            6 => Self::Destroy,
            7 => Self::Query,
            8 => Self::IpaStateSet,
            9 => Self::IpaStateGet,
            10 => Self::Write,
            11 => Self::Verify,
            12 => Self::ProbeRead,
            13 => Self::ProbeWrite,
            14 => Self::Messages,
            15 => Self::Finish,
            16 => Self::Attest,
            17 => Self::MsgBench,
            _ => return None,
        })
    }
}
