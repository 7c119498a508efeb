// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `Ripas` scenario: the realm changes the RIPAS of [`RIPAS_REGION`] with
//! RSI_IPA_STATE_SET and checks every outcome the host can give it (accepted in several
//! RTT_SET_RIPAS calls, rejected, partly done, refused for DESTROYED memory unless the realm
//! allows it), what its memory then does (RAM is populated on first touch, EMPTY memory and
//! IPAs outside its space raise a synchronous external abort in the realm), and that bad
//! requests never reach the host. The hypervisor's answer to each change is chosen by the
//! realm beforehand with a `RipasPolicy` host call.

use crate::scenarios::{Checks, ipa_width};
use crate::{exceptions, host_call, rsi};
use realm_protocol::{HostCallCode, RIPAS_REGION, RipasPolicy, check};
use rmm_abi::rsi::fid;

const SUCCESS: u64 = 0;
const ERROR_INPUT: u64 = 1;
const EMPTY: u64 = 0;
const RAM: u64 = 1;
const DESTROYED: u64 = 2;
const ACCEPT: u64 = 0;
const REJECT: u64 = 1;
const CHANGE_DESTROYED: u64 = 1;
const PAGE: u64 = 0x1000;
/// ESR_EL1.EC of a data abort taken from the current EL.
const EC_DABT_CURRENT: u64 = 0x25;

/// RSI_IPA_STATE_SET → (status, first address not changed, ACCEPT/REJECT).
fn set(base: u64, top: u64, ripas: u64, flags: u64) -> [u64; 3] {
    let r = rsi::call(fid::IPA_STATE_SET, &[base, top, ripas, flags]);
    [r[0], r[1], r[2]]
}

/// RSI_IPA_STATE_GET → (status, end of the run, RIPAS).
fn get(base: u64, top: u64) -> [u64; 3] {
    let r = rsi::call(fid::IPA_STATE_GET, &[base, top]);
    [r[0], r[1], r[2]]
}

fn policy(policy: RipasPolicy, pages: u64) {
    host_call::call(HostCallCode::RipasPolicy, &[policy as u64, pages]);
}

/// Writes `value` to `ipa` and reads it back.
fn touch(ipa: u64, value: u64) -> u64 {
    let p = ipa as *mut u64;
    // SAFETY: `ipa` is protected memory of this realm with RIPAS RAM, which the hypervisor
    // populates on the first access; nothing else uses it.
    unsafe {
        p.write_volatile(value);
        p.read_volatile()
    }
}

/// Reads `ipa`, which must fault; returns ESR_EL1 of the exception the realm took.
fn faulting_read(ipa: u64) -> u64 {
    exceptions::expect();
    // SAFETY: the read raises a synchronous external abort (the RMM injects it), which the
    // handler records and steps over; no memory is accessed.
    unsafe { core::ptr::read_volatile(ipa as *const u64) };
    exceptions::taken().unwrap_or(u64::MAX)
}

