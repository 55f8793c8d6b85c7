//! Proptest strategies for the RIB's inputs, drawn from a small address space so that prefixes,
//! nexthops and mroute neighbours overlap often.

use std::net::{Ipv4Addr, Ipv6Addr};

use hato_core::{Afi, IfIndex, V4, V6};
use proptest::prelude::*;
use proptest::sample::select;

use crate::{MrouteTarget, Nexthop, Route, RouteKey, RouteProtocol, StaticMroute, UnicastEvent};

/// A family with strategies for its addresses and a few interesting prefix lengths.
pub(crate) trait ArbitraryAfi: Afi {
    fn addr() -> BoxedStrategy<Self::Addr>;
    const LENS: &'static [u8];
}

impl ArbitraryAfi for V4 {
    fn addr() -> BoxedStrategy<Ipv4Addr> {
        (0u8..4, select(vec![0u8, 1, 2, 5, 9, 127, 128, 130, 200, 255]))
            .prop_map(|(c, d)| Ipv4Addr::new(198, 18, c, d))
            .boxed()
    }
    const LENS: &'static [u8] = &[0, 8, 15, 16, 22, 23, 24, 25, 30, 32];
}

impl ArbitraryAfi for V6 {
    fn addr() -> BoxedStrategy<Ipv6Addr> {
        (0u16..4, select(vec![0u16, 1, 2, 5, 9, 0x7f, 0x80, 0x82, 0xc8, 0xff]))
            .prop_map(|(c, d)| Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, c, d))
            .boxed()
    }
    const LENS: &'static [u8] = &[0, 8, 64, 110, 111, 112, 119, 120, 121, 126, 128];
}

pub(crate) fn ifindex() -> impl Strategy<Value = IfIndex> {
    (1u32..5).prop_map(IfIndex)
}

/// A prefix, sometimes with host bits set (the tables must normalise it).
pub(crate) fn prefix<A: ArbitraryAfi>() -> impl Strategy<Value = A::Prefix> {
    (A::addr(), select(A::LENS)).prop_map(|(addr, len)| {
        // Every length in `LENS` is valid for the family.
        A::prefix(addr, len).unwrap_or(A::MULTICAST_RANGE)
    })
}

pub(crate) fn protocol() -> impl Strategy<Value = RouteProtocol> {
    prop_oneof![
        Just(RouteProtocol::Kernel),
        Just(RouteProtocol::Static),
        Just(RouteProtocol::Ospf),
        Just(RouteProtocol::Bgp),
        Just(RouteProtocol::Rip),
        any::<u8>().prop_map(RouteProtocol::from_rtm),
    ]
}

pub(crate) fn nexthop<A: ArbitraryAfi>() -> impl Strategy<Value = Nexthop<A>> {
    (ifindex(), proptest::option::weighted(0.8, A::addr()))
        .prop_map(|(ifindex, gateway)| Nexthop { ifindex, gateway })
}

pub(crate) fn route<A: ArbitraryAfi>() -> impl Strategy<Value = Route<A>> {
    (
        prefix::<A>(),
        proptest::collection::vec(nexthop::<A>(), 0..4),
        select(vec![0u32, 10, 20]),
        protocol(),
        proptest::option::of(select(vec![0u8, 1, 110, 120])),
    )
        .prop_map(|(prefix, nexthops, metric, protocol, distance)| Route {
            prefix,
            nexthops,
            metric,
            protocol,
            distance: distance.unwrap_or_else(|| protocol.default_distance()),
        })
}

pub(crate) fn unicast_event<A: ArbitraryAfi>() -> impl Strategy<Value = UnicastEvent<A>> {
    prop_oneof![
        4 => route::<A>().prop_map(|route| UnicastEvent::RouteAdd { route }),
        2 => (prefix::<A>(), select(vec![0u32, 10, 20]))
            .prop_map(|(prefix, metric)| UnicastEvent::RouteDelete { key: RouteKey { prefix, metric } }),
        2 => (ifindex(), A::addr(), select(A::LENS))
            .prop_map(|(ifindex, addr, prefix_len)| UnicastEvent::AddressAdd { ifindex, addr, prefix_len }),
        1 => (ifindex(), A::addr(), select(A::LENS))
            .prop_map(|(ifindex, addr, prefix_len)| UnicastEvent::AddressDelete { ifindex, addr, prefix_len }),
        1 => (ifindex(), any::<bool>()).prop_map(|(ifindex, up)| UnicastEvent::LinkState { ifindex, up }),
    ]
}

pub(crate) fn mroute_target<A: ArbitraryAfi>() -> impl Strategy<Value = MrouteTarget<A>> {
    prop_oneof![
        ifindex().prop_map(MrouteTarget::Interface),
        (A::addr(), proptest::option::weighted(0.2, ifindex()))
            .prop_map(|(addr, interface)| MrouteTarget::Neighbor { addr, interface }),
    ]
}

pub(crate) fn static_mroute<A: ArbitraryAfi>() -> impl Strategy<Value = StaticMroute<A>> {
    (prefix::<A>(), mroute_target::<A>(), select(vec![0u8, 1, 110, 200]))
        .prop_map(|(prefix, target, distance)| StaticMroute { prefix, target, distance })
}

/// One input to the engine.
#[derive(Debug, Clone)]
pub(crate) enum Op<A: Afi> {
    Unicast(UnicastEvent<A>),
    AddMroute(StaticMroute<A>),
    RemoveMroute(A::Prefix, MrouteTarget<A>),
}

pub(crate) fn op<A: ArbitraryAfi>() -> impl Strategy<Value = Op<A>> {
    prop_oneof![
        8 => unicast_event::<A>().prop_map(Op::Unicast),
        2 => static_mroute::<A>().prop_map(Op::AddMroute),
        1 => (prefix::<A>(), mroute_target::<A>()).prop_map(|(p, t)| Op::RemoveMroute(p, t)),
    ]
}
