//! RP selection: both algorithms of table 15-10 with ties at every step, static/BSR precedence,
//! embedded-RP, decisions that explain themselves, and RP change events.

use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{Afi, V4, V6};
use hato_pim::rp::{
    hash_value, select, Candidate, DecisionRule, NoRp, RpAlgorithm, RpChange, RpMapping, RpMappingConfig,
    RpPrecedence, RpSet, RpSetEntry, RpSource, StaticRp,
};
use proptest::prelude::*;

fn a4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn p4(s: &str) -> <V4 as Afi>::Prefix {
    s.parse().unwrap()
}

fn c4(rp: &str, range: &str, priority: u8) -> Candidate<V4> {
    Candidate { rp: a4(rp), range: p4(range), priority }
}

const G: &str = "239.1.2.3";

#[test]
fn rfc4601_longest_match_first() {
    let cands = [c4("198.18.0.1", "239.0.0.0/8", 0), c4("198.18.0.2", "239.1.0.0/16", 200)];
    let s = select::<V4>(a4(G), &cands, RpAlgorithm::Rfc4601, 30).unwrap();
    assert_eq!(s.winner.rp, a4("198.18.0.2"));
    assert_eq!(s.rule, DecisionRule::LongestMatch);
    // rfc2362 ignores the prefix length: the lower priority value wins.
    let s = select::<V4>(a4(G), &cands, RpAlgorithm::Rfc2362, 30).unwrap();
    assert_eq!(s.winner.rp, a4("198.18.0.1"));
    assert_eq!(s.rule, DecisionRule::LowestPriority);
}

#[test]
fn priority_tie_goes_to_hash() {
    let cands = [
        c4("198.18.0.1", "239.0.0.0/8", 5),
        c4("198.18.0.2", "239.0.0.0/8", 5),
        c4("198.18.0.3", "239.0.0.0/8", 9),
    ];
    for algorithm in [RpAlgorithm::Rfc4601, RpAlgorithm::Rfc2362] {
        let s = select::<V4>(a4(G), &cands, algorithm, 30).unwrap();
        let h1 = hash_value::<V4>(a4(G), 30, a4("198.18.0.1"));
        let h2 = hash_value::<V4>(a4(G), 30, a4("198.18.0.2"));
        let expected = if h1 > h2 { "198.18.0.1" } else { "198.18.0.2" };
        assert_eq!(s.winner.rp, a4(expected));
        assert_eq!(s.rule, DecisionRule::HighestHash);
        assert_eq!(s.hash, Some(h1.max(h2)));
    }
}

#[test]
fn hash_tie_goes_to_highest_address() {
    // IPv6 RPs whose 32-bit digests are equal hash alike: fd00:0:0:1:: has the words
    // fd000000 00000001 0 0 and fd00::1 the words fd000000 0 0 00000001; both fold to fd000001.
    let r1: Ipv6Addr = "fd00:0:0:1::".parse().unwrap();
    let r2: Ipv6Addr = "fd00::1".parse().unwrap();
    let g: Ipv6Addr = "ff0e::1".parse().unwrap();
    assert_eq!(hash_value::<V6>(g, 126, r1), hash_value::<V6>(g, 126, r2));
    let range: <V6 as Afi>::Prefix = "ff00::/8".parse().unwrap();
    let cands =
        [Candidate::<V6> { rp: r2, range, priority: 1 }, Candidate::<V6> { rp: r1, range, priority: 1 }];
    let s = select::<V6>(g, &cands, RpAlgorithm::Rfc4601, 126).unwrap();
    assert_eq!(s.winner.rp, r1.max(r2));
    assert_eq!(s.rule, DecisionRule::HighestAddress);
}

#[test]
fn rfc2362_considers_every_covering_range() {
    // Same priority across a /8 and a /16: rfc4601 takes the /16 RP, rfc2362 hashes over both.
    let cands = [c4("198.18.0.1", "239.0.0.0/8", 1), c4("198.18.0.2", "239.1.0.0/16", 1)];
    let s = select::<V4>(a4(G), &cands, RpAlgorithm::Rfc4601, 30).unwrap();
    assert_eq!(s.winner.rp, a4("198.18.0.2"));
    let s = select::<V4>(a4(G), &cands, RpAlgorithm::Rfc2362, 30).unwrap();
    assert_eq!(s.rule, DecisionRule::HighestHash);
}

#[test]
fn single_candidate_and_none() {
    let s = select::<V4>(a4(G), &[c4("198.18.0.1", "224.0.0.0/4", 0)], RpAlgorithm::Rfc4601, 30).unwrap();
    assert_eq!(s.rule, DecisionRule::OnlyCandidate);
    assert_eq!(s.hash, None);
    assert!(select::<V4>(a4(G), &[], RpAlgorithm::Rfc4601, 30).is_none());
}

