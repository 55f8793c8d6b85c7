//! [`Router`]: the interface table, one [`Family`] per address family, and the dispatch of inputs,
//! timers, configuration changes and queries among them.

use std::net::IpAddr;

use hato_config::{Config, ConfigDiff};
use hato_control::{
    DumpView, GroupsView, InterfaceView, InterfacesView, MrouteEntryView, MrouteView, OifView, PimAssertView,
    PimBsrView, PimInterfacesView, PimJoinView, PimNeighborsView, PimRpSetView, PimUpstreamView, Request,
    Response, RpfView, StatusView,
};
use hato_core::{Afi, ForwardingPlane, IfIndex, Instant, V4, V6};
use hato_gmp::GmpFamily;
use hato_rib::{Nexthop, RouteKey, RouteOrigin, RouteProtocol, RpfAnswer, UnicastEvent};
use hato_wire::checksum::ChecksumContext;
use hato_wire::packet::ControlMessage;

use crate::counters::Counters;
use crate::family::Family;
use crate::interfaces::{family_enabled, unusable_reason, InterfaceTable};
use crate::io::{Event, Input, Output, ProtocolPacket, RouteChange, Severity, SocketKind};
use crate::mroute::{IntentOrigin, RECONCILE_CHUNK};
use crate::show;

/// The router; see the crate documentation.
#[derive(Debug)]
pub struct Router<P4: ForwardingPlane<V4>, P6: ForwardingPlane<V6>> {
    config: Config,
    started: Instant,
    /// The latest instant the router was told about.
    now: Instant,
    interfaces: InterfaceTable,
    v4: Option<Family<V4, P4>>,
    v6: Option<Family<V6, P6>>,
    counters: Counters,
    /// Entries installed (or replaced) in the planes since the start.
    mfc_installs: u64,
}

/// One line per change of a configuration diff, for logs and `hatoctl reload`.
pub fn describe_diff(diff: &ConfigDiff) -> Vec<String> {
    let mut lines = Vec::new();
    let mut keys = |section: &str, fields: &[String]| {
        if !fields.is_empty() {
            lines.push(format!("{section}: {}", fields.join(", ")));
        }
    };
    keys("global", &diff.global);
    keys("rpf", &diff.rpf);
    keys("pim", &diff.pim);
    keys("dvmrp", &diff.dvmrp);
    keys("automatic interfaces", &diff.auto_interface_fields);
    for change in &diff.interfaces_changed {
        lines.push(format!("interface {}: {}", change.key, change.fields.join(", ")));
    }
    lines.extend(diff.interfaces_added.iter().map(|key| format!("interface {key} added")));
    lines.extend(diff.interfaces_removed.iter().map(|key| format!("interface {key} removed")));
    lines.extend(diff.static_flows_added.iter().map(|flow| format!("static flow {} added", flow.key())));
    lines.extend(diff.static_flows_removed.iter().map(|flow| format!("static flow {} removed", flow.key())));
    lines.extend(diff.mroutes_added.iter().map(|m| format!("mroute {} added", m.source)));
    lines.extend(diff.mroutes_removed.iter().map(|m| format!("mroute {} removed", m.source)));
    let other = diff.tunnels_added.len()
        + diff.tunnels_removed.len()
        + diff.tunnels_changed.len()
        + diff.ssm_ranges_added.len()
        + diff.ssm_ranges_removed.len()
        + diff.static_rps_added.len()
        + diff.static_rps_removed.len()
        + diff.spt_rules_added.len()
        + diff.spt_rules_removed.len()
        + diff.boundaries_added.len()
        + diff.boundaries_removed.len()
        + usize::from(diff.candidates_changed);
    if other > 0 {
        lines.push(format!("{other} protocol list entries changed (tunnels, SSM ranges, RPs, SPT rules, boundaries, candidates)"));
    }
    lines
}

