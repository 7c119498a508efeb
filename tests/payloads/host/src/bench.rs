// SPDX-License-Identifier: MIT OR Apache-2.0
//! Benchmark modes: instruction counts under QEMU `-icount shift=0 -smp 1`, where the counter
//! advances by exactly one per instruction executed at any exception level.
//!
//! Two boots, two modes:
//! - [`run_timed`] (mode `Bench`) times each benchmark's call and prints
//!   `BENCH <name> instructions=<median> min=<n> max=<n> iterations=<n> empty_pair=<n>`,
//!   with the cost of an empty pair of counter reads subtracted.
//! - [`run_traced`] (mode `BenchTrace`, booted with QEMU's instruction log on) runs each
//!   benchmark's call a few more times between two calls of [`bench_marker`] (one marker
//!   call between consecutive segments) and prints `BENCH traced <name> calls=<n>` in segment
//!   order, so that `cargo xtask bench` can attribute each command's cost to the RMM exactly.
//!
//! Both boots set up the same realm first (untimed): s2sz 48, a level-0 root, SHA-256, with
//! tables down to level 3 for [0, 2 MiB). The realm-execution benchmarks run the test realm
//! (`tests/payloads/realm`) in a second realm of the same shape, one REC per benchmark
//! scenario (`HostCallLoop`, `RsiVersionLoop`, `MmioLoop`, `RipasChangeLoop`, and
//! `HostCallLoop` again in a REC that reads a PAuth key register first), each entered up
//! to its first synchronisation host call before anything is timed or traced; the RIPAS
//! benchmark changes a 2 MiB region that has its own level-3 table. Only the calls being
//! measured are inside a timed interval or a traced segment; set-up and tear-down calls are
//! outside. Failures of any call are printed as `BENCH error ...`, which fails
//! `cargo xtask bench`.

use crate::platform::{GRANULE_POOL, REALM_POOL};
use crate::realm::{
    MEASURE_CONTENT, PAGE, Shape, fill_page, rec_params, write_page, write_realm_params,
    write_rec_params,
};
use crate::{println, realm_image, regs, rmi, smc};
use realm_protocol::{
    HostCallCode, MMIO_MAGIC, REALM_IMAGE_BASE, RIPAS_BENCH_REGION, Scenario as RealmScenario,
};

/// Timed calls per benchmark (the median is reported).
const ITERATIONS: usize = 101;
/// Timed calls of RTT_INIT_RIPAS over 2 MiB (each hashes 512 RIPAS descriptors).
const RIPAS_ITERATIONS: usize = 11;
/// Calls per traced segment of the cheap commands.
const TRACED_CALLS: u64 = 64;
/// Calls per traced segment of the commands that hash a 4 KiB page (REALM_CREATE,
/// DATA_CREATE measured, REC_CREATE): their cost per call is the same every time.
const TRACED_HASHING_CALLS: u64 = 4;
/// Traced RTT_INIT_RIPAS calls over 2 MiB.
const TRACED_RIPAS_CALLS: u64 = 1;

const MIB: u64 = 1 << 20;
const L2_BLOCK: u64 = 2 * MIB;
/// NS pages (parameters, sources) come from here; delegated granules from [`REALM_POOL`].
const NS_PAGES: u64 = REALM_POOL + 40 * MIB;

/// The realm every RTT, DATA and REC benchmark works in.
const SHAPE: Shape = Shape {
    s2sz: 48,
    start_level: 0,
    num_roots: 1,
    hash: 0,
    vmid: 1,
};

/// Level-2 entries (2 MiB blocks of [0, 1 GiB)) each benchmark uses: fresh, never-used
/// entries for every RTT_CREATE and RTT_INIT_RIPAS call.
const RIPAS_FIRST_BLOCK: u64 = 100;
const RTT_CREATE_FIRST_BLOCK: u64 = 256;

/// Where each traced segment starts and the last one ends.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn bench_marker(phase: u64) -> u64 {
    core::hint::black_box(phase)
}

fn median_of(samples: &mut [u64]) -> (u64, u64, u64) {
    samples.sort_unstable();
    (
        samples[samples.len() / 2],
        samples[0],
        samples[samples.len() - 1],
    )
}

fn report(name: &str, samples: &mut [u64], empty: u64) {
    let (median, min, max) = median_of(samples);
    println!(
        "BENCH {name} instructions={} min={} max={} iterations={} empty_pair={empty}",
        median - empty,
        min - empty,
        max - empty,
        samples.len()
    );
}

/// Prints a `BENCH error` line (which fails the run) unless `x0` is `want`.
fn expect(name: &str, x0: u64, want: u64) {
    if x0 != want {
        println!("BENCH error {name} returned x0={x0:#x}, expected {want:#x}");
    }
}

