//! The router's state for one group on one interface and its state machine: filter mode, group
//! timer and source records (RFC 3376 §6.2, RFC 3810 §7.2), the reception of current-state and
//! state-change records (RFC 3376 §6.4.1, §6.4.2; RFC 3810 §7.4.1, §7.4.2), the switch from
//! EXCLUDE to INCLUDE when the group timer expires (RFC 3376 §6.5, RFC 3810 §7.5) and source
//! timer expiry (RFC 3376 §6.3, RFC 3810 §7.3).
//!
//! In EXCLUDE mode the RFC's two source lists are told apart by the source timer: the "Requested
//! List" X holds the sources whose timer runs, the "Exclude List" Y those whose timer is zero. In
//! INCLUDE mode every source's timer runs.

use std::collections::{BTreeMap, BTreeSet};

use hato_core::Instant;
use hato_wire::gmp::RecordType;

use crate::family::{GmpFamily, Version};
use crate::interface::{GmpInterface, TimerKey};
use crate::output::{DropReason, Filter, FilterMode, LogEvent, Output};
use crate::querier::QueryAction;

/// One group's record on one interface.
#[derive(Debug, Clone)]
pub(crate) struct Group<A: GmpFamily> {
    pub(crate) mode: FilterMode,
    /// Every source record; their timers live in the interface's timer queue.
    pub(crate) sources: BTreeSet<A::Addr>,
    /// The compatibility mode last computed (RFC 3376 §7.3.2), kept to log its changes.
    pub(crate) compatibility: Version,
    /// Q(G) transmissions still to send (RFC 3376 §6.6.3.1).
    pub(crate) group_query_retransmissions: u8,
    /// Per source, Q(G,S) transmissions still to send (RFC 3376 §6.6.3.2).
    pub(crate) source_query_retransmissions: BTreeMap<A::Addr, u8>,
}

impl<A: GmpFamily> Group<A> {
    /// A new record: INCLUDE with no sources, which is how a group without a record behaves.
    pub(crate) fn new(compatibility: Version) -> Self {
        Group {
            mode: FilterMode::Include,
            sources: BTreeSet::new(),
            compatibility,
            group_query_retransmissions: 0,
            source_query_retransmissions: BTreeMap::new(),
        }
    }

    pub(crate) fn has_pending_queries(&self) -> bool {
        self.group_query_retransmissions > 0 || !self.source_query_retransmissions.is_empty()
    }
}

/// Inputs of a group's state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GroupEvent<A: GmpFamily> {
    /// A group record (already translated for the compatibility mode) with its source list.
    Record(RecordType, BTreeSet<A::Addr>),
    /// The group timer expired.
    GroupTimerExpired,
    /// A source timer expired.
    SourceTimerExpired(A::Addr),
}

impl<A: GmpFamily> GmpInterface<A> {
    /// Runs one event through a group's state machine, carries out the queries it asks for and
    /// reports the membership change, if any.
    pub(crate) fn group_event(
        &mut self,
        now: Instant,
        src: A::Addr,
        group: A::Addr,
        event: GroupEvent<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(mut state) = self.groups.remove(&group) else { return };
        let actions = self.group_transition(now, src, group, &mut state, event, out);
        self.run_query_actions(now, group, &mut state, actions, out);
        self.settle_group(group, state, out);
    }

