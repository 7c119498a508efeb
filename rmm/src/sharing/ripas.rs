// SPDX-License-Identifier: MIT OR Apache-2.0
//! S11 (`docs/csm.md`): a RIPAS change never touches CSM memory. The one check both RIPAS
//! paths make under the CSM lock, against the realm's own table: RSI_IPA_STATE_SET
//! (`rsi::ipa_state`) before it exits to the host, and RTT_SET_RIPAS (`rmi::set_ripas`) again
//! before it applies, because another REC's RSI_CSM_CREATE or ACCEPT can run in between.
//!
//! It reads the realm's APT and nothing else; the callers turn a refusal into their own
//! error (RSI status, RMI_ERROR_INPUT).

use super::csm_rd;
use super::lock::CsmState;
use super::store::{GranuleStore, empty_cell};
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::invariant;
use csm::RealmError;

/// Whether `range` of the realm with RD `rd` and APT `apt` stays clear of its regions and
/// windows: `Err` with the state machine's refusal if not. The caller holds the CSM lock
/// (`state`). A table whose fields do not check can only be an RMM bug: the monitor stops.
/// Out of line (and once for both callers): the plan and the table's cell are not on either
/// caller's frame.
#[inline(never)]
pub fn check_ripas_change(
    state: &mut CsmState,
    machine: &impl Machine,
    rd: GranuleAddr,
    apt: GranuleAddr,
    range: apt::IpaRange,
) -> Result<(), RealmError> {
    // Its own table only: one cell.
    let own = empty_cell();
    let cells = [&own];
    let mut store = GranuleStore::new(machine, &cells);
    store.add(csm_rd(rd), apt);
    match state
        .csm
        .fw_check_ipa_state_set(&store, csm_rd(rd), range, &mut state.plan)
    {
        Err(RealmError::AptCorrupt) => invariant::broken("an APT does not decode (RIPAS change)"),
        result => result,
    }
}
