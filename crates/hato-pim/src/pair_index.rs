//! [`PairIndex`]: an ordered set of address pairs such as (G, S), keyed on the family's integer
//! form of the address ([`Afi::Key`]) so that its searches compare integers. PIM keeps its
//! per-(S,G) indexes (a group's sources, a source's groups, the entries to re-evaluate) in it.

use std::collections::BTreeSet;

use hato_core::Afi;

/// Pairs `(first, second)` in address order.
#[derive(Debug, Clone)]
pub(crate) struct PairIndex<A: Afi> {
    keys: BTreeSet<(A::Key, A::Key)>,
}

impl<A: Afi> Default for PairIndex<A> {
    fn default() -> Self {
        PairIndex { keys: BTreeSet::new() }
    }
}

impl<A: Afi> PairIndex<A> {
    fn key(first: A::Addr, second: A::Addr) -> (A::Key, A::Key) {
        (A::key(first), A::key(second))
    }

    /// Adds the pair; returns whether it was new.
    pub(crate) fn insert(&mut self, first: A::Addr, second: A::Addr) -> bool {
        self.keys.insert(Self::key(first, second))
    }

    /// Removes the pair; returns whether it was there.
    pub(crate) fn remove(&mut self, first: A::Addr, second: A::Addr) -> bool {
        self.keys.remove(&Self::key(first, second))
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, first: A::Addr, second: A::Addr) -> bool {
        self.keys.contains(&Self::key(first, second))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The second members of the pairs whose first member is `first`, in order.
    pub(crate) fn seconds(&self, first: A::Addr) -> impl Iterator<Item = A::Addr> + '_ {
        let low = (A::key(first), A::key(A::UNSPECIFIED));
        self.keys.range(low..).take_while(move |(f, _)| *f == low.0).map(|(_, s)| A::from_key(*s))
    }

    /// Every pair, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (A::Addr, A::Addr)> + '_ {
        self.keys.iter().map(|(f, s)| (A::from_key(*f), A::from_key(*s)))
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
        assert_eq!(index.iter().next(), Some((a("232.1.0.1"), a("198.19.0.9"))));
        assert!(index.contains(a("232.1.0.2"), a("198.19.0.1")));
        assert!(
            index.remove(a("232.1.0.2"), a("198.19.0.1")) && !index.remove(a("232.1.0.2"), a("198.19.0.1"))
        );
        index.insert(a("232.1.0.3"), a("198.19.0.1"));
        assert_eq!(index.len(), 3);
    }
}
