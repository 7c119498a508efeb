// SPDX-License-Identifier: MIT OR Apache-2.0
//! RMI_GRANULE_DELEGATE and RMI_GRANULE_UNDELEGATE: moving a granule between the host and the
//! realm world.
//!
//! Checks, in the reference RMM's order (`runtime/rmi/granule.c`, rmm-spec-v1.0-rel0): the
//! address must be granule aligned and tracked, and the granule (once locked) in the right
//! state — any failure is `RMI_ERROR_INPUT`; then EL3 changes the PAS. A delegated granule is
//! zeroed before its lock is released, so every unlocked DELEGATED granule is all zeros, and
//! every path that returns a granule to DELEGATED (the destroy commands) scrubs it first: that
//! is why undelegation hands the host only zeros without clearing again.

use super::args::GranuleArgs;
use super::error::{Handled, RmiError};
use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::locks;
use crate::log_line::{hex, int};
use crate::monitor::Monitor;
use rmm_abi::el3::El3Status;
use rmm_abi::rmi::states::GranuleState;

/// Handles RMI_GRANULE_DELEGATE(x1 = PA).
#[inline(always)]
pub fn delegate(monitor: &Monitor, machine: &impl Machine, args: GranuleArgs) -> Handled {
    let GranuleArgs { addr: pa } = args;
    let Some(addr) = GranuleAddr::new(pa) else {
        return Err(RmiError::Input.into());
    };
    let Ok(mut granule) = locks::lock_inline(&monitor.granules, addr, GranuleState::Undelegated)
    else {
        return Err(RmiError::Input.into());
    };
    // EL3 refuses granules that are not NS (the RMM's own carve-out, secure memory): the
    // reference RMM maps any EL3 error to RMI_ERROR_INPUT.
    if machine.gtsi_delegate(addr) != El3Status::Ok {
        return Err(RmiError::Input.into());
    }
    machine.zero_granule(addr);
    granule.set_state(GranuleState::Delegated);
    Ok([])
}

/// Handles RMI_GRANULE_UNDELEGATE(x1 = PA).
#[inline(always)]
pub fn undelegate(monitor: &Monitor, machine: &impl Machine, args: GranuleArgs) -> Handled {
    let GranuleArgs { addr: pa } = args;
    let Some(addr) = GranuleAddr::new(pa) else {
        return Err(RmiError::Input.into());
    };
    let Ok(mut granule) = locks::lock_inline(&monitor.granules, addr, GranuleState::Delegated)
    else {
        return Err(RmiError::Input.into());
    };
    match machine.gtsi_undelegate(addr) {
        El3Status::Ok => {
            granule.set_state(GranuleState::Undelegated);
            Ok([])
        }
        status @ (El3Status::Unknown
        | El3Status::BadAddr
        | El3Status::BadPas
        | El3Status::NoMem
        | El3Status::Inval
        | El3Status::Again) => {
            // The reference RMM panics here: EL3 refused to return a granule that our table
            // says is Realm, which only a broken platform can cause. We keep serving instead:
            // the granule stays DELEGATED (still zero) and the host gets an error.
            crate::log_error!(
                "EL3 refused to undelegate {}: status {}; granule stays DELEGATED",
                hex(pa),
                int(status.value()),
            );
            Err(RmiError::Input.into())
        }
    }
}
