// SPDX-License-Identifier: MIT OR Apache-2.0
//! RSI_ATTEST_TOKEN_INIT and RSI_ATTEST_TOKEN_CONTINUE (reference C.4; TF-RMM
//! `runtime/rsi/realm_attest.c`): the realm asks for a CCA attestation token bound to its
//! 64-byte challenge and collects it in chunks into its own memory.
//!
//! The REC's [`TokenSession`] lives in its first auxiliary granule and a CSM realm's CSM
//! claims in the next ones ([`crate::realm::rec_attest`]); the key is reached only through
//! [`crate::attestation::Attestation`]. Order of checks in CONTINUE, as TF-RMM's:
//!
//! 1. the buffer IPA granule-aligned, `offset < 4096`, `offset + size <= 4096` (no wrap):
//!    else RSI_ERROR_INPUT;
//! 2. the IPA in the protected half (PAR): else RSI_ERROR_INPUT;
//! 3. no token in progress (no INIT, or the last byte already copied): RSI_ERROR_STATE;
//! 4. not signed yet: sign, in `attest::token::es384::STEPS` bounded steps, checking for a
//!    pending host interrupt after each one; if one is pending the call returns
//!    RSI_INCOMPLETE with x1 = 0 (nothing copied, PC past the SMC) and the REC exits to the
//!    host with `RMI_EXIT_IRQ`: the realm calls CONTINUE again when it next runs (as Linux's
//!    arm-cca-guest loops on INCOMPLETE), and signing resumes from the step it stopped after
//!    (the progress is part of the saved session);
//! 5. the buffer page walked: RIPAS EMPTY → RSI_ERROR_INPUT; not mapped (RAM or DESTROYED)
//!    → emulated stage-2 abort to the host, the SMC re-executed after the host maps it;
//! 6. `min(size, remaining)` bytes copied to `[offset, offset + size)` of the page: x0 =
//!    RSI_INCOMPLETE while bytes remain, RSI_SUCCESS with the last, x1 = bytes copied.
//!
//! INIT always restarts: it abandons any token in progress. With no attestation material
//! (EL3 failed at boot) it answers RSI_ERROR_UNKNOWN.

use super::answer::Answer;
use super::args::{AttestContinueArgs, AttestInitArgs};
use crate::arch::Machine;
use crate::attestation::Attestation;
use crate::exec::RecEnv;
use crate::exec::realm_memory::{Access, Unreachable, with_granule};
use crate::granule::GranuleAddr;
use crate::locks;
use crate::realm::descriptor::Rd;
use crate::realm::rec_attest::SessionSlot;
use crate::sharing::store::empty_cell;
use crate::sharing::token::AptShares;
use attest::sha::Sha2Engine;
use attest::token::rsi::{ContinueArgs, challenge_from_regs};
use attest::token::session::Phase;
use attest::token::{
    ClaimsStore, Continue, CsmClaims, RealmClaims, SignStatus, TokenError, TokenSession,
};
use rmm_abi::measurement::{Measurement, NUM_REMS};
use rmm_abi::rmi::exit::RecExitReason;
use rmm_abi::rmi::states::Ripas;
use rmm_abi::rsi::status::RsiStatus;

/// Bytes copied per step from the token stream into the realm's page.
const COPY_CHUNK: usize = 256;

/// Handles RSI_ATTEST_TOKEN_INIT(x1..x8 = challenge): x1 = the token's exact length.
///
/// A CSM realm's token carries its CSM claims (65001, 65002): a snapshot of its APT taken
/// here under the CSM lock, which is taken before the RD lock (`docs/locking.md`); a pending
/// host interrupt while waiting for it exits with `RMI_EXIT_IRQ`, the call not made.
// Out of line, answering in a few words (`Answer`): its frame (the token session, the claims)
// stays off REC_ENTER's, which every exit pays.
#[inline(never)]
pub fn init<M: Machine>(env: &RecEnv<'_, M>, args: &AttestInitArgs) -> Answer {
    // Unlocked hint (the REC keeps its RD an RD); the CSM part reads the index again under
    // the CSM lock. It is out of line, so that this path (and its frame) stays as it is
    // without CSM.
    if cfg!(feature = "csm") && Rd::new(env.machine, env.rd).apt().is_some() {
        return init_csm(env, args);
    }
    init_with_csm(env, args, None)
}

