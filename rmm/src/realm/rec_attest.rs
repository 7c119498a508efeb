// SPDX-License-Identifier: MIT OR Apache-2.0
//! A REC's attestation token session ([`TokenSession`], RSI_ATTEST_TOKEN_INIT/CONTINUE),
//! kept in the REC's auxiliary granules between RSI calls: the session itself
//! ([`SESSION_BYTES`], about 1 KiB) in the first, and a CSM realm's CSM claims (up to
//! [`STORE_BYTES`], about 9 KiB: 48 shares) in the [`STORE_GRANULES`] after it.
//!
//! | aux granule | holds |
//! |---|---|
//! | [`SESSION_AUX_INDEX`] (0) | the saved session ([`TokenSession::save`]) |
//! | [`STORE_AUX_FIRST`].. (1..=3) | the CSM claims ([`AuxClaims`], a [`ClaimsStore`]) |
//! | 4..=15 | unused |
//!
//! Each RSI call copies the session to its stack; the CSM claims stay in the granules and
//! are read a block at a time (to hash them, to copy them out), so the stack does not grow
//! with them.
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
//! dropped. The CSM claims are not secret.

use crate::arch::Machine;
use crate::granule::GranuleAddr;
use crate::realm::rec::Rec;
use attest::token::session::{
    SESSION_BYTES, SESSION_WORDS, STORE_BYTES, SavedSession, saved_bytes, saved_bytes_mut,
    wipe_saved_secrets,
};
use attest::token::{ClaimsStore, TokenSession};
use rmm_abi::rmi::rec_params::MAX_REC_AUX_GRANULES;

/// Which auxiliary granule holds the session.
pub const SESSION_AUX_INDEX: usize = 0;

/// Byte offset of the session in that granule.
pub const SESSION_OFFSET: usize = 0;

/// The first auxiliary granule of the CSM claims store.
pub const STORE_AUX_FIRST: usize = SESSION_AUX_INDEX + 1;

/// Auxiliary granules the CSM claims store spans.
pub const STORE_GRANULES: usize = STORE_BYTES.div_ceil(crate::GRANULE_SIZE);

const _: () = assert!(SESSION_OFFSET + SESSION_BYTES <= crate::GRANULE_SIZE);
const _: () = assert!(STORE_AUX_FIRST > SESSION_AUX_INDEX);
const _: () = assert!(STORE_GRANULES * crate::GRANULE_SIZE >= STORE_BYTES);
const _: () = assert!(STORE_AUX_FIRST + STORE_GRANULES <= MAX_REC_AUX_GRANULES);

/// Where a REC's session lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionSlot {
    session: GranuleAddr,
    claims: [GranuleAddr; STORE_GRANULES],
}

impl SessionSlot {
    /// The slot of `rec`, if it has the auxiliary granules (every REC REC_CREATE made has
    /// all 16).
    pub fn of<M: Machine>(rec: &Rec<'_, M>) -> Option<Self> {
        let session = rec.aux().nth(SESSION_AUX_INDEX)?;
        let mut aux = rec.aux().skip(STORE_AUX_FIRST);
        let mut claims = [session; STORE_GRANULES];
        for slot in &mut claims {
            *slot = aux.next()?;
        }
        Some(Self { session, claims })
    }

    /// Reads the session.
    // Out of line: its buffer would otherwise stay in the caller's frame under every signing
    // step (the deepest path on a CPU's own stack).
    #[inline(never)]
    pub fn load<M: Machine>(&self, machine: &M) -> TokenSession {
        let mut saved: SavedSession = [0; SESSION_WORDS];
        machine.read_realm(self.session, SESSION_OFFSET, saved_bytes_mut(&mut saved));
        let session = TokenSession::restore(saved_bytes(&saved));
        wipe_saved_secrets(&mut saved);
        session
    }

    /// Writes the session back.
    pub fn store<M: Machine>(&self, machine: &M, session: &TokenSession) {
        let mut saved: SavedSession = [0; SESSION_WORDS];
        session.save(saved_bytes_mut(&mut saved));
        machine.write_realm(self.session, SESSION_OFFSET, saved_bytes(&saved));
        wipe_saved_secrets(&mut saved);
    }

