//! A prefix table for one address family: exact, longest-match, covering and more-specific
//! queries, as RPF lookups, static mroutes, RP group ranges, SSM ranges and DVMRP routes need.
//! Backed by `prefix-trie`; prefixes are normalised (host bits cleared) on the way in.

use std::fmt;

use prefix_trie::PrefixMap;

use crate::Afi;

/// A map from prefixes of family `A` to values.
pub struct PrefixTable<A: Afi, V> {
    map: PrefixMap<A::Prefix, V>,
}

impl<A: Afi, V> Default for PrefixTable<A, V> {
    fn default() -> Self {
        PrefixTable { map: PrefixMap::new() }
    }
}

impl<A: Afi, V: Clone> Clone for PrefixTable<A, V> {
    fn clone(&self) -> Self {
        PrefixTable { map: self.map.clone() }
    }
}

impl<A: Afi, V: fmt::Debug> fmt::Debug for PrefixTable<A, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

fn normalise<A: Afi>(prefix: &A::Prefix) -> A::Prefix {
    let (addr, len) = A::prefix_parts(prefix);
    // `prefix_parts` returns a valid length, so re-building cannot fail.
    A::prefix(addr, len).unwrap_or(*prefix)
}

fn host_prefix<A: Afi>(addr: A::Addr) -> Option<A::Prefix> {
    A::prefix(addr, A::MAX_PREFIX_LEN)
}

