// SPDX-License-Identifier: MIT OR Apache-2.0
//! Decoding the registers of a CSM RSI call into a typed [`Call`] (every register value is
//! checked here: zero ids, undefined modes, bad ranges), and dispatching it.

use apt::{IpaRange, Rd, RealmId, RegionId, ShareId};
use rmm_abi::csm::{CsmMode, CsmRsiCommand};

use crate::effect::Outcome;
use crate::error::RealmError;
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
        /// x3 (the size comes from the region).
        window_base: u64,
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
    /// Decodes x1..x3 of `command`.
    pub fn decode(command: CsmRsiCommand, x: [u64; 3]) -> Result<Self, RealmError> {
        let [x1, x2, x3] = x;
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

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// Runs a decoded RSI call for the realm `caller`.
    pub fn rsi(
        &mut self,
        caller: Rd,
        call: Call,
        view: &impl Stage2View,
    ) -> Result<Outcome, RealmError> {
        match call {
            Call::Create { range } => self.create(caller, range, view),
            Call::Share {
                region,
                consumer,
                mode,
            } => self.share(caller, region, consumer, mode),
            Call::Accept {
                share,
                provider,
                window_base,
            } => self.accept(caller, share, provider, window_base, view),
            Call::Detach { share } => self.detach(caller, share),
            Call::Revoke { share } => self.revoke(caller, share),
            Call::Destroy { region } => self.destroy(caller, region),
            Call::Query { share } => self.query(caller, share),
        }
    }
}
