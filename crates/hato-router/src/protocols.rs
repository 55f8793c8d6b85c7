//! The protocol instances of one family and the glue between them: IGMP / MLD ([`GmpRouter`]),
//! PIM-SM / PIM-SSM ([`PimRouter`]), the group-to-RP mapping ([`RpMapping`]) and the bootstrap
//! router machinery ([`Bsr`], RFC 5059).
//!
//! What connects to what:
//! - received IGMP / MLD go to the GMP router; its membership deltas become PIM's local
//!   membership (RFC 7761 §4.1.6 `local_receiver_include` / `local_receiver_exclude`);
//! - received PIM goes to the PIM router, except Bootstrap and Candidate-RP-Advertisement
//!   messages, which go to the BSR machinery; the RP-Set it learns joins the static RPs in the RP
//!   mapping, whose answers reach PIM as one RP per group: before PIM sees a group for the first
//!   time the group is followed in the mapping, and every later change of its RP is passed on;
//! - PIM and BSR RPF watches are RPF-engine watches; an answer becomes an [`RpfUpdate`] whose
//!   neighbour is a PIM neighbour's primary address (an IPv6 route's gateway may be one of the
//!   neighbour's secondary addresses, RFC 7761 §4.3.4);
//! - kernel upcalls become PIM data events, counter dumps `TrafficSeen`, PIM's mroute intents the
//!   mroute table's [`IntentOrigin::Pim`] entries, and every message to send an
//!   [`Output::Send`] on the protocol's socket with the interface's address as source.
//!
//! Everything is queued as [`Work`] and drained by [`Family::run_protocols`], so that one
//! protocol's output never re-enters another protocol while it is running.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::net::IpAddr;

use hato_config::{Config, PimMode};
use hato_core::{AddressFamily, Afi, ForwardingPlane, IfIndex, Instant, SgKey, Upcall, Vif, VifKind};
use hato_gmp::{Filter, GmpFamily, GmpMessage, GmpRouter, Received, Version};
use hato_pim::bsr::{self, Destination, RpfNeighbor};
use hato_pim::rp::{RpChange, StaticRp};
use hato_pim::{
    Bsr, BsrConfig, CandidateBsrConfig, CandidateRpConfig, LocalMembership, PimConfig, PimEvent, PimRouter,
    RpMapping, RpfUpdate, SourceFilter, SptPolicy,
};
use hato_rib::{RpfAnswer, RpfChanged};
use hato_wire::checksum::ChecksumContext;
use hato_wire::pim::PimMessage;

use crate::counters::Counters;
use crate::family::Family;
use crate::interfaces::{family_enabled, Interface, InterfaceTable};
use crate::io::{Event, Output, ProtocolPacket, Severity, SocketKind};
use crate::mroute::{Entry, Intent, IntentOrigin};
use crate::vifs::REGISTER_VIF;

/// Who holds a watch in the RPF engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RpfWatcher {
    /// The PIM router (sources and RPs).
    Pim,
    /// The BSR machinery (the elected BSR).
    Bsr,
}

/// One piece of work for the protocol instances.
#[derive(Debug, Clone)]
pub(crate) enum Work<A: GmpFamily> {
    Gmp { rx: Received<A>, message: GmpMessage<A> },
    Pim(hato_pim::Input<A>),
    Bsr(bsr::Input<A>),
    Rpf(RpfChanged<A, RpfWatcher>),
}

/// How often followed groups are checked for PIM state; a group PIM keeps nothing for is no
/// longer followed (its next input follows it again), so groups seen once do not accumulate.
pub(crate) const RP_GROUP_SWEEP_INTERVAL: hato_core::Duration = hato_core::Duration::from_secs(60);

/// Most work items drained per call: a safety bound, far above what one input causes.
const MAX_WORK_PER_RUN: usize = 100_000;

/// PIM's view of one interface it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PimInterface<A: Afi> {
    primary: A::Addr,
    secondary: Vec<A::Addr>,
    config: hato_pim::InterfaceConfig,
    accept_bootstrap: bool,
    /// Admin scope zone boundaries (the interface's `boundaries`, RFC 5059 §3.x).
    bsr_boundaries: Vec<A::Prefix>,
}

/// The protocol instances of one family.
#[derive(Debug)]
pub struct Protocols<A: GmpFamily> {
    pub gmp: GmpRouter<A>,
    /// Interfaces running IGMP / MLD, with the address and configuration they were given.
    gmp_on: BTreeMap<IfIndex, (A::Addr, hato_gmp::InterfaceConfig)>,
    pub pim: PimRouter<A>,
    pim_on: BTreeMap<IfIndex, PimInterface<A>>,
    pub rp: RpMapping<A>,
    pub bsr: Bsr<A>,
    candidate_bsr: Option<CandidateBsrConfig<A>>,
    candidate_rp: Option<CandidateRpConfig<A>>,
    scope_zones: Vec<bsr::ScopeZoneConfig<A>>,
    /// Groups whose RP PIM has been given.
    rp_groups: BTreeSet<A::Addr>,
    /// When `rp_groups` was last swept for groups PIM keeps nothing for.
    rp_groups_swept: Option<Instant>,
    ssm_ranges: Vec<A::Prefix>,
    /// Addresses PIM / the BSR machinery watch in the RPF engine.
    pim_watches: BTreeSet<A::Addr>,
    bsr_watches: BTreeSet<A::Addr>,
    pub(crate) work: VecDeque<Work<A>>,
}

/// The socket PIM of family `A` uses.
fn pim_socket<A: Afi>() -> SocketKind {
    match A::FAMILY {
        AddressFamily::Ipv4 => SocketKind::Pim4,
        AddressFamily::Ipv6 => SocketKind::Pim6,
    }
}

/// The socket IGMP / MLD of family `A` uses.
pub(crate) fn gmp_socket<A: Afi>() -> SocketKind {
    match A::FAMILY {
        AddressFamily::Ipv4 => SocketKind::Igmp,
        AddressFamily::Ipv6 => SocketKind::Mld,
    }
}

/// The checksum context of a message of family `A` from `src` to `dst`.
fn checksum_context<A: Afi>(src: A::Addr, dst: A::Addr) -> ChecksumContext {
    match (src.into(), dst.into()) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumContext::Ipv6 { src, dst },
        _ => ChecksumContext::Plain,
    }
}

/// An interface's primary address for the protocols (IPv4: the first address; IPv6: the first
/// link-local address, RFC 3810 §5 and RFC 7761 §4.3.4) and the other addresses of the family.
fn family_addresses<A: Afi>(interface: &Interface) -> Option<(A::Addr, Vec<A::Addr>)> {
    let all: Vec<A::Addr> = interface.addresses.iter().filter_map(|(addr, _)| A::from_ip(*addr)).collect();
    let primary = match A::FAMILY {
        AddressFamily::Ipv4 => all.first().copied(),
        AddressFamily::Ipv6 => all.iter().copied().find(|a| A::is_link_local_unicast(*a)),
    }?;
    let secondary = all.into_iter().filter(|a| *a != primary).collect();
    Some((primary, secondary))
}

