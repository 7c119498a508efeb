// SPDX-License-Identifier: MIT OR Apache-2.0
//! Attestation end to end: the test realm (`Scenario::Attest`) asks the RMM for CCA tokens
//! and writes them to its shared (unprotected) pages; this hypervisor prints each token as
//! hex with what a verifier needs to judge it (the challenge, the RIM it computed itself from
//! what it loaded, the REMs the known extends give, the RPV), for `cargo xtask test` to
//! verify with an independent implementation:
//!
//! ```text
//! ATTEST <name> challenge|rpv|rim|rem1..rem4 <hex>
//! TOKEN <name> <byte offset> <hex of up to 96 bytes>
//! TOKEN <name> end <length>
//! ```
//!
//! Two realms: one REC running every check (SHA-256; the token buffer is populated only when
//! the RMM reports the stage-2 abort of the first CONTINUE that reaches it), and two RECs of
//! a SHA-512 realm whose REC_ENTERs this hypervisor interleaves so that both token sessions
//! are in progress at once. The realm's checks each become a `TEST` line.
//!
//! Memory: window 5 of the realm pool (the realm execution scenarios' window; scenarios run
//! one after another on the primary and each gives everything back).

use super::realm_service::checks_named;
use super::realm_vm::{TestVm, VmSpec};
use super::realms::{VMID_EXEC, shape};
use crate::realm::PAGE;
use crate::rmi::status;
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::timer_irq::HostTimerIrq;
use crate::{ensure, fail, println, regs};
use attest::measurement::extend_rem;
use attest::sha::SOFT as SOFT_ENGINE;
use attest::token::es384;
use core::fmt::Write;
use realm_protocol::attest::{
    BENCH_REPORT, BUFFER_IPA, EXTENDS, MODE_BENCH, MODE_CHECKS, MODE_PAIR, SHARED_OFFSET,
    YIELD_IMM, challenge, extend_value,
};
use realm_protocol::{
    CHECKS, HostCallCode, Scenario as RealmScenario, check as check_index, rpv_byte,
};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::states::HashAlgorithm;

/// Run by the primary only.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "realm_attestation_token_and_errors",
        run: token_checks,
    },
    Scenario {
        name: "realm_attestation_two_recs_interleaved",
        run: two_recs,
    },
];

/// Names of the tokens this hypervisor prints (what `cargo xtask test` must find).
pub const TOKEN_NAMES: &[&str] = &[
    "attest.sha256",
    "attest.pair0.sha512",
    "attest.pair1.sha512",
];

/// Most REC_ENTER calls one scenario may make.
const MAX_ENTRIES: u32 = 10_000;
/// Token bytes per `TOKEN` line.
const HEX_CHUNK: usize = 96;

fn rd64(pa: u64) -> u64 {
    // SAFETY: `pa` is in an NS granule this hypervisor owns (a run page or a shared page);
    // aligned load.
    unsafe { core::ptr::read_volatile(pa as *const u64) }
}

fn rd8(pa: u64) -> u8 {
    // SAFETY: as in `rd64`; a byte load.
    unsafe { core::ptr::read_volatile(pa as *const u8) }
}

/// Builds a realm running the attestation scenario in `mode` on `recs` RECs, all runnable,
/// each with its token buffer (RIPAS RAM, unpopulated) and its shared page.
fn build(recs: usize, mode: u64, hash: HashAlgorithm) -> Result<TestVm, Failure> {
    let shared_ipa = shape(40, 1, 2, hash as u64, VMID_EXEC).par_end() + SHARED_OFFSET;
    TestVm::from_spec(&VmSpec {
        scenario: RealmScenario::Attest,
        x1: shared_ipa,
        x2: mode,
        x3: 0,
        hash,
        activate: true,
        recs,
        all_runnable: true,
        ram: Some((BUFFER_IPA, BUFFER_IPA + recs as u64 * PAGE)),
        shared: true,
    })
}

/// REC `i`'s token buffer.
const fn buffer(i: usize) -> u64 {
    BUFFER_IPA + i as u64 * PAGE
}

