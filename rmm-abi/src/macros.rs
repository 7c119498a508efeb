// SPDX-License-Identifier: MIT OR Apache-2.0
//! Crate-internal macros that generate the repetitive parts of ABI enums, flag words and
//! command tables (checked decoding from register values, `ALL` lists, names).

/// Defines a fieldless `#[repr(int)]` enum whose variants are ABI values, with a checked
/// `from_u64`, `as_u64`, `ALL` and `TryFrom<u64>`.
///
/// Negative discriminants (for `i64` enums) decode from and encode to their two's-complement
/// `u64` register value.
macro_rules! abi_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// Decodes a register value; `None` if it is not one of the defined values.
            pub const fn from_u64(value: u64) -> Option<Self> {
                $(
                    if value == ($name::$variant as $repr) as u64 {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The value as written to a 64-bit register (two's complement if negative).
            pub const fn as_u64(self) -> u64 {
                (self as $repr) as u64
            }
        }

        impl TryFrom<u64> for $name {
            type Error = u64;

            /// Checked decode; the error carries the rejected value.
            fn try_from(value: u64) -> Result<Self, u64> {
                match Self::from_u64(value) {
                    Some(v) => Ok(v),
                    None => Err(value),
                }
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> u64 {
                value.as_u64()
            }
        }
    };
}

/// Defines a `#[repr(transparent)]` newtype over a `u64` flag word with named bit constants
/// and checked/truncating constructors.
macro_rules! abi_flags {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fmeta:meta])* const $flag:ident = $value:expr; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        #[repr(transparent)]
        $vis struct $name(pub u64);

        impl $name {
            $( $(#[$fmeta])* pub const $flag: Self = Self($value); )+

            /// No flag set.
            pub const EMPTY: Self = Self(0);

            /// Every defined flag set; any other bit is reserved (must be zero).
            pub const ALL: Self = Self(0 $(| $value)+);

            /// The raw flag word.
            pub const fn bits(self) -> u64 {
                self.0
            }

            /// Checked decode: `None` if any reserved bit is set.
            pub const fn from_bits(bits: u64) -> Option<Self> {
                if bits & !Self::ALL.0 == 0 { Some(Self(bits)) } else { None }
            }

            /// Decode keeping only the defined bits.
            pub const fn from_bits_truncate(bits: u64) -> Self {
                Self(bits & Self::ALL.0)
            }

            /// True if every bit of `other` is set in `self`.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// True if no bit is set.
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// Bitwise union.
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;

            fn bitor(self, rhs: Self) -> Self {
                self.union(rhs)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: Self) {
                *self = self.union(rhs);
            }
        }
    };
}

/// Defines a command enum from a table of `Variant => FID, "NAME"` rows, with `ALL`,
/// `fid()`, `name()` and `from_fid()` (which strips the SMCCC SVE hint bit and rejects any
/// value that is not exactly one of the listed FIDs, including values with bits 63:32 set).
macro_rules! command_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $fid:expr, $str:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every command, in FID order.
            pub const ALL: [$name; [$($str),+].len()] = [$($name::$variant),+];

            /// Decodes an SMC function identifier (x0). The SVE hint bit is stripped first;
            /// `None` for anything that is not one of these commands.
            pub const fn from_fid(fid: u64) -> Option<Self> {
                let fid = $crate::smc::strip_sve_hint(fid);
                $(
                    if fid == $fid as u64 {
                        return Some($name::$variant);
                    }
                )+
                None
            }

            /// The command's function identifier (without the SVE hint).
            pub const fn fid(self) -> u32 {
                match self {
                    $( $name::$variant => $fid ),+
                }
            }

            /// The command's name as spelled in the specification.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $str ),+
                }
            }
        }
    };
}
