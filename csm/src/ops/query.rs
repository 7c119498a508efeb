// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RSI_CSM_QUERY` (any CSM realm): its own RealmId, or what a grant it takes part in says —
//! answered from the caller's own table alone (a consumer's table records every grant it
//! received).

use apt::{GrantState, Rd, ShareId};

use crate::effect::{QueryInfo, Reply};
use crate::error::RealmError;
use crate::plan::{AptStore, Plan};
use crate::state::Csm;

impl<const R: usize> Csm<R> {
    /// Check of `RSI_CSM_QUERY(share)`: `None` (x1 = 0) asks for the caller's own RealmId;
    /// otherwise the grant's provider, consumer, size, mode and whether it is attached — only
    /// for the grant's provider or consumer (to anyone else the grant does not exist). The
    /// plan changes nothing.
    /// Writes the plan into `plan` (the caller's storage: the monitor's is not on a stack);
    /// on error `plan` holds nothing meaningful and nothing changed.
    pub fn check_query<const NR: usize, const NG: usize, const NA: usize>(
        &self,
        store: &(impl AptStore<NR, NG, NA> + ?Sized),
        caller: Rd,
        share: Option<ShareId>,
        plan: &mut Plan,
    ) -> Result<(), RealmError> {
        let (me, apt) = self.own(store, caller)?.ok_or(RealmError::NoApt)?;
        let apt = crate::plan::view::<NR, NG, NA>(&apt);
        let info = match share {
            None => QueryInfo {
                realm: me.id,
                consumer: None,
                size: 0,
                mode: None,
                attached: false,
            },
            Some(share) => {
                if let Some((_, range, grant)) = apt.grant_of(share) {
                    QueryInfo {
                        realm: me.id,
                        consumer: Some(grant.consumer),
                        size: range.size(),
                        mode: Some(grant.mode),
                        attached: grant.state == GrantState::Attached,
                    }
                } else {
                    let a = apt.attachment(share).ok_or(RealmError::UnknownShare)?;
                    QueryInfo {
                        realm: a.provider,
                        consumer: Some(me.id),
                        size: a.size,
                        mode: Some(a.mode),
                        attached: a.attached(),
                    }
                }
            }
        };
        plan.start(self, Reply::Query(info));
        Ok(())
    }
}
