//! The PIM-SM router: state owned by key, the input dispatcher and the timer loop. The behaviour
//! lives in sibling modules as further `impl PimRouter` blocks: neighbours and DR election
//! ([`crate::neighbor`]), Join/Prune ([`crate::join_prune`]), Register and data-driven events
//! ([`crate::register`]); the RFC macros are in [`crate::macros`].
//!
//! Every input is processed to completion: machines affected by it mark their group dirty, and
//! [`PimRouter::finish`] then re-evaluates the upstream and register machines of dirty groups,
//! emits the mroute intents that changed and flushes queued Join/Prune entries, aggregated per
//! upstream neighbour and split to the interface's message size (RFC 7761 §4.9.5.2).

use std::collections::{BTreeMap, BTreeSet};

use hato_core::vec_map::VecMap;
use rustc_hash::FxHashMap;

use crate::pair_index::PairIndex;

use hato_core::{Afi, Duration, IfIndex, Instant, PrefixTable, SgKey, TimerQueue};
use hato_wire::pim::{split_join_prune, EncodedGroup, EncodedSource, JoinPruneGroup, PimMessage};
use serde::Serialize;
use smallvec::SmallVec;

use crate::assert::{AssertEntry, AssertKey};
use crate::config::{InterfaceConfig, PimConfig, SptPolicy};
use crate::fsm::downstream::{DownstreamState, RptDownstreamState};
use crate::fsm::register::RegisterState;
use crate::fsm::upstream::{RptUpstreamState, UpstreamState};
use crate::io::{
    DropReason, Input, MachineState, MrouteIntent, OifReason, Output, PimEvent, RpfUpdate, SourceFilter,
};
use crate::rng::SplitMix64;

/// An upstream neighbour: RPF'(...) as an interface and a neighbour's primary address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(bound(serialize = ""))]
pub struct UpstreamNeighbor<A: Afi> {
    pub ifindex: IfIndex,
    pub neighbor: A::Addr,
}

/// Every timer of the router, keyed by what it belongs to. Entry keys are (G, S) so that a group's
/// timers sort together.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Timer<A: Afi> {
    /// Hello Timer (§4.3.1).
    Hello(IfIndex),
    /// Neighbor Liveness Timer (§4.3.1).
    Neighbor(IfIndex, A::Addr),
    /// Downstream Expiry Timer of (*,G) (S = None) or (S,G) on an interface (§4.5.1, §4.5.2).
    Expiry(A::Addr, Option<A::Addr>, IfIndex),
    /// Downstream Prune-Pending Timer (§4.5.1, §4.5.2).
    PrunePending(A::Addr, Option<A::Addr>, IfIndex),
    /// (S,G,rpt) Expiry Timer (§4.5.3).
    RptExpiry(A::Addr, A::Addr, IfIndex),
    /// (S,G,rpt) Prune-Pending Timer (§4.5.3).
    RptPrunePending(A::Addr, A::Addr, IfIndex),
    /// Upstream Join Timer of (*,G) or (S,G) (§4.5.4, §4.5.5).
    Join(A::Addr, Option<A::Addr>),
    /// (S,G,rpt) Override Timer (§4.5.7).
    Override(A::Addr, A::Addr),
    /// Keepalive Timer (§4.1.3).
    Keepalive(A::Addr, A::Addr),
    /// Register-Stop Timer (§4.4.1).
    RegisterStop(A::Addr, A::Addr),
    /// Lifetime of an (S,G) cache entry created by data alone.
    DataTimeout(A::Addr, A::Addr),
    /// Assert Timer of (S,G) (S = Some) or (*,G) on an interface (§4.6.1, §4.6.2).
    Assert(A::Addr, Option<A::Addr>, IfIndex),
}

#[derive(Debug, Clone)]
pub(crate) struct Interface<A: Afi> {
    pub(crate) config: InterfaceConfig,
    pub(crate) primary: A::Addr,
    pub(crate) secondary: Vec<A::Addr>,
    pub(crate) generation_id: u32,
    pub(crate) dr: A::Addr,
}

#[derive(Debug, Clone)]
pub(crate) struct Neighbor<A: Afi> {
    /// Advertised holdtime in seconds (0xffff: forever).
    pub(crate) holdtime: u16,
    pub(crate) dr_priority: Option<u32>,
    pub(crate) generation_id: Option<u32>,
    /// (T bit, propagation delay ms, override interval ms).
    pub(crate) lan_prune_delay: Option<(bool, u16, u16)>,
    pub(crate) secondary: Vec<A::Addr>,
    pub(crate) since: Instant,
}

#[derive(Debug, Clone)]
pub(crate) struct DownstreamEntry<A: Afi> {
    pub(crate) state: DownstreamState,
    /// The neighbour charged for this state (the first to join it), for the per-neighbour limit.
    pub(crate) joiner: A::Addr,
    /// The Expiry Timer's deadline ([`Timer::Expiry`] is kept in the record).
    pub(crate) expiry: Option<Instant>,
}