fn unicast_event<A: Afi>(route: &RouteChange) -> Option<UnicastEvent<A>> {
    let destination = A::from_ip(route.destination)?;
    let prefix = A::prefix(destination, route.prefix_len)?;
    if !route.added {
        return Some(UnicastEvent::RouteDelete { key: RouteKey { prefix, metric: route.metric } });
    }
    let nexthops = route
        .nexthops
        .iter()
        .map(|hop| Nexthop { ifindex: hop.ifindex, gateway: hop.gateway.and_then(A::from_ip) })
        .collect();
    let route = hato_rib::Route::new(prefix, nexthops, route.metric, RouteProtocol::from_rtm(route.protocol));
    Some(UnicastEvent::RouteAdd { route })
}

fn rpf_view<A: Afi>(answer: &RpfAnswer<A>, interfaces: &InterfaceTable) -> RpfView {
    let route = answer.route.as_ref();
    RpfView {
        address: answer.addr.into(),
        reachable: route.is_some(),
        interface: route.map(|r| interfaces.name_of(r.interface)),
        ifindex: route.map(|r| r.interface.0),
        neighbor: route.map(|r| r.neighbor.into()),
        table: route.map(|r| r.table.to_string()),
        prefix: route.map(|r| r.prefix.to_string()),
        origin: route.map(|r| r.origin.to_string()),
        static_mroute: route.is_some_and(|r| r.origin == RouteOrigin::StaticMroute),
        metric: route.map(|r| r.metric),
        preference: route.map(|r| r.preference),
        mode: answer.mode.to_string(),
        explanation: answer.to_string(),
    }
}

fn mroute_views<A: GmpFamily, P: ForwardingPlane<A>>(
    family: &Family<A, P>,
    interfaces: &InterfaceTable,
    now: Instant,
    source: Option<IpAddr>,
    group: Option<IpAddr>,
) -> Vec<MrouteEntryView> {
    let mut views = Vec::new();
    for (key, entry) in family.mroutes().iter() {
        let key = &key;
        let key_source: Option<IpAddr> = key.source.map(Into::into);
        if source.is_some_and(|s| key_source != Some(s))
            || group.is_some_and(|g| Into::<IpAddr>::into(key.group) != g)
        {
            continue;
        }
        let merged = entry.merged();
        let answer = key.source.map(|s| family.rpf_lookup(s));
        let route = answer.as_ref().and_then(|a| a.route);
        let desired = entry.desired(*key, family.vifs());
        let installed = desired.as_ref().is_some_and(|desired| entry.holds(desired));
        let static_flow = entry.intents.contains_key(&IntentOrigin::StaticFlow);
        let mroute = route.is_some_and(|r| r.origin == RouteOrigin::StaticMroute);
        let pim_intent = family.protocols().pim.mroute(key);
        let pim = pim_intent.as_ref();
        let spt = pim.is_some_and(|intent| intent.spt && key.source.is_some());
        let mut flags = String::new();
        for (on, letter) in [
            (static_flow, 'S'),
            (pim.is_some(), 'J'),
            (merged.register, 'F'),
            (spt, 'R'),
            (key.source.is_none(), 'W'),
            (mroute, 'M'),
            (installed, 'T'),
            (merged.oifs.is_empty() && !merged.register, 'P'),
        ] {
            if on {
                flags.push(letter);
            }
        }
        views.push(MrouteEntryView {
            source: key_source,
            group: key.group.into(),
            flags,
            incoming: merged.iif.map(|ifindex| interfaces.name_of(ifindex)),
            rpf_neighbor: route.map(|r| r.neighbor.into()),
            rpf_origin: route.map(|r| r.origin.to_string()),
            static_iif: entry.intents.get(&IntentOrigin::StaticFlow).is_some_and(|i| i.iif.is_some()),
            outgoing: merged
                .oifs
                .iter()
                .map(|(oif, origins)| OifView {
                    interface: interfaces.name_of(*oif),
                    reasons: origins
                        .iter()
                        .map(|o| match (o, pim.and_then(|intent| intent.oifs.get(oif))) {
                            (IntentOrigin::Pim, Some(reason)) => format!("pim-{reason}"),
                            _ => o.label().to_string(),
                        })
                        .collect(),
                    uptime_secs: entry
                        .oif_since
                        .get(oif)
                        .map_or(0, |since| now.saturating_since(*since).as_secs()),
                })
                .collect(),
            installed,
            uptime_secs: now.saturating_since(entry.created).as_secs(),
            expires_secs: None,
            packets: entry.counters.packets,
            bytes: entry.counters.bytes,
            wrong_if: entry.counters.wrong_if,
            register: merged.register,
        });
    }
    views
}

