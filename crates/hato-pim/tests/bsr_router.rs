//! One router's BSR machinery driven by scripted neighbours on a virtual clock: the acceptance
//! rules of RFC 5059 §3.3, the state tables of §3.1.1 / §3.1.2, the elected BSR's candidate-RP
//! cache, the candidate RP's advertisements, fragments, and the accept-bootstrap filter.

use std::net::Ipv4Addr;

use hato_core::{Afi, Duration, IfIndex, Instant, V4};
use hato_pim::bsr::{
    fragment, transition, Bsr, BsrConfig, BsrEvent, BsrId, BsrState, CandidateBsrConfig, CandidateRpConfig,
    Destination, DropReason, ElectionAction, ElectionEvent, Input, Output, RpfNeighbor, TimerAction,
};
use hato_pim::rp::{RpSet, RpSetEntry};
use hato_wire::pim::{
    Bootstrap, BootstrapGroupRange, BootstrapRp, CandidateRpAdvertisement, EncodedGroup, PimMessage,
};

const IF1: IfIndex = IfIndex(1);
const IF2: IfIndex = IfIndex(2);
const IF3: IfIndex = IfIndex(3);

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn p(s: &str) -> <V4 as Afi>::Prefix {
    s.parse().unwrap()
}

/// Upstream neighbour on IF1 (towards every BSR), others on IF2 and IF3.
const UP: &str = "198.18.1.1";
const DOWN: &str = "198.18.2.2";
const SIDE: &str = "198.18.3.3";

struct Harness {
    bsr: Bsr<V4>,
    now: Instant,
    out: Vec<Output<V4>>,
}

impl Harness {
    fn new(config: BsrConfig<V4>) -> Self {
        let mut out = Vec::new();
        let mut bsr = Bsr::new(Instant::ZERO, config, &mut out);
        for (ifindex, neighbor) in [(IF1, UP), (IF2, DOWN), (IF3, SIDE)] {
            bsr.handle(Instant::ZERO, Input::InterfaceUp { ifindex, accept_bootstrap: true }, &mut out);
            bsr.handle(
                Instant::ZERO,
                Input::NeighborUp { ifindex, neighbor: a(neighbor), we_are_dr: false },
                &mut out,
            );
        }
        Harness { bsr, now: Instant::ZERO, out: Vec::new() }
    }

    fn plain() -> Self {
        Self::new(BsrConfig::default())
    }

    fn input(&mut self, input: Input<V4>) {
        self.out.clear();
        self.bsr.handle(self.now, input, &mut self.out);
    }

    /// Runs timers up to `t` (outputs accumulate).
    fn advance_to(&mut self, t: Instant) {
        self.out.clear();
        for _ in 0..10_000 {
            match self.bsr.poll_at() {
                Some(p) if p <= t => {
                    self.now = self.now.max(p);
                    self.bsr.on_timeout(self.now, &mut self.out);
                }
                _ => break,
            }
        }
        self.now = self.now.max(t);
    }

    /// Delivers a multicast BSM on `ifindex` from `source`, answering the RPF question with
    /// "IF1 via UP" for every BSR.
    fn bsm_from(&mut self, ifindex: IfIndex, source: &str, message: Bootstrap<V4>) {
        let bsr = message.bsr_address;
        self.input(Input::Bootstrap {
            ifindex,
            source: a(source),
            destination: V4::ALL_PIM_ROUTERS,
            message,
        });
        if self.out.contains(&Output::WatchRpf { target: bsr }) {
            let before = std::mem::take(&mut self.out);
            self.input(Input::RpfNeighbor {
                target: bsr,
                rpf: Some(RpfNeighbor { ifindex: IF1, neighbor: a(UP) }),
            });
            self.out.splice(0..0, before);
        }
    }

    fn bsm(&mut self, message: Bootstrap<V4>) {
        self.bsm_from(IF1, UP, message);
    }

    fn sent(&self) -> Vec<(Destination<V4>, PimMessage<V4>)> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Send { to, message } => Some((*to, message.clone())),
                _ => None,
            })
            .collect()
    }

    fn dropped(&self) -> Vec<DropReason> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Log { event: BsrEvent::BootstrapDropped { reason, .. } } => Some(*reason),
                _ => None,
            })
            .collect()
    }

    fn rp_set(&self) -> &RpSet<V4> {
        self.bsr.rp_set()
    }
}

