// SPDX-License-Identifier: MIT OR Apache-2.0
//! The locking module: the one place that takes a granule lock. Every other module locks a
//! granule through these functions (a unit test below checks that no other file calls
//! [`GranuleTable`]'s lock functions), by the rules of `docs/locking.md`.
//!
//! Two kinds of lock, by who named the granule:
//!
//! - **Named** ([`lock`], [`lock_inline`]): a granule an RMI argument names (external: NS,
//!   DELEGATED, RD, REC, APT), or one an APT names; not tracked or in another state is the
//!   caller's error to return (`rmi/locks.rs` turns it into `RMI_ERROR_INPUT` and keeps the
//!   ascending-PA order of several).
//! - **Owned** ([`table`], [`running_rd`], [`owned`]): a granule the RMM itself recorded (a
//!   table an entry points to, a running REC's RD, a REC's aux granules, an assigned entry's
//!   DATA page): its state is an invariant no host or realm can change, so one in another
//!   state can only be an RMM bug and the caller stops the monitor ([`crate::invariant`]).
//!
//! This floor sits just above `granule` (it imports `granule` and `invariant` only), so
//! `rtt`, `sharing`, `rsi` and `rmi` all lock through it.

use crate::granule::table::GranuleLockError;
use crate::granule::{GranuleAddr, GranuleTable, LockedGranule};
use crate::invariant;
use rmm_abi::rmi::states::GranuleState;

/// Locks the named granule `addr` and checks that it is in `state` (released again if not).
/// Out of line ([`GranuleTable::lock`]).
#[inline(always)]
pub fn lock(
    granules: &GranuleTable,
    addr: GranuleAddr,
    state: GranuleState,
) -> Result<LockedGranule<'_>, GranuleLockError> {
    granules.lock(addr, state)
}

/// [`lock`], inlined into the caller: the paths whose every instruction counts (DELEGATE and
/// UNDELEGATE, REC_ENTER's REC, the `rmi::locks` helpers, the stage-2 walk's tables).
#[inline(always)]
pub fn lock_inline(
    granules: &GranuleTable,
    addr: GranuleAddr,
    state: GranuleState,
) -> Result<LockedGranule<'_>, GranuleLockError> {
    granules.lock_inline(addr, state)
}

/// Locks the RMM-owned granule `addr`, which must be in `state`: `None` if it is not (an RMM
/// bug), for the caller to stop with its own rule text (the stops name their place by it).
#[inline(always)]
pub fn owned(
    granules: &GranuleTable,
    addr: GranuleAddr,
    state: GranuleState,
) -> Option<LockedGranule<'_>> {
    granules.lock(addr, state).ok()
}

/// [`owned`], inlined into the caller (the stage-2 walk, REC_ENTER, DATA_DESTROY).
#[inline(always)]
pub fn owned_inline(
    granules: &GranuleTable,
    addr: GranuleAddr,
    state: GranuleState,
) -> Option<LockedGranule<'_>> {
    granules.lock_inline(addr, state).ok()
}

/// Locks `table`, a root or a table an entry points to. The tables are the RMM's own: one
/// that is not in the RTT state can only be an RMM bug, and stops the monitor. Always inlined
/// (into the walk's loop, a call per level on every walk otherwise).
#[inline(always)]
pub fn table(granules: &GranuleTable, table: GranuleAddr) -> LockedGranule<'_> {
    owned_inline(granules, table, GranuleState::Rtt)
        .unwrap_or_else(|| invariant::broken_at("a table entry names a non-RTT", table.get()))
}

/// Locks `rd`, the RD of a REC that is running (REC_ENTER holds the REC's reference, and the
/// REC holds its RD's, so no host command can destroy either): an RD that is not one can
/// only be an RMM bug, and stops the monitor rather than let the realm's call go on.
#[inline(always)]
pub fn running_rd(granules: &GranuleTable, rd: GranuleAddr) -> LockedGranule<'_> {
    owned(granules, rd, GranuleState::Rd)
        .unwrap_or_else(|| invariant::broken_at("the RD of a running REC is not an RD", rd.get()))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::path::Path;
    use std::string::String;
    use std::vec::Vec;

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// "Nothing else takes a granule lock": outside this file and the granule table itself,
    /// no source calls `GranuleTable::lock`, `lock_inline` or `lock_any` (whitespace
    /// ignored, so a call chained over several lines is found too).
    #[test]
    fn only_this_module_takes_granule_locks() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&root, &mut files);
        let mut found = Vec::new();
        for file in files {
            if file.ends_with("locks.rs") && file.parent() == Some(root.as_path())
                || file.ends_with("granule/table.rs")
            {
                continue;
            }
            let text: String = std::fs::read_to_string(&file)
                .unwrap()
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            for call in [
                "granules.lock(",
                "granules.lock_inline(",
                "granules.lock_any(",
                ".lock_inline(",
                ".lock_any(",
            ] {
                if text.contains(call) {
                    found.push(std::format!("{}: {call}", file.display()));
                }
            }
        }
        assert!(found.is_empty(), "granule locks outside `locks`: {found:?}");
    }
}