/// Runs the checks; `region` is [`RIPAS_REGION`]'s base as the hypervisor passed it.
pub fn run(region: u64) -> u64 {
    let mut c = Checks::new();
    let (base, top) = RIPAS_REGION;
    let a = (base, base + 8 * PAGE);
    let b = (base + 8 * PAGE, top);
    let par_end = 1 << (ipa_width() - 1);

    let bad = [
        set(a.0, a.0 + PAGE, DESTROYED, 0)[0],
        set(a.0 + 8, a.1, RAM, 0)[0],
        set(a.0, a.0, RAM, 0)[0],
        set(a.1, a.0, RAM, 0)[0],
        set(par_end - PAGE, par_end + PAGE, RAM, 0)[0],
    ];
    c.report(
        const { check("ripas.bad_arguments") },
        region == base && bad == [ERROR_INPUT; 5],
        &bad,
    );

    let initial = get(base, top);
    c.report(
        const { check("ripas.initially_empty") },
        initial == [SUCCESS, top, EMPTY],
        &initial,
    );

    policy(RipasPolicy::Accept, 0);
    let done = set(a.0, a.1, RAM, 0);
    let now = get(a.0, a.1);
    c.report(
        const { check("ripas.set_ram_accepted") },
        done == [SUCCESS, a.1, ACCEPT] && now == [SUCCESS, a.1, RAM],
        &[done[0], done[1], done[2], now[1], now[2]],
    );

    let values = [touch(a.0, 0x1111_AAAA), touch(a.0 + PAGE, 0x2222_BBBB)];
    c.report(
        const { check("ripas.ram_populated_on_touch") },
        values == [0x1111_AAAA, 0x2222_BBBB],
        &values,
    );

    policy(RipasPolicy::Accept, 0);
    let done = set(a.0, a.0 + PAGE, EMPTY, 0);
    let now = get(a.0, a.1);
    c.report(
        const { check("ripas.set_empty_accepted") },
        done == [SUCCESS, a.0 + PAGE, ACCEPT] && now == [SUCCESS, a.0 + PAGE, EMPTY],
        &[done[0], done[1], done[2], now[1], now[2]],
    );

    let esr = faulting_read(a.0);
    c.report(
        const { check("ripas.empty_access_sea") },
        esr >> 26 == EC_DABT_CURRENT,
        &[esr],
    );

    policy(RipasPolicy::Reject, 0);
    let done = set(b.0, b.1, RAM, 0);
    let now = get(b.0, b.1);
    c.report(
        const { check("ripas.rejected") },
        done == [SUCCESS, b.0, REJECT] && now == [SUCCESS, b.1, EMPTY],
        &[done[0], done[1], done[2], now[1], now[2]],
    );

    policy(RipasPolicy::Partial, 1);
    let first = set(b.0, b.1, RAM, 0);
    policy(RipasPolicy::Accept, 0);
    let rest = set(first[1], b.1, RAM, 0);
    let now = get(b.0, b.1);
    c.report(
        const { check("ripas.partial") },
        first == [SUCCESS, b.0 + PAGE, ACCEPT]
            && rest == [SUCCESS, b.1, ACCEPT]
            && now == [SUCCESS, b.1, RAM],
        &[first[1], first[2], rest[1], rest[2], now[1], now[2]],
    );

    // The host takes a populated page away: DESTROYED, and a change to RAM needs the
    // realm's explicit consent.
    let victim = a.0 + PAGE;
    host_call::call(HostCallCode::DestroyPage, &[victim]);
    let state = get(victim, victim + PAGE);
    policy(RipasPolicy::Accept, 0);
    let refused = set(victim, victim + PAGE, RAM, 0);
    c.report(
        const { check("ripas.destroyed") },
        state == [SUCCESS, victim + PAGE, DESTROYED] && refused == [SUCCESS, victim, ACCEPT],
        &[state[1], state[2], refused[0], refused[1], refused[2]],
    );
    policy(RipasPolicy::Accept, 0);
    let done = set(victim, victim + PAGE, RAM, CHANGE_DESTROYED);
    let now = get(victim, victim + PAGE);
    let fresh = touch(victim + 8, 0x3333_CCCC);
    // SAFETY: the page is RAM again and was just populated by `touch`.
    let first_word = unsafe { core::ptr::read_volatile(victim as *const u64) };
    c.report(
        const { check("ripas.destroyed_changes_with_flag") },
        done == [SUCCESS, victim + PAGE, ACCEPT]
            && now == [SUCCESS, victim + PAGE, RAM]
            && fresh == 0x3333_CCCC
            && first_word == 0,
        &[done[1], done[2], now[2], fresh, first_word],
    );

    let esr = faulting_read(1 << ipa_width());
    c.report(
        const { check("ripas.outside_ipa_space_sea") },
        esr >> 26 == EC_DABT_CURRENT,
        &[esr],
    );
    c.failures()
}
