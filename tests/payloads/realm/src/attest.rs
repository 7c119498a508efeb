// SPDX-License-Identifier: MIT OR Apache-2.0
//! The attestation scenario (`Scenario::Attest`): RSI_ATTEST_TOKEN_INIT / CONTINUE from the
//! realm's side. The token ends up in this REC's shared (unprotected) page: one word of
//! length, then the bytes, which the hypervisor prints for `cargo xtask test` to verify.
//!
//! - Checks mode (one REC): the known extends, CONTINUE before INIT, INIT, every argument
//!   error, CONTINUE on a RIPAS EMPTY page, then the token in chunks of 1, 7 and 100 bytes,
//!   an empty chunk, a chunk to the end of the page from an odd offset, then whole pages;
//!   then CONTINUE once more (a state error). The buffer page starts unpopulated, so the
//!   first CONTINUE that reaches it makes the RMM report a stage-2 abort to the host.
//! - Pair mode (two RECs): each REC collects its own token in 512-byte chunks and yields to
//!   the host after every call, so the host can keep both sessions in progress at once.
//! - Bench mode: INIT and whole-page CONTINUEs, each timed with `CNTVCT_EL0`; the report
//!   also counts the CONTINUEs a host interrupt stopped.
//!
//! Every CONTINUE is issued again while it returns RSI_INCOMPLETE with nothing copied for a
//! non-empty chunk: the RMM stopped signing for a host interrupt (Linux's loop).

use crate::bench::counter;
use crate::host_call::{self, rec_index};
use crate::rsi;
use core::sync::atomic::{AtomicU64, Ordering};
use realm_protocol::attest::{
    BENCH_REPORT, BUFFER_IPA, EMPTY_IPA, EXTENDS, MODE_BENCH, MODE_CHECKS, MODE_PAIR, PAIR_CHUNK,
    YIELD_IMM, challenge, extend_value,
};
use realm_protocol::{HostCallCode, check};
use rmm_abi::rsi::fid;

/// Counts failures while reporting checks (as the other scenarios do).
struct Checks(u64);

impl Checks {
    fn new() -> Self {
        Self(0)
    }

    fn report(&mut self, index: u64, pass: bool, details: &[u64]) {
        let mut args = [0u64; 10];
        args[0] = index;
        args[1] = u64::from(!pass);
        for (slot, d) in args[2..].iter_mut().zip(details) {
            *slot = *d;
        }
        host_call::call(HostCallCode::Report, &args);
        if !pass {
            self.0 += 1;
        }
    }

    fn failures(&self) -> u64 {
        self.0
    }
}

const SUCCESS: u64 = 0;
const ERROR_INPUT: u64 = 1;
const ERROR_STATE: u64 = 2;
const INCOMPLETE: u64 = 3;
const PAGE: u64 = 4096;

fn words(bytes: &[u8; 64]) -> [u64; 8] {
    core::array::from_fn(|i| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        u64::from_le_bytes(w)
    })
}

pub(crate) fn init(rec: u64) -> [u64; 11] {
    rsi::call(fid::ATTEST_TOKEN_INIT, &words(&challenge(rec)))
}

/// CONTINUEs that a host interrupt stopped (RSI_INCOMPLETE with nothing copied although
/// there was room), each issued again.
static INTERRUPTED: AtomicU64 = AtomicU64::new(0);

/// Most times one CONTINUE is issued again after an interrupt (the signing takes
/// `es384::STEPS` steps, at least one per call).
const MAX_INTERRUPTED: u64 = 64;

/// RSI_ATTEST_TOKEN_CONTINUE, issued again while a host interrupt stops it (RSI_INCOMPLETE
/// with x1 = 0 for a non-empty chunk), as Linux's arm-cca-guest does.
fn cont(ipa: u64, offset: u64, size: u64) -> [u64; 11] {
    let mut again = 0;
    loop {
        let r = rsi::call(fid::ATTEST_TOKEN_CONTINUE, &[ipa, offset, size]);
        if r[0] != INCOMPLETE || r[1] != 0 || size == 0 || again == MAX_INTERRUPTED {
            return r;
        }
        INTERRUPTED.fetch_add(1, Ordering::Relaxed);
        again += 1;
    }
}

