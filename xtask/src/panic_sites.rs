// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where the monitor can still panic, from the disassembly of the release `rmm.elf`: every
//! call (`bl`, or a branch) from any function of the image — the monitor's crates, the
//! dependencies' code and core's generic code they instantiate, after inlining — to one of
//! core's panic entry points (a failed bounds check, `unwrap`/`expect` on `None` or `Err`, a
//! failed assertion, a slice length mismatch, a `RefCell` borrowed twice, `panic!`), directly
//! or through one of the link's outlined fragments (`OUTLINED_FUNCTION_*`, shared tails of
//! cold code). The panic entry points themselves are not sites, and an outlined fragment is
//! counted as part of each function that calls it.
//!
//! A panic stops the CPU (the panic handler), so each site is a stop that a reviewer must
//! prove no host or realm input reaches. The image holds the monitor's own deliberate stop and
//! a few sites in the crates that sign tokens (their fixed-size arithmetic), each listed in
//! [`ALLOWED`] with why it cannot fire; `cargo xtask test` (group `panic-sites`) fails on any
//! other, naming the function that carries it, so a new one — in our code or in a dependency
//! after an update — is seen the day it arrives.

use crate::cmd::Result;
use std::path::Path;

/// Name fragments of core's panic entry points.
const PANIC_ENTRIES: [&str; 7] = [
    "core::panicking::",
    "core::slice::index::",
    "core::option::expect_failed",
    "core::option::unwrap_failed",
    "core::result::unwrap_failed",
    "len_mismatch_fail",
    "core::cell::panic_already",
];

/// The link's outlined fragments, followed as part of their callers.
const OUTLINED: &str = "OUTLINED_FUNCTION_";

/// The sites that stay, by the function that carries them, with why none fires.
pub const ALLOWED: [(&str, &str); 9] = [
    (
        "rmm::invariant::stop",
        "the monitor's deliberate stop for an inconsistency only an RMM bug can cause \
         (`invariant::broken`): it logs and stops the CPU through the panic handler",
    ),
    (
        "attest::token::es384::accumulate",
        "the signing schedule's digit index, below the bounds that `SCHEDULE` checks at \
         compile time",
    ),
    (
        "attest::token::session::TokenSession::sign_step_with",
        "elliptic-curve's `NonZeroScalar::invert` unwraps a `CtOption`: a non-zero scalar \
         always has an inverse modulo the prime group order",
    ),
    (
        "spin::once::Once<T,R>::try_call_once_slow",
        "spin's `Once` panics if its initialiser panicked before (poisoned); a panic stops \
         the CPU, so no initialiser ever returns to poison it",
    ),
    (
        "crypto_bigint::uint::shr::<impl crypto_bigint::uint::Uint<_>>::shr",
        "panics on a shift of the integer's width or more; its one caller is RFC 6979's \
         `bits2int` in token signing, which shifts the 384-bit value of SHA-384's 48-byte \
         digest by the digest's bits beyond the 384-bit group order: 0",
    ),
    (
        "crypto_bigint::uint::encoding::fill_limbs_from_be_slice_truncated",
        "indexes the top limb of a 6-limb integer only after returning an error if the \
         requested precision exceeds the limbs; its one caller (`bits2int`, token signing) \
         decodes the 48-byte SHA-384 digest at 384 bits",
    ),
    (
        "crypto_bigint::modular::safegcd::SignedInt<_>::lincomb_int_reduce_shift",
        "the safegcd inverter's wide shift, whose limb indices and shift amount are the \
         inverter's constants for the 6-limb P-384 moduli (token signing's `s`, and the \
         affine conversion of a point); no value changes them",
    ),
    (
        "crypto_bigint::modular::safegcd::SignedInt<_>::lincomb_int_reduce_shift_mod",
        "as `lincomb_int_reduce_shift`: limb indices and shift amount are constants of the \
         inverter",
    ),
    (
        "rfc6979::hmac_drbg::HmacDrbg<D>::hmac_k",
        "`expect`s that HMAC takes the DRBG's key `K` (a SHA-384 output): HMAC takes keys of \
         any length, so the key is always valid",
    ),
];

/// One call from the monitor's code into a panic entry point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The function that makes the call (demangled, without its hash).
    pub caller: String,
    /// The panic entry point it calls.
    pub callee: String,
}