/// The IGMP / MLD settings of an interface, from its effective `[gmp]` section.
fn gmp_interface_config<A: GmpFamily>(settings: &hato_config::GmpSettings) -> hato_gmp::InterfaceConfig {
    use std::time::Duration as StdDuration;
    let version = match (A::FAMILY, settings.igmp_version, settings.mld_version) {
        (AddressFamily::Ipv4, 1, _) => Version::V1,
        (AddressFamily::Ipv4, 2, _) | (AddressFamily::Ipv6, _, 1) => Version::V2,
        _ => Version::V3,
    };
    let limit = |n: u32| (n > 0).then(|| usize::try_from(n).unwrap_or(usize::MAX));
    hato_gmp::InterfaceConfig {
        version,
        robustness: u8::try_from(settings.robustness).unwrap_or(u8::MAX),
        query_interval: StdDuration::from_secs(settings.query_interval.into()),
        query_response_interval: StdDuration::from_millis(settings.query_response_interval_ms.into()),
        last_member_query_interval: StdDuration::from_millis(settings.last_member_query_interval_ms.into()),
        last_member_query_count: u8::try_from(settings.last_member_query_count).ok(),
        max_groups: limit(settings.max_groups),
        max_sources: limit(settings.max_sources),
        ..hato_gmp::InterfaceConfig::default()
    }
}

/// PIM's router-wide settings from `[pim]` (RFC 7761 §4.11).
fn pim_config(config: &Config) -> PimConfig {
    let pim = &config.pim;
    let secs = |s: u32| hato_core::Duration::from_secs(s.into());
    // A Data-Timeout of 0 means "forever": a day, refreshed by traffic, is as good.
    let data_timeout = if pim.data_timeout == 0 { secs(86_400) } else { secs(pim.data_timeout) };
    PimConfig {
        join_prune_period: secs(pim.join_prune_period),
        join_prune_holdtime: secs(pim.effective_join_prune_holdtime()),
        keepalive_period: data_timeout,
        register_suppression_time: secs(pim.register_suppression),
        register_probe_time: secs(pim.probe_time),
        data_timeout,
        spt_policy: match pim.spt_switch {
            hato_config::SptSwitch::Never => SptPolicy::Never,
            hato_config::SptSwitch::Immediate | hato_config::SptSwitch::Threshold => SptPolicy::Immediate,
        },
        max_entries: usize::try_from(pim.max_entries).unwrap_or(usize::MAX),
        max_states_per_neighbor: usize::try_from(pim.max_states_per_neighbor).unwrap_or(usize::MAX),
        ..PimConfig::default()
    }
}

/// PIM's settings of one interface, from its effective `[pim]` section.
fn pim_interface_config(effective: &hato_config::EffectivePimInterface) -> hato_pim::InterfaceConfig {
    let secs = |s: u32| hato_core::Duration::from_secs(s.into());
    let millis = |ms: u32| hato_core::Duration::from_millis(ms.into());
    hato_pim::InterfaceConfig {
        hello_period: secs(effective.hello_period),
        hello_holdtime: secs(effective.hello_holdtime),
        dr_priority: effective.dr_priority,
        propagation_delay: millis(effective.propagation_delay_ms),
        override_interval: millis(effective.override_interval_ms),
        max_states: usize::try_from(effective.max_states).unwrap_or(usize::MAX),
        ..hato_pim::InterfaceConfig::default()
    }
}

/// `[[pim.static-rp]]` entries of family `A` (no group list: the whole multicast range).
fn static_rps<A: Afi>(config: &Config) -> Vec<StaticRp<A>> {
    let mut rps = Vec::new();
    for entry in &config.pim.static_rp {
        let Some(address) = A::from_ip(entry.address) else { continue };
        let ranges: Vec<A::Prefix> = if entry.groups.is_empty() {
            vec![A::MULTICAST_RANGE]
        } else {
            entry
                .groups
                .iter()
                .filter_map(|net| A::from_ip(net.network()).and_then(|a| A::prefix(a, net.prefix_len())))
                .collect()
        };
        rps.extend(ranges.into_iter().map(|range| StaticRp { address, range, priority: entry.priority }));
    }
    rps
}

/// `[pim] ssm-ranges` of family `A`.
fn ssm_ranges<A: Afi>(config: &Config) -> Vec<A::Prefix> {
    config
        .pim
        .ssm_ranges
        .iter()
        .filter_map(|net| A::from_ip(net.network()).and_then(|a| A::prefix(a, net.prefix_len())))
        .collect()
}

/// The address a candidate (BSR or RP) uses: its own, or its interface's.
fn candidate_address<A: Afi>(
    address: Option<IpAddr>,
    interface: Option<&str>,
    interfaces: &InterfaceTable,
) -> Option<A::Addr> {
    if let Some(address) = address {
        return A::from_ip(address);
    }
    let interface = interfaces.by_name(interface?)?;
    let (primary, secondary) = family_addresses::<A>(interface)?;
    // IPv6 candidates need a routable address, not the link-local primary.
    secondary.into_iter().find(|a| !A::is_link_local_unicast(*a)).or(Some(primary))
}

fn wants_family<A: Afi>(family: Option<hato_config::Family>, address: Option<IpAddr>) -> bool {
    match (family, address) {
        (_, Some(address)) => A::from_ip(address).is_some(),
        (Some(hato_config::Family::Ipv4), None) => A::FAMILY == AddressFamily::Ipv4,
        (Some(hato_config::Family::Ipv6), None) => A::FAMILY == AddressFamily::Ipv6,
        (None, None) => true,
    }
}

fn host_prefix<A: Afi>(addr: A::Addr) -> Option<A::Prefix> {
    A::prefix(addr, A::MAX_PREFIX_LEN)
}

/// How much a PIM event matters: neighbours and DRs to the operator, the rest to debugging.
fn pim_event_severity<A: Afi>(event: &PimEvent<A>) -> Severity {
    match event {
        PimEvent::NeighborUp { .. }
        | PimEvent::NeighborDown { .. }
        | PimEvent::NeighborRestarted { .. }
        | PimEvent::DrChanged { .. } => Severity::Info,
        PimEvent::StateChanged { .. } | PimEvent::Dropped { .. } => Severity::Debug,
    }
}

