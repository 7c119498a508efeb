// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware's table capacities and the granule size. The table type is generic over its
//! capacities so the model checker can use a tiny table; every instantiation is checked at
//! compile time to encode into one granule ([`crate::Apt::ENCODED_LEN`]).
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

use crate::codec::GRANULE_WORDS;
use crate::table::{Apt, Relation};

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

impl FwApt {
    /// [`Apt::read_words_into`] for the firmware capacities, compiled once, here (for size:
    /// the workspace release profile builds this crate with its own optimisation level).
    #[cold]
    #[inline(never)]
    pub fn fw_decode_into(
        &mut self,
        words: &[u64; GRANULE_WORDS],
    ) -> Result<(), crate::codec::DecodeError> {
        self.read_words_into(words)
    }

    /// [`Apt::write_table_words`] for the firmware capacities, compiled once, here.
    #[cold]
    #[inline(never)]
    pub fn fw_encode(&self, out: &mut [u64; GRANULE_WORDS]) {
        self.write_table_words(out)
    }

    /// How many relations [`Apt::relations`] lists, compiled once, here (a loop, where the
    /// monitor's own optimisation level would unroll it over every slot).
    #[inline(never)]
    pub fn fw_relation_count(&self) -> usize {
        self.relations().count()
    }

    /// The relation at `index` of [`Apt::relations`], compiled once, here.
    #[inline(never)]
    pub fn fw_relation(&self, index: usize) -> Option<Relation> {
        self.relations().nth(index)
    }

    /// [`Apt::attachment`] for the firmware capacities, compiled once, here.
    #[inline(never)]
    pub fn fw_attachment(&self, share: crate::ShareId) -> Option<&crate::Attachment> {
        self.attachment(share)
    }
}