/// (*,G) upstream state (§4.5.4).
#[derive(Debug, Clone)]
pub(crate) struct GroupEntry<A: Afi> {
    pub(crate) upstream: UpstreamState,
    pub(crate) rpf_prime: Option<UpstreamNeighbor<A>>,
    /// The RP named in our last Join(*,G), so that the Prune names it too after RP(G) changed.
    pub(crate) joined_rp: Option<A::Addr>,
    pub(crate) watched: Vec<A::Addr>,
    /// The Join Timer's deadline ([`Timer::Join`] is kept in the record).
    pub(crate) join_timer: Option<Instant>,
    /// The (*,G) mroute intent last output.
    pub(crate) intent: Option<StoredIntent>,
}

/// Per-(S,G) state: upstream (S,G) and (S,G,rpt) machines, SPT bit and register state.
#[derive(Debug, Clone)]
pub(crate) struct SourceEntry<A: Afi> {
    pub(crate) upstream: UpstreamState,
    pub(crate) rpf_prime: Option<UpstreamNeighbor<A>>,
    pub(crate) spt_bit: bool,
    pub(crate) rpt: RptUpstreamState,
    pub(crate) register: RegisterState,
    /// The RP the register tunnel points at.
    pub(crate) register_rp: Option<A::Addr>,
    /// The addresses whose RPF this entry watches: S, and the RP when it is another router.
    pub(crate) watched: SmallVec<[A::Addr; 2]>,
    /// The Join Timer's deadline ([`Timer::Join`] is kept in the record).
    pub(crate) join_timer: Option<Instant>,
    /// Downstream (S,G) states by interface (§4.5.2).
    pub(crate) downstream: VecMap<IfIndex, DownstreamEntry<A>>,
    /// A Keepalive or data-timeout timer was armed for this entry: most entries, created by
    /// Joins, never see either, and skip looking them up.
    pub(crate) data_timers: bool,
    /// The (S,G) mroute intent last output.
    pub(crate) intent: Option<StoredIntent>,
    /// Queued in `dirty_sources` and not evaluated since.
    pub(crate) dirty: bool,
}

impl<A: Afi> SourceEntry<A> {
    fn new() -> Self {
        SourceEntry {
            upstream: UpstreamState::NotJoined,
            rpf_prime: None,
            spt_bit: false,
            rpt: RptUpstreamState::RptNotJoined,
            register: RegisterState::NoInfo,
            register_rp: None,
            watched: SmallVec::new(),
            join_timer: None,
            downstream: VecMap::default(),
            data_timers: false,
            intent: None,
            dirty: false,
        }
    }
}

type BoxedSourceEntry<A> = Box<SourceEntry<A>>;

/// Join/Prune entries queued for one upstream neighbour: per group, per entry (0 = (*,G) with the
/// RP as address, 1 = (S,G), 2 = (S,G,rpt)), whether it is a join, and its encoding.
type PendingGroups<A> = BTreeMap<<A as Afi>::Addr, BTreeMap<(u8, <A as Afi>::Key), (bool, EncodedSource<A>)>>;

/// An [`MrouteIntent`] as the router keeps it, the last one output for its key: without the key
/// (its entry has it) and with up to two outgoing interfaces inline rather than in a `BTreeMap`
/// node of its own, which at 100,000 (S,G) entries was most of an intent's memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredIntent {
    pub(crate) iif: Option<IfIndex>,
    oifs: SmallVec<[(IfIndex, OifReason); 2]>,
    register: bool,
    spt: bool,
}

impl StoredIntent {
    fn new<A: Afi>(intent: &MrouteIntent<A>) -> Self {
        StoredIntent {
            iif: intent.iif,
            oifs: intent.oifs.iter().map(|(i, reason)| (*i, *reason)).collect(),
            register: intent.register,
            spt: intent.spt,
        }
    }

    /// The intent for `key`.
    pub(crate) fn intent<A: Afi>(&self, key: SgKey<A>) -> MrouteIntent<A> {
        MrouteIntent {
            key,
            iif: self.iif,
            oifs: self.oifs.iter().copied().collect(),
            register: self.register,
            spt: self.spt,
        }
    }
}

