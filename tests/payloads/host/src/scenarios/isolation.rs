//! The NS world cannot touch the RMM: its carve-out is Realm PAS, and QEMU enforces granule
//! protection, so an NS read takes a Granule Protection Fault.

use crate::exceptions::probe_read;
use crate::platform::RMM_IMAGE;
use crate::runner::{Outcome, Scenario};
use crate::{ensure_eq, fail};

/// The scenarios of this file.
pub const SCENARIOS: &[Scenario] = &[Scenario {
    name: "ns_read_of_rmm_image_takes_gpf",
    run: ns_read_of_rmm_image,
}];

/// Data abort taken without a change in exception level.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;
/// DFSC: Granule Protection Fault, not on a translation table walk.
const DFSC_GPF: u64 = 0x28;

fn ns_read_of_rmm_image() -> Outcome {
    match probe_read(RMM_IMAGE) {
        Ok(value) => fail!("read {value:#x} from the RMM image at {RMM_IMAGE:#x} without a fault"),
        Err(fault) => {
            ensure_eq!(fault.class(), EC_DATA_ABORT_SAME_EL, "ESR_EL2.EC");
            ensure_eq!(fault.status_code(), DFSC_GPF, "ESR_EL2.DFSC");
            ensure_eq!(fault.far, RMM_IMAGE, "FAR_EL2");
            Ok(())
        }
    }
}
