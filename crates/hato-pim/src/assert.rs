//! PIM Assert (RFC 7761 §4.6): choosing a single forwarder on a multi-access link. Assert metrics
//! and their order (§4.6.1), the macros CouldAssert and AssertTrackingDesired (§4.6.1, §4.6.2),
//! `lost_assert` and the Assert winner as RPF' (§4.6.5), and the glue that feeds the per-interface
//! machines of [`crate::fsm::assert`]: received Asserts, data arriving on an outgoing interface
//! (a WRONGVIF upcall), Assert Timers, the winner's neighbour expiring, Joins, and the "becomes
//! false" conditions re-evaluated with the group.
//!
//! Assert state is kept only while it is not NoInfo, so it costs nothing per (S,G) entry.

use std::cmp::Reverse;
use std::fmt;

use hato_core::{Afi, IfIndex, Instant, SgKey};
use hato_wire::pim::{Assert, EncodedGroup, PimMessage, MAX_METRIC_PREFERENCE};
use serde::Serialize;

use crate::config::AssertMetrics;
use crate::fsm::assert::{self, AssertAction, AssertEvent, AssertState};
use crate::fsm::upstream::UpstreamState;
use crate::io::{DropReason, MachineState, Output};
use crate::router::{PimRouter, Timer};

/// An Assert metric (§4.6.1): the RPT bit, the route's preference and metric, and the sender's
/// address. Lower is better for the first three, higher for the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct AssertMetric<A: Afi> {
    pub rpt: bool,
    pub preference: u32,
    pub metric: u32,
    pub address: A::Addr,
}

impl<A: Afi> AssertMetric<A> {
    /// `infinite_assert_metric()`: {1, ∞, ∞, 0}, the metric of an AssertCancel.
    pub fn infinite() -> Self {
        AssertMetric {
            rpt: true,
            preference: MAX_METRIC_PREFERENCE,
            metric: u32::MAX,
            address: A::UNSPECIFIED,
        }
    }

    /// Whether this is the infinite metric (whatever the address).
    pub fn is_infinite(&self) -> bool {
        self.rpt && self.preference == MAX_METRIC_PREFERENCE && self.metric == u32::MAX
    }

    fn rank(&self) -> (bool, u32, u32, Reverse<A::Addr>) {
        (self.rpt, self.preference, self.metric, Reverse(self.address))
    }

    /// The comparison of §4.6.1: RPT bit clear wins, then lower preference, then lower metric,
    /// then higher address. Nothing is better than another infinite metric.
    pub fn is_better_than(&self, other: &Self) -> bool {
        if self.is_infinite() {
            return false;
        }
        self.rank() < other.rank()
    }

    fn of_message(message: &Assert<A>, sender: A::Addr) -> Self {
        AssertMetric {
            rpt: message.rpt,
            preference: message.metric_preference,
            metric: message.metric,
            address: sender,
        }
    }
}

impl<A: Afi> fmt::Display for AssertMetric<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", u8::from(self.rpt), self.preference, self.metric)?;
        write!(f, " {}", self.address)
    }
}

/// Assert state of (S,G) (source `Some`) or (*,G) on one interface, kept while not NoInfo.
#[derive(Debug, Clone)]
pub(crate) struct AssertEntry<A: Afi> {
    pub(crate) state: AssertState,
    /// AssertWinner: ourselves (our address on the interface) or the winning neighbour.
    pub(crate) winner: A::Addr,
    pub(crate) winner_metric: AssertMetric<A>,
    /// (*,G): the source named in our Asserts (the last data packet's or Assert's source).
    pub(crate) named_source: A::Addr,
    /// Whether the interface was the entry's RPF interface when this state was created.
    pub(crate) on_rpf_interface: bool,
}

/// Assert state keyed by (G, S, I); S is `None` for (*,G).
pub(crate) type AssertKey<A> = (<A as Afi>::Addr, Option<<A as Afi>::Addr>, IfIndex);

/// One interface's Assert state (`show pim assert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct AssertView<A: Afi> {
    pub key: SgKey<A>,
    pub ifindex: IfIndex,
    pub state: AssertState,
    pub winner: A::Addr,
    pub winner_metric: AssertMetric<A>,
    pub expires_in: Option<hato_core::Duration>,
}