/// The REMs after the checks mode's known extends (none in the pair mode).
fn expected_rems(vm: &TestVm, extended: bool) -> [Measurement; 4] {
    let mut rems = [[0u8; 64]; 4];
    if extended {
        for (index, size, seed) in EXTENDS {
            let slot = index as usize - 1;
            if let Some(next) = extend_rem(
                &SOFT_ENGINE,
                vm.hash,
                &rems[slot],
                &extend_value(seed)[..size as usize],
            ) {
                rems[slot] = next;
            }
        }
    }
    rems
}

/// Prints the token REC `i` left in its shared page, and what it must say.
fn print_token(vm: &TestVm, i: usize, name: &str, extended: bool) -> Result<u64, Failure> {
    let hash_len = match vm.hash {
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha512 => 64,
    };
    print_hex(name, "challenge", &challenge(i as u64));
    print_hex(name, "rpv", &core::array::from_fn::<u8, 64, _>(rpv_byte));
    print_hex(name, "rim", &vm.rim[..hash_len]);
    for (n, rem) in expected_rems(vm, extended).iter().enumerate() {
        let mut label = crate::console::Line::new();
        let _ = write!(label, "rem{}", n + 1);
        print_hex(name, label.as_str(), &rem[..hash_len]);
    }
    print_token_bytes(vm.shared[i], name)
        .map_err(|f| f.context(format_args!("REC {i}'s shared page")))
}

/// Prints the token in the NS page `page` (its length word, then its bytes) as `TOKEN` lines;
/// returns its length.
pub(super) fn print_token_bytes(page: u64, name: &str) -> Result<u64, Failure> {
    let len = rd64(page);
    ensure!(
        len > 0 && len <= PAGE - 8,
        "a token of {len} bytes in the shared page"
    );
    let mut at = 0;
    while at < len {
        let n = (len - at).min(HEX_CHUNK as u64);
        let mut line = crate::console::Line::new();
        let _ = write!(line, "TOKEN {name} {at} ");
        for k in 0..n {
            let _ = write!(line, "{:02x}", rd8(page + 8 + at + k));
        }
        println!("{}", line.as_str());
        at += n;
    }
    println!("TOKEN {name} end {len}");
    Ok(len)
}

/// Prints `ATTEST <name> <what> <hex>`.
pub(super) fn print_hex(name: &str, what: &str, bytes: &[u8]) {
    let mut line = crate::console::Line::new();
    let _ = write!(line, "ATTEST {name} {what} ");
    for b in bytes {
        let _ = write!(line, "{b:02x}");
    }
    println!("{}", line.as_str());
}

/// What one run of a REC ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The realm yielded (`HostCallCode::Yield`): gprs\[1..4\] = calls, status, written.
    Yielded,
    /// The realm finished with this many failures.
    Done(u64),
}

/// What the realm's checks said.
#[derive(Default)]
struct Reports {
    reported: u128,
    failed: u64,
    /// INIT's upper bound, from the `attest.init` report.
    init_len: Option<u64>,
    /// The bench mode's numbers (gprs\[2..8\] of its report).
    bench: Option<[u64; 7]>,
}

/// Enters REC `i` until it yields or finishes, servicing host calls, reports and the
/// stage-2 abort of its token buffer.
fn run_rec(vm: &TestVm, i: usize, reports: &mut Reports) -> Result<Stop, Failure> {
    run_rec_timed(vm, i, reports, None)
}

/// The stepped-signing benchmark's view of every REC_ENTER: a host interrupt fired
/// [`FIRE_AFTER`] instructions into each, and how long each took.
struct EntryTimes {
    timer: HostTimerIrq,
    entries: u64,
    irq_exits: u64,
    /// Entries longer than [`LONG_ENTRY`]: the ones that held a signing step.
    long_entries: u64,
    /// How long the first [`LONG_KEPT`] of those took, in order.
    long: [u64; LONG_KEPT],
    longest: u64,
}

/// Long entries whose lengths are printed.
const LONG_KEPT: usize = 8;