fn expect_success(name: &str, x0: u64) {
    expect(name, x0, rmi::status::SUCCESS);
}

/// Bump allocators: delegated granules from [`REALM_POOL`], NS pages from [`NS_PAGES`].
struct Memory {
    delegated: u64,
    ns: u64,
}

impl Memory {
    const fn new() -> Self {
        Self {
            delegated: REALM_POOL,
            ns: NS_PAGES,
        }
    }

    fn delegate(&mut self) -> u64 {
        self.delegate_run(1)
    }

    fn delegate_run(&mut self, n: u64) -> u64 {
        let base = self.delegated;
        for i in 0..n {
            let out = rmi::granule_delegate(base + i * PAGE, 0);
            expect_success("set-up delegate", out.0[0]);
        }
        self.delegated += n * PAGE;
        base
    }

    fn ns_page(&mut self) -> u64 {
        let pa = self.ns;
        self.ns += PAGE;
        pa
    }
}

/// The realm of [`SHAPE`], with a level-1, a level-2 and a level-3 table mapping
/// [0, 2 MiB).
struct BenchRealm {
    rd: u64,
}

impl BenchRealm {
    fn create(mem: &mut Memory) -> Self {
        let rd = create_realm(mem, SHAPE);
        for level in 1..=3 {
            let out = rmi::rtt_create(rd, mem.delegate(), 0, level);
            expect_success("set-up RTT_CREATE", out.0[0]);
        }
        Self { rd }
    }

    /// RIPAS RAM for pages `[first, end)` of [0, 2 MiB).
    fn ram(&self, first: u64, end: u64) {
        let out = rmi::rtt_init_ripas(self.rd, first * PAGE, end * PAGE);
        expect_success("set-up RTT_INIT_RIPAS", out.0[0]);
    }

    /// A DATA_CREATE_UNKNOWN page at page `index` of [0, 2 MiB) that stays there.
    fn pin(&self, mem: &mut Memory, index: u64) {
        let out = rmi::data_create_unknown(self.rd, mem.delegate(), index * PAGE);
        expect_success("set-up DATA_CREATE_UNKNOWN", out.0[0]);
    }

    /// A fresh level-3 table for the 2 MiB block `block` of [0, 1 GiB).
    fn table_at(&self, mem: &mut Memory, block: u64) -> u64 {
        let ipa = block * L2_BLOCK;
        let out = rmi::rtt_create(self.rd, mem.delegate(), ipa, 3);
        expect_success("set-up RTT_CREATE", out.0[0]);
        ipa
    }
}

/// Delegates an RD and one root and creates a realm of `shape` (s2sz 48, level-0 root).
fn create_realm(mem: &mut Memory, shape: Shape) -> u64 {
    let (rd, page) = realm_create_args(mem, shape);
    expect_success("set-up REALM_CREATE", rmi::realm_create(rd, page).0[0]);
    rd
}

/// A delegated RD and the params page for a realm of `shape` with a fresh delegated root.
fn realm_create_args(mem: &mut Memory, shape: Shape) -> (u64, u64) {
    let rd = mem.delegate();
    let root = mem.delegate();
    let page = mem.ns_page();
    write_realm_params(page, &shape.params(root));
    (rd, page)
}

/// A delegated REC granule and 16 auxiliary granules, and the params page for REC `index`.
fn rec_create_args(mem: &mut Memory, index: u64) -> (u64, u64) {
    let rec = mem.delegate();
    let aux = mem.delegate_run(16);
    let page = mem.ns_page();
    write_rec_page(page, index, aux);
    (rec, page)
}

fn write_rec_page(page: u64, index: u64, aux: u64) {
    let aux: [u64; 16] = core::array::from_fn(|i| aux + i as u64 * PAGE);
    write_rec_params(page, &rec_params(index, 0, &aux, true));
}

/// The realm-execution benchmark scenarios, one REC each, in REC index order, with the x1
/// each REC starts with.
const EXEC_SCENARIOS: [(RealmScenario, u64); EXEC_RECS] = [
    (RealmScenario::HostCallLoop, 0),
    (RealmScenario::RsiVersionLoop, 0),
    (RealmScenario::MmioLoop, 0),
    (RealmScenario::RipasChangeLoop, 0),
    (RealmScenario::HostCallLoop, 1),
];
const EXEC_RECS: usize = 5;
/// The REC of [`RealmScenario::RipasChangeLoop`].
const RIPAS_REC: usize = 3;
/// The host-call REC that has used PAuth (its keys are switched at every entry and exit).
const PAUTH_REC: usize = 4;

