// SPDX-License-Identifier: MIT OR Apache-2.0
//! Confidential Shared Memory in the monitor: the glue between the `csm` state machine and
//! the realms' RDs, APT granules and stage-2 tables.
//!
//! The state machine decides; this floor gives it what it reads and does what it asks:
//!
//! - [`lock`]: the global CSM state ([`SharedMemory`]: `csm::FwCsm` behind the CSM lock) and
//!   the RD locks an operation takes after it, ascending ([`lock::LockedRds`]);
//! - [`store`]: `csm::AptStore` over APT granules, limited to the locked realms;
//! - [`view`]: `csm::Stage2View` by walking the locked realms' tables;
//! - [`effects`]: mapping and unmapping aliases through the `rtt` primitives, and the TLB
//!   invalidations after them;
//! - [`token`]: the CSM claims of a realm token, a snapshot of the realm's APT;
//! - [`ripas`]: S11, the check both RIPAS paths make against the realm's own table;
//! - [`operation`]: one operation from lock to effects ([`operation::Operation`]), which the
//!   RMI handlers (`rmi::apt`, DATA_DESTROY, RTT_SET_RIPAS) and the RSI calls (`rsi::csm`,
//!   RSI_IPA_STATE_SET, RSI_ATTEST_TOKEN_INIT) use.
//!
//! This floor sits above `realm`, `rtt` and `granule`, and below `monitor` (which holds the
//! [`SharedMemory`]), `rsi` and `rmi`; it builds no exit record and no host reply. The rules it
//! implements are `docs/csm.md`'s; the lock order is `docs/locking.md`'s.

pub mod effects;
pub mod lock;
pub mod operation;
pub mod ripas;
pub mod store;
pub mod token;
pub mod view;

pub use lock::SharedMemory;

/// The state machine's name for a realm: its RD's physical address.
pub fn csm_rd(addr: crate::granule::GranuleAddr) -> apt::Rd {
    apt::Rd(addr.get())
}
