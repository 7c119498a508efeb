// SPDX-License-Identifier: MIT OR Apache-2.0
//! Realm objects that live in delegated granules: the Realm Descriptor and the REC, plus the
//! set of VMIDs in use.
//!
//! - [`descriptor`]: [`Rd`](descriptor::Rd), the RD granule's typed view.
//! - [`rec`]: [`Rec`](rec::Rec), the REC granule's typed view.
//! - [`vmid`]: [`VmidSet`](vmid::VmidSet), VMID uniqueness across live realms.
//! - [`rec_attest`]: a REC's attestation token session, in its first auxiliary granule.
//!
//! The objects' contents are reached only through [`crate::arch::Machine`]'s word accessors;
//! their granules' states and locks are the granule table's.

pub mod descriptor;
pub mod rec;
pub mod rec_attest;
pub mod vmid;