/// `RmiRecExit.exit_reason` values.
const EXIT_SYNC: u64 = 0;
const EXIT_IRQ: u64 = 1;
const EXIT_RIPAS_CHANGE: u64 = 4;
const EXIT_HOST_CALL: u64 = 5;
/// `RmiRecEnter.flags`: complete an emulated MMIO read.
const EMUL_MMIO: u64 = 1;
/// ESR_EL2.EC of a data abort from a lower EL.
const EC_DATA_ABORT_LOWER: u64 = 0x24;

/// The test realm loaded into a realm of [`SHAPE`] (VMID 3), activated, with one runnable REC
/// per entry of [`EXEC_SCENARIOS`] (x0 = the scenario, x2 = its count), and a level-3 table
/// for [`RIPAS_BENCH_REGION`] (RIPAS EMPTY, no DATA).
struct ExecRealm {
    rd: u64,
    recs: [u64; EXEC_RECS],
    run: u64,
}

fn read_run(run: u64, offset: u64) -> u64 {
    // SAFETY: the run page is an NS granule of the benchmark's pool; aligned load.
    unsafe { core::ptr::read_volatile((run + offset) as *const u64) }
}

fn write_run(run: u64, offset: u64, value: u64) {
    // SAFETY: as in `read_run`; aligned store.
    unsafe { core::ptr::write_volatile((run + offset) as *mut u64, value) }
}

/// How the next REC_ENTER completes the last exit: entry flags and gprs\[0\].
#[derive(Clone, Copy)]
struct Completion {
    flags: u64,
    x0: u64,
}

const PLAIN: Completion = Completion { flags: 0, x0: 0 };

impl ExecRealm {
    /// Loads the test realm (unmeasured DATA_CREATE of every page of the image, RIPAS RAM over
    /// its whole footprint) and creates the RECs with `counts`.
    fn build(mem: &mut Memory, counts: [u64; EXEC_RECS]) -> Option<Self> {
        let Some(pages) = realm_image::pages() else {
            println!("BENCH error no test realm image embedded");
            return None;
        };
        let rd = create_realm(mem, Shape { vmid: 3, ..SHAPE });
        for level in 1..=3 {
            let out = rmi::rtt_create(rd, mem.delegate(), 0, level);
            expect_success("exec set-up RTT_CREATE", out.0[0]);
        }
        let out = rmi::rtt_create(rd, mem.delegate(), RIPAS_BENCH_REGION.0, 3);
        expect_success("exec set-up RTT_CREATE (RIPAS region)", out.0[0]);
        let top = REALM_IMAGE_BASE + pages * PAGE;
        let out = rmi::rtt_init_ripas(rd, REALM_IMAGE_BASE, top);
        expect_success("exec set-up RTT_INIT_RIPAS", out.0[0]);
        for n in 0..pages {
            let (data, src) = (mem.delegate(), mem.ns_page());
            write_page(src, &realm_image::page(n));
            let out = rmi::data_create(rd, data, REALM_IMAGE_BASE + n * PAGE, src, 0);
            expect_success("exec set-up DATA_CREATE", out.0[0]);
        }
        let mut recs = [0; EXEC_RECS];
        for (i, (&(scenario, x1), count)) in EXEC_SCENARIOS.iter().zip(counts).enumerate() {
            let rec = mem.delegate();
            let aux = mem.delegate_run(16);
            let aux: [u64; 16] = core::array::from_fn(|j| aux + j as u64 * PAGE);
            let mut params = rec_params(i as u64, REALM_IMAGE_BASE, &aux, true);
            params.gprs = [scenario as u64, x1, count, 0, 0, 0, 0, 0];
            let page = mem.ns_page();
            write_rec_params(page, &params);
            expect_success(
                "exec set-up REC_CREATE",
                rmi::rec_create(rd, rec, page).0[0],
            );
            recs[i] = rec;
        }
        expect_success("exec set-up REALM_ACTIVATE", rmi::realm_activate(rd).0[0]);
        let run = mem.ns_page();
        write_page(run, &[0; PAGE as usize]);
        Some(Self { rd, recs, run })
    }

    /// Writes `completion` into the run page (before the timed interval).
    fn prepare(&self, completion: Completion) {
        write_run(self.run, 0, completion.flags);
        write_run(self.run, 0x200, completion.x0);
    }

    /// REC_ENTER of REC `index` with what [`Self::prepare`] wrote; returns x0.
    fn enter(&self, index: usize) -> u64 {
        rmi::rec_enter(self.recs[index], self.run).0[0]
    }

    fn exit_word(&self, offset: u64) -> u64 {
        read_run(self.run, 0x800 + offset)
    }

    /// The RIPAS change the last exit asks for: (base, top, RIPAS).
    fn ripas_request(&self) -> (u64, u64, u64) {
        (
            self.exit_word(0x500),
            self.exit_word(0x508),
            self.exit_word(0x510),
        )
    }

