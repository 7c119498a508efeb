// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm Management Interface (host → RMM), RMM 1.0-rel0: function identifiers, commands,
//! status codes, feature register, the NS-granule structures the host passes, exit reasons
//! and ABI enumerations. The main types are re-exported here.

pub mod command;
pub mod exit;
pub mod features;
pub mod fid;
pub mod realm_params;
pub mod rec_params;
pub mod rec_run;
pub mod states;
pub mod status;

pub use command::RmiCommand;
pub use exit::RecExitReason;
pub use features::FeatureRegister0;
pub use fid::{RMI_FNUM_FIRST, RMI_FNUM_LAST, is_rmi_range};
pub use realm_params::{RealmFlags, RealmParams};
pub use rec_params::{MAX_REC_AUX_GRANULES, RecFlags, RecMpidr, RecParams};
pub use rec_run::{REC_GIC_NUM_LRS, RecEnter, RecEnterFlags, RecExit, RecRun};
pub use states::{
    DataFlags, DataMeasureContent, GranuleState, HashAlgorithm, PmuOverflowStatus, RealmState,
    Ripas, RmiFeature, RmiResponse, RttEntryState,
};
pub use status::{RmiReturn, RmiStatus};
