// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CSM identities: [`RealmId`], [`RegionId`], [`ShareId`] (64-bit, never 0, never reused
//! within a boot — the allocator is in `csm`), and [`Rd`], the monitor's handle on a realm
//! (its RD granule's physical address).

use core::num::NonZeroU64;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(NonZeroU64);

        impl $name {
            /// The smallest id, 1.
            pub const MIN: Self = Self(NonZeroU64::MIN);

            /// The id with this register value; `None` for 0, which never names anything.
            pub const fn new(value: u64) -> Option<Self> {
                match NonZeroU64::new(value) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// The register value (never 0).
            pub const fn get(self) -> u64 {
                self.0.get()
            }
        }
    };
}

id_type!(
    /// A realm's CSM identity, assigned at `RMI_APT_CREATE`, reported in its token.
    RealmId
);
id_type!(
    /// A provider region, assigned at `RSI_CSM_CREATE`.
    RegionId
);
id_type!(
    /// A grant, assigned at `RSI_CSM_SHARE`. Not a secret: every use checks the caller.
    ShareId
);

/// The monitor's handle on a realm: the physical address of its RD granule. RD addresses are
/// reused after `RMI_REALM_DESTROY`; CSM identities ([`RealmId`]) are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rd(pub u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_never_an_id() {
        assert_eq!(RealmId::new(0), None);
        assert_eq!(RegionId::new(0), None);
        assert_eq!(ShareId::new(0), None);
        assert_eq!(RealmId::new(7).map(RealmId::get), Some(7));
        assert_eq!(ShareId::new(u64::MAX).map(ShareId::get), Some(u64::MAX));
        assert_eq!(core::mem::size_of::<Option<RegionId>>(), 8);
    }
}