fn bsm(bsr: &str, priority: u8, tag: u16, ranges: &[(&str, u8, &[&str])]) -> Bootstrap<V4> {
    Bootstrap {
        no_forward: false,
        fragment_tag: tag,
        hash_mask_len: 30,
        bsr_priority: priority,
        bsr_address: a(bsr),
        group_ranges: ranges
            .iter()
            .map(|(range, rp_count, rps)| {
                let prefix = p(range);
                BootstrapGroupRange {
                    group: EncodedGroup::range(prefix.network(), prefix.prefix_len()),
                    rp_count: *rp_count,
                    rps: rps
                        .iter()
                        .map(|rp| BootstrapRp { address: a(rp), holdtime: 150, priority: 0 })
                        .collect(),
                }
            })
            .collect(),
    }
}

fn rps_of(set: &RpSet<V4>, range: &str) -> Vec<Ipv4Addr> {
    set.range(&p(range)).map(|r| r.rps.iter().map(|e| e.address).collect()).unwrap_or_default()
}

#[test]
fn state_table_cells() {
    use BsrState::*;
    use ElectionEvent::*;
    let cell = |s, e| {
        let t = transition(s, e);
        (t.next, t.action, t.timer)
    };
    assert_eq!(
        cell(CandidateBsr, PreferredBsm),
        (CandidateBsr, ElectionAction::ForwardAndStore, TimerAction::Timeout)
    );
    assert_eq!(
        cell(CandidateBsr, NonPreferredBsmFromElected),
        (PendingBsr, ElectionAction::Ignore, TimerAction::RandOverride)
    );
    assert_eq!(
        cell(CandidateBsr, NonPreferredBsm),
        (CandidateBsr, ElectionAction::Ignore, TimerAction::Keep)
    );
    assert_eq!(
        cell(CandidateBsr, BootstrapTimerExpired),
        (PendingBsr, ElectionAction::Ignore, TimerAction::RandOverride)
    );
    assert_eq!(
        cell(PendingBsr, PreferredBsm),
        (CandidateBsr, ElectionAction::ForwardAndStore, TimerAction::Timeout)
    );
    assert_eq!(cell(PendingBsr, NonPreferredBsm), (PendingBsr, ElectionAction::Ignore, TimerAction::Keep));
    assert_eq!(
        cell(PendingBsr, BootstrapTimerExpired),
        (ElectedBsr, ElectionAction::Originate, TimerAction::Period)
    );
    assert_eq!(
        cell(ElectedBsr, PreferredBsm),
        (CandidateBsr, ElectionAction::ForwardAndStore, TimerAction::Timeout)
    );
    assert_eq!(
        cell(ElectedBsr, NonPreferredBsm),
        (ElectedBsr, ElectionAction::Originate, TimerAction::Period)
    );
    assert_eq!(
        cell(ElectedBsr, BootstrapTimerExpired),
        (ElectedBsr, ElectionAction::Originate, TimerAction::Period)
    );
    assert_eq!(
        cell(AcceptAny, PreferredBsm),
        (AcceptPreferred, ElectionAction::ForwardAndStore, TimerAction::Timeout)
    );
    assert_eq!(
        cell(AcceptPreferred, PreferredBsm),
        (AcceptPreferred, ElectionAction::ForwardAndStore, TimerAction::Timeout)
    );
    assert_eq!(
        cell(AcceptPreferred, NonPreferredBsm),
        (AcceptPreferred, ElectionAction::Ignore, TimerAction::Keep)
    );
    assert_eq!(
        cell(AcceptPreferred, BootstrapTimerExpired),
        (AcceptAny, ElectionAction::Ignore, TimerAction::Stop)
    );
}

