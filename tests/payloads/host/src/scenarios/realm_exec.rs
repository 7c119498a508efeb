// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realms that run: the test realm (`tests/payloads/realm`) is built as a [`TestVm`], entered
//! with REC_ENTER, and every exit it takes is serviced the way a hypervisor does
//! ([`run_realm`]). Every check the realm reports becomes its own `TEST` line; measurements
//! it reads are compared with the RIM this hypervisor computes itself from what it loaded.
//! The multi-REC PSCI scenario is in `realm_smp`.

use super::pool::{check_err, check_ok};
use super::realm_service::{
    EXIT_HOST_CALL, Service, Transcript, checks_named, no_other_recs, run_realm, run_realm_with,
};
use super::realm_vm::{POPULATE_IPA, TestVm, VmSpec};
use crate::ensure;
use crate::rmi::{self, status};
use crate::runner::{Outcome, Scenario};
use core::cell::Cell;
use realm_protocol::{CHECKS, HostCallCode, RIPAS_REGION, Scenario as RealmScenario};
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
        name: "realm_pauth_keys_per_rec",
        run: pauth,
    },
    Scenario {
        name: "realm_populated_on_protected_fault",
        run: populate,
    },
    Scenario {
        name: "realm_ripas_changes",
        run: ripas,
    },
    Scenario {
        name: "realm_psci_two_recs_on_two_cpus",
        run: super::realm_smp::psci,
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

/// Runs the realm's scenario and checks it reported exactly the checks named `prefix*`.
fn run_checks(
    scenario: RealmScenario,
    x2: u64,
    x3: u64,
    hash: HashAlgorithm,
    prefix: &str,
) -> Outcome {
    run_checks_then(scenario, x2, x3, hash, prefix, &|_, _| Ok(()))
}

/// [`run_checks`], then `after` on the finished run (before the tear-down).
fn run_checks_then(
    scenario: RealmScenario,
    x2: u64,
    x3: u64,
    hash: HashAlgorithm,
    prefix: &str,
    after: &dyn Fn(&TestVm, &Transcript) -> Outcome,
) -> Outcome {
    let vm = TestVm::build(scenario, x2, x3, hash, true)?;
    let ran = run_realm(&vm, 0, &no_other_recs);
    let Ok(t) = ran else {
        let _ = vm.tear_down();
        return ran.map(|_| ());
    };
    let expected = checks_named(prefix);
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
            vm.is_populated(POPULATE_IPA),
            "the realm never faulted on the unpopulated page"
        );
    }
    after(&vm, &t)?;
    vm.tear_down()
}

fn hello() -> Outcome {
    let vm = TestVm::build(RealmScenario::Hello, 0, 0, HashAlgorithm::Sha256, true)?;
    let ran = run_realm(&vm, 0, &no_other_recs);
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

/// Runs REC 1 of the PAuth realm from start to end the first time REC 0 exits with an
/// `Echo` (after setting its keys and before checking they survived).
struct OtherRecMeanwhile {
    ran: Cell<bool>,
    rec1: Cell<u128>,
}

impl Service for OtherRecMeanwhile {
    fn after_exit(&self, vm: &TestVm, rec: usize, reason: u64) -> Outcome {
        let echo = reason == EXIT_HOST_CALL
            && vm.exit_word(rec, 0x600) as u16 == HostCallCode::Echo as u16;
        if rec != 0 || !echo || self.ran.replace(true) {
            return Ok(());
        }
        let t = run_realm_with(vm, 1, &no_other_recs, self)?;
        ensure!(t.failed == 0, "{} checks of REC 1 failed", t.failed);
        ensure!(
            t.done == Some(0),
            "REC 1 finished with {:?} failures",
            t.done
        );
        self.rec1.set(t.reported);
        Ok(())
    }
}

/// Pointer authentication: two RECs of one realm, each with its own keys, REC 1 running
/// on this CPU while REC 0 waits in a host call with its keys set.
fn pauth() -> Outcome {
    let vm = TestVm::from_spec(&VmSpec {
        scenario: RealmScenario::Pauth,
        x1: 0,
        x2: 0xC0FF_EE00,
        x3: 0,
        hash: HashAlgorithm::Sha256,
        activate: true,
        recs: 2,
        all_runnable: true,
        ram: None,
        shared: false,
    })?;
    let service = OtherRecMeanwhile {
        ran: Cell::new(false),
        rec1: Cell::new(0),
    };
    let ran = run_realm_with(&vm, 0, &no_other_recs, &service).and_then(|t| {
        ensure!(service.ran.get(), "REC 0 never made its Echo host call");
        let reported = t.reported | service.rec1.get();
        let expected = checks_named("pauth.");
        ensure!(
            reported == expected && t.reported & service.rec1.get() == 0,
            "the RECs reported checks {reported:#x}, expected {expected:#x}"
        );
        ensure!(t.failed == 0, "{} checks of REC 0 failed", t.failed);
        ensure!(
            t.done == Some(0),
            "REC 0 finished with {:?} failures",
            t.done
        );
        Ok(())
    });
    let torn = vm.tear_down();
    ran.and(torn)
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

fn ripas() -> Outcome {
    run_checks_then(
        RealmScenario::Ripas,
        RIPAS_REGION.0,
        0,
        HashAlgorithm::Sha256,
        "ripas.",
        &|_, t| {
            // Seven changes reach the host: to RAM (accepted), to EMPTY, the rejected one,
            // the partial one and its rest, and twice on the DESTROYED page. The bad
            // requests never leave the RMM.
            ensure!(
                t.ripas_changes == 7,
                "{} RIPAS changes reached the host, expected 7",
                t.ripas_changes
            );
            Ok(())
        },
    )
}

/// REC_ENTER's failure conditions, each with the exact status, in the reference order.
fn enter_errors() -> Outcome {
    let vm = TestVm::build(RealmScenario::Hello, 0, 0, HashAlgorithm::Sha256, false)?;
    let (rd, rec, run) = (vm.realm.rd, vm.recs[0], vm.runs[0]);
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
        let x0 = vm.enter(0, flags, &[]);
        ensure!(
            x0 == status::REC,
            "REC_ENTER with {what} and no MMIO exit gave {x0:#x}, expected ERROR_REC"
        );
    }
    let t = run_realm(&vm, 0, &no_other_recs)?;
    ensure!(t.done == Some(0), "realm finished with {:?}", t.done);
    // The last exit was a host call: MMIO completion is refused.
    let x0 = vm.enter(0, 1, &[]);
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
