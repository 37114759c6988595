//! A small cache for one serving thread: each key has one slot, picked by
//! its hash, and a newer key takes the slot over. A lookup costs one hash
//! and one comparison, with no list of uses to keep in order (an LRU's
//! bookkeeping cost more than what it saved on the gateway's hottest path).

use std::hash::{BuildHasher, Hash};

pub struct Recent<K, V> {
    /// Boxed, so that an empty slot costs a pointer.
    slots: Vec<Option<Box<(K, V)>>>,
    hasher: lru::DefaultHasher,
}

impl<K: Hash + Eq, V> Recent<K, V> {
    /// `slots` is rounded up to a power of two.
    pub fn new(slots: usize) -> Self {
        let slots = slots.max(1).next_power_of_two();
        Recent {
            slots: std::iter::repeat_with(|| None).take(slots).collect(),
            hasher: lru::DefaultHasher::default(),
        }
    }

    fn slot<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        (self.hasher.hash_one(key) as usize) & (self.slots.len() - 1)
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.slots[self.slot(key)].as_deref() {
            Some((kept, value)) if kept.borrow() == key => Some(value),
            _ => None,
        }
    }

    pub fn put(&mut self, key: K, value: V) {
        let slot = self.slot(&key);
        self.slots[slot] = Some(Box::new((key, value)));
    }

    pub fn clear(&mut self) {
        self.slots.iter_mut().for_each(|slot| *slot = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_finds_its_value_until_another_takes_its_slot() {
        let mut recent = Recent::new(4);
        recent.put("a".to_string(), 1);
        assert_eq!(recent.get("a"), Some(&1));
        assert_eq!(recent.get("b"), None);
        // With four slots, some of ten other keys land in a's slot.
        for (i, key) in ["b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
            .iter()
            .enumerate()
        {
            recent.put(key.to_string(), i + 10);
            assert_eq!(recent.get(*key), Some(&(i + 10)));
        }
        let kept = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k"]
            .iter()
            .filter(|key| recent.get(**key).is_some())
            .count();
        assert!(kept <= 4, "{kept} kept in 4 slots");
        recent.clear();
        assert_eq!(recent.get("k"), None);
    }
}