#[test]
fn accepted_bsm_is_forwarded_on_every_other_interface() {
    let mut h = Harness::plain();
    let m = bsm("198.18.9.9", 5, 1, &[("239.0.0.0/8", 1, &["198.18.7.7"])]);
    h.bsm(m.clone());
    let sent = h.sent();
    assert_eq!(
        sent,
        vec![
            (Destination::AllPimRouters { ifindex: IF2 }, PimMessage::Bootstrap(m.clone())),
            (Destination::AllPimRouters { ifindex: IF3 }, PimMessage::Bootstrap(m)),
        ]
    );
    assert_eq!(h.bsr.state(), BsrState::AcceptPreferred);
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.7.7")]);
    assert!(h.out.iter().any(|o| matches!(o, Output::RpSetChanged { .. })));
}

#[test]
fn acceptance_rules_drop_what_rfc5059_drops() {
    let mut h = Harness::plain();
    let m = bsm("198.18.9.9", 5, 1, &[]);
    // Learn the RPF neighbour first.
    h.bsm(m.clone());
    assert_eq!(h.bsr.state(), BsrState::AcceptPreferred);
    // From a PIM neighbour that is not the RPF neighbour towards the BSR.
    h.input(Input::Bootstrap {
        ifindex: IF2,
        source: a(DOWN),
        destination: V4::ALL_PIM_ROUTERS,
        message: m.clone(),
    });
    assert_eq!(h.dropped(), vec![DropReason::NotRpfNeighbor]);
    // From a non-neighbour.
    h.input(Input::Bootstrap {
        ifindex: IF1,
        source: a("198.18.1.99"),
        destination: V4::ALL_PIM_ROUTERS,
        message: m.clone(),
    });
    assert_eq!(h.dropped(), vec![DropReason::NotNeighbor]);
    // On an interface without PIM.
    h.input(Input::Bootstrap {
        ifindex: IfIndex(9),
        source: a(UP),
        destination: V4::ALL_PIM_ROUTERS,
        message: m.clone(),
    });
    assert_eq!(h.dropped(), vec![DropReason::UnknownInterface]);
    // Multicast with the No-Forward bit.
    let nf = Bootstrap { no_forward: true, ..m.clone() };
    h.input(Input::Bootstrap { ifindex: IF1, source: a(UP), destination: V4::ALL_PIM_ROUTERS, message: nf });
    assert_eq!(h.dropped(), vec![DropReason::NoForwardMulticast]);
    // No route to the BSR.
    let far = bsm("198.18.8.8", 200, 1, &[]);
    h.input(Input::Bootstrap {
        ifindex: IF1,
        source: a(UP),
        destination: V4::ALL_PIM_ROUTERS,
        message: far.clone(),
    });
    assert!(h.out.contains(&Output::WatchRpf { target: a("198.18.8.8") }));
    h.input(Input::RpfNeighbor { target: a("198.18.8.8"), rpf: None });
    assert_eq!(h.dropped(), vec![DropReason::NoRpf]);
    assert!(h.sent().is_empty());
    assert_eq!(h.bsr.elected().unwrap().address, a("198.18.9.9"));
}

#[test]
fn accept_bootstrap_filter_drops_and_counts() {
    let mut h = Harness::plain();
    h.input(Input::InterfaceUp { ifindex: IF2, accept_bootstrap: false });
    let rogue = bsm("198.18.66.66", 255, 1, &[("224.0.0.0/4", 1, &["198.18.66.66"])]);
    for _ in 0..3 {
        h.bsm_from(IF2, DOWN, rogue.clone());
        assert_eq!(h.dropped(), vec![DropReason::AcceptBootstrapFilter]);
        assert!(h.sent().is_empty());
    }
    assert_eq!(h.bsr.filtered_on(IF2), 3);
    assert_eq!(h.bsr.filtered_on(IF1), 0);
    assert_eq!(h.bsr.state(), BsrState::AcceptAny);
    // The operating network's BSM still arrives on IF1 and is relayed into the filtered side.
    let good = bsm("198.18.9.9", 5, 1, &[]);
    h.bsm(good.clone());
    assert!(h.sent().contains(&(Destination::AllPimRouters { ifindex: IF2 }, PimMessage::Bootstrap(good))));
    assert_eq!(h.bsr.counters().bootstrap_dropped, 3);
}

