// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware's table capacities and the granule size. The table type is generic over its
//! capacities so the model checker can use a tiny table; every instantiation is checked at
//! compile time to fit one granule ([`crate::Apt::ENCODED_LEN`]).
//!
//! Why these numbers: 8 regions of 4 grants each lets a realm serve 4 peers from 8 separate
//! ranges, and 16 attachment slots let it receive 16 grants (offered or attached); the
//! encoded table is 1,856 bytes. Capacity is bounded less by the granule than by the cost of
//! the worst call: `RMI_APT_DESTROY` unmaps every window of every relation, at most
//! (8 × 4 + 16) × [`MAX_REGION_PAGES`] = 98,304 pages, and its effect list (an unmap and a TLB
//! invalidation per relation, `csm::MAX_EFFECTS`) is held on the monitor's stack.
//!
//! [`MAX_REGION_SIZE`] caps a region (and so a window) at 8 MiB: an `RSI_CSM_ACCEPT` then
//! checks and maps at most 2,048 pages, and 64 MiB is shared as 8 regions.

use crate::table::Apt;
use crate::words::AptWords;

/// Size of the APT granule.
pub const GRANULE_SIZE: usize = 4096;

/// Provider regions per realm in the firmware.
pub const FW_REGIONS: usize = 8;
/// Grants (consumers) per region in the firmware.
pub const FW_GRANTS: usize = 4;
/// Consumer attachments per realm in the firmware.
pub const FW_ATTACHMENTS: usize = 16;

/// Largest region (and window): 8 MiB, so each CSM call's page work is bounded.
pub const MAX_REGION_SIZE: u64 = 8 << 20;
/// [`MAX_REGION_SIZE`] in pages (2,048).
pub const MAX_REGION_PAGES: u64 = MAX_REGION_SIZE / crate::range::PAGE_SIZE;

/// The firmware's table.
pub type FwApt = Apt<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>;

const _: () = assert!(FwApt::ENCODED_LEN <= GRANULE_SIZE);
const _: () = assert!(FwApt::ENCODED_LEN == 1856);

/// Words of the firmware's table at the top of its granule (232).
pub const FW_TABLE_WORDS: usize = FwApt::TABLE_WORDS;

/// The firmware's table read in place (see [`AptWords`]).
pub type FwAptWords<'a> = AptWords<'a, FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>;

/// The firmware's entry points into `crate::words`, compiled once, here (for size: the
/// workspace release profile builds this crate with its own optimisation level), instead of
/// being instantiated at the monitor's.
pub mod fw {
    use super::FwAptWords;
    use crate::codec::DecodeError;
    use crate::ids::{RealmId, ShareId};
    use crate::range::IpaRange;
    use crate::table::Relation;

    /// [`AptWords::new`](crate::AptWords::new)'s checks of a firmware table's words (any
    /// field that does not decode answers `NonZero`: the firmware stops on every error alike).
    #[inline(never)]
    pub fn check(words: &[u64]) -> Result<(), DecodeError> {
        crate::words::check_fast::<8, 4, 16>(words)
    }

    /// The owner of the checked table in `words` and the window of its received grant
    /// `share` (`None` if it has none or it is not attached).
    #[inline(never)]
    pub fn received(words: &[u64], share: ShareId) -> (RealmId, Option<IpaRange>) {
        let apt = FwAptWords::from_checked(words);
        (apt.owner(), apt.attachment(share).and_then(|a| a.window))
    }

    /// How many relations the checked table in `words` lists (a loop, where the monitor's
    /// own optimisation level would unroll it over every slot).
    #[inline(never)]
    pub fn relation_count(words: &[u64]) -> usize {
        FwAptWords::from_checked(words).relation_count()
    }

    /// The relation at `index` of the checked table in `words`.
    #[inline(never)]
    pub fn relation(words: &[u64], index: usize) -> Option<Relation> {
        FwAptWords::from_checked(words).relation(index)
    }
}
