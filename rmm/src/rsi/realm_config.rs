// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_REALM_CONFIG: the RMM writes the realm's IPA width, hash algorithm and RPV into a
//! granule of its own memory.

use super::RsiAction;
use super::args::RealmConfigArgs;
use crate::arch::Machine;
use crate::exec::RecEnv;
use crate::exec::exit_record::ExitRecord;
use crate::exec::realm_memory::{Access, Unreachable, with_granule};
use crate::exec::stage2_abort;
use crate::locks;
use crate::realm::descriptor::Rd;
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::status::RsiStatus;

/// The word of `RsiRealmConfig.rpv` (offset 0x200).
const RPV_WORD: usize = 0x200 / 8;

/// Handles RSI_REALM_CONFIG(x1 = IPA of a protected granule). Only the three defined fields
/// are written (`hash_algo` as a whole 8-byte slot); the rest of the page is left alone, as
/// the reference RMM does.
pub fn handle<M: Machine>(
    env: &RecEnv<'_, M>,
    args: RealmConfigArgs,
    exit: &mut ExitRecord,
) -> RsiAction {
    let RealmConfigArgs { ipa } = args;
    let machine = env.machine;
    let rpv = {
        let _rd = locks::running_rd(&env.monitor.granules, env.rd);
        Rd::new(machine, env.rd).rpv_words()
    };
    let written = with_granule(
        &env.monitor.granules,
        machine,
        &env.realm.s2,
        ipa,
        Access::Write,
        |page| {
            machine.write_word(page, 0, u64::from(env.realm.s2.ipa_bits));
            machine.write_word(page, 1, env.realm.hash as u64);
            // As words: the page's mapping is not known to be aligned where the compiler
            // inlines a copy, which on this strict-alignment target it made a byte at a time.
            for (i, word) in rpv.into_iter().enumerate() {
                machine.write_word(page, RPV_WORD + i, word);
            }
        },
    );
    match written {
        Ok(()) => RsiAction::status(RsiStatus::Success),
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            stage2_abort(exit, level, ipa);
            RsiAction::Stage2Abort
        }
        Err(_) => RsiAction::status(RsiStatus::ErrorInput),
    }
}
