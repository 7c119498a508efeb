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

use super::pool::{Pool, check, check_ok};
use super::realms::{Realm, VMID_EXEC, shape, window};
use crate::realm::{
    MEASURE_CONTENT, NS_NORMAL_RW, PAGE, write_page, write_realm_params, write_rec_params,
};
use crate::rmi::{self, X4, status};
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::{ensure, fail, println, realm_image, regs};
use attest::measurement::{
    MeasuredRealmParams, extend_data, extend_rec, extend_rem, extend_ripas, rim_init,
};
use attest::sha::SOFT as SOFT_ENGINE;
use core::fmt::Write;
use realm_protocol::attest::{
    BENCH_REPORT, BUFFER_IPA, EXTENDS, MODE_BENCH, MODE_CHECKS, MODE_PAIR, SHARED_OFFSET,
    YIELD_IMM, challenge, extend_value,
};
use realm_protocol::{
    CHECKS, HostCallCode, REALM_IMAGE_BASE, Scenario as RealmScenario, check as check_index,
    rpv_byte,
};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::rec_params::{RecMpidr, RecParams};
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

/// Auxiliary granules per REC.
const AUX: u64 = 16;
/// Most REC_ENTER calls one scenario may make.
const MAX_ENTRIES: u32 = 10_000;
const MAX_RECS: usize = 2;
/// Token bytes per `TOKEN` line.
const HEX_CHUNK: usize = 96;

fn rd64(pa: u64) -> u64 {
    // SAFETY: `pa` is in an NS granule this hypervisor owns (a run page or a shared page);
    // aligned load.
    unsafe { core::ptr::read_volatile(pa as *const u64) }
}

fn wr64(pa: u64, value: u64) {
    // SAFETY: as in `rd64`; aligned store.
    unsafe { core::ptr::write_volatile(pa as *mut u64, value) }
}

fn rd8(pa: u64) -> u8 {
    // SAFETY: as in `rd64`; a byte load.
    unsafe { core::ptr::read_volatile(pa as *const u8) }
}

/// A loaded realm running the attestation scenario on `recs` RECs.
struct AttestVm {
    pool: Pool,
    realm: Realm,
    low_tables: [u64; 4],
    high_tables: [u64; 4],
    recs: [u64; MAX_RECS],
    runs: [u64; MAX_RECS],
    shared: [u64; MAX_RECS],
    count: usize,
    pages: u64,
    populated: [bool; MAX_RECS],
    rim: Measurement,
    hash: HashAlgorithm,
}

