// SPDX-License-Identifier: MIT OR Apache-2.0
//! `RsiCommandReturnCode`: the x0 status of an RSI command.

abi_enum! {
    /// RSI command status (plain value in x0).
    pub enum RsiStatus: u8 {
        /// Command completed successfully.
        Success = 0,
        /// An input value is invalid.
        ErrorInput = 1,
        /// The object is in the wrong state.
        ErrorState = 2,
        /// The operation is not complete; call again.
        Incomplete = 3,
        /// Unknown error (added in 1.0-rel0).
        ErrorUnknown = 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for (v, s) in [
            (0u64, RsiStatus::Success),
            (1, RsiStatus::ErrorInput),
            (2, RsiStatus::ErrorState),
            (3, RsiStatus::Incomplete),
            (4, RsiStatus::ErrorUnknown),
        ] {
            assert_eq!(RsiStatus::from_u64(v), Some(s));
            assert_eq!(s.as_u64(), v);
        }
        assert_eq!(RsiStatus::from_u64(5), None);
        assert_eq!(RsiStatus::from_u64(u64::MAX), None);
    }
}