    /// The transition function: one arm per cell of the RFC 3376 §6.4 tables, plus §6.3 and §6.5
    /// for timer expiry. Returns the "Send Q(..)" actions of the row.
    fn group_transition(
        &mut self,
        now: Instant,
        src: A::Addr,
        group: A::Addr,
        state: &mut Group<A>,
        event: GroupEvent<A>,
        out: &mut Vec<Output<A>>,
    ) -> Vec<QueryAction<A>> {
        use RecordType::*;
        let gmi = now + self.timers().group_membership_interval();
        let all: BTreeSet<A::Addr> = state.sources.clone();
        let (requested, excluded): (BTreeSet<A::Addr>, BTreeSet<A::Addr>) =
            all.iter().partition(|s| self.timers.deadline(&TimerKey::Source(group, **s)).is_some());
        match (state.mode, event) {
            // RFC 3376 §6.4.1: INCLUDE (A) + IS_IN (B) -> INCLUDE (A+B); (B)=GMI.
            // RFC 3376 §6.4.2: INCLUDE (A) + ALLOW (B) -> INCLUDE (A+B); (B)=GMI.
            (FilterMode::Include, GroupEvent::Record(ModeIsInclude | AllowNewSources, b)) => {
                self.set_sources(src, group, state, &b, Some(gmi), out);
                Vec::new()
            }
            // RFC 3376 §6.4.1: INCLUDE (A) + IS_EX (B) -> EXCLUDE (A*B, B-A); (B-A)=0;
            // Delete (A-B); Group Timer=GMI.
            // RFC 3376 §6.4.2: INCLUDE (A) + TO_EX (B) -> EXCLUDE (A*B, B-A); (B-A)=0;
            // Delete (A-B); Send Q(G,A*B); Group Timer=GMI.
            (FilterMode::Include, GroupEvent::Record(record @ (ModeIsExclude | ChangeToExclude), b)) => {
                self.delete_sources(group, state, &(&all - &b));
                self.set_sources(src, group, state, &(&b - &all), None, out);
                self.set_mode(group, state, FilterMode::Exclude, out);
                self.timers.arm(TimerKey::Group(group), gmi);
                if record == ChangeToExclude {
                    vec![QueryAction::Sources(&all & &b)]
                } else {
                    Vec::new()
                }
            }
            // RFC 3376 §6.4.2: INCLUDE (A) + BLOCK (B) -> INCLUDE (A); Send Q(G,A*B).
            (FilterMode::Include, GroupEvent::Record(BlockOldSources, b)) => {
                vec![QueryAction::Sources(&all & &b)]
            }
            // RFC 3376 §6.4.2: INCLUDE (A) + TO_IN (B) -> INCLUDE (A+B); (B)=GMI; Send Q(G,A-B).
            (FilterMode::Include, GroupEvent::Record(ChangeToInclude, b)) => {
                self.set_sources(src, group, state, &b, Some(gmi), out);
                vec![QueryAction::Sources(&all - &b)]
            }
            // RFC 3376 §6.4.1: EXCLUDE (X,Y) + IS_IN (A) -> EXCLUDE (X+A, Y-A); (A)=GMI.
            // RFC 3376 §6.4.2: EXCLUDE (X,Y) + ALLOW (A) -> EXCLUDE (X+A, Y-A); (A)=GMI.
            (FilterMode::Exclude, GroupEvent::Record(ModeIsInclude | AllowNewSources, a)) => {
                self.set_sources(src, group, state, &a, Some(gmi), out);
                Vec::new()
            }
            // RFC 3376 §6.4.1: EXCLUDE (X,Y) + IS_EX (A) -> EXCLUDE (A-Y, Y*A); (A-X-Y)=GMI;
            // Delete (X-A); Delete (Y-A); Group Timer=GMI.
            // RFC 3376 §6.4.2: EXCLUDE (X,Y) + TO_EX (A) -> EXCLUDE (A-Y, Y*A);
            // (A-X-Y)=Group Timer; Delete (X-A); Delete (Y-A); Send Q(G,A-Y); Group Timer=GMI.
            (FilterMode::Exclude, GroupEvent::Record(record @ (ModeIsExclude | ChangeToExclude), a)) => {
                let new_timer = match record {
                    ModeIsExclude => gmi,
                    _ => self.timers.deadline(&TimerKey::Group(group)).unwrap_or(now),
                };
                self.set_sources(src, group, state, &(&a - &all), Some(new_timer), out);
                self.delete_sources(group, state, &(&all - &a));
                self.timers.arm(TimerKey::Group(group), gmi);
                if record == ChangeToExclude {
                    vec![QueryAction::Sources(&a - &excluded)]
                } else {
                    Vec::new()
                }
            }
            // RFC 3376 §6.4.2: EXCLUDE (X,Y) + BLOCK (A) -> EXCLUDE (X+(A-Y), Y);
            // (A-X-Y)=Group Timer; Send Q(G,A-Y).
            (FilterMode::Exclude, GroupEvent::Record(BlockOldSources, a)) => {
                let group_timer = self.timers.deadline(&TimerKey::Group(group)).unwrap_or(now);
                self.set_sources(src, group, state, &(&a - &all), Some(group_timer), out);
                vec![QueryAction::Sources(&a - &excluded)]
            }
            // RFC 3376 §6.4.2: EXCLUDE (X,Y) + TO_IN (A) -> EXCLUDE (X+A, Y-A); (A)=GMI;
            // Send Q(G,X-A); Send Q(G).
            (FilterMode::Exclude, GroupEvent::Record(ChangeToInclude, a)) => {
                self.set_sources(src, group, state, &a, Some(gmi), out);
                vec![QueryAction::Sources(&requested - &a), QueryAction::Group]
            }
            // RFC 3376 §4.2.12: records of unknown type are ignored (they are filtered before
            // reaching here and counted).
            (_, GroupEvent::Record(Unknown(_), _)) => Vec::new(),
            // RFC 3376 §6.5: EXCLUDE mode, group timer expired: the sources with running timers
            // stay in INCLUDE mode, the others are deleted; no source left deletes the group.
            (FilterMode::Exclude, GroupEvent::GroupTimerExpired) => {
                self.delete_sources(group, state, &excluded);
                self.set_mode(group, state, FilterMode::Include, out);
                Vec::new()
            }
            // RFC 3376 §6.2.2: the group timer only runs in EXCLUDE mode; a stale expiry.
            (FilterMode::Include, GroupEvent::GroupTimerExpired) => Vec::new(),
            // RFC 3376 §6.3: INCLUDE mode, source timer expired: stop forwarding and delete the
            // source record (an empty INCLUDE group is then deleted).
            (FilterMode::Include, GroupEvent::SourceTimerExpired(source)) => {
                self.delete_sources(group, state, &BTreeSet::from([source]));
                Vec::new()
            }
            // RFC 3376 §6.3: EXCLUDE mode, source timer expired: stop forwarding but keep the
            // record; with its timer at zero the source now belongs to the Exclude List.
            (FilterMode::Exclude, GroupEvent::SourceTimerExpired(_)) => Vec::new(),
        }
    }