    /// One RTT_SET_RIPAS of `[base, top)` for REC `index`; returns (x0, x1).
    fn set_ripas(&self, index: usize, base: u64, top: u64) -> (u64, u64) {
        let out = rmi::rtt_set_ripas(self.rd, self.recs[index], base, top).0;
        (out[0], out[1])
    }

    /// Carries out the RIPAS change REC `index` asked for, in as many RTT_SET_RIPAS calls as
    /// the RMM takes (one per level-3 table); the entry that follows ACCEPTs it.
    fn change_ripas(&self, index: usize) -> Completion {
        let (mut base, top, _) = self.ripas_request();
        while base < top {
            let (x0, done) = self.set_ripas(index, base, top);
            if x0 != rmi::status::SUCCESS || done <= base || done > top {
                println!("BENCH error RTT_SET_RIPAS({base:#x}, {top:#x}) gave {x0:#x}, {done:#x}");
                break;
            }
            base = done;
        }
        PLAIN
    }

    /// Services the last exit the way the realm's scenarios expect; returns how the next
    /// entry completes it, or `None` once the realm said `Done` (after checking it reported
    /// no failure) or on an exit no benchmark scenario takes (a `BENCH error` line).
    fn service(&self, index: usize) -> Option<Completion> {
        let gpr0 = self.exit_word(0x200);
        match self.exit_word(0) {
            EXIT_HOST_CALL => match HostCallCode::from_u16(self.exit_word(0x600) as u16) {
                Some(HostCallCode::Echo) => Some(Completion {
                    flags: 0,
                    x0: gpr0 + 1,
                }),
                Some(HostCallCode::Print) => {
                    let len = gpr0.min(240) as usize;
                    let mut bytes = [0u8; 248];
                    for (i, chunk) in bytes.chunks_exact_mut(8).enumerate().take(len.div_ceil(8)) {
                        chunk.copy_from_slice(&self.exit_word(0x208 + i as u64 * 8).to_le_bytes());
                    }
                    println!(
                        "{}",
                        core::str::from_utf8(&bytes[..len]).unwrap_or("BENCH error realm text")
                    );
                    Some(PLAIN)
                }
                Some(HostCallCode::Done) => {
                    if gpr0 != 0 {
                        println!("BENCH error the benchmark realm counted {gpr0} failures");
                    }
                    None
                }
                _ => {
                    println!(
                        "BENCH error unexpected host call {:#x}",
                        self.exit_word(0x600)
                    );
                    None
                }
            },
            EXIT_SYNC if (self.exit_word(0x100) >> 26) & 0x3F == EC_DATA_ABORT_LOWER => {
                Some(Completion {
                    flags: EMUL_MMIO,
                    x0: MMIO_MAGIC,
                })
            }
            EXIT_IRQ => Some(PLAIN),
            EXIT_RIPAS_CHANGE => Some(self.change_ripas(index)),
            reason => {
                println!(
                    "BENCH error unexpected exit reason {reason} (ESR {:#x})",
                    self.exit_word(0x100)
                );
                None
            }
        }
    }

    /// Enters REC `index` (completing with `completion`) and services exits until one whose
    /// reason is `reason` (for a host call: `Echo`); returns how that exit is completed.
    fn run_until(&self, index: usize, mut completion: Completion, reason: u64) -> Completion {
        for _ in 0..10_000 {
            self.prepare(completion);
            expect_success("exec REC_ENTER", self.enter(index));
            let echo = self.exit_word(0) == EXIT_HOST_CALL
                && self.exit_word(0x600) == HostCallCode::Echo as u64;
            let Some(next) = self.service(index) else {
                println!("BENCH error REC {index} finished before exit reason {reason}");
                return PLAIN;
            };
            completion = next;
            let reached = match reason {
                EXIT_HOST_CALL => echo,
                other => self.exit_word(0) == other,
            };
            if reached {
                return completion;
            }
        }
        println!("BENCH error REC {index} never reached exit reason {reason}");
        PLAIN
    }

    /// Times [`ITERATIONS`] entries of REC `index`, the first completing with `completion`,
    /// each of which must end in an exit with `reason`; reports them as `BENCH <name>` and
    /// runs the REC to its `Done`.
    fn time_entries(
        &self,
        name: &str,
        index: usize,
        mut completion: Completion,
        reason: u64,
        empty: u64,
    ) {
        let mut samples = [0; ITERATIONS];
        for s in samples.iter_mut() {
            self.prepare(completion);
            let t0 = regs::counter();
            let x0 = self.enter(index);
            *s = regs::counter() - t0;
            expect_success(name, x0);
            expect(name, self.exit_word(0), reason);
            completion = self.service(index).unwrap_or(PLAIN);
        }
        self.finish(index, completion);
        report(name, &mut samples, empty);
    }

