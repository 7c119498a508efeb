// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_GRANULE_DELEGATE / UNDELEGATE on real hardware: the granule really changes PAS (the
//! host faults when it reads a delegated granule), comes back zeroed, every bad input gets
//! RMI_ERROR_INPUT, and all CPUs racing on the same granules agree with EL3 at the end.
//!
//! Each CPU works on its own 1 MiB of the pool ([`GRANULE_POOL`] + slot × 1 MiB); the race
//! uses [`SHARED`] granules at the end of the pool.

use crate::exceptions::probe_read;
use crate::platform::{DRAM_END, GRANULE_POOL, NOT_DRAM, RMM_IMAGE};
use crate::rmi::{self, RmiRegs};
use crate::runner::{Outcome, Scenario};
use crate::{ensure, ensure_eq, fail, regs};
use core::sync::atomic::{AtomicU64, Ordering};

/// Run by every CPU.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "granule_delegate_hides_and_undelegate_returns_zeroes",
        run: delegate_cycle,
    },
    Scenario {
        name: "granule_bad_inputs_are_rejected",
        run: bad_inputs,
    },
    Scenario {
        name: "granule_race_on_shared_granules",
        run: race,
    },
];

/// Run by the primary once every CPU has finished.
pub const AFTER_ALL: &[Scenario] = &[
    Scenario {
        name: "granule_race_left_nothing_delegated",
        run: race_settled,
    },
    Scenario {
        name: "granule_delegate_of_rmm_memory_is_refused",
        run: rmm_memory_refused,
    },
];

const SUCCESS: u64 = 0;
const ERROR_INPUT: u64 = 1;
const X4: u64 = 0x4444_0000_DE1E_6A7E;
const PAGE: u64 = 4096;
/// Granules each CPU delegates and undelegates in the cycle scenario.
const CYCLE_GRANULES: u64 = 8;
/// Data abort from the same EL, and its status code for a Granule Protection Fault.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
const DFSC_GPF: u64 = 0x28;
/// Granules every CPU races on.
const SHARED: [u64; 4] = [
    GRANULE_POOL + 0x7F_C000,
    GRANULE_POOL + 0x7F_D000,
    GRANULE_POOL + 0x7F_E000,
    GRANULE_POOL + 0x7F_F000,
];
const RACE_ROUNDS: u64 = 25;
static RACE_DELEGATED: AtomicU64 = AtomicU64::new(0);
static RACE_UNDELEGATED: AtomicU64 = AtomicU64::new(0);

fn my_pool() -> u64 {
    GRANULE_POOL + regs::cpu_slot() as u64 * 0x10_0000
}

fn expect(out: RmiRegs, status: u64, what: &str) -> Outcome {
    ensure_eq!(out.0, [status, 0, 0, 0, X4], what);
    Ok(())
}

fn fill(pa: u64, seed: u64) {
    for i in 0..PAGE / 8 {
        // SAFETY: `pa` is an NS granule of this CPU's pool (NS DRAM the hypervisor owns),
        // written with aligned 8-byte stores while the MMU is off.
        unsafe { core::ptr::write_volatile((pa + i * 8) as *mut u64, seed ^ i) };
    }
}

fn first_nonzero_word(pa: u64) -> Option<u64> {
    (0..PAGE / 8).find(|i| {
        // SAFETY: as in `fill`: an NS granule of this CPU's pool, aligned 8-byte loads.
        unsafe { core::ptr::read_volatile((pa + i * 8) as *const u64) != 0 }
    })
}

fn delegate_cycle() -> Outcome {
    let base = my_pool();
    for i in 0..CYCLE_GRANULES {
        let pa = base + i * PAGE;
        fill(pa, 0xA5A5_0000_0000_0001 + i);
        expect(rmi::granule_delegate(pa, X4), SUCCESS, "delegate")?;
        match probe_read(pa) {
            Ok(value) => fail!("read {value:#x} from delegated granule {pa:#x} without a fault"),
            Err(fault) => {
                ensure_eq!(fault.class(), EC_DATA_ABORT_SAME_EL, "ESR_EL2.EC");
                ensure_eq!(fault.status_code(), DFSC_GPF, "ESR_EL2.DFSC");
            }
        }
        expect(rmi::granule_undelegate(pa, X4), SUCCESS, "undelegate")?;
        if let Some(word) = first_nonzero_word(pa) {
            fail!("granule {pa:#x} came back with data at word {word}");
        }
    }
    Ok(())
}

