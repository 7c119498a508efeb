// SPDX-License-Identifier: MIT OR Apache-2.0
//! The virtual CPU a realm sees, as pure rules and types below every realm object: the
//! virtual GIC state the host passes in and sees out ([`gic`]), the ID register values realms
//! read ([`id_regs`]) and syndrome decoding ([`esr`]).
//!
//! A leaf floor: it names only `arch`'s register-level types and `cpu_features`, so `realm`,
//! `boot` and `monitor` can use it without reaching up into realm execution.

pub mod esr;
pub mod gic;
pub mod id_regs;