    /// Runs REC `index` to its `Done`.
    fn finish(&self, index: usize, mut completion: Completion) {
        for _ in 0..10_000 {
            self.prepare(completion);
            expect_success("exec REC_ENTER", self.enter(index));
            match self.service(index) {
                Some(next) => completion = next,
                None => return,
            }
        }
        println!("BENCH error REC {index} did not finish");
    }
}

/// The REC_ENTER round trips, timed: REC 0 (host calls) and REC 2 (MMIO), each entered
/// [`ITERATIONS`] times after its first timed-able exit; REC 1 times RSI_VERSION itself and
/// prints its own `BENCH rsi_version` line.
fn run_timed_exec(mem: &mut Memory, empty: u64) {
    let n = ITERATIONS as u64;
    let rounds = RIPAS_ITERATIONS as u64;
    let Some(vm) = ExecRealm::build(mem, [n + 1, n, n + 1, rounds, n + 1]) else {
        return;
    };
    // Host calls: each timed entry completes one Echo and ends at the next.
    let first = vm.run_until(0, PLAIN, EXIT_HOST_CALL);
    vm.time_entries("rec_enter_host_call", 0, first, EXIT_HOST_CALL, empty);

    vm.finish(1, PLAIN);

    // MMIO: each timed entry completes one emulated load and ends at the next.
    let echo = vm.run_until(2, PLAIN, EXIT_HOST_CALL);
    let first = vm.run_until(2, echo, EXIT_SYNC);
    vm.time_entries("rec_enter_mmio", 2, first, EXIT_SYNC, empty);

    // RIPAS changes: in each round the realm asks for its 2 MiB region to become RAM (the
    // realm times the whole change and prints `BENCH ripas_change_2m`); RTT_SET_RIPAS over
    // the region's 512 level-3 entries is timed here. The realm then makes the region EMPTY
    // again (untimed) before its next round.
    let mut ripas = [0; RIPAS_ITERATIONS];
    // How the next entry completes the last exit of the RIPAS REC.
    let mut pending = PLAIN;
    for s in ripas.iter_mut() {
        // Up to the round's first Echo (servicing the last round's EMPTY change on the way).
        let echo = vm.run_until(RIPAS_REC, pending, EXIT_HOST_CALL);
        vm.prepare(echo);
        expect_success("ripas REC_ENTER", vm.enter(RIPAS_REC));
        expect("ripas exit", vm.exit_word(0), EXIT_RIPAS_CHANGE);
        let (base, top, ripas) = vm.ripas_request();
        expect("ripas request base", base, RIPAS_BENCH_REGION.0);
        expect("ripas request top", top, RIPAS_BENCH_REGION.1);
        expect("ripas request RIPAS", ripas, rmi::ripas::RAM);
        let t0 = regs::counter();
        let (x0, done) = vm.set_ripas(RIPAS_REC, base, top);
        *s = regs::counter() - t0;
        expect_success("rtt_set_ripas", x0);
        expect("rtt_set_ripas top", done, top);
        // ACCEPT, up to the round's second Echo.
        pending = vm.run_until(RIPAS_REC, PLAIN, EXIT_HOST_CALL);
    }
    vm.finish(RIPAS_REC, pending);
    report("rtt_set_ripas_2m", &mut ripas, empty);

    // Host calls again, in a REC whose first run read a PAuth key register (untimed).
    let first = vm.run_until(PAUTH_REC, PLAIN, EXIT_HOST_CALL);
    vm.time_entries(
        "rec_enter_host_call_pauth",
        PAUTH_REC,
        first,
        EXIT_HOST_CALL,
        empty,
    );
}

