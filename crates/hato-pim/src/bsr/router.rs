//! [`ZoneBsr`]: the bootstrap router mechanism of one family in one scope zone, sans-IO.

use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, Duration, IfIndex, Instant};
use hato_wire::pim::{Bootstrap, BootstrapRp, CandidateRpAdvertisement, EncodedGroup, PimMessage};

use super::election::{
    bs_rand_override, classify, transition, BsrId, BsrState, ElectionAction, ElectionEvent, TimerAction,
    Transition,
};
use super::fragment::{fragment_in_zone, Reassembly};
use super::io::{
    BsrConfig, BsrEvent, CandidateBsrConfig, CandidateRpConfig, Destination, DropReason, Input, Output,
    RpfNeighbor,
};
use super::view::{BsrCounters, BsrView, CandidateRpView, RpSetRow, RpSetView};
use crate::rng::SplitMix64;
use crate::rp::{RpSet, RpSetEntry};

/// Bootstrap messages kept while the RPF neighbour towards their BSR is unknown.
const MAX_PARKED: usize = 64;
/// BSR addresses whose RPF neighbour is remembered (RFC 5059 expects a handful of candidate
/// BSRs; the configuration guide allows 16 per domain).
const MAX_RPF_ENTRIES: usize = 32;

#[derive(Debug, Clone)]
struct Interface<A: Afi> {
    accept_bootstrap: bool,
    neighbors: BTreeSet<A::Addr>,
    /// Bootstrap messages dropped here by the `accept-bootstrap` filter.
    filtered: u64,
}

/// An RP-Set entry with its expiry.
#[derive(Debug, Clone, Copy)]
struct Learned {
    priority: u8,
    holdtime: u16,
    expires: Instant,
}

/// A candidate RP as the elected BSR keeps it (RFC 5059 §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
struct CandidateRp<A: Afi> {
    priority: u8,
    holdtime: u16,
    groups: Vec<A::Prefix>,
    expires: Instant,
}

/// A Bootstrap message waiting for the RPF neighbour towards its BSR.
#[derive(Debug, Clone)]
struct Parked<A: Afi> {
    ifindex: IfIndex,
    source: A::Addr,
    destination: A::Addr,
    message: Bootstrap<A>,
}

/// The bootstrap router mechanism for one family (RFC 5059) in one scope zone: BSR election as
/// candidate or not, Bootstrap message acceptance, forwarding, fragmentation and reassembly, the
/// elected BSR's candidate-RP cache, and the candidate RP's advertisements.
///
/// In an administratively scoped zone (RFC 5059 §3.x, [`ZoneBsr::new_scoped`]) it knows only the
/// interfaces inside the zone, keeps only group ranges within the zone's range, and originates
/// Bootstrap messages whose first group range is the zone's, with the Admin Scope Zone bit set.
/// [`super::Bsr`] runs one per zone.
#[derive(Debug, Clone)]
pub struct ZoneBsr<A: Afi> {
    /// The admin scope zone's group range; `None` for the global zone.
    zone: Option<A::Prefix>,
    config: BsrConfig<A>,
    state: BsrState,
    /// The stored BSR: the one whose messages are accepted (may be this router).
    elected: Option<BsrId<A>>,
    hash_mask_len: u8,
    bootstrap_timer: Option<Instant>,
    interfaces: BTreeMap<IfIndex, Interface<A>>,
    rpf: BTreeMap<A::Addr, Option<RpfNeighbor<A>>>,
    rpf_asked: BTreeSet<A::Addr>,
    parked: Vec<Parked<A>>,
    reassembly: Option<Reassembly<A>>,
    /// The local RP-Set: range and RP to priority, holdtime and expiry.
    learned: BTreeMap<(A::Prefix, A::Addr), Learned>,
    /// The RP-Set last handed out.
    announced: RpSet<A>,
    /// The elected BSR's candidate RPs.
    candidate_rps: BTreeMap<A::Addr, CandidateRp<A>>,
    /// The fragments this router originated last, as elected BSR.
    originated: Vec<Bootstrap<A>>,
    crp_adv_timer: Option<Instant>,
    /// The BSR the last C-RP-Advertisement went to.
    crp_adv_sent_to: Option<A::Addr>,
    rng: SplitMix64,
    counters: BsrCounters,
}

