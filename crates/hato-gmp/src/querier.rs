//! Querier election (RFC 3376 §6.6.2, RFC 3810 §7.6.2), the adoption of the querier's QRV and
//! QQI (RFC 3376 §4.1.6-7), and the queries a querier sends: general queries with their startup
//! series (§8.6-8.7), and group-specific and group-and-source-specific queries with the S flag
//! and their retransmissions (RFC 3376 §6.6.1, §6.6.3; RFC 3810 §7.6.1, §7.6.3).

use std::collections::BTreeSet;
use std::time::Duration;

use hato_core::Instant;
use hato_wire::gmp::{qqic_for, QueryV3};

use crate::family::{GmpFamily, GmpMessage, Version};
use crate::group::Group;
use crate::interface::{GmpInterface, TimerKey};
use crate::output::{LogEvent, Output, QuerierState};

/// Inputs of the querier election (RFC 3376 §6.6.2).
#[derive(Debug, Clone, Copy)]
pub(crate) enum QuerierEvent<A: GmpFamily> {
    /// The interface starts (or restarts after a version change).
    Start,
    /// A query from an address lower than ours, with the QRV and QQI it announced if any.
    QueryFromLower { src: A::Addr, robustness: Option<u8>, query_interval: Option<Duration> },
    /// The Other Querier Present timer expired.
    OtherQuerierExpired,
    /// The general query timer expired.
    GeneralQueryDue,
}

/// A query action of the §6.4 tables, carried out by the querier only (RFC 3376 §6.6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryAction<A: GmpFamily> {
    /// Send Q(G).
    Group,
    /// Send Q(G, sources).
    Sources(BTreeSet<A::Addr>),
}

impl<A: GmpFamily> GmpInterface<A> {
    /// RFC 3376 §6.6.1: Q(G) lowers the group timer and Q(G,A) the source timers of A to LMQT.
    pub(crate) fn lower_timers_for_query(&mut self, now: Instant, group: A::Addr, sources: &[A::Addr]) {
        if !self.groups.contains_key(&group) {
            return;
        }
        let lmqt = now + self.timers().last_member_query_time();
        if sources.is_empty() {
            self.lower_timer(TimerKey::Group(group), lmqt);
        } else {
            // Only running timers are lowered: sources without a record have none.
            for source in sources {
                self.lower_timer(TimerKey::Source(group, *source), lmqt);
            }
        }
    }

    /// Sets a running timer to `deadline` if that is earlier.
    fn lower_timer(&mut self, key: TimerKey<A>, deadline: Instant) {
        if self.timers.deadline(&key).is_some_and(|t| t > deadline) {
            self.timers.arm(key, deadline);
        }
    }

    /// The querier election state machine (RFC 3376 §6.6.2, RFC 3810 §7.6.2).
    pub(crate) fn querier_transition(
        &mut self,
        now: Instant,
        event: QuerierEvent<A>,
        out: &mut Vec<Output<A>>,
    ) {
        match (self.querier, event) {
            // RFC 3376 §6.6.2: "Multicast routers start up as Querier"; §8.6, §8.7: Startup
            // Query Count general queries, Startup Query Interval apart.
            (_, QuerierEvent::Start) => {
                self.timers.cancel(&TimerKey::OtherQuerierPresent);
                self.adopted_robustness = None;
                self.adopted_query_interval = None;
                self.startup_queries_left = self.timers().startup_query_count;
                self.set_querier(QuerierState::Querier, self.address, out);
                self.send_general_query(now, out);
            }
            // RFC 3376 §6.6.2: Querier × query from a lower address: become Non-Querier and
            // start the Other Querier Present timer.
            (QuerierState::Querier, QuerierEvent::QueryFromLower { src, robustness, query_interval }) => {
                self.timers.cancel(&TimerKey::GeneralQuery);
                self.startup_queries_left = 0;
                self.cancel_retransmissions();
                self.adopt(robustness, query_interval);
                self.set_querier(QuerierState::NonQuerier, src, out);
                let deadline = now + self.timers().other_querier_present_interval();
                self.timers.arm(TimerKey::OtherQuerierPresent, deadline);
            }
            // RFC 3376 §6.6.2: Non-Querier × query from a lower address: restart the Other
            // Querier Present timer (§4.1.6, §4.1.7: adopt the querier's QRV and QQI).
            (QuerierState::NonQuerier, QuerierEvent::QueryFromLower { src, robustness, query_interval }) => {
                self.adopt(robustness, query_interval);
                self.set_querier(QuerierState::NonQuerier, src, out);
                let deadline = now + self.timers().other_querier_present_interval();
                self.timers.arm(TimerKey::OtherQuerierPresent, deadline);
            }
            // RFC 3376 §6.6.2: Non-Querier × Other Querier Present timer expiry: become Querier
            // and send a general query.
            (QuerierState::NonQuerier, QuerierEvent::OtherQuerierExpired) => {
                self.adopted_robustness = None;
                self.adopted_query_interval = None;
                self.set_querier(QuerierState::Querier, self.address, out);
                self.send_general_query(now, out);
            }
            // RFC 3376 §6.6.2 and §8.2: Querier × general query timer: send the next one.
            (QuerierState::Querier, QuerierEvent::GeneralQueryDue) => self.send_general_query(now, out),
            // A timer of the other state cannot be running; nothing to do.
            (QuerierState::Querier, QuerierEvent::OtherQuerierExpired)
            | (QuerierState::NonQuerier, QuerierEvent::GeneralQueryDue) => {}
        }
    }