/// A one-line rendering of a PIM event.
fn pim_event_line<A: Afi>(event: &PimEvent<A>) -> String {
    match event {
        PimEvent::NeighborUp { ifindex, address } => format!("neighbor {address} on {ifindex} up"),
        PimEvent::NeighborDown { ifindex, address, reason } => {
            format!("neighbor {address} on {ifindex} down ({reason:?})")
        }
        PimEvent::NeighborRestarted { ifindex, address, generation_id } => {
            format!("neighbor {address} on {ifindex} restarted (generation id 0x{generation_id:08x})")
        }
        PimEvent::DrChanged { ifindex, dr } => format!("DR on {ifindex} is {dr}"),
        PimEvent::StateChanged { key, ifindex, from, to } => {
            let on = ifindex.map_or_else(String::new, |i| format!(" on {i}"));
            format!("{} {key}{on}: {from} -> {to}", from.machine())
        }
        PimEvent::Dropped { reason, ifindex, source } => {
            let on = ifindex.map_or_else(String::new, |i| format!(" on {i}"));
            let from = source.map_or_else(String::new, |s| format!(" from {s}"));
            format!("dropped{on}{from}: {reason:?}")
        }
    }
}

/// `TrafficSeen` for PIM when `counters`, newly read for `key`, show packets that arrived on the
/// entry's incoming interface since its last reading (the kernel counts the register VIF's
/// decapsulated copies as wrong-interface packets of the same entry).
fn traffic_seen<A: Afi>(
    key: SgKey<A>,
    entry: &Entry,
    counters: &hato_core::MfcCounters,
) -> Option<hato_pim::Input<A>> {
    let native = |c: &hato_core::MfcCounters| c.packets.saturating_sub(c.wrong_if);
    let source = key.source?;
    (entry.intents.contains_key(&IntentOrigin::Pim) && native(counters) > native(&entry.counters))
        .then_some(hato_pim::Input::TrafficSeen { source, group: key.group })
}

impl<A: GmpFamily> Protocols<A> {
    pub(crate) fn new(config: &Config, now: Instant, seed: u64) -> Self {
        let mut ignored = Vec::new();
        let bsr_config = BsrConfig {
            bootstrap_period: hato_core::Duration::from_secs(config.pim.bootstrap_period.into()),
            bootstrap_timeout: config.pim.bootstrap_timeout.map(|t| hato_core::Duration::from_secs(t.into())),
            seed: seed.rotate_left(17) ^ 0x9e37_79b9,
            ..BsrConfig::default()
        };
        let mut rp = RpMapping::default();
        rp.set_static_rps(static_rps::<A>(config), &mut Vec::new());
        Protocols {
            gmp: GmpRouter::new(),
            gmp_on: BTreeMap::new(),
            pim: PimRouter::new(pim_config(config), seed),
            pim_on: BTreeMap::new(),
            rp,
            bsr: Bsr::new(now, bsr_config, &mut ignored),
            candidate_bsr: None,
            scope_zones: Vec::new(),
            candidate_rp: None,
            rp_groups: BTreeSet::new(),
            rp_groups_swept: None,
            ssm_ranges: Vec::new(),
            pim_watches: BTreeSet::new(),
            bsr_watches: BTreeSet::new(),
            work: VecDeque::new(),
        }
    }

    /// Interfaces running PIM.
    pub fn pim_interfaces(&self) -> impl Iterator<Item = IfIndex> + '_ {
        self.pim_on.keys().copied()
    }

    /// The SSM ranges in force.
    pub fn ssm_ranges(&self) -> &[A::Prefix] {
        &self.ssm_ranges
    }

    /// Whether `config` asks for other router-wide PIM settings (timers, SPT policy) than the
    /// running ones, which change only at restart.
    pub fn pim_settings_differ(&self, config: &Config) -> bool {
        pim_config(config) != *self.pim.config()
    }

    /// Whether PIM runs on any interface.
    pub fn pim_running(&self) -> bool {
        !self.pim_on.is_empty()
    }

    /// The next deadline of any instance.
    pub fn poll_at(&self) -> Option<Instant> {
        [self.gmp.poll_at(), self.pim.poll_at(), self.bsr.poll_at()].into_iter().flatten().min()
    }
}

impl<A: GmpFamily, P: ForwardingPlane<A>> Family<A, P> {
    /// Starts, reconfigures and stops IGMP / MLD and PIM per interface from the configuration and
    /// the interfaces with a VIF; adds the register VIF while PIM runs; hands the SSM ranges, static
    /// RPs and BSR candidacies to the instances.
    pub fn sync_protocols(
        &mut self,
        now: Instant,
        config: &Config,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let enabled = family_enabled(config, A::FAMILY);
        let mut want_gmp = BTreeMap::new();
        let mut want_pim = BTreeMap::new();
        for (ifindex, _) in self.vifs.iter() {
            let Some(interface) = interfaces.get(ifindex) else { continue };
            if !enabled || !interface.link.up {
                continue;
            }
            let Some(effective) = config.effective_for(&interface.link.name, &interface.address_list())
            else {
                continue;
            };
            let Some((primary, secondary)) = family_addresses::<A>(interface) else { continue };
            if effective.gmp.enabled {
                want_gmp.insert(ifindex, (primary, gmp_interface_config::<A>(&effective.gmp)));
            }
            if effective.pim.enabled && config.pim.mode == PimMode::Sparse {
                let pim = PimInterface {
                    primary,
                    secondary,
                    config: pim_interface_config(&effective.pim),
                    accept_bootstrap: effective.pim.accept_bootstrap,
                    bsr_boundaries: boundary_ranges::<A>(config, &effective.boundaries),
                };
                want_pim.insert(ifindex, pim);
            }
        }
        self.sync_register_vif(!want_pim.is_empty(), interfaces, counters, out);
        self.sync_gmp(now, want_gmp, out);
        self.sync_pim(want_pim, out);

        let ranges = ssm_ranges::<A>(config);
        if ranges != self.protocols.ssm_ranges {
            self.protocols.ssm_ranges = ranges.clone();
            self.protocols.gmp.set_ssm_ranges(ranges.clone());
            self.protocols.work.push_back(Work::Pim(hato_pim::Input::SsmRanges(ranges)));
        }
        let statics = static_rps::<A>(config);
        if statics.as_slice() != self.protocols.rp.static_rps() {
            let mut changes = Vec::new();
            self.protocols.rp.set_static_rps(statics, &mut changes);
            self.rp_changed(changes);
        }
        self.sync_candidates(config, interfaces);
        self.run_protocols(now, interfaces, counters, out);
    }

