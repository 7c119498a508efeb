// SPDX-License-Identifier: MIT OR Apache-2.0
//! Register decoding of the RSI calls and the status code of every error.

use rmm_abi::csm::CsmRsiCommand as Cmd;
use rmm_abi::rmi::status::RmiStatus;
use rmm_abi::rsi::status::RsiStatus;

use super::*;
use crate::Call;
use crate::error::{HostError, RealmError};

#[test]
fn decode_checks_every_register() {
    assert_eq!(
        Call::decode(Cmd::Create, [0x1000, 0x2000, 7, 0]),
        Ok(Call::Create { range: pages(1, 2) })
    );
    for x in [
        [0x1001, 0x1000, 0, 0],
        [0x1000, 0, 0, 0],
        [0x1000, 0x1001, 0, 0],
        [u64::MAX - 0xFFF, 0x2000, 0, 0],
    ] {
        assert_eq!(
            Call::decode(Cmd::Create, x),
            Err(RealmError::BadRange),
            "{x:?}"
        );
    }
    assert_eq!(
        Call::decode(Cmd::Share, [0, 2, 1, 0]),
        Err(RealmError::UnknownRegion)
    );
    assert_eq!(
        Call::decode(Cmd::Share, [1, 0, 1, 0]),
        Err(RealmError::UnknownRealm)
    );
    for mode in [0, 2, 4, 5, 7, 0x101, u64::MAX] {
        assert_eq!(
            Call::decode(Cmd::Share, [1, 2, mode, 0]),
            Err(RealmError::BadMode),
            "{mode}"
        );
    }
    assert!(Call::decode(Cmd::Share, [1, 2, 3, 0]).is_ok());
    assert_eq!(
        Call::decode(Cmd::Accept, [0, 1, 0, 0]),
        Err(RealmError::UnknownShare)
    );
    assert_eq!(
        Call::decode(Cmd::Accept, [1, 0, 0, 0]),
        Err(RealmError::WrongProvider)
    );
    assert_eq!(
        Call::decode(Cmd::Detach, [0, 0, 0, 0]),
        Err(RealmError::UnknownShare)
    );
    assert_eq!(
        Call::decode(Cmd::Revoke, [0, 0, 0, 0]),
        Err(RealmError::UnknownShare)
    );
    assert_eq!(
        Call::decode(Cmd::Destroy, [0, 0, 0, 0]),
        Err(RealmError::UnknownRegion)
    );
    assert_eq!(
        Call::decode(Cmd::Query, [0, 9, 9, 0]),
        Ok(Call::Query { share: None })
    );
    assert_eq!(
        Call::decode(Cmd::Query, [5, 0, 0, 0]),
        Ok(Call::Query {
            share: ShareId::new(5)
        })
    );
}

#[test]
fn dispatch_runs_the_decoded_call() {
    let w = World::ready();
    let mut c = w.csm.clone();
    let call = Call::decode(Cmd::Query, [0, 0, 0, 0]).unwrap();
    let out = c.rsi(rd(1), call, &w).unwrap();
    assert_eq!(out.reply.registers()[0], id_of(&w, 1).get());
}

#[test]
fn status_codes() {
    use RealmError::*;
    for e in [
        BadRange,
        OutsidePar,
        Overlap,
        NotRam,
        UnknownRegion,
        UnknownRealm,
        SelfShare,
        BadMode,
        UnknownShare,
        WrongProvider,
        CsmMemory,
    ] {
        assert_eq!(e.status(), RsiStatus::ErrorInput, "{e:?}");
    }
    for e in [
        NoApt,
        DuplicateGrant,
        RegionDamaged,
        AlreadyAttached,
        NotAttached,
        Full,
        ProviderNotReady,
        IdsExhausted,
    ] {
        assert_eq!(e.status(), RsiStatus::ErrorState, "{e:?}");
    }
    use HostError as H;
    for e in [
        H::RealmNotNew,
        H::AptBound,
        H::NoApt,
        H::Full,
        H::IdsExhausted,
    ] {
        assert_eq!(e.status(), RmiStatus::ErrorRealm, "{e:?}");
    }
    for e in [H::WrongApt, H::BadPar] {
        assert_eq!(e.status(), RmiStatus::ErrorInput, "{e:?}");
    }
    assert_eq!(H::AliasEntry.status(), RmiStatus::ErrorRtt);
}
