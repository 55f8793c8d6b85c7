//! Properties: any RP-Set survives fragmentation, the wire and reassembly unchanged at any MTU;
//! arbitrary input sequences never panic and keep the RP-Set well formed.

use std::net::Ipv4Addr;

use hato_core::{Afi, Duration, IfIndex, Instant, V4, V6};
use hato_pim::bsr::{
    fragment, Bsr, BsrConfig, BsrId, CandidateBsrConfig, CandidateRpConfig, Input, Reassembly, RpfNeighbor,
};
use hato_pim::rp::{RpSet, RpSetEntry};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::{
    Bootstrap, BootstrapGroupRange, BootstrapRp, CandidateRpAdvertisement, EncodedGroup, PimMessage,
};
use proptest::prelude::*;

fn addr<A: Afi>() -> impl Strategy<Value = A::Addr> {
    any::<[u8; 16]>().prop_map(|o| A::addr_from_octets(&o[..A::ADDR_LEN]).unwrap())
}

/// A multicast range of family `A`.
fn range<A: Afi>() -> impl Strategy<Value = A::Prefix> {
    let (base, base_len) = A::prefix_parts(&A::MULTICAST_RANGE);
    (addr::<A>(), base_len..=A::MAX_PREFIX_LEN).prop_map(move |(a, len)| {
        // Keep the multicast bits of the base, the rest from `a`.
        let base_bits: u128 = match base.into() {
            std::net::IpAddr::V4(b) => u128::from(u32::from(b)),
            std::net::IpAddr::V6(b) => u128::from(b),
        };
        let a_bits: u128 = match a.into() {
            std::net::IpAddr::V4(x) => u128::from(u32::from(x)),
            std::net::IpAddr::V6(x) => u128::from(x),
        };
        let width = u32::from(A::MAX_PREFIX_LEN);
        let keep = u32::from(base_len);
        let low_mask = if width - keep == 128 { u128::MAX } else { (1u128 << (width - keep)) - 1 };
        let bits = (base_bits & !low_mask) | (a_bits & low_mask);
        let octets = bits.to_be_bytes();
        let group = A::addr_from_octets(&octets[16 - A::ADDR_LEN..]).unwrap();
        A::prefix(group, len).unwrap()
    })
}

fn rp_set<A: Afi>() -> impl Strategy<Value = RpSet<A>> {
    let entry = (addr::<A>(), any::<u8>(), 1u16..).prop_map(|(address, priority, holdtime)| RpSetEntry {
        address,
        priority,
        holdtime,
    });
    (
        proptest::collection::vec((range::<A>(), proptest::collection::vec(entry, 0..6)), 0..8),
        0..=A::MAX_PREFIX_LEN,
    )
        .prop_map(|(ranges, hash_mask_len)| {
            let mut set: RpSet<A> = RpSet { bsr: None, hash_mask_len, ..RpSet::new() };
            for (range, entries) in ranges {
                // Later duplicates of a range replace earlier ones; an empty list is a range
                // announced with no RP.
                set.set_range(range, entries);
            }
            set
        })
}

fn ctx<A: Afi>() -> ChecksumContext {
    if A::ADDR_LEN == 4 {
        ChecksumContext::Plain
    } else {
        ChecksumContext::Ipv6 { src: "fe80::1".parse().unwrap(), dst: "ff02::d".parse().unwrap() }
    }
}

fn roundtrip<A: Afi>(set: RpSet<A>, max_len: usize, tag: u16) -> Result<(), TestCaseError> {
    let bsr = BsrId { priority: 9, address: A::UNSPECIFIED };
    let frags = fragment(&set, bsr, tag, max_len);
    let mut reassembly = Reassembly::<A>::new(A::UNSPECIFIED, tag);
    let mut got = RpSet::<A> { bsr: None, hash_mask_len: set.hash_mask_len, ..RpSet::new() };
    for f in &frags {
        prop_assert_eq!(f.hash_mask_len, set.hash_mask_len);
        let message = PimMessage::Bootstrap(f.clone());
        let bytes = message.to_bytes(ctx::<A>()).unwrap();
        let rps_in_fragment: usize = f.group_ranges.iter().map(|g| g.rps.len().max(1)).sum();
        if rps_in_fragment > 1 {
            prop_assert!(bytes.len() <= max_len, "{} > {}", bytes.len(), max_len);
        }
        let PimMessage::Bootstrap(back) = PimMessage::<A>::parse(&bytes, ctx::<A>()).unwrap() else {
            return Err(TestCaseError::fail("not a Bootstrap"));
        };
        for (range, rps) in reassembly.add(&back) {
            let entries = rps.iter().map(|rp| RpSetEntry {
                address: rp.address,
                priority: rp.priority,
                holdtime: rp.holdtime,
            });
            got.set_range(range, entries.collect());
        }
    }
    prop_assert_eq!(got.ranges, set.ranges);
    Ok(())
}

