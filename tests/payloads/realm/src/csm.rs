// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `Csm` scenario: a remote-controlled realm. It asks the hypervisor for a command with a
//! `CsmNext` host call, runs it, and returns the results in the next `CsmNext`
//! (`realm_protocol::csm`). The hypervisor judges every result itself, so it can pass ids
//! between realms and drive a provider and its consumers step by step.
//!
//! Accesses that may fault (a write to a read-only window, a read of a revoked one) are
//! announced to the exception handler first, which records the synchronous external abort
//! the RMM injects and steps over the instruction: the fault is reported, never a hang.

use crate::{attest, csm_rsi, exceptions, host_call, irq, rsi};
use realm_protocol::HostCallCode;
use realm_protocol::csm::{
    MSG_C2P_DATA, MSG_C2P_SEQ, MSG_P2C_DATA, MSG_P2C_SEQ, Op, READY, ROLE_PROVIDER, TOKEN_CHUNK,
    message, pattern,
};
use rmm_abi::rsi::fid;

const SUCCESS: u64 = 0;
const ACCEPT: u64 = 0;

fn read(ipa: u64) -> u64 {
    // SAFETY: the hypervisor names an address of this realm's protected space that it made
    // RAM or a window for this command; with the MMU off the IPA is the address, and an
    // aligned load either reads it or takes an abort the caller announced.
    unsafe { core::ptr::read_volatile(ipa as *const u64) }
}

fn write(ipa: u64, value: u64) {
    // SAFETY: as in `read`, an aligned store.
    unsafe { core::ptr::write_volatile(ipa as *mut u64, value) }
}

fn barrier() {
    // SAFETY: a full-system data memory barrier has no other effect.
    unsafe { core::arch::asm!("dmb sy", options(nostack)) };
}

/// The addresses a pattern command touches: one word per `stride` bytes of `[base, base+len)`.
fn words(base: u64, len: u64, stride: u64) -> impl Iterator<Item = (u64, u64)> {
    let stride = stride.max(8) & !7;
    (0..len / stride).map(move |i| (i, base + i * stride))
}

/// RSI_IPA_STATE_SET until the range is done, the host rejects, or the call fails.
fn ipa_state_set(base: u64, top: u64, ripas: u64, flags: u64) -> [u64; 3] {
    let mut at = base;
    loop {
        let r = rsi::call(fid::IPA_STATE_SET, &[at, top, ripas, flags]);
        if r[0] != SUCCESS || r[2] != ACCEPT || r[1] >= top || r[1] <= at {
            return [r[0], r[1], r[2]];
        }
        at = r[1];
    }
}

core::arch::global_asm!(
    ".section .text.csm_messages, \"ax\"",
    // csm_wait(x0 address, x1 wanted, x2 patience in ticks): spins until the word at x0 is
    // at least x1 (0) or x2 ticks have passed (1). The demo's QEMU plugin leaves every
    // instruction up to csm_wait_end out of its counts (`cargo xtask run`).
    ".global csm_wait",
    ".balign 64",
    "csm_wait:",
    "mrs x4, cntvct_el0",
    "add x2, x2, x4",
    "1:",
    "ldr x3, [x0]",
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
    ".global csm_wait_end",
    "csm_wait_end:",
    // The markers: the plugin closes a count when one of them executes. `csm_mark_loop`
    // starts each round trip (closing the loop's own instructions), `csm_mark_sent` ends a
    // side's sending of one message, `csm_mark_received` its receiving of one.
    ".global csm_mark_loop",
    "csm_mark_loop:",
    "ret",
    ".global csm_mark_sent",
    "csm_mark_sent:",
    "ret",
    ".global csm_mark_received",
    "csm_mark_received:",
    "ret",
);

unsafe extern "C" {
    fn csm_wait(address: u64, wanted: u64, patience: u64) -> u64;
    fn csm_mark_loop();
    fn csm_mark_sent();
    fn csm_mark_received();
}

fn mark(marker: unsafe extern "C" fn()) {
    // SAFETY: the markers are a bare `ret`.
    unsafe { marker() }
}

/// Waits until the word at `ipa` is at least `wanted`; false after `patience` ticks.
fn wait(ipa: u64, wanted: u64, patience: u64) -> bool {
    // SAFETY: `ipa` is a word of the page the hypervisor gave this command; the routine only
    // loads it and reads CNTVCT.
    unsafe { csm_wait(ipa, wanted, patience) == 0 }
}

