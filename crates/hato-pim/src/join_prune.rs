//! Join/Prune (RFC 7761 §4.5): receiving Join/Prune messages into the downstream machines
//! (§4.5.1-§4.5.3) and into the upstream machines of other routers' messages seen on the link
//! (join suppression and prune override), carrying out upstream actions (§4.5.4-§4.5.7), and the
//! per-group re-evaluation that turns macro changes into upstream, register and mroute changes.

use std::collections::BTreeSet;

use hato_core::{Afi, Duration, IfIndex, Instant, SgKey};
use hato_wire::pim::{EncodedSource, JoinPrune};
use smallvec::{smallvec, SmallVec};

use crate::fsm::downstream::{
    self, DownstreamAction, DownstreamEvent, DownstreamState, RptDownstreamAction, RptDownstreamEvent,
    RptDownstreamState,
};
use crate::fsm::register::{RegisterEvent, RegisterState};
use crate::fsm::upstream::{
    self, RptUpstreamAction, RptUpstreamEvent, RptUpstreamState, UpstreamAction, UpstreamEvent, UpstreamState,
};
use crate::io::{DropReason, MachineState, MrouteIntent, Output};
use crate::macros::SgLists;
use crate::router::{DownstreamEntry, PimRouter, Timer, UpstreamNeighbor};

/// A Join/Prune holdtime: `None` is 0xffff, forever (§4.9.5).
type Holdtime = Option<Duration>;

impl<A: Afi> PimRouter<A> {
    /// Join/Prune processing (§4.5): dropped unless the sender is a known neighbour; addressed to
    /// us it drives the downstream machines, addressed to another router the upstream ones.
    pub(crate) fn receive_join_prune(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        source: A::Addr,
        jp: &JoinPrune<A>,
        out: &mut Vec<Output<A>>,
    ) {
        if !self.neighbors.contains_key(&(ifindex, source)) {
            self.drop_input(DropReason::UnknownNeighbor, Some(ifindex), Some(source), out);
            return;
        }
        let holdtime = (jp.holdtime != u16::MAX).then(|| Duration::from_secs(jp.holdtime.into()));
        let to_me = self.interfaces.get(&ifindex).is_some_and(|i| {
            i.primary == jp.upstream_neighbor || i.secondary.contains(&jp.upstream_neighbor)
        });
        for set in &jp.groups {
            let group = set.group.group;
            if !A::is_multicast(group)
                || A::is_link_local_group(group)
                || set.group.mask_len != A::MAX_PREFIX_LEN
            {
                self.drop_input(DropReason::BadGroup, Some(ifindex), Some(source), out);
                continue;
            }
            if to_me {
                self.downstream_group_set(
                    now,
                    ifindex,
                    source,
                    group,
                    holdtime,
                    &set.joins,
                    &set.prunes,
                    out,
                );
            } else if let Some(target) = self.nbr(ifindex, jp.upstream_neighbor) {
                let upstream = UpstreamNeighbor { ifindex, neighbor: target };
                self.seen_group_set(now, upstream, group, holdtime, &set.joins, &set.prunes, out);
            }
        }
    }

    /// One group set addressed to us: joins first (a Join(*,G) moves (S,G,rpt) Prune states to
    /// their temporary forms), then prunes, then End of Message (§4.5.3).
    #[allow(clippy::too_many_arguments)]
    fn downstream_group_set(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        from: A::Addr,
        group: A::Addr,
        holdtime: Holdtime,
        joins: &[EncodedSource<A>],
        prunes: &[EncodedSource<A>],
        out: &mut Vec<Output<A>>,
    ) {
        for j in joins {
            match (j.wildcard, j.rpt) {
                (true, true) => {
                    if !self.star_g_acceptable(ifindex, from, group, j.source, out) {
                        continue;
                    }
                    self.assert_join_received(now, group, None, ifindex, out);
                    self.downstream_event(
                        now,
                        group,
                        None,
                        ifindex,
                        DownstreamEvent::ReceiveJoin,
                        holdtime,
                        Some(from),
                        out,
                    );
                    for s in self.rpt_sources_on(group, ifindex) {
                        self.rpt_downstream_event(
                            now,
                            group,
                            s,
                            ifindex,
                            RptDownstreamEvent::ReceiveJoinStarG,
                            holdtime,
                            out,
                        );
                    }
                }
                (false, true) => self.rpt_downstream_event(
                    now,
                    group,
                    j.source,
                    ifindex,
                    RptDownstreamEvent::ReceiveJoinSgRpt,
                    holdtime,
                    out,
                ),
                (false, false) => {
                    self.assert_join_received(now, group, Some(j.source), ifindex, out);
                    self.downstream_event(
                        now,
                        group,
                        Some(j.source),
                        ifindex,
                        DownstreamEvent::ReceiveJoin,
                        holdtime,
                        Some(from),
                        out,
                    )
                }
                (true, false) => self.drop_input(DropReason::BadGroup, Some(ifindex), Some(from), out),
            }
        }
        for p in prunes {
            match (p.wildcard, p.rpt) {
                (true, true) => self.downstream_event(
                    now,
                    group,
                    None,
                    ifindex,
                    DownstreamEvent::ReceivePrune,
                    holdtime,
                    None,
                    out,
                ),
                (false, true) => self.rpt_downstream_event(
                    now,
                    group,
                    p.source,
                    ifindex,
                    RptDownstreamEvent::ReceivePruneSgRpt,
                    holdtime,
                    out,
                ),
                (false, false) => self.downstream_event(
                    now,
                    group,
                    Some(p.source),
                    ifindex,
                    DownstreamEvent::ReceivePrune,
                    holdtime,
                    None,
                    out,
                ),
                (true, false) => self.drop_input(DropReason::BadGroup, Some(ifindex), Some(from), out),
            }
        }
        for s in self.rpt_sources_on(group, ifindex) {
            self.rpt_downstream_event(
                now,
                group,
                s,
                ifindex,
                RptDownstreamEvent::EndOfMessage,
                holdtime,
                out,
            );
        }
    }

