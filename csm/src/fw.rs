// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware's entry points: the operations for the firmware capacities ([`FwCsm`], the
//! APT layout of `apt::capacity`), with the store and the stage-2 view as trait objects, so
//! that the state machine is compiled once, here, and built for size with this crate's own
//! optimisation level (the workspace release profile sets it), instead of being instantiated
//! and inlined into every caller in the monitor at the monitor's level. Each function is the
//! generic operation of the same name; nothing else. Each is `#[cold]` (no hot path of the
//! monitor runs it), which lets the link's outliner share their repeated instruction sequences
//! with the monitor's other cold code (`.cargo/config.toml`).

use apt::Rd;
use apt::capacity::{FW_ATTACHMENTS, FW_GRANTS, FW_REGIONS};

use crate::error::{HostError, RealmError};
use crate::ops::call::Call;
use crate::plan::{AptStore, Corrupt, Involved, Plan};
use crate::state::FwCsm;
use crate::view::Stage2View;
use rmm_abi::rmi::states::RealmState;

/// The monitor's APT store, as a trait object.
pub type FwStore<'a> = dyn AptStore<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS> + 'a;

impl FwCsm {
    /// [`FwCsm::involved`].
    #[cold]
    #[inline(never)]
    pub fn fw_involved(&self, store: &FwStore<'_>, rd: Rd, call: Option<&Call>) -> Involved {
        self.involved(store, rd, call)
    }

    /// [`FwCsm::check_rsi`].
    #[cold]
    #[inline(never)]
    pub fn fw_check_rsi(
        &self,
        store: &FwStore<'_>,
        caller: Rd,
        call: Call,
        view: &dyn Stage2View,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        self.check_rsi(store, caller, call, view, plan)
    }

    /// [`FwCsm::check_apt_create`].
    #[cold]
    #[inline(never)]
    pub fn fw_check_apt_create(
        &self,
        rd: Rd,
        apt_pa: u64,
        state: RealmState,
        par_size: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        self.check_apt_create(rd, apt_pa, state, par_size, plan)
    }

    /// [`FwCsm::check_apt_destroy`].
    #[cold]
    #[inline(never)]
    pub fn fw_check_apt_destroy(
        &self,
        store: &FwStore<'_>,
        rd: Rd,
        apt_pa: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        self.check_apt_destroy(store, rd, apt_pa, plan)
    }

    /// [`FwCsm::check_data_destroy`].
    #[cold]
    #[inline(never)]
    pub fn fw_check_data_destroy(
        &self,
        store: &FwStore<'_>,
        rd: Rd,
        ipa: u64,
        plan: &mut Plan,
    ) -> Result<(), HostError> {
        self.check_data_destroy(store, rd, ipa, plan)
    }

    /// [`FwCsm::check_ipa_state_set`].
    #[cold]
    #[inline(never)]
    pub fn fw_check_ipa_state_set(
        &self,
        store: &FwStore<'_>,
        caller: Rd,
        range: apt::IpaRange,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        self.check_ipa_state_set(store, caller, range, plan)
    }

    /// [`FwCsm::commit_in_place`].
    #[cold]
    #[inline(never)]
    pub fn fw_commit(&mut self, plan: &Plan, store: &mut FwStore<'_>) -> Result<(), Corrupt> {
        self.commit_in_place(plan, store)
    }
}