/// The panic sites of `objdump -d --no-show-raw-insn -C` output: calls from any function
/// into a panic entry point, outlined fragments followed, one per (caller, callee) pair.
pub fn sites(disassembly: &str) -> Vec<Site> {
    // (function, callees) in address order.
    let mut functions: Vec<(String, Vec<String>)> = Vec::new();
    for line in disassembly.lines() {
        if let Some((_, rest)) = line.split_once(" <")
            && let Some(name) = rest.strip_suffix(">:")
            && !line.starts_with(' ')
        {
            functions.push((name.to_string(), Vec::new()));
            continue;
        }
        let Some((_, instruction)) = line.split_once(":\t") else {
            continue;
        };
        let mut fields = instruction.split('\t');
        let mnemonic = fields.next().unwrap_or("").trim();
        // Calls and branches, conditional ones too (a branch straight to a panic entry is
        // a call that never returns).
        let branch = matches!(mnemonic, "bl" | "b" | "cbz" | "cbnz" | "tbz" | "tbnz")
            || mnemonic.starts_with("b.");
        if !branch {
            continue;
        }
        let target = fields.next().unwrap_or("");
        let Some(callee) = target
            .split_once('<')
            .and_then(|(_, name)| name.split_once('>'))
            .map(|(name, _)| name.split('+').next().unwrap_or(name))
        else {
            continue;
        };
        if let Some((_, callees)) = functions.last_mut() {
            callees.push(callee.to_string());
        }
    }
    let panics = |name: &str| PANIC_ENTRIES.iter().any(|p| name.contains(p));
    // What each outlined fragment reaches.
    let outlined_panic = |name: &str| -> Option<String> {
        functions
            .iter()
            .find(|(f, _)| f == name)
            .and_then(|(_, callees)| callees.iter().find(|c| panics(c)).cloned())
    };
    let mut out: Vec<Site> = Vec::new();
    for (caller, callees) in &functions {
        if !is_checked(caller, panics) {
            continue;
        }
        for callee in callees {
            let reached = if panics(callee) {
                Some(callee.clone())
            } else if callee.starts_with(OUTLINED) {
                outlined_panic(callee)
            } else {
                None
            };
            if let Some(callee) = reached {
                let site = Site {
                    caller: caller.clone(),
                    callee,
                };
                if !out.contains(&site) {
                    out.push(site);
                }
            }
        }
    }
    out
}

/// True for every function but a panic entry point (`panics`) and an outlined fragment
/// (checked as part of its callers).
fn is_checked(name: &str, panics: impl Fn(&str) -> bool) -> bool {
    !panics(name) && !name.starts_with(OUTLINED)
}

/// True if `site` is one of [`ALLOWED`].
pub fn allowed(site: &Site) -> bool {
    ALLOWED.iter().any(|(f, _)| site.caller == *f)
}

/// The panic sites of the RMM image `elf`.
pub fn of_image(elf: &Path) -> Result<Vec<Site>> {
    Ok(sites(&crate::stack_depth::disassembly(elf)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIS: &str = "\
0000000040100000 <rmm::rmi::run>:
    40100000:\tbl\t40100100 <rmm::granule::table::GranuleTable::lock>
    40100004:\tbl\t40100900 <core::slice::index::slice_index_fail>
    40100008:\tbl\t40100800 <OUTLINED_FUNCTION_3>
    4010000c:\tb.ne\t40100010 <rmm::rmi::run+0x10>
    40100010:\tadr\tx3, 40100900 <core::slice::index::slice_index_fail>
0000000040100100 <rmm::invariant::stop>:
    40100100:\tbl\t40100a00 <core::panicking::panic_fmt>
0000000040100200 <<[u8] as attest::token::store::ClaimsStore>::read>:
    40100200:\tbl\t40100b00 <core::slice::copy_from_slice_impl::len_mismatch_fail>
0000000040100300 <crypto_bigint::uint::shr>:
    40100300:\tbl\t40100c00 <core::option::expect_failed>
0000000040100400 <csm::plan::Involved::add>:
    40100400:\tbl\t40100500 <csm::plan::Involved::contains>
0000000040100480 <apt::codec::checksum>:
    40100480:\tb.hs\t40100d00 <core::panicking::panic_bounds_check>
0000000040100600 <core::panicking::assert_failed_inner>:
    40100600:\tbl\t40100a00 <core::panicking::panic_fmt>
0000000040100800 <OUTLINED_FUNCTION_3>:
    40100800:\tmov\tx0, xzr
    40100804:\tb\t40100d00 <core::panicking::panic_bounds_check>
";

    fn site(caller: &str, callee: &str) -> Site {
        Site {
            caller: caller.into(),
            callee: callee.into(),
        }
    }

    #[test]
    fn finds_direct_and_outlined_calls_from_every_function() {
        let found = sites(DIS);
        assert_eq!(
            found,
            [
                site("rmm::rmi::run", "core::slice::index::slice_index_fail"),
                site("rmm::rmi::run", "core::panicking::panic_bounds_check"),
                site("rmm::invariant::stop", "core::panicking::panic_fmt"),
                site(
                    "<[u8] as attest::token::store::ClaimsStore>::read",
                    "core::slice::copy_from_slice_impl::len_mismatch_fail"
                ),
                site("crypto_bigint::uint::shr", "core::option::expect_failed"),
                site(
                    "apt::codec::checksum",
                    "core::panicking::panic_bounds_check"
                ),
            ]
        );
        // Neither a call that does not panic, nor a panic entry point or an outlined
        // fragment on its own, is a site.
        assert!(!found.iter().any(|s| s.caller.starts_with("csm::")));
        assert!(
            !found
                .iter()
                .any(|s| s.caller.starts_with("core::panicking"))
        );
        assert!(!found.iter().any(|s| s.caller.starts_with(OUTLINED)));
    }

    #[test]
    fn only_the_listed_functions_are_allowed() {
        let found = sites(DIS);
        let unlisted: Vec<&Site> = found.iter().filter(|s| !allowed(s)).collect();
        // The two of `rmm::rmi::run`, the claims store's, the shift's (listed by its full name
        // only) and the checksum's.
        assert_eq!(unlisted.len(), 5);
        assert!(allowed(&site(
            "rfc6979::hmac_drbg::HmacDrbg<D>::hmac_k",
            "core::result::unwrap_failed"
        )));
        assert!(allowed(&site(
            "rmm::invariant::stop",
            "core::panicking::panic_fmt"
        )));
    }
}
