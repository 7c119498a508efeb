// SPDX-License-Identifier: MIT OR Apache-2.0
//! Inconsistencies that only a bug in the RMM can cause, and the one way the monitor reacts
//! to them: the fatal stop.
//!
//! Two kinds of inconsistency exist. Those a host or realm can cause (a granule in the wrong
//! state, an entry already mapped) are errors the command returns before it changes anything.
//! Those only an RMM bug can cause (a table's reference count out of range, a mapped page
//! that is not a DATA granule, a stage-2 table not in the RTT state, a TLB invalidation in
//! the wrong regime) stop the monitor: [`broken`] panics. On hardware it first logs
//! `RMM invariant broken: <rule> (<value>)` as an error, then the panic handler (`firmware`)
//! logs `RMM FATAL: panic at rmm/src/invariant.rs:<line>: RMM invariant broken; this CPU
//! stops` and halts the CPU in the middle of the command, its locks still held, so neither the host
//! nor a realm ever sees the half-changed state and no other CPU can act on it. In host
//! tests the panic (`RMM invariant broken: <rule> (<value>)`) fails the test.
//! `docs/architecture.md` lists which checks are which.
//!
//! Every stop's rule text is its own, so the error line names the place that stopped; the
//! stops do not pass their callers' source locations (`#[track_caller]`: 24 bytes of
//! read-only data and an address for each of some 60 call sites, 1.7 KB in all).

use crate::log_line::{Line, hex};

/// An error only an RMM bug can cause, named for the fatal stop ([`holds`]).
pub trait BrokenRule: Copy {
    /// What went wrong, in a few words.
    fn what(self) -> &'static str;
}

/// Stops the monitor: `what` names the rule an RMM bug broke. Out of line, as [`broken_at`].
#[cold]
#[inline(never)]
pub fn broken(what: &'static str) -> ! {
    stop(&crate::line_of!("{}", what))
}

/// The stop itself: every path above ends here.
#[cold]
fn stop(what: &Line<'_>) -> ! {
    #[cfg(target_os = "none")]
    {
        crate::log_error!("RMM invariant broken: {}", crate::log_line::Arg::Line(what));
        panic!("RMM invariant broken")
    }
    #[cfg(not(target_os = "none"))]
    {
        let mut line = crate::log_line::LineBuffer::new();
        line.push_line(what);
        panic!("RMM invariant broken: {}", line.text())
    }
}

/// Stops the monitor over `value` (an address, a raw word): `what` names the rule an RMM bug
/// broke. Out of line, so that a check on a hot path costs a compare and a call, not the
/// building of a message (which made the handlers' frames bigger and kept the firmware's
/// size-level link from inlining them).
#[cold]
#[inline(never)]
pub fn broken_at(what: &'static str, value: u64) -> ! {
    stop(&crate::line_of!("{} ({})", what, hex(value)))
}

/// Stops the monitor if `result` is an error: for operations whose failure only an RMM bug
/// can cause (a table's reference count leaving 0..=512, say).
#[inline(always)]
pub fn holds<E: BrokenRule>(result: Result<(), E>, what: &'static str) {
    if let Err(error) = result {
        failed(what, error.what());
    }
}

/// [`holds`]'s stop, out of line as [`broken_at`] is.
#[cold]
#[inline(never)]
fn failed(what: &'static str, error: &'static str) -> ! {
    stop(&crate::line_of!("{}: {}", what, error))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::collections::HashMap;
    use std::path::Path;
    use std::string::String;
    use std::vec::Vec;

    /// The rule text of every `invariant::` stop in `text` (the first string literal after
    /// the call), with its line.
    fn rules(text: &str) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        for call in [
            "invariant::broken(",
            "invariant::broken_at(",
            "invariant::holds(",
        ] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                let Some(open) = rest.find('"') else { continue };
                let Some(close) = rest[open + 1..].find('"') else {
                    continue;
                };
                let line = text[..at].lines().count() + 1;
                found.push((String::from(&rest[open + 1..open + 1 + close]), line));
            }
        }
        found
    }

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("invariant.rs")
            {
                out.push(path);
            }
        }
    }

    /// The stops pass no source location, so each names its place by its rule text: no two
    /// stops share one.
    #[test]
    fn every_stop_has_its_own_rule_text() {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut seen: HashMap<String, String> = HashMap::new();
        let mut count = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (rule, line) in rules(&text) {
                let here = std::format!("{}:{line}", file.display());
                if let Some(first) = seen.insert(rule.clone(), here.clone()) {
                    panic!("the stop {here:?} has the rule text of {first:?}: {rule:?}");
                }
                count += 1;
            }
        }
        assert!(count > 30, "only {count} stops found");
    }
}
