// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading a host parameter page (RmiRealmParams, RmiRecParams, a DATA source) into the RMM,
//! once, as a typed structure.
//!
//! The granule must be tracked and Non-secure by the granule table's (unlocked) view; the
//! copy itself is fault-tolerant, so a host that delegates the page or changes its PAS while
//! we read gets `RMI_ERROR_INPUT` and the RMM keeps running. Nothing is read from the page
//! after the copy.

use super::error::RmiError;
use super::locks::tracked;
use crate::GRANULE_SIZE;
use crate::arch::Machine;
use crate::granule::GranuleTable;
use rmm_abi::rmi::states::GranuleState;
use zerocopy::{FromBytes, IntoBytes};

/// Copies the NS granule at `pa` into `out`, a 4 KiB ABI structure.
pub fn read<T: FromBytes + IntoBytes>(
    granules: &GranuleTable,
    machine: &impl Machine,
    pa: u64,
    out: &mut T,
) -> Result<(), RmiError> {
    let addr = tracked(granules, pa)?;
    if granules.state_unlocked(addr) != Some(GranuleState::Undelegated) {
        return Err(RmiError::Input);
    }
    let page: &mut [u8; GRANULE_SIZE] =
        out.as_mut_bytes().try_into().map_err(|_| RmiError::Input)?;
    machine
        .copy_from_ns(addr, page)
        .map_err(|_| RmiError::Input)
}
