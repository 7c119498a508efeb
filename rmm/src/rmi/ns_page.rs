// SPDX-License-Identifier: MIT OR Apache-2.0
//! Reading a host parameter page (RmiRealmParams, RmiRecParams) into the RMM: only the
//! fields the monitor uses, each read once, all of them before any is checked or used.
//!
//! The granule must be tracked and Non-secure by the granule table's (unlocked) view
//! ([`host_page`]); each read ([`read`]) is fault-tolerant, so a host that delegates the page
//! or changes its PAS while we read gets `RMI_ERROR_INPUT` and the RMM keeps running. The host
//! may change the page between two reads, but no field is read twice: what was read is what
//! is checked and used, and the 4 KiB page itself is never copied.

use super::error::RmiError;
use super::locks::tracked;
use crate::arch::Machine;
use crate::granule::{GranuleAddr, GranuleTable};
use rmm_abi::rmi::states::GranuleState;
use zerocopy::{FromBytes, IntoBytes};

/// The host granule at `pa`, if the host may pass it as a parameter page: tracked and
/// UNDELEGATED.
pub fn host_page(granules: &GranuleTable, pa: u64) -> Result<GranuleAddr, RmiError> {
    let addr = tracked(granules, pa)?;
    if granules.state_unlocked(addr) != Some(GranuleState::Undelegated) {
        return Err(RmiError::Input);
    }
    Ok(addr)
}

/// Reads `out` (a whole number of 16-byte units) from byte `offset` (a multiple of 16) of the
/// host page `addr`, once.
pub fn read<T: FromBytes + IntoBytes + ?Sized>(
    machine: &impl Machine,
    addr: GranuleAddr,
    offset: usize,
    out: &mut T,
) -> Result<(), RmiError> {
    machine
        .read_ns(addr, offset, out.as_mut_bytes())
        .map_err(|_| RmiError::Input)
}
