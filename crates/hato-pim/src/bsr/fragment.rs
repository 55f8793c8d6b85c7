//! Bootstrap message fragmentation and reassembly (RFC 5059 §3.5, fields of §4.1).
//!
//! An RP-Set too large for one message is sent as several Bootstrap messages with the same
//! fragment tag. Each fragment stands alone: a group range whose RPs do not fit is repeated in
//! the next fragment with the rest of its RPs, every copy with the same RP Count (the range's
//! total) and its own Frag RP Count. A receiver installs a group range once it has seen RP Count
//! RPs for it under one tag; a fragment with another tag (or from another BSR) starts a new
//! reassembly and discards the partial one.
//!
//! A Bootstrap message of an administratively scoped zone starts, in every fragment, with the
//! zone's group range with the Admin Scope Zone (Z) bit set (RFC 5059 §4.1), whether or not the
//! range has RPs of its own; that is how receivers tell the zone.

use std::collections::BTreeMap;

use hato_core::Afi;
use hato_wire::pim::{
    group_len, unicast_len, Bootstrap, BootstrapGroupRange, BootstrapRp, EncodedGroup, HEADER_LEN,
};

use super::election::BsrId;
use crate::rp::RpSet;

/// Octets of a Bootstrap message without group ranges: the PIM header, the fragment tag, hash
/// mask length and BSR priority, and the BSR's Encoded-Unicast address.
fn base_len<A: Afi>() -> usize {
    HEADER_LEN + 4 + unicast_len::<A>()
}

/// Octets of a group range header (Encoded-Group, RP Count, Frag RP Count, reserved).
fn range_header_len<A: Afi>() -> usize {
    group_len::<A>() + 4
}

/// Octets of one RP (Encoded-Unicast, holdtime, priority, reserved).
fn rp_len<A: Afi>() -> usize {
    unicast_len::<A>() + 4
}

/// Splits `rp_set` into Bootstrap messages of at most `max_len` octets (the PIM message, without
/// the IP header) under fragment tag `tag`. Every message holds at least one RP or range, so an
/// absurdly small `max_len` still makes progress. A range with more than 255 RPs announces the
/// first 255 (RP Count is one octet).
pub fn fragment<A: Afi>(rp_set: &RpSet<A>, bsr: BsrId<A>, tag: u16, max_len: usize) -> Vec<Bootstrap<A>> {
    fragment_in_zone(rp_set, bsr, tag, max_len, None)
}

/// [`fragment`] for the admin scope zone `zone` (`None`: the global zone): each fragment starts
/// with the zone's range, Z bit set, repeated with RP Count and no RPs where the fragment does not
/// carry the range's own RPs.
pub fn fragment_in_zone<A: Afi>(
    rp_set: &RpSet<A>,
    bsr: BsrId<A>,
    tag: u16,
    max_len: usize,
    zone: Option<A::Prefix>,
) -> Vec<Bootstrap<A>> {
    let Some(zone) = zone else {
        return fragment_global(rp_set, bsr, tag, max_len);
    };
    // Room for the zone's range header in every fragment.
    let mut fragments = fragment_global(rp_set, bsr, tag, max_len.saturating_sub(range_header_len::<A>()));
    let (network, mask_len) = A::prefix_parts(&zone);
    let zone_rp_count = rp_set.range(&zone).map_or(0, |r| r.rps.len().min(usize::from(u8::MAX)));
    for f in &mut fragments {
        match f.group_ranges.first_mut() {
            Some(first) if first.group.prefix() == Some(zone) => first.group.admin_scope = true,
            _ => {
                let mut group = EncodedGroup::range(network, mask_len);
                group.admin_scope = true;
                // At most 255, so the cast is exact.
                let header = BootstrapGroupRange { group, rp_count: zone_rp_count as u8, rps: Vec::new() };
                f.group_ranges.insert(0, header);
            }
        }
    }
    fragments
}

fn fragment_global<A: Afi>(rp_set: &RpSet<A>, bsr: BsrId<A>, tag: u16, max_len: usize) -> Vec<Bootstrap<A>> {
    let message = |group_ranges| Bootstrap {
        no_forward: false,
        fragment_tag: tag,
        hash_mask_len: rp_set.hash_mask_len,
        bsr_priority: bsr.priority,
        bsr_address: bsr.address,
        group_ranges,
    };
    let mut fragments = Vec::new();
    let mut current: Vec<BootstrapGroupRange<A>> = Vec::new();
    let mut len = base_len::<A>();
    for range in &rp_set.ranges {
        let (network, mask_len) = A::prefix_parts(&range.range);
        let rps: Vec<BootstrapRp<A>> = range
            .rps
            .iter()
            .take(usize::from(u8::MAX))
            .map(|e| BootstrapRp { address: e.address, holdtime: e.holdtime, priority: e.priority })
            .collect();
        // At most 255 entries, so the cast is exact.
        let rp_count = rps.len() as u8;
        let mut rest: &[BootstrapRp<A>] = &rps;
        loop {
            let fits = max_len.saturating_sub(len + range_header_len::<A>()) / rp_len::<A>();
            let header_fits = len + range_header_len::<A>() <= max_len;
            if !current.is_empty() && (!header_fits || (fits == 0 && !rest.is_empty())) {
                fragments.push(message(std::mem::take(&mut current)));
                len = base_len::<A>();
                continue;
            }
            let take = fits.max(1).min(rest.len());
            let (now, later) = rest.split_at(take);
            current.push(BootstrapGroupRange {
                group: EncodedGroup::range(network, mask_len),
                rp_count,
                rps: now.to_vec(),
            });
            len += range_header_len::<A>() + take * rp_len::<A>();
            rest = later;
            if rest.is_empty() {
                break;
            }
            fragments.push(message(std::mem::take(&mut current)));
            len = base_len::<A>();
        }
    }
    if !current.is_empty() || fragments.is_empty() {
        fragments.push(message(current));
    }
    fragments
}