impl<P4: ForwardingPlane<V4>, P6: ForwardingPlane<V6>> Router<P4, P6> {
    /// A router with `config`, programming `plane4` / `plane6` (`None`: the family does not run).
    pub fn new(now: Instant, config: Config, plane4: Option<P4>, plane6: Option<P6>) -> Self {
        Self::with_seed(now, config, plane4, plane6, 0)
    }

    /// As [`Router::new`], with `seed` for the protocols' randomness (PIM Generation IDs and
    /// jitter): the daemon passes a fresh one at each start, tests a fixed one.
    pub fn with_seed(
        now: Instant,
        config: Config,
        plane4: Option<P4>,
        plane6: Option<P6>,
        seed: u64,
    ) -> Self {
        let mut router = Router {
            v4: plane4.map(|plane| Family::new(plane, &config, now, seed)),
            v6: plane6.map(|plane| Family::new(plane, &config, now, seed.wrapping_add(1))),
            config,
            started: now,
            now,
            interfaces: InterfaceTable::default(),
            counters: Counters::default(),
            mfc_installs: 0,
        };
        if let Some(family) = &mut router.v4 {
            family.set_static_flows(now, &router.config);
        }
        if let Some(family) = &mut router.v6 {
            family.set_static_flows(now, &router.config);
        }
        router
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn interfaces(&self) -> &InterfaceTable {
        &self.interfaces
    }

    pub fn family4(&self) -> Option<&Family<V4, P4>> {
        self.v4.as_ref()
    }

    pub fn family6(&self) -> Option<&Family<V6, P6>> {
        self.v6.as_ref()
    }

    /// The IPv4 plane, for the shell to poll its socket.
    pub fn plane4(&self) -> Option<&P4> {
        self.v4.as_ref().map(Family::plane)
    }

    /// The IPv6 plane, for the shell to poll its socket.
    pub fn plane6(&self) -> Option<&P6> {
        self.v6.as_ref().map(Family::plane)
    }

    /// The IPv4 plane, for the shell to read upcalls and dump counters.
    pub fn plane4_mut(&mut self) -> Option<&mut P4> {
        self.v4.as_mut().map(Family::plane_mut)
    }

    /// The IPv6 plane, for the shell to read upcalls and dump counters.
    pub fn plane6_mut(&mut self) -> Option<&mut P6> {
        self.v6.as_mut().map(Family::plane_mut)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Produces only log events at least as important as `level`: the others are never built,
    /// so a daemon that would not print them saves their text (several per (S,G) installed).
    /// The default, [`Severity::Debug`], produces every event.
    pub fn set_log_level(&mut self, level: Severity) {
        if let Some(family) = &mut self.v4 {
            family.set_log_level(level);
        }
        if let Some(family) = &mut self.v6 {
            family.set_log_level(level);
        }
    }

    /// Handles one input, then reconciles one chunk.
    pub fn handle(&mut self, now: Instant, input: Input, out: &mut Vec<Output>) {
        self.now = self.now.max(now);
        match input {
            Input::Link(link) => {
                let (ifindex, up, name) = (link.ifindex, link.up, link.name.clone());
                if self.interfaces.upsert(link) {
                    out.push(Output::Log(Event::InterfaceAdded { name, ifindex }));
                }
                self.link_state(now, ifindex, up, out);
                self.interfaces_changed(now, out);
            }
            Input::LinkRemoved(ifindex) => {
                if let Some(interface) = self.interfaces.remove(ifindex) {
                    out.push(Output::Log(Event::InterfaceRemoved { name: interface.link.name, ifindex }));
                }
                self.link_state(now, ifindex, false, out);
                self.interfaces_changed(now, out);
            }
            Input::Address { ifindex, addr, prefix_len, added } => {
                self.interfaces.set_address(ifindex, addr, prefix_len, added);
                match addr {
                    IpAddr::V4(a) => {
                        if let Some(family) = &mut self.v4 {
                            let event = if added {
                                UnicastEvent::AddressAdd { ifindex, addr: a, prefix_len }
                            } else {
                                UnicastEvent::AddressDelete { ifindex, addr: a, prefix_len }
                            };
                            family.unicast(now, event, out);
                        }
                    }
                    IpAddr::V6(a) => {
                        if let Some(family) = &mut self.v6 {
                            let event = if added {
                                UnicastEvent::AddressAdd { ifindex, addr: a, prefix_len }
                            } else {
                                UnicastEvent::AddressDelete { ifindex, addr: a, prefix_len }
                            };
                            family.unicast(now, event, out);
                        }
                    }
                }
                // The configuration may name interfaces by address.
                self.interfaces_changed(now, out);
            }
            Input::Route(route) => {
                if let (Some(family), Some(event)) = (&mut self.v4, unicast_event::<V4>(&route)) {
                    family.unicast(now, event, out);
                }
                if let (Some(family), Some(event)) = (&mut self.v6, unicast_event::<V6>(&route)) {
                    family.unicast(now, event, out);
                }
            }
            Input::Resync => {
                self.counters.bump_event("netlink-resyncs");
                self.interfaces.begin_resync();
                if let Some(family) = &mut self.v4 {
                    family.reset_rpf(now, &self.config, &self.interfaces, out);
                }
                if let Some(family) = &mut self.v6 {
                    family.reset_rpf(now, &self.config, &self.interfaces, out);
                }
            }
            Input::Synced => {
                for interface in self.interfaces.end_resync() {
                    let ifindex = interface.link.ifindex;
                    out.push(Output::Log(Event::InterfaceRemoved { name: interface.link.name, ifindex }));
                }
                self.interfaces_changed(now, out);
            }
            Input::Upcall4(upcall) => {
                if let Some(family) = &mut self.v4 {
                    family.upcall(now, &upcall, &self.interfaces, &mut self.counters, out);
                }
            }
            Input::Upcall6(upcall) => {
                if let Some(family) = &mut self.v6 {
                    family.upcall(now, &upcall, &self.interfaces, &mut self.counters, out);
                }
            }
            Input::Counters4(dump) => {
                if let Some(family) = &mut self.v4 {
                    family.counters_dumped(now, &dump, out);
                }
            }
            Input::Counters6(dump) => {
                if let Some(family) = &mut self.v6 {
                    family.counters_dumped(now, &dump, out);
                }
            }
            Input::Packet(packet) => self.receive(&packet),
        }
        self.run_protocols(now, out);
        self.reconcile(out);
    }

    /// Drains the work queued for the protocol instances.
    fn run_protocols(&mut self, now: Instant, out: &mut Vec<Output>) {
        if let Some(family) = &mut self.v4 {
            family.run_protocols(now, &self.interfaces, &mut self.counters, out);
        }
        if let Some(family) = &mut self.v6 {
            family.run_protocols(now, &self.interfaces, &mut self.counters, out);
        }
    }

    fn link_state(&mut self, now: Instant, ifindex: IfIndex, up: bool, out: &mut Vec<Output>) {
        if let Some(family) = &mut self.v4 {
            family.unicast(now, UnicastEvent::LinkState { ifindex, up }, out);
        }
        if let Some(family) = &mut self.v6 {
            family.unicast(now, UnicastEvent::LinkState { ifindex, up }, out);
        }
    }

    /// Brings VIFs, static flows and static mroutes in line with the interfaces and configuration.
    fn interfaces_changed(&mut self, now: Instant, out: &mut Vec<Output>) {
        if let Some(family) = &mut self.v4 {
            family.sync_vifs(&self.config, &self.interfaces, &mut self.counters, out);
            family.refresh_static_flows(now, &self.interfaces, out);
            family.sync_static_mroutes(now, &self.config, &self.interfaces, out);
            family.sync_protocols(now, &self.config, &self.interfaces, &mut self.counters, out);
        }
        if let Some(family) = &mut self.v6 {
            family.sync_vifs(&self.config, &self.interfaces, &mut self.counters, out);
            family.refresh_static_flows(now, &self.interfaces, out);
            family.sync_static_mroutes(now, &self.config, &self.interfaces, out);
            family.sync_protocols(now, &self.config, &self.interfaces, &mut self.counters, out);
        }
    }

    /// A received protocol packet: decoded and counted by kind (bad packets are counted and
    /// dropped), then queued for the family's protocol instances.
    fn receive(&mut self, packet: &ProtocolPacket) {
        let bytes = packet.payload.as_slice();
        let ipv6_context = match (packet.source, packet.destination) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some((src, dst)),
            _ => None,
        };
        let decoded = match (packet.socket, ipv6_context) {
            (SocketKind::Igmp, _) => hato_wire::igmp::IgmpRepr::parse(bytes).map(ControlMessage::Igmp),
            (SocketKind::Pim4, _) => hato_wire::pim::PimMessage::<V4>::parse(bytes, ChecksumContext::Plain)
                .map(ControlMessage::Pim4),
            (SocketKind::Mld, Some((src, dst))) => {
                hato_wire::mld::MldRepr::parse(bytes, &src, &dst).map(ControlMessage::Mld)
            }
            (SocketKind::Pim6, Some((src, dst))) => {
                hato_wire::pim::PimMessage::<V6>::parse(bytes, ChecksumContext::Ipv6 { src, dst })
                    .map(ControlMessage::Pim6)
            }
            (SocketKind::Mld | SocketKind::Pim6, None) => Err(hato_wire::Error::BadAddressFamily),
        };
        let message = match decoded {
            Ok(message) => {
                self.counters.bump_received(&message.kind());
                message
            }
            Err(error) => {
                self.counters.bump_decode_failure(packet.socket.label(), error.as_str());
                return;
            }
        };
        match message {
            ControlMessage::Igmp(_) => {
                if let Some(family) = &mut self.v4 {
                    family.receive_gmp(packet, &mut self.counters);
                }
            }
            ControlMessage::Mld(_) => {
                if let Some(family) = &mut self.v6 {
                    family.receive_gmp(packet, &mut self.counters);
                }
            }
            ControlMessage::Pim4(message) => {
                if let Some(family) = &mut self.v4 {
                    family.receive_pim(packet, message, &mut self.counters);
                }
            }
            ControlMessage::Pim6(message) => {
                if let Some(family) = &mut self.v6 {
                    family.receive_pim(packet, message, &mut self.counters);
                }
            }
            // Not decoded from these sockets.
            ControlMessage::Dvmrp(_) | ControlMessage::Mtrace(_) => {}
        }
    }

    fn reconcile(&mut self, out: &mut Vec<Output>) {
        if let Some(family) = &mut self.v4 {
            self.mfc_installs += family.reconcile(RECONCILE_CHUNK, &mut self.counters, out).installed;
        }
        if let Some(family) = &mut self.v6 {
            self.mfc_installs += family.reconcile(RECONCILE_CHUNK, &mut self.counters, out).installed;
        }
    }

    /// How many entries the router installed (or replaced) in its planes since it started: the
    /// shell watches the rate to tell a bulk load of the table.
    pub fn mfc_installs(&self) -> u64 {
        self.mfc_installs
    }

    /// Runs what is due at `now`, then reconciles one chunk.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.now = self.now.max(now);
        if let Some(family) = &mut self.v4 {
            family.on_timeout(now, &self.interfaces, &mut self.counters, out);
        }
        if let Some(family) = &mut self.v6 {
            family.on_timeout(now, &self.interfaces, &mut self.counters, out);
        }
        self.reconcile(out);
    }