    /// A (*,G) Join is ignored in SSM ranges (§4.8), without an RP, or naming another RP (§4.5.1).
    fn star_g_acceptable(
        &mut self,
        ifindex: IfIndex,
        from: A::Addr,
        group: A::Addr,
        rp: A::Addr,
        out: &mut Vec<Output<A>>,
    ) -> bool {
        let reason = if self.is_ssm(group) {
            DropReason::StarGJoinInSsmRange
        } else {
            match self.rp_for(group) {
                None => DropReason::NoRp,
                Some(ours) if ours != rp => DropReason::RpMismatch,
                Some(_) => return true,
            }
        };
        self.drop_input(reason, Some(ifindex), Some(from), out);
        false
    }

    fn rpt_sources_on(&self, group: A::Addr, ifindex: IfIndex) -> Vec<A::Addr> {
        self.rpt_downstream
            .range((group, A::UNSPECIFIED, IfIndex(0))..)
            .take_while(|((g, _, _), _)| *g == group)
            .filter(|((_, _, i), _)| *i == ifindex)
            .map(|((_, s, _), _)| *s)
            .collect()
    }

    /// Another router's group set, addressed to `upstream`: join suppression and prune override
    /// for our entries whose RPF' is that neighbour (§4.5.4, §4.5.5, §4.5.7).
    #[allow(clippy::too_many_arguments)]
    fn seen_group_set(
        &mut self,
        now: Instant,
        upstream: UpstreamNeighbor<A>,
        group: A::Addr,
        holdtime: Holdtime,
        joins: &[EncodedSource<A>],
        prunes: &[EncodedSource<A>],
        out: &mut Vec<Output<A>>,
    ) {
        let star_toward = self.groups.get(&group).is_some_and(|e| e.rpf_prime == Some(upstream));
        let sg_toward =
            |r: &Self, s: A::Addr| r.sources.get(&(group, s)).is_some_and(|e| e.rpf_prime == Some(upstream));
        let rpt_toward = |r: &Self, s: A::Addr| {
            r.sources.contains_key(&(group, s)) && r.rpf_prime_sg_rpt(s, group) == Some(upstream)
        };
        for (entry, join) in joins.iter().map(|e| (e, true)).chain(prunes.iter().map(|e| (e, false))) {
            let s = entry.source;
            match (entry.wildcard, entry.rpt, join) {
                // See Join(*,G) to RPF'(*,G).
                (true, _, true) if star_toward => {
                    self.star_g_event(now, group, UpstreamEvent::SeeJoinToRpfPrime, holdtime, None, out)
                }
                // See Prune(*,G) to RPF'(*,G), and to RPF'(S,G) for every (S,G) of the group.
                (true, _, false) => {
                    if star_toward {
                        self.star_g_event(now, group, UpstreamEvent::SeePruneToRpfPrime, holdtime, None, out);
                    }
                    let sources: Vec<A::Addr> = self.group_sources(group).collect();
                    let toward: Vec<A::Addr> = sources.into_iter().filter(|s| sg_toward(self, *s)).collect();
                    for s in toward {
                        self.sg_event(now, group, s, UpstreamEvent::SeePruneToRpfPrime, holdtime, None, out);
                    }
                }
                // See Join(S,G) to RPF'(S,G).
                (false, false, true) if sg_toward(self, s) => {
                    self.sg_event(now, group, s, UpstreamEvent::SeeJoinToRpfPrime, holdtime, None, out)
                }
                // See Prune(S,G): to RPF'(S,G) (§4.5.5) and to RPF'(S,G,rpt) (§4.5.7).
                (false, false, false) => {
                    if sg_toward(self, s) {
                        self.sg_event(now, group, s, UpstreamEvent::SeePruneToRpfPrime, holdtime, None, out);
                    }
                    if rpt_toward(self, s) {
                        self.rpt_event(now, group, s, RptUpstreamEvent::SeePruneToRpfPrime, out);
                    }
                }
                // See Join(S,G,rpt) to RPF'(S,G,rpt).
                (false, true, true) if rpt_toward(self, s) => {
                    self.rpt_event(now, group, s, RptUpstreamEvent::SeeJoinToRpfPrime, out)
                }
                // See Prune(S,G,rpt): to RPF'(S,G,rpt) (§4.5.7) and to RPF'(S,G) (§4.5.5).
                (false, true, false) => {
                    if rpt_toward(self, s) {
                        self.rpt_event(now, group, s, RptUpstreamEvent::SeePruneToRpfPrime, out);
                    }
                    if sg_toward(self, s) {
                        self.sg_event(now, group, s, UpstreamEvent::SeePruneToRpfPrime, holdtime, None, out);
                    }
                }
                _ => {}
            }
        }
    }

