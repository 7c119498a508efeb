// SPDX-License-Identifier: MIT OR Apache-2.0
//! The pointer-authentication scenario ([`realm_protocol::Scenario::Pauth`]): each REC's
//! PAuth keys are its own, start zero, and survive an exit to the host while another REC
//! runs with keys of its own on the same CPU.
//!
//! PAC instructions are written as `.inst` words with fixed registers, so the assembler
//! needs no PAuth extension: PACIA x0, x1; AUTIA x0, x1; PACGA x0, x1, x2.

use crate::host_call;
use crate::scenarios::Checks;
use realm_protocol::{HostCallCode, check};

/// SCTLR_EL1.EnIA, EnIB, EnDA, EnDB: the four address keys are used.
const SCTLR_EN_KEYS: u64 = 1 << 31 | 1 << 30 | 1 << 27 | 1 << 13;

/// The pointer and modifier signed.
const POINTER: u64 = 0x0000_0000_4012_3458;
const MODIFIER: u64 = 0x0123_4567_89AB_CDEF;

macro_rules! key_registers {
    ($($index:literal => $reg:literal),* $(,)?) => {
        /// Reads the ten key registers (APIA, APIB, APDA, APDB, APGA; Lo then Hi).
        fn read_keys() -> [u64; 10] {
            let mut keys = [0; 10];
            $(
                // SAFETY: reading one of the realm's own key registers has no side effect.
                unsafe {
                    core::arch::asm!(concat!("mrs {}, ", $reg), out(reg) keys[$index],
                        options(nomem, nostack))
                };
            )*
            keys
        }

        /// Writes the ten key registers.
        fn write_keys(keys: &[u64; 10]) {
            $(
                // SAFETY: the key registers are the realm's own; nothing here signs with
                // them until this scenario does.
                unsafe {
                    core::arch::asm!(concat!("msr ", $reg, ", {}"), in(reg) keys[$index],
                        options(nomem, nostack))
                };
            )*
            // SAFETY: a barrier.
            unsafe { core::arch::asm!("isb", options(nomem, nostack)) };
        }
    };
}

key_registers! {
    0 => "S3_0_C2_C1_0",
    1 => "S3_0_C2_C1_1",
    2 => "S3_0_C2_C1_2",
    3 => "S3_0_C2_C1_3",
    4 => "S3_0_C2_C2_0",
    5 => "S3_0_C2_C2_1",
    6 => "S3_0_C2_C2_2",
    7 => "S3_0_C2_C2_3",
    8 => "S3_0_C2_C3_0",
    9 => "S3_0_C2_C3_1",
}

/// PACIA: `pointer` signed with APIAKey and `modifier`.
fn pacia(pointer: u64, modifier: u64) -> u64 {
    let signed: u64;
    // SAFETY: computes a value from registers only.
    unsafe {
        core::arch::asm!(".inst 0xdac10020", inout("x0") pointer => signed, in("x1") modifier,
            options(nomem, nostack))
    };
    signed
}

/// AUTIA: `signed` authenticated with APIAKey and `modifier` (with FEAT_FPAC a failure
/// is an exception, which the realm reports as unexpected).
fn autia(signed: u64, modifier: u64) -> u64 {
    let pointer: u64;
    // SAFETY: computes a value from registers only.
    unsafe {
        core::arch::asm!(".inst 0xdac11020", inout("x0") signed => pointer, in("x1") modifier,
            options(nomem, nostack))
    };
    pointer
}

/// PACGA: the generic code of `value` and `modifier` under APGAKey.
fn pacga(value: u64, modifier: u64) -> u64 {
    let code: u64;
    // SAFETY: computes a value from registers only.
    unsafe {
        core::arch::asm!(".inst 0x9ac23020", out("x0") code, in("x1") value, in("x2") modifier,
            options(nomem, nostack))
    };
    code
}

