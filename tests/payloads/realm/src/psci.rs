// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `Psci` scenario: realm PSCI with two RECs. REC 0 checks what the RMM answers alone,
//! asks for REC 1 with CPU_ON (the hypervisor completes it and runs REC 1 on another physical
//! CPU), and the two RECs prove they run at the same time with a handshake in shared realm
//! memory that only completes if both make progress together. REC 1 then turns itself off
//! and REC 0 watches it go with AFFINITY_INFO.

use crate::entry::secondary_entry_ipa;
use crate::scenarios::{Checks, ipa_width};
use crate::{host_call, rsi};
use core::sync::atomic::{AtomicU64, Ordering};
use realm_protocol::check;
use rmm_abi::psci::*;

const SUCCESS: u64 = 0;
const NOT_SUPPORTED: u64 = -1i64 as u64;
const INVALID_PARAMS: u64 = -2i64 as u64;
const ALREADY_ON: u64 = -4i64 as u64;
const INVALID_ADDRESS: u64 = -9i64 as u64;
/// PSCI SYSTEM_SUSPEND (SMC64), which the RMM does not offer.
const SYSTEM_SUSPEND: u32 = 0xC400_000E;
/// The context id REC 1 is started with (its own index, which picks its stack).
const SECONDARY: u64 = 1;
/// Seconds either REC waits for the other.
const WAIT_S: u64 = 10;

/// REC 1 → REC 0: "I am running".
static SECONDARY_RUNNING: AtomicU64 = AtomicU64::new(0);
/// REC 0 → REC 1: "I saw you, while I was running too".
static PRIMARY_SAW_IT: AtomicU64 = AtomicU64::new(0);

fn psci(id: u32, args: &[u64]) -> u64 {
    rsi::call(id, args)[0]
}

/// The generic counter (the RMM lets EL1 read it).
fn counter() -> (u64, u64) {
    let (count, freq): (u64, u64);
    // SAFETY: reading the counter and its frequency has no side effects.
    unsafe {
        core::arch::asm!(
            "isb", "mrs {c}, cntvct_el0", "mrs {f}, cntfrq_el0",
            c = out(reg) count, f = out(reg) freq,
            options(nomem, nostack),
        )
    };
    (count, freq)
}

/// Spins until `flag` is non-zero or [`WAIT_S`] pass; true if it was set.
fn wait_for(flag: &AtomicU64) -> bool {
    let (start, freq) = counter();
    loop {
        if flag.load(Ordering::SeqCst) != 0 {
            return true;
        }
        let (now, _) = counter();
        if now.wrapping_sub(start) > WAIT_S * freq {
            return false;
        }
        core::hint::spin_loop();
    }
}

/// REC 0's side.
pub fn primary() -> u64 {
    let mut c = Checks::new();
    let entry = secondary_entry_ipa();
    let version = psci(PSCI_VERSION, &[]);
    c.report(
        const { check("psci.version") },
        version == 0x1_0001,
        &[version],
    );
    let features = [
        psci(PSCI_FEATURES, &[u64::from(PSCI_CPU_ON)]),
        psci(PSCI_FEATURES, &[u64::from(PSCI_CPU_OFF)]),
        psci(PSCI_FEATURES, &[u64::from(PSCI_SYSTEM_OFF)]),
        psci(PSCI_FEATURES, &[u64::from(PSCI_VERSION)]),
        psci(PSCI_FEATURES, &[u64::from(SYSTEM_SUSPEND)]),
    ];
    c.report(
        const { check("psci.features") },
        features == [SUCCESS, SUCCESS, SUCCESS, NOT_SUPPORTED, NOT_SUPPORTED],
        &features,
    );
    let me = psci(PSCI_AFFINITY_INFO, &[0, 0]);
    c.report(
        const { check("psci.affinity_info_self") },
        me == PSCI_AFFINITY_ON,
        &[me],
    );
    let outside = 1 << (ipa_width() - 1);
    let bad = [
        psci(PSCI_AFFINITY_INFO, &[SECONDARY, 1]),
        psci(PSCI_AFFINITY_INFO, &[9, 0]),
        psci(PSCI_CPU_ON, &[9, entry, 0]),
        psci(PSCI_CPU_ON, &[SECONDARY, outside, SECONDARY]),
        psci(PSCI_CPU_ON, &[0, entry, 0]),
        psci(SYSTEM_SUSPEND, &[entry, 0]),
    ];
    c.report(
        const { check("psci.bad_arguments") },
        bad == [
            INVALID_PARAMS,
            INVALID_PARAMS,
            INVALID_PARAMS,
            INVALID_ADDRESS,
            ALREADY_ON,
            NOT_SUPPORTED,
        ],
        &bad,
    );
    let before = psci(PSCI_AFFINITY_INFO, &[SECONDARY, 0]);
    c.report(
        const { check("psci.affinity_info_off") },
        before == PSCI_AFFINITY_OFF,
        &[before],
    );
    let on = psci(PSCI_CPU_ON, &[SECONDARY, entry, SECONDARY]);
    c.report(const { check("psci.cpu_on") }, on == SUCCESS, &[on]);
    let again = psci(PSCI_CPU_ON, &[SECONDARY, entry, SECONDARY]);
    c.report(
        const { check("psci.cpu_on_already_on") },
        again == ALREADY_ON,
        &[again],
    );
    // REC 1 waits for this REC to see it while it is itself still running.
    let seen = wait_for(&SECONDARY_RUNNING);
    let running = psci(PSCI_AFFINITY_INFO, &[SECONDARY, 0]);
    PRIMARY_SAW_IT.store(1, Ordering::SeqCst);
    c.report(const { check("psci.concurrent_primary") }, seen, &[]);
    c.report(
        const { check("psci.affinity_info_on") },
        running == PSCI_AFFINITY_ON,
        &[running],
    );
    // REC 1 now turns itself off; each AFFINITY_INFO is a round trip to the host.
    let (start, freq) = counter();
    let mut state = running;
    let mut asked = 0u64;
    while state != PSCI_AFFINITY_OFF && counter().0.wrapping_sub(start) < WAIT_S * freq {
        state = psci(PSCI_AFFINITY_INFO, &[SECONDARY, 0]);
        asked += 1;
    }
    c.report(
        const { check("psci.cpu_off_seen") },
        state == PSCI_AFFINITY_OFF,
        &[state, asked],
    );
    c.failures()
}

/// After `Done`: the realm powers itself off. The RMM never returns here.
pub fn system_off() -> ! {
    psci(PSCI_SYSTEM_OFF, &[]);
    host_call::print("SYSTEM_OFF returned");
    host_call::done(u64::MAX)
}

/// REC 1's side, from CPU_ON with `context` in x0.
pub fn secondary(context: u64) -> ! {
    let mut c = Checks::new();
    let index = host_call::rec_index() as u64;
    c.report(
        const { check("psci.secondary_entry") },
        context == SECONDARY && index == SECONDARY,
        &[context, index],
    );
    SECONDARY_RUNNING.store(1, Ordering::SeqCst);
    let seen = wait_for(&PRIMARY_SAW_IT);
    c.report(const { check("psci.concurrent_secondary") }, seen, &[]);
    psci(PSCI_CPU_OFF, &[]);
    host_call::print("CPU_OFF returned");
    host_call::done(u64::MAX)
}