#[test]
fn accept_preferred_ignores_a_worse_bsr_until_timeout() {
    let mut h = Harness::plain();
    h.bsm(bsm("198.18.9.9", 10, 1, &[("239.0.0.0/8", 1, &["198.18.7.7"])]));
    h.now = Instant::from_secs(10);
    let worse = bsm("198.18.9.200", 5, 2, &[("239.0.0.0/8", 1, &["198.18.6.6"])]);
    h.bsm(worse.clone());
    assert_eq!(h.dropped(), vec![DropReason::NotPreferred]);
    assert!(h.sent().is_empty());
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.7.7")]);
    // The current BSR lowering its priority is still the current BSR.
    h.bsm(bsm("198.18.9.9", 1, 3, &[("239.0.0.0/8", 1, &["198.18.7.7"])]));
    assert_eq!(h.bsr.elected(), Some(BsrId { priority: 1, address: a("198.18.9.9") }));
    // A better one takes over at once.
    h.bsm(bsm("198.18.9.1", 11, 4, &[]));
    assert_eq!(h.bsr.elected().unwrap().address, a("198.18.9.1"));
    // Bootstrap-Timeout (130 s) without messages: Accept Any, and then the worse one is accepted.
    h.advance_to(Instant::from_secs(10 + 129));
    assert_eq!(h.bsr.state(), BsrState::AcceptPreferred);
    h.advance_to(Instant::from_secs(10 + 130));
    assert_eq!(h.bsr.state(), BsrState::AcceptAny);
    h.bsm(worse);
    assert_eq!(h.bsr.state(), BsrState::AcceptPreferred);
    assert_eq!(h.bsr.elected().unwrap().address, a("198.18.9.200"));
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.6.6")]);
}

#[test]
fn new_or_restarted_neighbor_gets_the_bsm_unicast_by_the_dr() {
    let mut h = Harness::plain();
    let m = bsm("198.18.9.9", 5, 1, &[("239.0.0.0/8", 1, &["198.18.7.7"])]);
    h.bsm(m.clone());
    h.input(Input::NeighborUp { ifindex: IF2, neighbor: a("198.18.2.3"), we_are_dr: false });
    assert!(h.sent().is_empty());
    h.input(Input::NeighborUp { ifindex: IF2, neighbor: a("198.18.2.4"), we_are_dr: true });
    let expected = Bootstrap { no_forward: true, ..m };
    assert_eq!(
        h.sent(),
        vec![(
            Destination::Unicast { ifindex: Some(IF2), address: a("198.18.2.4") },
            PimMessage::Bootstrap(expected.clone())
        )]
    );
    h.input(Input::NeighborGenIdChanged { ifindex: IF3, neighbor: a(SIDE), we_are_dr: true });
    assert_eq!(
        h.sent(),
        vec![(
            Destination::Unicast { ifindex: Some(IF3), address: a(SIDE) },
            PimMessage::Bootstrap(expected)
        )]
    );
}

#[test]
fn unicast_bsm_skips_rpf_and_is_not_forwarded() {
    let mut h = Harness::plain();
    let m = Bootstrap { no_forward: true, ..bsm("198.18.9.9", 5, 1, &[("239.0.0.0/8", 1, &["198.18.7.7"])]) };
    h.input(Input::Bootstrap { ifindex: IF2, source: a(DOWN), destination: a("198.18.2.1"), message: m });
    assert!(h.out.iter().all(|o| !matches!(o, Output::WatchRpf { .. } | Output::Send { .. })));
    assert_eq!(h.bsr.state(), BsrState::AcceptPreferred);
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.7.7")]);
}

