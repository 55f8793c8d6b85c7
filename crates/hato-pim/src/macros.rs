//! The macros of RFC 7761 §4.1.6 (and the RPF macros of §4.5.4-§4.5.7) as pure functions over the
//! router's state: outgoing lists, JoinDesired / PruneDesired, RPF' and `could_register`. None of
//! them changes anything.
//!
//! The Assert macros (`lost_assert`, `CouldAssert`, the assert metrics) are in [`crate::assert`];
//! every RPF' goes through [`PimRouter::rpf_prime`], where an Assert winner takes precedence over
//! the MRIB neighbour.

use hato_core::vec_map::{VecMap, VecSet};
use hato_core::{Afi, IfIndex};

use crate::config::SptPolicy;
use crate::fsm::downstream::{DownstreamState, RptDownstreamState};
use crate::fsm::upstream::UpstreamState;
use crate::io::{OifReason, SourceFilter};
use crate::router::{PimRouter, Timer, UpstreamNeighbor};

/// An outgoing interface list with the reason each interface is in it (four interfaces inline).
pub type OifList = VecMap<IfIndex, OifReason, 4>;

/// `a (+) b`: union, keeping `a`'s reason for interfaces in both.
fn union(mut a: OifList, b: OifList) -> OifList {
    for (i, r) in b {
        a.get_or_insert(i, r);
    }
    a
}

/// `a (-) b`.
fn minus(mut a: OifList, b: &VecSet<IfIndex>) -> OifList {
    a.retain(|i, _| !b.contains(i));
    a
}

fn tagged(set: VecSet<IfIndex>, reason: OifReason) -> OifList {
    set.into_iter().map(|i| (i, reason)).collect()
}

/// `immediate_olist(S,G)` and `inherited_olist(S,G,rpt)` of one entry.
#[derive(Debug, Clone)]
pub(crate) struct SgLists {
    pub(crate) immediate: OifList,
    pub(crate) inherited_rpt: OifList,
}

impl SgLists {
    /// `inherited_olist(S,G) = inherited_olist(S,G,rpt) (+) immediate_olist(S,G)`.
    pub(crate) fn inherited(&self) -> OifList {
        union(self.immediate.clone(), self.inherited_rpt.clone())
    }
}

impl<A: Afi> PimRouter<A> {
    // ---- RP, SSM, RPF ----

    /// RP(G): the static RP of the longest matching group range (§4.7); none in SSM ranges.
    pub(crate) fn rp_for(&self, group: A::Addr) -> Option<A::Addr> {
        if self.is_ssm(group) {
            return None;
        }
        self.rps.longest_match(group).map(|(_, rp)| *rp)
    }

    /// Whether the group is in an SSM range (RFC 4607 §1, RFC 7761 §4.8).
    pub(crate) fn is_ssm(&self, group: A::Addr) -> bool {
        self.ssm_ranges.iter().any(|p| A::prefix_contains(p, group))
    }

    /// Whether `addr` is one of this router's addresses on any PIM interface.
    pub(crate) fn is_my_address(&self, addr: A::Addr) -> bool {
        self.interfaces.values().any(|i| i.primary == addr || i.secondary.contains(&addr))
    }

    /// `I_am_RP(G)`.
    pub(crate) fn i_am_rp(&self, group: A::Addr) -> bool {
        self.rp_for(group).is_some_and(|rp| self.is_my_address(rp))
    }

    /// `RPF_interface(target)`: the MRIB's interface toward a source or RP.
    pub(crate) fn rpf_interface(&self, target: A::Addr) -> Option<IfIndex> {
        self.rpf.get(&target).and_then(|r| r.interface)
    }

    /// `DirectlyConnected(S)`.
    pub(crate) fn directly_connected(&self, source: A::Addr) -> bool {
        self.rpf.get(&source).is_some_and(|r| r.connected && r.interface.is_some())
    }

    /// `NBR(I, A)`: the neighbour on `ifindex` whose primary or secondary address is `addr`.
    pub(crate) fn nbr(&self, ifindex: IfIndex, addr: A::Addr) -> Option<A::Addr> {
        if self.neighbors.contains_key(&(ifindex, addr)) {
            return Some(addr);
        }
        self.neighbors
            .range((ifindex, A::UNSPECIFIED)..)
            .take_while(|((i, _), _)| *i == ifindex)
            .find(|(_, n)| n.secondary.contains(&addr))
            .map(|((_, a), _)| *a)
    }

