//! RSI_IPA_STATE_GET: the RIPAS of a range of the realm's protected memory.

use super::RsiAction;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::realm_memory::ripas_run;
use rmm_abi::rsi::status::RsiStatus;

/// Handles RSI_IPA_STATE_GET(x1 = base, x2 = top): x1 = the end of the run of entries from
/// `base` with the same RIPAS (at most `top`, and never past the last-level table that maps
/// `base`), x2 = that RIPAS.
pub fn get<M: Machine>(env: &RecEnv<'_, M>, base: u64, top: u64) -> RsiAction {
    let s2 = &env.realm.s2;
    let granule = crate::GRANULE_SIZE as u64;
    let valid = base.is_multiple_of(granule)
        && s2.in_par(base)
        && top.is_multiple_of(granule)
        && top != 0
        && s2.in_par(top - 1)
        && base < top;
    if !valid {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    match ripas_run(&env.monitor.granules, env.machine, s2, base, top) {
        Some((end, ripas)) => {
            RsiAction::Return([RsiStatus::Success.as_u64(), end, ripas as u64, 0])
        }
        None => RsiAction::status(RsiStatus::ErrorInput),
    }
}