    fn set_mode(&mut self, group: A::Addr, state: &mut Group<A>, mode: FilterMode, out: &mut Vec<Output<A>>) {
        if state.mode != mode {
            state.mode = mode;
            out.push(Output::Log(LogEvent::FilterModeChanged { ifindex: self.ifindex, group, mode }));
        }
    }

    /// Creates the source records that do not exist (within the source limit) and sets the timer
    /// of every listed source to `timer` (`None`: zero).
    fn set_sources(
        &mut self,
        src: A::Addr,
        group: A::Addr,
        state: &mut Group<A>,
        sources: &BTreeSet<A::Addr>,
        timer: Option<Instant>,
        out: &mut Vec<Output<A>>,
    ) {
        for source in sources {
            if !state.sources.contains(source) {
                if self.config.max_sources.is_some_and(|max| self.source_records >= max) {
                    self.count_drop(src, DropReason::SourceLimit, out);
                    continue;
                }
                state.sources.insert(*source);
                self.source_records += 1;
            }
            let key = TimerKey::Source(group, *source);
            match timer {
                Some(deadline) => self.timers.arm(key, deadline),
                None => self.timers.cancel(&key),
            };
        }
    }

    fn delete_sources(&mut self, group: A::Addr, state: &mut Group<A>, sources: &BTreeSet<A::Addr>) {
        for source in sources {
            if state.sources.remove(source) {
                self.source_records = self.source_records.saturating_sub(1);
                self.timers.cancel(&TimerKey::Source(group, *source));
                state.source_query_retransmissions.remove(source);
            }
        }
    }

    /// The membership a group's state asks for (RFC 3376 §6.3).
    pub(crate) fn membership(&self, group: A::Addr, state: &Group<A>) -> Filter<A> {
        match state.mode {
            FilterMode::Include => Filter::Include(state.sources.clone()),
            FilterMode::Exclude => Filter::Exclude(
                state
                    .sources
                    .iter()
                    .filter(|s| self.timers.deadline(&TimerKey::Source(group, **s)).is_none())
                    .copied()
                    .collect(),
            ),
        }
    }

    /// Puts a group back after an event, deleting it when it is INCLUDE with no source
    /// (RFC 3376 §6.3, §6.5).
    fn settle_group(&mut self, group: A::Addr, state: Group<A>, out: &mut Vec<Output<A>>) {
        if state.mode == FilterMode::Include && state.sources.is_empty() {
            self.delete_group(group, state, out);
        } else {
            self.groups.insert(group, state);
            self.changed_groups.insert(group);
        }
    }

    /// Reports the membership of every group an input touched whose membership differs from the
    /// last report: once per input, so that timers expiring together yield one delta.
    pub(crate) fn announce_changes(&mut self, out: &mut Vec<Output<A>>) {
        for group in std::mem::take(&mut self.changed_groups) {
            let filter = match self.groups.get(&group) {
                Some(state) => self.membership(group, state),
                None => Filter::none(),
            };
            let previous = self.announced.get(&group).cloned().unwrap_or_else(Filter::none);
            if filter != previous {
                if filter.is_empty() {
                    self.announced.remove(&group);
                } else {
                    self.announced.insert(group, filter.clone());
                }
                out.push(Output::MembershipChanged { ifindex: self.ifindex, group, filter });
            }
        }
    }

    /// Deletes a group that is no longer in `self.groups`, with its timers and sources.
    pub(crate) fn delete_group(&mut self, group: A::Addr, mut state: Group<A>, out: &mut Vec<Output<A>>) {
        let sources = state.sources.clone();
        self.delete_sources(group, &mut state, &sources);
        self.timers.cancel(&TimerKey::Group(group));
        self.timers.cancel(&TimerKey::Retransmit(group));
        for version in [Version::V1, Version::V2] {
            self.timers.cancel(&TimerKey::OlderHost(group, version));
        }
        self.changed_groups.insert(group);
        out.push(Output::Log(LogEvent::GroupDeleted { ifindex: self.ifindex, group }));
    }
}
