// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_QUERY` (any CSM realm): its own RealmId, or what a grant it takes part in says.

use apt::{GrantState, Rd, ShareId};

use crate::effect::{Outcome, QueryInfo, Reply};
use crate::error::RealmError;
use crate::state::Csm;

impl<const R: usize, const NR: usize, const NG: usize, const NA: usize> Csm<R, NR, NG, NA> {
    /// `RSI_CSM_QUERY(share)`: `None` (x1 = 0) asks for the caller's own RealmId; otherwise
    /// the grant's provider, consumer, size, mode and whether it is attached — only for the
    /// grant's provider or consumer (to anyone else the grant does not exist). Never changes
    /// state.
    pub fn query(&self, caller: Rd, share: Option<ShareId>) -> Result<Outcome, RealmError> {
        let me = self.entry(caller).ok_or(RealmError::NoApt)?;
        let Some(share) = share else {
            return Ok(Outcome::reply(Reply::Query(QueryInfo {
                realm: me.id(),
                consumer: None,
                size: 0,
                mode: None,
                attached: false,
            })));
        };
        let (provider, region, grant) = self.find_grant(share).ok_or(RealmError::UnknownShare)?;
        if me.id() != provider.id() && me.id() != grant.consumer {
            return Err(RealmError::UnknownShare);
        }
        Ok(Outcome::reply(Reply::Query(QueryInfo {
            realm: provider.id(),
            consumer: Some(grant.consumer),
            size: region.range.size(),
            mode: Some(grant.mode),
            attached: grant.state == GrantState::Attached,
        })))
    }
}