proptest! {
    #[test]
    fn fragments_reassemble_v4(set in rp_set::<V4>(), max_len in 30usize..1500, tag in any::<u16>()) {
        roundtrip(set, max_len, tag)?;
    }

    #[test]
    fn fragments_reassemble_v6(set in rp_set::<V6>(), max_len in 60usize..1500, tag in any::<u16>()) {
        roundtrip(set, max_len, tag)?;
    }
}

fn small_addr() -> impl Strategy<Value = Ipv4Addr> {
    (0u8..4, 1u8..4).prop_map(|(net, host)| Ipv4Addr::new(198, 18, net, host))
}

fn bootstrap() -> impl Strategy<Value = Bootstrap<V4>> {
    let rp = (small_addr(), 0u16..200, 0u8..3).prop_map(|(address, holdtime, priority)| BootstrapRp {
        address,
        holdtime,
        priority,
    });
    let group = (0u8..3, 4u8..=16).prop_map(|(b, len)| EncodedGroup::range(Ipv4Addr::new(239, b, 0, 0), len));
    let grange = (group, 0u8..4, proptest::collection::vec(rp, 0..4))
        .prop_map(|(group, rp_count, rps)| BootstrapGroupRange { group, rp_count, rps });
    (any::<bool>(), 0u16..3, 0u8..=32, 0u8..4, small_addr(), proptest::collection::vec(grange, 0..3))
        .prop_map(|(no_forward, fragment_tag, hash_mask_len, bsr_priority, bsr_address, group_ranges)| {
            Bootstrap { no_forward, fragment_tag, hash_mask_len, bsr_priority, bsr_address, group_ranges }
        })
}

#[derive(Debug, Clone)]
enum Step {
    Input(Input<V4>),
    Wait(u16),
}

fn step() -> impl Strategy<Value = Step> {
    let ifindex = (1u32..4).prop_map(IfIndex);
    prop_oneof![
        4 => (ifindex.clone(), small_addr(), any::<bool>(), bootstrap()).prop_map(|(ifindex, source, multicast, message)| {
            let destination = if multicast { V4::ALL_PIM_ROUTERS } else { Ipv4Addr::new(198, 18, 0, 1) };
            Step::Input(Input::Bootstrap { ifindex, source, destination, message })
        }),
        2 => (small_addr(), 0u8..3, 0u16..200, proptest::collection::vec((0u8..3, 4u8..=16), 0..3)).prop_map(|(rp, priority, holdtime, groups)| {
            let groups = groups.into_iter().map(|(b, len)| EncodedGroup::range(Ipv4Addr::new(239, b, 0, 0), len)).collect();
            Step::Input(Input::CandidateRpAdvertisement { source: rp, message: CandidateRpAdvertisement { priority, holdtime, rp_address: rp, groups } })
        }),
        1 => (ifindex.clone(), any::<bool>()).prop_map(|(ifindex, accept_bootstrap)| Step::Input(Input::InterfaceUp { ifindex, accept_bootstrap })),
        1 => ifindex.clone().prop_map(|ifindex| Step::Input(Input::InterfaceDown { ifindex })),
        2 => (ifindex.clone(), small_addr(), any::<bool>()).prop_map(|(ifindex, neighbor, we_are_dr)| Step::Input(Input::NeighborUp { ifindex, neighbor, we_are_dr })),
        1 => (ifindex.clone(), small_addr()).prop_map(|(ifindex, neighbor)| Step::Input(Input::NeighborDown { ifindex, neighbor })),
        2 => (small_addr(), proptest::option::of((ifindex, small_addr()))).prop_map(|(target, rpf)| {
            Step::Input(Input::RpfNeighbor { target, rpf: rpf.map(|(ifindex, neighbor)| RpfNeighbor { ifindex, neighbor }) })
        }),
        1 => proptest::option::of((small_addr(), 0u8..4)).prop_map(|c| Step::Input(Input::SetCandidateBsr(c.map(|(a, p)| CandidateBsrConfig::new(a, p))))),
        1 => proptest::option::of((small_addr(), 0u8..4)).prop_map(|c| {
            Step::Input(Input::SetCandidateRp(c.map(|(a, p)| CandidateRpConfig::new(a, p, vec!["239.0.0.0/8".parse().unwrap()]))))
        }),
        3 => (0u16..200).prop_map(Step::Wait),
    ]
}