/// A PIM-SM / SSM router for one address family.
#[derive(Debug)]
pub struct PimRouter<A: Afi> {
    pub(crate) config: PimConfig,
    pub(crate) rng: SplitMix64,
    pub(crate) interfaces: BTreeMap<IfIndex, Interface<A>>,
    pub(crate) neighbors: BTreeMap<(IfIndex, A::Addr), Neighbor<A>>,
    pub(crate) rps: PrefixTable<A, A::Addr>,
    pub(crate) ssm_ranges: Vec<A::Prefix>,
    /// RPF answers by target, hashed: an evaluation asks for RPF(S) several times.
    pub(crate) rpf: FxHashMap<A::Addr, RpfUpdate<A>>,
    pub(crate) watch_refs: BTreeMap<A::Addr, usize>,
    pub(crate) members: BTreeMap<(A::Addr, IfIndex), SourceFilter<A>>,
    /// Downstream (*,G) states by G, then I; (S,G) states live in their [`SourceEntry`].
    pub(crate) star_g_downstream: FxHashMap<A::Addr, VecMap<IfIndex, DownstreamEntry<A>>>,
    /// Downstream (S,G,rpt) states by (G, S, I).
    pub(crate) rpt_downstream: BTreeMap<(A::Addr, A::Addr, IfIndex), RptDownstreamState>,
    pub(crate) per_interface: BTreeMap<IfIndex, usize>,
    pub(crate) per_neighbor: BTreeMap<(IfIndex, A::Addr), usize>,
    pub(crate) groups: BTreeMap<A::Addr, GroupEntry<A>>,
    /// (S,G) entries by (G, S), hashed: an entry is looked up a dozen times per evaluation. Boxed:
    /// growing the table moves pointers, not entries.
    pub(crate) sources: FxHashMap<(A::Addr, A::Addr), BoxedSourceEntry<A>>,
    /// The keys of `sources` by group: a group's sources in order, and the groups with any.
    pub(crate) sources_by_group: PairIndex<A>,
    /// The keys of `sources` as (S, G), so that a route change finds its entries directly.
    pub(crate) sources_by_source: PairIndex<A>,
    pub(crate) timers: TimerQueue<Timer<A>>,
    pub(crate) dirty: BTreeSet<A::Addr>,
    /// (G, S) entries to re-evaluate on their own, when their group is not dirty as a whole, in
    /// the order they were marked; an existing entry is queued once (`SourceEntry::dirty`).
    pub(crate) dirty_sources: Vec<(A::Addr, A::Addr)>,
    pub(crate) pending: BTreeMap<(IfIndex, A::Addr), PendingGroups<A>>,
    pub(crate) counters: BTreeMap<DropReason, u64>,
    /// Data arrivals (G, S) → incoming interface waiting for the RPF answer for S.
    pub(crate) pending_arrivals: BTreeMap<(A::Addr, A::Addr), IfIndex>,
    /// Assert state that is not NoInfo, by (G, S, I).
    pub(crate) asserts: BTreeMap<AssertKey<A>, AssertEntry<A>>,
    /// Entries (G, S) whose RPF' may have changed because of an Assert since they were last
    /// evaluated (§4.5.4, §4.5.5: "RPF' changes due to an Assert").
    pub(crate) assert_rpf_changed: BTreeSet<(A::Addr, Option<A::Addr>)>,
    /// SPT policies per group range ([`Input::SptPolicies`]).
    pub(crate) spt_policies: PrefixTable<A, SptPolicy>,
    /// Last byte count and its time per (G, S), for sources under a rate-threshold policy.
    pub(crate) rate_samples: BTreeMap<(A::Addr, A::Addr), (u64, Instant)>,
    /// (G, S) whose rate exceeded their threshold: SwitchToSptDesired stays true.
    pub(crate) spt_rate_exceeded: BTreeSet<(A::Addr, A::Addr)>,
    /// Whether state changes are output as [`PimEvent::StateChanged`].
    state_events: bool,
}

impl<A: Afi> PimRouter<A> {
    /// A router with no interfaces; `seed` drives Generation IDs and jitter.
    pub fn new(config: PimConfig, seed: u64) -> Self {
        PimRouter {
            config,
            rng: SplitMix64::new(seed),
            interfaces: BTreeMap::new(),
            neighbors: BTreeMap::new(),
            rps: PrefixTable::new(),
            ssm_ranges: vec![A::DEFAULT_SSM_RANGE],
            rpf: FxHashMap::default(),
            watch_refs: BTreeMap::new(),
            members: BTreeMap::new(),
            star_g_downstream: FxHashMap::default(),
            rpt_downstream: BTreeMap::new(),
            per_interface: BTreeMap::new(),
            per_neighbor: BTreeMap::new(),
            groups: BTreeMap::new(),
            sources: FxHashMap::default(),
            sources_by_group: PairIndex::default(),
            sources_by_source: PairIndex::default(),
            timers: TimerQueue::new(),
            dirty: BTreeSet::new(),
            dirty_sources: Vec::new(),
            pending: BTreeMap::new(),
            counters: BTreeMap::new(),
            pending_arrivals: BTreeMap::new(),
            asserts: BTreeMap::new(),
            assert_rpf_changed: BTreeSet::new(),
            spt_policies: PrefixTable::new(),
            rate_samples: BTreeMap::new(),
            spt_rate_exceeded: BTreeSet::new(),
            state_events: true,
        }
    }

    /// The router-wide configuration.
    pub fn config(&self) -> &PimConfig {
        &self.config
    }

    /// Whether PIM keeps any state for `group`: membership, (*,G), (S,G), (S,G,rpt) or Assert.
    /// The router stops handing PIM the RP of a group it keeps nothing for.
    pub fn holds_group(&self, group: A::Addr) -> bool {
        let (low, high) = (IfIndex(0), IfIndex(u32::MAX));
        self.groups.contains_key(&group)
            || self.sources_by_group.contains_first(group)
            || self.members.range((group, low)..=(group, high)).next().is_some()
            || self.star_g_downstream.contains_key(&group)
            || self
                .rpt_downstream
                .range((group, A::UNSPECIFIED, low)..)
                .next()
                .is_some_and(|((g, ..), _)| *g == group)
            || self.asserts.range((group, None, low)..).next().is_some_and(|((g, ..), _)| *g == group)
    }

