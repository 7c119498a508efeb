// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`ClaimsStore`]: where a session keeps the encoded CSM claims, which can be far larger
//! than the rest of the session ([`super::csm::CSM_CLAIMS_MAX_LEN`], about 9 KiB).
//!
//! The session itself ([`super::TokenSession`], about 1 KiB) is copied to the stack for each
//! RSI call; the CSM claims are not: they are written once at INIT and then read a block at a
//! time, to hash them and to copy them out. The RMM's store is a run of the REC's auxiliary
//! granules (`rmm/src/realm/rec_attest.rs`); tests use a byte slice.

/// Byte storage of a known capacity. Offsets and lengths are any; the session only asks for
/// ranges inside [`ClaimsStore::capacity`].
pub trait ClaimsStore {
    /// How many bytes it holds.
    fn capacity(&self) -> usize;

    /// Copies `out.len()` bytes from `offset`.
    fn read(&self, offset: usize, out: &mut [u8]);

    /// Copies `data` to `offset`.
    fn write(&mut self, offset: usize, data: &[u8]);
}

impl ClaimsStore for [u8] {
    fn capacity(&self) -> usize {
        self.len()
    }

    fn read(&self, offset: usize, out: &mut [u8]) {
        if let Some(src) = offset
            .checked_add(out.len())
            .and_then(|end| self.get(offset..end))
        {
            out.copy_from_slice(src);
        }
    }

    fn write(&mut self, offset: usize, data: &[u8]) {
        if let Some(dst) = offset
            .checked_add(data.len())
            .and_then(|end| self.get_mut(offset..end))
        {
            dst.copy_from_slice(data);
        }
    }
}

/// The store of a session without CSM claims: holds nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl ClaimsStore for NoStore {
    fn capacity(&self) -> usize {
        0
    }

    fn read(&self, _offset: usize, _out: &mut [u8]) {}

    fn write(&mut self, _offset: usize, _data: &[u8]) {}
}

/// Bytes a [`StoreWriter`] gathers before writing them to the store.
const WRITE_CHUNK: usize = 256;

/// The end of the store was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreFull;

/// A byte writer into a [`ClaimsStore`] from offset 0, in whole 256-byte writes (each at
/// a multiple of 256) and a last shorter one ([`StoreWriter::finish`]).
pub struct StoreWriter<'s, S: ClaimsStore + ?Sized> {
    store: &'s mut S,
    buf: [u8; WRITE_CHUNK],
    buffered: usize,
    flushed: usize,
}

impl<'s, S: ClaimsStore + ?Sized> StoreWriter<'s, S> {
    /// A writer at the start of `store`.
    pub fn new(store: &'s mut S) -> Self {
        Self {
            store,
            buf: [0; WRITE_CHUNK],
            buffered: 0,
            flushed: 0,
        }
    }

    fn flush(&mut self) -> Result<(), StoreFull> {
        let data = self.buf.get(..self.buffered).unwrap_or(&[]);
        let end = self.flushed.saturating_add(data.len());
        if end > self.store.capacity() {
            return Err(StoreFull);
        }
        self.store.write(self.flushed, data);
        self.flushed = end;
        self.buffered = 0;
        Ok(())
    }

    /// Writes what is left; returns how many bytes were written in all.
    pub fn finish(mut self) -> Result<usize, StoreFull> {
        self.flush()?;
        Ok(self.flushed)
    }
}

impl<S: ClaimsStore + ?Sized> StoreWriter<'_, S> {
    /// Appends `data`.
    pub fn write_bytes(&mut self, mut data: &[u8]) -> Result<(), StoreFull> {
        while !data.is_empty() {
            let room = WRITE_CHUNK - self.buffered;
            let (now, rest) = data.split_at(room.min(data.len()));
            if let Some(dst) = self.buf.get_mut(self.buffered..self.buffered + now.len()) {
                dst.copy_from_slice(now);
            }
            self.buffered += now.len();
            data = rest;
            if self.buffered == WRITE_CHUNK {
                self.flush()?;
            }
        }
        Ok(())
    }
}
