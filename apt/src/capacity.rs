// SPDX-License-Identifier: MIT OR Apache-2.0
//! The firmware's table capacities and the granule size. The table type is generic over its
//! capacities so the model checker can use a tiny table; every instantiation is checked at
//! compile time to encode into one granule ([`crate::Apt::ENCODED_LEN`]).
//!
//! Why these numbers: 8 regions of 4 grants each lets a realm serve 4 peers from 8 separate
//! ranges, and 16 attachments lets it consume 16 regions; the encoded table is 1,856 bytes.
//! Capacity is bounded less by the granule than by the effect list of `RMI_APT_DESTROY` (an
//! unmap and a TLB invalidation per relation, `csm::MAX_EFFECTS`), which the monitor holds
//! on its stack.

use crate::table::Apt;

/// Size of the APT granule.
pub const GRANULE_SIZE: usize = 4096;

/// Provider regions per realm in the firmware.
pub const FW_REGIONS: usize = 8;
/// Grants (consumers) per region in the firmware.
pub const FW_GRANTS: usize = 4;
/// Consumer attachments per realm in the firmware.
pub const FW_ATTACHMENTS: usize = 16;

/// The firmware's table.
pub type FwApt = Apt<FW_REGIONS, FW_GRANTS, FW_ATTACHMENTS>;

const _: () = assert!(FwApt::ENCODED_LEN <= GRANULE_SIZE);
const _: () = assert!(FwApt::ENCODED_LEN == 1856);