/// The protected page `offset..offset + len` of the buffer, read back.
fn read_buffer(ipa: u64, offset: u64, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        // SAFETY: `ipa` is this REC's buffer page, protected RAM the RMM just wrote; the
        // MMU is off, so the IPA is the address; the range stays inside the page.
        *byte = unsafe { ((ipa + offset + i as u64) as *const u8).read_volatile() };
    }
}

/// Appends `bytes` to the token in the shared page at `shared` (after its length word).
fn append_shared(shared: u64, at: u64, bytes: &[u8]) {
    for (i, byte) in bytes.iter().enumerate() {
        let pa = shared + 8 + at + i as u64;
        if pa >= shared + PAGE {
            return;
        }
        // SAFETY: `shared` is this REC's unprotected page, which the hypervisor mapped for
        // it; the check above keeps the store inside it.
        unsafe { (pa as *mut u8).write_volatile(*byte) };
    }
}

pub(crate) fn write_length(shared: u64, len: u64) {
    // SAFETY: as in `append_shared`; an aligned word at the start of the page.
    unsafe { (shared as *mut u64).write_volatile(len) };
}

/// One CONTINUE into `ipa` at `offset`, copying what it wrote to the shared page.
/// Returns (status, bytes written).
pub(crate) fn collect(
    ipa: u64,
    offset: u64,
    size: u64,
    shared: u64,
    total: &mut u64,
) -> (u64, u64) {
    let r = cont(ipa, offset, size);
    keep(r, ipa, offset, size, shared, total)
}

/// Copies what CONTINUE result `r` (at `ipa`, `offset`, `size`) wrote to the shared page.
fn keep(
    r: [u64; 11],
    ipa: u64,
    offset: u64,
    size: u64,
    shared: u64,
    total: &mut u64,
) -> (u64, u64) {
    let (status, written) = (r[0], r[1]);
    if (status == SUCCESS || status == INCOMPLETE) && written <= size {
        let mut chunk = [0u8; 256];
        let mut done = 0;
        while done < written {
            let n = (written - done).min(256);
            read_buffer(ipa, offset + done, &mut chunk[..n as usize]);
            append_shared(shared, *total + done, &chunk[..n as usize]);
            done += n;
        }
        *total += written;
    }
    (status, written)
}

/// Runs the scenario in `mode` with the shared pages at `shared_base`.
pub fn run(shared_base: u64, mode: u64, ipa_width: u64) -> u64 {
    let rec = rec_index() as u64;
    let shared = shared_base + rec * PAGE;
    let buffer = BUFFER_IPA + rec * PAGE;
    match mode {
        MODE_CHECKS => checks(shared, buffer, ipa_width),
        MODE_PAIR => pair(rec, shared, buffer),
        MODE_BENCH => bench(shared, buffer),
        _ => 1,
    }
}