    fn sync_register_vif(
        &mut self,
        wanted: bool,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let _ = interfaces;
        match (wanted, self.vifs.register().is_some()) {
            (true, false) => {
                let vif = Vif { id: REGISTER_VIF, kind: VifKind::Register, ttl_threshold: 1 };
                match self.plane.add_vif(&vif) {
                    Ok(()) => {
                        counters.bump_plane(A::FAMILY, "vif-added");
                        self.vifs.set_register(true);
                        self.mroutes.vifs_changed();
                        out.push(Output::Log(Event::VifAdded {
                            family: A::FAMILY,
                            vif: REGISTER_VIF,
                            name: "register".into(),
                        }));
                    }
                    Err(e) => {
                        counters.bump_plane(A::FAMILY, "failures");
                        out.push(Output::Log(Event::PlaneFailed {
                            family: A::FAMILY,
                            operation: format!("add register {REGISTER_VIF}"),
                            error: e.to_string(),
                        }));
                    }
                }
            }
            (false, true) => {
                if let Err(e) = self.plane.del_vif(REGISTER_VIF) {
                    counters.bump_plane(A::FAMILY, "vif-remove-failed");
                    out.push(Output::Log(Event::PlaneFailed {
                        family: A::FAMILY,
                        operation: format!("remove register {REGISTER_VIF}"),
                        error: e.to_string(),
                    }));
                }
                self.vifs.set_register(false);
                self.mroutes.vifs_changed();
                out.push(Output::Log(Event::VifRemoved {
                    family: A::FAMILY,
                    vif: REGISTER_VIF,
                    name: "register".into(),
                }));
            }
            _ => {}
        }
    }

    fn sync_gmp(
        &mut self,
        now: Instant,
        wanted: BTreeMap<IfIndex, (A::Addr, hato_gmp::InterfaceConfig)>,
        out: &mut Vec<Output>,
    ) {
        let mut outs = Vec::new();
        let protocols = &mut self.protocols;
        let gone: Vec<IfIndex> =
            protocols.gmp_on.keys().filter(|i| !wanted.contains_key(i)).copied().collect();
        for ifindex in gone {
            protocols.gmp.disable_interface(ifindex, &mut outs);
            protocols.gmp_on.remove(&ifindex);
        }
        for (ifindex, (address, config)) in wanted {
            let result = match protocols.gmp_on.get(&ifindex) {
                Some((old_address, old_config)) if *old_address == address && *old_config == config => {
                    continue
                }
                Some((old_address, old_config)) => {
                    if *old_address != address {
                        protocols.gmp.set_address(now, ifindex, address, &mut outs);
                    }
                    if *old_config != config {
                        protocols.gmp.set_config(now, ifindex, config.clone(), &mut outs).map(|_| ())
                    } else {
                        Ok(())
                    }
                }
                None => protocols.gmp.enable_interface(now, ifindex, address, config.clone(), &mut outs),
            };
            match result {
                Ok(()) => {
                    protocols.gmp_on.insert(ifindex, (address, config));
                }
                Err(e) => out.push(Output::Log(Event::Protocol {
                    protocol: A::PROTOCOL.into(),
                    severity: Severity::Error,
                    message: format!("cannot run on {ifindex}: {e}"),
                })),
            }
        }
        self.gmp_outputs(outs, out);
    }

    fn sync_pim(&mut self, wanted: BTreeMap<IfIndex, PimInterface<A>>, out: &mut Vec<Output>) {
        let protocols = &mut self.protocols;
        let gone: Vec<IfIndex> =
            protocols.pim_on.keys().filter(|i| !wanted.contains_key(i)).copied().collect();
        for ifindex in gone {
            protocols.pim_on.remove(&ifindex);
            protocols.work.push_back(Work::Pim(hato_pim::Input::InterfaceDown { ifindex }));
            protocols.work.push_back(Work::Bsr(bsr::Input::InterfaceDown { ifindex }));
            out.push(Output::Leave { socket: pim_socket::<A>(), group: A::ALL_PIM_ROUTERS.into(), ifindex });
        }
        for (ifindex, wanted) in wanted {
            let input = match protocols.pim_on.get(&ifindex) {
                Some(old) if *old == wanted => continue,
                Some(old) if old.config == wanted.config => hato_pim::Input::InterfaceAddresses {
                    ifindex,
                    primary: wanted.primary,
                    secondary: wanted.secondary.clone(),
                },
                old => {
                    if old.is_none() {
                        out.push(Output::Join {
                            socket: pim_socket::<A>(),
                            group: A::ALL_PIM_ROUTERS.into(),
                            ifindex,
                        });
                    }
                    hato_pim::Input::InterfaceUp {
                        ifindex,
                        primary: wanted.primary,
                        secondary: wanted.secondary.clone(),
                        config: wanted.config.clone(),
                    }
                }
            };
            protocols.work.push_back(Work::Pim(input));
            let accept_bootstrap = wanted.accept_bootstrap;
            let ranges = wanted.bsr_boundaries.clone();
            protocols.work.push_back(Work::Bsr(bsr::Input::SetBoundaries { ifindex, ranges }));
            protocols.work.push_back(Work::Bsr(bsr::Input::InterfaceUp { ifindex, accept_bootstrap }));
            protocols.pim_on.insert(ifindex, wanted);
        }
    }

    fn sync_candidates(&mut self, config: &Config, interfaces: &InterfaceTable) {
        let pim = &config.pim;
        let bsr_candidate = |c: &hato_config::CandidateBsr| {
            let address = candidate_address::<A>(c.address, c.interface.as_deref(), interfaces)?;
            let mut candidate = CandidateBsrConfig::new(address, c.priority);
            if let Some(len) = c.hash_mask_length {
                candidate.hash_mask_len = len;
            }
            Some(candidate)
        };
        let candidate_bsr = pim
            .candidate_bsr
            .iter()
            .filter(|c| c.scope_zone.is_none() && wants_family::<A>(c.family, c.address))
            .find_map(bsr_candidate);
        let scope_zones: Vec<bsr::ScopeZoneConfig<A>> = pim
            .candidate_bsr
            .iter()
            .filter_map(|c| {
                let zone = c.scope_zone?;
                let range = A::from_ip(zone.network()).and_then(|a| A::prefix(a, zone.prefix_len()))?;
                Some(bsr::ScopeZoneConfig { range, candidate_bsr: bsr_candidate(c) })
            })
            .collect();
        let candidate_rp =
            pim.candidate_rp.iter().filter(|c| wants_family::<A>(c.family, c.address)).find_map(|c| {
                let address = candidate_address::<A>(c.address, c.interface.as_deref(), interfaces)?;
                let groups = c
                    .groups
                    .iter()
                    .filter_map(|net| A::from_ip(net.network()).and_then(|a| A::prefix(a, net.prefix_len())))
                    .collect();
                let mut candidate = CandidateRpConfig::new(address, c.priority, groups);
                candidate.adv_period = hato_core::Duration::from_secs(pim.c_rp_adv_period.into());
                candidate.holdtime = u16::try_from(pim.effective_rp_holdtime()).ok();
                Some(candidate)
            });
        let protocols = &mut self.protocols;
        if candidate_bsr != protocols.candidate_bsr {
            protocols.candidate_bsr = candidate_bsr;
            protocols.work.push_back(Work::Bsr(bsr::Input::SetCandidateBsr(candidate_bsr)));
        }
        if scope_zones != protocols.scope_zones {
            protocols.scope_zones = scope_zones.clone();
            protocols.work.push_back(Work::Bsr(bsr::Input::SetScopeZones(scope_zones)));
        }
        if candidate_rp != protocols.candidate_rp {
            protocols.candidate_rp = candidate_rp.clone();
            protocols.work.push_back(Work::Bsr(bsr::Input::SetCandidateRp(candidate_rp)));
        }
    }

