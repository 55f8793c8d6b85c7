//! SPT switch policies per group range (RFC 7761 §4.2.1): immediate, never, and a rate threshold
//! measured from the forwarding entries' byte counters.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use hato_core::SgKey;

use super::harness::*;
use crate::{ByteCount, Input, LocalMembership, SourceFilter, SptPolicy};

/// A local (*,G) member on if3 and the source's first packet down the shared tree on if1.
fn member_and_first_packet(h: &mut Harness, group: Ipv4Addr) {
    h.input(Input::Membership(LocalMembership {
        ifindex: IF3,
        group,
        filter: SourceFilter::Exclude(BTreeSet::new()),
    }));
    h.input(Input::NoCache { iif: IF1, source: src(), group });
}

fn joined_spt(h: &mut Harness, group: Ipv4Addr) -> bool {
    h.sent_jp().iter().any(|(_, jp)| has(jp, group, sg(src()), true))
}

fn counts(group: Ipv4Addr, bytes: u64) -> Input<hato_core::V4> {
    Input::ByteCounts(vec![ByteCount { source: src(), group, bytes }])
}

fn policies(h: &mut Harness) {
    h.input(Input::SptPolicies(vec![
        ("239.1.0.0/16".parse().unwrap(), SptPolicy::Threshold { kbit_per_sec: 100 }),
        ("239.2.0.0/16".parse().unwrap(), SptPolicy::Never),
    ]));
}

#[test]
fn threshold_switches_once_the_rate_exceeds_it_and_never_back() {
    let mut h = Harness::standard();
    policies(&mut h);
    member_and_first_packet(&mut h, grp());
    assert!(!joined_spt(&mut h, grp()), "no switch at the first packet");
    h.at(1.0).input(counts(grp(), 0));
    // 10,000 bytes in 1 s: 80 kbit/s, under the threshold.
    h.at(2.0).input(counts(grp(), 10_000));
    assert!(!joined_spt(&mut h, grp()));
    assert!(!h.r.switch_to_spt_desired(src(), grp()));
    // 20,000 bytes in the next second: 160 kbit/s.
    h.at(3.0).input(counts(grp(), 30_000));
    assert!(joined_spt(&mut h, grp()), "Join(S,G) toward the source");
    assert!(h.r.switch_to_spt_desired(src(), grp()));
    // The rate drops to nothing: the switch stays.
    h.at(4.0).input(counts(grp(), 30_000));
    h.at(5.0).input(counts(grp(), 30_000));
    assert!(h.r.switch_to_spt_desired(src(), grp()));
    assert_eq!(h.up(SgKey::sg(src(), grp())).unwrap().state, "Joined");
}

#[test]
fn never_range_and_immediate_default() {
    let mut h = Harness::standard();
    policies(&mut h);
    let never = a("239.2.0.1");
    member_and_first_packet(&mut h, never);
    h.at(1.0).input(counts(never, 0));
    h.at(2.0).input(counts(never, 10_000_000));
    assert!(!joined_spt(&mut h, never), "never switches, whatever the rate");
    // Outside every range: the router-wide policy, immediate.
    let other = a("239.3.0.1");
    member_and_first_packet(&mut h, other);
    assert!(joined_spt(&mut h, other));
}

#[test]
fn byte_counts_without_threshold_policies_are_ignored() {
    let mut h = Harness::standard();
    member_and_first_packet(&mut h, grp());
    h.take();
    h.at(1.0).input(counts(grp(), 0));
    h.at(2.0).input(counts(grp(), 1 << 40));
    assert!(h.r.rate_samples.is_empty());
}