/// [`init`] of a realm with an APT: under the CSM lock (a host interrupt while waiting for it
/// exits with `RMI_EXIT_IRQ`, the call not made), its table's words copied into this frame and
/// its shares read from them as the token encoder asks (`sharing::token::AptShares`).
#[inline(never)]
fn init_csm<M: Machine>(env: &RecEnv<'_, M>, args: &AttestInitArgs) -> Answer {
    let Some(guard) = env.monitor.csm.lock_for_realm(env.machine) else {
        return Answer::Restart(RecExitReason::Irq, 0, 0);
    };
    let mut cell = empty_cell();
    match AptShares::read(&guard, env.machine, env.rd, cell.get_mut()) {
        Some((realm_id, shares)) => init_with_csm(
            env,
            args,
            Some(CsmClaims {
                realm_id,
                shares: &shares,
            }),
        ),
        // The APT went between the hint and the lock: no CSM claims.
        None => init_with_csm(env, args, None),
    }
}

/// [`init`] with the realm's CSM claims (`Some` exactly when the realm has an APT), which go
/// into the token after the REMs and into the REC's claims store.
pub fn init_with_csm<M: Machine>(
    env: &RecEnv<'_, M>,
    args: &AttestInitArgs,
    csm: Option<CsmClaims<'_>>,
) -> Answer {
    let Some(slot) = SessionSlot::of(&env.rec) else {
        return Answer::status(RsiStatus::ErrorUnknown);
    };
    let mut session = TokenSession::new();
    let Some(attestation) = env.monitor.attestation.get() else {
        // Whatever was in progress is abandoned, as by any INIT.
        slot.store(env.machine, &session);
        return Answer::status(RsiStatus::ErrorUnknown);
    };
    let challenge = challenge_from_regs(&args.challenge);
    let measured = {
        let _rd = locks::running_rd(&env.monitor.granules, env.rd);
        let rd = Rd::new(env.machine, env.rd);
        let rems: [Measurement; NUM_REMS] = core::array::from_fn(|i| rd.rem(i));
        (rd.rpv(), rd.rim(), rems)
    };
    let (rpv, rim, rems) = &measured;
    let claims = RealmClaims {
        challenge: &challenge,
        personalization: rpv,
        public_key: attestation.public_key(),
        hash_algo: env.realm.hash,
        rim,
        rems,
        csm,
    };
    let result = session.init_with(
        &mut slot.claims(env.machine),
        &claims,
        attestation.platform_token().len(),
    );
    slot.store(env.machine, &session);
    match result {
        Ok(len) => Answer::Return([RsiStatus::Success.as_u64(), len as u64, 0, 0]),
        Err(error) => Answer::status(error.rsi_status()),
    }
}