proptest! {
    /// Whatever arrives in whatever order, the machine does not panic, its timers move forward,
    /// and the RP-Set it hands out stays ordered and unique.
    #[test]
    fn arbitrary_inputs_never_panic(steps in proptest::collection::vec(step(), 0..60), seed in any::<u64>()) {
        let mut out = Vec::new();
        let mut bsr = Bsr::<V4>::new(Instant::ZERO, BsrConfig { seed, ..BsrConfig::default() }, &mut out);
        let mut now = Instant::ZERO;
        for s in steps {
            match s {
                Step::Input(input) => bsr.handle(now, input, &mut out),
                Step::Wait(secs) => {
                    let until = now + Duration::from_secs(u64::from(secs));
                    for _ in 0..1000 {
                        match bsr.poll_at() {
                            Some(t) if t <= until => {
                                now = now.max(t);
                                bsr.on_timeout(now, &mut out);
                            }
                            _ => break,
                        }
                    }
                    now = until;
                    prop_assert!(bsr.poll_at().map_or(true, |t| t > now));
                }
            }
            let set = bsr.rp_set();
            prop_assert!(set.ranges.windows(2).all(|w| w[0].range < w[1].range));
            prop_assert!(set.ranges.iter().all(|r| r.rps.windows(2).all(|w| w[0].address < w[1].address)));
            let _ = bsr.view(now).to_string();
            let _ = bsr.rp_set_view(now).to_string();
            out.clear();
        }
    }
}

proptest! {
    /// Arbitrary bytes through the codec, and whatever decodes as a Bootstrap or C-RP-Adv into
    /// the machine: no panic.
    #[test]
    fn arbitrary_bytes_never_panic(packets in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..20)) {
        let mut out = Vec::new();
        let config = BsrConfig { candidate_bsr: Some(CandidateBsrConfig::new(Ipv4Addr::new(198, 18, 0, 1), 1)), ..BsrConfig::default() };
        let mut bsr = Bsr::<V4>::new(Instant::ZERO, config, &mut out);
        bsr.handle(Instant::ZERO, Input::InterfaceUp { ifindex: IfIndex(1), accept_bootstrap: true }, &mut out);
        let source = Ipv4Addr::new(198, 18, 1, 1);
        bsr.handle(Instant::ZERO, Input::NeighborUp { ifindex: IfIndex(1), neighbor: source, we_are_dr: true }, &mut out);
        for mut bytes in packets {
            // Give every other packet a PIMv2 Bootstrap header so that the body gets exercised.
            if bytes.len() >= 4 && bytes[0] % 2 == 0 {
                bytes[0] = 0x24;
                bytes[2] = 0;
                bytes[3] = 0;
                let sum = hato_wire::checksum::checksum(&bytes);
                bytes[2..4].copy_from_slice(&sum.to_be_bytes());
            }
            match PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain) {
                Ok(PimMessage::Bootstrap(message)) => {
                    bsr.handle(Instant::ZERO, Input::Bootstrap { ifindex: IfIndex(1), source, destination: source, message }, &mut out)
                }
                Ok(PimMessage::CandidateRpAdvertisement(message)) => {
                    bsr.handle(Instant::ZERO, Input::CandidateRpAdvertisement { source, message }, &mut out)
                }
                _ => {}
            }
        }
    }
}