/// The RPs of one group range collected so far under one fragment tag.
#[derive(Debug, Clone)]
struct PartialRange<A: Afi> {
    rp_count: u8,
    rps: BTreeMap<A::Addr, BootstrapRp<A>>,
}

/// Reassembly of the fragments of one Bootstrap message (one BSR, one fragment tag).
#[derive(Debug, Clone)]
pub struct Reassembly<A: Afi> {
    bsr: A::Addr,
    tag: u16,
    ranges: BTreeMap<A::Prefix, PartialRange<A>>,
    fragments: Vec<Bootstrap<A>>,
}

/// Fragments kept per reassembly for re-sending to new neighbours; more are not kept.
const MAX_KEPT_FRAGMENTS: usize = 64;

impl<A: Afi> Reassembly<A> {
    pub fn new(bsr: A::Addr, tag: u16) -> Self {
        Reassembly { bsr, tag, ranges: BTreeMap::new(), fragments: Vec::new() }
    }

    /// Whether `fragment` belongs to this reassembly.
    pub fn matches(&self, fragment: &Bootstrap<A>) -> bool {
        self.bsr == fragment.bsr_address && self.tag == fragment.fragment_tag
    }

    pub fn tag(&self) -> u16 {
        self.tag
    }

    /// The fragments received so far (each once), as they arrived.
    pub fn fragments(&self) -> &[Bootstrap<A>] {
        &self.fragments
    }

    /// Adds a fragment of this reassembly; returns every group range it touched that is now
    /// complete, with all its RPs (a range with RP Count 0 is complete and empty). Bidirectional
    /// ranges are skipped: this router runs PIM-SM only. A range whose RP Count differs from an
    /// earlier fragment's starts over with the new count.
    pub fn add(&mut self, fragment: &Bootstrap<A>) -> Vec<(A::Prefix, Vec<BootstrapRp<A>>)> {
        if !self.fragments.contains(fragment) && self.fragments.len() < MAX_KEPT_FRAGMENTS {
            self.fragments.push(fragment.clone());
        }
        let mut complete = Vec::new();
        for range in &fragment.group_ranges {
            let Some(prefix) = range.group.prefix() else { continue };
            if range.group.bidir || !A::is_multicast(A::prefix_parts(&prefix).0) {
                continue;
            }
            let partial = self
                .ranges
                .entry(prefix)
                .or_insert_with(|| PartialRange { rp_count: range.rp_count, rps: BTreeMap::new() });
            if partial.rp_count != range.rp_count {
                *partial = PartialRange { rp_count: range.rp_count, rps: BTreeMap::new() };
            }
            for rp in &range.rps {
                partial.rps.insert(rp.address, *rp);
            }
            if partial.rps.len() >= usize::from(partial.rp_count) {
                complete.push((prefix, partial.rps.values().copied().collect()));
            }
        }
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rp::RpSetEntry;
    use hato_core::V4;
    use hato_wire::checksum::ChecksumContext;
    use hato_wire::pim::PimMessage;

    fn set(ranges: usize, rps_per_range: usize) -> RpSet<V4> {
        let mut s = RpSet::new();
        for r in 0..ranges {
            let range = V4::prefix(std::net::Ipv4Addr::new(239, r as u8, 0, 0), 16).unwrap();
            for i in 0..rps_per_range {
                let address = std::net::Ipv4Addr::new(198, 18, r as u8, i as u8 + 1);
                s.insert(range, RpSetEntry { address, priority: i as u8, holdtime: 150 });
            }
        }
        s
    }

    fn bsr() -> BsrId<V4> {
        BsrId { priority: 1, address: "198.18.0.100".parse().unwrap() }
    }

    #[test]
    fn one_fragment_when_it_fits() {
        let frags = fragment(&set(2, 3), bsr(), 7, 1480);
        assert_eq!(frags.len(), 1);
        assert_eq!(frags[0].group_ranges.len(), 2);
    }

    #[test]
    fn fragments_fit_and_reassemble() {
        let s = set(5, 7);
        for max_len in [40, 60, 100, 150, 333] {
            let frags = fragment(&s, bsr(), 9, max_len);
            let mut r = Reassembly::new(bsr().address, 9);
            let mut done = BTreeMap::new();
            for f in &frags {
                let bytes = PimMessage::Bootstrap(f.clone()).to_bytes(ChecksumContext::Plain).unwrap();
                if f.group_ranges.iter().map(|g| g.rps.len()).sum::<usize>() > 1 {
                    assert!(bytes.len() <= max_len, "{} > {max_len}", bytes.len());
                }
                for (prefix, rps) in r.add(f) {
                    done.insert(prefix, rps.len());
                }
            }
            assert_eq!(done.len(), 5, "max_len {max_len}");
            assert!(done.values().all(|&n| n == 7));
        }
    }
}