impl<A: Afi> fmt::Display for AssertView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {:?} winner {} metric {}",
            self.key, self.ifindex, self.state, self.winner, self.winner_metric
        )?;
        match self.expires_in {
            Some(d) => write!(f, " expires {:.1}s", d.as_secs_f64()),
            None => Ok(()),
        }
    }
}

impl<A: Afi> PimRouter<A> {
    // ---- State lookups and the macros of §4.6.5 ----

    pub(crate) fn assert_state(
        &self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
    ) -> AssertState {
        self.asserts.get(&(group, source, ifindex)).map_or(AssertState::NoInfo, |e| e.state)
    }

    /// AssertWinner(S,G,I) / AssertWinner(*,G,I): `None` when there is no Assert state.
    fn assert_winner_of(&self, group: A::Addr, source: Option<A::Addr>, ifindex: IfIndex) -> Option<A::Addr> {
        self.asserts.get(&(group, source, ifindex)).map(|e| e.winner)
    }

    /// Whether AssertWinner(…, I) is this router.
    pub(crate) fn i_am_assert_winner(
        &self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
    ) -> bool {
        self.assert_state(group, source, ifindex) == AssertState::Winner
    }

    /// AssertWinner != NULL and != me.
    fn assert_won_by_other(&self, group: A::Addr, source: Option<A::Addr>, ifindex: IfIndex) -> bool {
        self.assert_state(group, source, ifindex) == AssertState::Loser
    }

    /// `lost_assert(*,G,I)` (§4.6.5): never on RPF_interface(RP(G)).
    pub(crate) fn lost_assert_star_g(&self, group: A::Addr, ifindex: IfIndex) -> bool {
        if self.asserts.is_empty()
            || self.rp_for(group).and_then(|rp| self.rpf_interface(rp)) == Some(ifindex)
        {
            return false;
        }
        self.assert_won_by_other(group, None, ifindex)
    }

    /// `lost_assert(S,G,I)` (§4.6.5): never on RPF_interface(S); the winner's metric must beat
    /// spt_assert_metric(S,I).
    pub(crate) fn lost_assert_sg(&self, source: A::Addr, group: A::Addr, ifindex: IfIndex) -> bool {
        let Some(entry) = self.asserts.get(&(group, Some(source), ifindex)) else { return false };
        if self.rpf_interface(source) == Some(ifindex) || entry.state != AssertState::Loser {
            return false;
        }
        entry.winner_metric.is_better_than(&self.spt_assert_metric(source, ifindex))
    }

