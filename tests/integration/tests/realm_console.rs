// SPDX-License-Identifier: MIT OR Apache-2.0
//! A realm must not be able to write to the shared console at will: no trap a realm can
//! raise makes the RMM log at the default level (INFO) or above, and whatever it logs below
//! that is a bounded line with none of the realm's values (PC, syndrome, registers).
//!
//! Its own test binary: it installs the process's line sink (`rmm::log_line`), which records
//! every line.

use rmm::arch::world::{RealmTrap, TrapKind};
use rmm::log_line::{Level, Line, LineBuffer, LineSink};
use rmm_integration_tests::host::status;
use rmm_integration_tests::running::*;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Every record logged: (level, text).
static LINES: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

struct Recorder;

impl LineSink for Recorder {
    fn write_line(&self, level: Level, text: &Line<'_>) {
        let mut line = LineBuffer::new();
        line.push_line(text);
        LINES
            .lock()
            .expect("not poisoned")
            .push((level, line.text().to_string()));
    }
}

static RECORDER: Recorder = Recorder;

/// A PC and a register value that must never show in a log line (in any base).
const REALM_PC: u64 = 0x0000_0000_0013_3370;
const REALM_SECRET: u64 = 0x5EC2_E7C0_FFEE_D00D;
/// Every ISS bit.
const ISS: u64 = 0x1FF_FFFF;

#[test]
fn no_realm_trap_reaches_the_console_or_shows_realm_values() {
    assert!(
        rmm::log_line::set_sink(&RECORDER),
        "the only sink of this binary"
    );
    rmm::log_line::set_max_level(Level::Trace);
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
    // The classes the RMM does not handle are logged, at debug: the recorder saw them.
    assert!(
        lines
            .iter()
            .any(|(level, text)| *level == Level::Debug && text.contains("not handled")),
        "no debug line for an unhandled exception class: {lines:?}"
    );
    for (level, text) in lines.iter() {
        assert!(
            *level > Level::Info,
            "a realm trap logged at {level:?}: {text}"
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
