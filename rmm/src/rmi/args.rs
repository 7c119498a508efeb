// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every RMI command's arguments as a named struct, decoded once from the host's registers
//! at the dispatcher (the edge): a handler never sees a register by position.
//!
//! Decoding is only naming: each field is the raw 64-bit register, because which check
//! fails first is part of the ABI (an unaligned address and an unknown level are different
//! errors in a specified order), so validation stays in the handlers, in the spec's order.

use super::RmiRequest;

use crate::register_args::register_args;

register_args! {
    RmiRequest, |request| request.regs;
    /// RMI_VERSION.
    VersionArgs {
        /// The interface version the host asks for.
        requested = x 1,
    }
    /// RMI_FEATURES.
    FeaturesArgs {
        /// Feature register index.
        index = x 1,
    }
    /// RMI_GRANULE_DELEGATE and RMI_GRANULE_UNDELEGATE.
    GranuleArgs {
        /// The granule's PA.
        addr = x 1,
    }
    /// RMI_REALM_CREATE.
    RealmCreateArgs {
        /// The RD (DELEGATED).
        rd = x 1,
        /// The host page holding `RmiRealmParams`.
        params = x 2,
    }
    /// RMI_REALM_ACTIVATE, RMI_REALM_DESTROY and RMI_REC_AUX_COUNT.
    RdArgs {
        /// The RD.
        rd = x 1,
    }
    /// RMI_REC_CREATE.
    RecCreateArgs {
        /// The realm's RD.
        rd = x 1,
        /// The REC (DELEGATED).
        rec = x 2,
        /// The host page holding `RmiRecParams`.
        params = x 3,
    }
    /// RMI_REC_DESTROY.
    RecArgs {
        /// The REC.
        rec = x 1,
    }
    /// RMI_REC_ENTER.
    RecEnterArgs {
        /// The REC.
        rec = x 1,
        /// The host page holding `RmiRecRun`.
        run = x 2,
    }
    /// RMI_RTT_CREATE.
    RttCreateArgs {
        /// The realm's RD.
        rd = x 1,
        /// The new table (DELEGATED).
        rtt = x 2,
        /// An IPA the table will map.
        ipa = x 3,
        /// The new table's level.
        level = x 4,
    }
    /// RMI_RTT_DESTROY, RMI_RTT_FOLD, RMI_RTT_READ_ENTRY and RMI_RTT_UNMAP_UNPROTECTED: an
    /// entry named by IPA and level.
    RttEntryArgs {
        /// The realm's RD.
        rd = x 1,
        /// The IPA.
        ipa = x 2,
        /// The level.
        level = x 3,
    }
    /// RMI_RTT_MAP_UNPROTECTED.
    MapUnprotectedArgs {
        /// The realm's RD.
        rd = x 1,
        /// The unprotected IPA.
        ipa = x 2,
        /// The mapping's level.
        level = x 3,
        /// The host's descriptor (output address and attributes).
        desc = x 4,
    }
    /// RMI_RTT_INIT_RIPAS.
    InitRipasArgs {
        /// The realm's RD.
        rd = x 1,
        /// Start of the range.
        base = x 2,
        /// End of the range.
        top = x 3,
    }
    /// RMI_RTT_SET_RIPAS.
    SetRipasArgs {
        /// The realm's RD.
        rd = x 1,
        /// The REC that asked for the change.
        rec = x 2,
        /// Start of the range.
        base = x 3,
        /// End of the range.
        top = x 4,
    }
    /// RMI_DATA_CREATE.
    DataCreateArgs {
        /// The realm's RD.
        rd = x 1,
        /// The DATA granule (DELEGATED).
        data = x 2,
        /// Where it is mapped.
        ipa = x 3,
        /// The host page its contents come from.
        src = x 4,
        /// `RmiDataFlags` (measure the contents or not).
        flags = x 5,
    }
    /// RMI_DATA_CREATE_UNKNOWN.
    DataCreateUnknownArgs {
        /// The realm's RD.
        rd = x 1,
        /// The DATA granule (DELEGATED).
        data = x 2,
        /// Where it is mapped.
        ipa = x 3,
    }
    /// RMI_DATA_DESTROY.
    DataDestroyArgs {
        /// The realm's RD.
        rd = x 1,
        /// The IPA of the DATA granule.
        ipa = x 2,
    }
    /// RMI_PSCI_COMPLETE.
    PsciCompleteArgs {
        /// The REC that made the PSCI call.
        calling = x 1,
        /// The REC it named.
        target = x 2,
        /// The host's PSCI status.
        status = x 3,
    }
    /// RMI_APT_CREATE and RMI_APT_DESTROY (CSM extension).
    AptArgs {
        /// The RD.
        rd = x 1,
        /// The APT granule (DELEGATED for CREATE; the bound one for DESTROY).
        apt = x 2,
    }
}
