// SPDX-License-Identifier: MIT OR Apache-2.0
//! A realm with two RECs on two physical CPUs: REC 0 runs on the primary; when it turns
//! REC 1 on with PSCI CPU_ON, the hypervisor completes the request and hands REC 1 to the
//! first secondary CPU (a job it serves once its own scenarios are done), so both RECs run
//! at the same time. The realm proves that with a handshake, then REC 1 turns itself off,
//! REC 0 watches it go, says `Done`, and powers the realm off: from then on no REC of it may
//! enter (RMI_ERROR_REALM, index 1).
//!
//! The VM is a `static`: the secondary's job refers to it, and it must outlive this scenario
//! even if the secondary never finishes.

use super::realm_service::{Transcript, checks_named, no_other_recs, run_realm};
use super::realm_vm::TestVm;
use crate::rmi::status;
use crate::runner::{Failure, Outcome};
use crate::{cpus, ensure, fail, println};
use realm_protocol::Scenario as RealmScenario;
use rmm_abi::rmi::states::HashAlgorithm;

/// The CPU slot that runs REC 1.
const SECONDARY_SLOT: usize = 1;
/// Seconds to wait for that CPU to be free, and for REC 1 to finish.
const WAIT_S: u64 = 30;

static VM: spin::Once<TestVm> = spin::Once::new();
/// REC 1's run, from the secondary (`None` until it finishes; `Err` if it failed).
static SECONDARY_RUN: spin::Mutex<Option<Result<Transcript, Failure>>> = spin::Mutex::new(None);

/// The secondary's job: run REC `rec` of [`VM`] until it turns itself off.
fn run_secondary_rec(rec: u64) {
    let result = match VM.get() {
        Some(vm) => run_realm(vm, rec as usize, &no_other_recs),
        None => Err(Failure::new(format_args!("no VM to run REC {rec} of"))),
    };
    if result.is_err() {
        // A failure's reason is kept per CPU: print it here, where it was made.
        println!("REC {rec} on this CPU failed (reason above)");
    }
    *SECONDARY_RUN.lock() = Some(result);
}

/// Starts REC `rec` on the secondary CPU.
fn start_on_secondary(rec: usize) -> Outcome {
    ensure!(
        rec == 1,
        "the realm turned on REC {rec}; only REC 1 is expected"
    );
    ensure!(
        cpus::post_job(SECONDARY_SLOT, run_secondary_rec, rec as u64),
        "CPU slot {SECONDARY_SLOT} cannot take REC {rec}"
    );
    Ok(())
}

/// The scenario.
pub fn psci() -> Outcome {
    ensure!(
        cpus::wait_idle(SECONDARY_SLOT, WAIT_S),
        "needs a second CPU that has finished its scenarios (slot {SECONDARY_SLOT})"
    );
    ensure!(
        VM.get().is_none(),
        "the two-REC scenario runs once per boot"
    );
    let built = TestVm::build_with(RealmScenario::Psci, 0, 0, HashAlgorithm::Sha256, true, 2)?;
    let vm = VM.call_once(|| built);
    let primary = run_realm(vm, 0, &start_on_secondary)?;
    ensure!(
        cpus::wait_job(SECONDARY_SLOT, WAIT_S),
        "REC 1 did not finish within {WAIT_S} s"
    );
    let secondary = match SECONDARY_RUN.lock().take() {
        Some(Ok(t)) => t,
        Some(Err(_)) => fail!("REC 1's run failed (its reason is printed above)"),
        None => fail!("REC 1 never ran"),
    };
    ensure!(secondary.cpu_off, "REC 1 did not end with CPU_OFF");
    ensure!(
        vm.enter(1, 0, &[]) == status::REC,
        "REC_ENTER of REC 1 after its CPU_OFF did not give ERROR_REC"
    );
    let expected = checks_named("psci.");
    let reported = primary.reported | secondary.reported;
    ensure!(
        reported == expected && primary.reported & secondary.reported == 0,
        "checks reported: REC 0 {:#x}, REC 1 {:#x}; expected {expected:#x} between them",
        primary.reported,
        secondary.reported
    );
    ensure!(
        primary.failed + secondary.failed == 0,
        "{} realm checks failed",
        primary.failed + secondary.failed
    );
    ensure!(
        primary.done == Some(0),
        "REC 0 finished with {:?} failures",
        primary.done
    );
    // After `Done`, REC 0 powers the realm off.
    let after = run_realm(vm, 0, &no_other_recs)?;
    ensure!(after.system_off, "REC 0 did not end with SYSTEM_OFF");
    for rec in 0..2 {
        let x0 = vm.enter(rec, 0, &[]);
        ensure!(
            x0 == status::realm(1),
            "REC_ENTER({rec}) after SYSTEM_OFF gave {x0:#x}, expected ERROR_REALM(1)"
        );
    }
    vm.tear_down()
}