    fn set_querier(&mut self, state: QuerierState, querier: A::Addr, out: &mut Vec<Output<A>>) {
        if (state, querier) != (self.querier, self.querier_address) {
            self.querier = state;
            self.querier_address = querier;
            out.push(Output::Log(LogEvent::QuerierChanged { ifindex: self.ifindex, state, querier }));
        }
    }

    /// RFC 3376 §4.1.6, §4.1.7 (RFC 3810 §5.1.8, §5.1.9): a zero QRV or QQI means the default,
    /// which is the configured value; v1 / v2 queries carry neither.
    fn adopt(&mut self, robustness: Option<u8>, query_interval: Option<Duration>) {
        self.adopted_robustness = robustness.filter(|r| *r != 0);
        self.adopted_query_interval = query_interval.filter(|qi| !qi.is_zero());
    }

    /// Sends a general query and arms the next one (RFC 3376 §6.6.2, §8.6).
    fn send_general_query(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        let timers = self.timers();
        let message = self.query_message(A::UNSPECIFIED, timers.query_response_interval, false, Vec::new());
        out.push(Output::Send { ifindex: self.ifindex, dst: A::ALL_SYSTEMS, message });
        let next = if self.startup_queries_left > 1 {
            self.startup_queries_left -= 1;
            timers.startup_query_interval
        } else {
            self.startup_queries_left = 0;
            timers.query_interval
        };
        self.timers.arm(TimerKey::GeneralQuery, now + next);
    }

    /// A query in the configured version (RFC 3376 §4.1, §7.3.1; RFC 3810 §5.1, §8.3.1).
    fn query_message(
        &self,
        group: A::Addr,
        max_resp: Duration,
        suppress_router_side: bool,
        sources: Vec<A::Addr>,
    ) -> GmpMessage<A> {
        let timers = self.timers();
        match self.config.version {
            Version::V1 => GmpMessage::QueryV1 { group },
            Version::V2 => GmpMessage::QueryV2 { max_resp, group },
            Version::V3 => GmpMessage::QueryV3(QueryV3 {
                max_resp_code: A::max_resp_code(max_resp),
                group,
                suppress_router_side,
                // RFC 3376 §4.1.6: a Robustness Variable above 7 is sent as zero.
                robustness: if timers.robustness <= 7 { timers.robustness } else { 0 },
                qqic: qqic_for(timers.query_interval),
                sources,
            }),
        }
    }

