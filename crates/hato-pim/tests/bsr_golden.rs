//! pim6sd's Bootstrap messages from the shared captures (`pim6sd-pimsm6.pcapng`, frames 11 and
//! 20), decoded by the codec and fed to an IPv6 router that is not a candidate.

use std::net::Ipv6Addr;

use hato_core::{Afi, IfIndex, Instant, V6};
use hato_pim::bsr::{Bsr, BsrConfig, BsrState, Destination, Input, Output, RpfNeighbor};
use hato_pim::rp::{RpMapping, RpSource};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::PimMessage;

const PIM6SD: &str = "fe80::bc9d:deff:fe70:1ca3";
const US: &str = "fe80::6f:47ff:fe67:e790";
/// Frame 11: unicast to a new neighbour, no group ranges, No-Forward bit clear.
const UNICAST: &str = "24001413684b7e000200fd000002000000000000000000000002";
/// Frame 20: to ff02::d, ff3e::/16 with RP fd00:2::2, holdtime 150, priority 0.
const MULTICAST: &str = "24003fd1684c7e000200fd00000200000000000000000000000202000010ff3e0000000000000000000000000000010100000200fd00000200000000000000000000000200960000";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn decode(bytes: &str, dst: Ipv6Addr) -> hato_wire::pim::Bootstrap<V6> {
    let ctx = ChecksumContext::Ipv6 { src: a6(PIM6SD), dst };
    match PimMessage::<V6>::parse(&hex(bytes), ctx).expect("pim6sd's message decodes") {
        PimMessage::Bootstrap(b) => b,
        other => panic!("not a Bootstrap: {other}"),
    }
}

#[test]
fn pim6sd_rp_set_is_learned() {
    let ifindex = IfIndex(3);
    let mut out = Vec::new();
    let mut bsr = Bsr::<V6>::new(Instant::ZERO, BsrConfig::default(), &mut out);
    bsr.handle(Instant::ZERO, Input::InterfaceUp { ifindex, accept_bootstrap: true }, &mut out);
    bsr.handle(Instant::ZERO, Input::InterfaceUp { ifindex: IfIndex(4), accept_bootstrap: true }, &mut out);
    bsr.handle(
        Instant::ZERO,
        Input::NeighborUp { ifindex, neighbor: a6(PIM6SD), we_are_dr: false },
        &mut out,
    );

    // The unicast one needs no RPF check and is not forwarded.
    out.clear();
    let unicast = decode(UNICAST, a6(US));
    assert!(!unicast.no_forward);
    bsr.handle(
        Instant::ZERO,
        Input::Bootstrap { ifindex, source: a6(PIM6SD), destination: a6(US), message: unicast },
        &mut out,
    );
    assert_eq!(bsr.state(), BsrState::AcceptPreferred);
    assert_eq!(bsr.elected().map(|e| (e.priority, e.address)), Some((0, a6("fd00:2::2"))));
    assert!(!out.iter().any(|o| matches!(o, Output::Send { .. } | Output::WatchRpf { .. })));

    // The multicast one waits for the RPF neighbour towards fd00:2::2, then is accepted and
    // forwarded on the other interface.
    out.clear();
    let t = Instant::from_secs(1);
    let multicast = decode(MULTICAST, V6::ALL_PIM_ROUTERS);
    bsr.handle(
        t,
        Input::Bootstrap {
            ifindex,
            source: a6(PIM6SD),
            destination: V6::ALL_PIM_ROUTERS,
            message: multicast.clone(),
        },
        &mut out,
    );
    assert!(out.contains(&Output::WatchRpf { target: a6("fd00:2::2") }));
    out.clear();
    let rpf = Some(RpfNeighbor { ifindex, neighbor: a6(PIM6SD) });
    bsr.handle(t, Input::RpfNeighbor { target: a6("fd00:2::2"), rpf }, &mut out);
    let sent: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, message } => Some((*to, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        vec![(Destination::AllPimRouters { ifindex: IfIndex(4) }, PimMessage::Bootstrap(multicast))]
    );
    let rp_set = out
        .iter()
        .find_map(|o| match o {
            Output::RpSetChanged { rp_set } => Some(rp_set.clone()),
            _ => None,
        })
        .expect("rp-set changed");
    assert_eq!(rp_set.hash_mask_len, 126);
    assert_eq!(
        rp_set.to_string(),
        "bsr fd00:2::2 hash-mask 126; ff3e::/16 fd00:2::2 priority 0 holdtime 150s"
    );

    let mut mapping = RpMapping::<V6>::default();
    mapping.set_rp_set(rp_set, &mut Vec::new());
    let d = mapping.decide(a6("ff3e::4321:1234")).unwrap();
    assert_eq!((d.rp, d.source), (a6("fd00:2::2"), RpSource::Bsr));
    // The entry ages out after its 150 s holdtime.
    out.clear();
    bsr.on_timeout(t + hato_core::Duration::from_secs(150), &mut out);
    assert!(out.iter().any(|o| matches!(o, Output::RpSetChanged { rp_set } if rp_set.is_empty())));
    let view = bsr.rp_set_view(t + hato_core::Duration::from_secs(150));
    assert!(view.to_string().starts_with("Current BSR address: fd00:2::2 Prio: 0"), "{view}");
}