#[test]
fn fragments_are_installed_per_complete_range() {
    let mut h = Harness::plain();
    let bsr = "198.18.9.9";
    // Range A split over two fragments (2 RPs), range B whole in the first.
    h.bsm(bsm(bsr, 5, 7, &[("239.2.0.0/16", 1, &["198.18.7.2"]), ("239.1.0.0/16", 2, &["198.18.7.1"])]));
    assert_eq!(rps_of(h.rp_set(), "239.2.0.0/16"), vec![a("198.18.7.2")]);
    assert!(rps_of(h.rp_set(), "239.1.0.0/16").is_empty(), "incomplete range installed");
    // A fragment of another tag discards the partial range.
    h.bsm(bsm(bsr, 5, 8, &[("239.3.0.0/16", 1, &["198.18.7.3"])]));
    h.bsm(bsm(bsr, 5, 7, &[("239.1.0.0/16", 2, &["198.18.7.11"])]));
    assert!(rps_of(h.rp_set(), "239.1.0.0/16").is_empty(), "fragments of two tags mixed");
    // Both fragments of tag 9: complete.
    h.bsm(bsm(bsr, 5, 9, &[("239.1.0.0/16", 2, &["198.18.7.1"])]));
    h.bsm(bsm(bsr, 5, 9, &[("239.1.0.0/16", 2, &["198.18.7.11"])]));
    assert_eq!(rps_of(h.rp_set(), "239.1.0.0/16"), vec![a("198.18.7.1"), a("198.18.7.11")]);
    // Ranges absent from the newest message keep their entries until the holdtime.
    assert_eq!(rps_of(h.rp_set(), "239.2.0.0/16"), vec![a("198.18.7.2")]);
    h.advance_to(Instant::from_secs(150));
    assert!(h.rp_set().is_empty());
}

#[test]
fn fragmenting_and_reassembling_a_large_rp_set() {
    let mut set = RpSet::<V4>::new();
    for r in 0..10u8 {
        for i in 0..12u8 {
            set.insert(
                p(&format!("239.{r}.0.0/16")),
                RpSetEntry { address: Ipv4Addr::new(198, 18, r, i + 1), priority: i, holdtime: 150 },
            );
        }
    }
    let me = BsrId { priority: 1, address: a("198.18.9.9") };
    let frags = fragment(&set, me, 0x1234, 200);
    assert!(frags.len() >= 8, "{}", frags.len());
    let mut h = Harness::plain();
    for (k, f) in frags.iter().enumerate() {
        assert!(PimMessage::Bootstrap(f.clone()).buffer_len() <= 200);
        h.bsm(f.clone());
        if k + 1 < frags.len() {
            assert!(h.rp_set().entry_count() < 120);
        }
    }
    assert_eq!(h.rp_set().ranges, set.ranges);
}

fn candidate(priority: u8, address: &str) -> BsrConfig<V4> {
    BsrConfig { candidate_bsr: Some(CandidateBsrConfig::new(a(address), priority)), ..BsrConfig::default() }
}

fn originated(h: &Harness) -> Vec<(Destination<V4>, Bootstrap<V4>)> {
    h.sent()
        .into_iter()
        .filter_map(|(to, m)| match m {
            PimMessage::Bootstrap(b) => Some((to, b)),
            _ => None,
        })
        .collect()
}

#[test]
fn lone_candidate_is_elected_and_keeps_announcing() {
    let mut h = Harness::new(candidate(7, "198.18.0.1"));
    assert_eq!(h.bsr.state(), BsrState::PendingBsr);
    h.advance_to(Instant::from_millis(4_999));
    assert!(originated(&h).is_empty());
    h.advance_to(Instant::from_secs(5));
    assert_eq!(h.bsr.state(), BsrState::ElectedBsr);
    let first = originated(&h);
    assert_eq!(first.len(), 3, "one per interface");
    assert!(first
        .iter()
        .all(|(_, b)| b.bsr_address == a("198.18.0.1") && b.bsr_priority == 7 && !b.no_forward));
    h.advance_to(Instant::from_secs(5 + 60));
    assert_eq!(originated(&h).len(), 3);
    let view = h.bsr.view(h.now);
    assert_eq!(view.state, BsrState::ElectedBsr);
    assert!(
        view.to_string()
            .starts_with("State: elected-bsr  Candidate: 198.18.0.1 priority 7\nBSR: 198.18.0.1 priority 7"),
        "{view}"
    );
    let json = serde_json::to_value(&view).unwrap();
    assert_eq!(json["state"], "elected-bsr");
    assert_eq!(json["elected"]["address"], "198.18.0.1");
    let rp_set = serde_json::to_value(h.bsr.rp_set_view(h.now)).unwrap();
    assert_eq!(rp_set["bsr"]["priority"], 7);
    let sent = serde_json::to_value(&h.out[0]).unwrap();
    assert_eq!(sent["type"], "send");
}

