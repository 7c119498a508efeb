// SPDX-License-Identifier: MIT OR Apache-2.0
//! The fuzz targets: everything the RMM parses, driven from arbitrary bytes over the host
//! fake of the `arch` layer, with the invariants checked after every step.
//!
//! - [`rmi`]: sequences of RMI commands against the real dispatcher, arguments drawn mostly
//!   from small pools of real granules, IPAs, levels and parameter pages, mixed with arbitrary
//!   values; REC_ENTER runs a fake realm whose traps (RSI calls, PSCI, aborts, system-register
//!   and other syndromes) come from the same bytes ([`realm`]).
//! - `rsi`: the same engine started from a running realm (activated, RAM and DATA mapped,
//!   REC 0 runnable), weighted towards REC_ENTER.
//! - [`csm`]: Confidential Shared Memory from three ACTIVE CSM realms (and a NEW one): the
//!   CSM RSI calls with live ids, exits 7/8 served or not, the host's commands that meet CSM
//!   (DATA_DESTROY at regions and aliases, APT_CREATE/DESTROY, folds over windows), with the
//!   alias and APT invariants checked after every step and call.
//! - [`boot`]: the EL3 boot arguments, CPU ID registers and the boot manifest page.
//! - [`el3_attest`]: what EL3 hands over for attestation (realm key, platform token hunks).
//!
//! libFuzzer runs them from `fuzz/` (nightly, `cargo xtask fuzz`); this crate is ordinary
//! stable code, and its tests replay the committed corpora (`fuzz/corpus/<target>/`) through
//! the same functions, so every input the fuzzer kept is a regression test in
//! `cargo xtask test`. `docs/testing.md` has the figures.

pub mod boot;
pub mod check;
pub mod csm;
pub mod el3_attest;
pub mod input;
pub mod realm;
pub mod rig;
pub mod rmi;
pub mod seed;

/// The fuzz targets, by the name `cargo xtask fuzz` and `fuzz/fuzz_targets/` use.
pub const TARGETS: [&str; 5] = ["rmi", "rsi", "csm", "boot", "el3_attest"];

/// Runs target `name` on `data` (panics on a finding); `false` if there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "rmi" => {
            rmi::run(rmi::Start::Empty, data);
        }
        "rsi" => {
            rmi::run(rmi::Start::Running, data);
        }
        "csm" => {
            csm::run(data);
        }
        "boot" => boot::run(data),
        "el3_attest" => el3_attest::run(data),
        _ => return false,
    }
    true
}
