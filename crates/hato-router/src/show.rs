//! The protocol views of one family for `hatoctl show igmp|mld|pim ...`, built from the protocol
//! instances' own typed views with interface names resolved.

use hato_control::{
    GmpGroupView, GmpInterfaceView, GmpSourceView, PimBsrFamilyView, PimInterfaceView, PimJoinStateView,
    PimNeighborView, PimRpSetEntryView, PimRpView, PimUpstreamEntryView,
};
use hato_core::{AddressFamily, Afi, ForwardingPlane, Instant};
use hato_gmp::{FilterMode, GmpFamily, QuerierState};

use crate::family::Family;
use crate::interfaces::InterfaceTable;

fn family_label<A: Afi>() -> &'static str {
    match A::FAMILY {
        AddressFamily::Ipv4 => "ipv4",
        AddressFamily::Ipv6 => "ipv6",
    }
}

fn secs(duration: Option<hato_core::Duration>) -> Option<u64> {
    duration.map(|d| d.as_secs())
}

/// IGMP / MLD interfaces and groups.
pub fn gmp_interfaces<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<GmpInterfaceView> {
    let view = family.protocols().gmp.show(now);
    view.interfaces
        .into_iter()
        .map(|i| GmpInterfaceView {
            interface: interfaces.name_of(i.ifindex),
            address: i.address.into(),
            version: i.version.to_string(),
            querier: i.querier.into(),
            is_querier: i.querier_state == QuerierState::Querier,
            groups: i
                .groups
                .into_iter()
                .map(|g| GmpGroupView {
                    group: g.group.into(),
                    mode: match g.filter_mode {
                        FilterMode::Include => "include".into(),
                        FilterMode::Exclude => "exclude".into(),
                    },
                    compatibility: g.compatibility.to_string(),
                    expires_ms: g.group_timer_ms,
                    sources: g
                        .sources
                        .into_iter()
                        .map(|s| GmpSourceView {
                            source: s.source.into(),
                            forwarded: s.forwarded,
                            expires_ms: s.timer_ms,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// PIM neighbours.
pub fn pim_neighbors<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<PimNeighborView> {
    family
        .protocols()
        .pim
        .neighbors(now)
        .into_iter()
        .map(|n| PimNeighborView {
            interface: interfaces.name_of(n.ifindex),
            address: n.address.into(),
            secondary: n.secondary.into_iter().map(Into::into).collect(),
            uptime_secs: n.uptime.as_secs(),
            expires_secs: secs(n.expires_in),
            dr_priority: n.dr_priority,
            generation_id: n.generation_id,
        })
        .collect()
}

/// PIM interfaces.
pub fn pim_interfaces<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<PimInterfaceView> {
    family
        .protocols()
        .pim
        .interfaces(now)
        .into_iter()
        .map(|i| PimInterfaceView {
            interface: interfaces.name_of(i.ifindex),
            address: i.address.into(),
            dr: i.dr.into(),
            is_dr: i.is_dr,
            dr_priority: i.dr_priority,
            neighbors: i.neighbors,
            generation_id: i.generation_id,
            hello_in_secs: secs(i.hello_in),
            join_prune_states: i.join_prune_states,
        })
        .collect()
}

/// Downstream Join/Prune states.
pub fn pim_joins<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<PimJoinStateView> {
    family
        .protocols()
        .pim
        .join_states(now)
        .into_iter()
        .map(|s| PimJoinStateView {
            interface: interfaces.name_of(s.ifindex),
            source: s.key.source.map(Into::into),
            group: s.key.group.into(),
            kind: s.kind.to_string(),
            state: s.state,
            expires_secs: secs(s.expires_in),
        })
        .collect()
}

/// Upstream states.
pub fn pim_upstream<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<PimUpstreamEntryView> {
    family
        .protocols()
        .pim
        .upstream(now)
        .into_iter()
        .map(|u| PimUpstreamEntryView {
            source: u.key.source.map(Into::into),
            group: u.key.group.into(),
            state: u.state,
            rpt_state: u.rpt_state,
            rpf_interface: u.rpf_neighbor.map(|n| interfaces.name_of(n.ifindex)),
            rpf_neighbor: u.rpf_neighbor.map(|n| n.neighbor.into()),
            spt: u.spt_bit,
            register: u.register.map(|r| format!("{r:?}")),
            join_timer_secs: secs(u.join_timer_in),
            keepalive_secs: secs(u.keepalive_in),
        })
        .collect()
}

/// The RP of `group` and why.
pub fn pim_rp<A: GmpFamily, P: ForwardingPlane<A>>(family: &Family<A, P>, group: A::Addr) -> PimRpView {
    let protocols = family.protocols();
    let ssm = protocols.ssm_ranges().iter().any(|range| A::prefix_contains(range, group));
    match protocols.rp.decide(group) {
        Ok(decision) => PimRpView {
            group: group.into(),
            rp: Some(decision.rp.into()),
            source: Some(decision.source.to_string()),
            range: Some(decision.range.to_string()),
            ssm,
            explanation: decision.to_string(),
        },
        Err(no_rp) => PimRpView {
            group: group.into(),
            rp: None,
            source: None,
            range: None,
            ssm,
            explanation: format!("{group}: {no_rp}"),
        },
    }
}

/// Static RPs and the BSR-learned RP-Set.
pub fn pim_rp_set<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    now: Instant,
) -> Vec<PimRpSetEntryView> {
    let protocols = family.protocols();
    let statics = protocols.rp.static_rps().iter().map(|s| PimRpSetEntryView {
        range: s.range.to_string(),
        rp: s.address.into(),
        priority: s.priority,
        origin: "static".into(),
        expires_secs: None,
    });
    let learned = protocols.bsr.rp_set_view(now).entries.into_iter().map(|row| PimRpSetEntryView {
        range: row.group_prefix.to_string(),
        rp: row.rp.into(),
        priority: row.priority,
        origin: "bsr".into(),
        expires_secs: Some(row.expires_in),
    });
    statics.chain(learned).collect()
}

/// The BSR state.
pub fn pim_bsr<A: GmpFamily, P: ForwardingPlane<A>>(family: &Family<A, P>, now: Instant) -> PimBsrFamilyView {
    let view = family.protocols().bsr.view(now);
    PimBsrFamilyView {
        family: family_label::<A>().into(),
        state: view.state.to_string(),
        elected: view.elected.map(|id| id.address.into()),
        elected_priority: view.elected.map(|id| id.priority),
        candidate: view.candidate.map(|id| id.address.into()),
        bootstrap_accepted: view.counters.bootstrap_accepted,
        bootstrap_filtered: view.counters.bootstrap_filtered,
        bootstrap_boundary_dropped: view.counters.bootstrap_boundary_dropped,
        details: view.to_string(),
    }
}
