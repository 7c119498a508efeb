// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a firmware image tells the core about its board. Only `platform/*` crates build these.
//!
//! Everything else about the machine comes from EL3 at boot (the boot manifest), so this stays
//! small: a name for the logs and a console to report failures on before the manifest is read.

/// Board constants that a firmware image passes to the core at entry.
#[derive(Debug, Clone, Copy)]
pub struct PlatformConfig {
    /// Human-readable platform name, printed in the boot banner.
    pub name: &'static str,
    /// PL011 base used before the boot manifest has been validated (and for reporting a bad
    /// manifest). After a successful parse the manifest's console is used.
    pub early_console_base: u64,
}