    /// Queues a received IGMP / MLD message (`packet.socket` is the family's GMP socket).
    pub fn receive_gmp(&mut self, packet: &ProtocolPacket, counters: &mut Counters) {
        let (Some(ifindex), Some(src), Some(dst)) =
            (packet.ifindex, A::from_ip(packet.source), A::from_ip(packet.destination))
        else {
            counters.bump_received(&format!("{}-no-interface", packet.socket.label()));
            return;
        };
        // Decode failures were counted by the caller.
        let Ok(Some(message)) = A::parse(&packet.payload, src, dst) else { return };
        let rx = Received {
            ifindex,
            src,
            dst,
            ttl: packet.hop_limit.unwrap_or(1),
            router_alert: packet.router_alert.unwrap_or(true),
        };
        self.protocols.work.push_back(Work::Gmp { rx, message });
    }

    /// Queues a received PIM message (`message`, decoded from `packet` by the caller): Bootstrap
    /// and C-RP-Advertisements for the BSR machinery, the rest for the PIM router.
    pub fn receive_pim(&mut self, packet: &ProtocolPacket, message: PimMessage<A>, counters: &mut Counters) {
        let (Some(ifindex), Some(source), Some(destination)) =
            (packet.ifindex, A::from_ip(packet.source), A::from_ip(packet.destination))
        else {
            counters.bump_received(&format!("{}-no-interface", packet.socket.label()));
            return;
        };
        let work = match message {
            PimMessage::Bootstrap(message) => {
                Work::Bsr(bsr::Input::Bootstrap { ifindex, source, destination, message })
            }
            PimMessage::CandidateRpAdvertisement(message) => {
                Work::Bsr(bsr::Input::CandidateRpAdvertisement { source, message })
            }
            message => Work::Pim(hato_pim::Input::Received { ifindex, source, destination, message }),
        };
        self.protocols.work.push_back(work);
    }

    /// Queues the PIM side of an upcall: data without an entry, on the wrong interface, or for the
    /// register VIF. Upcalls about packets the kernel decapsulated itself (arriving on the register
    /// VIF at the RP) are counted and left alone: PIM learns about them from the Register.
    pub(crate) fn upcall_to_pim(&mut self, upcall: &Upcall<A>, counters: &mut Counters) {
        if !self.protocols.pim_running() {
            return;
        }
        let iif = |vif| self.vifs.interface_of(vif);
        let input = match upcall {
            Upcall::WholePacket { vif, source, group, packet } if Some(*vif) == self.vifs.register() => {
                hato_pim::Input::WholePacket { source: *source, group: *group, packet: packet.clone() }
            }
            Upcall::NoCache { vif, .. }
            | Upcall::WrongVif { vif, .. }
            | Upcall::WrongVifWholePacket { vif, .. }
                if Some(*vif) == self.vifs.register() =>
            {
                counters.bump_upcall(A::FAMILY, "decapsulated");
                return;
            }
            Upcall::NoCache { vif, source, group } => match iif(*vif) {
                Some(iif) => hato_pim::Input::NoCache { iif, source: *source, group: *group },
                None => return,
            },
            Upcall::WrongVif { vif, source, group }
            | Upcall::WrongVifWholePacket { vif, source, group, .. } => match iif(*vif) {
                Some(iif) => hato_pim::Input::WrongVif { iif, source: *source, group: *group },
                None => return,
            },
            Upcall::WholePacket { .. } => return,
        };
        self.protocols.work.push_back(Work::Pim(input));
    }

    /// Queues `TrafficSeen` for every PIM (S,G) entry that forwarded packets arriving on its incoming
    /// interface since the last dump (the kernel counts wrong-interface arrivals as packets too).
    pub(crate) fn traffic_to_pim(&mut self, dump: &BTreeMap<SgKey<A>, hato_core::MfcCounters>) {
        // Both maps are sorted by key: one walk side by side rather than a lookup per entry.
        let mut entries = self.mroutes.iter().peekable();
        for (key, counters) in dump {
            while entries.next_if(|(k, _)| k < key).is_some() {}
            let Some((_, entry)) = entries.next_if(|(k, _)| k == key) else { continue };
            if let Some(input) = traffic_seen(*key, entry, counters) {
                self.protocols.work.push_back(Work::Pim(input));
            }
        }
    }

    /// Reads the counters of the installed entry `key` into the mroute table, queueing
    /// `TrafficSeen` for PIM: one lookup, whatever the size of the table.
    fn read_entry_counters(&mut self, key: SgKey<A>) {
        let Ok(Some(counters)) = self.plane.entry_counters(key) else { return };
        let Some(entry) = self.mroutes.get(&key) else { return };
        if let Some(input) = traffic_seen(key, entry, &counters) {
            self.protocols.work.push_back(Work::Pim(input));
        }
        self.mroutes.set_counters(key, counters);
    }

    /// Whether the installed (S,G) of `key` has forwarded packets that arrived on its incoming
    /// interface: then the RP's source tree delivers and a Register's copy would be a duplicate
    /// (RFC 7761 §4.4.2 forwards decapsulated packets only until the SPT bit is set, which this
    /// also brings about through `TrafficSeen`). Reads the plane's counters, at most once per
    /// the entry's counters.
    fn source_tree_delivers(&mut self, key: SgKey<A>) -> bool {
        if !self.mroutes.get(&key).is_some_and(Entry::is_installed) {
            return false;
        }
        self.read_entry_counters(key);
        self.mroutes.get(&key).is_some_and(|entry| entry.counters.packets > entry.counters.wrong_if)
    }