    /// The store of the session's CSM claims.
    pub fn claims<'m, M: Machine>(&self, machine: &'m M) -> AuxClaims<'m, M> {
        AuxClaims {
            machine,
            granules: self.claims,
        }
    }
}

/// The CSM claims store: [`STORE_GRANULES`] auxiliary granules as one run of
/// [`STORE_BYTES`] bytes, read and written a word at a time.
pub struct AuxClaims<'m, M: Machine> {
    machine: &'m M,
    granules: [GranuleAddr; STORE_GRANULES],
}

impl<M: Machine> AuxClaims<'_, M> {
    /// The granule, word index and byte in the word of store offset `at`.
    fn locate(&self, at: usize) -> Option<(GranuleAddr, usize, usize)> {
        let granule = self.granules.get(at / crate::GRANULE_SIZE)?;
        let in_granule = at % crate::GRANULE_SIZE;
        Some((*granule, in_granule / 8, in_granule % 8))
    }
}

impl<M: Machine> ClaimsStore for AuxClaims<'_, M> {
    fn capacity(&self) -> usize {
        STORE_BYTES
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let Some((granule, word, skip)) = self.locate(offset + done) else {
                return;
            };
            let bytes = self.machine.read_word(granule, word).to_le_bytes();
            let n = (8 - skip).min(out.len() - done);
            // `get`s (`skip` < 8 and `n` fit by construction): no bounds-check panic here.
            let (Some(to), Some(from)) = (out.get_mut(done..done + n), bytes.get(skip..skip + n))
            else {
                return;
            };
            to.copy_from_slice(from);
            done += n;
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        let mut done = 0;
        while done < data.len() {
            let Some((granule, word, skip)) = self.locate(offset + done) else {
                return;
            };
            let n = (8 - skip).min(data.len() - done);
            let mut bytes = if n == 8 {
                [0; 8]
            } else {
                self.machine.read_word(granule, word).to_le_bytes()
            };
            bytes[skip..skip + n].copy_from_slice(&data[done..done + n]);
            self.machine
                .write_word(granule, word, u64::from_le_bytes(bytes));
            done += n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::fake::{FakeMachine, FakePas};
    extern crate std;
    use std::vec;

    /// Three delegated granules outside the carve-out, as REC_CREATE would have them.
    fn store(machine: &FakeMachine) -> AuxClaims<'_, FakeMachine> {
        let granules: [GranuleAddr; STORE_GRANULES] = core::array::from_fn(|i| {
            let pa = 0x8000_0000 + 0x1000 * i as u64;
            machine.set_pas(pa, FakePas::Realm);
            GranuleAddr::new(pa).unwrap()
        });
        AuxClaims { machine, granules }
    }

    #[test]
    fn the_store_spans_its_granules_at_any_offset_and_length() {
        assert_eq!(STORE_GRANULES, 3);
        let machine = FakeMachine::qemu();
        let mut aux = store(&machine);
        assert_eq!(aux.capacity(), STORE_BYTES);
        let mut model = vec![0u8; STORE_BYTES];
        let mut fill = 1u8;
        for (offset, len) in [
            (0, 256),
            (3, 5),
            (4090, 13),
            (8191, 2),
            (1, 0),
            (7, 1),
            (STORE_BYTES - 9, 9),
            (5000, 3000),
        ] {
            let data: vec::Vec<u8> = (0..len).map(|i| fill.wrapping_add(i as u8)).collect();
            aux.write(offset, &data);
            model[offset..offset + len].copy_from_slice(&data);
            fill = fill.wrapping_add(37);
        }
        for (offset, len) in [
            (0, STORE_BYTES),
            (4093, 7),
            (8190, 3),
            (11, 1),
            (4096, 4096),
        ] {
            let mut out = vec![0u8; len];
            aux.read(offset, &mut out);
            assert_eq!(out, model[offset..offset + len], "{offset} {len}");
        }
        // Out of range reads nothing and writes nothing (the session never asks).
        let mut out = [0xAAu8; 8];
        aux.read(STORE_GRANULES * crate::GRANULE_SIZE, &mut out);
        assert_eq!(out, [0xAA; 8]);
        aux.write(STORE_GRANULES * crate::GRANULE_SIZE, &[1; 8]);
    }
}