    /// RPF'(target) for an entry (§4.5.4, §4.5.5): the Assert winner on the RPF interface if we
    /// lost an Assert there, else NBR(RPF_interface, MRIB.next_hop). The one place RPF' is made.
    pub(crate) fn rpf_prime(
        &self,
        source: Option<A::Addr>,
        group: A::Addr,
        target: A::Addr,
    ) -> Option<UpstreamNeighbor<A>> {
        let rpf = self.rpf.get(&target)?;
        let ifindex = rpf.interface?;
        if let Some(winner) = self.assert_winner(source, group, ifindex) {
            return Some(UpstreamNeighbor { ifindex, neighbor: winner });
        }
        let next_hop = rpf.neighbor?;
        self.nbr(ifindex, next_hop).map(|neighbor| UpstreamNeighbor { ifindex, neighbor })
    }

    /// RPF'(*,G) (§4.5.4); none on the RP and outside sparse-mode ranges.
    pub(crate) fn rpf_prime_star_g(&self, group: A::Addr) -> Option<UpstreamNeighbor<A>> {
        let rp = self.rp_for(group)?;
        if self.i_am_rp(group) {
            return None;
        }
        self.rpf_prime(None, group, rp)
    }

    /// RPF'(S,G) (§4.5.5).
    pub(crate) fn rpf_prime_sg(&self, source: A::Addr, group: A::Addr) -> Option<UpstreamNeighbor<A>> {
        self.rpf_prime(Some(source), group, source)
    }

    /// RPF'(S,G,rpt) (§4.5.7): AssertWinner(S,G,RPF_interface(RP(G))) if we lost an (S,G) Assert
    /// there, else RPF'(*,G).
    pub(crate) fn rpf_prime_sg_rpt(&self, source: A::Addr, group: A::Addr) -> Option<UpstreamNeighbor<A>> {
        let rp_iif = self.rp_for(group).and_then(|rp| self.rpf_interface(rp));
        if let Some(ifindex) = rp_iif {
            if let Some(winner) = self.assert_winner(Some(source), group, ifindex) {
                return Some(UpstreamNeighbor { ifindex, neighbor: winner });
            }
        }
        self.rpf_prime_star_g(group)
    }

    // ---- DR and local receivers (§4.1.6, §4.3.2) ----

    /// `I_am_DR(I)`.
    pub(crate) fn i_am_dr(&self, ifindex: IfIndex) -> bool {
        self.interfaces.get(&ifindex).is_some_and(|i| i.dr == i.primary)
    }