#[test]
fn elected_bsr_answers_a_worse_bsm_and_yields_to_a_better_one() {
    let mut h = Harness::new(candidate(7, "198.18.0.1"));
    h.advance_to(Instant::from_secs(5));
    h.bsm(bsm("198.18.9.9", 6, 1, &[]));
    assert_eq!(h.bsr.state(), BsrState::ElectedBsr);
    assert_eq!(originated(&h).len(), 3, "originated at once");
    h.bsm(bsm("198.18.0.0", 7, 1, &[]));
    assert_eq!(h.bsr.state(), BsrState::ElectedBsr, "same priority, lower address is worse");
    h.bsm(bsm("198.18.0.2", 7, 1, &[]));
    assert_eq!(h.bsr.state(), BsrState::CandidateBsr);
    assert_eq!(h.bsr.elected().unwrap().address, a("198.18.0.2"));
}

#[test]
fn pending_candidate_defers_to_a_better_bsm() {
    let mut h = Harness::new(candidate(7, "198.18.0.1"));
    h.now = Instant::from_secs(2);
    h.bsm(bsm("198.18.9.9", 8, 1, &[]));
    assert_eq!(h.bsr.state(), BsrState::CandidateBsr);
    // The BSR goes silent: Bootstrap-Timeout, then BS_Rand_Override, then this candidate claims.
    h.advance_to(Instant::from_secs(2 + 130));
    assert_eq!(h.bsr.state(), BsrState::PendingBsr);
    // 5 + 2*log2(1 + 8 - 7) + (2 - 198.18.0.1 / 2^31) = 7.45257... s
    let expected = Duration::from_millis(7_453);
    h.advance_to(Instant::from_secs(2 + 130) + (expected - Duration::from_millis(1)));
    assert_eq!(h.bsr.state(), BsrState::PendingBsr);
    h.advance_to(Instant::from_secs(2 + 130) + expected);
    assert_eq!(h.bsr.state(), BsrState::ElectedBsr);
}

fn crp_adv(rp: &str, priority: u8, holdtime: u16, groups: &[&str]) -> CandidateRpAdvertisement<V4> {
    CandidateRpAdvertisement {
        priority,
        holdtime,
        rp_address: a(rp),
        groups: groups.iter().map(|g| EncodedGroup::range(p(g).network(), p(g).prefix_len())).collect(),
    }
}

#[test]
fn elected_bsr_caches_candidate_rps_by_holdtime() {
    let mut h = Harness::new(candidate(7, "198.18.0.1"));
    // Not (yet) the BSR: dropped.
    h.input(Input::CandidateRpAdvertisement {
        source: a("198.18.5.5"),
        message: crp_adv("198.18.5.5", 1, 150, &[]),
    });
    assert_eq!(h.bsr.counters().crp_adv_dropped, 0, "pending BSR accepts");
    h.advance_to(Instant::from_secs(5));
    assert_eq!(h.bsr.state(), BsrState::ElectedBsr);
    assert_eq!(rps_of(h.rp_set(), "224.0.0.0/4"), vec![a("198.18.5.5")]);
    h.now = Instant::from_secs(10);
    h.input(Input::CandidateRpAdvertisement {
        source: a("198.18.6.6"),
        message: crp_adv("198.18.6.6", 2, 150, &["239.0.0.0/8"]),
    });
    let triggered = originated(&h);
    assert_eq!(triggered.len(), 3);
    assert_eq!(triggered[0].1.group_ranges.len(), 2);
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.6.6")]);
    // The same advertisement again changes nothing: no triggered message.
    h.input(Input::CandidateRpAdvertisement {
        source: a("198.18.6.6"),
        message: crp_adv("198.18.6.6", 2, 150, &["239.0.0.0/8"]),
    });
    assert!(originated(&h).is_empty());
    // Holdtime 0 withdraws.
    h.input(Input::CandidateRpAdvertisement {
        source: a("198.18.6.6"),
        message: crp_adv("198.18.6.6", 2, 0, &["239.0.0.0/8"]),
    });
    assert_eq!(originated(&h)[0].1.group_ranges.len(), 1);
    assert!(rps_of(h.rp_set(), "239.0.0.0/8").is_empty());
    // 198.18.5.5 advertised at 0 s with 150 s: gone at 150 s, and the BSR says so.
    h.advance_to(Instant::from_secs(149));
    assert_eq!(rps_of(h.rp_set(), "224.0.0.0/4"), vec![a("198.18.5.5")]);
    h.advance_to(Instant::from_secs(150));
    assert!(h.rp_set().is_empty());
    assert!(h.out.iter().any(|o| matches!(o, Output::Log { event: BsrEvent::CandidateRpExpired { .. } })));
    assert!(originated(&h).iter().all(|(_, b)| b.group_ranges.is_empty()));
}

