// SPDX-License-Identifier: MIT OR Apache-2.0
//! Why an operation failed, and the status code each failure returns: [`RealmError`] for the
//! RSI calls (and `RSI_IPA_STATE_SET` over CSM memory), [`HostError`] for the RMI commands
//! and host events. A failure never changes any state (S10).

use rmm_abi::rmi::status::RmiStatus;
use rmm_abi::rsi::status::RsiStatus;

/// A failed RSI call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealmError {
    /// The caller has no APT bound. `RSI_ERROR_STATE`.
    NoApt,
    /// A range is empty, misaligned or wraps, or a window base is. `RSI_ERROR_INPUT`.
    BadRange,
    /// The range is not inside the caller's protected IPA space. `RSI_ERROR_INPUT`.
    OutsidePar,
    /// The range overlaps one of the caller's regions or windows. `RSI_ERROR_INPUT`.
    Overlap,
    /// A page of the range is RIPAS EMPTY or DESTROYED, or already an alias. `RSI_ERROR_INPUT`.
    NotRam,
    /// No region with this id belongs to the caller (or the id is 0). `RSI_ERROR_INPUT`.
    UnknownRegion,
    /// The consumer RealmId names no realm with an APT (or is 0). `RSI_ERROR_INPUT`.
    UnknownRealm,
    /// A provider cannot share with itself. `RSI_ERROR_INPUT`.
    SelfShare,
    /// The mode is not `READ` or `READ|WRITE`. `RSI_ERROR_INPUT`.
    BadMode,
    /// No live grant with this id that the caller may use. `RSI_ERROR_INPUT`.
    UnknownShare,
    /// The grant's provider is not the one the consumer expected. `RSI_ERROR_INPUT`.
    WrongProvider,
    /// The region already has a grant for this consumer. `RSI_ERROR_STATE`.
    DuplicateGrant,
    /// The region is damaged; only `RSI_CSM_DESTROY` is accepted. `RSI_ERROR_STATE`.
    RegionDamaged,
    /// The grant is already attached. `RSI_ERROR_STATE`.
    AlreadyAttached,
    /// The grant is not attached. `RSI_ERROR_STATE`.
    NotAttached,
    /// A table is full (regions, grants or attachments). `RSI_ERROR_STATE`.
    Full,
    /// A page of the provider's region is not an assigned RAM page. `RSI_ERROR_STATE`.
    ProviderNotReady,
    /// A 64-bit id counter is exhausted. `RSI_ERROR_STATE`.
    IdsExhausted,
    /// `RSI_IPA_STATE_SET` over the caller's regions or windows (S11). `RSI_ERROR_INPUT`.
    CsmMemory,
    /// The region is larger than `apt::capacity::MAX_REGION_SIZE`. `RSI_ERROR_INPUT`.
    TooLarge,
    /// The consumer realm is not ACTIVE (its RIM is not final). `RSI_ERROR_STATE`.
    PeerNotActive,
    /// ACCEPT's expected size (x4) is not the region's size. `RSI_ERROR_INPUT`.
    WrongSize,
    /// A page of the ACCEPT window is not RIPAS EMPTY (RAM, DESTROYED or an alias): the
    /// consumer has not released it. `RSI_ERROR_INPUT`.
    NotEmpty,
    /// An APT could not be read or contradicts another (a monitor bug); nothing changed.
    /// `RSI_ERROR_STATE`.
    AptCorrupt,
}

impl RealmError {
    /// The RSI status the realm receives.
    pub const fn status(self) -> RsiStatus {
        use RealmError::*;
        match self {
            NoApt | DuplicateGrant | RegionDamaged | AlreadyAttached | NotAttached | Full
            | ProviderNotReady | IdsExhausted | PeerNotActive | AptCorrupt => RsiStatus::ErrorState,
            BadRange | OutsidePar | Overlap | NotRam | UnknownRegion | UnknownRealm | SelfShare
            | BadMode | UnknownShare | WrongProvider | CsmMemory | TooLarge | WrongSize
            | NotEmpty => RsiStatus::ErrorInput,
        }
    }
}

/// A failed RMI command or refused host event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HostError {
    /// `RMI_APT_CREATE` on a realm that is not NEW. `RMI_ERROR_REALM`.
    RealmNotNew,
    /// `RMI_APT_CREATE` on a realm that already has an APT, or `RMI_REALM_DESTROY` while an
    /// APT is bound (S6). `RMI_ERROR_REALM`.
    AptBound,
    /// `RMI_APT_DESTROY` on a realm without an APT. `RMI_ERROR_REALM`.
    NoApt,
    /// `RMI_APT_DESTROY` names another granule than the bound APT. `RMI_ERROR_INPUT`.
    WrongApt,
    /// The protected IPA size is not a non-zero multiple of the page size. `RMI_ERROR_INPUT`.
    BadPar,
    /// Every CSM realm slot is in use. `RMI_ERROR_REALM`.
    Full,
    /// The RealmId counter is exhausted. `RMI_ERROR_REALM`.
    IdsExhausted,
    /// `RMI_DATA_DESTROY`, `RMI_DATA_CREATE*` or `RMI_RTT_FOLD` at a consumer alias: an alias
    /// is not the consumer's granule. `RMI_ERROR_RTT`.
    AliasEntry,
    /// An APT could not be read or contradicts another (a monitor bug); nothing changed.
    /// `RMI_ERROR_REALM`.
    AptCorrupt,
}

impl HostError {
    /// The RMI status the host receives.
    pub const fn status(self) -> RmiStatus {
        use HostError::*;
        match self {
            RealmNotNew | AptBound | NoApt | Full | IdsExhausted | AptCorrupt => {
                RmiStatus::ErrorRealm
            }
            WrongApt | BadPar => RmiStatus::ErrorInput,
            AliasEntry => RmiStatus::ErrorRtt,
        }
    }
}

impl From<crate::plan::Corrupt> for RealmError {
    fn from(_: crate::plan::Corrupt) -> Self {
        RealmError::AptCorrupt
    }
}

impl From<crate::plan::Corrupt> for HostError {
    fn from(_: crate::plan::Corrupt) -> Self {
        HostError::AptCorrupt
    }
}
