// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Snapshot`]: everything an RMI command could change, taken before and after a call that
//! must be refused, so a test can check that it changed nothing: every granule's state and
//! refcount, the simulated machine (PAS and contents of every granule, GTSI calls, stage-2 TLB
//! invalidations), the VMIDs in use, and the RTT entries a test names (through
//! RTT_READ_ENTRY, as a host sees them).

use crate::host::Host;
use rmm::arch::fake::MemorySnapshot;
use rmm_abi::rmi::states::GranuleState;

/// An RTT entry to read back: (RD, IPA, level).
pub type Probe = (u64, u64, i64);

/// The observable state of a monitor and its machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Every granule that is not UNDELEGATED with refcount 0: (address, state, refcount).
    granules: Vec<(u64, GranuleState, u16)>,
    /// The simulated machine.
    memory: MemorySnapshot,
    /// VMIDs claimed by live realms.
    vmids: Vec<u16>,
    /// RTT_READ_ENTRY's x0..x4 for each probe.
    entries: Vec<(Probe, [u64; 5])>,
}

/// Every granule that is not UNDELEGATED with no references, as (address, state, refcount),
/// in address order: what a snapshot or a check compares.
pub fn tracked_granules(granules: &rmm::granule::GranuleTable) -> Vec<(u64, GranuleState, u16)> {
    granules
        .snapshot()
        .filter(|(_, state, count)| *state != GranuleState::Undelegated || *count != 0)
        .map(|(addr, state, count)| (addr.get(), state, count))
        .collect()
}

impl Snapshot {
    /// Takes a snapshot of `host`'s monitor and machine, reading the RTT entries `probes`.
    pub fn take(host: &Host, probes: &[Probe]) -> Self {
        let granules = tracked_granules(&host.rig.monitor.granules);
        let vmids = (0..=u16::MAX)
            .filter(|v| host.rig.monitor.vmids.is_claimed(*v))
            .collect();
        // Read the machine after the RTT reads: READ_ENTRY itself changes nothing, but this
        // order makes a change it did make visible too.
        let entries = probes
            .iter()
            .map(|&(rd, ipa, level)| ((rd, ipa, level), host.read_entry(rd, ipa, level)))
            .collect();
        Self {
            granules,
            memory: host.rig.machine.snapshot(),
            vmids,
            entries,
        }
    }

    /// What differs between `self` (before) and `after`, one line per difference (empty if
    /// nothing changed).
    pub fn differences(&self, after: &Self) -> Vec<String> {
        let mut out = Vec::new();
        diff_keyed(
            "granule",
            &self.granules,
            &after.granules,
            |g| g.0,
            |g| format!("{:?} refcount {}", g.1, g.2),
            &mut out,
        );
        diff_keyed(
            "PAS of",
            &self.memory.pas,
            &after.memory.pas,
            |p| p.0,
            |p| format!("{:?}", p.1),
            &mut out,
        );
        diff_keyed(
            "contents of",
            &self.memory.contents,
            &after.memory.contents,
            |c| c.0,
            |c| {
                let words = c.1.chunks_exact(8).filter(|w| w.iter().any(|b| *b != 0));
                format!("{} non-zero words", words.count())
            },
            &mut out,
        );
        if self.memory.gtsi_calls != after.memory.gtsi_calls {
            out.push(format!(
                "{} GTSI calls made",
                after.memory.gtsi_calls - self.memory.gtsi_calls
            ));
        }
        if self.memory.stage2_invalidations != after.memory.stage2_invalidations {
            out.push("stage-2 TLB invalidated".to_string());
        }
        if self.vmids != after.vmids {
            out.push(format!("VMIDs {:?} -> {:?}", self.vmids, after.vmids));
        }
        for ((probe, before), (_, now)) in self.entries.iter().zip(&after.entries) {
            if before != now {
                out.push(format!("RTT entry {probe:x?}: {before:#x?} -> {now:#x?}"));
            }
        }
        out
    }
}

/// Differences between two lists sorted by `key`: entries added, removed or changed.
fn diff_keyed<T: PartialEq>(
    what: &str,
    before: &[T],
    after: &[T],
    key: impl Fn(&T) -> u64,
    show: impl Fn(&T) -> String,
    out: &mut Vec<String>,
) {
    fn find<'a, T>(list: &'a [T], key: &impl Fn(&T) -> u64, k: u64) -> Option<&'a T> {
        list.iter().find(|t| key(t) == k)
    }
    for b in before {
        match find(after, &key, key(b)) {
            None => out.push(format!("{what} {:#x}: {} -> default", key(b), show(b))),
            Some(a) if a != b => {
                out.push(format!("{what} {:#x}: {} -> {}", key(b), show(b), show(a)))
            }
            Some(_) => {}
        }
    }
    for a in after {
        if find(before, &key, key(a)).is_none() {
            out.push(format!("{what} {:#x}: default -> {}", key(a), show(a)));
        }
    }
}