fn bsr_set(entries: &[(&str, &str, u8)]) -> RpSet<V4> {
    let mut set = RpSet { bsr: Some(a4("198.18.9.9")), hash_mask_len: 30, ..RpSet::new() };
    for (range, rp, priority) in entries {
        set.insert(p4(range), RpSetEntry { address: a4(rp), priority: *priority, holdtime: 150 });
    }
    set
}

#[test]
fn precedence_between_static_and_bsr() {
    let mut out = Vec::new();
    let mut m = RpMapping::<V4>::new(RpMappingConfig::default());
    m.set_static_rps(
        vec![StaticRp { address: a4("198.18.0.1"), range: p4("239.0.0.0/8"), priority: 0 }],
        &mut out,
    );
    m.set_rp_set(bsr_set(&[("239.1.0.0/16", "198.18.0.2", 0), ("238.0.0.0/8", "198.18.0.3", 0)]), &mut out);
    // static-over-bsr: the static range covers 239.1.2.3, so the BSR's longer /16 does not count.
    let d = m.decide(a4(G)).unwrap();
    assert_eq!((d.rp, d.source), (a4("198.18.0.1"), RpSource::Static));
    // Groups only the RP-Set covers still get its RP.
    assert_eq!(m.rp_for(a4("238.1.1.1")), Some(a4("198.18.0.3")));
    let cfg = RpMappingConfig { precedence: RpPrecedence::BsrOverStatic, ..RpMappingConfig::default() };
    m.set_config(cfg, &mut out);
    let d = m.decide(a4(G)).unwrap();
    assert_eq!((d.rp, d.source), (a4("198.18.0.2"), RpSource::Bsr));
    assert_eq!(m.rp_for(a4("239.200.0.1")), Some(a4("198.18.0.1")));
    assert_eq!(m.decide(a4("230.0.0.1")), Err(NoRp::NoCandidate));
    assert_eq!(m.decide(a4("224.0.0.13")), Err(NoRp::NotRoutable));
    assert_eq!(m.decide(a4("198.18.0.1")), Err(NoRp::NotRoutable));
}

#[test]
fn bsr_hash_mask_is_the_announced_one() {
    let mut out = Vec::new();
    let mut m = RpMapping::<V4>::default();
    let mut set = bsr_set(&[("239.0.0.0/8", "198.18.0.1", 0), ("239.0.0.0/8", "198.18.0.2", 0)]);
    set.hash_mask_len = 4;
    m.set_rp_set(set, &mut out);
    let d = m.decide(a4(G)).unwrap();
    assert_eq!(d.hash_mask_len, Some(4));
    // Mask 4 leaves only 224.0.0.0: every group of the range maps to one RP.
    let rp = d.rp;
    for g in ["239.0.0.1", "239.77.1.2", "239.255.0.9"] {
        assert_eq!(m.rp_for(a4(g)), Some(rp));
    }
}

#[test]
fn embedded_rp_always_wins_for_its_groups() {
    let mut out = Vec::new();
    let mut m = RpMapping::<V6>::default();
    let any: <V6 as Afi>::Prefix = "ff00::/8".parse().unwrap();
    let static_rp: Ipv6Addr = "fd00::99".parse().unwrap();
    m.set_static_rps(vec![StaticRp { address: static_rp, range: any, priority: 0 }], &mut out);
    let g: Ipv6Addr = "ff7e:140:2001:db8:beef:feed::1234".parse().unwrap();
    let d = m.decide(g).unwrap();
    assert_eq!(d.source, RpSource::Embedded);
    assert_eq!(d.rule, DecisionRule::EmbeddedRp);
    assert_eq!(d.rp, "2001:db8:beef:feed::1".parse::<Ipv6Addr>().unwrap());
    // An invalid embedded-RP group gets no RP at all rather than the static one.
    let bad: Ipv6Addr = "ff7e:141:2001:db8::1".parse().unwrap();
    assert!(matches!(m.decide(bad), Err(NoRp::InvalidEmbeddedRp(_))));
    // Other groups use the static RP; with embedded-RP off, so do ff7x groups.
    assert_eq!(m.rp_for("ff3e::1".parse().unwrap()), Some(static_rp));
    m.set_config(RpMappingConfig { embedded_rp: false, ..RpMappingConfig::default() }, &mut out);
    assert_eq!(m.rp_for(g), Some(static_rp));
}