#[test]
fn non_bsr_drops_candidate_rp_advertisements() {
    let mut h = Harness::plain();
    h.input(Input::CandidateRpAdvertisement {
        source: a("198.18.5.5"),
        message: crp_adv("198.18.5.5", 1, 150, &[]),
    });
    assert_eq!(h.bsr.counters().crp_adv_dropped, 1);
}

fn advs(h: &Harness) -> Vec<(Ipv4Addr, CandidateRpAdvertisement<V4>)> {
    h.sent()
        .into_iter()
        .filter_map(|(to, m)| match (to, m) {
            (Destination::Unicast { ifindex: None, address }, PimMessage::CandidateRpAdvertisement(c)) => {
                Some((address, c))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn candidate_rp_advertises_to_the_known_bsr() {
    let config = BsrConfig {
        candidate_rp: Some(CandidateRpConfig::new(a("198.18.0.1"), 3, vec![p("239.0.0.0/8")])),
        seed: 42,
        ..BsrConfig::default()
    };
    let mut h = Harness::new(config);
    h.advance_to(Instant::from_secs(120));
    assert!(advs(&h).is_empty(), "no BSR known yet");
    // Learning a BSR triggers an advertisement at once.
    h.bsm(bsm("198.18.9.9", 5, 1, &[]));
    let sent = advs(&h);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, a("198.18.9.9"));
    assert_eq!((sent[0].1.priority, sent[0].1.holdtime), (3, 150));
    assert_eq!(sent[0].1.groups, vec![EncodedGroup::range(a("239.0.0.0"), 8)]);
    // Then every C-RP-Adv-Period, within ±1 s.
    let learned_at = h.now;
    let mut times = Vec::new();
    for step in 1..=300 {
        let t = learned_at + Duration::from_secs(step);
        h.bsm(bsm("198.18.9.9", 5, 1, &[]));
        h.advance_to(t);
        if !advs(&h).is_empty() {
            times.push(t - learned_at);
        }
    }
    assert!(times.len() >= 4, "{times:?}");
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= Duration::from_secs(59) && gap <= Duration::from_secs(61), "{times:?}");
    }
    // A new BSR gets one at once.
    h.bsm(bsm("198.18.9.10", 6, 1, &[]));
    assert_eq!(advs(&h).first().map(|(to, _)| *to), Some(a("198.18.9.10")));
    // Ceasing to be a candidate withdraws with holdtime 0.
    h.input(Input::SetCandidateRp(None));
    let withdrawn = advs(&h);
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0].1.holdtime, 0);
}

#[test]
fn elected_bsr_that_is_also_a_candidate_rp_announces_itself_at_once() {
    let config = BsrConfig {
        candidate_rp: Some(CandidateRpConfig::new(a("198.18.0.1"), 4, vec![p("239.0.0.0/8")])),
        ..candidate(7, "198.18.0.1")
    };
    let mut h = Harness::new(config);
    h.advance_to(Instant::from_secs(5));
    let first = originated(&h);
    assert_eq!(first.len(), 3, "one message per interface, no second triggered one");
    assert_eq!(first[0].1.group_ranges.len(), 1);
    assert_eq!(first[0].1.group_ranges[0].rps[0].address, a("198.18.0.1"));
    assert!(advs(&h).is_empty(), "its own advertisement is not sent on the wire");
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.0.1")]);
    // It keeps itself in the set past one RP-Holdtime.
    h.advance_to(Instant::from_secs(400));
    assert_eq!(rps_of(h.rp_set(), "239.0.0.0/8"), vec![a("198.18.0.1")]);
}