    /// `lost_assert(S,G,rpt,I)` (§4.6.5): never on RPF_interface(RP(G)), nor on RPF_interface(S)
    /// with the SPT bit set; otherwise whether another router won the (S,G) Assert.
    pub(crate) fn lost_assert_sg_rpt(&self, source: A::Addr, group: A::Addr, ifindex: IfIndex) -> bool {
        if !self.assert_won_by_other(group, Some(source), ifindex) {
            return false;
        }
        let spt_bit = self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit);
        !(self.rp_for(group).and_then(|rp| self.rpf_interface(rp)) == Some(ifindex)
            || (self.rpf_interface(source) == Some(ifindex) && spt_bit))
    }

    /// `I_Am_Assert_Loser(S,G,I)` (§4.6.5).
    pub(crate) fn i_am_assert_loser_sg(&self, source: A::Addr, group: A::Addr, ifindex: IfIndex) -> bool {
        self.assert_won_by_other(group, Some(source), ifindex)
    }

    /// The Assert winner to use as RPF' for an entry whose upstream interface is `ifindex`
    /// (§4.5.4, §4.5.5, §4.5.7: "if I_Am_Assert_Loser(…, RPF_interface) then AssertWinner").
    pub(crate) fn assert_winner(
        &self,
        source: Option<A::Addr>,
        group: A::Addr,
        ifindex: IfIndex,
    ) -> Option<A::Addr> {
        if self.asserts.is_empty() || !self.assert_won_by_other(group, source, ifindex) {
            return None;
        }
        self.assert_winner_of(group, source, ifindex)
    }

    // ---- Metrics (§4.6.1, §4.6.2) ----

    /// The (preference, metric) of the route to `target` as asserted: 0 / 0 for a directly
    /// connected target, then the configured source of values; infinite without a route.
    fn route_metrics(&self, target: A::Addr) -> (u32, u32) {
        let Some(route) = self.rpf.get(&target).filter(|r| r.interface.is_some()) else {
            return (MAX_METRIC_PREFERENCE, u32::MAX);
        };
        if route.connected {
            return (0, 0);
        }
        match self.config.assert_metrics {
            AssertMetrics::FromRoute => (route.preference.min(MAX_METRIC_PREFERENCE), route.metric),
            AssertMetrics::Fixed { preference, metric } => (preference.min(MAX_METRIC_PREFERENCE), metric),
        }
    }

    fn my_address(&self, ifindex: IfIndex) -> A::Addr {
        self.interfaces.get(&ifindex).map_or(A::UNSPECIFIED, |i| i.primary)
    }

    /// `spt_assert_metric(S,I)` = {0, MRIB.pref(S), MRIB.metric(S), my_ip_address(I)}.
    pub(crate) fn spt_assert_metric(&self, source: A::Addr, ifindex: IfIndex) -> AssertMetric<A> {
        let (preference, metric) = self.route_metrics(source);
        AssertMetric { rpt: false, preference, metric, address: self.my_address(ifindex) }
    }

    /// `rpt_assert_metric(G,I)` = {1, MRIB.pref(RP(G)), MRIB.metric(RP(G)), my_ip_address(I)}.
    pub(crate) fn rpt_assert_metric(&self, group: A::Addr, ifindex: IfIndex) -> AssertMetric<A> {
        let (preference, metric) = match self.rp_for(group) {
            Some(_) if self.i_am_rp(group) => (0, 0),
            Some(rp) => self.route_metrics(rp),
            None => (MAX_METRIC_PREFERENCE, u32::MAX),
        };
        AssertMetric { rpt: true, preference, metric, address: self.my_address(ifindex) }
    }

    /// `my_assert_metric(S,G,I)`: SPT metric if CouldAssert(S,G,I), RPT metric if
    /// CouldAssert(*,G,I), else infinite. For (*,G) state (`source` None) the RPT metric.
    pub(crate) fn my_assert_metric(
        &self,
        source: Option<A::Addr>,
        group: A::Addr,
        ifindex: IfIndex,
    ) -> AssertMetric<A> {
        match source {
            Some(s) if self.could_assert_sg(s, group, ifindex) => self.spt_assert_metric(s, ifindex),
            _ if self.could_assert_star_g(group, ifindex) => self.rpt_assert_metric(group, ifindex),
            _ => AssertMetric::infinite(),
        }
    }

    // ---- CouldAssert and AssertTrackingDesired (§4.6.1, §4.6.2) ----

    /// The interface set shared by CouldAssert(S,G,I) and AssertTrackingDesired(S,G,I):
    /// `(joins(*,G) (-) prunes(S,G,rpt)) (+) (pim_include(*,G) (-) pim_exclude(S,G))
    /// (-) lost_assert(*,G) (+) joins(S,G)`, with pim_include(S,G) added when `include_sg`.
    fn in_sg_assert_set(&self, source: A::Addr, group: A::Addr, ifindex: IfIndex, include_sg: bool) -> bool {
        if self.joins_sg(source, group).contains(&ifindex)
            || (include_sg && self.pim_include_sg(source, group).contains(&ifindex))
        {
            return true;
        }
        if self.lost_assert_star_g(group, ifindex) {
            return false;
        }
        (self.joins_star_g(group).contains(&ifindex) && !self.prunes_sg_rpt(source, group).contains(&ifindex))
            || (self.pim_include_star_g(group).contains(&ifindex)
                && !self.pim_exclude_sg(source, group).contains(&ifindex))
    }

    /// `CouldAssert(S,G,I)` = SPTbit(S,G) AND RPF_interface(S) != I AND I in (the set above
    /// (+) pim_include(S,G)).
    pub(crate) fn could_assert_sg(&self, source: A::Addr, group: A::Addr, ifindex: IfIndex) -> bool {
        self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit)
            && self.rpf_interface(source) != Some(ifindex)
            && self.in_sg_assert_set(source, group, ifindex, true)
    }

    /// `CouldAssert(*,G,I)` = I in (joins(*,G) (+) pim_include(*,G)) AND RPF_interface(RP(G)) != I.
    pub(crate) fn could_assert_star_g(&self, group: A::Addr, ifindex: IfIndex) -> bool {
        let Some(rp) = self.rp_for(group) else { return false };
        self.rpf_interface(rp) != Some(ifindex)
            && (self.joins_star_g(group).contains(&ifindex)
                || self.pim_include_star_g(group).contains(&ifindex))
    }

    /// `AssertTrackingDesired(S,G,I)` (§4.6.1).
    pub(crate) fn assert_tracking_desired_sg(
        &self,
        source: A::Addr,
        group: A::Addr,
        ifindex: IfIndex,
    ) -> bool {
        let rpf_s = self.rpf_interface(source);
        let rp_iif = self.rp_for(group).and_then(|rp| self.rpf_interface(rp));
        let spt_bit = self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit);
        self.in_sg_assert_set(source, group, ifindex, false)
            || (self.local_receiver_include_sg(source, group).contains(&ifindex)
                && (self.i_am_dr(ifindex) || self.i_am_assert_winner(group, Some(source), ifindex)))
            || (rpf_s == Some(ifindex) && self.join_desired_sg(source, group))
            || (rp_iif == Some(ifindex) && self.join_desired_star_g(group) && !spt_bit)
    }

    /// `AssertTrackingDesired(*,G,I)` (§4.6.2).
    pub(crate) fn assert_tracking_desired_star_g(&self, group: A::Addr, ifindex: IfIndex) -> bool {
        let rp_iif = self.rp_for(group).and_then(|rp| self.rpf_interface(rp));
        self.could_assert_star_g(group, ifindex)
            || (self.local_receiver_include_star_g(group).contains(&ifindex)
                && (self.i_am_dr(ifindex) || self.i_am_assert_winner(group, None, ifindex)))
            || (rp_iif == Some(ifindex) && self.rpt_join_desired(group))
    }

    // ---- Inputs ----

    /// An Assert received on `ifindex` from `sender` (§4.6.1, §4.6.2). One with the RPT bit clear
    /// goes to the (S,G) machine; one with it set goes there too when (S,G) could assert or has
    /// Assert state, and to the (*,G) machine otherwise.
    pub(crate) fn receive_assert(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        sender: A::Addr,
        message: &Assert<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let group = message.group.group;
        if !A::is_multicast(group)
            || A::is_link_local_group(group)
            || message.group.mask_len != A::MAX_PREFIX_LEN
        {
            self.drop_input(DropReason::BadGroup, Some(ifindex), Some(sender), out);
            return;
        }
        let received = AssertMetric::of_message(message, sender);
        let cancel = message.is_cancel();
        let source = (message.source != A::UNSPECIFIED).then_some(message.source);
        let to_sg = match source {
            Some(s) if !message.rpt => Some(s),
            Some(s)
                if self.assert_state(group, Some(s), ifindex) != AssertState::NoInfo
                    || self.could_assert_sg(s, group, ifindex) =>
            {
                Some(s)
            }
            _ => None,
        };
        if to_sg.is_none() && !message.rpt {
            // An SPT Assert needs a source.
            self.drop_input(DropReason::BadAssert, Some(ifindex), Some(sender), out);
            return;
        }
        let key_source = to_sg;
        let state = self.assert_state(group, key_source, ifindex);
        let my = self.my_assert_metric(key_source, group, ifindex);
        let inferior = cancel || !received.is_better_than(&my);
        let could = match key_source {
            Some(s) => self.could_assert_sg(s, group, ifindex),
            None => self.could_assert_star_g(group, ifindex),
        };
        let event = match state {
            AssertState::NoInfo => {
                // §4.6.1 lists an inferior Assert with the RPT bit set; one with it clear means
                // the sender forwards a worse copy too, so it is answered the same way.
                if inferior && could && !cancel {
                    Some(AssertEvent::ReceiveInferiorAssert)
                } else if !inferior && message.rpt == key_source.is_none() {
                    let tracking = match key_source {
                        Some(s) => self.assert_tracking_desired_sg(s, group, ifindex),
                        None => self.assert_tracking_desired_star_g(group, ifindex),
                    };
                    tracking.then_some(AssertEvent::ReceiveAcceptableAssert)
                } else {
                    None
                }
            }
            AssertState::Winner => Some(if inferior {
                AssertEvent::ReceiveInferiorAssert
            } else {
                AssertEvent::ReceivePreferredAssert
            }),
            AssertState::Loser => {
                let entry = self.asserts.get(&(group, key_source, ifindex));
                let from_winner = entry.is_some_and(|e| e.winner == sender);
                let beats_winner = entry.is_some_and(|e| received.is_better_than(&e.winner_metric));
                match (from_winner, inferior) {
                    (true, true) => Some(AssertEvent::ReceiveInferiorAssertFromWinner),
                    (true, false) => Some(AssertEvent::ReceiveAcceptableAssertFromWinner),
                    (false, _) if beats_winner && !cancel => Some(AssertEvent::ReceivePreferredAssert),
                    (false, _) => None,
                }
            }
        };
        if let Some(event) = event {
            let named = source.unwrap_or(A::UNSPECIFIED);
            self.assert_event(now, group, key_source, ifindex, event, Some(received), named, out);
        }
    }

    /// Data arrived on `iif`, which is not the entry's incoming interface (a WRONGVIF upcall):
    /// the (S,G) machine if CouldAssert(S,G,iif), else the (*,G) one if CouldAssert(*,G,iif)
    /// and there is no (S,G) Assert state (§4.6.1, §4.6.2).
    pub(crate) fn assert_data_arrived(
        &mut self,
        now: Instant,
        iif: IfIndex,
        source: A::Addr,
        group: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        if !self.interfaces.contains_key(&iif) {
            return;
        }
        if self.could_assert_sg(source, group, iif) {
            self.assert_event(now, group, Some(source), iif, AssertEvent::DataArrives, None, source, out);
        } else if self.assert_state(group, Some(source), iif) == AssertState::NoInfo
            && self.could_assert_star_g(group, iif)
        {
            self.assert_event(now, group, None, iif, AssertEvent::DataArrives, None, source, out);
        }
    }

    /// A Join(S,G) or Join(*,G) addressed to us arrived on `ifindex`: a loser there stops losing.
    pub(crate) fn assert_join_received(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
        out: &mut Vec<Output<A>>,
    ) {
        if self.assert_state(group, source, ifindex) == AssertState::Loser {
            self.assert_event(
                now,
                group,
                source,
                ifindex,
                AssertEvent::ReceiveJoin,
                None,
                A::UNSPECIFIED,
                out,
            );
        }
    }

    /// A neighbour went away: every Assert it won against us ends.
    pub(crate) fn assert_neighbor_expired(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        neighbor: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        let lost: Vec<AssertKey<A>> = self
            .asserts
            .iter()
            .filter(|((_, _, i), e)| *i == ifindex && e.state == AssertState::Loser && e.winner == neighbor)
            .map(|(k, _)| *k)
            .collect();
        for (g, s, i) in lost {
            self.assert_event(now, g, s, i, AssertEvent::WinnerNeighborExpires, None, A::UNSPECIFIED, out);
        }
    }

    /// The interface went down: its Assert state goes without messages.
    pub(crate) fn assert_interface_down(&mut self, ifindex: IfIndex) {
        let gone: Vec<AssertKey<A>> =
            self.asserts.keys().filter(|(_, _, i)| *i == ifindex).copied().collect();
        for key in gone {
            self.asserts.remove(&key);
            self.cancel_timer(&Timer::Assert(key.0, key.1, key.2));
            self.assert_rpf_changed.insert((key.0, key.1));
            self.dirty.insert(key.0);
        }
    }

    /// Re-evaluates the "becomes false" conditions of the group's Assert machines (§4.6.1,
    /// §4.6.2): CouldAssert in Winner; AssertTrackingDesired, a better own metric and the RPF
    /// interface moving away in Loser.
    pub(crate) fn refresh_asserts(&mut self, now: Instant, group: A::Addr, out: &mut Vec<Output<A>>) {
        let keys: Vec<(AssertKey<A>, AssertState, AssertMetric<A>, bool)> = self
            .asserts
            .range((group, None, IfIndex(0))..)
            .take_while(|((g, _, _), _)| *g == group)
            .map(|(k, e)| (*k, e.state, e.winner_metric, e.on_rpf_interface))
            .collect();
        for ((g, s, i), state, winner_metric, on_rpf) in keys {
            let event = match state {
                AssertState::Winner => {
                    let could = match s {
                        Some(s) => self.could_assert_sg(s, g, i),
                        None => self.could_assert_star_g(g, i),
                    };
                    (!could).then_some(AssertEvent::CouldAssertFalse)
                }
                AssertState::Loser => {
                    let (tracking, rpf_iif) = match s {
                        Some(s) => (self.assert_tracking_desired_sg(s, g, i), self.rpf_interface(s)),
                        None => (
                            self.assert_tracking_desired_star_g(g, i),
                            self.rp_for(g).and_then(|rp| self.rpf_interface(rp)),
                        ),
                    };
                    if !tracking {
                        Some(AssertEvent::AssertTrackingDesiredFalse)
                    } else if self.my_assert_metric(s, g, i).is_better_than(&winner_metric) {
                        Some(AssertEvent::MyMetricBetterThanWinner)
                    } else if on_rpf && rpf_iif != Some(i) {
                        Some(AssertEvent::RpfInterfaceStopsBeingI)
                    } else {
                        None
                    }
                }
                AssertState::NoInfo => None,
            };
            if let Some(event) = event {
                self.assert_event(now, g, s, i, event, None, A::UNSPECIFIED, out);
            }
        }
    }

    /// Feeds one event to the Assert machine of (S,G) (`source` Some) or (*,G) on `ifindex` and
    /// carries out its actions. `received` is the metric of the Assert that caused the event;
    /// `named_source` the source to name in (*,G) Asserts.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn assert_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
        event: AssertEvent,
        received: Option<AssertMetric<A>>,
        named_source: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        let key = (group, source, ifindex);
        let state = self.assert_state(group, source, ifindex);
        let step = match source {
            Some(_) => assert::sg_transition(state, event),
            None => assert::star_g_transition(state, event),
        };
        let loser_before = self.asserts.get(&key).filter(|e| e.state == AssertState::Loser).map(|e| e.winner);
        let timer = Timer::Assert(group, source, ifindex);
        let rpf_iif = match source {
            Some(s) => self.rpf_interface(s),
            None => self.rp_for(group).and_then(|rp| self.rpf_interface(rp)),
        };
        let me = self.my_address(ifindex);
        let mut entry = self.asserts.remove(&key).unwrap_or(AssertEntry {
            state,
            winner: me,
            winner_metric: AssertMetric::infinite(),
            named_source: A::UNSPECIFIED,
            on_rpf_interface: rpf_iif == Some(ifindex),
        });
        if named_source != A::UNSPECIFIED {
            entry.named_source = named_source;
        }
        let mut keep = true;
        for action in step.actions {
            match action {
                AssertAction::SendAssert => {
                    let metric = self.my_assert_metric(source, group, ifindex);
                    let metric = if metric.is_infinite() { entry.winner_metric } else { metric };
                    let named = source.unwrap_or(entry.named_source);
                    self.send_assert(ifindex, group, named, metric, out);
                }
                AssertAction::SendAssertCancel => {
                    let named = source.unwrap_or(entry.named_source);
                    self.send_assert(ifindex, group, named, AssertMetric::infinite(), out);
                }
                AssertAction::SetTimerWinner => {
                    let t = self.config.assert_time.saturating_sub(self.config.assert_override_interval);
                    self.arm(timer.clone(), now, t);
                }
                AssertAction::SetTimerLoser => {
                    let t = self.config.assert_time;
                    self.arm(timer.clone(), now, t);
                }
                AssertAction::StoreSelfAsWinner => {
                    entry.winner = me;
                    entry.winner_metric = match source {
                        Some(s) => self.spt_assert_metric(s, ifindex),
                        None => self.rpt_assert_metric(group, ifindex),
                    };
                }
                AssertAction::StoreNewWinner => {
                    if let Some(m) = received {
                        entry.winner = m.address;
                        entry.winner_metric = m;
                    }
                }
                AssertAction::DeleteAssertInfo => {
                    self.cancel_timer(&timer);
                    keep = false;
                }
                AssertAction::SetSptBitIfUpstreamJoined => {
                    if let Some(s) = source {
                        if rpf_iif == Some(ifindex) {
                            if let Some(e) = self.sources.get_mut(&(group, s)) {
                                if e.upstream == UpstreamState::Joined {
                                    e.spt_bit = true;
                                }
                            }
                        }
                    }
                }
            }
        }
        let (from, to) = (MachineState::Assert(state), MachineState::Assert(step.next));
        self.log_state(SgKey { source, group }, Some(ifindex), from, to, out);
        entry.state = step.next;
        let loser_after = (keep && step.next == AssertState::Loser).then_some(entry.winner);
        if keep && step.next != AssertState::NoInfo {
            self.asserts.insert(key, entry);
        } else {
            self.cancel_timer(&timer);
        }
        if loser_before != loser_after {
            self.assert_rpf_changed.insert((group, source));
        }
        self.dirty.insert(group);
    }

    fn send_assert(
        &mut self,
        ifindex: IfIndex,
        group: A::Addr,
        source: A::Addr,
        metric: AssertMetric<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let message = Assert {
            group: EncodedGroup::host(group),
            source,
            rpt: metric.rpt,
            metric_preference: metric.preference.min(MAX_METRIC_PREFERENCE),
            metric: metric.metric,
        };
        out.push(Output::Send { ifindex, dst: A::ALL_PIM_ROUTERS, message: PimMessage::Assert(message) });
    }

    /// Assert state on every interface (`show pim assert`).
    pub fn asserts(&self, now: Instant) -> Vec<AssertView<A>> {
        self.asserts
            .iter()
            .map(|((g, s, i), e)| AssertView {
                key: SgKey { source: *s, group: *g },
                ifindex: *i,
                state: e.state,
                winner: e.winner,
                winner_metric: e.winner_metric,
                expires_in: self.timer_remaining(&Timer::Assert(*g, *s, *i), now),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use hato_core::V4;

    fn m(rpt: bool, preference: u32, metric: u32, address: &str) -> AssertMetric<V4> {
        AssertMetric { rpt, preference, metric, address: address.parse::<Ipv4Addr>().unwrap() }
    }

    #[test]
    fn comparison_rules_in_order() {
        // §4.6.1: RPT bit clear wins over any preference.
        assert!(m(false, 200, 9999, "198.18.0.1").is_better_than(&m(true, 0, 0, "198.18.0.9")));
        // Then lower preference.
        assert!(m(false, 100, 9999, "198.18.0.1").is_better_than(&m(false, 101, 0, "198.18.0.9")));
        // Then lower metric.
        assert!(m(false, 101, 10, "198.18.0.1").is_better_than(&m(false, 101, 11, "198.18.0.9")));
        // Then higher address.
        assert!(m(false, 101, 10, "198.18.0.9").is_better_than(&m(false, 101, 10, "198.18.0.1")));
        assert!(!m(false, 101, 10, "198.18.0.1").is_better_than(&m(false, 101, 10, "198.18.0.9")));
        // Nothing is better than itself, and the infinite metric beats nothing.
        let x = m(true, 5, 5, "198.18.0.5");
        assert!(!x.is_better_than(&x));
        let mut cancel = AssertMetric::<V4>::infinite();
        cancel.address = "198.18.0.200".parse().unwrap();
        assert!(!cancel.is_better_than(&AssertMetric::infinite()));
        assert!(x.is_better_than(&AssertMetric::infinite()));
    }
}