impl<A: Afi> ZoneBsr<A> {
    /// The global zone of a router with `config`, starting at `now` (a candidate BSR starts in
    /// Pending-BSR).
    pub fn new(now: Instant, config: BsrConfig<A>, out: &mut Vec<Output<A>>) -> Self {
        Self::new_in(None, now, config, out)
    }

    /// The admin scope zone `zone` (a group range) of a router with `config`.
    pub fn new_scoped(zone: A::Prefix, now: Instant, config: BsrConfig<A>, out: &mut Vec<Output<A>>) -> Self {
        Self::new_in(Some(zone), now, config, out)
    }

    fn new_in(zone: Option<A::Prefix>, now: Instant, config: BsrConfig<A>, out: &mut Vec<Output<A>>) -> Self {
        let candidate_bsr = config.candidate_bsr;
        let candidate_rp = config.candidate_rp.clone();
        let hash_mask_len = crate::rp::default_hash_mask_len::<A>();
        let mut bsr = ZoneBsr {
            zone,
            rng: SplitMix64::new(config.seed),
            config: BsrConfig { candidate_bsr: None, candidate_rp: None, ..config },
            state: BsrState::AcceptAny,
            elected: None,
            hash_mask_len,
            bootstrap_timer: None,
            interfaces: BTreeMap::new(),
            rpf: BTreeMap::new(),
            rpf_asked: BTreeSet::new(),
            parked: Vec::new(),
            reassembly: None,
            learned: BTreeMap::new(),
            announced: RpSet::new(),
            candidate_rps: BTreeMap::new(),
            originated: Vec::new(),
            crp_adv_timer: None,
            crp_adv_sent_to: None,
            counters: BsrCounters::default(),
        };
        bsr.handle(now, Input::SetCandidateBsr(candidate_bsr), out);
        bsr.handle(now, Input::SetCandidateRp(candidate_rp), out);
        bsr
    }

    pub fn state(&self) -> BsrState {
        self.state
    }

    /// The admin scope zone's range; `None` for the global zone.
    pub fn zone(&self) -> Option<A::Prefix> {
        self.zone
    }

    /// Whether `range` lies within this zone (every range does in the global zone).
    fn in_zone(&self, range: &A::Prefix) -> bool {
        self.zone.map_or(true, |zone| prefix_within::<A>(range, &zone))
    }

    /// The stored BSR.
    pub fn elected(&self) -> Option<BsrId<A>> {
        self.elected
    }

    /// The RP-Set last handed out in [`Output::RpSetChanged`].
    pub fn rp_set(&self) -> &RpSet<A> {
        &self.announced
    }

    pub fn counters(&self) -> &BsrCounters {
        &self.counters
    }

    /// Whether PIM runs on `ifindex` inside this zone.
    pub fn knows_interface(&self, ifindex: IfIndex) -> bool {
        self.interfaces.contains_key(&ifindex)
    }

    /// Bootstrap messages dropped by the `accept-bootstrap` filter of `ifindex`.
    pub fn filtered_on(&self, ifindex: IfIndex) -> u64 {
        self.interfaces.get(&ifindex).map_or(0, |i| i.filtered)
    }

    fn me(&self) -> Option<BsrId<A>> {
        self.config.candidate_bsr.map(|c| c.id())
    }

    fn is_self(&self, address: A::Addr) -> bool {
        self.config.candidate_bsr.is_some_and(|c| c.address == address)
    }