    /// Before PIM sees a WRONGVIF, brings its SPT bits up to date: the upcall may be an Assert
    /// trigger, which counts only with the SPT bit set (RFC 7761 §4.6.1 CouldAssert(S,G,I)), and
    /// the kernel raises the next one for the entry only 3 s later (`MFC_ASSERT_THRESH`). Without
    /// this, two forwarders that start together on a LAN both miss the first trigger while the
    /// counter dump that sets the bit is pending, and duplicate for 3 s.
    pub(crate) fn refresh_before_wrong_vif(&mut self, upcall: &Upcall<A>) {
        let on_interface = self.vifs.interface_of(upcall.vif()).is_some();
        if matches!(upcall, Upcall::WrongVif { .. } | Upcall::WrongVifWholePacket { .. })
            && on_interface
            && self.protocols.pim_running()
            && upcall.key().source.is_some()
        {
            self.read_entry_counters(upcall.key());
        }
    }

    /// Queues RPF changes for their watchers.
    pub(crate) fn rpf_to_protocols(&mut self, changes: &[RpfChanged<A, RpfWatcher>]) {
        self.protocols.work.extend(changes.iter().cloned().map(Work::Rpf));
    }

    /// Watches again what the protocols watched (after the RPF engine was replaced) and queues
    /// the fresh answers.
    pub(crate) fn rewatch_rpf(&mut self) {
        for addr in self.protocols.pim_watches.clone() {
            let answer = self.rpf.watch(RpfWatcher::Pim, addr);
            self.protocols.work.push_back(Work::Rpf(RpfChanged {
                key: RpfWatcher::Pim,
                addr,
                old: answer,
                new: answer,
            }));
        }
        for addr in self.protocols.bsr_watches.clone() {
            let answer = self.rpf.watch(RpfWatcher::Bsr, addr);
            self.protocols.work.push_back(Work::Rpf(RpfChanged {
                key: RpfWatcher::Bsr,
                addr,
                old: answer,
                new: answer,
            }));
        }
    }

    /// Runs the instances' timers and the work they cause.
    pub(crate) fn protocols_timeout(
        &mut self,
        now: Instant,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let mut gmp = Vec::new();
        self.protocols.gmp.on_timeout(now, &mut gmp);
        self.gmp_outputs(gmp, out);
        let mut pim = Vec::new();
        self.protocols.pim.on_timeout(now, &mut pim);
        self.pim_outputs(now, pim, interfaces, counters, out);
        let mut bsr = Vec::new();
        self.protocols.bsr.on_timeout(now, &mut bsr);
        self.bsr_outputs(bsr, interfaces, out);
        self.run_protocols(now, interfaces, counters, out);
    }

    /// PIM's goodbye: Hellos with a zero holdtime on every interface (RFC 7761 §4.3.1).
    pub(crate) fn protocols_shutdown(
        &mut self,
        now: Instant,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        if self.protocols.pim_running() {
            self.protocols.work.push_back(Work::Pim(hato_pim::Input::Shutdown));
            self.run_protocols(now, interfaces, counters, out);
        }
        if self.vifs.register().is_some() {
            self.sync_register_vif(false, interfaces, counters, out);
        }
    }

    /// Drains the queued work.
    pub fn run_protocols(
        &mut self,
        now: Instant,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        for _ in 0..MAX_WORK_PER_RUN {
            let Some(work) = self.protocols.work.pop_front() else { return };
            match work {
                Work::Gmp { rx, message } => {
                    let mut outs = Vec::new();
                    self.protocols.gmp.handle_message(now, &rx, message, &mut outs);
                    self.gmp_outputs(outs, out);
                }
                Work::Pim(input) => {
                    let mut outs = Vec::new();
                    self.follow_groups(now, &input, &mut outs);
                    self.protocols.pim.handle(now, input, &mut outs);
                    self.pim_outputs(now, outs, interfaces, counters, out);
                }
                Work::Bsr(input) => {
                    let mut outs = Vec::new();
                    self.protocols.bsr.handle(now, input, &mut outs);
                    self.bsr_outputs(outs, interfaces, out);
                }
                Work::Rpf(change) => match change.key {
                    RpfWatcher::Pim => {
                        let update = self.rpf_update(now, &change.new);
                        self.protocols.work.push_back(Work::Pim(hato_pim::Input::Rpf(update)));
                    }
                    RpfWatcher::Bsr => {
                        let rpf = self.bsr_rpf(now, &change.new);
                        let target = change.addr;
                        self.protocols.work.push_back(Work::Bsr(bsr::Input::RpfNeighbor { target, rpf }));
                    }
                },
            }
        }
        counters.bump_event("protocol-work-deferred");
    }

    /// Makes sure PIM knows the RP of every group `input` is about before it sees the input.
    fn follow_groups(
        &mut self,
        now: Instant,
        input: &hato_pim::Input<A>,
        outs: &mut Vec<hato_pim::Output<A>>,
    ) {
        use hato_pim::Input as I;
        let mut groups: Vec<A::Addr> = Vec::new();
        match input {
            I::Received { message, .. } => match message {
                PimMessage::JoinPrune(jp) => groups.extend(jp.groups.iter().map(|g| g.group.group)),
                PimMessage::Register(r) => groups.extend(r.inner_source_group::<A>().map(|(_, g)| g)),
                PimMessage::RegisterStop(rs) => groups.push(rs.group.group),
                PimMessage::Assert(a) => groups.push(a.group.group),
                _ => {}
            },
            I::NoCache { group, .. }
            | I::WrongVif { group, .. }
            | I::WholePacket { group, .. }
            | I::TrafficSeen { group, .. } => groups.push(*group),
            I::Membership(m) => groups.push(m.group),
            _ => {}
        }
        for group in groups {
            if !self.protocols.rp_groups.insert(group) {
                continue;
            }
            let rp = self.protocols.rp.watch(group);
            if let (Some(rp), Some(range)) = (rp, host_prefix::<A>(group)) {
                self.protocols.pim.handle(now, I::StaticRp { range, rp: Some(rp) }, outs);
            }
        }
    }

    /// At most every [`RP_GROUP_SWEEP_INTERVAL`]: stops following the groups PIM keeps no state for,
    /// withdrawing their RP from PIM and from the mapping's watch list.
    pub(crate) fn forget_unused_rp_groups(&mut self, now: Instant) {
        let due = self.protocols.rp_groups_swept.map_or(true, |at| now >= at + RP_GROUP_SWEEP_INTERVAL);
        if !due {
            return;
        }
        self.protocols.rp_groups_swept = Some(now);
        let unused: Vec<A::Addr> = self
            .protocols
            .rp_groups
            .iter()
            .copied()
            .filter(|g| !self.protocols.pim.holds_group(*g))
            .collect();
        for group in unused {
            self.protocols.rp_groups.remove(&group);
            self.protocols.rp.unwatch(group);
            if let Some(range) = host_prefix::<A>(group) {
                self.protocols.work.push_back(Work::Pim(hato_pim::Input::StaticRp { range, rp: None }));
            }
        }
    }

