// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding the registers of a CSM RSI call into a typed [`Call`] (every register value is
//! checked here: zero ids, undefined modes, bad ranges), and dispatching it.

use apt::{IpaRange, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::{CsmMode, CsmRsiCommand};

use rmm_abi::rmi::states::RealmState;

use crate::effect::Outcome;
use crate::error::{HostError, RealmError};
use crate::plan::{AptStore, Plan};
use crate::state::Csm;
use crate::view::Stage2View;

/// A decoded CSM RSI call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// `RSI_CSM_CREATE`.
    Create {
        /// x1, x2.
        range: IpaRange,
    },
    /// `RSI_CSM_SHARE`.
    Share {
        /// x1.
        region: RegionId,
        /// x2.
        consumer: RealmId,
        /// x3.
        mode: CsmMode,
    },
    /// `RSI_CSM_ACCEPT`.
    Accept {
        /// x1.
        share: ShareId,
        /// x2.
        provider: RealmId,
        /// x3.
        window_base: u64,
        /// x4: the size the consumer expects (the region's, from `RSI_CSM_QUERY`).
        size: u64,
    },
    /// `RSI_CSM_DETACH`.
    Detach {
        /// x1.
        share: ShareId,
    },
    /// `RSI_CSM_REVOKE`.
    Revoke {
        /// x1.
        share: ShareId,
    },
    /// `RSI_CSM_DESTROY`.
    Destroy {
        /// x1.
        region: RegionId,
    },
    /// `RSI_CSM_QUERY` (`None`: x1 = 0, the caller itself).
    Query {
        /// x1.
        share: Option<ShareId>,
    },
}

impl Call {
    /// Decodes x1..x4 of `command` (x4 is read by ACCEPT only).
    pub fn decode(command: CsmRsiCommand, x: [u64; 4]) -> Result<Self, RealmError> {
        let [x1, x2, x3, x4] = x;
        let share = || ShareId::new(x1).ok_or(RealmError::UnknownShare);
        let region = || RegionId::new(x1).ok_or(RealmError::UnknownRegion);
        Ok(match command {
            CsmRsiCommand::Create => Call::Create {
                range: IpaRange::new(x1, x2).ok_or(RealmError::BadRange)?,
            },
            CsmRsiCommand::Share => Call::Share {
                region: region()?,
                consumer: RealmId::new(x2).ok_or(RealmError::UnknownRealm)?,
                mode: CsmMode::from_u64(x3).ok_or(RealmError::BadMode)?,
            },
            CsmRsiCommand::Accept => Call::Accept {
                share: share()?,
                provider: RealmId::new(x2).ok_or(RealmError::WrongProvider)?,
                window_base: x3,
                size: x4,
            },
            CsmRsiCommand::Detach => Call::Detach { share: share()? },
            CsmRsiCommand::Revoke => Call::Revoke { share: share()? },
            CsmRsiCommand::Destroy => Call::Destroy { region: region()? },
            CsmRsiCommand::Query => Call::Query {
                share: ShareId::new(x1),
            },
        })
    }
}

impl<const R: usize> Csm<R> {
    /// Check of a decoded RSI call by the realm `caller`, into `plan`.
    pub fn check_rsi<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        call: Call,
        view: &(impl Stage2View + ?Sized),
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        match call {
            Call::Create { range } => self.check_create(store, caller, range, view, plan),
            Call::Share {
                region,
                consumer,
                mode,
            } => self.check_share(store, caller, region, consumer, mode, view, plan),
            Call::Accept {
                share,
                provider,
                window_base,
                size,
            } => self.check_accept(
                store,
                caller,
                share,
                provider,
                window_base,
                size,
                view,
                plan,
            ),
            Call::Detach { share } => self.check_detach(store, caller, share, plan),
            Call::Revoke { share } => self.check_revoke(store, caller, share, plan),
            Call::Destroy { region } => self.check_destroy(store, caller, region, plan),
            Call::Query { share } => self.check_query(store, caller, share, plan),
        }
    }

    /// Checks and commits a decoded RSI call (see [`crate::plan`]).
    pub fn rsi<const NR: usize, const NG: usize, const NA: usize>(
        &mut self,
        store: &mut (impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        call: Call,
        view: &(impl Stage2View + ?Sized),
    ) -> Result<Outcome, RealmError> {
        let plan = Plan::of(|p| self.check_rsi(&*store, caller, call, view, p))?;
        Ok(self.commit(plan, store)?)
    }

    /// Checks and commits `RSI_IPA_STATE_SET` over CSM memory.
    pub fn ipa_state_set<const NR: usize, const NG: usize, const NA: usize>(
        &mut self,
        store: &mut (impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        range: IpaRange,
    ) -> Result<Outcome, RealmError> {
        let plan = Plan::of(|p| self.check_ipa_state_set(&*store, caller, range, p))?;
        Ok(self.commit(plan, store)?)
    }

    /// Checks and commits a host event.
    pub fn host<const NR: usize, const NG: usize, const NA: usize>(
        &mut self,
        store: &mut (impl AptStore<NR, NG, NA> + ?Sized),
        event: HostEvent,
    ) -> Result<Outcome, HostError> {
        let plan = match event {
            HostEvent::AptCreate {
                rd,
                apt_pa,
                state,
                par_size,
            } => Plan::of(|p| self.check_apt_create(rd, apt_pa, state, par_size, p)),
            HostEvent::AptDestroy { rd, apt_pa } => {
                Plan::of(|p| self.check_apt_destroy(&*store, rd, apt_pa, p))
            }
            HostEvent::RealmDestroy { rd } => self.check_realm_destroy(rd),
            HostEvent::DataDestroy { rd, ipa } => {
                Plan::of(|p| self.check_data_destroy(&*store, rd, ipa, p))
            }
            HostEvent::DataCreate { rd, ipa } => {
                Plan::of(|p| self.check_data_create(&*store, rd, ipa, p))
            }
            HostEvent::RttFold { rd, table } => {
                Plan::of(|p| self.check_rtt_fold(&*store, rd, table, p))
            }
        }?;
        Ok(self.commit(plan, store)?)
    }
}

/// An RMI command or host event that touches CSM state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostEvent {
    /// `RMI_APT_CREATE`.
    AptCreate {
        /// The realm.
        rd: Rd,
        /// The APT granule.
        apt_pa: u64,
        /// The realm's state.
        state: RealmState,
        /// Its protected IPA size.
        par_size: u64,
    },
    /// `RMI_APT_DESTROY`.
    AptDestroy {
        /// The realm.
        rd: Rd,
        /// The APT granule named.
        apt_pa: u64,
    },
    /// `RMI_REALM_DESTROY`.
    RealmDestroy {
        /// The realm.
        rd: Rd,
    },
    /// `RMI_DATA_DESTROY`.
    DataDestroy {
        /// The realm.
        rd: Rd,
        /// The IPA.
        ipa: u64,
    },
    /// `RMI_DATA_CREATE*`.
    DataCreate {
        /// The realm.
        rd: Rd,
        /// The IPA.
        ipa: u64,
    },
    /// `RMI_RTT_FOLD`.
    RttFold {
        /// The realm.
        rd: Rd,
        /// The range of the table folded.
        table: IpaRange,
    },
}
