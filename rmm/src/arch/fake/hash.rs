// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`FastMap`]: the fake's maps (granule contents and PAS, TLB entries) with a cheap hash.
//! The fake looks one up on every word and descriptor the RMM or a simulated realm touches;
//! with the standard library's SipHash those lookups were most of a fuzz run's time. Nothing
//! here faces an adversary choosing keys, so a multiplicative hash is enough.

extern crate std;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map with [`FastHasher`].
pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Folds each written integer in with a multiply (as rustc's FxHash does) and mixes the
/// result on `finish` (MurmurHash3's finaliser), so that keys differing only in high bits
/// (granule addresses: the low twelve are zero) still spread over the table's low bits.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher(u64);

const K: u64 = 0x9E37_79B9_7F4A_7C15;

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        h ^ (h >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    #[test]
    fn granule_addresses_spread_over_low_bits() {
        let build = BuildHasherDefault::<FastHasher>::default();
        let buckets: HashSet<u64> = (0..1024u64)
            .map(|i| build.hash_one(0x8000_0000 + i * 0x1000) & 1023)
            .collect();
        // A random function fills about 63% of the buckets; a bad hash of aligned keys one.
        assert!(buckets.len() > 500, "{} buckets", buckets.len());
    }

    #[test]
    fn maps_work() {
        let mut map: FastMap<(u16, u64), u32> = FastMap::default();
        for i in 0..1000u64 {
            map.insert((i as u16, i << 12), i as u32);
        }
        assert_eq!(map.len(), 1000);
        assert_eq!(map.get(&(7, 7 << 12)), Some(&7));
        assert_eq!(map.get(&(7, 8 << 12)), None);
    }
}