    /// Passes changed RPs of followed groups to PIM.
    fn rp_changed(&mut self, changes: Vec<RpChange<A>>) {
        for change in changes {
            if !self.protocols.rp_groups.contains(&change.group) {
                continue;
            }
            let Some(range) = host_prefix::<A>(change.group) else { continue };
            let input = hato_pim::Input::StaticRp { range, rp: change.new };
            self.protocols.work.push_back(Work::Pim(input));
        }
    }

    /// The PIM neighbour's primary address for an RPF next hop on `ifindex`: the hop itself, or the
    /// neighbour that lists it among its secondary addresses (RFC 7761 §4.3.4).
    fn pim_neighbor_for(&self, now: Instant, ifindex: IfIndex, hop: A::Addr) -> A::Addr {
        self.protocols
            .pim
            .neighbors(now)
            .into_iter()
            .find(|n| n.ifindex == ifindex && (n.address == hop || n.secondary.contains(&hop)))
            .map_or(hop, |n| n.address)
    }

    /// An RPF answer as PIM takes it.
    fn rpf_update(&self, now: Instant, answer: &RpfAnswer<A>) -> RpfUpdate<A> {
        match &answer.route {
            None => RpfUpdate {
                target: answer.addr,
                interface: None,
                neighbor: None,
                connected: false,
                metric: 0,
                preference: 0,
            },
            Some(route) => {
                let connected = route.is_directly_connected();
                let neighbor = if connected {
                    route.neighbor
                } else {
                    self.pim_neighbor_for(now, route.interface, route.neighbor)
                };
                RpfUpdate {
                    target: answer.addr,
                    interface: Some(route.interface),
                    neighbor: Some(neighbor),
                    connected,
                    metric: route.metric,
                    preference: route.preference,
                }
            }
        }
    }

    /// An RPF answer as the BSR machinery takes it.
    /// A directly connected BSR is its own RPF neighbour, known to PIM by the address its Hellos
    /// come from (for IPv6 a link-local one that lists the BSR's address).
    fn bsr_rpf(&self, now: Instant, answer: &RpfAnswer<A>) -> Option<RpfNeighbor<A>> {
        let route = answer.route.as_ref()?;
        let hop = if route.is_directly_connected() { answer.addr } else { route.neighbor };
        let neighbor = self.pim_neighbor_for(now, route.interface, hop);
        Some(RpfNeighbor { ifindex: route.interface, neighbor })
    }

    fn gmp_outputs(&mut self, outs: Vec<hato_gmp::Output<A>>, out: &mut Vec<Output>) {
        for output in outs {
            match output {
                hato_gmp::Output::Send { ifindex, dst, message } => {
                    let Some((src, _)) = self.protocols.gmp_on.get(&ifindex) else { continue };
                    let src = *src;
                    match A::to_bytes(&message, src, dst) {
                        Ok(payload) => out.push(Output::Send {
                            socket: gmp_socket::<A>(),
                            ifindex,
                            source: Some(src.into()),
                            destination: dst.into(),
                            payload,
                        }),
                        Err(e) => out.push(Output::Log(Event::Protocol {
                            protocol: A::PROTOCOL.into(),
                            severity: Severity::Error,
                            message: format!("cannot encode {message}: {e}"),
                        })),
                    }
                }
                hato_gmp::Output::MembershipChanged { ifindex, group, filter } => {
                    let filter = match filter {
                        Filter::Include(sources) => SourceFilter::Include(sources),
                        Filter::Exclude(sources) => SourceFilter::Exclude(sources),
                    };
                    let membership = LocalMembership { ifindex, group, filter };
                    self.protocols.work.push_back(Work::Pim(hato_pim::Input::Membership(membership)));
                }
                hato_gmp::Output::Log(event) => {
                    let severity = match event {
                        hato_gmp::LogEvent::QuerierChanged { .. }
                        | hato_gmp::LogEvent::QueryVersionMismatch { .. } => Severity::Info,
                        _ => Severity::Debug,
                    };
                    if !self.logs(severity) {
                        continue;
                    }
                    out.push(Output::Log(Event::Protocol {
                        protocol: A::PROTOCOL.into(),
                        severity,
                        message: event.to_string(),
                    }));
                }
            }
        }
    }

    /// Carries out PIM's outputs.
    fn pim_outputs(
        &mut self,
        now: Instant,
        outs: Vec<hato_pim::Output<A>>,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        use hato_pim::Output as O;
        for output in outs {
            match output {
                O::Send { ifindex, dst, message } => self.send_pim(ifindex, dst, &message, interfaces, out),
                O::MrouteSet(intent) => {
                    let wish = Intent {
                        iif: intent.iif,
                        oifs: intent.oifs.keys().copied().collect(),
                        register: intent.register,
                    };
                    self.mroutes.set_intent(now, intent.key, IntentOrigin::Pim, Some(wish));
                }
                O::MrouteRemove(key) => self.mroutes.set_intent(now, key, IntentOrigin::Pim, None),
                O::ForwardDecapsulated { key, packet, oifs } => {
                    counters.bump_event("pim-register-decapsulated");
                    if self.source_tree_delivers(key) {
                        counters.bump_event("pim-register-copy-dropped");
                        continue;
                    }
                    if let Some(packet) = decrement_hop_limit(packet) {
                        out.push(Output::Forward { key: key.to_string(), oifs, packet });
                    }
                }
                O::WatchRpf(addr) => {
                    self.protocols.pim_watches.insert(addr);
                    let answer = self.rpf.watch(RpfWatcher::Pim, addr);
                    let update = self.rpf_update(now, &answer);
                    self.protocols.work.push_back(Work::Pim(hato_pim::Input::Rpf(update)));
                }
                O::UnwatchRpf(addr) => {
                    self.protocols.pim_watches.remove(&addr);
                    self.rpf.unwatch(&RpfWatcher::Pim, addr);
                }
                O::Event(event) => {
                    self.pim_event_side_effects(now, &event);
                    let severity = pim_event_severity(&event);
                    if self.logs(severity) {
                        let message = pim_event_line(&event);
                        out.push(Output::Log(Event::Protocol { protocol: "PIM".into(), severity, message }));
                    }
                }
            }
        }
    }