    /// The next instant [`on_timeout`](Self::on_timeout) has work to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Processes one input.
    pub fn handle(&mut self, now: Instant, input: Input<A>, out: &mut Vec<Output<A>>) {
        match input {
            Input::InterfaceUp { ifindex, primary, secondary, config } => {
                self.interface_up(now, ifindex, primary, secondary, config, out)
            }
            Input::InterfaceDown { ifindex } => self.interface_down(now, ifindex, out),
            Input::InterfaceAddresses { ifindex, primary, secondary } => {
                self.interface_addresses(now, ifindex, primary, secondary, out)
            }
            Input::Received { ifindex, source, destination, message } => {
                self.receive(now, ifindex, source, destination, message, out)
            }
            Input::NoCache { iif, source, group } => self.data_arrived(now, iif, source, group, out),
            Input::WrongVif { iif, source, group } => {
                self.assert_data_arrived(now, iif, source, group, out);
                self.data_arrived(now, iif, source, group, out)
            }
            Input::ByteCounts(counts) => self.byte_counts(now, &counts),
            Input::SptPolicies(policies) => {
                self.spt_policies = PrefixTable::new();
                for (range, policy) in policies {
                    self.spt_policies.insert(range, policy);
                }
                self.mark_all_dirty();
            }
            Input::WholePacket { source, group, packet } => self.whole_packet(source, group, packet, out),
            Input::TrafficSeen { source, group } => self.traffic_seen(now, source, group, out),
            Input::Rpf(update) => {
                let target = update.target;
                if self.rpf.get(&target) != Some(&update) {
                    self.rpf.insert(target, update);
                    self.mark_dirty_using(target);
                }
                let waiting: Vec<_> =
                    self.pending_arrivals.keys().filter(|(_, s)| *s == target).copied().collect();
                for (group, source) in waiting {
                    if let Some(iif) = self.pending_arrivals.remove(&(group, source)) {
                        self.data_arrived(now, iif, source, group, out);
                    }
                }
            }
            Input::Membership(m) => {
                match m.filter {
                    SourceFilter::Include(ref s) if s.is_empty() => {
                        self.members.remove(&(m.group, m.ifindex));
                    }
                    filter => {
                        self.members.insert((m.group, m.ifindex), filter);
                    }
                }
                self.dirty.insert(m.group);
            }
            Input::StaticRp { range, rp } => {
                match rp {
                    Some(rp) => self.rps.insert(range, rp),
                    None => self.rps.remove(&range),
                };
                // A host-length range concerns its one group (the router hands RPs over per group).
                match A::prefix_parts(&range) {
                    (group, len) if len == A::MAX_PREFIX_LEN => {
                        self.dirty.insert(group);
                    }
                    _ => self.mark_all_dirty(),
                }
            }
            Input::SsmRanges(ranges) => {
                self.ssm_ranges = ranges;
                self.mark_all_dirty();
            }
            Input::Shutdown => {
                let ifindexes: Vec<IfIndex> = self.interfaces.keys().copied().collect();
                for ifindex in ifindexes {
                    self.send_hello(ifindex, true, out);
                }
            }
        }
        self.finish(now, out);
    }

