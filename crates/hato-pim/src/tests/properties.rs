//! Property tests: random input never panics and leaves consistent state; the IPv6 code path.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use hato_core::{Duration, IfIndex, Instant, SgKey, V4, V6};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::{
    Assert, EncodedGroup, EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, PimMessage, Register,
    RegisterStop,
};
use proptest::prelude::*;

use crate::{
    ByteCount, Input, InterfaceConfig, LocalMembership, Output, PimConfig, PimRouter, RpfUpdate,
    SourceFilter, SptPolicy,
};

/// Addresses from a small pool so that inputs collide often.
fn unicast() -> impl Strategy<Value = Ipv4Addr> {
    (1u8..4, 1u8..5).prop_map(|(net, host)| Ipv4Addr::new(198, 18, net, host))
}

fn group() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        Just(Ipv4Addr::new(239, 1, 1, 1)),
        Just(Ipv4Addr::new(239, 1, 1, 2)),
        Just(Ipv4Addr::new(232, 1, 1, 1)),
        Just(Ipv4Addr::new(224, 0, 0, 5))
    ]
}

fn ifindex() -> impl Strategy<Value = IfIndex> {
    (1u32..4).prop_map(IfIndex)
}

fn entry() -> impl Strategy<Value = EncodedSource<V4>> {
    (unicast(), any::<bool>(), any::<bool>()).prop_map(|(a, w, r)| EncodedSource {
        reserved: 0,
        sparse: true,
        wildcard: w,
        rpt: r,
        mask_len: 32,
        source: a,
    })
}

fn join_prune() -> impl Strategy<Value = PimMessage<V4>> {
    let set = (group(), proptest::collection::vec(entry(), 0..4), proptest::collection::vec(entry(), 0..4))
        .prop_map(|(g, joins, prunes)| JoinPruneGroup { group: EncodedGroup::host(g), joins, prunes });
    let upstream = unicast();
    let set = proptest::collection::vec(set, 0..3);
    (upstream, prop_oneof![Just(0u16), Just(210), Just(0xffff)], set).prop_map(|(up, holdtime, groups)| {
        PimMessage::JoinPrune(JoinPrune { upstream_neighbor: up, holdtime, groups })
    })
}

fn hello() -> impl Strategy<Value = PimMessage<V4>> {
    (prop_oneof![Just(0u16), Just(105), Just(0xffff)], proptest::option::of(0u32..3), 0u32..3, any::<bool>())
        .prop_map(|(holdtime, prio, genid, t)| {
            let mut options = vec![HelloOption::Holdtime(holdtime), HelloOption::GenerationId(genid)];
            if let Some(p) = prio {
                options.push(HelloOption::DrPriority(p));
            }
            options.push(HelloOption::LanPruneDelay {
                join_suppression_disabled: t,
                propagation_delay: 500,
                override_interval: 2500,
            });
            PimMessage::Hello(Hello { options })
        })
}

/// Asserts with metrics around ours (preference 1, metric 1), wildcard sources and AssertCancels.
fn assert_message() -> impl Strategy<Value = PimMessage<V4>> {
    let source = prop_oneof![3 => unicast(), 1 => Just(Ipv4Addr::UNSPECIFIED)];
    let metric = prop_oneof![
        3 => (0u32..3, 0u32..3),
        1 => Just((hato_wire::pim::MAX_METRIC_PREFERENCE, u32::MAX)),
    ];
    (group(), source, any::<bool>(), metric).prop_map(|(g, source, rpt, (metric_preference, metric))| {
        PimMessage::Assert(Assert { group: EncodedGroup::host(g), source, rpt, metric_preference, metric })
    })
}

fn packet() -> impl Strategy<Value = Vec<u8>> {
    (unicast(), group(), any::<bool>()).prop_map(|(s, g, valid)| {
        let mut p = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
        p.extend_from_slice(&s.octets());
        p.extend_from_slice(&g.octets());
        if !valid {
            p.truncate(10);
        }
        p
    })
}

fn message() -> impl Strategy<Value = PimMessage<V4>> {
    prop_oneof![
        3 => join_prune(),
        2 => hello(),
        1 => packet().prop_map(|p| PimMessage::Register(Register::data(p))),
        1 => (group(), unicast()).prop_map(|(g, s)| PimMessage::RegisterStop(RegisterStop { group: EncodedGroup::host(g), source: s })),
        2 => assert_message(),
    ]
}