#[test]
fn decision_explains_itself() {
    let mut out = Vec::new();
    let mut m = RpMapping::<V4>::default();
    m.set_rp_set(bsr_set(&[("239.0.0.0/8", "198.18.0.1", 3), ("239.0.0.0/8", "198.18.0.2", 3)]), &mut out);
    let d = m.decide(a4(G)).unwrap();
    let line = d.to_string();
    assert!(!line.contains('\n'));
    assert!(line.starts_with("239.1.2.3 rp 198.18.0."), "{line}");
    assert!(line.contains("via bsr range 239.0.0.0/8 priority 3 hash "), "{line}");
    assert!(line.contains("decided by highest-hash (rfc4601, 2 candidates)"), "{line}");
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["source"], "bsr");
    assert_eq!(json["rule"], "highest-hash");
    assert_eq!(json["range"], "239.0.0.0/8");
    assert_eq!(json["algorithm"], "rfc4601");
    let no = m.decide(a4("230.1.1.1")).unwrap_err();
    assert_eq!(serde_json::to_value(no).unwrap()["reason"], "no-candidate");
}

#[test]
fn watched_groups_report_rp_changes() {
    let mut out = Vec::new();
    let mut m = RpMapping::<V4>::default();
    assert_eq!(m.watch(a4(G)), None);
    m.watch(a4("238.0.0.1"));
    m.set_rp_set(bsr_set(&[("239.0.0.0/8", "198.18.0.1", 0)]), &mut out);
    assert_eq!(out, vec![RpChange { group: a4(G), old: None, new: Some(a4("198.18.0.1")) }]);
    out.clear();
    // A better (lower priority value) RP appears: the group moves.
    m.set_rp_set(bsr_set(&[("239.0.0.0/8", "198.18.0.1", 5), ("239.0.0.0/8", "198.18.0.2", 0)]), &mut out);
    assert_eq!(
        out,
        vec![RpChange { group: a4(G), old: Some(a4("198.18.0.1")), new: Some(a4("198.18.0.2")) }]
    );
    assert_eq!(out[0].to_string(), "rp of 239.1.2.3 changed: 198.18.0.1 -> 198.18.0.2");
    out.clear();
    // Nothing changes for the followed groups: no event.
    m.set_rp_set(
        bsr_set(&[
            ("239.0.0.0/8", "198.18.0.1", 5),
            ("239.0.0.0/8", "198.18.0.2", 0),
            ("237.0.0.0/8", "198.18.0.7", 0),
        ]),
        &mut out,
    );
    assert!(out.is_empty());
    m.unwatch(a4(G));
    m.set_rp_set(RpSet::new(), &mut out);
    assert!(out.is_empty());
}

fn candidate() -> impl Strategy<Value = Candidate<V4>> {
    // Ranges from 224.0.0.0/4 to 239.0.0.0/8 all contain the 239/8 groups tested.
    (any::<u32>(), 4u8..=8, 0u8..4).prop_map(|(rp, len, priority)| Candidate {
        rp: Ipv4Addr::from(rp),
        range: V4::prefix(Ipv4Addr::new(239, 0, 0, 0), len).unwrap(),
        priority,
    })
}

proptest! {
    /// The winner is a candidate with the lowest priority among the longest (rfc4601) or all
    /// (rfc2362) ranges, and no candidate of that class has a higher (hash, address).
    #[test]
    fn winner_is_optimal(cands in proptest::collection::vec(candidate(), 1..8), host in any::<u32>(), mask in 0u8..=32) {
        let group = Ipv4Addr::from(0xef00_0000 | (host & 0x00ff_ffff));
        let covering: Vec<_> = cands.into_iter().filter(|c| V4::prefix_contains(&c.range, group)).collect();
        for algorithm in [RpAlgorithm::Rfc4601, RpAlgorithm::Rfc2362] {
            let Some(s) = select::<V4>(group, &covering, algorithm, mask) else {
                prop_assert!(covering.is_empty());
                continue;
            };
            let longest = covering.iter().map(|c| c.range.prefix_len()).max().unwrap();
            let class: Vec<_> = covering.iter().filter(|c| algorithm == RpAlgorithm::Rfc2362 || c.range.prefix_len() == longest).collect();
            let best_priority = class.iter().map(|c| c.priority).min().unwrap();
            prop_assert_eq!(s.winner.priority, best_priority);
            let key = |rp: Ipv4Addr| (hash_value::<V4>(group, mask, rp), rp);
            for c in class.iter().filter(|c| c.priority == best_priority) {
                prop_assert!(key(c.rp) <= key(s.winner.rp));
            }
        }
    }
}