/// Handles RSI_ATTEST_TOKEN_CONTINUE(x1 = buffer IPA, x2 = offset, x3 = size).
// Out of line, answering in a few words (`Answer`): its frame (the token session, the claims)
// stays off REC_ENTER's, which every exit pays.
#[inline(never)]
pub fn continue_token<M: Machine>(env: &RecEnv<'_, M>, args: AttestContinueArgs) -> Answer {
    let args = match ContinueArgs::from_regs(args.ipa, args.offset, args.size) {
        Ok(args) => args,
        Err(status) => return Answer::status(status),
    };
    if !env.realm.s2.in_par(args.ipa) {
        return Answer::status(RsiStatus::ErrorInput);
    }
    let (Some(slot), Some(attestation)) =
        (SessionSlot::of(&env.rec), env.monitor.attestation.get())
    else {
        // No material means no INIT ever succeeded.
        return Answer::status(RsiStatus::ErrorState);
    };
    let machine = env.machine;
    let mut session = slot.load(machine);
    let store = slot.claims(machine);
    match session.phase() {
        Phase::Idle => return Answer::status(RsiStatus::ErrorState),
        Phase::Unsigned => {
            let engine = machine.sha2_engine();
            let signed = sign(attestation, engine, &mut session, &store, || {
                machine.host_irq_pending()
            });
            slot.store(machine, &session);
            match signed {
                Ok(SignStatus::Done) => {}
                // A host interrupt is pending: the call completes with RSI_INCOMPLETE and
                // nothing copied (x1 = 0), and the REC exits to the host with RMI_EXIT_IRQ;
                // the realm calls CONTINUE again, which resumes signing (TF-RMM's
                // `handle_rsi_attest_token_continue`; the specification's flow D1.7.2).
                Ok(SignStatus::InProgress) => {
                    return Answer::ReturnAndExit(
                        [RsiStatus::Incomplete.as_u64(), 0, 0, 0],
                        RecExitReason::Irq,
                    );
                }
                Err(error) => return Answer::status(error.rsi_status()),
            }
        }
        Phase::Signed { .. } => {}
    }
    let copied = with_granule(
        &env.monitor.granules,
        machine,
        &env.realm.s2,
        args.ipa,
        Access::Write,
        |page| copy_to_realm(machine, attestation, &mut session, &store, page, args),
    );
    match copied {
        Ok(result) => {
            slot.store(machine, &session);
            match result {
                Ok(done) => Answer::Return([done.rsi_status().as_u64(), done.written(), 0, 0]),
                Err(error) => Answer::status(error.rsi_status()),
            }
        }
        Err(Unreachable::NotMapped { level, ripas }) if ripas != Ripas::Empty => {
            Answer::Stage2Abort(level, args.ipa)
        }
        Err(_) => Answer::status(RsiStatus::ErrorInput),
    }
}

/// Signs `session`, asking `pending` after every step (the last one included) whether a host
/// interrupt waits: `InProgress` means stop for the host (what is signed so far is kept in
/// the session), `Done` means signed and nothing pending. Out of line: the signing steps are
/// the deepest path on a CPU's own stack, and inlined here their temporaries would sit in
/// `continue_token`'s frame under every step.
#[inline(never)]
fn sign(
    attestation: &Attestation,
    engine: &dyn Sha2Engine,
    session: &mut TokenSession,
    store: &impl ClaimsStore,
    mut pending: impl FnMut() -> bool,
) -> Result<SignStatus, TokenError> {
    // `continue_token` with no room signs (stepping, asking after each step) and copies
    // nothing.
    match attestation.continue_token(session, store, engine, &mut [], &mut pending)? {
        Continue::Yield => Ok(SignStatus::InProgress),
        Continue::Incomplete { .. } | Continue::Done { .. } => Ok(SignStatus::Done),
    }
}

/// Copies the next bytes of the signed token to `[offset, offset + size)` of the realm's
/// `page`, in chunks, writing only those bytes.
#[inline(never)]
fn copy_to_realm<M: Machine>(
    machine: &M,
    attestation: &Attestation,
    session: &mut TokenSession,
    store: &impl ClaimsStore,
    page: GranuleAddr,
    args: ContinueArgs,
) -> Result<Continue, TokenError> {
    let mut chunk = [0u8; COPY_CHUNK];
    let mut written = 0;
    loop {
        let want = (args.size - written).min(COPY_CHUNK);
        let step = attestation.continue_token(
            session,
            store,
            machine.sha2_engine(),
            &mut chunk[..want],
            || false,
        )?;
        // At most `want` (what the session was given); the bound also spares the copy a
        // bounds check.
        let n = (step.written() as usize).min(want);
        machine.write_realm_bytes(page, args.offset + written, &chunk[..n]);
        written += n;
        match step {
            Continue::Done { .. } => return Ok(Continue::Done { written }),
            Continue::Yield | Continue::Incomplete { .. } if n < want || written == args.size => {
                return Ok(Continue::Incomplete { written });
            }
            Continue::Yield | Continue::Incomplete { .. } => {}
        }
    }
}