/// One step: an input, or time passing.
#[derive(Debug, Clone)]
enum Step {
    Input(Input<V4>),
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let input = prop_oneof![
        // Messages on if<i> come from 198.18.<i>.2-4: neighbours on that link.
        // Join/Prunes mostly addressed to us on the receiving link.
        6 => (ifindex(), 2u8..5, unicast(), message(), any::<bool>()).prop_map(|(ifindex, host, destination, mut message, to_me)| {
            let source = Ipv4Addr::new(198, 18, ifindex.0 as u8, host);
            if let (PimMessage::JoinPrune(jp), true) = (&mut message, to_me) {
                jp.upstream_neighbor = Ipv4Addr::new(198, 18, ifindex.0 as u8, 1);
            }
            Input::Received { ifindex, source, destination, message }
        }),
        1 => ifindex().prop_map(|ifindex| Input::InterfaceUp {
            ifindex,
            primary: Ipv4Addr::new(198, 18, ifindex.0 as u8, 1),
            secondary: vec![],
            config: InterfaceConfig { max_states: 20, ..InterfaceConfig::default() },
        }),
        1 => ifindex().prop_map(|ifindex| Input::InterfaceDown { ifindex }),
        2 => (ifindex(), unicast(), group()).prop_map(|(iif, source, group)| Input::NoCache { iif, source, group }),
        1 => (ifindex(), unicast(), group()).prop_map(|(iif, source, group)| Input::WrongVif { iif, source, group }),
        1 => (unicast(), group(), packet()).prop_map(|(source, group, packet)| Input::WholePacket { source, group, packet }),
        1 => (unicast(), group()).prop_map(|(source, group)| Input::TrafficSeen { source, group }),
        1 => proptest::collection::vec((unicast(), group(), 0u64..1_000_000), 0..4).prop_map(|counts| {
            Input::ByteCounts(counts.into_iter().map(|(source, group, bytes)| ByteCount { source, group, bytes }).collect())
        }),
        1 => (0u64..200).prop_map(|kbit_per_sec| Input::SptPolicies(vec![(
            "239.1.0.0/16".parse().unwrap(),
            SptPolicy::Threshold { kbit_per_sec },
        )])),
        2 => (unicast(), proptest::option::of(ifindex()), proptest::option::of(unicast()), any::<bool>()).prop_map(
            |(target, interface, neighbor, connected)| Input::Rpf(RpfUpdate { target, interface, neighbor, connected, metric: 1, preference: 1 })
        ),
        2 => (ifindex(), group(), any::<bool>(), proptest::collection::btree_set(unicast(), 0..3)).prop_map(|(ifindex, group, include, s)| {
            Input::Membership(LocalMembership {
                ifindex,
                group,
                filter: if include { SourceFilter::Include(s) } else { SourceFilter::Exclude(s) },
            })
        }),
        1 => proptest::option::of(unicast()).prop_map(|rp| Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp }),
        1 => Just(Input::Shutdown),
    ];
    prop_oneof![4 => input.prop_map(Step::Input), 1 => (0u64..300_000).prop_map(Step::Wait)]
}

/// Interfaces if1-if3 up with neighbours 198.18.i.2-3 and an RP for 239/8, so that random input
/// meets live state.
fn prelude() -> Vec<Input<V4>> {
    let mut inputs = vec![Input::StaticRp {
        range: "239.0.0.0/8".parse().unwrap(),
        rp: Some(Ipv4Addr::new(198, 18, 1, 2)),
    }];
    for i in 1u8..4 {
        inputs.push(Input::InterfaceUp {
            ifindex: IfIndex(i.into()),
            primary: Ipv4Addr::new(198, 18, i, 1),
            secondary: vec![],
            config: InterfaceConfig { max_states: 20, ..InterfaceConfig::default() },
        });
        for host in [2, 3] {
            inputs.push(Input::Received {
                ifindex: IfIndex(i.into()),
                source: Ipv4Addr::new(198, 18, i, host),
                destination: Ipv4Addr::new(224, 0, 0, 13),
                message: PimMessage::Hello(Hello { options: vec![HelloOption::Holdtime(105)] }),
            });
        }
    }
    inputs
}