    /// Runs every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        while let Some((timer, deadline)) = self.timers.pop_expired(now) {
            if self.record_timer_due(&timer, deadline) {
                self.timer_expired(now, timer, out);
            }
        }
        self.finish(now, out);
    }

    fn timer_expired(&mut self, now: Instant, timer: Timer<A>, out: &mut Vec<Output<A>>) {
        use crate::fsm::downstream::{DownstreamEvent as DE, RptDownstreamEvent as RE};
        use crate::fsm::register::RegisterEvent;
        use crate::fsm::upstream::{RptUpstreamEvent, UpstreamEvent};
        match timer {
            Timer::Hello(ifindex) => self.hello_timer(now, ifindex, out),
            Timer::Neighbor(ifindex, addr) => {
                self.neighbor_down(now, ifindex, addr, crate::io::NeighborDownReason::Expired, out)
            }
            Timer::Assert(g, s, i) => self.assert_event(
                now,
                g,
                s,
                i,
                crate::fsm::assert::AssertEvent::AssertTimerExpires,
                None,
                A::UNSPECIFIED,
                out,
            ),
            Timer::Expiry(g, s, i) => {
                self.downstream_event(now, g, s, i, DE::ExpiryTimerExpires, None, None, out)
            }
            Timer::PrunePending(g, s, i) => {
                self.downstream_event(now, g, s, i, DE::PrunePendingTimerExpires, None, None, out)
            }
            Timer::RptExpiry(g, s, i) => {
                self.rpt_downstream_event(now, g, s, i, RE::ExpiryTimerExpires, None, out)
            }
            Timer::RptPrunePending(g, s, i) => {
                self.rpt_downstream_event(now, g, s, i, RE::PrunePendingTimerExpires, None, out)
            }
            Timer::Join(g, None) => {
                self.star_g_event(now, g, UpstreamEvent::JoinTimerExpires, None, None, out)
            }
            Timer::Join(g, Some(s)) => {
                self.sg_event(now, g, s, UpstreamEvent::JoinTimerExpires, None, None, out)
            }
            Timer::Override(g, s) => self.rpt_event(now, g, s, RptUpstreamEvent::OverrideTimerExpires, out),
            Timer::Keepalive(g, _) | Timer::DataTimeout(g, _) => {
                self.dirty.insert(g);
            }
            Timer::RegisterStop(g, s) => {
                self.register_event(now, g, s, RegisterEvent::RegisterStopTimerExpires, out)
            }
        }
    }

    /// Counts and logs dropped input.
    pub(crate) fn drop_input(
        &mut self,
        reason: DropReason,
        ifindex: Option<IfIndex>,
        source: Option<A::Addr>,
        out: &mut Vec<Output<A>>,
    ) {
        *self.counters.entry(reason).or_insert(0) += 1;
        out.push(Output::Event(PimEvent::Dropped { reason, ifindex, source }));
    }

    /// Whether state changes are output as events (on by default). Off, 100,000 new (S,G)
    /// entries cost no 200,000 events that nobody prints.
    pub fn set_state_events(&mut self, on: bool) {
        self.state_events = on;
    }

    /// Logs a state change (nothing when `from == to`, so that refreshes cost no formatting).
    pub(crate) fn log_state(
        &self,
        key: SgKey<A>,
        ifindex: Option<IfIndex>,
        from: MachineState,
        to: MachineState,
        out: &mut Vec<Output<A>>,
    ) {
        if from != to && self.state_events {
            out.push(Output::Event(PimEvent::StateChanged { key, ifindex, from, to }));
        }
    }

    /// Marks every group with any state for re-evaluation (after RPF, neighbour, DR or RP changes).
    pub(crate) fn mark_all_dirty(&mut self) {
        let groups: Vec<A::Addr> = self
            .groups
            .keys()
            .copied()
            .chain(self.sources.keys().map(|(g, _)| *g))
            .chain(self.star_g_downstream.keys().copied())
            .chain(self.members.keys().map(|(g, _)| *g))
            .collect();
        self.dirty.extend(groups);
    }

    /// Marks what depends on the RPF of `target`: whole groups whose RP it is, and the (S,G)
    /// entries with `target` as their source (only those, not their groups' other sources).
    fn mark_dirty_using(&mut self, target: A::Addr) {
        let by_rp: Vec<A::Addr> = self
            .groups
            .keys()
            .copied()
            .chain(self.sources_by_group.firsts().filter(|g| !self.groups.contains_key(g)))
            .filter(|g| self.rp_for(*g) == Some(target))
            .collect();
        self.dirty.extend(by_rp);
        let by_source: Vec<A::Addr> = self.sources_by_source.seconds(target).collect();
        for group in by_source {
            self.mark_dirty_source(group, target);
        }
    }

    /// Marks what depends on I_am_DR(`ifindex`): groups with local members or Assert state there
    /// (pim_include, AssertTrackingDesired) and entries whose RPF target is reached through it
    /// (CouldRegister).
    pub(crate) fn mark_dirty_dr(&mut self, ifindex: IfIndex) {
        let by_member: Vec<A::Addr> =
            self.members.keys().filter(|(_, i)| *i == ifindex).map(|(g, _)| *g).collect();
        let by_assert: Vec<A::Addr> =
            self.asserts.keys().filter(|(_, _, i)| *i == ifindex).map(|(g, _, _)| *g).collect();
        self.dirty.extend(by_member.into_iter().chain(by_assert));
        self.mark_dirty_interface(ifindex);
    }

    /// Marks what depends on the neighbours of `ifindex`: the entries whose RPF target (source or
    /// RP) is reached through it, since NBR(I, next hop) may have changed.
    pub(crate) fn mark_dirty_interface(&mut self, ifindex: IfIndex) {
        let mut targets: Vec<A::Addr> =
            self.rpf.iter().filter(|(_, r)| r.interface == Some(ifindex)).map(|(t, _)| *t).collect();
        targets.sort_unstable();
        for target in targets {
            self.mark_dirty_using(target);
        }
    }

    /// Holds an RPF watch on each address of `wanted`, releasing those of `held` no longer wanted.
    pub(crate) fn rewatch(&mut self, held: &[A::Addr], wanted: &[A::Addr], out: &mut Vec<Output<A>>) {
        for addr in wanted.iter().filter(|a| !held.contains(a)) {
            let refs = self.watch_refs.entry(*addr).or_insert(0);
            *refs += 1;
            if *refs == 1 {
                out.push(Output::WatchRpf(*addr));
            }
        }
        for addr in held.iter().filter(|a| !wanted.contains(a)) {
            if let Some(refs) = self.watch_refs.get_mut(addr) {
                *refs = refs.saturating_sub(1);
                if *refs == 0 {
                    self.watch_refs.remove(addr);
                    self.rpf.remove(addr);
                    out.push(Output::UnwatchRpf(*addr));
                }
            }
        }
    }

    /// The downstream states of (G, S or *) by interface.
    fn downstream_states(
        &self,
        group: A::Addr,
        source: Option<A::Addr>,
    ) -> Option<&VecMap<IfIndex, DownstreamEntry<A>>> {
        match source {
            None => self.star_g_downstream.get(&group),
            Some(source) => self.sources.get(&(group, source)).map(|e| &e.downstream),
        }
    }

    fn downstream_states_mut(
        &mut self,
        group: A::Addr,
        source: Option<A::Addr>,
    ) -> Option<&mut VecMap<IfIndex, DownstreamEntry<A>>> {
        match source {
            None => self.star_g_downstream.get_mut(&group),
            Some(source) => self.sources.get_mut(&(group, source)).map(|e| &mut e.downstream),
        }
    }

    /// The downstream state of (G, S or *) on `ifindex`.
    pub(crate) fn downstream_state(
        &self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
    ) -> Option<&DownstreamEntry<A>> {
        self.downstream_states(group, source)?.get(&ifindex)
    }

    pub(crate) fn downstream_state_mut(
        &mut self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
    ) -> Option<&mut DownstreamEntry<A>> {
        self.downstream_states_mut(group, source)?.get_mut(&ifindex)
    }

    /// Stores a new downstream state; an (S,G) state needs its entry ([`Self::ensure_source`]).
    pub(crate) fn insert_downstream(
        &mut self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
        state: DownstreamEntry<A>,
    ) {
        let states = match source {
            None => Some(self.star_g_downstream.entry(group).or_default()),
            Some(source) => self.sources.get_mut(&(group, source)).map(|e| &mut e.downstream),
        };
        if let Some(states) = states {
            states.insert(ifindex, state);
        }
    }

    /// Removes the downstream state of (G, S or *) on `ifindex`, dropping a (*,G) map once it is
    /// empty; returns the state removed.
    pub(crate) fn take_downstream(
        &mut self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
    ) -> Option<DownstreamEntry<A>> {
        let states = self.downstream_states_mut(group, source)?;
        let taken = states.remove(&ifindex);
        if source.is_none() && states.is_empty() {
            self.star_g_downstream.remove(&group);
        }
        taken
    }

    /// The interfaces with downstream state for (G, S or *), in order.
    pub(crate) fn downstream_of(
        &self,
        group: A::Addr,
        source: Option<A::Addr>,
    ) -> impl Iterator<Item = (IfIndex, &DownstreamEntry<A>)> + '_ {
        self.downstream_states(group, source).into_iter().flat_map(|m| m.iter().map(|(i, e)| (*i, e)))
    }

    /// Every downstream (*,G) and (S,G) state as (G, S or None, I, state), in no order.
    pub(crate) fn all_downstream(
        &self,
    ) -> impl Iterator<Item = (A::Addr, Option<A::Addr>, IfIndex, &DownstreamEntry<A>)> + '_ {
        let star_g =
            self.star_g_downstream.iter().flat_map(|(g, m)| m.iter().map(move |(i, e)| (*g, None, *i, e)));
        let sg = self
            .sources
            .iter()
            .flat_map(|((g, s), entry)| entry.downstream.iter().map(move |(i, e)| (*g, Some(*s), *i, e)));
        star_g.chain(sg)
    }

    /// The sources of `group`'s (S,G) entries, in order.
    pub(crate) fn group_sources(&self, group: A::Addr) -> impl Iterator<Item = A::Addr> + '_ {
        self.sources_by_group.seconds(group)
    }

    /// Total (*,G) and (S,G) entries, for the global limit.
    pub(crate) fn entry_count(&self) -> usize {
        self.groups.len() + self.sources.len()
    }

    /// Creates the (S,G) entry if the global limit allows; returns whether it exists.
    pub(crate) fn ensure_source(
        &mut self,
        group: A::Addr,
        source: A::Addr,
        out: &mut Vec<Output<A>>,
    ) -> bool {
        if self.sources.contains_key(&(group, source)) {
            return true;
        }
        if self.entry_count() >= self.config.max_entries {
            self.drop_input(DropReason::LimitGlobal, None, Some(source), out);
            return false;
        }
        self.sources.insert((group, source), Box::new(SourceEntry::new()));
        self.sources_by_group.insert(group, source);
        self.sources_by_source.insert(source, group);
        self.mark_dirty_source(group, source);
        true
    }

    /// Creates the (*,G) entry if the global limit allows; returns whether it exists.
    pub(crate) fn ensure_group(&mut self, group: A::Addr, out: &mut Vec<Output<A>>) -> bool {
        if self.groups.contains_key(&group) {
            return true;
        }
        if self.entry_count() >= self.config.max_entries {
            self.drop_input(DropReason::LimitGlobal, None, None, out);
            return false;
        }
        self.groups.insert(
            group,
            GroupEntry {
                upstream: UpstreamState::NotJoined,
                rpf_prime: None,
                joined_rp: None,
                watched: Vec::new(),
                join_timer: None,
                intent: None,
            },
        );
        self.dirty.insert(group);
        true
    }

    /// Marks (*,G) (`source` None: the whole group, since every (S,G) inherits from it) or one
    /// (S,G) entry for re-evaluation: the (S,G) and (S,G,rpt) machines of one source depend on
    /// that source's state and the group's, never on another source's.
    pub(crate) fn mark_dirty_entry(&mut self, group: A::Addr, source: Option<A::Addr>) {
        match source {
            None => {
                self.dirty.insert(group);
            }
            Some(source) => self.mark_dirty_source(group, source),
        }
    }

    /// Queues one (S,G) entry for re-evaluation, once while it waits.
    pub(crate) fn mark_dirty_source(&mut self, group: A::Addr, source: A::Addr) {
        if let Some(entry) = self.sources.get_mut(&(group, source)) {
            if entry.dirty {
                return;
            }
            entry.dirty = true;
        }
        self.dirty_sources.push((group, source));
    }

    /// Re-evaluates dirty groups, emits changed intents and flushes queued Join/Prune entries.
    pub(crate) fn finish(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        // Re-evaluation may dirty groups again (e.g. a register state change); bound the rounds.
        for _ in 0..4 {
            let dirty = std::mem::take(&mut self.dirty);
            let mut dirty_sources = std::mem::take(&mut self.dirty_sources);
            if dirty.is_empty() && dirty_sources.is_empty() {
                break;
            }
            for group in &dirty {
                self.refresh_group(now, *group, out);
            }
            for (group, source) in dirty_sources.drain(..) {
                // Skipped when its group is evaluated as a whole, or it was evaluated since it was
                // queued (an entry that no longer exists is evaluated once more, to withdraw it).
                let evaluated = self.sources.get(&(group, source)).is_some_and(|e| !e.dirty);
                if !dirty.contains(&group) && !evaluated {
                    self.refresh_one_source(now, group, source, out);
                }
            }
            // Keeps the queue's capacity for the next input.
            if self.dirty_sources.is_empty() {
                self.dirty_sources = dirty_sources;
            }
        }
        self.flush_join_prune(out);
    }

    /// Queues one Join/Prune entry for `upstream` (aggregated in [`Self::flush_join_prune`]). A
    /// later entry for the same source replaces an earlier one of the opposite kind.
    pub(crate) fn queue_join_prune(
        &mut self,
        upstream: UpstreamNeighbor<A>,
        group: A::Addr,
        join: bool,
        source: EncodedSource<A>,
    ) {
        let kind = match (source.wildcard, source.rpt) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        };
        let address = if kind == 0 { A::UNSPECIFIED } else { source.source };
        self.pending
            .entry((upstream.ifindex, upstream.neighbor))
            .or_default()
            .entry(group)
            .or_default()
            .insert((kind, A::key(address)), (join, source));
    }

    fn flush_join_prune(&mut self, out: &mut Vec<Output<A>>) {
        let pending = std::mem::take(&mut self.pending);
        let holdtime = u16::try_from(self.config.join_prune_holdtime.as_secs()).unwrap_or(u16::MAX);
        for ((ifindex, neighbor), groups) in pending {
            let Some(max_len) = self.interfaces.get(&ifindex).map(|i| i.config.max_message_len) else {
                continue;
            };
            let sets = groups.into_iter().map(|(group, entries)| {
                let mut set = JoinPruneGroup {
                    group: EncodedGroup::host(group),
                    joins: Vec::new(),
                    prunes: Vec::new(),
                };
                for (_, (join, source)) in entries {
                    if join {
                        set.joins.push(source);
                    } else {
                        set.prunes.push(source);
                    }
                }
                set
            });
            match split_join_prune(neighbor, holdtime, sets, max_len) {
                Ok(messages) => out.extend(messages.into_iter().map(|m| Output::Send {
                    ifindex,
                    dst: A::ALL_PIM_ROUTERS,
                    message: PimMessage::JoinPrune(m),
                })),
                Err(_) => {
                    self.drop_input(DropReason::MessageSizeTooSmall, Some(ifindex), Some(neighbor), out)
                }
            }
        }
    }

    /// Sets `intent` for its key, emitting it if it changed.
    pub(crate) fn set_intent(
        &mut self,
        intent: Option<MrouteIntent<A>>,
        key: SgKey<A>,
        out: &mut Vec<Output<A>>,
    ) {
        // An intent exists only with its entry; removing the entry withdraws its intent.
        let slot = match key.source {
            Some(source) => self.sources.get_mut(&(key.group, source)).map(|e| &mut e.intent),
            None => self.groups.get_mut(&key.group).map(|e| &mut e.intent),
        };
        let Some(slot) = slot else { return };
        match intent {
            Some(intent) => {
                let stored = StoredIntent::new(&intent);
                if slot.as_ref() != Some(&stored) {
                    *slot = Some(stored);
                    out.push(Output::MrouteSet(intent));
                }
            }
            None => {
                if slot.take().is_some() {
                    out.push(Output::MrouteRemove(key));
                }
            }
        }
    }

    /// A random duration in `[0, high]` from the router's generator.
    pub(crate) fn jitter(&mut self, high: Duration) -> Duration {
        self.rng.up_to(high)
    }

    /// Arms `timer` at `now + after`.
    pub(crate) fn arm(&mut self, timer: Timer<A>, now: Instant, after: Duration) {
        self.arm_at(timer, now + after);
    }

    /// The deadline of a timer kept in its state's record (the Expiry and Join Timers, one or two
    /// per (S,G) entry; see [`Self::kept_in_record`]); `None` when it is not armed or the record
    /// is gone.
    fn record_deadline(&self, timer: &Timer<A>) -> Option<Instant> {
        match *timer {
            Timer::Expiry(g, s, i) => self.downstream_state(g, s, i)?.expiry,
            Timer::Join(g, None) => self.groups.get(&g)?.join_timer,
            Timer::Join(g, Some(s)) => self.sources.get(&(g, s))?.join_timer,
            _ => None,
        }
    }

    fn record_deadline_mut(&mut self, timer: &Timer<A>) -> Option<&mut Option<Instant>> {
        match *timer {
            Timer::Expiry(g, s, i) => self.downstream_state_mut(g, s, i).map(|e| &mut e.expiry),
            Timer::Join(g, None) => self.groups.get_mut(&g).map(|e| &mut e.join_timer),
            Timer::Join(g, Some(s)) => self.sources.get_mut(&(g, s)).map(|e| &mut e.join_timer),
            _ => None,
        }
    }

    fn kept_in_record(timer: &Timer<A>) -> bool {
        matches!(timer, Timer::Expiry(..) | Timer::Join(..))
    }

    /// Arms `timer` at `deadline`, replacing any deadline it had. A record-kept timer is
    /// scheduled only when it moves earlier: a later deadline is rescheduled when the earlier one
    /// comes ([`Self::record_timer_due`]), so a refresh costs a field write. Every armed
    /// record-kept timer thus has a scheduled deadline at or before its own.
    pub(crate) fn arm_at(&mut self, timer: Timer<A>, deadline: Instant) {
        if !Self::kept_in_record(&timer) {
            self.timers.arm(timer, deadline);
            return;
        }
        let Some(field) = self.record_deadline_mut(&timer) else { return };
        if field.replace(deadline).map_or(true, |old| deadline < old) {
            self.timers.schedule(timer, deadline);
        }
    }

    pub(crate) fn cancel_timer(&mut self, timer: &Timer<A>) {
        if !Self::kept_in_record(timer) {
            self.timers.cancel(timer);
        } else if let Some(field) = self.record_deadline_mut(timer) {
            *field = None;
        }
    }

    pub(crate) fn timer_deadline(&self, timer: &Timer<A>) -> Option<Instant> {
        if Self::kept_in_record(timer) {
            self.record_deadline(timer)
        } else {
            self.timers.deadline(timer)
        }
    }

    /// Time left until `timer` expires, for displays.
    pub(crate) fn timer_remaining(&self, timer: &Timer<A>, now: Instant) -> Option<Duration> {
        self.timer_deadline(timer).map(|t| t.saturating_since(now))
    }

    /// Whether a popped `deadline` of `timer` is due: always for queue-kept timers; for a
    /// record-kept one only when it is the record's deadline (which it clears), and a record
    /// extended since is scheduled again at its new deadline.
    fn record_timer_due(&mut self, timer: &Timer<A>, deadline: Instant) -> bool {
        if !Self::kept_in_record(timer) {
            return true;
        }
        let Some(field) = self.record_deadline_mut(timer) else { return false };
        match *field {
            Some(due) if due == deadline => {
                *field = None;
                true
            }
            Some(later) if later > deadline => {
                self.timers.schedule(timer.clone(), later);
                false
            }
            _ => false,
        }
    }

    /// Arms an (S,G) entry's Keepalive or data-timeout `timer`, noting it in the entry.
    pub(crate) fn arm_data_timer(&mut self, timer: Timer<A>, now: Instant, after: Duration) {
        if let Timer::Keepalive(group, source) | Timer::DataTimeout(group, source) = timer {
            if let Some(entry) = self.sources.get_mut(&(group, source)) {
                entry.data_timers = true;
            }
        }
        self.arm(timer, now, after);
    }

    /// Whether `timer` is pending; an (S,G) entry's Keepalive or data-timeout timer is looked up
    /// only when the entry notes one was armed.
    pub(crate) fn data_timer_running(&self, timer: Timer<A>) -> bool {
        let noted = match timer {
            Timer::Keepalive(group, source) | Timer::DataTimeout(group, source) => {
                self.sources.get(&(group, source)).is_some_and(|e| e.data_timers)
            }
            _ => true,
        };
        noted && self.timers.deadline(&timer).is_some()
    }
}