impl AttestVm {
    fn build(count: usize, mode: u64, hash: HashAlgorithm) -> Result<Self, Failure> {
        let Some(pages) = realm_image::pages() else {
            fail!("no test realm image embedded: build with `cargo xtask build`");
        };
        let mut pool = window(5);
        let shape = shape(40, 1, 2, hash as u64, VMID_EXEC);
        let rd = pool.delegate()?;
        let rtt_base = pool.delegate_aligned(shape.num_roots, shape.num_roots * PAGE)?;
        let params_page = pool.ns_page()?;
        let mut params = shape.params(rtt_base);
        params.rpv = core::array::from_fn(rpv_byte);
        write_realm_params(params_page, &params);
        check_ok(
            rmi::realm_create(rd, params_page),
            format_args!("REALM_CREATE"),
        )?;
        let realm = Realm {
            rd,
            rtt_base,
            shape,
        };
        let mut rim = rim_init(
            &SOFT_ENGINE,
            &MeasuredRealmParams {
                flags: 0,
                s2sz: 40,
                sve_vl: 0,
                num_bps: 2,
                num_wps: 2,
                pmu_num_ctrs: 0,
                hash_algo: hash,
            },
        );
        let low_tables = realm.new_tables_to(&mut pool, 0, 3)?;
        let image_top = REALM_IMAGE_BASE + pages * PAGE;
        let buffers_top = BUFFER_IPA + count as u64 * PAGE;
        for (base, top) in [(REALM_IMAGE_BASE, image_top), (BUFFER_IPA, buffers_top)] {
            check(
                rmi::rtt_init_ripas(rd, base, top),
                [status::SUCCESS, top, 0, 0, X4],
                format_args!("RTT_INIT_RIPAS({base:#x}, {top:#x})"),
            )?;
            for page in (base..top).step_by(PAGE as usize) {
                rim = extend_ripas(&SOFT_ENGINE, hash, &rim, page, page + PAGE);
            }
        }
        for n in 0..pages {
            let ipa = REALM_IMAGE_BASE + n * PAGE;
            let data = pool.delegate()?;
            let src = pool.ns_page()?;
            let content = realm_image::page(n);
            write_page(src, &content);
            check(
                rmi::data_create(rd, data, ipa, src, MEASURE_CONTENT),
                [status::SUCCESS, 0, 0, 0, src],
                format_args!("DATA_CREATE(image page {n})"),
            )?;
            rim = extend_data(&SOFT_ENGINE, hash, &rim, ipa, MEASURE_CONTENT, &content);
        }
        let shared_ipa = shape.par_end() + SHARED_OFFSET;
        let mut recs = [0; MAX_RECS];
        for (i, rec) in recs.iter_mut().enumerate().take(count) {
            *rec = pool.delegate()?;
            let aux_base = pool.delegate_run(AUX)?;
            let rec_page = pool.ns_page()?;
            let mut p = RecParams::zeroed();
            p.flags = 1;
            p.mpidr = RecMpidr::from_index(i as u64).map_or(0, RecMpidr::bits);
            p.pc = REALM_IMAGE_BASE;
            p.gprs = [
                RealmScenario::Attest as u64,
                shared_ipa,
                mode,
                0,
                0,
                0,
                0,
                0,
            ];
            p.num_aux = AUX;
            for (a, slot) in p.aux[..AUX as usize].iter_mut().enumerate() {
                *slot = aux_base + a as u64 * PAGE;
            }
            write_rec_params(rec_page, &p);
            check_ok(
                rmi::rec_create(rd, *rec, rec_page),
                format_args!("REC_CREATE({i})"),
            )?;
            rim = extend_rec(&SOFT_ENGINE, hash, &rim, 1, REALM_IMAGE_BASE, &p.gprs);
        }
        let high_tables = realm.new_tables_to(&mut pool, shared_ipa, 3)?;
        let mut shared = [0; MAX_RECS];
        for (i, ns) in shared.iter_mut().enumerate().take(count) {
            *ns = pool.ns_page()?;
            write_page(*ns, &[0u8; 4096]);
            let ipa = shared_ipa + i as u64 * PAGE;
            let desc = *ns | NS_NORMAL_RW;
            check(
                rmi::rtt_map_unprotected(rd, ipa, 3, desc),
                [status::SUCCESS, 0, 0, 0, desc],
                format_args!("RTT_MAP_UNPROTECTED({ipa:#x})"),
            )?;
        }
        check_ok(rmi::realm_activate(rd), format_args!("REALM_ACTIVATE"))?;
        let mut runs = [0; MAX_RECS];
        for run in runs.iter_mut().take(count) {
            *run = pool.ns_page()?;
            write_page(*run, &[0u8; 4096]);
        }
        Ok(Self {
            pool,
            realm,
            low_tables,
            high_tables,
            recs,
            runs,
            shared,
            count,
            pages,
            populated: [false; MAX_RECS],
            rim,
            hash,
        })
    }

    fn tear_down(mut self) -> Outcome {
        let rd = self.realm.rd;
        let shared_ipa = self.realm.shape.par_end() + SHARED_OFFSET;
        for i in 0..self.count {
            let ipa = shared_ipa + i as u64 * PAGE;
            let out = rmi::rtt_unmap_unprotected(rd, ipa, 3);
            ensure!(
                out.0[0] == status::SUCCESS,
                "RTT_UNMAP_UNPROTECTED gave {:#x}",
                out.0[0]
            );
        }
        for n in 0..self.pages {
            let out = rmi::data_destroy(rd, REALM_IMAGE_BASE + n * PAGE);
            ensure!(
                out.0[0] == status::SUCCESS,
                "DATA_DESTROY(image) gave {:#x}",
                out.0[0]
            );
        }
        for i in 0..self.count {
            if self.populated[i] {
                let out = rmi::data_destroy(rd, BUFFER_IPA + i as u64 * PAGE);
                ensure!(
                    out.0[0] == status::SUCCESS,
                    "DATA_DESTROY(buffer) gave {:#x}",
                    out.0[0]
                );
            }
            check_ok(
                rmi::rec_destroy(self.recs[i]),
                format_args!("REC_DESTROY({i})"),
            )?;
        }
        self.realm.destroy_tables(shared_ipa, &self.high_tables)?;
        self.realm.destroy_tables(0, &self.low_tables)?;
        self.realm.destroy()?;
        self.pool.undelegate_all()
    }

    fn exit_word(&self, i: usize, offset: u64) -> u64 {
        rd64(self.runs[i] + 0x800 + offset)
    }

