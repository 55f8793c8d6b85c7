//! IGMP / MLD on one interface, router side: input validation (RFC 3376 §4, §9.1; RFC 3810 §5),
//! older-version compatibility (RFC 3376 §7.3; RFC 3810 §8.3), and the dispatch of queries to the
//! querier state machine of [`crate::querier`] and of reports and timer expiries to the per-group
//! state machine of [`crate::group`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use hato_core::{IfIndex, Instant, TimerQueue};
use hato_wire::gmp::{QueryV3, RecordType};

use crate::config::{ConfigError, InterfaceConfig, Timers};
use crate::family::{GmpFamily, GmpMessage, Version};
use crate::group::{Group, GroupEvent};
use crate::output::{DropReason, Filter, LogEvent, Output, QuerierState};
use crate::querier::QuerierEvent;

/// What the caller knows about a received packet besides the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received<A: GmpFamily> {
    pub ifindex: IfIndex,
    pub src: A::Addr,
    /// Not checked: routers accept reports and leaves whatever their destination (RFC 2236 §9
    /// asks them to accept leaves sent to the group, as old hosts do).
    pub dst: A::Addr,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// Whether the packet carried the Router Alert option (RFC 2113, RFC 2711).
    pub router_alert: bool,
}

/// The deadlines an interface keeps.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// Source-specific multicast ranges: only source-specific requests count there (RFC 4604).
    pub(crate) ssm_ranges: Vec<A::Prefix>,
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
            ssm_ranges: Vec::new(),
        };
        interface.querier_transition(now, QuerierEvent::Start, out);
        Ok(interface)
    }

    /// Sets the source-specific multicast ranges (none by default). In them, IGMPv1/v2 and MLDv1
    /// reports and EXCLUDE-mode records (IS_EX, TO_EX) are ignored: RFC 4604 §2.2.1 lets only
    /// source-specific requests create state for SSM groups.
    pub fn set_ssm_ranges(&mut self, ranges: Vec<A::Prefix>) {
        self.ssm_ranges = ranges;
    }

    fn in_ssm_range(&self, group: A::Addr) -> bool {
        self.ssm_ranges.iter().any(|range| A::prefix_contains(range, group))
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
            // RFC 4604 §2.2.1: a non-source-specific report does not create state for an SSM group.
            GmpMessage::ReportV1 { group } | GmpMessage::ReportV2 { group } if self.in_ssm_range(group) => {
                self.count_drop(rx.src, DropReason::SsmNotSourceSpecific, out)
            }
            GmpMessage::ReportV1 { group } => self.on_older_report(now, rx.src, group, Version::V1, out),
            GmpMessage::ReportV2 { group } => self.on_older_report(now, rx.src, group, Version::V2, out),
            GmpMessage::Leave { group } => self.on_leave(now, rx.src, group, out),
            GmpMessage::ReportV3(report) => {
                for record in report.records {
                    // RFC 4604 §2.2.1: EXCLUDE-mode records for SSM groups are ignored.
                    let exclude =
                        matches!(record.record_type, RecordType::ModeIsExclude | RecordType::ChangeToExclude);
                    if exclude && self.in_ssm_range(record.group) {
                        self.count_drop(rx.src, DropReason::SsmNotSourceSpecific, out);
                        continue;
                    }
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
