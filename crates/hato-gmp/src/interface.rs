//! IGMP / MLD on one interface, router side: input validation (RFC 3376 §4, §9.1; RFC 3810 §5),
//! querier election and the queries a querier sends (RFC 3376 §6.6; RFC 3810 §7.6), older-version
//! compatibility (RFC 3376 §7.3; RFC 3810 §8.3), and the dispatch of reports and timer expiries to
//! the per-group state machine of [`crate::group`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hato_core::{IfIndex, Instant, TimerQueue};
use hato_wire::gmp::{qqic_for, QueryV3, RecordType};

use crate::config::{ConfigError, InterfaceConfig, Timers};
use crate::family::{GmpFamily, GmpMessage, Version};
use crate::group::{Group, GroupEvent};
use crate::output::{DropReason, Filter, LogEvent, Output, QuerierState};

/// What the caller knows about a received packet besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<A: GmpFamily> {
    pub ifindex: IfIndex,
    pub src: A::Addr,
    pub dst: A::Addr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Whether the packet carried the Router Alert option (RFC 2113, RFC 2711).
    pub router_alert: bool,
}

/// The deadlines an interface keeps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKey<A: GmpFamily> {
    /// The next general query while querier (RFC 3376 §6.6.2, §8.2, §8.6).
    GeneralQuery,
    /// Other Querier Present timer (RFC 3376 §6.6.2, §8.5).
    OtherQuerierPresent,
    /// A group timer (RFC 3376 §6.2.2).
    Group(A::Addr),
    /// A source timer: group, source (RFC 3376 §6.2.3).
    Source(A::Addr, A::Addr),
    /// An older version host present timer: group, version (RFC 3376 §7.3.2).
    OlderHost(A::Addr, Version),
    /// The next retransmission of a group's specific queries (RFC 3376 §6.6.3).
    Retransmit(A::Addr),
}

/// Inputs of the querier election (RFC 3376 §6.6.2).
#[derive(Debug, Clone, Copy)]
enum QuerierEvent<A: GmpFamily> {
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

/// IGMP or MLD on one interface.
#[derive(Debug, Clone)]
pub struct GmpInterface<A: GmpFamily> {
    pub(crate) ifindex: IfIndex,
    pub(crate) address: A::Addr,
    pub(crate) config: InterfaceConfig,
    pub(crate) querier: QuerierState,
    pub(crate) querier_address: A::Addr,
    pub(crate) startup_queries_left: u8,
    /// QRV and QQI adopted from the elected querier (RFC 3376 §4.1.6, §4.1.7).
    pub(crate) adopted_robustness: Option<u8>,
    pub(crate) adopted_query_interval: Option<Duration>,
    pub(crate) groups: BTreeMap<A::Addr, Group<A>>,
    pub(crate) source_records: usize,
    pub(crate) timers: TimerQueue<TimerKey<A>>,
    pub(crate) drops: BTreeMap<DropReason, u64>,
    /// The membership last reported per group (groups with listeners only).
    pub(crate) announced: BTreeMap<A::Addr, Filter<A>>,
    /// Groups whose membership may have changed during the current input.
    pub(crate) changed_groups: BTreeSet<A::Addr>,
    last_version_warning: Option<Instant>,
}

impl<A: GmpFamily> GmpInterface<A> {
    /// Starts the protocol on an interface whose own address (the querier election address; the
    /// link-local address for MLD) is `address`, sending the first startup query.
    pub fn new(
        now: Instant,
        ifindex: IfIndex,
        address: A::Addr,
        config: InterfaceConfig,
        out: &mut Vec<Output<A>>,
    ) -> Result<Self, ConfigError> {
        config.validate::<A>()?;
        let mut interface = GmpInterface {
            ifindex,
            address,
            config,
            querier: QuerierState::Querier,
            querier_address: address,
            startup_queries_left: 0,
            adopted_robustness: None,
            adopted_query_interval: None,
            groups: BTreeMap::new(),
            source_records: 0,
            timers: TimerQueue::new(),
            drops: BTreeMap::new(),
            announced: BTreeMap::new(),
            changed_groups: BTreeSet::new(),
            last_version_warning: None,
        };
        interface.querier_transition(now, QuerierEvent::Start, out);
        Ok(interface)
    }