/// When the host timer fires after REC_ENTER starts: well past the entry path and the
/// realm's CONTINUE called again (a few thousand instructions), well before the end of any
/// signing step (about a million).
const FIRE_AFTER: u64 = 100_000;
/// An entry this long did more than run the realm until the timer: it held a signing step.
const LONG_ENTRY: u64 = 4 * FIRE_AFTER;

impl EntryTimes {
    fn enter(&mut self, vm: &TestVm, i: usize) -> u64 {
        self.timer.fire_after(FIRE_AFTER);
        let t0 = regs::counter();
        let x0 = vm.enter(i, 0, &[]);
        let took = regs::counter() - t0;
        self.timer.cancel();
        self.entries += 1;
        self.longest = self.longest.max(took);
        if took > LONG_ENTRY {
            if let Some(slot) = self.long.get_mut(self.long_entries as usize) {
                *slot = took;
            }
            self.long_entries += 1;
        }
        if vm.exit_word(i, 0) == 1 {
            self.irq_exits += 1;
        }
        x0
    }
}

/// [`run_rec`], timing every entry with `times` when given.
fn run_rec_timed(
    vm: &TestVm,
    i: usize,
    reports: &mut Reports,
    mut times: Option<&mut EntryTimes>,
) -> Result<Stop, Failure> {
    let cpu = regs::cpu_slot();
    for _ in 0..MAX_ENTRIES {
        let x0 = match times.as_deref_mut() {
            Some(times) => times.enter(vm, i),
            None => vm.enter(i, 0, &[]),
        };
        ensure!(x0 == status::SUCCESS, "REC_ENTER({i}) gave {x0:#x}");
        let reason = vm.exit_word(i, 0);
        let esr = vm.exit_word(i, 0x100);
        let hpfar = vm.exit_word(i, 0x110);
        let gpr = |k: u64| vm.exit_word(i, 0x200 + k * 8);
        match reason {
            5 if vm.exit_word(i, 0x600) as u16 == YIELD_IMM => return Ok(Stop::Yielded),
            5 => match HostCallCode::from_u16(vm.exit_word(i, 0x600) as u16) {
                Some(HostCallCode::Report) if gpr(0) == BENCH_REPORT => {
                    reports.bench = Some(core::array::from_fn(|k| gpr(2 + k as u64)));
                }
                Some(HostCallCode::Report) => {
                    report(reports, cpu, gpr(0), gpr(1), &|k| gpr(2 + k))?;
                }
                Some(HostCallCode::Print) => {}
                Some(HostCallCode::Done) => return Ok(Stop::Done(gpr(0))),
                Some(HostCallCode::Exception) => fail!(
                    "REC {i} took an unexpected exception: ESR_EL1={:#x} ELR_EL1={:#x} \
                     FAR_EL1={:#x}",
                    gpr(0),
                    gpr(1),
                    gpr(2)
                ),
                _ => fail!("REC {i} made an unknown host call"),
            },
            0 => {
                // The RMM's emulated stage-2 abort for the token buffer: populate it.
                let ipa = (hpfar << 8) & !0xFFF;
                ensure!(
                    (esr >> 26) & 0x3F == 0x24 && ipa == buffer(i) && !vm.is_populated(ipa),
                    "REC {i}: unexpected SYNC exit ESR {esr:#x} HPFAR {hpfar:#x}"
                );
                vm.populate(ipa)?;
            }
            // An interrupt, perhaps one that stopped the signing: enter again.
            1 | 2 => {}
            other => fail!("REC {i}: unexpected exit reason {other} (ESR {esr:#x})"),
        }
    }
    fail!("REC {i} did not yield or finish within {MAX_ENTRIES} entries")
}

/// Prints the realm's report of check `index` as a `TEST` line.
fn report(
    r: &mut Reports,
    cpu: usize,
    index: u64,
    realm_failed: u64,
    detail: &dyn Fn(u64) -> u64,
) -> Outcome {
    let Some(name) = CHECKS.get(index as usize) else {
        fail!("realm reported unknown check {index}");
    };
    ensure!(
        r.reported & (1 << index) == 0,
        "realm reported {name} twice"
    );
    r.reported |= 1 << index;
    let details: [u64; 8] = core::array::from_fn(|k| detail(k as u64));
    if index == const { check_index("attest.init") } {
        r.init_len = Some(details[1]);
    }
    let outcome: Outcome = if realm_failed != 0 {
        r.failed += 1;
        Err(Failure::new(format_args!(
            "realm check failed; details {details:#x?}"
        )))
    } else {
        Ok(())
    };
    runner::report(cpu, name, &outcome);
    Ok(())
}

