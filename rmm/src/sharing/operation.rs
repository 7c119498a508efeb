// SPDX-License-Identifier: MIT OR Apache-2.0
//! One CSM operation from its locks to its effects, in the order `docs/locking.md` states:
//! the CSM lock (taken by the caller), then the RDs `csm::Csm::involved` names, ascending
//! ([`Operation::begin`]); then the state machine's check against the APTs and the locked
//! realms' stage 2 ([`Operation::check`]), which changes nothing; then, once the caller has
//! finished its own checks, the commit and every effect ([`Operation::commit`]) before any
//! lock is released (S9, S10).
//!
//! A table whose fields do not check, or a checked plan that does not commit, can only be an RMM
//! bug (APT granules are Realm PAS and written only here): the monitor stops.

use super::effects;
use super::lock::{CsmGuard, CsmState, LockedRds, RdLockError};
use super::store::GranuleStore;
use super::view::TableView;
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::granule::GranuleTable;
use crate::invariant;
use csm::{Call, Effect, FwCsm, Outcome, Plan};

/// The locks of one operation and the APTs they make reachable (through the caller's store,
/// which keeps the tables' words it copied into its cells: it stays in the caller's frame and
/// is only borrowed, so its cells are never copied from frame to frame).
pub struct Operation<'a, 's, M: Machine> {
    granules: &'a GranuleTable,
    machine: &'a M,
    /// The CSM lock, held.
    pub csm: CsmGuard<'a>,
    /// The RDs involved, locked (in the caller's storage).
    pub rds: &'s LockedRds<'a>,
    store: &'s mut GranuleStore<'a, M>,
}

impl<'a, 's, M: Machine> Operation<'a, 's, M> {
    /// With the CSM lock `csm` held, locks the RDs an operation by (RSI `call`) or on (host
    /// event, `None`) the realm `named` involves. `NotRd` if `named` is not an RD. `store`
    /// is a new, empty store of the caller's (`GranuleStore::new`), used for the whole
    /// operation: the caller's table, read here to find the RDs involved, stays lent
    /// from it afterwards. `rds` is the caller's empty `LockedRds::new()`: the locks are
    /// taken into it, in the caller's frame, and released when the caller drops it.
    pub fn begin(
        granules: &'a GranuleTable,
        csm: CsmGuard<'a>,
        named: GranuleAddr,
        call: Option<&Call>,
        store: &'s mut GranuleStore<'a, M>,
        rds: &'s mut LockedRds<'a>,
    ) -> Result<Self, RdLockError> {
        let rd = super::csm_rd(named);
        let machine = store.machine();
        if let Some(apt) = apt_of(&csm, rd) {
            store.add(rd, apt);
        }
        let involved = csm.csm.fw_involved(&*store, rd, call);
        rds.lock(granules, involved.rds(), named)?;
        for &peer in involved.rds().iter().filter(|&&peer| peer != rd) {
            if let Some(apt) = apt_of(&csm, peer) {
                store.add(peer, apt);
            }
        }
        Ok(Self {
            granules,
            machine,
            csm,
            rds,
            store,
        })
    }

    /// Runs the state machine's check `check` against the global state, the APTs and the
    /// locked realms' stage 2, into the plan kept under the CSM lock. Nothing changes. A
    /// corrupt table stops the monitor.
    pub fn check<E: Copy + PartialEq>(
        &mut self,
        corrupt: E,
        check: impl FnOnce(&FwCsm, &GranuleStore<'a, M>, &TableView<'_, M>, &mut Plan) -> Result<(), E>,
    ) -> Result<(), E> {
        let view = TableView {
            granules: self.granules,
            machine: self.machine,
            rds: self.rds,
        };
        let state = &mut *self.csm;
        let result = check(&state.csm, self.store, &view, &mut state.plan);
        if result.as_ref().err() == Some(&corrupt) {
            invariant::broken("an APT does not decode or contradicts another");
        }
        result
    }

    /// Commits the checked plan and applies its effects (all but `ExitToHost`, which the RSI
    /// caller turns into the REC's exit), with every lock still held; returns the outcome
    /// (kept under the lock: read it before the operation ends).
    pub fn commit(&mut self) -> &Outcome {
        let state = &mut *self.csm;
        if state.csm.fw_commit(&state.plan, self.store).is_err() {
            invariant::broken("a checked CSM plan did not commit");
        }
        let plan = &mut state.plan;
        for effect in plan.outcome().effects.iter() {
            effects::apply(self.granules, self.machine, self.rds, effect);
        }
        plan.outcome()
    }

    /// The `ExitToHost` effect of `outcome`, if any.
    pub fn exit_of(outcome: &Outcome) -> Option<(csm::CsmExit, apt::IpaRange)> {
        outcome.effects.iter().find_map(|e| match *e {
            Effect::ExitToHost { exit, range } => Some((exit, range)),
            Effect::MapAliases { .. }
            | Effect::UnmapAliases { .. }
            | Effect::InvalidateTlbs { .. } => None,
        })
    }
}

/// The APT granule of the CSM realm `rd`, from the index the CSM lock protects.
fn apt_of(csm: &CsmState, rd: apt::Rd) -> Option<GranuleAddr> {
    let csm = &csm.csm;
    csm.entry(rd).and_then(|e| GranuleAddr::new(e.apt_pa))
}