/// Runs the timed benchmarks and powers off.
pub fn run_timed() -> ! {
    println!("BENCH mode: cntfrq={} Hz", regs::cntfrq_el0());
    let mut empty_samples = [0; ITERATIONS];
    for s in empty_samples.iter_mut() {
        let t0 = regs::counter();
        *s = regs::counter() - t0;
    }
    let (empty, _, _) = median_of(&mut empty_samples);

    let mut version = [0; ITERATIONS];
    for s in version.iter_mut() {
        let t0 = regs::counter();
        core::hint::black_box(rmi::version(0x1_0000, 0));
        *s = regs::counter() - t0;
    }
    report("rmi_version", &mut version, empty);

    // Steady state: the same granule, delegated and undelegated again and again, while a
    // neighbour in the same 2 MiB block stays delegated. Without it, TF-A's granule protection
    // tables would split a contiguous 2 MiB NS block on every delegation and fuse it again on
    // every undelegation: EL3 work that depends on the host's memory layout, not on the RMM.
    let pin = GRANULE_POOL + 0x10_0000;
    expect_success("pin delegate", rmi::granule_delegate(pin, 0).0[0]);
    let (mut delegate, mut undelegate) = ([0; ITERATIONS], [0; ITERATIONS]);
    for (d, u) in delegate.iter_mut().zip(undelegate.iter_mut()) {
        let t0 = regs::counter();
        let out = rmi::granule_delegate(GRANULE_POOL, 0);
        let t1 = regs::counter();
        let back = rmi::granule_undelegate(GRANULE_POOL, 0);
        let t2 = regs::counter();
        expect_success("granule_delegate", out.0[0]);
        expect_success("granule_undelegate", back.0[0]);
        (*d, *u) = (t1 - t0, t2 - t1);
    }
    expect_success("pin undelegate", rmi::granule_undelegate(pin, 0).0[0]);
    report("granule_delegate", &mut delegate, empty);
    report("granule_undelegate", &mut undelegate, empty);

    let mut mem = Memory::new();
    let realm = BenchRealm::create(&mut mem);
    let rd = realm.rd;
    // Pages 0..4 are RIPAS RAM; page 1 stays assigned, so destroying page 0 finds the next
    // live entry at once (as in an ascending teardown) instead of scanning the whole table.
    realm.ram(0, 4);
    realm.pin(&mut mem, 1);

    // REALM_CREATE: the same RD, root and VMID, destroyed again after each (untimed).
    let (new_rd, params) = realm_create_args(&mut mem, Shape { vmid: 2, ..SHAPE });
    let mut samples = [0; ITERATIONS];
    for s in samples.iter_mut() {
        let t0 = regs::counter();
        let out = rmi::realm_create(new_rd, params);
        *s = regs::counter() - t0;
        expect_success("realm_create", out.0[0]);
        expect_success("realm_destroy", rmi::realm_destroy(new_rd).0[0]);
    }
    report("realm_create", &mut samples, empty);

    // RTT_CREATE at level 3, each time under a fresh (UNASSIGNED EMPTY) level-2 entry.
    let table = mem.delegate();
    for (i, s) in samples.iter_mut().enumerate() {
        let ipa = (RTT_CREATE_FIRST_BLOCK + i as u64) * L2_BLOCK;
        let t0 = regs::counter();
        let out = rmi::rtt_create(rd, table, ipa, 3);
        *s = regs::counter() - t0;
        expect_success("rtt_create", out.0[0]);
        expect_success("rtt_destroy", rmi::rtt_destroy(rd, ipa, 3).0[0]);
    }
    report("rtt_create_l3", &mut samples, empty);

    // DATA_CREATE of a measured 4 KiB page and DATA_DESTROY of it, at page 0.
    let data = mem.delegate();
    let src = mem.ns_page();
    fill_page(src, 0xBE7C_0000);
    let mut destroy = [0; ITERATIONS];
    for (c, d) in samples.iter_mut().zip(destroy.iter_mut()) {
        let t0 = regs::counter();
        let out = rmi::data_create(rd, data, 0, src, MEASURE_CONTENT);
        let t1 = regs::counter();
        let back = rmi::data_destroy(rd, 0);
        let t2 = regs::counter();
        expect_success("data_create", out.0[0]);
        expect_success("data_destroy", back.0[0]);
        (*c, *d) = (t1 - t0, t2 - t1);
    }
    report("data_create", &mut samples, empty);
    report("data_destroy", &mut destroy, empty);

    // DATA_CREATE_UNKNOWN at page 2 (RIPAS RAM: a valid mapping), destroyed untimed.
    for s in samples.iter_mut() {
        let t0 = regs::counter();
        let out = rmi::data_create_unknown(rd, data, 2 * PAGE);
        *s = regs::counter() - t0;
        expect_success("data_create_unknown", out.0[0]);
        expect_success("data_destroy", rmi::data_destroy(rd, 2 * PAGE).0[0]);
    }
    report("data_create_unknown", &mut samples, empty);

    // REC_CREATE (runnable, so measured) of RECs 0, 1, 2, ... in the same 17 granules, each
    // destroyed (untimed) before the next.
    let rec = mem.delegate();
    let aux = mem.delegate_run(16);
    let page = mem.ns_page();
    for (i, s) in samples.iter_mut().enumerate() {
        write_rec_page(page, i as u64, aux);
        let t0 = regs::counter();
        let out = rmi::rec_create(rd, rec, page);
        *s = regs::counter() - t0;
        expect_success("rec_create", out.0[0]);
        expect_success("rec_destroy", rmi::rec_destroy(rec).0[0]);
    }
    report("rec_create", &mut samples, empty);

    // RTT_INIT_RIPAS over a whole fresh level-3 table: 512 entries, 2 MiB.
    let mut ripas = [0; RIPAS_ITERATIONS];
    for (i, s) in ripas.iter_mut().enumerate() {
        let base = realm.table_at(&mut mem, RIPAS_FIRST_BLOCK + i as u64);
        let t0 = regs::counter();
        let out = rmi::rtt_init_ripas(rd, base, base + L2_BLOCK);
        *s = regs::counter() - t0;
        expect_success("rtt_init_ripas", out.0[0]);
        expect("rtt_init_ripas top", out.0[1], base + L2_BLOCK);
    }
    report("rtt_init_ripas_2m", &mut ripas, empty);
    run_timed_exec(&mut mem, empty);
    crate::scenarios::csm_bench(false, empty);
    crate::scenarios::attestation_bench();
    smc::system_off()
}

