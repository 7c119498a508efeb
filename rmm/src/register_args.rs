// SPDX-License-Identifier: MIT OR Apache-2.0
//! The one macro that names a call's argument registers: `rmi/args.rs` (the host's RMI
//! commands) and `rsi/args.rs` (the realm's RSI, PSCI and CSM calls) declare their argument
//! structs with it. A leaf: it names no other module; each user says where its registers are.
//!
//! Decoding is only naming: each field is the raw 64-bit register, because which check fails
//! first is part of the ABI, so validation stays in the handlers.

/// Defines argument structs whose fields are named argument registers.
///
/// `register_args! { Source, |x| registers; Name { field = x 1, ... } ... }` gives each
/// `Name` a `decode(x: &Source)` that reads `registers[n]` into each field (`registers` is an
/// expression over `x` that indexes like `[u64; N]`).
macro_rules! register_args {
    (
        $source:ty, |$x:ident| $registers:expr;
        $(
            $(#[$meta:meta])*
            $name:ident { $( $(#[$fmeta:meta])* $field:ident = x $reg:literal ),+ $(,)? }
        )+
    ) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: u64, )+
        }

        impl $name {
            /// Names the argument registers of the call.
            #[inline(always)]
            pub const fn decode($x: &$source) -> Self {
                Self { $( $field: $registers[$reg], )+ }
            }
        }
    )+};
}

pub(crate) use register_args;