/// The checks mode on one REC of a SHA-256 realm.
fn token_checks() -> Outcome {
    let vm = build(1, MODE_CHECKS, HashAlgorithm::Sha256)?;
    let mut reports = Reports::default();
    let ran = run_rec(&vm, 0, &mut reports);
    let result = ran.and_then(|stop| {
        let expected = checks_named("attest.");
        ensure!(
            reports.reported == expected,
            "realm reported checks {:#x}, expected {expected:#x}",
            reports.reported
        );
        ensure!(stop == Stop::Done(0), "realm finished with {stop:?}");
        ensure!(
            vm.is_populated(buffer(0)),
            "the token buffer was never reported unpopulated"
        );
        let len = print_token(&vm, 0, TOKEN_NAMES[0], true)?;
        ensure!(
            reports.init_len == Some(len),
            "INIT said {:?} bytes, the realm collected {len}",
            reports.init_len
        );
        Ok(())
    });
    let torn = vm.tear_down();
    result.and(torn)
}

/// The pair mode: two RECs of a SHA-512 realm, entered in turn so that both sessions are in
/// progress at once.
fn two_recs() -> Outcome {
    let vm = build(2, MODE_PAIR, HashAlgorithm::Sha512)?;
    let mut reports = Reports::default();
    let result = (|| {
        let mut done = [None; 2];
        let mut yields = [0u32; 2];
        let mut overlapped = false;
        for _round in 0..64 {
            for i in 0..2 {
                if done[i].is_some() {
                    continue;
                }
                match run_rec(&vm, i, &mut reports)? {
                    Stop::Yielded => yields[i] += 1,
                    Stop::Done(failures) => done[i] = Some(failures),
                }
            }
            // Both have called INIT (their first yield) and neither has finished.
            overlapped |= yields[0] > 0 && yields[1] > 0 && done == [None, None];
            if done[0].is_some() && done[1].is_some() {
                break;
            }
        }
        ensure!(
            done == [Some(0), Some(0)],
            "the RECs finished with {done:?}"
        );
        ensure!(
            overlapped,
            "the two token sessions were never in progress together"
        );
        ensure!(
            yields[0] > 2 && yields[1] > 2,
            "too few CONTINUE calls to interleave: {yields:?}"
        );
        ensure!(
            vm.is_populated(buffer(0)) && vm.is_populated(buffer(1)),
            "a token buffer was never populated on its fault"
        );
        for (i, name) in TOKEN_NAMES[1..].iter().enumerate() {
            print_token(&vm, i, name, false)?;
        }
        Ok(())
    })();
    let torn = vm.tear_down();
    result.and(torn)
}

/// One token of the bench realm, untimed by the host: the realm's reports.
fn bench_token() -> Result<Reports, Failure> {
    let vm = build(1, MODE_BENCH, HashAlgorithm::Sha256)?;
    vm.populate(buffer(0))?;
    let mut reports = Reports::default();
    let stop = run_rec(&vm, 0, &mut reports);
    let torn = vm.tear_down();
    let stop = stop?;
    torn?;
    ensure!(stop == Stop::Done(0), "the realm finished with {stop:?}");
    Ok(reports)
}

