//! Realms that run: the test realm (`tests/payloads/realm`) is loaded into protected memory
//! with measured DATA_CREATE, entered with REC_ENTER, and every exit it takes is serviced the
//! way a hypervisor does: host calls answered, MMIO emulated (a console and two test
//! registers), protected memory populated on a fault. Every check the realm reports becomes
//! its own `TEST` line; measurements it reads are compared with the RIM this hypervisor
//! computes itself from what it loaded.
//!
//! Memory: window 5 of the realm pool (4 MiB delegated, 4 MiB NS pages).

use super::pool::{Pool, check, check_err, check_ok};
use super::realms::{Realm, VMID_EXEC, shape, window};
use crate::realm::{MEASURE_CONTENT, PAGE, write_page, write_realm_params, write_rec_params};
use crate::rmi::{self, X4, status};
use crate::runner::{self, Failure, Outcome, Scenario};
use crate::{ensure, fail, println, realm_image, regs};
use attest::measurement::{
    MeasuredRealmParams, extend_data, extend_rec, extend_rem, extend_ripas, rim_init,
};
use attest::sha::SOFT as SOFT_ENGINE;
use core::fmt::Write;
use realm_protocol::{
    CHECKS, CONSOLE_OFFSET, EXTEND_SIZE, EXTEND_VALUE, HostCallCode, MAGIC_OFFSET, MMIO_MAGIC,
    REALM_IMAGE_BASE, SEA_OFFSET, Scenario as RealmScenario, check as check_index, rpv_byte,
};
use rmm_abi::measurement::Measurement;
use rmm_abi::rmi::rec_params::{RecMpidr, RecParams};
use rmm_abi::rmi::states::HashAlgorithm;

/// Run by the primary only.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "realm_hello_host_call_and_mmio_console",
        run: hello,
    },
    Scenario {
        name: "realm_rsi_checks_sha256",
        run: rsi_sha256,
    },
    Scenario {
        name: "realm_rsi_checks_sha512",
        run: rsi_sha512,
    },
    Scenario {
        name: "realm_mmio_emulation",
        run: mmio,
    },
    Scenario {
        name: "realm_register_state",
        run: registers,
    },
    Scenario {
        name: "realm_populated_on_protected_fault",
        run: populate,
    },
    Scenario {
        name: "rec_enter_refuses_bad_input",
        run: enter_errors,
    },
];

/// `TEST` lines the realm's own checks add: the RSI checks run twice (SHA-256 and SHA-512),
/// every other check once.
pub const REALM_CHECK_LINES: usize = CHECKS.len() + RSI_CHECKS;

/// Number of checks named `rsi.*`.
const RSI_CHECKS: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < CHECKS.len() {
        let b = CHECKS[i].as_bytes();
        if b.len() > 4 && b[0] == b'r' && b[1] == b's' && b[2] == b'i' && b[3] == b'.' {
            n += 1;
        }
        i += 1;
    }
    n
};

/// An IPA with RIPAS RAM and no DATA, for the populate scenario (same level-3 table as the
/// image).
const POPULATE_IPA: u64 = 0x10_0000;

/// Pages the REC's auxiliary granules take.
const AUX: u64 = 16;

/// Most REC_ENTER calls one scenario may make before it is declared hung.
const MAX_ENTRIES: u32 = 10_000;

/// A loaded test realm.
struct TestVm {
    pool: Pool,
    realm: Realm,
    tables: [u64; 4],
    rec: u64,
    run: u64,
    /// DATA granules by page index from the image base.
    pages: u64,
    /// The RIM computed here from what was loaded.
    rim: Measurement,
    hash: HashAlgorithm,
    populated: bool,
    /// Put in front of the realm's check names (the RSI checks run once per hash).
    label: &'static str,
}

fn rd64(pa: u64) -> u64 {
    // SAFETY: `pa` is in the run page, an NS granule this hypervisor owns; aligned load.
    unsafe { core::ptr::read_volatile(pa as *const u64) }
}

fn wr64(pa: u64, value: u64) {
    // SAFETY: as in `rd64`; aligned store.
    unsafe { core::ptr::write_volatile(pa as *mut u64, value) }
}

/// The REC's initial x0..x7.
fn rec_gprs(scenario: RealmScenario, x2: u64, x3: u64) -> [u64; 8] {
    [scenario as u64, 0, x2, x3, 0, 0, 0, 0]
}