/// Exchanges `count` messages through the page at `page`; gives up after `patience_us`
/// without progress. Returns (completed, wrong payloads, ticks taken).
fn messages(role: u64, page: u64, count: u64, patience_us: u64) -> [u64; 3] {
    let start = irq::now();
    let patience = irq::ticks(patience_us);
    let provider = role == ROLE_PROVIDER;
    let (my_seq, my_data, peer_seq, peer_data) = if provider {
        (MSG_P2C_SEQ, MSG_P2C_DATA, MSG_C2P_SEQ, MSG_C2P_DATA)
    } else {
        (MSG_C2P_SEQ, MSG_C2P_DATA, MSG_P2C_SEQ, MSG_P2C_DATA)
    };
    let peer = 1 - role.min(1);
    let send = |seq| {
        write(page + my_data, message(role, seq));
        barrier();
        write(page + my_seq, seq);
        mark(csm_mark_sent);
    };
    // Some(payload right) once the peer's message `seq` is there; None if it never came.
    let receive = |seq| {
        if !wait(page + peer_seq, seq, patience) {
            return None;
        }
        barrier();
        let right = read(page + peer_data) == message(peer, seq);
        mark(csm_mark_received);
        Some(right)
    };
    let mut wrong = 0;
    let mut done = 0;
    // One loop per side, so that neither side's counts hold a test of its role.
    if provider {
        for seq in 1..=count {
            mark(csm_mark_loop);
            send(seq);
            let Some(right) = receive(seq) else {
                break;
            };
            wrong += u64::from(!right);
            done = seq;
        }
    } else {
        for seq in 1..=count {
            mark(csm_mark_loop);
            let Some(right) = receive(seq) else {
                break;
            };
            wrong += u64::from(!right);
            send(seq);
            done = seq;
        }
    }
    [done, wrong, irq::now() - start]
}

/// RSI_INCOMPLETE.
const INCOMPLETE: u64 = 3;
/// Most CONTINUEs one token may take.
const MAX_CONTINUES: u64 = 4096;

/// A token for challenge `seed` through the protected page `buffer`, copied to the shared
/// page `shared`; returns (status of the last call, token length).
fn token(shared: u64, buffer: u64, seed: u64) -> [u64; 2] {
    attest::write_length(shared, 0);
    let r = attest::init(seed);
    if r[0] != SUCCESS {
        return [r[0], 0];
    }
    let mut total = 0;
    for _ in 0..MAX_CONTINUES {
        let (status, _) = attest::collect(buffer, 0, TOKEN_CHUNK, shared, &mut total);
        if status != INCOMPLETE {
            attest::write_length(shared, total);
            return [status, total];
        }
    }
    [INCOMPLETE, total]
}

/// Runs command `op` with arguments `a`; returns its results.
fn run_op(op: Op, a: &[u64]) -> [u64; 8] {
    let mut out = [0u64; 8];
    match op {
        Op::Create => {
            let (s, region) = csm_rsi::create(a[0], a[1]);
            out[..2].copy_from_slice(&[s, region]);
        }
        Op::Share => {
            let (s, share) = csm_rsi::share(a[0], a[1], a[2]);
            out[..2].copy_from_slice(&[s, share]);
        }
        Op::Accept => {
            let (s, size, mode) = csm_rsi::accept(a[0], a[1], a[2], a[3]);
            out[..3].copy_from_slice(&[s, size, mode]);
        }
        Op::Detach => out[0] = csm_rsi::detach(a[0]),
        Op::Revoke => out[0] = csm_rsi::revoke(a[0]),
        Op::Destroy => out[0] = csm_rsi::destroy(a[0]),
        Op::Query => out[..5].copy_from_slice(&csm_rsi::query(a[0])),
        Op::IpaStateSet => out[..3].copy_from_slice(&ipa_state_set(a[0], a[1], a[2], a[3])),
        Op::IpaStateGet => {
            let r = rsi::call(fid::IPA_STATE_GET, &[a[0], a[1]]);
            out[..3].copy_from_slice(&r[..3]);
        }
        Op::Write => {
            for (i, ipa) in words(a[0], a[1], a[3]) {
                write(ipa, pattern(a[2], i));
            }
            barrier();
        }
        Op::Verify => {
            barrier();
            for (i, ipa) in words(a[0], a[1], a[3]) {
                let got = read(ipa);
                if got != pattern(a[2], i) {
                    if out[0] == 0 {
                        out[1] = ipa;
                        out[2] = got;
                    }
                    out[0] += 1;
                }
            }
        }
        Op::ProbeRead => {
            exceptions::expect();
            out[1] = read(a[0]);
            out[0] = exceptions::taken().unwrap_or(0);
        }
        Op::ProbeWrite => {
            exceptions::expect();
            write(a[0], a[1]);
            barrier();
            out[0] = exceptions::taken().unwrap_or(0);
        }
        Op::Messages => out[..3].copy_from_slice(&messages(a[0], a[1], a[2], a[3])),
        Op::Attest => out[..2].copy_from_slice(&token(a[0], a[1], a[2])),
        #[cfg(feature = "msgbench")]
        Op::MsgBench => {
            let r = crate::msg_bench::run(a);
            out[..2].copy_from_slice(&r);
        }
        #[cfg(not(feature = "msgbench"))]
        Op::MsgBench => {
            host_call::print("MsgBench needs the msgbench realm");
            out = [u64::MAX; 8];
        }
        Op::Finish => host_call::done(0),
    }
    out
}

/// The command loop; never returns (the hypervisor ends it with [`Op::Finish`]).
pub fn run() -> ! {
    let mut results = [0u64; 8];
    results[0] = READY;
    loop {
        let answer = host_call::call(HostCallCode::CsmNext, &results);
        results = match Op::from_u64(answer[0]) {
            Some(op) => run_op(op, &answer[1..9]),
            None => {
                host_call::print("unknown CSM command");
                [u64::MAX; 8]
            }
        };
    }
}
