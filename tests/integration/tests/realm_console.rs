// SPDX-License-Identifier: MIT OR Apache-2.0
//! A realm must not be able to write to the shared console at will: no trap a realm can
//! raise makes the RMM log at the default level (INFO) or above, and whatever it logs below
//! that is a bounded line with none of the realm's values (PC, syndrome, registers).
//!
//! Its own test binary: it installs the process's `log` backend, which records every line.

use rmm::arch::world::{RealmTrap, TrapKind};
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every record logged: (level, text).
static LINES: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

struct Recorder;

impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        LINES
            .lock()
            .expect("not poisoned")
            .push((record.level(), record.args().to_string()));
    }

    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder;

/// A PC and a register value that must never show in a log line (in any base).
const REALM_PC: u64 = 0x0000_0000_0013_3370;
const REALM_SECRET: u64 = 0x5EC2_E7C0_FFEE_D00D;
/// Every ISS bit.
const ISS: u64 = 0x1FF_FFFF;

#[test]
fn no_realm_trap_reaches_the_console_or_shows_realm_values() {
    log::set_logger(&RECORDER).expect("the only logger of this binary");
    log::set_max_level(log::LevelFilter::Trace);
    let rig = setup(true);
    // Every exception class, each with every ISS bit set and then with none, then an IRQ.
    let next = AtomicU64::new(0);
    let traps: Vec<u64> = (0..64u64)
        .flat_map(|ec| [ec << 26 | 1 << 25 | ISS, ec << 26])
        .collect();
    let count = traps.len() as u64;
    let syndromes: Vec<String> = traps
        .iter()
        .filter(|esr| *esr & ISS != 0)
        .map(|esr| format!("{esr:x}"))
        .collect();
    rig.machine().set_realm(Box::new(move |_, _, ctx| {
        let k = next.fetch_add(1, Ordering::SeqCst);
        ctx.gprs.pc = REALM_PC;
        ctx.gprs.x[1..].fill(REALM_SECRET);
        if k < count {
            RealmTrap {
                kind: TrapKind::Sync,
                esr: traps[k as usize],
                far: REALM_SECRET,
                hpfar: (UNPROTECTED + 0x1000) >> 8,
            }
        } else {
            irq()
        }
    }));
    LINES.lock().expect("not poisoned").clear();
    let mut entries = 0;
    loop {
        assert_eq!(rig.enter(0, &[])[0], status::SUCCESS);
        entries += 1;
        if rig.exit(0) == 1 || entries > 4 * count {
            break;
        }
    }
    assert_eq!(rig.exit(0), 1, "every trap handled, then the IRQ");
    let lines = LINES.lock().expect("not poisoned");
    for (level, text) in lines.iter() {
        assert!(
            *level > log::Level::Info,
            "a realm trap logged at {level}: {text}"
        );
        let lower = text.to_lowercase();
        for value in [REALM_PC, REALM_SECRET] {
            for shown in [format!("{value:x}"), format!("{value}")] {
                assert!(
                    !lower.contains(&shown),
                    "a realm value in a log line: {text}"
                );
            }
        }
        for esr in &syndromes {
            assert!(
                !lower.contains(esr),
                "a realm syndrome in a log line: {text}"
            );
        }
        assert!(text.len() <= 100, "an unbounded line: {text}");
    }
}