/// `cargo xtask bench`, two runs of one token (SHA-256 realm, TF-A's sample platform token,
/// the buffer page populated beforehand), after a warm-up token that is not measured:
///
/// 1. No host interrupt: the realm times each RSI call itself, so every CONTINUE signs in
///    one go. Prints `BENCH attest_init`, `attest_continue_all`, `attest_token` (INIT +
///    every CONTINUE) and `attest_longest_call` (the longest CONTINUE: all the signing
///    steps, which run back to back when nothing is pending).
/// 2. The EL2 physical timer fires [`FIRE_AFTER`] instructions into every REC_ENTER
///    ([`HostTimerIrq`]), so after each signing step the RMM sees a pending interrupt and
///    exits with `RMI_EXIT_IRQ`; this hypervisor times every REC_ENTER. The longest one is
///    the longest uninterruptible stretch: it holds one signing step and everything around
///    it (EL3, the REC entry and exit, the CONTINUE called again, the session's load and
///    store). Each interrupted CONTINUE returns RSI_INCOMPLETE with nothing copied, which the
///    realm counts and calls again; the count must equal the signer's number of steps.
///    Prints `BENCH attest_longest_stretch`, `BENCH attest_steps` (entries, IRQ exits,
///    entries that held a signing step, the signer's number of steps, the interrupted
///    CONTINUEs the realm saw) and
///    `BENCH attest_step_entries` (how long each entry that held a step took).
///
/// On any failure: `BENCH error`.
pub fn bench() {
    let outcome = (|| {
        // A first token, not measured: the RMM reports the stack a signing took once, at the
        // first signing since it booted, with a scan of the CPU's unused stack whose length
        // depends on the deepest stack use so far. Measured, that report moved the token's
        // count with frames anywhere in the RMM.
        bench_token()?;
        let reports = bench_token()?;
        let Some([init, all, longest, calls, len, empty, interrupted]) = reports.bench else {
            fail!("the realm reported no numbers");
        };
        ensure!(
            interrupted == 0,
            "{interrupted} CONTINUEs stopped with no host interrupt armed"
        );
        for (name, n) in [
            ("attest_init", init),
            ("attest_continue_all", all),
            ("attest_token", init + all),
            ("attest_longest_call", longest),
        ] {
            println!(
                "BENCH {name} instructions={n} min={n} max={n} iterations=1 empty_pair={empty}"
            );
        }
        println!("BENCH attest_shape bytes={len} continue_calls={calls}");

        let Some(timer) = HostTimerIrq::enable() else {
            fail!("the EL2 timer's interrupt never showed as pending: no stepped measurement");
        };
        let mut times = EntryTimes {
            timer,
            entries: 0,
            irq_exits: 0,
            long_entries: 0,
            long: [0; LONG_KEPT],
            longest: 0,
        };
        let vm = build(1, MODE_BENCH, HashAlgorithm::Sha256)?;
        vm.populate(buffer(0))?;
        let mut reports = Reports::default();
        let stop = run_rec_timed(&vm, 0, &mut reports, Some(&mut times));
        drop(times.timer);
        let torn = vm.tear_down();
        let stop = stop?;
        torn?;
        ensure!(stop == Stop::Done(0), "the realm finished with {stop:?}");
        // Every signing step ends with the timer pending: the realm sees each of those
        // CONTINUEs return RSI_INCOMPLETE with nothing copied, and calls again.
        let interrupted = reports.bench.map_or(0, |b| b[6]);
        ensure!(
            interrupted == es384::STEPS as u64,
            "the realm saw {interrupted} interrupted CONTINUEs, expected one per signing step ({})",
            es384::STEPS
        );
        let n = times.longest;
        println!(
            "BENCH attest_longest_stretch instructions={n} min={n} max={n} iterations=1 \
             fire_after={FIRE_AFTER}"
        );
        println!(
            "BENCH attest_steps entries={} irq_exits={} long_entries={} signer_steps={} \
             realm_saw_incomplete={interrupted}",
            times.entries,
            times.irq_exits,
            times.long_entries,
            es384::STEPS
        );
        let mut line = crate::console::Line::new();
        let _ = write!(line, "BENCH attest_step_entries");
        for (k, n) in times
            .long
            .iter()
            .take(times.long_entries as usize)
            .enumerate()
        {
            let _ = write!(line, " step{}={n}", k + 1);
        }
        println!("{}", line.as_str());
        Ok(())
    })();
    if outcome.is_err() {
        let mut line = crate::console::Line::new();
        runner::report(regs::cpu_slot(), "attestation_bench", &outcome);
        let _ = write!(line, "BENCH error attestation (see the FAIL line above)");
        println!("{}", line.as_str());
    }
}