    /// Carries out the query actions of a §6.4 table row (RFC 3376 §6.6.3.1, §6.6.3.2).
    pub(crate) fn run_query_actions(
        &mut self,
        now: Instant,
        group: A::Addr,
        state: &mut Group<A>,
        actions: Vec<QueryAction<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        if self.querier != QuerierState::Querier {
            return;
        }
        let timers = self.timers();
        let lmqt = now + timers.last_member_query_time();
        let count = timers.last_member_query_count;
        for action in actions {
            match action {
                // RFC 3376 §6.6.3.1: lower the group timer to LMQT, send Q(G) now and LMQC - 1
                // retransmissions LMQI apart. IGMPv1 has no group-specific query.
                QueryAction::Group if self.config.version > Version::V1 => {
                    self.lower_timer(TimerKey::Group(group), lmqt);
                    state.group_query_retransmissions = count;
                    self.send_group_query(now, group, state, out);
                }
                QueryAction::Group => {}
                // RFC 3376 §6.6.3.2: lower the source timers to LMQT, set each source's
                // retransmission counter to LMQC and send Q(G,X) now. Only version 3 has them.
                QueryAction::Sources(sources)
                    if self.config.version == Version::V3 && !sources.is_empty() =>
                {
                    for source in &sources {
                        self.lower_timer(TimerKey::Source(group, *source), lmqt);
                        state.source_query_retransmissions.insert(*source, count);
                    }
                    self.send_source_queries(now, group, state, Some(&sources), out);
                }
                QueryAction::Sources(_) => {}
            }
        }
        if state.has_pending_queries() && self.timers.deadline(&TimerKey::Retransmit(group)).is_none() {
            self.timers.arm(TimerKey::Retransmit(group), now + timers.last_member_query_interval);
        }
    }

    /// Sends Q(G), with the S flag when the group timer is above LMQT (RFC 3376 §6.6.3.1).
    fn send_group_query(
        &mut self,
        now: Instant,
        group: A::Addr,
        state: &mut Group<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let timers = self.timers();
        let lmqt = now + timers.last_member_query_time();
        let suppress = self.timers.deadline(&TimerKey::Group(group)).is_some_and(|t| t > lmqt);
        let message = self.query_message(group, timers.last_member_query_interval, suppress, Vec::new());
        out.push(Output::Send { ifindex: self.ifindex, dst: group, message });
        state.group_query_retransmissions = state.group_query_retransmissions.saturating_sub(1);
    }

    /// Sends Q(G,X) for the sources with pending retransmissions (only those of `only` when
    /// given): one query with the S flag for sources whose timer is above LMQT and one without
    /// for the others, each split to fit the link (RFC 3376 §6.6.3.2).
    fn send_source_queries(
        &mut self,
        now: Instant,
        group: A::Addr,
        state: &mut Group<A>,
        only: Option<&BTreeSet<A::Addr>>,
        out: &mut Vec<Output<A>>,
    ) {
        let timers = self.timers();
        let lmqt = now + timers.last_member_query_time();
        let mut above = Vec::new();
        let mut below = Vec::new();
        for (source, left) in state.source_query_retransmissions.iter_mut() {
            if *left == 0 || only.is_some_and(|only| !only.contains(source)) {
                continue;
            }
            *left -= 1;
            let timer = self.timers.deadline(&TimerKey::Source(group, *source));
            if timer.is_some_and(|t| t > lmqt) {
                above.push(*source);
            } else {
                below.push(*source);
            }
        }
        state.source_query_retransmissions.retain(|_, left| *left > 0);
        for (suppress, sources) in [(true, above), (false, below)] {
            for chunk in sources.chunks(A::MAX_QUERY_SOURCES) {
                let message =
                    self.query_message(group, timers.last_member_query_interval, suppress, chunk.to_vec());
                out.push(Output::Send { ifindex: self.ifindex, dst: group, message });
            }
        }
    }

    /// The retransmission timer of a group's specific queries (RFC 3376 §6.6.3).
    pub(crate) fn on_retransmit(&mut self, now: Instant, group: A::Addr, out: &mut Vec<Output<A>>) {
        let Some(mut state) = self.groups.remove(&group) else { return };
        if state.group_query_retransmissions > 0 {
            self.send_group_query(now, group, &mut state, out);
        }
        self.send_source_queries(now, group, &mut state, None, out);
        if state.has_pending_queries() {
            let next = now + self.timers().last_member_query_interval;
            self.timers.arm(TimerKey::Retransmit(group), next);
        }
        self.groups.insert(group, state);
    }

    /// A router that stops being querier sends no more specific queries.
    fn cancel_retransmissions(&mut self) {
        for (group, state) in self.groups.iter_mut() {
            state.group_query_retransmissions = 0;
            state.source_query_retransmissions.clear();
            self.timers.cancel(&TimerKey::Retransmit(*group));
        }
    }
}
