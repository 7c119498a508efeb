// SPDX-License-Identifier: MIT OR Apache-2.0
//! RIPAS-change request/response values of `RSI_IPA_STATE_SET`: [`RsiRipasChangeFlags`],
//! [`RsiResponse`], and the RIPAS enum shared with RMI.

/// `RsiRipas`: identical to [`crate::rmi::states::Ripas`].
pub use crate::rmi::states::Ripas as RsiRipas;

abi_flags! {
    /// `RsiRipasChangeFlags` (`RSI_IPA_STATE_SET` x4).
    pub struct RsiRipasChangeFlags {
        /// Bit 0 (`RsiRipasChangeDestroyed`): also change pages whose RIPAS is DESTROYED.
        const CHANGE_DESTROYED = 1 << 0;
    }
}

abi_enum! {
    /// `RsiResponse`: the host's answer to a RIPAS change (`RSI_IPA_STATE_SET` x2).
    pub enum RsiResponse: u8 {
        /// Accepted.
        Accept = 0,
        /// Rejected.
        Reject = 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(RsiRipasChangeFlags::CHANGE_DESTROYED.bits(), 1);
        assert_eq!(
            RsiRipasChangeFlags::from_bits(1),
            Some(RsiRipasChangeFlags::CHANGE_DESTROYED)
        );
        assert_eq!(RsiRipasChangeFlags::from_bits(2), None);
        assert_eq!(RsiResponse::from_u64(0), Some(RsiResponse::Accept));
        assert_eq!(RsiResponse::from_u64(1), Some(RsiResponse::Reject));
        assert_eq!(RsiResponse::from_u64(2), None);
        assert_eq!(RsiRipas::from_u64(2), Some(RsiRipas::Destroyed));
    }
}
