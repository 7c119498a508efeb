// SPDX-License-Identifier: MIT OR Apache-2.0
//! Validation of the (IPA, level) arguments the RTT and DATA commands take, with the
//! reference RMM's rules (TF-RMM `validate_rtt_*_cmds` and `validate_map_addr`;
//! `docs/reference/tf-rmm-rel0-facts.md` §1.4). Every failure is `RMI_ERROR_INPUT`.

use super::error::RmiError;
use crate::rtt::level::RttLevel;
use crate::rtt::walk::Stage2;

/// Lowest level at which an entry may map memory (a block or an unprotected mapping).
pub const MIN_BLOCK_LEVEL: u8 = 1;

/// `ipa` is inside the IPA space and aligned to an entry at `level`.
pub fn valid_map_addr(s2: &Stage2, ipa: u64, level: RttLevel) -> bool {
    s2.in_ipa_space(ipa) && level.is_aligned(ipa)
}

/// `raw` as a level, if it is one this RMM implements.
fn level_of(raw: u64) -> Result<RttLevel, RmiError> {
    RttLevel::new(raw as i64).ok_or(RmiError::Input)
}

/// RTT_CREATE, RTT_DESTROY, RTT_FOLD: `level` is a table level below the start level, and
/// `ipa` is aligned to the *parent* entry that maps the table. Returns (level, parent level).
pub fn table_args(s2: &Stage2, ipa: u64, raw_level: u64) -> Result<(RttLevel, RttLevel), RmiError> {
    let level = level_of(raw_level)?;
    let parent = level.parent().ok_or(RmiError::Input)?;
    if parent < s2.start_level || !valid_map_addr(s2, ipa, parent) {
        return Err(RmiError::Input);
    }
    Ok((level, parent))
}

/// RTT_MAP_UNPROTECTED / RTT_UNMAP_UNPROTECTED: the level alone (checked before the RD is
/// looked up): 1..=3.
pub fn mapping_level(raw_level: u64) -> Result<RttLevel, RmiError> {
    let level = level_of(raw_level)?;
    if level.get() < MIN_BLOCK_LEVEL {
        return Err(RmiError::Input);
    }
    Ok(level)
}

/// RTT_READ_ENTRY: `level` from the start level to 3, `ipa` aligned to it.
pub fn entry_args(s2: &Stage2, ipa: u64, raw_level: u64) -> Result<RttLevel, RmiError> {
    let level = level_of(raw_level)?;
    if level < s2.start_level || !valid_map_addr(s2, ipa, level) {
        return Err(RmiError::Input);
    }
    Ok(level)
}

/// DATA_* commands: a page-aligned IPA in the protected half.
pub fn data_ipa(s2: &Stage2, ipa: u64) -> Result<(), RmiError> {
    if !s2.in_par(ipa) || !valid_map_addr(s2, ipa, RttLevel::LEAF) {
        return Err(RmiError::Input);
    }
    Ok(())
}

/// Largest PA + 1 a realm without LPA2 may map (tables and data granules included).
pub const PA_LIMIT: u64 = 1 << 48;
