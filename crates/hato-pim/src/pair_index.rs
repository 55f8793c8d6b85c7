//! [`PairIndex`]: a set of address pairs such as (G, S), grouped by their first member and keyed
//! on the family's integer form of the address ([`Afi::Key`]). PIM indexes its (S,G) entries
//! with it: a group's sources, and a source's groups.
//!
//! The first members hash to small ordered sets of second members, so that adding an entry to a
//! group searches the group's own few sources (in cache while its Join is processed) rather than
//! one tree of every entry.

use std::collections::BTreeSet;

use hato_core::Afi;
use rustc_hash::FxHashMap;

/// Pairs `(first, second)`, the second members of each first member in address order.
#[derive(Debug, Clone)]
pub(crate) struct PairIndex<A: Afi> {
    by_first: FxHashMap<A::Key, BTreeSet<A::Key>>,
}

impl<A: Afi> Default for PairIndex<A> {
    fn default() -> Self {
        PairIndex { by_first: FxHashMap::default() }
    }
}

impl<A: Afi> PairIndex<A> {
    /// Adds the pair; returns whether it was new.
    pub(crate) fn insert(&mut self, first: A::Addr, second: A::Addr) -> bool {
        self.by_first.entry(A::key(first)).or_default().insert(A::key(second))
    }

    /// Removes the pair; returns whether it was there.
    pub(crate) fn remove(&mut self, first: A::Addr, second: A::Addr) -> bool {
        let first = A::key(first);
        let Some(seconds) = self.by_first.get_mut(&first) else { return false };
        let removed = seconds.remove(&A::key(second));
        if seconds.is_empty() {
            self.by_first.remove(&first);
        }
        removed
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, first: A::Addr, second: A::Addr) -> bool {
        self.by_first.get(&A::key(first)).is_some_and(|s| s.contains(&A::key(second)))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_first.values().map(BTreeSet::len).sum()
    }

    /// Whether any pair has `first` as its first member.
    pub(crate) fn contains_first(&self, first: A::Addr) -> bool {
        self.by_first.contains_key(&A::key(first))
    }

    /// The first members, in no order.
    pub(crate) fn firsts(&self) -> impl Iterator<Item = A::Addr> + '_ {
        self.by_first.keys().map(|k| A::from_key(*k))
    }

    /// The second members of the pairs whose first member is `first`, in order.
    pub(crate) fn seconds(&self, first: A::Addr) -> impl Iterator<Item = A::Addr> + '_ {
        self.by_first.get(&A::key(first)).into_iter().flatten().map(|s| A::from_key(*s))
    }

    /// Every pair, in order (sorted on each call).
    pub(crate) fn sorted(&self) -> Vec<(A::Addr, A::Addr)> {
        let mut firsts: Vec<A::Key> = self.by_first.keys().copied().collect();
        firsts.sort_unstable();
        firsts
            .into_iter()
            .flat_map(|f| self.by_first[&f].iter().map(move |s| (A::from_key(f), A::from_key(*s))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hato_core::V4;

    use super::*;

    #[test]
    fn orders_by_address_and_lists_seconds() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let mut index = PairIndex::<V4>::default();
        assert!(index.insert(a("232.1.0.2"), a("198.19.0.1")));
        assert!(index.insert(a("232.1.0.1"), a("198.19.0.9")));
        assert!(index.insert(a("232.1.0.1"), a("198.19.0.10")));
        assert!(!index.insert(a("232.1.0.1"), a("198.19.0.9")));
        assert_eq!(index.seconds(a("232.1.0.1")).collect::<Vec<_>>(), [a("198.19.0.9"), a("198.19.0.10")]);
        assert_eq!(index.sorted().first(), Some(&(a("232.1.0.1"), a("198.19.0.9"))));
        assert!(index.contains(a("232.1.0.2"), a("198.19.0.1")));
        assert!(index.contains_first(a("232.1.0.2")));
        assert!(
            index.remove(a("232.1.0.2"), a("198.19.0.1")) && !index.remove(a("232.1.0.2"), a("198.19.0.1"))
        );
        assert!(!index.contains_first(a("232.1.0.2")), "a first member with no pairs is gone");
        index.insert(a("232.1.0.3"), a("198.19.0.1"));
        assert_eq!(index.len(), 3);
        assert_eq!(index.firsts().count(), 2);
    }
}