/// Every outgoing message encodes, no timer is left in the past (after `on_timeout`, none is
/// due), and the router's bookkeeping agrees with its state.
fn check(r: &PimRouter<V4>, out: &[Output<V4>], now: Instant, timers_ran: bool) -> Result<(), TestCaseError> {
    for o in out {
        if let Output::Send { message, .. } = o {
            let bytes = message.to_bytes(ChecksumContext::Plain);
            prop_assert!(bytes.is_ok(), "{message:?}");
            prop_assert_eq!(
                &PimMessage::<V4>::parse(&bytes.unwrap(), ChecksumContext::Plain).unwrap(),
                message
            );
        }
    }
    prop_assert!(r.poll_at().map_or(true, |t| t > now || (!timers_ran && t == now)));
    let per_if: usize = r.interfaces(now).iter().map(|i| i.join_prune_states).sum();
    let on_up_ifs = r.join_states(now).iter().filter(|j| r.interfaces.contains_key(&j.ifindex)).count();
    prop_assert_eq!(per_if, on_up_ifs);
    // The indexes of `sources` agree with it.
    prop_assert_eq!(r.sources_by_source.len(), r.sources.len());
    prop_assert_eq!(r.sources_by_group.len(), r.sources.len());
    // No (*,G) keeps an empty map of downstream states.
    prop_assert!(r.star_g_downstream.values().all(|m| !m.is_empty()));
    prop_assert!(r.sources.keys().all(|(g, s)| r.sources_by_group.contains(*g, *s)));
    prop_assert!(r.sources.keys().all(|(g, s)| r.sources_by_source.contains(*s, *g)));
    // Assert state is never NoInfo, and every one has its timer (§4.6.1, §4.6.2).
    for view in r.asserts(now) {
        prop_assert!(view.state != crate::fsm::assert::AssertState::NoInfo);
        prop_assert!(view.expires_in.is_some(), "Assert state without a timer: {view}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_input_never_panics(seed in any::<u64>(), steps in proptest::collection::vec(step(), 1..60)) {
        let mut r = PimRouter::<V4>::new(PimConfig { max_entries: 30, ..PimConfig::default() }, seed);
        let mut now = Instant::ZERO;
        for step in prelude().into_iter().map(Step::Input).chain(steps) {
            let mut out = Vec::new();
            let timers_ran = match step {
                Step::Input(input) => {
                    r.handle(now, input, &mut out);
                    false
                }
                Step::Wait(ms) => {
                    now += Duration::from_millis(ms);
                    r.on_timeout(now, &mut out);
                    true
                }
            };
            check(&r, &out, now, timers_ran)?;
        }
    }
}

#[test]
fn ipv6_join_goes_through_the_same_code() {
    let me: std::net::Ipv6Addr = "fd00:2::1".parse().unwrap();
    let up: std::net::Ipv6Addr = "fd00:1::2".parse().unwrap();
    let down: std::net::Ipv6Addr = "fd00:2::2".parse().unwrap();
    let rp: std::net::Ipv6Addr = "fd00::1".parse().unwrap();
    let g: std::net::Ipv6Addr = "ff0e::1:2".parse().unwrap();
    let mut r = PimRouter::<V6>::new(PimConfig::default(), 9);
    let mut out = Vec::new();
    let now = Instant::ZERO;
    let hello = PimMessage::Hello(Hello { options: vec![HelloOption::Holdtime(105)] });
    for (i, addr, nbr) in [(1, "fd00:1::1", up), (2, "fd00:2::1", down)] {
        r.handle(
            now,
            Input::InterfaceUp {
                ifindex: IfIndex(i),
                primary: addr.parse().unwrap(),
                secondary: vec![],
                config: InterfaceConfig::default(),
            },
            &mut out,
        );
        r.handle(
            now,
            Input::Received {
                ifindex: IfIndex(i),
                source: nbr,
                destination: V6_ALL_PIM,
                message: hello.clone(),
            },
            &mut out,
        );
    }
    r.handle(now, Input::StaticRp { range: "ff0e::/16".parse().unwrap(), rp: Some(rp) }, &mut out);
    r.handle(
        now,
        Input::Rpf(RpfUpdate {
            target: rp,
            interface: Some(IfIndex(1)),
            neighbor: Some(up),
            connected: false,
            metric: 1,
            preference: 1,
        }),
        &mut out,
    );
    out.clear();
    let jp = JoinPrune {
        upstream_neighbor: me,
        holdtime: 210,
        groups: vec![JoinPruneGroup {
            group: EncodedGroup::host(g),
            joins: vec![EncodedSource::star_g(rp)],
            prunes: vec![],
        }],
    };
    r.handle(
        now,
        Input::Received {
            ifindex: IfIndex(2),
            source: down,
            destination: V6_ALL_PIM,
            message: PimMessage::JoinPrune(jp),
        },
        &mut out,
    );
    let sent: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { ifindex, message: PimMessage::JoinPrune(jp), .. } => Some((*ifindex, jp.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, IfIndex(1));
    assert_eq!(sent[0].1.upstream_neighbor, up);
    let ctx = ChecksumContext::Ipv6 { src: "fe80::1".parse().unwrap(), dst: V6_ALL_PIM };
    let bytes = PimMessage::JoinPrune(sent[0].1.clone()).to_bytes(ctx).unwrap();
    assert!(PimMessage::<V6>::parse(&bytes, ctx).is_ok());
    let intent = r.mroute(&SgKey::star_g(g)).unwrap();
    assert_eq!(intent.oifs.keys().copied().collect::<BTreeSet<_>>(), [IfIndex(2)].into());
    // SSM (ff3x::/32) refuses (*,G).
    let ssm: std::net::Ipv6Addr = "ff3e::1".parse().unwrap();
    assert!(r.is_ssm(ssm));
}

const V6_ALL_PIM: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xd);

/// The generator reaches the interesting states (so that the property above means something).
#[test]
fn random_input_reaches_join_state() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = proptest::collection::vec(step(), 60);
    let (mut joins, mut sources) = (0, 0);
    for _ in 0..200 {
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let mut r = PimRouter::<V4>::new(PimConfig::default(), 1);
        let mut out = Vec::new();
        for s in prelude().into_iter().map(Step::Input).chain(steps) {
            if let Step::Input(i) = s {
                r.handle(Instant::ZERO, i, &mut out);
            }
        }
        joins += r.join_states(Instant::ZERO).len();
        sources += r.sources.len();
    }
    assert!(joins > 50 && sources > 200, "joins {joins} sources {sources}");
}
