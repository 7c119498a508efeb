// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a successful operation asks the monitor to do ([`Effect`], in order, all of them,
//! while still holding the locks of S9), and what it returns to the caller ([`Reply`]).
//! [`Effects`] is a fixed-capacity list: no heap.

use apt::{IpaRange, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::CsmMode;
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;

/// Largest effect list any one step produces with the firmware capacities: an unmap and a TLB
/// invalidation for each attached grant of a region (`RSI_CSM_DESTROY`, a damaged region) or
/// for each relation of one batch of `RMI_APT_DESTROY` ([`crate::APT_DESTROY_BATCH`]).
pub const MAX_EFFECTS: usize = 2 * if apt::capacity::FW_GRANTS > crate::APT_DESTROY_BATCH {
    apt::capacity::FW_GRANTS
} else {
    crate::APT_DESTROY_BATCH
};

/// Which CSM REC exit to take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CsmExit {
    /// `RMI_EXIT_CSM_PREPARE` (7): make every entry of the consumer window unassigned and
    /// create level-3 RTTs for it.
    Prepare,
    /// `RMI_EXIT_CSM_POPULATE` (8): populate the provider range with DATA granules.
    Populate,
}

impl CsmExit {
    /// The `exit_reason` value.
    pub const fn reason(self) -> RecExitReason {
        match self {
            CsmExit::Prepare => RecExitReason::CsmPrepare,
            CsmExit::Populate => RecExitReason::CsmPopulate,
        }
    }
}

/// One step for the monitor. No effect carries a physical address: alias targets are read from
/// the provider's own RTT (S8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Effect {
    /// For every page `i` of `window`: read the provider's level-3 entry at `source + i`
    /// (an assigned RAM DATA granule, checked by the operation) and write the consumer's entry
    /// at `window.base() + i` (unassigned RIPAS RAM under a level-3 table, checked by the
    /// operation) as a valid alias of that granule: RIPAS RAM, stage-2 read-only or
    /// read-write as `mode` says, always execute-never.
    MapAliases {
        /// The consumer realm.
        consumer: Rd,
        /// The consumer's window.
        window: IpaRange,
        /// The provider realm.
        provider: Rd,
        /// Base of the provider's region.
        source: u64,
        /// The grant's mode.
        mode: CsmMode,
    },
    /// Replace every alias entry of `window` in the consumer with an unassigned entry of RIPAS
    /// `ripas`. Must be followed by [`Effect::InvalidateTlbs`] for the same range before
    /// anything else happens to the pages.
    UnmapAliases {
        /// The consumer realm.
        consumer: Rd,
        /// The window being removed.
        window: IpaRange,
        /// RAM (DETACH), EMPTY (REVOKE, DESTROY) or DESTROYED (damage, APT_DESTROY).
        ripas: Ripas,
    },
    /// `TLBI IPAS2E1IS` for every page of `range` under `realm`'s VMID, `DSB ISH`,
    /// `TLBI VMALLE1IS` for that VMID, `DSB ISH`.
    InvalidateTlbs {
        /// Whose VMID.
        realm: Rd,
        /// The IPAs.
        range: IpaRange,
    },
    /// Exit the calling REC to the host with this CSM exit reason and `range` in
    /// `ripas_base`/`ripas_top`. The RSI call is not complete: when the host re-enters the
    /// REC, the monitor runs it again from the start and every check is made again.
    ExitToHost {
        /// Which exit.
        exit: CsmExit,
        /// The range for the host to work on.
        range: IpaRange,
    },
}

/// A fixed-capacity list of effects, in the order they must be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effects {
    items: [Option<Effect>; MAX_EFFECTS],
    len: usize,
}

impl Default for Effects {
    fn default() -> Self {
        Self::new()
    }
}

impl Effects {
    /// No effects.
    pub const fn new() -> Self {
        Self {
            items: [None; MAX_EFFECTS],
            len: 0,
        }
    }

    /// Appends an effect; `false` if the list is full (operations size their lists by
    /// [`MAX_EFFECTS`], checked at compile time, so they never see `false`).
    pub(crate) fn push(&mut self, effect: Effect) -> bool {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(effect);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Removes every effect.
    pub(crate) fn clear(&mut self) {
        self.items = [None; MAX_EFFECTS];
        self.len = 0;
    }

    /// The effects, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Effect> {
        self.items.iter().take(self.len).flatten()
    }

    /// Number of effects.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True if there is nothing to apply.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Result of `RSI_CSM_QUERY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QueryInfo {
    /// x1: the caller (for share 0) or the grant's provider.
    pub realm: RealmId,
    /// x2: the grant's consumer (0 for share 0).
    pub consumer: Option<RealmId>,
    /// x3: the region size (0 for share 0).
    pub size: u64,
    /// x4 bits 1:0: the grant's mode (0 for share 0).
    pub mode: Option<CsmMode>,
    /// x4 bit 8: the grant is attached.
    pub attached: bool,
}

/// Bit of `RSI_CSM_QUERY` x4 set when the grant is attached.
pub const QUERY_ATTACHED: u64 = 1 << 8;

/// What the caller gets back on success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reply {
    /// Nothing beyond success.
    Done,
    /// The call exits to the host and restarts afterwards (see [`Effect::ExitToHost`]).
    Restart,
    /// `RMI_APT_DESTROY` removed one batch of the realm's grants and received grants
    /// ([`crate::APT_DESTROY_BATCH`]) and more remain: the monitor checks and commits it
    /// again, under the same locks, until it answers [`Reply::Done`]. The host sees only the
    /// end.
    Partial,
    /// `RMI_APT_CREATE`: the new RealmId (the monitor records it in the RD).
    Realm(RealmId),
    /// `RSI_CSM_CREATE`: x1.
    Region(RegionId),
    /// `RSI_CSM_SHARE`: x1.
    Share(ShareId),
    /// `RSI_CSM_ACCEPT`: x1 size, x2 mode.
    Accepted {
        /// Window size.
        size: u64,
        /// The grant's mode.
        mode: CsmMode,
    },
    /// `RSI_CSM_QUERY`: x1..x4.
    Query(QueryInfo),
}

impl Reply {
    /// The values for x1..x4.
    pub fn registers(&self) -> [u64; 4] {
        match *self {
            Reply::Done | Reply::Restart | Reply::Partial => [0; 4],
            Reply::Realm(id) => [id.get(), 0, 0, 0],
            Reply::Region(id) => [id.get(), 0, 0, 0],
            Reply::Share(id) => [id.get(), 0, 0, 0],
            Reply::Accepted { size, mode } => [size, mode.as_u64(), 0, 0],
            Reply::Query(q) => [
                q.realm.get(),
                q.consumer.map_or(0, |c| c.get()),
                q.size,
                q.mode.map_or(0, |m| m.as_u64()) | if q.attached { QUERY_ATTACHED } else { 0 },
            ],
        }
    }
}

/// A successful operation: effects to apply, then the reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// What the monitor must do, in order.
    pub effects: Effects,
    /// What the caller gets.
    pub reply: Reply,
}

impl Outcome {
    /// No effects, this reply.
    pub const fn reply(reply: Reply) -> Self {
        Self {
            effects: Effects::new(),
            reply,
        }
    }

    /// Exit to the host and restart the call.
    pub fn exit(exit: CsmExit, range: IpaRange) -> Self {
        let mut effects = Effects::new();
        effects.push(Effect::ExitToHost { exit, range });
        Self {
            effects,
            reply: Reply::Restart,
        }
    }
}
