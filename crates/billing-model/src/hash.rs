//! A fast, deterministic hasher for the engine's in-memory maps (message and customer ids).
//!
//! The keys are ids Meta assigns, held only while a statement is computed, so resistance to
//! crafted collisions (what the standard library's SipHash buys) matters less than speed here:
//! this processes eight bytes per step with a folded multiply and mixes the result at the
//! end so the hash table's top bits are well distributed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K: u64 = 0x517c_c1b7_2722_0a95;
const SEED: u64 = 0x243f_6a88_85a3_08d3;

/// The hasher.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    /// Folded multiply (as foldhash and wyhash): the 128-bit product's halves xored, so every
    /// bit of the input reaches every bit of the state.
    #[inline]
    fn add(&mut self, word: u64) {
        let x = u128::from(self.0 ^ word ^ SEED) * u128::from(K);
        self.0 = (x as u64) ^ ((x >> 64) as u64);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's finaliser: every input bit affects the top bits the table uses.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, BuildHasherDefault};

    #[test]
    fn equal_keys_hash_alike_and_near_keys_differ() {
        let b = BuildHasherDefault::<FastHasher>::default();
        assert_eq!(b.hash_one("wamid.A1"), b.hash_one("wamid.A1"));
        let hashes: std::collections::HashSet<u64> = (0..10_000)
            .map(|i| b.hash_one(format!("wamid.{i}")))
            .collect();
        assert_eq!(hashes.len(), 10_000);
        let top: std::collections::HashSet<u64> = (0..1_000)
            .map(|i| b.hash_one(format!("wamid.{i}")) >> 57)
            .collect();
        assert_eq!(top.len(), 128, "the top seven bits take every value");
    }
}