fn checks(shared: u64, buffer: u64, ipa_width: u64) -> u64 {
    let mut c = Checks::new();
    let mut statuses = [0u64; 3];
    for ((index, size, seed), status) in EXTENDS.iter().zip(statuses.iter_mut()) {
        let mut args = [0u64; 10];
        args[0] = *index;
        args[1] = *size;
        args[2..].copy_from_slice(&words(&extend_value(*seed)));
        *status = rsi::call(fid::MEASUREMENT_EXTEND, &args)[0];
    }
    c.report(
        const { check("attest.extends") },
        statuses == [SUCCESS; 3],
        &statuses,
    );
    let r = cont(buffer, 0, PAGE);
    c.report(
        const { check("attest.continue_without_init") },
        r[0] == ERROR_STATE && r[1] == 0,
        &[r[0], r[1]],
    );
    let r = init(0);
    let len = r[1];
    c.report(
        const { check("attest.init") },
        r[0] == SUCCESS && len > 0 && len <= PAGE - 8,
        &[r[0], len],
    );
    let a = cont(buffer + 8, 0, 1)[0];
    let b = cont(buffer + 1, 0, 1)[0];
    c.report(
        const { check("attest.continue_misaligned") },
        a == ERROR_INPUT && b == ERROR_INPUT,
        &[a, b],
    );
    let par_end = 1u64 << (ipa_width - 1);
    let a = cont(buffer | par_end, 0, 1)[0];
    let b = cont(1 << ipa_width, 0, 1)[0];
    let d = cont(!0xFFF, 0, 1)[0];
    c.report(
        const { check("attest.continue_outside_par") },
        a == ERROR_INPUT && b == ERROR_INPUT && d == ERROR_INPUT,
        &[a, b, d],
    );
    let a = cont(buffer, PAGE, 0)[0];
    let b = cont(buffer, PAGE - 1, 2)[0];
    let d = cont(buffer, 16, u64::MAX)[0];
    let e = cont(buffer, u64::MAX, 1)[0];
    c.report(
        const { check("attest.continue_bad_offset_size") },
        [a, b, d, e] == [ERROR_INPUT; 4],
        &[a, b, d, e],
    );
    // Signs first (as the reference does), then finds the page EMPTY.
    let r = cont(EMPTY_IPA, 0, 16);
    c.report(
        const { check("attest.continue_empty_page") },
        r[0] == ERROR_INPUT && r[1] == 0,
        &[r[0], r[1]],
    );
    // The token in odd chunks: (offset, size).
    let plan: [(u64, u64); 6] = [(0, 1), (1, 7), (8, 100), (108, 0), (3001, 1095), (0, PAGE)];
    let mut total = 0u64;
    let mut ok = true;
    let mut finished = false;
    let mut detail = [0u64; 8];
    for (i, &(offset, size)) in plan.iter().enumerate() {
        let (status, written) = collect(buffer, offset, size, shared, &mut total);
        detail[i] = status << 32 | written;
        if finished {
            ok = false;
        }
        match status {
            INCOMPLETE => ok &= written == size,
            SUCCESS => finished = true,
            _ => ok = false,
        }
    }
    // Whole pages until the end, in case the token is longer than the plan covers.
    let mut rounds = 0;
    while !finished && rounds < 8 {
        let (status, _) = collect(buffer, 0, PAGE, shared, &mut total);
        finished = status == SUCCESS;
        ok &= status == SUCCESS || status == INCOMPLETE;
        rounds += 1;
    }
    detail[6] = total;
    detail[7] = len;
    c.report(
        const { check("attest.chunks") },
        ok && finished && total == len,
        &detail,
    );
    let r = cont(buffer, 0, PAGE);
    c.report(
        const { check("attest.continue_after_done") },
        r[0] == ERROR_STATE && r[1] == 0,
        &[r[0], r[1]],
    );
    write_length(shared, total);
    c.failures()
}

fn pair(rec: u64, shared: u64, buffer: u64) -> u64 {
    let r = init(rec);
    if r[0] != SUCCESS {
        return 1;
    }
    let len = r[1];
    host_call::call_raw(YIELD_IMM, &[rec, 0]);
    let mut total = 0;
    let mut calls = 0;
    loop {
        let (status, written) = collect(buffer, 0, PAIR_CHUNK, shared, &mut total);
        calls += 1;
        host_call::call_raw(YIELD_IMM, &[rec, calls, status, written]);
        match status {
            SUCCESS => break,
            INCOMPLETE if calls < 64 => {}
            _ => return 1,
        }
    }
    write_length(shared, total);
    u64::from(total != len)
}

fn bench(shared: u64, buffer: u64) -> u64 {
    let t0 = counter();
    let empty = counter() - t0;
    let t0 = counter();
    let r = init(0);
    let init_cost = counter() - t0 - empty;
    if r[0] != SUCCESS {
        return 1;
    }
    let (mut total, mut longest, mut sum, mut calls) = (0, 0, 0, 0);
    loop {
        let t0 = counter();
        let r = cont(buffer, 0, PAGE);
        let cost = counter() - t0 - empty;
        let (status, _) = keep(r, buffer, 0, PAGE, shared, &mut total);
        sum += cost;
        longest = longest.max(cost);
        calls += 1;
        match status {
            SUCCESS => break,
            INCOMPLETE if calls < 16 => {}
            _ => return 1,
        }
    }
    write_length(shared, total);
    host_call::call(
        HostCallCode::Report,
        &[
            BENCH_REPORT,
            0,
            init_cost,
            sum,
            longest,
            calls,
            total,
            empty,
            INTERRUPTED.load(Ordering::Relaxed),
        ],
    );
    0
}
