// SPDX-License-Identifier: MIT OR Apache-2.0
//! A REC's attestation token session ([`TokenSession`], RSI_ATTEST_TOKEN_INIT/CONTINUE),
//! kept in the REC's first auxiliary granule between RSI calls.
//!
//! REC_CREATE takes exactly 16 auxiliary granules, all DELEGATED and so zero, and an
//! all-zero saved session is Idle: a new REC has no token in progress without any set-up.
//! REC_DESTROY scrubs its auxiliary granules. Only the CPU running the REC touches the
//! session (REC_ENTER holds the REC's reference), so no lock is needed.
//!
//! While the token is being signed the session holds the signature in progress, nonce
//! included (`attest::token::es384`): it lives here, in RMM-private Realm memory, between
//! CONTINUE calls; the byte buffers that carry it to and from the granule are wiped after
//! use (`wipe_saved_secrets`), and the session wipes its signing state itself when it is
//! dropped.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::realm::rec::Rec;
use attest::token::TokenSession;
use attest::token::session::{SESSION_BYTES, wipe_saved_secrets};

/// Which auxiliary granule holds the session.
pub const SESSION_AUX_INDEX: usize = 0;

/// Byte offset of the session in that granule.
pub const SESSION_OFFSET: usize = 0;

const _: () = assert!(SESSION_OFFSET + SESSION_BYTES <= crate::GRANULE_SIZE);

/// Where a REC's session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSlot(GranuleAddr);

impl SessionSlot {
    /// The slot of `rec`, if it has auxiliary granules (every REC REC_CREATE made has).
    pub fn of<M: Machine>(rec: &Rec<'_, M>) -> Option<Self> {
        rec.aux().nth(SESSION_AUX_INDEX).map(Self)
    }

    /// Reads the session.
    pub fn load<M: Machine>(&self, machine: &M) -> TokenSession {
        let mut bytes = [0u8; SESSION_BYTES];
        machine.read_realm(self.0, SESSION_OFFSET, &mut bytes);
        let session = TokenSession::restore(&bytes);
        wipe_saved_secrets(&mut bytes);
        session
    }

    /// Writes the session back.
    pub fn store<M: Machine>(&self, machine: &M, session: &TokenSession) {
        let mut bytes = [0u8; SESSION_BYTES];
        session.save(&mut bytes);
        machine.write_realm(self.0, SESSION_OFFSET, &bytes);
        wipe_saved_secrets(&mut bytes);
    }
}