fn bad_inputs() -> Outcome {
    let pa = my_pool() + 0x8_0000;
    for bad in [pa + 8, pa + 0x800, NOT_DRAM, DRAM_END, !0xFFF] {
        expect(
            rmi::granule_delegate(bad, X4),
            ERROR_INPUT,
            "delegate of a bad address",
        )?;
        expect(
            rmi::granule_undelegate(bad, X4),
            ERROR_INPUT,
            "undelegate of a bad address",
        )?;
    }
    expect(
        rmi::granule_undelegate(pa, X4),
        ERROR_INPUT,
        "undelegate of an NS granule",
    )?;
    expect(rmi::granule_delegate(pa, X4), SUCCESS, "delegate")?;
    expect(
        rmi::granule_delegate(pa, X4),
        ERROR_INPUT,
        "second delegate",
    )?;
    expect(rmi::granule_undelegate(pa, X4), SUCCESS, "undelegate")?;
    expect(
        rmi::granule_undelegate(pa, X4),
        ERROR_INPUT,
        "second undelegate",
    )
}

/// The RMM's carve-out is tracked DRAM on QEMU, so the RMM asks EL3, which refuses (and logs
/// an `ERROR: RMMD: PAS Transition failed` line on the shared UART: that is why this runs
/// alone, after every other CPU has finished printing).
fn rmm_memory_refused() -> Outcome {
    expect(
        rmi::granule_delegate(RMM_IMAGE, X4),
        ERROR_INPUT,
        "delegate of the RMM image",
    )?;
    expect(
        rmi::granule_undelegate(RMM_IMAGE, X4),
        ERROR_INPUT,
        "undelegate of the RMM image",
    )?;
    ensure!(
        probe_read(RMM_IMAGE).is_err(),
        "the RMM image became readable"
    );
    Ok(())
}

fn race() -> Outcome {
    for round in 0..RACE_ROUNDS {
        for (i, &pa) in SHARED.iter().enumerate() {
            match rmi::granule_delegate(pa, X4).0 {
                [SUCCESS, 0, 0, 0, X4] => {
                    RACE_DELEGATED.fetch_add(1, Ordering::SeqCst);
                }
                [ERROR_INPUT, 0, 0, 0, X4] => {}
                other => fail!("delegate {pa:#x} gave {other:#x?}"),
            }
            if (round + i as u64 + regs::cpu_slot() as u64).is_multiple_of(2) {
                match rmi::granule_undelegate(pa, X4).0 {
                    [SUCCESS, 0, 0, 0, X4] => {
                        RACE_UNDELEGATED.fetch_add(1, Ordering::SeqCst);
                    }
                    [ERROR_INPUT, 0, 0, 0, X4] => {}
                    other => fail!("undelegate {pa:#x} gave {other:#x?}"),
                }
            }
        }
    }
    Ok(())
}

fn race_settled() -> Outcome {
    for &pa in &SHARED {
        if rmi::granule_undelegate(pa, X4).0[0] == SUCCESS {
            RACE_UNDELEGATED.fetch_add(1, Ordering::SeqCst);
        }
        ensure!(
            probe_read(pa).is_ok(),
            "shared granule {pa:#x} is still not NS"
        );
        if let Some(word) = first_nonzero_word(pa) {
            fail!("shared granule {pa:#x} came back with data at word {word}");
        }
    }
    let delegated = RACE_DELEGATED.load(Ordering::SeqCst);
    let undelegated = RACE_UNDELEGATED.load(Ordering::SeqCst);
    ensure!(delegated > 0, "no delegate in the race succeeded");
    ensure_eq!(undelegated, delegated, "undelegations vs delegations");
    Ok(())
}