    /// Feeds one event to the (*,G) (`source` None) or (S,G) downstream machine of `ifindex`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn downstream_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
        event: DownstreamEvent,
        holdtime: Holdtime,
        joiner: Option<A::Addr>,
        out: &mut Vec<Output<A>>,
    ) {
        let state =
            self.downstream_state(group, source, ifindex).map_or(DownstreamState::NoInfo, |e| e.state);
        let step = downstream::transition(state, event);
        if state == DownstreamState::NoInfo && step.next != DownstreamState::NoInfo {
            let Some(joiner) = joiner else { return };
            if !self.admit_downstream(group, source, ifindex, joiner, out) {
                return;
            }
            self.insert_downstream(group, source, ifindex, DownstreamEntry { state, joiner, expiry: None });
            *self.per_interface.entry(ifindex).or_insert(0) += 1;
            *self.per_neighbor.entry((ifindex, joiner)).or_insert(0) += 1;
        }
        let expiry = Timer::Expiry(group, source, ifindex);
        let prune_pending = Timer::PrunePending(group, source, ifindex);
        for action in step.actions {
            match action {
                DownstreamAction::ExtendExpiry => self.extend(expiry.clone(), now, holdtime),
                DownstreamAction::StartPrunePending => {
                    let delay = self.prune_pending_delay(ifindex);
                    self.arm(prune_pending.clone(), now, delay);
                }
                DownstreamAction::CancelPrunePending => {
                    self.cancel_timer(&prune_pending);
                }
                DownstreamAction::CancelExpiry => {
                    self.cancel_timer(&expiry);
                }
                DownstreamAction::SendPruneEcho => self.send_prune_echo(group, source, ifindex),
            }
        }
        let (from, to) = (MachineState::Downstream(state), MachineState::Downstream(step.next));
        self.log_state(SgKey { source, group }, Some(ifindex), from, to, out);
        if step.next == DownstreamState::NoInfo {
            self.remove_downstream(group, source, ifindex);
        } else if let Some(e) = self.downstream_state_mut(group, source, ifindex) {
            e.state = step.next;
        }
        // A refresh (Join in Join) only moves a timer: nothing to re-evaluate.
        if state != step.next {
            self.mark_dirty_entry(group, source);
        }
    }

    /// Checks the per-interface, per-neighbour and global limits before creating a state.
    fn admit_downstream(
        &mut self,
        group: A::Addr,
        source: Option<A::Addr>,
        ifindex: IfIndex,
        joiner: A::Addr,
        out: &mut Vec<Output<A>>,
    ) -> bool {
        let max_if = self.interfaces.get(&ifindex).map_or(0, |i| i.config.max_states);
        if self.per_interface.get(&ifindex).copied().unwrap_or(0) >= max_if {
            self.drop_input(DropReason::LimitInterface, Some(ifindex), Some(joiner), out);
            return false;
        }
        if self.per_neighbor.get(&(ifindex, joiner)).copied().unwrap_or(0)
            >= self.config.max_states_per_neighbor
        {
            self.drop_input(DropReason::LimitNeighbor, Some(ifindex), Some(joiner), out);
            return false;
        }
        match source {
            None => self.ensure_group(group, out),
            Some(s) => self.ensure_source(group, s, out),
        }
    }

    pub(crate) fn remove_downstream(&mut self, group: A::Addr, source: Option<A::Addr>, ifindex: IfIndex) {
        if let Some(e) = self.take_downstream(group, source, ifindex) {
            if let Some(n) = self.per_interface.get_mut(&ifindex) {
                *n = n.saturating_sub(1);
            }
            if let Some(n) = self.per_neighbor.get_mut(&(ifindex, e.joiner)) {
                *n = n.saturating_sub(1);
            }
        }
        self.cancel_timer(&Timer::Expiry(group, source, ifindex));
        self.cancel_timer(&Timer::PrunePending(group, source, ifindex));
        self.mark_dirty_entry(group, source);
    }

    /// Feeds one event to the (S,G,rpt) downstream machine of `ifindex` (§4.5.3).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rpt_downstream_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        ifindex: IfIndex,
        event: RptDownstreamEvent,
        holdtime: Holdtime,
        out: &mut Vec<Output<A>>,
    ) {
        let key = (group, source, ifindex);
        let state = self.rpt_downstream.get(&key).copied().unwrap_or(RptDownstreamState::NoInfo);
        let step = downstream::rpt_transition(state, event);
        if state == RptDownstreamState::NoInfo && step.next != RptDownstreamState::NoInfo {
            let max_if = self.interfaces.get(&ifindex).map_or(0, |i| i.config.max_states);
            if self.per_interface.get(&ifindex).copied().unwrap_or(0) >= max_if {
                self.drop_input(DropReason::LimitInterface, Some(ifindex), None, out);
                return;
            }
            if !self.ensure_source(group, source, out) {
                return;
            }
            self.rpt_downstream.insert(key, state);
            *self.per_interface.entry(ifindex).or_insert(0) += 1;
        }
        let expiry = Timer::RptExpiry(group, source, ifindex);
        let prune_pending = Timer::RptPrunePending(group, source, ifindex);
        for action in step.actions {
            match action {
                RptDownstreamAction::ExtendExpiry => self.extend(expiry.clone(), now, holdtime),
                RptDownstreamAction::StartPrunePending => {
                    let delay = self.prune_pending_delay(ifindex);
                    self.arm(prune_pending.clone(), now, delay);
                }
                RptDownstreamAction::CancelPrunePending => {
                    self.cancel_timer(&prune_pending);
                }
                RptDownstreamAction::CancelExpiry => {
                    self.cancel_timer(&expiry);
                }
            }
        }
        let (from, to) = (MachineState::RptDownstream(state), MachineState::RptDownstream(step.next));
        self.log_state(SgKey::sg(source, group), Some(ifindex), from, to, out);
        if step.next == RptDownstreamState::NoInfo {
            self.remove_rpt_downstream(group, source, ifindex);
        } else {
            self.rpt_downstream.insert(key, step.next);
        }
        self.mark_dirty_entry(group, Some(source));
    }

    pub(crate) fn remove_rpt_downstream(&mut self, group: A::Addr, source: A::Addr, ifindex: IfIndex) {
        if self.rpt_downstream.remove(&(group, source, ifindex)).is_some() {
            if let Some(n) = self.per_interface.get_mut(&ifindex) {
                *n = n.saturating_sub(1);
            }
        }
        self.cancel_timer(&Timer::RptExpiry(group, source, ifindex));
        self.cancel_timer(&Timer::RptPrunePending(group, source, ifindex));
        self.mark_dirty_entry(group, Some(source));
    }

    /// ET = max(ET, holdtime); a holdtime of forever stops the timer.
    fn extend(&mut self, timer: Timer<A>, now: Instant, holdtime: Holdtime) {
        match holdtime {
            None => {
                self.cancel_timer(&timer);
            }
            Some(h) => {
                let deadline = now + h;
                if self.timer_deadline(&timer).map_or(true, |d| d < deadline) {
                    self.arm_at(timer, deadline);
                }
            }
        }
    }

    /// The Prune-Pending delay (§4.5.1): J/P_Override_Interval(I) with several neighbours; zero
    /// with one, since nobody can override.
    fn prune_pending_delay(&self, ifindex: IfIndex) -> Duration {
        if self.neighbors_on(ifindex).nth(1).is_some() {
            self.jp_override_interval(ifindex)
        } else {
            Duration::ZERO
        }
    }

    /// PruneEcho (§4.5.1): a Prune addressed to ourselves, so that routers whose Join we missed
    /// override it.
    fn send_prune_echo(&mut self, group: A::Addr, source: Option<A::Addr>, ifindex: IfIndex) {
        if self.neighbors_on(ifindex).nth(1).is_none() {
            return;
        }
        let Some(me) = self.interfaces.get(&ifindex).map(|i| i.primary) else { return };
        let entry = match source {
            Some(s) => EncodedSource::sg(s),
            None => match self.rp_for(group) {
                Some(rp) => EncodedSource::star_g(rp),
                None => return,
            },
        };
        self.queue_join_prune(UpstreamNeighbor { ifindex, neighbor: me }, group, false, entry);
    }

    /// Queues Join(*,G) toward `up` with the Prune(S,G,rpt) of every pruned source whose
    /// RPF'(S,G,rpt) is the same neighbour (§4.5.6).
    fn queue_star_g_join(&mut self, group: A::Addr, up: UpstreamNeighbor<A>) {
        let Some(rp) = self.rp_for(group) else { return };
        if let Some(e) = self.groups.get_mut(&group) {
            e.joined_rp = Some(rp);
        }
        self.queue_join_prune(up, group, true, EncodedSource::star_g(rp));
        let pruned: Vec<A::Addr> = self
            .group_sources(group)
            .filter(|s| self.sources.get(&(group, *s)).is_some_and(|e| e.rpt == RptUpstreamState::Pruned))
            .collect();
        for s in pruned {
            if self.rpf_prime_sg_rpt(s, group) == Some(up) {
                self.queue_join_prune(up, group, false, EncodedSource::sg_rpt(s));
            }
        }
    }

    /// Feeds one event to the (*,G) upstream machine (§4.5.4). `old` is RPF'(*,G) before a change.
    pub(crate) fn star_g_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        event: UpstreamEvent,
        holdtime: Holdtime,
        old: Option<UpstreamNeighbor<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(entry) = self.groups.get(&group) else { return };
        let (state, current) = (entry.upstream, entry.rpf_prime);
        let step = upstream::transition(state, event, false);
        let rp = entry.joined_rp.or(self.rp_for(group));
        let timer = Timer::Join(group, None);
        for action in step.actions {
            match action {
                UpstreamAction::SendJoin => {
                    if let Some(up) = current {
                        self.queue_star_g_join(group, up);
                    }
                }
                UpstreamAction::SendPrune => {
                    if let (Some(up), Some(rp)) = (old.or(current), rp) {
                        self.queue_join_prune(up, group, false, EncodedSource::star_g(rp));
                    }
                }
                UpstreamAction::SendJoinToNewPruneToOld => {
                    if let Some(up) = current {
                        self.queue_star_g_join(group, up);
                    }
                    if let (Some(up), Some(rp)) = (old, rp) {
                        self.queue_join_prune(up, group, false, EncodedSource::star_g(rp));
                    }
                }
                action => self.join_timer_action(now, timer.clone(), *action, current, holdtime),
            }
        }
        let (from, to) = (MachineState::Upstream(state), MachineState::Upstream(step.next));
        self.log_state(SgKey::star_g(group), None, from, to, out);
        if let Some(e) = self.groups.get_mut(&group) {
            e.upstream = step.next;
        }
        if state != step.next {
            self.dirty.insert(group);
        }
    }

    /// Feeds one event to the (S,G) upstream machine (§4.5.5).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sg_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        event: UpstreamEvent,
        holdtime: Holdtime,
        old: Option<UpstreamNeighbor<A>>,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(entry) = self.sources.get(&(group, source)) else { return };
        let (state, current) = (entry.upstream, entry.rpf_prime);
        let step = upstream::transition(state, event, true);
        let timer = Timer::Join(group, Some(source));
        let entry_code = EncodedSource::sg(source);
        for action in step.actions {
            match action {
                UpstreamAction::SendJoin => {
                    if let Some(up) = current {
                        self.queue_join_prune(up, group, true, entry_code);
                    }
                }
                UpstreamAction::SendPrune => {
                    if let Some(up) = old.or(current) {
                        self.queue_join_prune(up, group, false, entry_code);
                    }
                }
                UpstreamAction::SendJoinToNewPruneToOld => {
                    if let Some(up) = current {
                        self.queue_join_prune(up, group, true, entry_code);
                    }
                    if let Some(up) = old {
                        self.queue_join_prune(up, group, false, entry_code);
                    }
                }
                UpstreamAction::ClearSptBit => {
                    if let Some(e) = self.sources.get_mut(&(group, source)) {
                        e.spt_bit = false;
                    }
                }
                action => self.join_timer_action(now, timer.clone(), *action, current, holdtime),
            }
        }
        let (from, to) = (MachineState::Upstream(state), MachineState::Upstream(step.next));
        self.log_state(SgKey::sg(source, group), None, from, to, out);
        if let Some(e) = self.sources.get_mut(&(group, source)) {
            e.upstream = step.next;
        }
        if state != step.next {
            self.mark_dirty_entry(group, Some(source));
        }
    }

    /// The Join Timer actions shared by (*,G) and (S,G).
    fn join_timer_action(
        &mut self,
        now: Instant,
        timer: Timer<A>,
        action: UpstreamAction,
        upstream: Option<UpstreamNeighbor<A>>,
        holdtime: Holdtime,
    ) {
        match action {
            UpstreamAction::SetJoinTimerPeriodic => {
                let period = self.config.join_prune_period;
                self.arm(timer, now, period);
            }
            UpstreamAction::CancelJoinTimer => {
                self.cancel_timer(&timer);
            }
            UpstreamAction::IncreaseJoinTimer => {
                if let Some(up) = upstream {
                    let deadline = now + self.t_joinsuppress(up.ifindex, holdtime);
                    if self.timer_deadline(&timer).is_some_and(|d| d < deadline) {
                        self.arm_at(timer, deadline);
                    }
                }
            }
            UpstreamAction::DecreaseJoinTimer => {
                if let Some(up) = upstream {
                    let deadline = now + self.t_override(up.ifindex);
                    if self.timer_deadline(&timer).is_some_and(|d| d > deadline) {
                        self.arm_at(timer, deadline);
                    }
                }
            }
            UpstreamAction::SendJoin
            | UpstreamAction::SendPrune
            | UpstreamAction::SendJoinToNewPruneToOld
            | UpstreamAction::ClearSptBit => {}
        }
    }

    /// Feeds one event to the (S,G,rpt) upstream machine (§4.5.7).
    pub(crate) fn rpt_event(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        event: RptUpstreamEvent,
        out: &mut Vec<Output<A>>,
    ) {
        let Some(entry) = self.sources.get(&(group, source)) else { return };
        let state = entry.rpt;
        let step = upstream::rpt_transition(state, event);
        let up = self.rpf_prime_sg_rpt(source, group);
        let timer = Timer::Override(group, source);
        for action in step.actions {
            match action {
                RptUpstreamAction::SendPrune => {
                    if let Some(up) = up {
                        self.queue_join_prune(up, group, false, EncodedSource::sg_rpt(source));
                    }
                }
                RptUpstreamAction::SendJoin => {
                    if let Some(up) = up {
                        self.queue_join_prune(up, group, true, EncodedSource::sg_rpt(source));
                    }
                }
                RptUpstreamAction::CancelOverride => {
                    self.cancel_timer(&timer);
                }
                RptUpstreamAction::DecreaseOverride => {
                    if let Some(up) = up {
                        let deadline = now + self.t_override(up.ifindex);
                        if self.timer_deadline(&timer).map_or(true, |d| d > deadline) {
                            self.arm_at(timer.clone(), deadline);
                        }
                    }
                }
            }
        }
        let (from, to) = (MachineState::RptUpstream(state), MachineState::RptUpstream(step.next));
        self.log_state(SgKey::sg(source, group), None, from, to, out);
        if let Some(e) = self.sources.get_mut(&(group, source)) {
            e.rpt = step.next;
        }
        if state != step.next {
            self.mark_dirty_entry(group, Some(source));
        }
    }

    /// The sources of `group` anything refers to.
    fn sources_of(&self, group: A::Addr) -> BTreeSet<A::Addr> {
        let mut set: BTreeSet<A::Addr> = self.group_sources(group).collect();
        set.extend(
            self.rpt_downstream
                .range((group, A::UNSPECIFIED, IfIndex(0))..)
                .take_while(|((g, _, _), _)| *g == group)
                .map(|((_, s, _), _)| *s),
        );
        for ((_, _), filter) in
            self.members.range((group, IfIndex(0))..).take_while(|((g, _), _)| *g == group)
        {
            if let crate::io::SourceFilter::Include(sources) = filter {
                set.extend(sources.iter().copied());
            }
        }
        set
    }

    /// Re-evaluates one group after anything it depends on changed: the (*,G), (S,G), (S,G,rpt)
    /// upstream machines and the register machines get their "becomes true / false" and "RPF'
    /// changes" events, unused entries are removed, and mroute intents are updated.
    pub(crate) fn refresh_group(&mut self, now: Instant, group: A::Addr, out: &mut Vec<Output<A>>) {
        let rp = self.rp_for(group);
        let remote_rp: Vec<A::Addr> = rp.filter(|rp| !self.is_my_address(*rp)).into_iter().collect();

        // Assert machines first (§4.6): their outcome feeds lost_assert and RPF'.
        if !self.asserts.is_empty() {
            self.refresh_asserts(now, group, out);
        }

        // (*,G) upstream, §4.5.4.
        if self.join_desired_star_g(group) {
            self.ensure_group(group, out);
        }
        if let Some(entry) = self.groups.get(&group) {
            let (state, old, held) = (entry.upstream, entry.rpf_prime, entry.watched.clone());
            let wanted = if self.is_ssm(group) { Vec::new() } else { remote_rp.clone() };
            self.rewatch(&held, &wanted, out);
            let desired = self.join_desired_star_g(group);
            let new = self.rpf_prime_star_g(group);
            if let Some(e) = self.groups.get_mut(&group) {
                e.rpf_prime = new;
                e.watched = wanted;
            }
            let event = match (state, desired) {
                (UpstreamState::NotJoined, true) => Some(UpstreamEvent::JoinDesiredTrue),
                (UpstreamState::Joined, false) => Some(UpstreamEvent::JoinDesiredFalse),
                (UpstreamState::Joined, true) if old != new => Some(self.rpf_change_event(group, None)),
                _ => None,
            };
            if let Some(event) = event {
                self.star_g_event(now, group, event, None, old, out);
            }
        }

        for source in self.sources_of(group) {
            self.refresh_source(now, group, source, rp, &remote_rp, out);
        }

        // Remove the (*,G) entry once nothing refers to it.
        let unused = self.groups.get(&group).is_some_and(|e| e.upstream == UpstreamState::NotJoined)
            && !self.star_g_downstream.contains_key(&group)
            && self.local_receiver_include_star_g(group).is_empty();
        if unused {
            if let Some(e) = self.groups.remove(&group) {
                if e.intent.is_some() {
                    out.push(Output::MrouteRemove(SgKey::star_g(group)));
                }
                self.cancel_timer(&Timer::Join(group, None));
                self.rewatch(&e.watched, &[], out);
            }
        }
        let star = self.star_g_intent(group, rp);
        self.set_intent(star, SgKey::star_g(group), out);
        if !self.assert_rpf_changed.is_empty() {
            self.assert_rpf_changed.retain(|(g, _)| *g != group);
        }
    }

    /// The upstream event for an RPF' change of (*,G) (`source` None) or (S,G): due to an Assert
    /// when the entry's Assert state on its RPF interface changed since the last evaluation.
    fn rpf_change_event(&self, group: A::Addr, source: Option<A::Addr>) -> UpstreamEvent {
        if self.assert_rpf_changed.contains(&(group, source)) {
            UpstreamEvent::RpfPrimeChangedByAssert
        } else {
            UpstreamEvent::RpfPrimeChanged
        }
    }

    /// Re-evaluates one (S,G) entry after something only it depends on changed (the route to S).
    pub(crate) fn refresh_one_source(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        let rp = self.rp_for(group);
        let remote_rp: Vec<A::Addr> = rp.filter(|rp| !self.is_my_address(*rp)).into_iter().collect();
        if !self.asserts.is_empty() {
            self.refresh_asserts(now, group, out);
        }
        self.refresh_source(now, group, source, rp, &remote_rp, out);
        self.assert_rpf_changed.remove(&(group, Some(source)));
    }

    fn refresh_source(
        &mut self,
        now: Instant,
        group: A::Addr,
        source: A::Addr,
        rp: Option<A::Addr>,
        remote_rp: &[A::Addr],
        out: &mut Vec<Output<A>>,
    ) {
        let key = (group, source);
        // The outgoing lists depend on downstream, membership and Assert state, which nothing
        // below changes: evaluated once.
        let lists = self.sg_lists(source, group);
        let wanted_state = !lists.immediate.is_empty()
            || self
                .rpt_downstream
                .range((group, source, IfIndex(0))..)
                .next()
                .is_some_and(|((g, s, _), _)| *g == group && *s == source);
        if wanted_state {
            self.ensure_source(group, source, out);
        }
        let Some(entry) = self.sources.get(&key) else {
            self.set_intent(None, SgKey::sg(source, group), out);
            return;
        };
        let (state, old, held) = (entry.upstream, entry.rpf_prime, entry.watched.clone());
        let mut wanted: SmallVec<[A::Addr; 2]> = smallvec![source];
        wanted.extend(remote_rp.iter().copied().filter(|rp| *rp != source));
        self.rewatch(&held, &wanted, out);

        // (S,G) upstream, §4.5.5.
        let desired = self.join_desired_sg_given(source, group, &lists);
        let new = self.rpf_prime_sg(source, group);
        if let Some(e) = self.sources.get_mut(&key) {
            e.rpf_prime = new;
            e.watched = wanted;
        }
        let event = match (state, desired) {
            (UpstreamState::NotJoined, true) => Some(UpstreamEvent::JoinDesiredTrue),
            (UpstreamState::Joined, false) => Some(UpstreamEvent::JoinDesiredFalse),
            (UpstreamState::Joined, true) if old != new => Some(self.rpf_change_event(group, Some(source))),
            _ => None,
        };
        if let Some(event) = event {
            self.sg_event(now, group, source, event, None, old, out);
        }

        // (S,G,rpt) upstream, §4.5.7.
        let rpt_state = self.sources.get(&key).map_or(RptUpstreamState::RptNotJoined, |e| e.rpt);
        let rpt_desired = self.rpt_join_desired(group);
        let prune_desired = self.prune_desired_sg_rpt_given(source, group, rpt_desired, &lists);
        let olist_non_empty = !lists.inherited_rpt.is_empty();
        let event = if !rpt_desired && rpt_state != RptUpstreamState::RptNotJoined {
            Some(RptUpstreamEvent::RptJoinDesiredFalse)
        } else if prune_desired && rpt_state != RptUpstreamState::Pruned {
            Some(RptUpstreamEvent::PruneDesiredTrue)
        } else if !prune_desired && rpt_state == RptUpstreamState::Pruned {
            Some(RptUpstreamEvent::PruneDesiredFalse)
        } else if rpt_desired && olist_non_empty && rpt_state == RptUpstreamState::RptNotJoined {
            Some(RptUpstreamEvent::InheritedOlistNonEmpty)
        } else {
            None
        };
        if let Some(event) = event {
            self.rpt_event(now, group, source, event, out);
        }

        // Register, §4.4.1.
        let could = self.could_register(source, group);
        if let Some(e) = self.sources.get(&key) {
            let event = match (e.register, could) {
                (RegisterState::NoInfo, true) => Some(RegisterEvent::CouldRegisterTrue),
                (RegisterState::NoInfo, false) => None,
                (_, false) => Some(RegisterEvent::CouldRegisterFalse),
                (_, true) if e.register_rp != rp => Some(RegisterEvent::RpChanged),
                (_, true) => None,
            };
            if let Some(event) = event {
                self.register_event(now, group, source, event, out);
            }
        }

        // Remove the entry once nothing refers to it.
        let unused = self.sources.get(&key).is_some_and(|e| {
            e.upstream == UpstreamState::NotJoined
                && e.register == RegisterState::NoInfo
                && e.downstream.is_empty()
        }) && !self.keepalive_running(source, group)
            && !self.data_timer_running(Timer::DataTimeout(group, source))
            && self
                .rpt_downstream
                .range((group, source, IfIndex(0))..)
                .next()
                .map_or(true, |((g, s, _), _)| *g != group || *s != source)
            && self.local_receiver_include_sg(source, group).is_empty();
        if unused {
            if let Some(e) = self.sources.remove(&key) {
                if e.intent.is_some() {
                    out.push(Output::MrouteRemove(SgKey::sg(source, group)));
                }
                self.sources_by_group.remove(group, source);
                self.sources_by_source.remove(source, group);
                self.pending_arrivals.remove(&key);
                self.rate_samples.remove(&key);
                self.spt_rate_exceeded.remove(&key);
                for timer in [
                    Timer::Join(group, Some(source)),
                    Timer::Override(group, source),
                    Timer::RegisterStop(group, source),
                ] {
                    self.cancel_timer(&timer);
                }
                self.rewatch(&e.watched, &[], out);
            }
        }
        let intent = self.sg_intent(group, source, rp, lists);
        self.set_intent(intent, SgKey::sg(source, group), out);
        // The entry's own changes above are accounted for by the steps after them.
        if let Some(e) = self.sources.get_mut(&key) {
            e.dirty = false;
        }
    }

    /// The (*,G) mroute intent: from RPF_interface(RP) to immediate_olist(*,G).
    fn star_g_intent(&self, group: A::Addr, rp: Option<A::Addr>) -> Option<MrouteIntent<A>> {
        let entry = self.groups.get(&group)?;
        let rp = rp?;
        let oifs = self.immediate_olist_star_g(group);
        if entry.upstream != UpstreamState::Joined && oifs.is_empty() {
            return None;
        }
        let iif = if self.i_am_rp(group) { None } else { self.rpf_interface(rp) };
        Some(MrouteIntent { key: SgKey::star_g(group), iif, oifs, register: false, spt: false })
    }

    /// The (S,G) mroute intent (§4.2): on the SPT (SPT bit set, source connected, or no shared
    /// tree to take it from) from RPF_interface(S) to inherited_olist(S,G); otherwise from
    /// RPF_interface(RP) to inherited_olist(S,G,rpt), so that a packet arriving on the SPT is
    /// reported as a wrong-interface upcall and sets the SPT bit.
    fn sg_intent(
        &self,
        group: A::Addr,
        source: A::Addr,
        rp: Option<A::Addr>,
        lists: SgLists,
    ) -> Option<MrouteIntent<A>> {
        let entry = self.sources.get(&(group, source))?;
        let rp_iif = rp.filter(|_| !self.i_am_rp(group)).and_then(|rp| self.rpf_interface(rp));
        let on_rpt = !entry.spt_bit
            && !self.directly_connected(source)
            && rp_iif.is_some()
            && self.star_g_joined(group);
        let (iif, oifs) = if on_rpt {
            (rp_iif, lists.inherited_rpt)
        } else {
            (self.rpf_interface(source), lists.inherited())
        };
        Some(MrouteIntent {
            key: SgKey::sg(source, group),
            iif,
            oifs,
            register: entry.register == RegisterState::Join,
            spt: !on_rpt,
        })
    }
}
