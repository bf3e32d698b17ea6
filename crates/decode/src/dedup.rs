//! Duplicate detection by `event_id` within a bounded horizon.
//!
//! QoS1 is at-least-once: a broker redelivers after a reconnect, a terminal
//! resends after a lost ack. Fingerprints of recent event ids live in two
//! generations of at most `capacity / 2` each; when the current one fills, the
//! older is dropped. Memory is bounded, and an id is remembered for at least
//! `capacity / 2` and at most `capacity` later events.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// Fingerprints are already uniform 64-bit hashes: hash them as themselves.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FpSet = HashSet<u64, BuildHasherDefault<IdentityHasher>>;

/// Remembers recent event-id fingerprints.
pub struct Dedup {
    current: FpSet,
    previous: FpSet,
    generation: usize,
}

impl Dedup {
    /// A dedup horizon of about `capacity` events.
    pub fn new(capacity: usize) -> Dedup {
        let generation = (capacity / 2).max(1);
        Dedup {
            current: FpSet::with_capacity_and_hasher(generation, Default::default()),
            previous: FpSet::default(),
            generation,
        }
    }

    /// Records `fp`; false if it was already seen within the horizon.
    pub fn insert(&mut self, fp: u64) -> bool {
        if self.previous.contains(&fp) || !self.current.insert(fp) {
            return false;
        }
        if self.current.len() >= self.generation {
            self.previous = std::mem::replace(
                &mut self.current,
                FpSet::with_capacity_and_hasher(self.generation, Default::default()),
            );
        }
        true
    }

    /// Fingerprints currently remembered.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The dedup fingerprint of an event id.
pub fn fingerprint(event_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(event_id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_is_a_duplicate() {
        let mut d = Dedup::new(100);
        assert!(d.insert(fingerprint("e1")));
        assert!(d.insert(fingerprint("e2")));
        assert!(!d.insert(fingerprint("e1")));
    }

    #[test]
    fn ids_are_remembered_for_at_least_half_the_capacity() {
        let mut d = Dedup::new(1000);
        assert!(d.insert(fingerprint("first")));
        for i in 0..500 {
            d.insert(fingerprint(&format!("x{i}")));
        }
        assert!(!d.insert(fingerprint("first")), "still within the horizon");
        for i in 500..2000 {
            d.insert(fingerprint(&format!("x{i}")));
        }
        assert!(
            d.insert(fingerprint("first")),
            "forgotten after the horizon"
        );
        assert!(d.len() <= 1000, "memory stays bounded: {}", d.len());
    }
}
