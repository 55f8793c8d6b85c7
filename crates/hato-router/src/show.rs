//! The protocol views of one family for `hatoctl show igmp|mld|pim ...` and `hatoctl dump`, built
//! from the protocol instances' own typed views with interface names resolved.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hato_control::{
    DumpAddressView, DumpBsrView, DumpCandidateRpView, DumpFamilyView, DumpGroupView, DumpInterfaceView,
    DumpNeighborView, DumpQuerierView, DumpRouteView, DumpRpView, DumpSourceView, GmpGroupView,
    GmpInterfaceView, GmpSourceView, PimAssertStateView, PimBsrFamilyView, PimInterfaceView,
    PimJoinStateView, PimNeighborView, PimRpSetEntryView, PimRpView, PimUpstreamEntryView,
};
use hato_core::{AddressFamily, Afi, ForwardingPlane, IfIndex, Instant, SgKey};
use hato_gmp::{FilterMode, GmpFamily, QuerierState};
use hato_pim::fsm::assert::AssertState;
use hato_pim::fsm::register::RegisterState;
use hato_pim::{OifReason, UpstreamView};

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
            other_querier_expires_ms: i.other_querier_present_timer_ms,
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

/// Assert states (RFC 7761 §4.6).
pub fn pim_asserts<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> Vec<PimAssertStateView> {
    family
        .protocols()
        .pim
        .asserts(now)
        .into_iter()
        .map(|a| PimAssertStateView {
            interface: interfaces.name_of(a.ifindex),
            source: a.key.source.map(Into::into),
            group: a.key.group.into(),
            state: format!("{:?}", a.state).to_lowercase(),
            winner: a.winner.into(),
            winner_rpt: a.winner_metric.rpt,
            winner_preference: a.winner_metric.preference,
            winner_metric: a.winner_metric.metric,
            expires_secs: secs(a.expires_in),
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

/// The version number at the end of a protocol version's name ("MLDv2" → 2).
fn version_number(name: &str) -> u8 {
    name.chars().last().and_then(|c| c.to_digit(10)).and_then(|d| u8::try_from(d).ok()).unwrap_or(0)
}

fn ms_to_secs(ms: Option<u64>) -> Option<u64> {
    ms.map(|ms| ms.div_ceil(1000))
}

/// The IPv6 scope zone of an address: the interface for link-local addresses, 0 otherwise.
fn scope_of(address: IpAddr, ifindex: IfIndex) -> u32 {
    match address {
        IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80 => ifindex.0,
        _ => 0,
    }
}

/// The whole state of one family for `hatoctl dump` (pim6sd's dump, seed 000).
pub fn dump_family<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
) -> DumpFamilyView {
    let protocols = family.protocols();
    let vifs = family.vifs();
    let mif_of = |ifindex: IfIndex| vifs.vif_of(ifindex).map(|v| v.0);
    let gmp = protocols.gmp.show(now);
    let pim_interfaces: BTreeMap<IfIndex, _> =
        protocols.pim.interfaces(now).into_iter().map(|i| (i.ifindex, i)).collect();
    let family_addresses = |ifindex: IfIndex| -> Vec<DumpAddressView> {
        interfaces
            .get(ifindex)
            .map(|i| {
                i.addresses
                    .iter()
                    .filter(|(addr, _)| A::from_ip(*addr).is_some())
                    .map(|(addr, len)| DumpAddressView {
                        address: format!("{addr}/{len}"),
                        scope: scope_of(*addr, ifindex),
                    })
                    .collect()
            })
            .unwrap_or_default()
    };

    let mut rows: Vec<DumpInterfaceView> = vifs
        .iter()
        .map(|(ifindex, binding)| {
            let gmp_interface = gmp.interfaces.iter().find(|g| g.ifindex == ifindex);
            let pim_interface = pim_interfaces.get(&ifindex);
            let up = interfaces.get(ifindex).is_some_and(|i| i.link.up);
            let flags = [
                (gmp_interface.is_none(), "NOLISTENER"),
                (!up, "DOWN"),
                (pim_interface.is_some_and(|p| p.is_dr), "DR"),
                (pim_interface.is_some_and(|p| p.neighbors > 0), "PIM"),
                (gmp_interface.is_some_and(|g| g.querier_state == QuerierState::Querier), "QRY"),
                (pim_interface.is_some_and(|p| p.neighbors == 0), "NO-NBR"),
            ];
            DumpInterfaceView {
                mif: binding.vif.0,
                interface: interfaces.name_of(ifindex),
                addresses: family_addresses(ifindex),
                flags: flags.iter().filter(|(on, _)| *on).map(|(_, flag)| flag.to_string()).collect(),
                pim_hello_secs: pim_interface.and_then(|p| secs(p.hello_in)).unwrap_or(0),
                query_secs: gmp_interface.and_then(|g| ms_to_secs(g.general_query_timer_ms)).unwrap_or(0),
                versions: gmp_interface
                    .map(|g| g.possible_versions.iter().map(|v| version_number(v)).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();
    if let Some(register) = vifs.register() {
        rows.push(DumpInterfaceView {
            mif: register.0,
            interface: "regist".into(),
            addresses: Vec::new(),
            flags: vec!["REGISTER".into()],
            pim_hello_secs: 0,
            query_secs: 0,
            versions: Vec::new(),
        });
    }
    rows.sort_by_key(|row| row.mif);
    let mif_count = rows.iter().map(|row| row.mif + 1).max().unwrap_or(0);

    let neighbors = protocols
        .pim
        .neighbors(now)
        .into_iter()
        .filter_map(|n| {
            Some(DumpNeighborView {
                mif: mif_of(n.ifindex)?,
                interface: interfaces.name_of(n.ifindex),
                address: n.address.into(),
                secondary: n.secondary.into_iter().map(Into::into).collect(),
                timer_secs: secs(n.expires_in).unwrap_or(0),
            })
        })
        .collect();

    let mut queriers = Vec::new();
    let mut groups = Vec::new();
    for g in &gmp.interfaces {
        let Some(mif) = mif_of(g.ifindex) else { continue };
        let interface = interfaces.name_of(g.ifindex);
        let timer_ms = match g.querier_state {
            QuerierState::Querier => g.general_query_timer_ms,
            QuerierState::NonQuerier => g.other_querier_present_timer_ms,
        };
        queriers.push(DumpQuerierView {
            mif,
            interface: interface.clone(),
            address: g.querier.into(),
            timer_secs: ms_to_secs(timer_ms).unwrap_or(0),
            last_secs: None,
        });
        for group in &g.groups {
            groups.push(DumpGroupView {
                mif,
                interface: interface.clone(),
                group: group.group.into(),
                timer_secs: ms_to_secs(group.group_timer_ms),
                version: version_number(group.compatibility),
                mode: match group.filter_mode {
                    FilterMode::Include => "include".into(),
                    FilterMode::Exclude => "exclude".into(),
                },
                compat_secs: ms_to_secs(group.compatibility_timer_ms),
                sources: group
                    .sources
                    .iter()
                    .map(|s| DumpSourceView { source: s.source.into(), timer_secs: ms_to_secs(s.timer_ms) })
                    .collect(),
            });
        }
    }

    let routes = dump_routes(family, now, mif_count);
    let bsr_view = protocols.bsr.view(now);
    let rp_set_view = protocols.bsr.rp_set_view(now);
    let local = |addr: A::Addr| {
        let addr: IpAddr = addr.into();
        interfaces.iter().any(|i| i.addresses.iter().any(|(a, _)| *a == addr))
    };
    let upstream_of = |rp: A::Addr| -> Option<IpAddr> {
        if local(rp) {
            return None;
        }
        family.rpf_lookup(rp).route.map(|r| r.neighbor.into())
    };
    let statics = protocols.rp.static_rps().iter().map(|s| DumpRpView {
        rp: s.address.into(),
        upstream: upstream_of(s.address),
        group_prefix: s.range.to_string(),
        priority: s.priority,
        holdtime: 0,
        age_secs: 0,
    });
    let learned = rp_set_view.entries.iter().map(|row| DumpRpView {
        rp: row.rp.into(),
        upstream: upstream_of(row.rp),
        group_prefix: row.group_prefix.to_string(),
        priority: row.priority,
        holdtime: row.holdtime,
        age_secs: row.expires_in,
    });
    let mut rp_set: Vec<DumpRpView> = statics.chain(learned).collect();
    rp_set.sort_by_key(|row| row.rp);

    DumpFamilyView {
        family: family_label::<A>().into(),
        interfaces: rows,
        neighbors,
        queriers,
        groups,
        mif_count,
        routes,
        bsr: rp_set_view.bsr.map(|b| DumpBsrView {
            address: b.address.into(),
            priority: b.priority,
            timeout_secs: rp_set_view.bsr_timeout.unwrap_or(0),
        }),
        rp_set,
        candidate_bsr: bsr_view.candidate.map(|c| DumpBsrView {
            address: c.address.into(),
            priority: c.priority,
            timeout_secs: bsr_view.bootstrap_timer.unwrap_or(0),
        }),
        candidate_rps: bsr_view
            .candidate_rps
            .iter()
            .map(|c| DumpCandidateRpView {
                rp: c.rp.into(),
                priority: c.priority,
                holdtime: c.holdtime,
                expires_secs: c.expires_in,
                groups: c.groups.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    }
}

/// The (*,G) and (S,G) entries with pim6sd's flags, bitmaps and timers, each group's (*,G)
/// first.
fn dump_routes<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    now: Instant,
    mif_count: u16,
) -> Vec<DumpRouteView> {
    let protocols = family.protocols();
    let vifs = family.vifs();
    let mif_of = |ifindex: IfIndex| vifs.vif_of(ifindex).map(|v| v.0);
    let upstream: BTreeMap<SgKey<A>, UpstreamView<A>> =
        protocols.pim.upstream(now).into_iter().map(|u| (u.key, u)).collect();
    let joins = protocols.pim.join_states(now);
    let asserts = protocols.pim.asserts(now);
    let mut routes: Vec<(SgKey<A>, DumpRouteView)> = family
        .mroutes()
        .iter()
        .map(|(key, entry)| {
            let key = &key;
            let merged = entry.merged();
            let desired = entry.desired(*key, vifs);
            let installed = desired.as_ref().is_some_and(|desired| entry.holds(desired));
            let pim_intent = protocols.pim.mroute(key);
            let intent = pim_intent.as_ref();
            let up = upstream.get(key);
            let ssm = protocols.ssm_ranges().iter().any(|range| A::prefix_contains(range, key.group));
            let rp = if ssm { None } else { protocols.rp.decide(key.group).ok().map(|d| d.rp.into()) };
            let states: Vec<_> = joins.iter().filter(|s| s.key == *key).collect();
            let key_asserts: Vec<_> = asserts.iter().filter(|a| a.key == *key).collect();
            let mut asserted: Vec<u16> = key_asserts
                .iter()
                .filter(|a| a.state == AssertState::Loser)
                .filter_map(|a| mif_of(a.ifindex))
                .collect();
            asserted.sort_unstable();
            let mifs_where = |wanted: &dyn Fn(&str) -> bool| -> Vec<u16> {
                let mut mifs: Vec<u16> =
                    states.iter().filter(|s| wanted(&s.state)).filter_map(|s| mif_of(s.ifindex)).collect();
                mifs.sort_unstable();
                mifs.dedup();
                mifs
            };
            let mut mif_timers = vec![0; usize::from(mif_count)];
            for state in &states {
                if let (Some(mif), Some(left)) = (mif_of(state.ifindex), secs(state.expires_in)) {
                    if let Some(slot) = mif_timers.get_mut(usize::from(mif)) {
                        *slot = (*slot).max(left);
                    }
                }
            }
            let flags = [
                (intent.is_some_and(|i| i.spt) && key.source.is_some(), "SPT"),
                (key.source.is_none(), "WC"),
                (merged.register, "REG"),
                (merged.oifs.is_empty() && !merged.register, "NULL_OIF"),
                (installed, "CACHE"),
                (!key_asserts.is_empty(), "ASSERTED"),
                (up.is_some_and(|u| u.register == Some(RegisterState::Prune)), "REG_SUPP"),
                (key.source.is_some(), "SG"),
            ];
            let view = DumpRouteView {
                source: key.source.map(Into::into),
                group: key.group.into(),
                rp,
                flags: flags.iter().filter(|(on, _)| *on).map(|(_, flag)| flag.to_string()).collect(),
                joined: mifs_where(&|state| state == "Join"),
                pruned: mifs_where(&|state| state.contains("Prune")),
                leaves: intent
                    .map(|i| {
                        i.oifs
                            .iter()
                            .filter(|(_, reason)| **reason == OifReason::LocalMember)
                            .filter_map(|(ifindex, _)| mif_of(*ifindex))
                            .collect()
                    })
                    .unwrap_or_default(),
                asserted,
                outgoing: merged.oifs.keys().filter_map(|ifindex| mif_of(*ifindex)).collect(),
                incoming: merged.iif.and_then(mif_of),
                upstream: up.and_then(|u| u.rpf_neighbor).map(|n| n.neighbor.into()),
                entry_secs: up.and_then(|u| secs(u.keepalive_in)).unwrap_or(0),
                join_prune_secs: up.and_then(|u| secs(u.join_timer_in)).unwrap_or(0),
                register_stop_secs: up.and_then(|u| secs(u.register_stop_in)).unwrap_or(0),
                assert_secs: key_asserts.iter().filter_map(|a| secs(a.expires_in)).max().unwrap_or(0),
                mif_timers,
            };
            (*key, view)
        })
        .collect();
    routes.sort_by_key(|(key, _)| (key.group, key.source));
    routes.into_iter().map(|(_, view)| view).collect()
}