impl<A: Afi, V> PrefixTable<A, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces the value of `prefix`; returns the old value.
    pub fn insert(&mut self, prefix: A::Prefix, value: V) -> Option<V> {
        self.map.insert(normalise::<A>(&prefix), value)
    }

    /// Removes `prefix` exactly.
    pub fn remove(&mut self, prefix: &A::Prefix) -> Option<V> {
        self.map.remove(&normalise::<A>(prefix))
    }

    /// The value stored for exactly `prefix`.
    pub fn get(&self, prefix: &A::Prefix) -> Option<&V> {
        self.map.get(&normalise::<A>(prefix))
    }

    /// Mutable access to the value stored for exactly `prefix`.
    pub fn get_mut(&mut self, prefix: &A::Prefix) -> Option<&mut V> {
        self.map.get_mut(&normalise::<A>(prefix))
    }

    /// The longest prefix containing `addr`.
    pub fn longest_match(&self, addr: A::Addr) -> Option<(A::Prefix, &V)> {
        self.map.get_lpm(&host_prefix::<A>(addr)?)
    }

    /// The longest stored prefix that covers `prefix` (itself included).
    pub fn longest_covering(&self, prefix: &A::Prefix) -> Option<(A::Prefix, &V)> {
        self.map.get_lpm(&normalise::<A>(prefix))
    }

    /// Every stored prefix that covers `prefix` (itself included), shortest first.
    pub fn covering(&self, prefix: &A::Prefix) -> impl Iterator<Item = (A::Prefix, &V)> + '_ {
        self.map.cover(&normalise::<A>(prefix))
    }

    /// Every stored prefix that contains `addr`, shortest first.
    pub fn matches(&self, addr: A::Addr) -> impl Iterator<Item = (A::Prefix, &V)> + '_ {
        let host = host_prefix::<A>(addr);
        host.into_iter().flat_map(move |p| self.map.cover(&p))
    }

    /// Every stored prefix inside `prefix` (itself included), in lexicographic order.
    pub fn children(&self, prefix: &A::Prefix) -> impl Iterator<Item = (A::Prefix, &V)> + '_ {
        self.map.children(&normalise::<A>(prefix))
    }

    /// Every entry in lexicographic order.
    pub fn iter(&self) -> impl Iterator<Item = (A::Prefix, &V)> + '_ {
        self.map.iter()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Keeps only the entries for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&A::Prefix, &V) -> bool) {
        self.map.retain(|p, v| keep(p, v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{V4, V6};
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// A reference model: a plain map scanned in full for every query.
    fn check_against_reference<A: Afi>(
        entries: &[(A::Prefix, u32)],
        probes: &[A::Addr],
        probe_prefixes: &[A::Prefix],
    ) -> Result<(), TestCaseError> {
        let mut table = PrefixTable::<A, u32>::new();
        let mut model: BTreeMap<(A::Addr, u8), u32> = BTreeMap::new();
        for (p, v) in entries {
            table.insert(*p, *v);
            let (a, l) = A::prefix_parts(p);
            model.insert((A::prefix_parts(&A::prefix(a, l).unwrap()).0, l), *v);
        }
        prop_assert_eq!(table.len(), model.len());
        let contains = |(a, l): (A::Addr, u8), x: A::Addr| A::prefix_contains(&A::prefix(a, l).unwrap(), x);
        for &addr in probes {
            let expected = model
                .iter()
                .filter(|(k, _)| contains(**k, addr))
                .max_by_key(|(k, _)| k.1)
                .map(|(k, v)| (k.1, *v));
            let got = table.longest_match(addr).map(|(p, v)| (A::prefix_parts(&p).1, *v));
            prop_assert_eq!(got, expected);
            let all: Vec<u8> = table.matches(addr).map(|(p, _)| A::prefix_parts(&p).1).collect();
            let mut model_all: Vec<u8> = model.keys().filter(|k| contains(**k, addr)).map(|k| k.1).collect();
            model_all.sort();
            prop_assert_eq!(all, model_all);
        }
        for q in probe_prefixes {
            let (qa, ql) = A::prefix_parts(&A::prefix(A::prefix_parts(q).0, A::prefix_parts(q).1).unwrap());
            let covers = |(a, l): (A::Addr, u8)| l <= ql && contains((a, l), qa);
            let mut cover: Vec<(A::Addr, u8)> = table.covering(q).map(|(p, _)| A::prefix_parts(&p)).collect();
            cover.sort_by_key(|k| k.1);
            let mut model_cover: Vec<(A::Addr, u8)> = model.keys().copied().filter(|k| covers(*k)).collect();
            model_cover.sort_by_key(|k| k.1);
            prop_assert_eq!(cover, model_cover);
            let mut kids: Vec<(A::Addr, u8)> = table.children(q).map(|(p, _)| A::prefix_parts(&p)).collect();
            kids.sort();
            let model_kids: Vec<(A::Addr, u8)> =
                model.keys().copied().filter(|(a, l)| *l >= ql && contains((qa, ql), *a)).collect();
            prop_assert_eq!(kids, model_kids);
        }
        Ok(())
    }

    // Addresses drawn from a small space so that prefixes overlap often.
    fn v4_addr() -> impl Strategy<Value = Ipv4Addr> {
        (0u8..4, 0u8..4, any::<u8>()).prop_map(|(a, b, c)| Ipv4Addr::new(198, 18 + (a & 1), b, c))
    }
    fn v4_prefix() -> impl Strategy<Value = ipnet::Ipv4Net> {
        (v4_addr(), 0u8..=32).prop_map(|(a, l)| ipnet::Ipv4Net::new(a, l).unwrap())
    }
    fn v6_addr() -> impl Strategy<Value = Ipv6Addr> {
        (0u16..4, any::<u16>()).prop_map(|(a, b)| Ipv6Addr::new(0xfd00, a, 0, 0, 0, 0, 0, b))
    }
    fn v6_prefix() -> impl Strategy<Value = ipnet::Ipv6Net> {
        (v6_addr(), 0u8..=128).prop_map(|(a, l)| ipnet::Ipv6Net::new(a, l).unwrap())
    }

    proptest! {
        #[test]
        fn v4_matches_reference(entries in proptest::collection::vec((v4_prefix(), any::<u32>()), 0..40),
                                probes in proptest::collection::vec(v4_addr(), 1..20),
                                qs in proptest::collection::vec(v4_prefix(), 1..10)) {
            check_against_reference::<V4>(&entries, &probes, &qs)?;
        }

        #[test]
        fn v6_matches_reference(entries in proptest::collection::vec((v6_prefix(), any::<u32>()), 0..40),
                                probes in proptest::collection::vec(v6_addr(), 1..20),
                                qs in proptest::collection::vec(v6_prefix(), 1..10)) {
            check_against_reference::<V6>(&entries, &probes, &qs)?;
        }
    }

    #[test]
    fn host_bits_are_ignored() {
        let mut t = PrefixTable::<V4, &str>::new();
        t.insert("198.18.1.7/24".parse().unwrap(), "a");
        assert_eq!(t.get(&"198.18.1.0/24".parse().unwrap()), Some(&"a"));
        assert_eq!(t.longest_match("198.18.1.200".parse().unwrap()).map(|(_, v)| *v), Some("a"));
        assert_eq!(t.remove(&"198.18.1.99/24".parse().unwrap()), Some("a"));
        assert!(t.is_empty());
    }
}