    pub fn ifindex(&self) -> IfIndex {
        self.ifindex
    }

    pub fn config(&self) -> &InterfaceConfig {
        &self.config
    }

    /// The timer values in force (RFC 3376 §8).
    pub fn timers(&self) -> Timers {
        Timers::new(
            &self.config,
            self.adopted_robustness.unwrap_or(self.config.robustness),
            self.adopted_query_interval.unwrap_or(self.config.query_interval),
        )
    }

    pub fn querier_state(&self) -> QuerierState {
        self.querier
    }

    /// The elected querier (this router's own address while it is the querier).
    pub fn querier_address(&self) -> A::Addr {
        self.querier_address
    }

    /// The listeners' wish for every group that has listeners, as last reported in
    /// [`Output::MembershipChanged`].
    pub fn memberships(&self) -> impl Iterator<Item = (A::Addr, &Filter<A>)> {
        self.announced.iter().map(|(group, filter)| (*group, filter))
    }

    /// How many packets or records were dropped for each reason.
    pub fn drops(&self) -> &BTreeMap<DropReason, u64> {
        &self.drops
    }

    /// The earliest deadline; call [`GmpInterface::on_timeout`] then.
    pub fn poll_at(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Applies a new configuration. A version change restarts querying with startup queries and
    /// re-evaluates every group's compatibility mode; other values apply from the next time
    /// they are used.
    pub fn set_config(
        &mut self,
        now: Instant,
        config: InterfaceConfig,
        out: &mut Vec<Output<A>>,
    ) -> Result<(), ConfigError> {
        config.validate::<A>()?;
        let version_changed = config.version != self.config.version;
        self.config = config;
        if version_changed {
            self.querier_transition(now, QuerierEvent::Start, out);
            let groups: Vec<A::Addr> = self.groups.keys().copied().collect();
            for group in groups {
                self.update_compatibility(group, out);
            }
        }
        self.announce_changes(out);
        Ok(())
    }

    /// Changes the interface's own address; a router that now has the lowest address takes over
    /// as querier.
    pub fn set_address(&mut self, now: Instant, address: A::Addr, out: &mut Vec<Output<A>>) {
        self.address = address;
        match self.querier {
            QuerierState::Querier => self.querier_address = address,
            QuerierState::NonQuerier if address < self.querier_address => {
                self.querier_transition(now, QuerierEvent::Start, out)
            }
            QuerierState::NonQuerier => {}
        }
    }

    /// Stops the protocol: every group with listeners is withdrawn.
    pub fn shutdown(mut self, out: &mut Vec<Output<A>>) {
        let groups: Vec<A::Addr> = self.groups.keys().copied().collect();
        for group in groups {
            if let Some(state) = self.groups.remove(&group) {
                self.delete_group(group, state, out);
            }
        }
        self.announce_changes(out);
    }

    pub(crate) fn count_drop(&mut self, src: A::Addr, reason: DropReason, out: &mut Vec<Output<A>>) {
        *self.drops.entry(reason).or_insert(0) += 1;
        out.push(Output::Log(LogEvent::Dropped { ifindex: self.ifindex, src, reason }));
    }

    /// Handles a received message in the family's codec form; messages that are not router-side
    /// IGMP / MLD (DVMRP, mtrace, other ICMPv6) are ignored.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        rx: &Received<A>,
        repr: &A::Repr,
        out: &mut Vec<Output<A>>,
    ) {
        if let Some(message) = A::decode(repr) {
            self.handle_message(now, rx, message, out);
        }
    }