impl TestVm {
    /// Creates, loads and (if `activate`) activates a realm running `scenario`.
    fn build(
        scenario: RealmScenario,
        x2: u64,
        x3: u64,
        hash: HashAlgorithm,
        activate: bool,
    ) -> Result<Self, Failure> {
        let Some(pages) = realm_image::pages() else {
            fail!(
                "no test realm image embedded ({} bytes): build with `cargo xtask build`",
                realm_image::IMAGE.len()
            );
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
        let tables = realm.new_tables_to(&mut pool, 0, 3)?;

        let image_top = REALM_IMAGE_BASE + pages * PAGE;
        for (base, top) in [
            (REALM_IMAGE_BASE, image_top),
            (POPULATE_IPA, POPULATE_IPA + PAGE),
        ] {
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

        let rec = pool.delegate()?;
        let aux_base = pool.delegate_run(AUX)?;
        let rec_page = pool.ns_page()?;
        let aux: [u64; AUX as usize] = core::array::from_fn(|i| aux_base + i as u64 * PAGE);
        let mut rec_params = RecParams::zeroed();
        rec_params.flags = 1;
        rec_params.mpidr = RecMpidr::from_index(0).map_or(0, RecMpidr::bits);
        rec_params.pc = REALM_IMAGE_BASE;
        rec_params.gprs = rec_gprs(scenario, x2, x3);
        rec_params.num_aux = AUX;
        rec_params.aux[..AUX as usize].copy_from_slice(&aux);
        write_rec_params(rec_page, &rec_params);
        check_ok(
            rmi::rec_create(rd, rec, rec_page),
            format_args!("REC_CREATE"),
        )?;
        rim = extend_rec(
            &SOFT_ENGINE,
            hash,
            &rim,
            1,
            REALM_IMAGE_BASE,
            &rec_params.gprs,
        );
        if activate {
            check_ok(rmi::realm_activate(rd), format_args!("REALM_ACTIVATE"))?;
        }
        let run = pool.ns_page()?;
        write_page(run, &[0u8; 4096]);
        Ok(Self {
            pool,
            realm,
            tables,
            rec,
            run,
            pages,
            rim,
            hash,
            populated: false,
            label: match hash {
                HashAlgorithm::Sha256 => "",
                HashAlgorithm::Sha512 => "sha512.",
            },
        })
    }

    /// Destroys everything and undelegates every granule.
    fn tear_down(mut self) -> Outcome {
        let rd = self.realm.rd;
        for n in 0..self.pages {
            let ipa = REALM_IMAGE_BASE + n * PAGE;
            let out = rmi::data_destroy(rd, ipa);
            ensure!(
                out.0[0] == status::SUCCESS,
                "DATA_DESTROY({ipa:#x}) gave {:#x}",
                out.0[0]
            );
        }
        if self.populated {
            let out = rmi::data_destroy(rd, POPULATE_IPA);
            ensure!(
                out.0[0] == status::SUCCESS,
                "DATA_DESTROY(populated page) gave {:#x}",
                out.0[0]
            );
        }
        check_ok(rmi::rec_destroy(self.rec), format_args!("REC_DESTROY"))?;
        self.realm.destroy_tables(0, &self.tables)?;
        self.realm.destroy()?;
        self.pool.undelegate_all()
    }

    /// Enters the REC with `flags` and host-call/MMIO results `gprs`; returns RMI x0.
    fn enter(&self, flags: u64, gprs: &[u64]) -> u64 {
        wr64(self.run, flags);
        for i in 0..31 {
            wr64(
                self.run + 0x200 + i * 8,
                gprs.get(i as usize).copied().unwrap_or(0),
            );
        }
        rmi::rec_enter(self.rec, self.run).0[0]
    }

    fn exit_word(&self, offset: u64) -> u64 {
        rd64(self.run + 0x800 + offset)
    }
}

/// What the servicing loop learned.
struct Transcript {
    /// Checks reported, by index (bit set = reported).
    reported: u64,
    /// Checks the realm or this hypervisor failed.
    failed: u64,
    /// The realm's own failure count from `Done`.
    done: Option<u64>,
    /// MMIO exits serviced.
    mmio: u32,
    /// Host calls serviced.
    host_calls: u32,
    /// The emulated console's current line.
    console: [u8; 120],
    console_len: usize,
}

impl Transcript {
    /// The emulated console received `byte`: a whole line is printed at its newline.
    fn console_byte(&mut self, byte: u8) {
        if byte != b'\n' && self.console_len < self.console.len() {
            self.console[self.console_len] = byte;
            self.console_len += 1;
        }
        if byte == b'\n' || self.console_len == self.console.len() {
            let text =
                core::str::from_utf8(&self.console[..self.console_len]).unwrap_or("<not UTF-8>");
            println!("realm console: {text}");
            self.console_len = 0;
        }
    }
}

const EC_DATA_ABORT_LOWER: u64 = 0x24;

/// Runs the realm until it says `Done`, servicing every exit.
fn run_realm(vm: &mut TestVm) -> Result<Transcript, Failure> {
    let cpu = regs::cpu_slot();
    let par_end = vm.realm.shape.par_end();
    let mut magic = MMIO_MAGIC;
    let mut flags = 0u64;
    let mut answer = [0u64; 31];
    let mut t = Transcript {
        reported: 0,
        failed: 0,
        done: None,
        mmio: 0,
        host_calls: 0,
        console: [0; 120],
        console_len: 0,
    };
    for _ in 0..MAX_ENTRIES {
        let x0 = vm.enter(flags, &answer);
        ensure!(x0 == status::SUCCESS, "REC_ENTER gave {x0:#x}");
        flags = 0;
        answer = [0; 31];
        let reason = vm.exit_word(0);
        let esr = vm.exit_word(0x100);
        let far = vm.exit_word(0x108);
        let hpfar = vm.exit_word(0x110);
        let gpr = |i: u64| vm.exit_word(0x200 + i * 8);
        match reason {
            // Host call.
            5 => {
                t.host_calls += 1;
                let imm = vm.exit_word(0x600);
                match HostCallCode::from_u16(imm as u16) {
                    Some(HostCallCode::Report) => {
                        report_check(vm, &mut t, cpu, gpr(0), gpr(1), &|i| gpr(2 + i))?
                    }
                    Some(HostCallCode::Print) => {
                        let len = gpr(0).min(240) as usize;
                        let mut bytes = [0u8; 248];
                        for i in 0..31u64.min(len.div_ceil(8) as u64) {
                            bytes[i as usize * 8..i as usize * 8 + 8]
                                .copy_from_slice(&gpr(1 + i).to_le_bytes());
                        }
                        let text = core::str::from_utf8(&bytes[..len]).unwrap_or("<not UTF-8>");
                        println!("realm: {text}");
                    }
                    Some(HostCallCode::Echo) => {
                        answer = core::array::from_fn(|i| gpr(i as u64) + i as u64 + 1);
                    }
                    Some(HostCallCode::Done) => {
                        t.done = Some(gpr(0));
                        return Ok(t);
                    }
                    Some(HostCallCode::Exception) => fail!(
                        "realm took an unexpected exception: ESR_EL1={:#x} ELR_EL1={:#x} \
                         FAR_EL1={:#x} vector {}",
                        gpr(0),
                        gpr(1),
                        gpr(2),
                        gpr(3)
                    ),
                    None => fail!("realm made host call {imm:#x}"),
                }
            }
            // Synchronous exception.
            0 => {
                ensure!(
                    (esr >> 26) & 0x3F == EC_DATA_ABORT_LOWER,
                    "unexpected SYNC exit: ESR {esr:#x} FAR {far:#x} HPFAR {hpfar:#x}"
                );
                let ipa = ((hpfar >> 4) << 12) | (far & 0xFFF);
                if ipa >= par_end {
                    t.mmio += 1;
                    let offset = ipa - par_end;
                    if offset == CONSOLE_OFFSET {
                        t.console_byte(gpr(0) as u8);
                    }
                    flags = emulate_mmio(offset, esr, gpr(0), &mut magic, &mut answer)?;
                } else {
                    ensure!(
                        ipa & !0xFFF == POPULATE_IPA && !vm.populated,
                        "protected fault at {ipa:#x} (ESR {esr:#x})"
                    );
                    let data = vm.pool.delegate()?;
                    check_ok(
                        rmi::data_create_unknown(vm.realm.rd, data, POPULATE_IPA),
                        format_args!("DATA_CREATE_UNKNOWN on the fault"),
                    )?;
                    vm.populated = true;
                }
            }
            // IRQ/FIQ: nothing of ours is pending; go back in.
            1 | 2 => {}
            other => fail!("unexpected exit reason {other} (ESR {esr:#x})"),
        }
    }
    fail!("realm did not finish within {MAX_ENTRIES} entries")
}

/// Emulates an MMIO access at `offset` in the unprotected half; returns the entry flags.
fn emulate_mmio(
    offset: u64,
    esr: u64,
    written: u64,
    magic: &mut u64,
    answer: &mut [u64; 31],
) -> Result<u64, Failure> {
    const ISV: u64 = 1 << 24;
    const WNR: u64 = 1 << 6;
    const EMUL_MMIO: u64 = 1;
    const INJECT_SEA: u64 = 2;
    ensure!(esr & ISV != 0, "MMIO exit without ISV: ESR {esr:#x}");
    let is_write = esr & WNR != 0;
    let size = 1u64 << ((esr >> 22) & 3);
    let mask = if size == 8 {
        u64::MAX
    } else {
        (1 << (size * 8)) - 1
    };
    match offset {
        CONSOLE_OFFSET if is_write => Ok(EMUL_MMIO),
        MAGIC_OFFSET if is_write => {
            *magic = written & mask;
            Ok(EMUL_MMIO)
        }
        MAGIC_OFFSET => {
            answer[0] = *magic & mask;
            Ok(EMUL_MMIO)
        }
        SEA_OFFSET => Ok(INJECT_SEA),
        _ => fail!("MMIO at unknown offset {offset:#x} (ESR {esr:#x})"),
    }
}

/// Prints the realm's report of check `index` as a TEST line, after checking values the
/// hypervisor can verify itself.
fn report_check(
    vm: &TestVm,
    t: &mut Transcript,
    cpu: usize,
    index: u64,
    realm_failed: u64,
    detail: &dyn Fn(u64) -> u64,
) -> Outcome {
    let Some(name) = CHECKS.get(index as usize) else {
        fail!("realm reported unknown check {index}");
    };
    ensure!(
        t.reported & (1 << index) == 0,
        "realm reported {name} twice"
    );
    t.reported |= 1 << index;
    let details: [u64; 8] = core::array::from_fn(|i| detail(i as u64));
    let mut outcome: Outcome = if realm_failed != 0 {
        Err(Failure::new(format_args!(
            "realm check failed; details {:#x?}",
            details
        )))
    } else {
        Ok(())
    };
    if outcome.is_ok() {
        let expected = if index == const { check_index("rsi.measurement_read_rim") } {
            Some(vm.rim)
        } else if index == const { check_index("rsi.measurement_extend") } {
            extend_rem(
                &SOFT_ENGINE,
                vm.hash,
                &[0; 64],
                &EXTEND_VALUE[..EXTEND_SIZE as usize],
            )
        } else {
            None
        };
        if let Some(want) = expected {
            let want: [u64; 8] = core::array::from_fn(|i| {
                let mut w = [0u8; 8];
                w.copy_from_slice(&want[i * 8..i * 8 + 8]);
                u64::from_le_bytes(w)
            });
            if want != details {
                outcome = Err(Failure::new(format_args!(
                    "realm read {details:#x?}, the hypervisor computed {want:#x?}"
                )));
            }
        }
    }
    if outcome.is_err() {
        t.failed += 1;
    }
    let mut line = crate::console::Line::new();
    let _ = write!(line, "{}{name}", vm.label);
    runner::report(cpu, line.as_str(), &outcome);
    Ok(())
}

/// Runs the realm's scenario and checks it reported exactly the checks named `prefix*`.
fn run_checks(
    scenario: RealmScenario,
    x2: u64,
    x3: u64,
    hash: HashAlgorithm,
    prefix: &str,
) -> Outcome {
    let mut vm = TestVm::build(scenario, x2, x3, hash, true)?;
    let ran = run_realm(&mut vm);
    let Ok(t) = ran else {
        let _ = vm.tear_down();
        return ran.map(|_| ());
    };
    let expected = CHECKS
        .iter()
        .enumerate()
        .filter(|(_, n)| n.starts_with(prefix))
        .fold(0u64, |m, (i, _)| m | 1 << i);
    ensure!(
        t.reported == expected,
        "realm reported checks {:#x}, expected {expected:#x}",
        t.reported
    );
    ensure!(t.failed == 0, "{} realm checks failed", t.failed);
    ensure!(
        t.done == Some(0),
        "realm finished with {:?} failures",
        t.done
    );
    if scenario == RealmScenario::Populate {
        ensure!(
            vm.populated,
            "the realm never faulted on the unpopulated page"
        );
    }
    vm.tear_down()
}

fn hello() -> Outcome {
    let mut vm = TestVm::build(RealmScenario::Hello, 0, 0, HashAlgorithm::Sha256, true)?;
    let ran = run_realm(&mut vm);
    let Ok(t) = ran else {
        let _ = vm.tear_down();
        return ran.map(|_| ());
    };
    ensure!(t.done == Some(0), "realm finished with {:?}", t.done);
    ensure!(t.host_calls >= 2, "only {} host calls", t.host_calls);
    let line = "hello from the realm through the MMIO console\n";
    ensure!(
        t.mmio as usize == line.len(),
        "{} MMIO exits for a {}-byte line",
        t.mmio,
        line.len()
    );
    vm.tear_down()
}

fn rsi_sha256() -> Outcome {
    run_checks(RealmScenario::Rsi, 40, 0, HashAlgorithm::Sha256, "rsi.")
}

fn rsi_sha512() -> Outcome {
    run_checks(RealmScenario::Rsi, 40, 1, HashAlgorithm::Sha512, "rsi.")
}

fn mmio() -> Outcome {
    run_checks(RealmScenario::Mmio, 0, 0, HashAlgorithm::Sha256, "mmio.")
}

fn registers() -> Outcome {
    run_checks(
        RealmScenario::Registers,
        0,
        0,
        HashAlgorithm::Sha256,
        "regs.",
    )
}

fn populate() -> Outcome {
    run_checks(
        RealmScenario::Populate,
        POPULATE_IPA,
        0,
        HashAlgorithm::Sha256,
        "populate.",
    )
}

/// REC_ENTER's failure conditions, each with the exact status, in the reference order.
fn enter_errors() -> Outcome {
    let mut vm = TestVm::build(RealmScenario::Hello, 0, 0, HashAlgorithm::Sha256, false)?;
    let (rd, rec, run) = (vm.realm.rd, vm.rec, vm.run);
    check_err(
        rmi::rec_enter(rec, run),
        status::realm(0),
        format_args!("REC_ENTER before REALM_ACTIVATE"),
    )?;
    check_ok(rmi::realm_activate(rd), format_args!("REALM_ACTIVATE"))?;
    for (r, p, want, what) in [
        (rec, rd, status::INPUT, "with the RD as the run page"),
        (rec, run + 8, status::INPUT, "with a misaligned run page"),
        (
            rec,
            crate::platform::NOT_DRAM,
            status::INPUT,
            "with a run page outside DRAM",
        ),
        (rd, run, status::INPUT, "with the RD as the REC"),
        (run, run, status::INPUT, "with an NS page as the REC"),
        (rd, rd, status::INPUT, "with the RD as both"),
    ] {
        check_err(rmi::rec_enter(r, p), want, format_args!("REC_ENTER {what}"))?;
    }
    for (flags, what) in [
        (1, "EMUL_MMIO"),
        (2, "INJECT_SEA"),
        (3, "EMUL_MMIO and INJECT_SEA"),
    ] {
        let x0 = vm.enter(flags, &[]);
        ensure!(
            x0 == status::REC,
            "REC_ENTER with {what} and no MMIO exit gave {x0:#x}, expected ERROR_REC"
        );
    }
    let t = run_realm(&mut vm)?;
    ensure!(t.done == Some(0), "realm finished with {:?}", t.done);
    // The last exit was a host call: MMIO completion is refused.
    let x0 = vm.enter(1, &[]);
    ensure!(
        x0 == status::REC,
        "REC_ENTER with EMUL_MMIO after a host call gave {x0:#x}"
    );
    check_err(
        rmi::rec_destroy(rd),
        status::INPUT,
        format_args!("REC_DESTROY of the RD"),
    )?;
    vm.tear_down()
}