/// Runs the traced segments and powers off.
pub fn run_traced() -> ! {
    println!("BENCH trace mode");
    let mut mem = Memory::new();
    let realm = BenchRealm::create(&mut mem);
    let rd = realm.rd;

    // Everything the segments use is made first, so a segment holds only measured calls.
    const N: usize = TRACED_HASHING_CALLS as usize;
    let new_realms: [(u64, u64); N] = core::array::from_fn(|i| {
        let shape = Shape {
            vmid: 10 + i as u64,
            ..SHAPE
        };
        realm_create_args(&mut mem, shape)
    });
    let tables = mem.delegate_run(TRACED_CALLS);
    let data = mem.delegate_run(TRACED_HASHING_CALLS);
    let src = mem.ns_page();
    fill_page(src, 0xBE7C_0000);
    // Measured pages at 16.., unknown pages (RIPAS RAM) at 32..96, page 96 pinned so that
    // each DATA_DESTROY finds the next live entry at once, as in the timed run.
    const MEASURED_FIRST: u64 = 16;
    const UNKNOWN_FIRST: u64 = 32;
    realm.ram(UNKNOWN_FIRST, UNKNOWN_FIRST + TRACED_CALLS + 1);
    realm.pin(&mut mem, UNKNOWN_FIRST + TRACED_CALLS);
    let unknown = mem.delegate_run(TRACED_CALLS);
    let recs: [(u64, u64); N] = core::array::from_fn(|i| rec_create_args(&mut mem, i as u64));
    let ripas_base = realm.table_at(&mut mem, RIPAS_FIRST_BLOCK);
    // The test realm: REC 0 waits at its first Echo, REC 1 at the Echo before its RSI_VERSION
    // calls, REC 2 at its first MMIO load, REC 4 (PAuth) at its first Echo.
    let counts = [
        TRACED_CALLS + 1,
        TRACED_CALLS,
        TRACED_CALLS + 1,
        1,
        TRACED_CALLS + 1,
    ];
    let Some(vm) = ExecRealm::build(&mut mem, counts) else {
        smc::system_off()
    };
    let host_call_completion = vm.run_until(0, PLAIN, EXIT_HOST_CALL);
    let version_completion = vm.run_until(1, PLAIN, EXIT_HOST_CALL);
    let echo = vm.run_until(2, PLAIN, EXIT_HOST_CALL);
    let mmio_completion = vm.run_until(2, echo, EXIT_SYNC);
    let ripas_echo = vm.run_until(RIPAS_REC, PLAIN, EXIT_HOST_CALL);
    let pauth_completion = vm.run_until(PAUTH_REC, PLAIN, EXIT_HOST_CALL);

    let granule = |i: u64| GRANULE_POOL + i * PAGE;
    // OR of every x0, checked after the last segment (0 if every call succeeded).
    let mut failed = 0;
    bench_marker(0);
    for _ in 0..TRACED_CALLS {
        core::hint::black_box(rmi::version(0x1_0000, 0));
    }
    bench_marker(1);
    for i in 0..TRACED_CALLS {
        core::hint::black_box(rmi::granule_delegate(granule(i), 0));
    }
    bench_marker(2);
    for i in 0..TRACED_CALLS {
        core::hint::black_box(rmi::granule_undelegate(granule(i), 0));
    }
    bench_marker(3);
    for &(new_rd, params) in &new_realms {
        failed |= rmi::realm_create(new_rd, params).0[0];
    }
    bench_marker(4);
    for i in 0..TRACED_CALLS {
        let ipa = (RTT_CREATE_FIRST_BLOCK + i) * L2_BLOCK;
        failed |= rmi::rtt_create(rd, tables + i * PAGE, ipa, 3).0[0];
    }
    bench_marker(5);
    for i in 0..TRACED_HASHING_CALLS {
        let ipa = (MEASURED_FIRST + i) * PAGE;
        failed |= rmi::data_create(rd, data + i * PAGE, ipa, src, MEASURE_CONTENT).0[0];
    }
    bench_marker(6);
    for i in 0..TRACED_CALLS {
        let ipa = (UNKNOWN_FIRST + i) * PAGE;
        failed |= rmi::data_create_unknown(rd, unknown + i * PAGE, ipa).0[0];
    }
    bench_marker(7);
    for i in 0..TRACED_CALLS {
        failed |= rmi::data_destroy(rd, (UNKNOWN_FIRST + i) * PAGE).0[0];
    }
    bench_marker(8);
    for &(rec, params) in &recs {
        failed |= rmi::rec_create(rd, rec, params).0[0];
    }
    bench_marker(9);
    for _ in 0..TRACED_RIPAS_CALLS {
        failed |= rmi::rtt_init_ripas(rd, ripas_base, ripas_base + L2_BLOCK).0[0];
    }
    bench_marker(10);
    // Each entry completes an Echo and ends at the next; the realm does the same thing every
    // time (its loop, one host call), so every entry costs the same.
    let mut echo_answer = host_call_completion;
    for _ in 0..TRACED_CALLS {
        vm.prepare(echo_answer);
        failed |= vm.enter(0);
        echo_answer.x0 = vm.exit_word(0x200) + 1;
    }
    bench_marker(11);
    // One entry: the Echo completed, TRACED_CALLS RSI_VERSION calls, the next Echo. xtask
    // takes one host-call round trip off this segment.
    vm.prepare(version_completion);
    failed |= vm.enter(1);
    bench_marker(12);
    for _ in 0..TRACED_CALLS {
        vm.prepare(mmio_completion);
        failed |= vm.enter(2);
    }
    let mmio_exit = vm.exit_word(0);
    bench_marker(13);
    // A RIPAS change of 2 MiB in three segments: the entry completing the round's first Echo
    // up to the exit asking for the change, RTT_SET_RIPAS of the 512 entries, and the entry
    // that ACCEPTs it up to the round's second Echo. xtask adds them up and takes one
    // host-call round trip off.
    vm.prepare(ripas_echo);
    failed |= vm.enter(RIPAS_REC);
    bench_marker(14);
    let (base, top) = RIPAS_BENCH_REGION;
    let (set_ripas, done) = vm.set_ripas(RIPAS_REC, base, top);
    bench_marker(15);
    vm.prepare(PLAIN);
    failed |= vm.enter(RIPAS_REC) | set_ripas;
    bench_marker(16);
    // The RIPAS round's end is read before the run page is reused (a segment of its own).
    let ripas_end_code = vm.exit_word(0x600);
    let ripas_end = vm.service(RIPAS_REC).unwrap_or(PLAIN);
    bench_marker(17);
    // As segment 10, in the REC that has used PAuth: its keys move at every entry and exit.
    let mut pauth_answer = pauth_completion;
    for _ in 0..TRACED_CALLS {
        vm.prepare(pauth_answer);
        failed |= vm.enter(PAUTH_REC);
        pauth_answer.x0 = vm.exit_word(0x200) + 1;
    }
    bench_marker(18);
    expect_success("a traced call", failed);
    expect("last traced MMIO exit", mmio_exit, EXIT_SYNC);
    expect("traced RTT_SET_RIPAS top", done, top);
    expect(
        "traced RIPAS round's end",
        ripas_end_code,
        HostCallCode::Echo as u64,
    );
    expect(
        "last traced PAuth host call",
        vm.exit_word(0x600),
        HostCallCode::Echo as u64,
    );
    vm.finish(PAUTH_REC, pauth_answer);
    vm.finish(RIPAS_REC, ripas_end);
    vm.finish(2, mmio_completion);
    vm.finish(1, PLAIN);
    vm.finish(0, echo_answer);
    for (name, calls) in [
        ("rmi_version", TRACED_CALLS),
        ("granule_delegate", TRACED_CALLS),
        ("granule_undelegate", TRACED_CALLS),
        ("realm_create", TRACED_HASHING_CALLS),
        ("rtt_create_l3", TRACED_CALLS),
        ("data_create", TRACED_HASHING_CALLS),
        ("data_create_unknown", TRACED_CALLS),
        ("data_destroy", TRACED_CALLS),
        ("rec_create", TRACED_HASHING_CALLS),
        ("rtt_init_ripas_2m", TRACED_RIPAS_CALLS),
        ("rec_enter_host_call", TRACED_CALLS),
        ("rsi_version", TRACED_CALLS),
        ("rec_enter_mmio", TRACED_CALLS),
        ("ripas_change_exit", 1),
        ("rtt_set_ripas_2m", 1),
        ("ripas_change_2m", 1),
        ("pauth_gap", 1),
        ("rec_enter_host_call_pauth", TRACED_CALLS),
    ] {
        println!("BENCH traced {name} calls={calls}");
    }
    // The CSM segments follow, each after a `csm_gap` segment holding its set-up.
    crate::scenarios::csm_bench(true, 0);
    smc::system_off()
}