    /// Neighbour changes concern the BSR machinery (RFC 5059 §3.3) and the RPF neighbours handed
    /// to PIM (a new neighbour may list the next hop among its secondary addresses).
    fn pim_event_side_effects(&mut self, now: Instant, event: &PimEvent<A>) {
        let we_are_dr = |protocols: &Protocols<A>, ifindex: IfIndex| {
            protocols.pim.interfaces(now).iter().any(|i| i.ifindex == ifindex && i.is_dr)
        };
        let input = match event {
            PimEvent::NeighborUp { ifindex, address } => bsr::Input::NeighborUp {
                ifindex: *ifindex,
                neighbor: *address,
                we_are_dr: we_are_dr(&self.protocols, *ifindex),
            },
            PimEvent::NeighborRestarted { ifindex, address, .. } => bsr::Input::NeighborGenIdChanged {
                ifindex: *ifindex,
                neighbor: *address,
                we_are_dr: we_are_dr(&self.protocols, *ifindex),
            },
            PimEvent::NeighborDown { ifindex, address, .. } => {
                bsr::Input::NeighborDown { ifindex: *ifindex, neighbor: *address }
            }
            _ => return,
        };
        self.protocols.work.push_back(Work::Bsr(input));
        if matches!(event, PimEvent::NeighborUp { .. }) {
            let watched: Vec<A::Addr> = self.protocols.pim_watches.iter().copied().collect();
            for addr in watched {
                let answer = self.rpf.watch(RpfWatcher::Pim, addr);
                let update = self.rpf_update(now, &answer);
                self.protocols.work.push_back(Work::Pim(hato_pim::Input::Rpf(update)));
            }
        }
    }

    fn bsr_outputs(&mut self, outs: Vec<bsr::Output<A>>, interfaces: &InterfaceTable, out: &mut Vec<Output>) {
        for output in outs {
            match output {
                bsr::Output::Send { to, message } => {
                    let (ifindex, dst) = match to {
                        Destination::AllPimRouters { ifindex } => (Some(ifindex), A::ALL_PIM_ROUTERS),
                        Destination::Unicast { ifindex, address } => {
                            (ifindex.or_else(|| self.rpf.lookup(address).interface()), address)
                        }
                    };
                    match ifindex {
                        Some(ifindex) => self.send_pim(ifindex, dst, &message, interfaces, out),
                        None => out.push(Output::Log(Event::Protocol {
                            protocol: "BSR".into(),
                            severity: Severity::Warn,
                            message: format!("no route to {dst}"),
                        })),
                    }
                }
                bsr::Output::RpSetChanged { rp_set } => {
                    out.push(Output::Log(Event::Protocol {
                        protocol: "BSR".into(),
                        severity: Severity::Info,
                        message: format!("RP-Set changed: {} entries", rp_set.entry_count()),
                    }));
                    let mut changes = Vec::new();
                    self.protocols.rp.set_rp_set(rp_set, &mut changes);
                    self.rp_changed(changes);
                }
                bsr::Output::WatchRpf { target } => {
                    self.protocols.bsr_watches.insert(target);
                    let answer = self.rpf.watch(RpfWatcher::Bsr, target);
                    let change = RpfChanged { key: RpfWatcher::Bsr, addr: target, old: answer, new: answer };
                    self.protocols.work.push_back(Work::Rpf(change));
                }
                bsr::Output::Log { event } => {
                    if self.logs(Severity::Debug) {
                        out.push(Output::Log(Event::Protocol {
                            protocol: "BSR".into(),
                            severity: Severity::Debug,
                            message: format!("{event:?}"),
                        }));
                    }
                }
            }
        }
    }

    /// Encodes a PIM message and queues it for the PIM socket. The source is the interface's
    /// primary address for link-local destinations and, for IPv6 unicast (Register, Register-Stop,
    /// C-RP-Advertisement), a routable address of the interface; the IPv6 checksum covers it.
    fn send_pim(
        &self,
        ifindex: IfIndex,
        dst: A::Addr,
        message: &PimMessage<A>,
        interfaces: &InterfaceTable,
        out: &mut Vec<Output>,
    ) {
        let addresses = match self.protocols.pim_on.get(&ifindex) {
            Some(pim) => Some((pim.primary, pim.secondary.clone())),
            None => interfaces.get(ifindex).and_then(family_addresses::<A>),
        };
        let Some((primary, secondary)) = addresses else { return };
        let link_scope = A::is_multicast(dst) || A::is_link_local_unicast(dst);
        let src = if link_scope {
            primary
        } else {
            secondary.into_iter().find(|a| !A::is_link_local_unicast(*a)).unwrap_or(primary)
        };
        match message.to_bytes(checksum_context::<A>(src, dst)) {
            Ok(payload) => out.push(Output::Send {
                socket: pim_socket::<A>(),
                ifindex,
                source: Some(src.into()),
                destination: dst.into(),
                payload,
            }),
            Err(e) => out.push(Output::Log(Event::Protocol {
                protocol: "PIM".into(),
                severity: Severity::Error,
                message: format!("cannot encode a {:?} message: {e}", message.msg_type()),
            })),
        }
    }
}

/// The packet with its TTL / hop limit decremented (and the IPv4 header checksum updated, RFC
/// 1624), or `None` when it must not be forwarded (TTL / hop limit at most 1, or not an IP packet
/// of the expected version).
pub(crate) fn decrement_hop_limit(mut packet: Vec<u8>) -> Option<Vec<u8>> {
    match packet.first()? >> 4 {
        4 => {
            let ttl = *packet.get(8)?;
            if ttl <= 1 {
                return None;
            }
            *packet.get_mut(8)? = ttl - 1;
            // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'); the TTL is the high octet of its word.
            let old_word = u16::from_be_bytes([ttl, *packet.get(9)?]);
            let new_word = old_word.wrapping_sub(0x0100);
            let checksum = u16::from_be_bytes([*packet.get(10)?, *packet.get(11)?]);
            let mut sum = u32::from(!checksum) + u32::from(!old_word) + u32::from(new_word);
            sum = (sum & 0xffff) + (sum >> 16);
            sum = (sum & 0xffff) + (sum >> 16);
            let [high, low] = (!(sum as u16)).to_be_bytes();
            *packet.get_mut(10)? = high;
            *packet.get_mut(11)? = low;
            Some(packet)
        }
        6 => {
            let hop_limit = *packet.get(7)?;
            if hop_limit <= 1 {
                return None;
            }
            *packet.get_mut(7)? = hop_limit - 1;
            Some(packet)
        }
        _ => None,
    }
}

/// The group ranges of an interface's `boundaries` in family `A` (named ones through
/// `[[dvmrp.boundary]]`).
fn boundary_ranges<A: Afi>(config: &Config, boundaries: &[hato_config::Boundary]) -> Vec<A::Prefix> {
    boundaries
        .iter()
        .filter_map(|b| match b {
            hato_config::Boundary::Range(range) => Some(*range),
            hato_config::Boundary::Named(name) => {
                config.dvmrp.boundary.iter().find(|n| &n.name == name).map(|n| n.groups)
            }
        })
        .filter_map(|net| A::from_ip(net.network()).and_then(|a| A::prefix(a, net.prefix_len())))
        .collect()
}
