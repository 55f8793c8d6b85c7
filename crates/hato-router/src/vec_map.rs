//! [`VecMap`]: a map kept as a sorted vector, for the per-entry maps of the mroute table that
//! hold one or two items (intents per origin, oif uptimes). A `BTreeMap` allocates a whole node
//! (room for eleven items, several hundred octets) for its first item; at 100,000 (S,G) entries
//! that alone was more than half a kilobyte per entry. The first item is stored inline, so the
//! common map of one item allocates nothing.

use smallvec::{smallvec, SmallVec};

/// A small map ordered by key: lookups by binary search, inserts and removals by shifting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<K, V> {
    items: SmallVec<[(K, V); 1]>,
}

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap { items: SmallVec::new() }
    }
}

impl<K: Ord, V> VecMap<K, V> {
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
}

impl<'a, K: Ord, V> IntoIterator for &'a VecMap<K, V> {
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
        let mut m = VecMap::single(5, "five");
        assert_eq!(m.insert(1, "one"), None);
        assert_eq!(m.insert(9, "nine"), None);
        assert_eq!(m.insert(5, "FIVE"), Some("five"));
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [1, 5, 9]);
        assert_eq!(m.get(&5), Some(&"FIVE"));
        assert!(m.contains_key(&9) && !m.contains_key(&2));
        assert_eq!(*m.get_or_insert(2, "two"), "two");
        assert_eq!(*m.get_or_insert(2, "zwei"), "two");
        assert_eq!(m.remove(&1), Some("one"));
        assert_eq!(m.remove(&1), None);
        m.retain(|k, _| *k != 9);
        assert_eq!((&m).into_iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), [(2, "two"), (5, "FIVE")]);
        assert_eq!(m.len(), 2);
        assert!(!m.is_empty());
    }

    #[test]
    fn set_is_sorted_and_unique() {
        let s: VecSet<u32> = [5, 1, 9, 5, 3, 1, 7].into_iter().collect();
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), [1, 3, 5, 7, 9]);
        assert!(s.contains(&7) && !s.contains(&2));
        assert_eq!(s.len(), 5);
        assert!(VecSet::<u32>::default().is_empty());
    }
}
