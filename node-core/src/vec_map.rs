//! A map kept as a sorted vector, for the small per-node tables.
//!
//! A `BTreeMap` allocates a whole leaf (eleven slots) for its first entry:
//! a node of a mesh with four neighbours paid for 44 in each of its
//! neighbour tables, which at 10^5 .. 10^6 nodes was most of a node's
//! memory (`meshsim bench scale`). This map holds exactly what it holds
//! (the vector's growth aside), iterates in key order like a `BTreeMap`
//! (so results do not change when a table moves to it), and finds a key
//! by binary search. Inserting and removing move the entries after the
//! key: fine for tables of a node's neighbours or links, whose size a
//! peer cannot grow past the node's own bounds; not for large tables.

use std::borrow::Borrow;

/// A sorted-vector map; see the module's documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map (allocates nothing).
    pub const fn new() -> Self {
        VecMap {
            entries: Vec::new(),
        }
    }

    /// Room for exactly one entry in an empty map: most of these maps
    /// hold one (a neighbour's links), where a first push makes room for
    /// four.
    fn reserve_first(&mut self) {
        if self.entries.capacity() == 0 {
            self.entries.reserve_exact(1);
        }
    }

    fn find<Q: Ord + ?Sized>(&self, key: &Q) -> Result<usize, usize>
    where
        K: Borrow<Q>,
    {
        self.entries.binary_search_by(|(k, _)| k.borrow().cmp(key))
    }

    /// The value of `key`.
    pub fn get<Q: Ord + ?Sized>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
    {
        self.find(key).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
    {
        match self.find(key) {
            Ok(i) => Some(&mut self.entries[i].1),
            Err(_) => None,
        }
    }

    /// Whether `key` is in the map.
    pub fn contains_key<Q: Ord + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.find(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.reserve_first();
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, inserted by `make` if absent.
    pub fn get_or_insert_with(&mut self, key: K, make: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&key) {
            Ok(i) => i,
            Err(i) => {
                self.reserve_first();
                self.entries.insert(i, (key, make()));
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Removes `key`; returns its value. The last entry's removal frees
    /// the vector, and a vector three quarters empty gives half back.
    pub fn remove<Q: Ord + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.find(key).ok()?;
        let (_, v) = self.entries.remove(i);
        if self.entries.is_empty() {
            self.entries = Vec::new();
        } else if self.entries.len() * 4 <= self.entries.capacity() {
            self.entries.shrink_to(self.entries.len() * 2);
        }
        Some(v)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::VecMap;
    use std::collections::BTreeMap;

    /// Random operations give what a `BTreeMap` gives, in the same order.
    #[test]
    fn behaves_as_a_btree_map() {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        let mut ours = VecMap::new();
        let mut reference = BTreeMap::new();
        for _ in 0..20_000 {
            let k = (rng.next_u32() % 64) as u8;
            let v = rng.next_u64();
            match rng.next_u32() % 5 {
                0 | 1 => assert_eq!(ours.insert(k, v), reference.insert(k, v)),
                2 => assert_eq!(ours.remove(&k), reference.remove(&k)),
                _ => {
                    *ours.get_or_insert_with(k, || v) += 1;
                    *reference.entry(k).or_insert(v) += 1;
                }
            }
            assert_eq!(ours.get(&k), reference.get(&k));
            assert_eq!(ours.contains_key(&k), reference.contains_key(&k));
            assert_eq!(ours.len(), reference.len());
        }
        assert!(ours.iter().eq(reference.iter()));
    }

    #[test]
    fn frees_what_it_no_longer_holds() {
        let mut m = VecMap::new();
        for k in 0..64u32 {
            m.insert(k, k);
        }
        for k in 0..60u32 {
            m.remove(&k);
        }
        assert!(m.entries.capacity() <= 16, "{}", m.entries.capacity());
        for k in 60..64u32 {
            m.remove(&k);
        }
        assert_eq!(m.entries.capacity(), 0);
    }
}