    /// When [`Router::on_timeout`] has work: at once while reconciliation is pending.
    pub fn poll_at(&self) -> Option<Instant> {
        let pending = self.v4.as_ref().is_some_and(Family::has_pending)
            || self.v6.as_ref().is_some_and(Family::has_pending);
        if pending {
            return Some(self.now);
        }
        [self.v4.as_ref().and_then(Family::poll_at), self.v6.as_ref().and_then(Family::poll_at)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Takes a new configuration (already validated); `diff` is from the current one. Interfaces
    /// and flows the change does not concern are left alone.
    pub fn apply_config(&mut self, now: Instant, config: &Config, diff: &ConfigDiff, out: &mut Vec<Output>) {
        self.now = self.now.max(now);
        for (setting, running) in [("global.ipv4", self.v4.is_some()), ("global.ipv6", self.v6.is_some())] {
            let key = setting.trim_start_matches("global.");
            let turned_on = key == "ipv4" && config.global.ipv4 || key == "ipv6" && config.global.ipv6;
            if diff.global.iter().any(|k| k == key) && turned_on && !running {
                out.push(Output::Log(Event::NeedsRestart { setting: setting.to_string() }));
            }
        }
        for key in ["runtime-dir", "user"] {
            if diff.global.iter().any(|k| k == key) {
                out.push(Output::Log(Event::NeedsRestart { setting: format!("global.{key}") }));
            }
        }
        let pim_differs = self.v4.as_ref().is_some_and(|f| f.protocols().pim_settings_differ(config))
            || self.v6.as_ref().is_some_and(|f| f.protocols().pim_settings_differ(config));
        if pim_differs {
            out.push(Output::Log(Event::NeedsRestart { setting: "[pim] timers and spt-switch".into() }));
        }
        self.config = config.clone();
        self.counters.bump_event("config-applied");
        if !diff.rpf.is_empty() {
            if let Some(family) = &mut self.v4 {
                family.set_rpf_config(now, &self.config, out);
            }
            if let Some(family) = &mut self.v6 {
                family.set_rpf_config(now, &self.config, out);
            }
        }
        if let Some(family) = &mut self.v4 {
            family.set_static_flows(now, &self.config);
        }
        if let Some(family) = &mut self.v6 {
            family.set_static_flows(now, &self.config);
        }
        self.interfaces_changed(now, out);
        out.push(Output::Log(Event::ConfigApplied { changes: describe_diff(diff) }));
        self.reconcile(out);
    }

    /// Sends PIM goodbyes, then withdraws every entry and VIF from the planes.
    pub fn shutdown(&mut self, now: Instant, out: &mut Vec<Output>) {
        self.now = self.now.max(now);
        if let Some(family) = &mut self.v4 {
            family.shutdown(now, &self.interfaces, &mut self.counters, out);
        }
        if let Some(family) = &mut self.v6 {
            family.shutdown(now, &self.interfaces, &mut self.counters, out);
        }
    }

    /// Answers a `hatoctl` request. `Status` leaves the daemon's own fields (version, pid,
    /// configuration file) to the shell; `Reload` is the shell's business.
    pub fn query(&self, now: Instant, request: &Request) -> Response {
        match request {
            Request::ShowInterfaces => Response::Interfaces(self.interfaces_view()),
            Request::ShowRpf { address } => match address {
                IpAddr::V4(addr) => match &self.v4 {
                    Some(family) => Response::Rpf(rpf_view(&family.rpf_lookup(*addr), &self.interfaces)),
                    None => Response::error("IPv4 multicast routing is not running"),
                },
                IpAddr::V6(addr) => match &self.v6 {
                    Some(family) => Response::Rpf(rpf_view(&family.rpf_lookup(*addr), &self.interfaces)),
                    None => Response::error("IPv6 multicast routing is not running"),
                },
            },
            Request::ShowMroute { source, group } => {
                let mut entries = Vec::new();
                if let Some(family) = &self.v4 {
                    entries.extend(mroute_views(family, &self.interfaces, now, *source, *group));
                }
                if let Some(family) = &self.v6 {
                    entries.extend(mroute_views(family, &self.interfaces, now, *source, *group));
                }
                Response::Mroute(MrouteView { entries })
            }
            Request::ShowCounters => {
                let mut view = self.counters.view().clone();
                let v4 = self.v4.as_ref().map(|f| ("rpf4", f.rpf().stats()));
                let v6 = self.v6.as_ref().map(|f| ("rpf6", f.rpf().stats()));
                for (family, stats) in v4.into_iter().chain(v6) {
                    view.rpf.insert(format!("{family}-changes"), stats.changes);
                    view.rpf.insert(format!("{family}-recomputations"), stats.recomputations);
                    view.rpf.insert(format!("{family}-periodic-checks"), stats.periodic_checks);
                }
                if let Some(family) = &self.v4 {
                    crate::counters::add_protocol_drops(&mut view, family);
                }
                if let Some(family) = &self.v6 {
                    crate::counters::add_protocol_drops(&mut view, family);
                }
                Response::Counters(view)
            }
            Request::Status => Response::Status(StatusView {
                uptime_secs: now.saturating_since(self.started).as_secs(),
                ipv4: self.v4.is_some(),
                ipv6: self.v6.is_some(),
                interfaces: self.interfaces.len(),
                vifs4: self.v4.as_ref().map_or(0, |f| f.vifs().len()),
                vifs6: self.v6.as_ref().map_or(0, |f| f.vifs().len()),
                mroutes: self.v4.as_ref().map_or(0, |f| f.mroutes().len())
                    + self.v6.as_ref().map_or(0, |f| f.mroutes().len()),
                pending: self.v4.as_ref().map_or(0, |f| f.mroutes().pending())
                    + self.v6.as_ref().map_or(0, |f| f.mroutes().pending()),
                reloads: self.counters.event("config-applied"),
                ..StatusView::default()
            }),
            Request::Reload => Response::error("reload is carried out by the daemon, not the router"),
            Request::ShowIgmpGroups => match &self.v4 {
                Some(family) => Response::Groups(GroupsView {
                    protocol: "IGMP".into(),
                    interfaces: show::gmp_interfaces(family, &self.interfaces, now),
                }),
                None => Response::error("IPv4 multicast routing is not running"),
            },
            Request::ShowMldGroups => match &self.v6 {
                Some(family) => Response::Groups(GroupsView {
                    protocol: "MLD".into(),
                    interfaces: show::gmp_interfaces(family, &self.interfaces, now),
                }),
                None => Response::error("IPv6 multicast routing is not running"),
            },
            Request::ShowPimNeighbors => Response::PimNeighbors(PimNeighborsView {
                neighbors: self
                    .both(|f, i| show::pim_neighbors(f, i, now), |f, i| show::pim_neighbors(f, i, now)),
            }),
            Request::ShowPimInterfaces => Response::PimInterfaces(PimInterfacesView {
                interfaces: self
                    .both(|f, i| show::pim_interfaces(f, i, now), |f, i| show::pim_interfaces(f, i, now)),
            }),
            Request::ShowPimJoin => Response::PimJoin(PimJoinView {
                states: self.both(|f, i| show::pim_joins(f, i, now), |f, i| show::pim_joins(f, i, now)),
            }),
            Request::ShowPimUpstream => Response::PimUpstream(PimUpstreamView {
                entries: self
                    .both(|f, i| show::pim_upstream(f, i, now), |f, i| show::pim_upstream(f, i, now)),
            }),
            Request::ShowPimAssert => Response::PimAssert(PimAssertView {
                states: self.both(|f, i| show::pim_asserts(f, i, now), |f, i| show::pim_asserts(f, i, now)),
            }),
            Request::ShowPimRp { group } => match (group, &self.v4, &self.v6) {
                (IpAddr::V4(g), Some(family), _) => Response::PimRp(show::pim_rp(family, *g)),
                (IpAddr::V6(g), _, Some(family)) => Response::PimRp(show::pim_rp(family, *g)),
                _ => Response::error(format!("multicast routing for {group} is not running")),
            },
            Request::ShowPimRpSet => Response::PimRpSet(PimRpSetView {
                entries: self.both(|f, _| show::pim_rp_set(f, now), |f, _| show::pim_rp_set(f, now)),
            }),
            Request::ShowPimBsr => Response::PimBsr(PimBsrView {
                families: self.both(|f, _| vec![show::pim_bsr(f, now)], |f, _| vec![show::pim_bsr(f, now)]),
            }),
            Request::Dump => Response::Dump(DumpView {
                families: self.both(
                    |f, i| vec![show::dump_family(f, i, now)],
                    |f, i| vec![show::dump_family(f, i, now)],
                ),
            }),
            Request::Debug(_) => Response::error("logging is switched by the daemon, not the router"),
        }
    }

    /// The rows `v4` gives for the IPv4 family followed by those `v6` gives for IPv6.
    fn both<T>(
        &self,
        v4: impl Fn(&Family<V4, P4>, &InterfaceTable) -> Vec<T>,
        v6: impl Fn(&Family<V6, P6>, &InterfaceTable) -> Vec<T>,
    ) -> Vec<T> {
        let mut rows = self.v4.as_ref().map(|f| v4(f, &self.interfaces)).unwrap_or_default();
        rows.extend(self.v6.as_ref().map(|f| v6(f, &self.interfaces)).unwrap_or_default());
        rows
    }

    fn interfaces_view(&self) -> InterfacesView {
        let interfaces = self
            .interfaces
            .iter()
            .map(|interface| {
                let ifindex = interface.link.ifindex;
                let vif4 = self.v4.as_ref().and_then(|f| f.vifs().vif_of(ifindex)).map(|v| v.0);
                let vif6 = self.v6.as_ref().and_then(|f| f.vifs().vif_of(ifindex)).map(|v| v.0);
                let reason = unusable_reason(&self.config, interface);
                let note = match (reason, vif4.or(vif6)) {
                    (Some(reason), _) => Some(reason.to_string()),
                    (None, None)
                        if !family_enabled(&self.config, V4::FAMILY)
                            && !family_enabled(&self.config, V6::FAMILY) =>
                    {
                        Some("no family enabled".to_string())
                    }
                    (None, None) => Some("no VIF".to_string()),
                    (None, Some(_)) => None,
                };
                InterfaceView {
                    name: interface.link.name.clone(),
                    ifindex: ifindex.0,
                    up: interface.link.up,
                    multicast: interface.link.multicast,
                    loopback: interface.link.loopback,
                    mtu: interface.link.mtu,
                    addresses: interface
                        .addresses
                        .iter()
                        .map(|(addr, len)| format!("{addr}/{len}"))
                        .collect(),
                    enabled: reason.is_none(),
                    vif4,
                    vif6,
                    note,
                }
            })
            .collect();
        InterfacesView { interfaces }
    }
}