    /// Handles a received message.
    pub fn handle_message(
        &mut self,
        now: Instant,
        rx: &Received<A>,
        message: GmpMessage<A>,
        out: &mut Vec<Output<A>>,
    ) {
        self.dispatch_message(now, rx, message, out);
        self.announce_changes(out);
    }

    fn dispatch_message(
        &mut self,
        now: Instant,
        rx: &Received<A>,
        message: GmpMessage<A>,
        out: &mut Vec<Output<A>>,
    ) {
        if let Err(reason) = self.check_packet(rx, &message) {
            self.count_drop(rx.src, reason, out);
            return;
        }
        match message {
            GmpMessage::QueryV1 { group } => self.on_query(now, rx.src, Version::V1, group, None, out),
            GmpMessage::QueryV2 { group, .. } => self.on_query(now, rx.src, Version::V2, group, None, out),
            GmpMessage::QueryV3(query) => {
                let group = query.group;
                self.on_query(now, rx.src, Version::V3, group, Some(query), out)
            }
            GmpMessage::ReportV1 { group } => self.on_older_report(now, rx.src, group, Version::V1, out),
            GmpMessage::ReportV2 { group } => self.on_older_report(now, rx.src, group, Version::V2, out),
            GmpMessage::Leave { group } => self.on_leave(now, rx.src, group, out),
            GmpMessage::ReportV3(report) => {
                for record in report.records {
                    self.on_record(now, rx.src, record.group, record.record_type, record.sources, out);
                }
            }
        }
    }

    /// RFC 3376 §4 and §9.1, RFC 3810 §5: TTL / hop limit 1, Router Alert, link-local source for
    /// MLD; and the versions this interface serves. Queries of any version take part in the
    /// election (RFC 3376 §7.3.1), so only reports are refused by version.
    fn check_packet(&self, rx: &Received<A>, message: &GmpMessage<A>) -> Result<(), DropReason> {
        if rx.ttl != 1 {
            return Err(DropReason::BadTtl);
        }
        if self.config.require_router_alert && !rx.router_alert && A::router_alert_required(message.version())
        {
            return Err(DropReason::MissingRouterAlert);
        }
        if A::LINK_LOCAL_SOURCE_REQUIRED && !A::is_link_local_unicast(rx.src) {
            return Err(DropReason::SourceNotLinkLocal);
        }
        if !message.is_query() && !self.config.possible_versions::<A>().contains(&message.version()) {
            return Err(DropReason::VersionNotPossible);
        }
        Ok(())
    }

    /// A query: querier election (RFC 3376 §6.6.2), QRV / QQI adoption (§4.1.6, §4.1.7), the
    /// version warning (§7.3.1) and the timer updates of specific queries (§6.6.1).
    fn on_query(
        &mut self,
        now: Instant,
        src: A::Addr,
        version: Version,
        group: A::Addr,
        v3: Option<QueryV3<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        if src == self.address {
            self.count_drop(src, DropReason::OwnQuery, out);
            return;
        }
        if version != self.config.version {
            let quiet_until = self.last_version_warning.map(|t| t + self.timers().query_interval);
            if quiet_until.map_or(true, |t| now >= t) {
                self.last_version_warning = Some(now);
                out.push(Output::Log(LogEvent::QueryVersionMismatch { ifindex: self.ifindex, src, version }));
            }
        }
        if src == A::UNSPECIFIED {
            self.count_drop(src, DropReason::QuerierUnspecified, out);
        } else if src < self.address {
            let robustness = v3.as_ref().map(|q| q.robustness);
            let query_interval = v3.as_ref().map(|q| q.query_interval());
            self.querier_transition(
                now,
                QuerierEvent::QueryFromLower { src, robustness, query_interval },
                out,
            );
        }
        // RFC 3376 §6.6.1: a specific query with the S flag clear lowers the timers it names.
        let suppressed = v3.as_ref().is_some_and(|q| q.suppress_router_side);
        if group != A::UNSPECIFIED && !suppressed {
            let sources = v3.map(|q| q.sources).unwrap_or_default();
            self.lower_timers_for_query(now, group, &sources);
        }
    }

