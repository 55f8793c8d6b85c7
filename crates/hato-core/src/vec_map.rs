//! [`VecMap`] and [`VecSet`]: a map and a set kept as sorted vectors, for the per-entry
//! collections that hold one to a few items (intents per origin, oif uptimes, outgoing interface
//! lists). A `BTreeMap` allocates a whole node (room for eleven items, several hundred octets) for
//! its first item; at 100,000 (S,G) entries that alone was more than half a kilobyte per entry, and
//! building the outgoing lists of RFC 7761's macros allocated several nodes per evaluation. The
//! first `N` items are stored inline, so the common small collection allocates nothing.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use smallvec::{smallvec, SmallVec};

/// A small map ordered by key, the first `N` items inline: lookups by binary search, inserts and
/// removals by shifting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VecMap<K, V, const N: usize = 1> {
    items: SmallVec<[(K, V); N]>,
}

impl<K, V, const N: usize> Default for VecMap<K, V, N> {
    fn default() -> Self {
        VecMap { items: SmallVec::new() }
    }
}

impl<K: Ord, V, const N: usize> VecMap<K, V, N> {
    /// A map holding `key` → `value` alone.
    pub fn single(key: K, value: V) -> Self {
        VecMap { items: smallvec![(key, value)] }
    }

    fn position(&self, key: &K) -> Result<usize, usize> {
        self.items.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.position(key).ok().and_then(|i| self.items.get(i)).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.position(key).ok()?;
        self.items.get_mut(i).map(|(_, v)| v)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_ok()
    }

    /// Inserts or replaces; returns the value replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Ok(i) => self.items.get_mut(i).map(|(_, v)| std::mem::replace(v, value)),
            Err(i) => {
                self.items.insert(i, (key, value));
                None
            }
        }
    }

    /// The value of `key`, inserting `value` first when there is none.
    pub fn get_or_insert(&mut self, key: K, value: V) -> &mut V {
        let i = match self.position(&key) {
            Ok(i) => i,
            Err(i) => {
                self.items.insert(i, (key, value));
                i
            }
        };
        &mut self.items[i].1
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.position(key).ok()?;
        let (_, value) = self.items.remove(i);
        self.items.shrink_to_fit();
        Some(value)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.items.retain_mut(|(k, v)| keep(k, v));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Items in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.items.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.items.iter().map(|(_, v)| v)
    }

    /// The first item in key order.
    pub fn first(&self) -> Option<(&K, &V)> {
        self.items.first().map(|(k, v)| (k, v))
    }
}

impl<K: Ord, V, const N: usize> FromIterator<(K, V)> for VecMap<K, V, N> {
    /// Collects in key order; for equal keys the last value wins, as in a `BTreeMap`.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = VecMap::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl<K: Ord, V, const N: usize, const M: usize> From<[(K, V); M]> for VecMap<K, V, N> {
    /// As [`FromIterator`]: in key order, the last value of equal keys winning.
    fn from(items: [(K, V); M]) -> Self {
        items.into_iter().collect()
    }
}

impl<K, V, const N: usize> IntoIterator for VecMap<K, V, N> {
    type Item = (K, V);
    type IntoIter = smallvec::IntoIter<[(K, V); N]>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<K: Serialize, V: Serialize, const N: usize> Serialize for VecMap<K, V, N> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.items.len()))?;
        for (k, v) in &self.items {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'a, K: Ord, V, const N: usize> IntoIterator for &'a VecMap<K, V, N> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k, v))
    }
}

/// A small set kept as a sorted vector of unique items, up to four of them inline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecSet<T> {
    items: SmallVec<[T; 4]>,
}

impl<T> Default for VecSet<T> {
    fn default() -> Self {
        VecSet { items: SmallVec::new() }
    }
}

impl<T: Ord> VecSet<T> {
    pub fn contains(&self, item: &T) -> bool {
        self.items.binary_search(item).is_ok()
    }

    /// Adds `item`; returns whether it was new.
    pub fn insert(&mut self, item: T) -> bool {
        match self.items.binary_search(&item) {
            Ok(_) => false,
            Err(i) => {
                self.items.insert(i, item);
                true
            }
        }
    }

    /// Removes `item`; returns whether it was there.
    pub fn remove(&mut self, item: &T) -> bool {
        match self.items.binary_search(item) {
            Ok(i) => {
                self.items.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn retain(&mut self, keep: impl FnMut(&mut T) -> bool) {
        self.items.retain(keep);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Items in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }
}

impl<T: Ord> FromIterator<T> for VecSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut items: SmallVec<[T; 4]> = iter.into_iter().collect();
        items.sort_unstable();
        items.dedup();
        VecSet { items }
    }
}

impl<T: Ord> Extend<T> for VecSet<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for item in iter {
            self.insert(item);
        }
    }
}

impl<T> IntoIterator for VecSet<T> {
    type Item = T;
    type IntoIter = smallvec::IntoIter<[T; 4]>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<T: Serialize> Serialize for VecSet<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.items.len()))?;
        for item in &self.items {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl<'a, T: Ord> IntoIterator for &'a VecSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_an_ordered_map() {
        let mut m: VecMap<i32, &str> = VecMap::single(5, "five");
        assert_eq!(m.insert(1, "one"), None);
        assert_eq!(m.insert(9, "nine"), None);
        assert_eq!(m.insert(5, "FIVE"), Some("five"));
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 5, 9]);
        assert_eq!(m.get(&5), Some(&"FIVE"));
        if let Some(v) = m.get_mut(&5) {
            *v = "five";
        }
        assert_eq!(m.insert(5, "FIVE"), Some("five"));
        assert!(m.get_mut(&4).is_none());
        assert!(m.contains_key(&9) && !m.contains_key(&2));
        assert_eq!(*m.get_or_insert(2, "two"), "two");
        assert_eq!(*m.get_or_insert(2, "zwei"), "two");
        assert_eq!(m.remove(&1), Some("one"));
        assert_eq!(m.remove(&1), None);
        m.retain(|k, _| *k != 9);
        assert_eq!((&m).into_iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), [(2, "two"), (5, "FIVE")]);
        assert_eq!(m.len(), 2);
        assert!(!m.is_empty());
        assert_eq!(m.first(), Some((&2, &"two")));
        let collected: VecMap<u8, char, 4> = [(3, 'a'), (1, 'b'), (3, 'c')].into_iter().collect();
        assert_eq!(collected.into_iter().collect::<Vec<_>>(), [(1, 'b'), (3, 'c')]);
    }

    #[test]
    fn set_is_sorted_and_unique() {
        let s: VecSet<u32> = [5, 1, 9, 5, 3, 1, 7].into_iter().collect();
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 3, 5, 7, 9]);
        assert!(s.contains(&7) && !s.contains(&2));
        assert_eq!(s.len(), 5);
        assert!(VecSet::<u32>::default().is_empty());
        let mut t = s.clone();
        assert!(t.insert(4) && !t.insert(4));
        t.retain(|x| *x % 3 != 0);
        assert!(t.remove(&5) && !t.remove(&5));
        t.extend([5, 2]);
        assert_eq!(t.into_iter().collect::<Vec<_>>(), [1, 2, 4, 5, 7]);
    }
}