/// Opens the address keys for EL1 (SCTLR_EL1.EnIA/EnIB/EnDA/EnDB).
fn enable_address_keys() {
    // SAFETY: SCTLR_EL1 is the realm's own; this code has no signed return addresses, so
    // turning the keys on changes only what the PAC instructions below compute.
    unsafe {
        core::arch::asm!(
            "mrs {t}, sctlr_el1",
            "orr {t}, {t}, {en}",
            "msr sctlr_el1, {t}",
            "isb",
            t = out(reg) _,
            en = in(reg) SCTLR_EN_KEYS,
            options(nostack),
        )
    };
}

/// The first key index where `a` and `b` differ, and `a`'s value there.
fn first_difference(a: &[u64; 10], b: &[u64; 10]) -> [u64; 2] {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .map_or([u64::MAX, 0], |i| [i as u64, a[i]])
}

/// Runs the scenario with the key pattern of `seed` (and this REC's MPIDR).
pub fn run(seed: u64) -> u64 {
    let mut c = Checks::new();
    let mpidr: u64;
    // SAFETY: reading MPIDR_EL1 has no side effects.
    unsafe { core::arch::asm!("mrs {}, mpidr_el1", out(reg) mpidr, options(nomem, nostack)) };
    let rec = mpidr & 0xF;
    let names = if rec == 0 {
        [
            const { check("pauth.keys_start_zeroed") },
            const { check("pauth.pac_signs") },
            const { check("pauth.keys_survive_exit") },
        ]
    } else {
        [
            const { check("pauth.rec1_keys_start_zeroed") },
            const { check("pauth.rec1_pac_signs") },
            const { check("pauth.rec1_keys_survive_exit") },
        ]
    };
    let seed = seed ^ rec << 32;
    let (isar1, isar2): (u64, u64);
    // SAFETY: reading ID registers has no side effects (the reads trap to the RMM).
    unsafe {
        core::arch::asm!("mrs {}, S3_0_C0_C6_1", "mrs {}, S3_0_C0_C6_2",
            out(reg) isar1, out(reg) isar2, options(nomem, nostack))
    };
    let field = |value: u64, shift: u32| (value >> shift) & 0xF;
    // APA, API, APA3; GPA, GPI, GPA3. QEMU's `max` CPU has address and generic
    // authentication, so the RMM must show both.
    let address = field(isar1, 4) | field(isar1, 8) | field(isar2, 12);
    let generic = field(isar1, 24) | field(isar1, 28) | field(isar2, 8);
    if rec == 0 {
        c.report(
            const { check("pauth.advertised") },
            address != 0 && generic != 0,
            &[isar1, isar2],
        );
    }

    // The keys are the REC's: zero from REC_CREATE, whatever REC 0 (which the hypervisor
    // leaves waiting while REC 1 runs) put in its own.
    let start = read_keys();
    c.report(
        names[0],
        start == [0; 10],
        &first_difference(&start, &[0; 10]),
    );

    let keys: [u64; 10] = core::array::from_fn(|i| {
        (seed ^ 0x5EED_0000_0000_0000).wrapping_mul(0x9E37_79B9_7F4A_7C15 + 2 * i as u64) | 1
    });
    enable_address_keys();
    write_keys(&keys);
    let signed = pacia(POINTER, MODIFIER);
    let code = pacga(POINTER, MODIFIER);
    let authenticated = if signed != POINTER {
        autia(signed, MODIFIER)
    } else {
        0
    };
    c.report(
        names[1],
        signed != POINTER && authenticated == POINTER && code != 0,
        &[signed, authenticated, code],
    );

    // Out to the host (which runs REC 1 meanwhile, if this is REC 0) and back.
    host_call::call(HostCallCode::Echo, &[seed]);
    let after = read_keys();
    let signed_after = pacia(POINTER, MODIFIER);
    let code_after = pacga(POINTER, MODIFIER);
    // Authenticate only what is known to carry this realm's signature: with FEAT_FPAC a
    // wrong key would raise an exception rather than fail the check.
    let authenticated = if after == keys && signed_after == signed {
        autia(signed, MODIFIER)
    } else {
        0
    };
    let diff = first_difference(&after, &keys);
    c.report(
        names[2],
        after == keys && signed_after == signed && code_after == code && authenticated == POINTER,
        &[diff[0], diff[1], signed_after, code_after, authenticated],
    );
    c.failures()
}