    /// Handles one input.
    pub fn handle(&mut self, now: Instant, input: Input<A>, out: &mut Vec<Output<A>>) {
        match input {
            Input::Bootstrap { ifindex, source, destination, message } => {
                self.counters.bootstrap_received += 1;
                self.receive_bootstrap(now, Parked { ifindex, source, destination, message }, out)
            }
            Input::CandidateRpAdvertisement { source, message } => {
                self.receive_crp_adv(now, source, message, out)
            }
            Input::InterfaceUp { ifindex, accept_bootstrap } => {
                self.interfaces
                    .entry(ifindex)
                    .or_insert_with(|| Interface {
                        accept_bootstrap,
                        neighbors: BTreeSet::new(),
                        filtered: 0,
                    })
                    .accept_bootstrap = accept_bootstrap;
            }
            Input::InterfaceDown { ifindex } => {
                self.interfaces.remove(&ifindex);
            }
            Input::NeighborUp { ifindex, neighbor, we_are_dr }
            | Input::NeighborGenIdChanged { ifindex, neighbor, we_are_dr } => {
                if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                    iface.neighbors.insert(neighbor);
                    if we_are_dr {
                        self.unicast_stored(ifindex, neighbor, out);
                    }
                }
            }
            Input::NeighborDown { ifindex, neighbor } => {
                if let Some(iface) = self.interfaces.get_mut(&ifindex) {
                    iface.neighbors.remove(&neighbor);
                }
            }
            Input::RpfNeighbor { target, rpf } => self.rpf_answer(now, target, rpf, out),
            Input::SetCandidateBsr(candidate) => self.set_candidate_bsr(now, candidate, out),
            // Zones and their boundaries are [`super::Bsr`]'s business.
            Input::SetBoundaries { .. } | Input::SetScopeZones(_) => {}
            Input::SetCandidateRp(candidate) => self.set_candidate_rp(now, candidate, out),
        }
        self.settle(now, out);
    }

    /// Runs the timers due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        if self.bootstrap_timer.is_some_and(|t| t <= now) {
            self.bootstrap_timer = None;
            let t = transition(self.state, ElectionEvent::BootstrapTimerExpired);
            self.apply(now, t, None, out);
        }
        if self.crp_adv_timer.is_some_and(|t| t <= now) {
            self.advertise_candidate_rp(now, out);
        }
        let expired: Vec<A::Addr> =
            self.candidate_rps.iter().filter(|(_, c)| c.expires <= now).map(|(rp, _)| *rp).collect();
        for rp in &expired {
            self.candidate_rps.remove(rp);
            log(out, BsrEvent::CandidateRpExpired { rp: *rp });
        }
        if !expired.is_empty() && self.state == BsrState::ElectedBsr {
            self.originate(out);
        }
        let stale: Vec<(A::Prefix, A::Addr)> =
            self.learned.iter().filter(|(_, l)| l.expires <= now).map(|(k, _)| *k).collect();
        for key in stale {
            self.learned.remove(&key);
            log(out, BsrEvent::RpSetEntryExpired { range: key.0, rp: key.1 });
        }
        self.settle(now, out);
    }

    /// The next instant [`on_timeout`](Self::on_timeout) has work.
    pub fn poll_at(&self) -> Option<Instant> {
        [
            self.bootstrap_timer,
            self.crp_adv_timer,
            self.learned.values().map(|l| l.expires).min(),
            self.candidate_rps.values().map(|c| c.expires).min(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// After every input: a triggered C-RP-Advertisement if the BSR changed (RFC 5059 §3.2), and
    /// the RP-Set if it changed.
    fn settle(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        match self.known_bsr() {
            None => self.crp_adv_sent_to = None,
            Some(bsr) if self.config.candidate_rp.is_some() && Some(bsr) != self.crp_adv_sent_to => {
                self.advertise_candidate_rp(now, out)
            }
            Some(_) => {}
        }
        let rp_set = self.current_rp_set();
        if rp_set != self.announced {
            self.announced = rp_set.clone();
            out.push(Output::RpSetChanged { rp_set });
        }
    }

    /// The BSR this router accepts Bootstrap messages from and advertises to, if any.
    fn known_bsr(&self) -> Option<A::Addr> {
        match self.state {
            BsrState::AcceptPreferred | BsrState::CandidateBsr | BsrState::ElectedBsr => {
                self.elected.map(|e| e.address)
            }
            BsrState::AcceptAny | BsrState::PendingBsr => None,
        }
    }

    fn current_rp_set(&self) -> RpSet<A> {
        let mut rp_set = RpSet {
            bsr: self.elected.map(|e| e.address),
            hash_mask_len: self.hash_mask_len,
            ranges: Vec::new(),
            scoped: Vec::new(),
        };
        for ((range, address), l) in &self.learned {
            rp_set
                .insert(*range, RpSetEntry { address: *address, priority: l.priority, holdtime: l.holdtime });
        }
        rp_set
    }

    fn drop_bootstrap(&mut self, m: &Parked<A>, reason: DropReason, out: &mut Vec<Output<A>>) {
        self.counters.bootstrap_dropped += 1;
        log(out, BsrEvent::BootstrapDropped { ifindex: m.ifindex, source: m.source, reason });
    }

    /// RFC 5059 §3.3: the acceptance checks of a received Bootstrap message.
    fn receive_bootstrap(&mut self, now: Instant, m: Parked<A>, out: &mut Vec<Output<A>>) {
        let Some(iface) = self.interfaces.get_mut(&m.ifindex) else {
            return self.drop_bootstrap(&m, DropReason::UnknownInterface, out);
        };
        if !iface.accept_bootstrap {
            iface.filtered += 1;
            self.counters.bootstrap_filtered += 1;
            return self.drop_bootstrap(&m, DropReason::AcceptBootstrapFilter, out);
        }
        if !iface.neighbors.contains(&m.source) {
            return self.drop_bootstrap(&m, DropReason::NotNeighbor, out);
        }
        if self.is_self(m.message.bsr_address) {
            return self.drop_bootstrap(&m, DropReason::OwnMessage, out);
        }
        let multicast = m.destination == A::ALL_PIM_ROUTERS;
        if multicast {
            if m.message.no_forward {
                return self.drop_bootstrap(&m, DropReason::NoForwardMulticast, out);
            }
            let bsr = m.message.bsr_address;
            match self.rpf.get(&bsr) {
                None => return self.park(m, out),
                Some(None) => return self.drop_bootstrap(&m, DropReason::NoRpf, out),
                Some(Some(rpf)) if rpf.ifindex != m.ifindex || rpf.neighbor != m.source => {
                    return self.drop_bootstrap(&m, DropReason::NotRpfNeighbor, out);
                }
                Some(Some(_)) => {}
            }
        }
        let id = BsrId { priority: m.message.bsr_priority, address: m.message.bsr_address };
        let event = classify(self.state, self.me(), self.elected, id);
        let t = transition(self.state, event);
        if t.action == ElectionAction::Ignore && t.next == self.state {
            self.drop_bootstrap(&m, DropReason::NotPreferred, out);
        } else {
            self.counters.bootstrap_accepted += 1;
        }
        self.apply(now, t, Some((m, multicast)), out);
    }

    fn park(&mut self, m: Parked<A>, out: &mut Vec<Output<A>>) {
        let bsr = m.message.bsr_address;
        if self.parked.len() >= MAX_PARKED {
            self.parked.remove(0);
        }
        self.parked.push(m);
        log(out, BsrEvent::WaitingForRpf { bsr });
        if self.rpf_asked.insert(bsr) {
            out.push(Output::WatchRpf { target: bsr });
        }
    }

    fn rpf_answer(
        &mut self,
        now: Instant,
        target: A::Addr,
        rpf: Option<RpfNeighbor<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        if self.rpf.len() >= MAX_RPF_ENTRIES && !self.rpf.contains_key(&target) {
            // Forget a BSR that is neither the stored one nor awaited.
            let keep = self.elected.map(|e| e.address);
            if let Some(old) = self.rpf.keys().copied().find(|a| Some(*a) != keep && *a != target) {
                self.rpf.remove(&old);
                self.rpf_asked.remove(&old);
            }
        }
        self.rpf.insert(target, rpf);
        self.rpf_asked.insert(target);
        let (waiting, rest): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.parked).into_iter().partition(|p| p.message.bsr_address == target);
        self.parked = rest;
        for m in waiting {
            self.receive_bootstrap(now, m, out);
        }
    }

    /// Carries out one transition of the state tables.
    fn apply(
        &mut self,
        now: Instant,
        t: Transition,
        bsm: Option<(Parked<A>, bool)>,
        out: &mut Vec<Output<A>>,
    ) {
        match t.action {
            ElectionAction::ForwardAndStore => {
                if let Some((m, multicast)) = bsm {
                    if multicast {
                        self.forward(&m, out);
                    }
                    self.store(now, &m.message, out);
                }
            }
            ElectionAction::Originate => {
                self.set_elected(self.me(), out);
                // This router's own candidacy as RP goes straight into the first message.
                if let (Some(adv), Some(me)) = (self.candidate_rp_adv(), self.me()) {
                    self.update_candidate_rp(now, &adv, out);
                    self.crp_adv_sent_to = Some(me.address);
                }
                self.originate(out);
            }
            ElectionAction::Ignore => {}
        }
        let me = self.me();
        self.bootstrap_timer = match (t.timer, me) {
            (TimerAction::Timeout, _) => Some(now + self.config.effective_bootstrap_timeout()),
            (TimerAction::RandOverride, Some(me)) => Some(now + bs_rand_override(me, self.elected)),
            (TimerAction::RandOverride, None) => None,
            (TimerAction::Period, _) => Some(now + self.config.bootstrap_period),
            (TimerAction::Stop, _) => None,
            (TimerAction::Keep, _) => self.bootstrap_timer,
        };
        self.set_state(t.next, out);
    }

    fn set_state(&mut self, next: BsrState, out: &mut Vec<Output<A>>) {
        if next != self.state {
            log(out, BsrEvent::StateChanged { from: self.state, to: next });
            self.state = next;
        }
    }

    fn set_elected(&mut self, new: Option<BsrId<A>>, out: &mut Vec<Output<A>>) {
        if new != self.elected {
            log(out, BsrEvent::BsrChanged { old: self.elected, new });
            self.elected = new;
        }
    }

    /// RFC 5059 §3.3: forwards a multicast Bootstrap message on every other PIM interface.
    fn forward(&mut self, m: &Parked<A>, out: &mut Vec<Output<A>>) {
        for ifindex in self.interfaces.keys().filter(|i| **i != m.ifindex) {
            self.counters.bootstrap_forwarded += 1;
            out.push(Output::Send {
                to: Destination::AllPimRouters { ifindex: *ifindex },
                message: PimMessage::Bootstrap(m.message.clone()),
            });
        }
    }

    /// Stores the BSR and the RP-Set of an accepted fragment (RFC 5059 §3.1, §3.5).
    fn store(&mut self, now: Instant, message: &Bootstrap<A>, out: &mut Vec<Output<A>>) {
        self.set_elected(Some(BsrId { priority: message.bsr_priority, address: message.bsr_address }), out);
        self.hash_mask_len = message.hash_mask_len;
        self.candidate_rps.clear();
        self.originated.clear();
        let reassembly = match self.reassembly.take() {
            Some(r) if r.matches(message) => self.reassembly.insert(r),
            _ => self.reassembly.insert(Reassembly::new(message.bsr_address, message.fragment_tag)),
        };
        let complete = reassembly.add(message);
        // RFC 5059 §3.x: a scoped zone's BSR speaks only for groups inside the zone.
        for (range, rps) in complete {
            if self.in_zone(&range) {
                self.install_range(now, range, &rps);
            }
        }
    }

    /// Replaces the RPs of `range` with `rps` (a complete range), each valid for its holdtime.
    fn install_range(&mut self, now: Instant, range: A::Prefix, rps: &[BootstrapRp<A>]) {
        self.learned.retain(|(r, _), _| *r != range);
        for rp in rps.iter().filter(|rp| rp.holdtime > 0) {
            let expires = now + Duration::from_secs(u64::from(rp.holdtime));
            self.learned.insert(
                (range, rp.address),
                Learned { priority: rp.priority, holdtime: rp.holdtime, expires },
            );
        }
    }

    /// The elected BSR's Bootstrap message: the RP-Set built from the candidate RPs, fragmented,
    /// on every interface (RFC 5059 §3.1.1 "originate BSM"). Also installs that RP-Set locally.
    fn originate(&mut self, out: &mut Vec<Output<A>>) {
        let Some(candidate) = self.config.candidate_bsr else { return };
        let me = candidate.id();
        self.hash_mask_len = candidate.hash_mask_len;
        self.reassembly = None;
        let mut rp_set = RpSet {
            bsr: Some(me.address),
            hash_mask_len: candidate.hash_mask_len,
            ranges: Vec::new(),
            scoped: Vec::new(),
        };
        self.learned.clear();
        for (address, c) in &self.candidate_rps {
            for range in &c.groups {
                rp_set.insert(
                    *range,
                    RpSetEntry { address: *address, priority: c.priority, holdtime: c.holdtime },
                );
                self.learned.insert(
                    (*range, *address),
                    Learned { priority: c.priority, holdtime: c.holdtime, expires: c.expires },
                );
            }
        }
        // A fresh random tag per message, shared by its fragments (RFC 5059 §4.1).
        let tag = u16::try_from(self.rng.next_u64() % (1 << 16)).unwrap_or(0);
        self.originated = fragment_in_zone(&rp_set, me, tag, self.config.max_message_len, self.zone);
        for ifindex in self.interfaces.keys() {
            for f in &self.originated {
                self.counters.bootstrap_sent += 1;
                out.push(Output::Send {
                    to: Destination::AllPimRouters { ifindex: *ifindex },
                    message: PimMessage::Bootstrap(f.clone()),
                });
            }
        }
    }

    /// RFC 5059 §3.3: the stored Bootstrap message, unicast with the No-Forward bit to a new or
    /// restarted neighbour.
    fn unicast_stored(&mut self, ifindex: IfIndex, neighbor: A::Addr, out: &mut Vec<Output<A>>) {
        if self.known_bsr().is_none() {
            return;
        }
        let stored: Vec<Bootstrap<A>> = match self.state {
            BsrState::ElectedBsr => self.originated.clone(),
            _ => self.reassembly.as_ref().map(|r| r.fragments().to_vec()).unwrap_or_default(),
        };
        for mut f in stored {
            f.no_forward = true;
            self.counters.bootstrap_sent += 1;
            out.push(Output::Send {
                to: Destination::Unicast { ifindex: Some(ifindex), address: neighbor },
                message: PimMessage::Bootstrap(f),
            });
        }
    }

    /// RFC 5059 §3.1.1-§3.1.2: becoming, changing or ceasing to be a candidate BSR.
    fn set_candidate_bsr(
        &mut self,
        now: Instant,
        candidate: Option<CandidateBsrConfig<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        let was = self.config.candidate_bsr;
        self.config.candidate_bsr = candidate;
        match (was, candidate) {
            (_, Some(c)) if self.state == BsrState::ElectedBsr => {
                // Still elected with the new parameters (a better candidate overrides us).
                self.set_elected(Some(c.id()), out);
                self.originate(out);
            }
            (_, Some(c)) => {
                let known_better = self.known_bsr().is_some() && self.elected.is_some_and(|e| e > c.id());
                if known_better {
                    if self.bootstrap_timer.is_none() {
                        self.bootstrap_timer = Some(now + self.config.effective_bootstrap_timeout());
                    }
                    self.set_state(BsrState::CandidateBsr, out);
                } else {
                    self.bootstrap_timer = Some(now + bs_rand_override(c.id(), self.elected));
                    self.set_state(BsrState::PendingBsr, out);
                }
            }
            (Some(_), None) => {
                let next = match self.state {
                    BsrState::CandidateBsr => BsrState::AcceptPreferred,
                    _ => BsrState::AcceptAny,
                };
                if next == BsrState::AcceptAny {
                    self.bootstrap_timer = None;
                    self.candidate_rps.clear();
                    self.originated.clear();
                    if self.elected.is_some_and(|e| Some(e.address) == was.map(|w| w.address)) {
                        self.set_elected(None, out);
                    }
                }
                self.set_state(next, out);
            }
            (None, None) => {}
        }
    }

    fn set_candidate_rp(
        &mut self,
        now: Instant,
        candidate: Option<CandidateRpConfig<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        let was = std::mem::replace(&mut self.config.candidate_rp, candidate.clone());
        match candidate {
            Some(_) => {
                self.crp_adv_sent_to = None;
                self.advertise_candidate_rp(now, out);
            }
            None => {
                self.crp_adv_timer = None;
                self.crp_adv_sent_to = None;
                // Withdraw: holdtime 0 (RFC 7761 §4.9.10).
                if let (Some(old), Some(bsr)) = (was, self.known_bsr()) {
                    let adv = CandidateRpAdvertisement {
                        priority: old.priority,
                        holdtime: 0,
                        rp_address: old.address,
                        groups: Vec::new(),
                    };
                    self.deliver_crp_adv(now, bsr, adv, out);
                }
            }
        }
    }

    /// Sends the C-RP-Advertisement to the known BSR (RFC 5059 §3.2) and schedules the next one
    /// C-RP-Adv-Period later, within ±1 s of jitter.
    fn advertise_candidate_rp(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        let Some(c) = self.config.candidate_rp.clone() else {
            self.crp_adv_timer = None;
            return;
        };
        let jitter = self.rng.up_to(Duration::from_millis(1999));
        let period = c.adv_period.saturating_sub(Duration::from_secs(1)).max(Duration::from_secs(1));
        self.crp_adv_timer = Some(now + period + jitter);
        let Some(bsr) = self.known_bsr() else { return };
        let Some(adv) = self.candidate_rp_adv() else { return };
        self.crp_adv_sent_to = Some(bsr);
        self.deliver_crp_adv(now, bsr, adv, out);
    }

    /// The C-RP-Advertisement of this router's candidacy (RFC 7761 §4.9.10).
    fn candidate_rp_adv(&self) -> Option<CandidateRpAdvertisement<A>> {
        let c = self.config.candidate_rp.as_ref()?;
        let groups = c
            .groups
            .iter()
            .take(usize::from(u8::MAX))
            .map(|p| {
                let (addr, len) = A::prefix_parts(p);
                EncodedGroup::range(addr, len)
            })
            .collect();
        Some(CandidateRpAdvertisement {
            priority: c.priority,
            holdtime: c.effective_holdtime(),
            rp_address: c.address,
            groups,
        })
    }

    fn deliver_crp_adv(
        &mut self,
        now: Instant,
        bsr: A::Addr,
        adv: CandidateRpAdvertisement<A>,
        out: &mut Vec<Output<A>>,
    ) {
        if self.is_self(bsr) {
            self.cache_candidate_rp(now, adv, out);
        } else {
            self.counters.crp_adv_sent += 1;
            out.push(Output::Send {
                to: Destination::Unicast { ifindex: None, address: bsr },
                message: PimMessage::CandidateRpAdvertisement(adv),
            });
        }
    }

    fn receive_crp_adv(
        &mut self,
        now: Instant,
        source: A::Addr,
        adv: CandidateRpAdvertisement<A>,
        out: &mut Vec<Output<A>>,
    ) {
        self.counters.crp_adv_received += 1;
        if !matches!(self.state, BsrState::ElectedBsr | BsrState::PendingBsr) {
            self.counters.crp_adv_dropped += 1;
            log(out, BsrEvent::CandidateRpAdvDropped { source, reason: DropReason::NotBsr });
            return;
        }
        self.cache_candidate_rp(now, adv, out);
    }

    /// RFC 5059 §3.2: the BSR keeps each candidate RP for the holdtime it advertised (0 removes
    /// it); a change of the set triggers a Bootstrap message at once.
    fn cache_candidate_rp(
        &mut self,
        now: Instant,
        adv: CandidateRpAdvertisement<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let changed = self.update_candidate_rp(now, &adv, out);
        if self.state == BsrState::ElectedBsr {
            if changed {
                self.originate(out);
            } else if let Some(c) = self.candidate_rps.get(&adv.rp_address) {
                // Refresh the local entries' expiry.
                for range in &c.groups {
                    if let Some(l) = self.learned.get_mut(&(*range, adv.rp_address)) {
                        l.expires = c.expires;
                    }
                }
            }
        }
    }

    /// Updates the candidate-RP cache with `adv`; returns whether the RP-Set changed.
    fn update_candidate_rp(
        &mut self,
        now: Instant,
        adv: &CandidateRpAdvertisement<A>,
        out: &mut Vec<Output<A>>,
    ) -> bool {
        let mut groups: Vec<A::Prefix> = adv
            .groups
            .iter()
            .filter(|g| !g.bidir)
            .filter_map(EncodedGroup::prefix)
            .filter(|p| A::is_multicast(A::prefix_parts(p).0))
            .filter(|p| self.in_zone(p))
            .collect();
        if adv.groups.is_empty() {
            // RFC 7761 §4.9.10: no group ranges offers the whole multicast range (or, in a
            // scoped zone, the zone's range).
            groups.push(self.zone.unwrap_or(A::MULTICAST_RANGE));
        }
        groups.sort();
        groups.dedup();
        let changed = if adv.holdtime == 0 || groups.is_empty() {
            self.candidate_rps.remove(&adv.rp_address).is_some()
        } else {
            let expires = now + Duration::from_secs(u64::from(adv.holdtime));
            let entry = CandidateRp { priority: adv.priority, holdtime: adv.holdtime, groups, expires };
            let old = self.candidate_rps.insert(adv.rp_address, entry.clone());
            old.map_or(true, |o| {
                (o.priority, o.holdtime, o.groups) != (entry.priority, entry.holdtime, entry.groups)
            })
        };
        if changed {
            log(out, BsrEvent::CandidateRpUpdated { rp: adv.rp_address, holdtime: adv.holdtime });
        }
        changed
    }

    /// The state for `show pim bsr`.
    pub fn view(&self, now: Instant) -> BsrView<A> {
        BsrView {
            zone: self.zone,
            state: self.state,
            candidate: self.me(),
            elected: self.elected,
            hash_mask_len: self.hash_mask_len,
            bootstrap_timer: self.bootstrap_timer.map(|t| t.saturating_since(now).as_secs()),
            fragment_tag: match self.state {
                BsrState::ElectedBsr => self.originated.first().map(|f| f.fragment_tag),
                _ => self.reassembly.as_ref().map(Reassembly::tag),
            },
            candidate_rps: self
                .candidate_rps
                .iter()
                .map(|(rp, c)| CandidateRpView {
                    rp: *rp,
                    priority: c.priority,
                    holdtime: c.holdtime,
                    expires_in: c.expires.saturating_since(now).as_secs(),
                    groups: c.groups.clone(),
                })
                .collect(),
            counters: self.counters.clone(),
            scope_zones: Vec::new(),
        }
    }

    /// The RP-Set for `show pim rp-set` (the fields of pim6stat's RP-Set section).
    pub fn rp_set_view(&self, now: Instant) -> RpSetView<A> {
        RpSetView {
            bsr: self.elected,
            bsr_timeout: self.bootstrap_timer.map(|t| t.saturating_since(now).as_secs()),
            entries: self
                .learned
                .iter()
                .map(|((range, rp), l)| RpSetRow {
                    rp: *rp,
                    group_prefix: *range,
                    priority: l.priority,
                    holdtime: l.holdtime,
                    expires_in: l.expires.saturating_since(now).as_secs(),
                })
                .collect(),
        }
    }
}

/// Whether every group of `inner` is in `outer`.
pub(crate) fn prefix_within<A: Afi>(inner: &A::Prefix, outer: &A::Prefix) -> bool {
    let (inner_addr, inner_len) = A::prefix_parts(inner);
    inner_len >= A::prefix_parts(outer).1 && A::prefix_contains(outer, inner_addr)
}

fn log<A: Afi>(out: &mut Vec<Output<A>>, event: BsrEvent<A>) {
    out.push(Output::Log { event });
}
