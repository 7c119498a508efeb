// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm Services Interface (realm → RMM), RMM 1.0-rel0: function identifiers, commands,
//! status codes and the realm-memory structures. The main types are re-exported here.

pub mod command;
pub mod fid;
pub mod host_call;
pub mod realm_config;
pub mod ripas;
pub mod status;

pub use command::RsiCommand;
pub use fid::{RSI_FNUM_FIRST, RSI_FNUM_LAST};
pub use host_call::{RSI_HOST_CALL_NR_GPRS, RsiHostCall};
pub use realm_config::RsiRealmConfig;
pub use ripas::{RsiResponse, RsiRipas, RsiRipasChangeFlags};
pub use status::RsiStatus;

/// `RsiHashAlgorithm`: identical to [`crate::rmi::states::HashAlgorithm`].
pub use crate::rmi::states::HashAlgorithm as RsiHashAlgorithm;