    fn filters(&self, group: A::Addr) -> impl Iterator<Item = (IfIndex, &SourceFilter<A>)> + '_ {
        self.members
            .range((group, IfIndex(0))..)
            .take_while(move |((g, _), _)| *g == group)
            .map(|((_, i), f)| (*i, f))
    }

    /// `local_receiver_include(*,G,I)`: an EXCLUDE-mode member (all sources wanted). Never in
    /// SSM ranges (RFC 4607 §2).
    pub(crate) fn local_receiver_include_star_g(&self, group: A::Addr) -> VecSet<IfIndex> {
        if self.is_ssm(group) {
            return VecSet::default();
        }
        self.filters(group).filter(|(_, f)| matches!(f, SourceFilter::Exclude(_))).map(|(i, _)| i).collect()
    }

    /// `local_receiver_include(S,G,I)`: an INCLUDE-mode member listing S.
    pub(crate) fn local_receiver_include_sg(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.filters(group)
            .filter(|(_, f)| matches!(f, SourceFilter::Include(s) if s.contains(&source)))
            .map(|(i, _)| i)
            .collect()
    }

    /// `local_receiver_exclude(S,G,I)`: an EXCLUDE-mode member excluding S.
    pub(crate) fn local_receiver_exclude_sg(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.filters(group)
            .filter(|(_, f)| matches!(f, SourceFilter::Exclude(s) if s.contains(&source)))
            .map(|(i, _)| i)
            .collect()
    }

    /// `pim_include(*,G)`: local receivers on interfaces where we are DR and did not lose an
    /// Assert, or where we won one.
    pub(crate) fn pim_include_star_g(&self, group: A::Addr) -> VecSet<IfIndex> {
        self.local_receiver_include_star_g(group)
            .into_iter()
            .filter(|i| {
                (self.i_am_dr(*i) && !self.lost_assert_star_g(group, *i))
                    || self.i_am_assert_winner(group, None, *i)
            })
            .collect()
    }

    /// `pim_include(S,G)`.
    pub(crate) fn pim_include_sg(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.local_receiver_include_sg(source, group)
            .into_iter()
            .filter(|i| {
                (self.i_am_dr(*i) && !self.lost_assert_sg(source, group, *i))
                    || self.i_am_assert_winner(group, Some(source), *i)
            })
            .collect()
    }

    /// `pim_exclude(S,G)`.
    pub(crate) fn pim_exclude_sg(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.local_receiver_exclude_sg(source, group).into_iter().filter(|i| self.i_am_dr(*i)).collect()
    }

    // ---- Join state (§4.1.6) ----

    fn joined(&self, group: A::Addr, source: Option<A::Addr>) -> VecSet<IfIndex> {
        self.downstream_of(group, source)
            .filter(|(_, e)| matches!(e.state, DownstreamState::Join | DownstreamState::PrunePending))
            .map(|(i, _)| i)
            .collect()
    }

    /// `joins(*,G)`: interfaces in Join or Prune-Pending for (*,G). Empty in SSM ranges.
    pub(crate) fn joins_star_g(&self, group: A::Addr) -> VecSet<IfIndex> {
        if self.is_ssm(group) || self.rp_for(group).is_none() {
            return VecSet::default();
        }
        self.joined(group, None)
    }

    /// `joins(S,G)`.
    pub(crate) fn joins_sg(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.joined(group, Some(source))
    }

    /// `prunes(S,G,rpt)`: interfaces in Prune or PruneTmp for (S,G,rpt).
    pub(crate) fn prunes_sg_rpt(&self, source: A::Addr, group: A::Addr) -> VecSet<IfIndex> {
        self.rpt_downstream
            .range((group, source, IfIndex(0))..)
            .take_while(|((g, s, _), _)| *g == group && *s == source)
            .filter(|(_, st)| matches!(st, RptDownstreamState::Prune | RptDownstreamState::PruneTmp))
            .map(|((_, _, i), _)| *i)
            .collect()
    }

    // ---- Outgoing lists (§4.1.6) ----

    /// `immediate_olist(*,G) = joins(*,G) (+) pim_include(*,G) (-) lost_assert(*,G)`.
    pub fn immediate_olist_star_g(&self, group: A::Addr) -> OifList {
        let list = union(
            tagged(self.joins_star_g(group), OifReason::Joined),
            tagged(self.pim_include_star_g(group), OifReason::LocalMember),
        );
        list.into_iter().filter(|(i, _)| !self.lost_assert_star_g(group, *i)).collect()
    }

    /// `immediate_olist(S,G) = joins(S,G) (+) pim_include(S,G) (-) lost_assert(S,G)`.
    pub fn immediate_olist_sg(&self, source: A::Addr, group: A::Addr) -> OifList {
        let list = union(
            tagged(self.joins_sg(source, group), OifReason::Joined),
            tagged(self.pim_include_sg(source, group), OifReason::LocalMember),
        );
        list.into_iter().filter(|(i, _)| !self.lost_assert_sg(source, group, *i)).collect()
    }

    /// `inherited_olist(S,G,rpt) = (joins(*,G) (-) prunes(S,G,rpt)) (+) (pim_include(*,G) (-)
    /// pim_exclude(S,G)) (-) (lost_assert(*,G) (+) lost_assert(S,G,rpt))`.
    pub fn inherited_olist_sg_rpt(&self, source: A::Addr, group: A::Addr) -> OifList {
        let joined = minus(
            tagged(self.joins_star_g(group), OifReason::SharedTree),
            &self.prunes_sg_rpt(source, group),
        );
        let local = minus(
            tagged(self.pim_include_star_g(group), OifReason::LocalMember),
            &self.pim_exclude_sg(source, group),
        );
        union(joined, local)
            .into_iter()
            .filter(|(i, _)| {
                !self.lost_assert_star_g(group, *i) && !self.lost_assert_sg_rpt(source, group, *i)
            })
            .collect()
    }

    /// `inherited_olist(S,G) = inherited_olist(S,G,rpt) (+) immediate_olist(S,G)`.
    pub fn inherited_olist_sg(&self, source: A::Addr, group: A::Addr) -> OifList {
        self.sg_lists(source, group).inherited()
    }

    /// The two outgoing lists every (S,G) macro is made of, evaluated once.
    pub(crate) fn sg_lists(&self, source: A::Addr, group: A::Addr) -> SgLists {
        SgLists {
            immediate: self.immediate_olist_sg(source, group),
            inherited_rpt: self.inherited_olist_sg_rpt(source, group),
        }
    }

    // ---- Desires (§4.5.4-§4.5.7, §4.4.1, §4.2.1) ----

    pub(crate) fn keepalive_running(&self, source: A::Addr, group: A::Addr) -> bool {
        self.data_timer_running(Timer::Keepalive(group, source))
    }

    /// `JoinDesired(*,G) = immediate_olist(*,G) != NULL` (with an RP, outside SSM ranges).
    pub fn join_desired_star_g(&self, group: A::Addr) -> bool {
        self.rp_for(group).is_some() && !self.immediate_olist_star_g(group).is_empty()
    }

    /// `JoinDesired(S,G) = immediate_olist(S,G) != NULL OR (KeepaliveTimer(S,G) is running AND
    /// inherited_olist(S,G) != NULL)`.
    pub fn join_desired_sg(&self, source: A::Addr, group: A::Addr) -> bool {
        self.join_desired_sg_given(source, group, &self.sg_lists(source, group))
    }

    /// `JoinDesired(S,G)` over lists already evaluated (`inherited_olist(S,G)` is non-empty when
    /// either of its parts is).
    pub(crate) fn join_desired_sg_given(&self, source: A::Addr, group: A::Addr, lists: &SgLists) -> bool {
        !lists.immediate.is_empty()
            || (self.keepalive_running(source, group) && !lists.inherited_rpt.is_empty())
    }

    /// `RPTJoinDesired(G) = JoinDesired(*,G)`.
    pub fn rpt_join_desired(&self, group: A::Addr) -> bool {
        self.join_desired_star_g(group)
    }

    /// `PruneDesired(S,G,rpt) = RPTJoinDesired(G) AND (inherited_olist(S,G,rpt) == NULL OR
    /// (SPTbit(S,G) AND RPF'(*,G) != RPF'(S,G)))`.
    pub fn prune_desired_sg_rpt(&self, source: A::Addr, group: A::Addr) -> bool {
        let lists = self.sg_lists(source, group);
        self.prune_desired_sg_rpt_given(source, group, self.rpt_join_desired(group), &lists)
    }

    /// `PruneDesired(S,G,rpt)` over `RPTJoinDesired(G)` and lists already evaluated.
    pub(crate) fn prune_desired_sg_rpt_given(
        &self,
        source: A::Addr,
        group: A::Addr,
        rpt_join_desired: bool,
        lists: &SgLists,
    ) -> bool {
        let spt_bit = self.sources.get(&(group, source)).is_some_and(|e| e.spt_bit);
        rpt_join_desired
            && (lists.inherited_rpt.is_empty()
                || (spt_bit && self.rpf_prime_star_g(group) != self.rpf_prime_sg(source, group)))
    }

    /// `CouldRegister(S,G) = I_am_DR(RPF_interface(S)) AND KeepaliveTimer(S,G) running AND
    /// DirectlyConnected(S)` (§4.4.1), for a sparse-mode group whose RP is another router.
    pub fn could_register(&self, source: A::Addr, group: A::Addr) -> bool {
        self.rpf_interface(source).is_some_and(|i| self.i_am_dr(i))
            && self.keepalive_running(source, group)
            && self.directly_connected(source)
            && self.rp_for(group).is_some()
            && !self.i_am_rp(group)
    }

    /// `SwitchToSptDesired(S,G)` (§4.2.1): the policy of the group's range; with a rate
    /// threshold, whether the source's rate has exceeded it (and then for good).
    pub fn switch_to_spt_desired(&self, source: A::Addr, group: A::Addr) -> bool {
        match self.spt_policy_for(group) {
            SptPolicy::Immediate => true,
            SptPolicy::Never => false,
            SptPolicy::Threshold { .. } => self.spt_rate_exceeded.contains(&(group, source)),
        }
    }

    /// The SPT policy of the longest matching range, else the router-wide one.
    pub(crate) fn spt_policy_for(&self, group: A::Addr) -> SptPolicy {
        self.spt_policies.longest_match(group).map_or(self.config.spt_policy, |(_, p)| *p)
    }

    /// Whether (*,G) upstream state is Joined.
    pub(crate) fn star_g_joined(&self, group: A::Addr) -> bool {
        self.groups.get(&group).is_some_and(|g| g.upstream == UpstreamState::Joined)
    }
}