    /// RFC 3376 §6.6.1: Q(G) lowers the group timer and Q(G,A) the source timers of A to LMQT.
    fn lower_timers_for_query(&mut self, now: Instant, group: A::Addr, sources: &[A::Addr]) {
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
    pub(crate) fn lower_timer(&mut self, key: TimerKey<A>, deadline: Instant) {
        if self.timers.deadline(&key).is_some_and(|t| t > deadline) {
            self.timers.arm(key, deadline);
        }
    }

    /// The querier election state machine (RFC 3376 §6.6.2, RFC 3810 §7.6.2).
    fn querier_transition(&mut self, now: Instant, event: QuerierEvent<A>, out: &mut Vec<Output<A>>) {
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
    fn on_retransmit(&mut self, now: Instant, group: A::Addr, out: &mut Vec<Output<A>>) {
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

    /// The group's compatibility mode: the lowest version whose host present timer runs, at
    /// most the configured version (RFC 3376 §7.3.2, RFC 3810 §8.3.2).
    pub(crate) fn compatibility(&self, group: A::Addr) -> Version {
        [Version::V1, Version::V2]
            .into_iter()
            .find(|v| self.timers.deadline(&TimerKey::OlderHost(group, *v)).is_some())
            .map_or(self.config.version, |v| v.min(self.config.version))
    }

    fn update_compatibility(&mut self, group: A::Addr, out: &mut Vec<Output<A>>) {
        let version = self.compatibility(group);
        if let Some(state) = self.groups.get_mut(&group) {
            if state.compatibility != version {
                state.compatibility = version;
                out.push(Output::Log(LogEvent::CompatibilityChanged {
                    ifindex: self.ifindex,
                    group,
                    version,
                }));
            }
        }
    }

    /// Whether a report about `group` may create or change state.
    fn check_group(&self, group: A::Addr) -> Result<(), DropReason> {
        if !A::is_multicast(group) {
            Err(DropReason::NotMulticast)
        } else if A::is_link_local_group(group) {
            Err(DropReason::LinkLocalGroup)
        } else {
            Ok(())
        }
    }

    fn create_group(&mut self, group: A::Addr, out: &mut Vec<Output<A>>) {
        self.groups.insert(group, Group::new(self.compatibility(group)));
        out.push(Output::Log(LogEvent::GroupCreated { ifindex: self.ifindex, group }));
    }

    /// Whether a new group may be created (the group limit).
    fn room_for_group(&self, group: A::Addr) -> bool {
        self.groups.contains_key(&group) || self.config.max_groups.map_or(true, |max| self.groups.len() < max)
    }

    /// An IGMPv1 / IGMPv2 / MLDv1 report: start the older version host present timer, then
    /// process it as IS_EX({}) (RFC 3376 §7.3.2, RFC 3810 §8.3.2).
    fn on_older_report(
        &mut self,
        now: Instant,
        src: A::Addr,
        group: A::Addr,
        version: Version,
        out: &mut Vec<Output<A>>,
    ) {
        if let Err(reason) = self.check_group(group) {
            self.count_drop(src, reason, out);
            return;
        }
        if !self.room_for_group(group) {
            self.count_drop(src, DropReason::GroupLimit, out);
            return;
        }
        let deadline = now + self.timers().older_host_present_interval();
        self.timers.arm(TimerKey::OlderHost(group, version), deadline);
        if self.groups.contains_key(&group) {
            self.update_compatibility(group, out);
        } else {
            self.create_group(group, out);
        }
        self.group_event(
            now,
            src,
            group,
            GroupEvent::Record(RecordType::ModeIsExclude, BTreeSet::new()),
            out,
        );
    }

    /// An IGMPv2 Leave / MLDv1 Done: TO_IN({}), ignored in IGMPv1 compatibility (RFC 3376 §7.3.1,
    /// §7.3.2; RFC 3810 §8.3.2).
    fn on_leave(&mut self, now: Instant, src: A::Addr, group: A::Addr, out: &mut Vec<Output<A>>) {
        if let Err(reason) = self.check_group(group) {
            self.count_drop(src, reason, out);
            return;
        }
        if self.compatibility(group) == Version::V1 {
            self.count_drop(src, DropReason::LeaveInV1Mode, out);
            return;
        }
        if self.groups.contains_key(&group) {
            self.group_event(
                now,
                src,
                group,
                GroupEvent::Record(RecordType::ChangeToInclude, BTreeSet::new()),
                out,
            );
        }
    }

    /// One group record of a version 3 report, translated for the group's compatibility mode
    /// (RFC 3376 §7.3.2, RFC 3810 §8.3.2).
    fn on_record(
        &mut self,
        now: Instant,
        src: A::Addr,
        group: A::Addr,
        record_type: RecordType,
        sources: Vec<A::Addr>,
        out: &mut Vec<Output<A>>,
    ) {
        if let Err(reason) = self.check_group(group) {
            self.count_drop(src, reason, out);
            return;
        }
        let sources: BTreeSet<A::Addr> = sources.into_iter().collect();
        let record = match (self.compatibility(group), record_type) {
            (_, RecordType::Unknown(_)) => {
                self.count_drop(src, DropReason::UnknownRecordType, out);
                return;
            }
            // RFC 3376 §7.3.2: in IGMPv1 mode TO_IN and BLOCK are ignored and TO_EX loses its
            // sources.
            (Version::V1, RecordType::ChangeToInclude | RecordType::BlockOldSources) => return,
            (Version::V1, RecordType::ChangeToExclude) => (record_type, BTreeSet::new()),
            // RFC 3376 §7.3.2, RFC 3810 §8.3.2: in IGMPv2 / MLDv1 mode BLOCK is ignored and
            // TO_EX loses its sources.
            (Version::V2, RecordType::BlockOldSources) => return,
            (Version::V2, RecordType::ChangeToExclude) => (record_type, BTreeSet::new()),
            (_, record_type) => (record_type, sources),
        };
        let creates = !self.groups.contains_key(&group)
            && match record.0 {
                RecordType::ModeIsExclude | RecordType::ChangeToExclude => true,
                RecordType::BlockOldSources => false,
                _ => !record.1.is_empty(),
            };
        if creates && !self.room_for_group(group) {
            self.count_drop(src, DropReason::GroupLimit, out);
            return;
        }
        if creates {
            self.create_group(group, out);
        }
        if self.groups.contains_key(&group) {
            self.group_event(now, src, group, GroupEvent::Record(record.0, record.1), out);
        }
    }

    /// Handles every deadline at or before `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        self.expire_timers(now, out);
        self.announce_changes(out);
    }

    fn expire_timers(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        // Every handler re-arms strictly after `now` (intervals are validated non-zero), so
        // this ends; the bound is a second line of defence.
        let bound = self.timers.len().saturating_mul(4).saturating_add(16);
        for _ in 0..bound {
            let Some((key, _)) = self.timers.pop_expired(now) else { return };
            match key {
                TimerKey::GeneralQuery => self.querier_transition(now, QuerierEvent::GeneralQueryDue, out),
                TimerKey::OtherQuerierPresent => {
                    self.querier_transition(now, QuerierEvent::OtherQuerierExpired, out)
                }
                TimerKey::Group(group) => {
                    self.group_event(now, self.address, group, GroupEvent::GroupTimerExpired, out)
                }
                TimerKey::Source(group, source) => {
                    self.group_event(now, self.address, group, GroupEvent::SourceTimerExpired(source), out)
                }
                TimerKey::OlderHost(group, _) => self.update_compatibility(group, out),
                TimerKey::Retransmit(group) => self.on_retransmit(now, group, out),
            }
        }
    }
}