    /// The REMs after the checks mode's known extends (none in the pair mode).
    fn expected_rems(&self, extended: bool) -> [Measurement; 4] {
        let mut rems = [[0u8; 64]; 4];
        if extended {
            for (index, size, seed) in EXTENDS {
                let slot = index as usize - 1;
                if let Some(next) = extend_rem(
                    &SOFT_ENGINE,
                    self.hash,
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
    fn print_token(&self, i: usize, name: &str, extended: bool) -> Result<u64, Failure> {
        let page = self.shared[i];
        let len = rd64(page);
        ensure!(
            len > 0 && len <= PAGE - 8,
            "REC {i} left a token of {len} bytes in its shared page"
        );
        let hash_len = match self.hash {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
        };
        print_hex(name, "challenge", &challenge(i as u64));
        print_hex(name, "rpv", &core::array::from_fn::<u8, 64, _>(rpv_byte));
        print_hex(name, "rim", &self.rim[..hash_len]);
        for (n, rem) in self.expected_rems(extended).iter().enumerate() {
            let mut label = crate::console::Line::new();
            let _ = write!(label, "rem{}", n + 1);
            print_hex(name, label.as_str(), &rem[..hash_len]);
        }
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
}

fn print_hex(name: &str, what: &str, bytes: &[u8]) {
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
    reported: u64,
    failed: u64,
    /// INIT's upper bound, from the `attest.init` report.
    init_len: Option<u64>,
    /// The bench mode's numbers (gprs\[2..8\] of its report).
    bench: Option<[u64; 6]>,
}

/// Enters REC `i` until it yields or finishes, servicing host calls, reports and the
/// stage-2 abort of its token buffer.
fn run_rec(vm: &mut AttestVm, i: usize, reports: &mut Reports) -> Result<Stop, Failure> {
    let cpu = regs::cpu_slot();
    for _ in 0..MAX_ENTRIES {
        for k in 0..31 {
            wr64(vm.runs[i] + 0x200 + k * 8, 0);
        }
        wr64(vm.runs[i], 0);
        let x0 = rmi::rec_enter(vm.recs[i], vm.runs[i]).0[0];
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
                    report(vm, reports, cpu, gpr(0), gpr(1), &|k| gpr(2 + k))?;
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
                let own = BUFFER_IPA + i as u64 * PAGE;
                ensure!(
                    (esr >> 26) & 0x3F == 0x24 && ipa == own && !vm.populated[i],
                    "REC {i}: unexpected SYNC exit ESR {esr:#x} HPFAR {hpfar:#x}"
                );
                let data = vm.pool.delegate()?;
                check_ok(
                    rmi::data_create_unknown(vm.realm.rd, data, own),
                    format_args!("DATA_CREATE_UNKNOWN of the token buffer"),
                )?;
                vm.populated[i] = true;
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
    _vm: &AttestVm,
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
    let mut vm = AttestVm::build(1, MODE_CHECKS, HashAlgorithm::Sha256)?;
    let mut reports = Reports::default();
    let ran = run_rec(&mut vm, 0, &mut reports);
    let result = ran.and_then(|stop| {
        let expected = CHECKS
            .iter()
            .enumerate()
            .filter(|(_, n)| n.starts_with("attest."))
            .fold(0u64, |m, (k, _)| m | 1 << k);
        ensure!(
            reports.reported == expected,
            "realm reported checks {:#x}, expected {expected:#x}",
            reports.reported
        );
        ensure!(stop == Stop::Done(0), "realm finished with {stop:?}");
        ensure!(
            vm.populated[0],
            "the token buffer was never reported unpopulated"
        );
        let len = vm.print_token(0, TOKEN_NAMES[0], true)?;
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
    let mut vm = AttestVm::build(2, MODE_PAIR, HashAlgorithm::Sha512)?;
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
                match run_rec(&mut vm, i, &mut reports)? {
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
            vm.populated == [true, true],
            "a token buffer was never populated on its fault"
        );
        for (i, name) in TOKEN_NAMES[1..].iter().enumerate() {
            vm.print_token(i, name, false)?;
        }
        Ok(())
    })();
    let torn = vm.tear_down();
    result.and(torn)
}

/// `cargo xtask bench`: one token (SHA-256 realm, TF-A's sample platform token) timed inside
/// the realm with the buffer page populated beforehand, so no CONTINUE leaves the realm:
/// prints `BENCH attest_init`, `attest_continue_all`, `attest_token` (INIT + every CONTINUE)
/// and `attest_longest_call` (the longest single CONTINUE: nothing in it checks for a
/// pending host interrupt, so it is the longest uninterruptible stretch), or `BENCH error`.
pub fn bench() {
    let outcome = (|| {
        let mut vm = AttestVm::build(1, MODE_BENCH, HashAlgorithm::Sha256)?;
        let data = vm.pool.delegate()?;
        check_ok(
            rmi::data_create_unknown(vm.realm.rd, data, BUFFER_IPA),
            format_args!("DATA_CREATE_UNKNOWN of the token buffer"),
        )?;
        vm.populated[0] = true;
        let mut reports = Reports::default();
        let stop = run_rec(&mut vm, 0, &mut reports);
        let torn = vm.tear_down();
        let stop = stop?;
        torn?;
        ensure!(stop == Stop::Done(0), "the realm finished with {stop:?}");
        let Some([init, all, longest, calls, len, empty]) = reports.bench else {
            fail!("the realm reported no numbers");
        };
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
        Ok(())
    })();
    if outcome.is_err() {
        let mut line = crate::console::Line::new();
        runner::report(regs::cpu_slot(), "attestation_bench", &outcome);
        let _ = write!(line, "BENCH error attestation (see the FAIL line above)");
        println!("{}", line.as_str());
    }
}
