// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_MEASUREMENT_READ and RSI_MEASUREMENT_EXTEND: the RIM (index 0) and the four REMs.

use super::RsiAction;
use super::answer::Answer;
use super::args::{MeasurementExtendArgs, MeasurementReadArgs};
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::locks;
use crate::realm::descriptor::{REM_COUNT, Rd};
use attest::measurement::extend_rem;
use rmm_abi::rsi::status::RsiStatus;

/// Handles RSI_MEASUREMENT_READ(x1 = index): x1..x8 = the measurement's little-endian words
/// (zero past the hash length).
pub fn read<M: Machine>(env: &RecEnv<'_, M>, args: MeasurementReadArgs) -> RsiAction {
    let MeasurementReadArgs { index } = args;
    if index > REM_COUNT as u64 {
        return RsiAction::status(RsiStatus::ErrorInput);
    }
    let _rd = locks::running_rd(&env.monitor.granules, env.rd);
    let realm = Rd::new(env.machine, env.rd);
    let value = match index {
        0 => realm.rim(),
        n => realm.rem(n as usize - 1),
    };
    let mut regs = [0u64; 9];
    for (slot, chunk) in regs[1..].iter_mut().zip(value.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *slot = u64::from_le_bytes(word);
    }
    RsiAction::ReturnWide(regs)
}

/// Handles RSI_MEASUREMENT_EXTEND(x1 = index 1..=4, x2 = size ≤ 64, x3..x10 = value).
// Out of line, answering in a few words (`Answer`): its hashing frame stays off REC_ENTER's,
// which every exit pays.
#[inline(never)]
pub fn extend<M: Machine>(env: &RecEnv<'_, M>, args: &MeasurementExtendArgs) -> Answer {
    let (index, size) = (args.index, args.size);
    let _rd = locks::running_rd(&env.monitor.granules, env.rd);
    if index == 0 || index > REM_COUNT as u64 || size > 64 {
        return Answer::status(RsiStatus::ErrorInput);
    }
    let mut value = [0u8; 64];
    for (chunk, word) in value.chunks_exact_mut(8).zip(&args.value) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    let realm = Rd::new(env.machine, env.rd);
    let slot = index as usize - 1;
    match extend_rem(
        env.machine.sha2_engine(),
        env.realm.hash,
        &realm.rem(slot),
        &value[..size as usize],
    ) {
        Some(rem) => {
            realm.set_rem(slot, &rem);
            Answer::status(RsiStatus::Success)
        }
        None => Answer::status(RsiStatus::ErrorInput),
    }
}
