//! Everything the router keeps per address family: the forwarding plane, the VIFs, the RPF engine,
//! the static configuration of this family (flows, mroutes) and the mroute table.
//!
//! The protocol instances of the family live in [`crate::protocols::Protocols`]: received packets
//! and upcalls are queued for them, their intents enter `mroutes` under their own
//! [`IntentOrigin`], and `poll_at` / `on_timeout` include their timers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hato_config::Config;
use hato_core::{Afi, Duration, ForwardingPlane, IfIndex, Instant, SgKey, Upcall, Vif, VifKind};
use hato_gmp::GmpFamily;
use hato_rib::{
    Backoff, MrouteTarget, RpfAnswer, RpfConfig, RpfEngine, RpfLookupMode, StaticMroute, UnicastEvent,
};

use crate::counters::Counters;
use crate::interfaces::{family_enabled, unusable_reason, InterfaceTable};
use crate::io::{Event, Output, Severity};
use crate::mroute::{Intent, IntentOrigin, MrouteTable, ReconcileStats};
use crate::protocols::{gmp_socket, Protocols, RpfWatcher};
use crate::vifs::{VifBinding, VifTable};
use hato_core::vec_map::VecSet;

/// A configured flow's interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FlowSpec {
    input: String,
    outputs: Vec<String>,
}

/// How long a source learned for an any-source static flow may send nothing before its (S,G) entry
/// is withdrawn: PIM's Keepalive_Period (RFC 7761 §4.11), the lifetime of data-driven state.
pub const LEARNED_SOURCE_IDLE: Duration = Duration::from_secs(210);

/// A source learned for an any-source static flow: its packet counter and when it last moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LearnedSource {
    packets: u64,
    active: Instant,
}

/// The state of one family.
#[derive(Debug)]
pub struct Family<A: GmpFamily, P: ForwardingPlane<A>> {
    pub(crate) plane: P,
    pub(crate) vifs: VifTable,
    /// The RPF engine; protocol instances watch addresses under their (S,G) / (*,G) keys.
    pub(crate) rpf: RpfEngine<A, RpfWatcher>,
    pub(crate) mroutes: MrouteTable<A>,
    /// IGMP / MLD, PIM, the RP mapping and BSR.
    pub(crate) protocols: Protocols<A>,
    /// Configured flows with a source.
    flows: BTreeMap<SgKey<A>, FlowSpec>,
    /// Configured flows of any source, by group.
    any_source: BTreeMap<A::Addr, FlowSpec>,
    /// (S,G) entries created from an any-source flow when the source's first packet arrived, with
    /// what the counters last showed of them.
    learned: BTreeMap<SgKey<A>, LearnedSource>,
    /// Static mroutes in the RPF engine.
    static_mroutes: Vec<StaticMroute<A>>,
    /// Static flows and mroutes (by their text) waiting for an interface (by name), already logged.
    waiting: BTreeSet<(String, String)>,
    /// Interfaces refused a VIF for lack of numbers, already logged.
    exhausted: BTreeSet<IfIndex>,
    /// The least important events produced (see [`crate::Router::set_log_level`]).
    log_level: Severity,
}

/// The RPF engine's settings from `[rpf]`.
pub fn rpf_config(config: &Config) -> RpfConfig {
    let rpf = &config.rpf;
    let mode = match rpf.lookup_mode {
        hato_config::RpfLookupMode::UribOnly => RpfLookupMode::UribOnly,
        hato_config::RpfLookupMode::MribOnly => RpfLookupMode::MribOnly,
        hato_config::RpfLookupMode::MribThenUrib => RpfLookupMode::MribThenUrib,
        hato_config::RpfLookupMode::LowerDistance => RpfLookupMode::LowerDistance,
        hato_config::RpfLookupMode::LongerPrefix => RpfLookupMode::LongerPrefix,
    };
    RpfConfig {
        mode,
        interval: (rpf.interval > 0).then(|| Duration::from_secs(rpf.interval.into())),
        backoff: rpf.backoff.enabled.then(|| Backoff {
            initial: Duration::from_millis(rpf.backoff.initial_ms.into()),
            max: Duration::from_millis(rpf.backoff.max_ms.into()),
        }),
    }
}

fn narrow<A: Afi>(addr: IpAddr) -> Option<A::Addr> {
    A::from_ip(addr)
}

impl<A: GmpFamily, P: ForwardingPlane<A>> Family<A, P> {
    /// A family programming `plane`; `seed` drives PIM's Generation IDs and jitter.
    pub fn new(plane: P, config: &Config, now: Instant, seed: u64) -> Self {
        Family {
            plane,
            vifs: VifTable::default(),
            rpf: RpfEngine::new(rpf_config(config), now),
            protocols: Protocols::new(config, now, seed),
            mroutes: MrouteTable::default(),
            flows: BTreeMap::new(),
            any_source: BTreeMap::new(),
            learned: BTreeMap::new(),
            static_mroutes: Vec::new(),
            waiting: BTreeSet::new(),
            exhausted: BTreeSet::new(),
            log_level: Severity::Debug,
        }
    }

    /// Produces only events at least as important as `level`.
    pub fn set_log_level(&mut self, level: Severity) {
        self.log_level = level;
        self.mroutes.set_log_installs(self.logs(Severity::Debug));
        self.protocols.pim.set_state_events(self.logs(Severity::Debug));
    }

    /// Whether events of `severity` are produced.
    pub(crate) fn logs(&self, severity: Severity) -> bool {
        severity <= self.log_level
    }

    pub fn plane(&self) -> &P {
        &self.plane
    }

    pub fn plane_mut(&mut self) -> &mut P {
        &mut self.plane
    }

    pub fn vifs(&self) -> &VifTable {
        &self.vifs
    }

    pub fn mroutes(&self) -> &MrouteTable<A> {
        &self.mroutes
    }

    pub fn rpf(&self) -> &RpfEngine<A, RpfWatcher> {
        &self.rpf
    }

    pub fn protocols(&self) -> &Protocols<A> {
        &self.protocols
    }

    /// Creates and removes VIFs so that exactly the usable interfaces have one; interfaces whose
    /// VIF is unchanged are not touched.
    pub fn sync_vifs(
        &mut self,
        config: &Config,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let enabled = family_enabled(config, A::FAMILY);
        let mut wanted: BTreeMap<IfIndex, u8> = BTreeMap::new();
        for interface in interfaces.iter() {
            if !enabled || unusable_reason(config, interface).is_some() {
                continue;
            }
            let threshold = config
                .effective_for(&interface.link.name, &interface.address_list())
                .map_or(1, |effective| u8::try_from(effective.ttl_threshold).unwrap_or(u8::MAX));
            wanted.insert(interface.link.ifindex, threshold);
        }
        self.exhausted.retain(|ifindex| wanted.contains_key(ifindex));
        let mut changed = false;
        let bound: Vec<(IfIndex, VifBinding)> = self.vifs.iter().collect();
        for (ifindex, binding) in bound {
            if wanted.get(&ifindex) == Some(&binding.ttl_threshold) {
                continue;
            }
            self.remove_vif(ifindex, interfaces, counters, out);
            changed = true;
        }
        for (ifindex, threshold) in wanted {
            if self.vifs.get(ifindex).is_some() {
                continue;
            }
            let name = interfaces.name_of(ifindex);
            let Some(vif) = self.vifs.free_number() else {
                if self.exhausted.insert(ifindex) {
                    out.push(Output::Log(Event::VifsExhausted { family: A::FAMILY, name }));
                }
                continue;
            };
            self.exhausted.remove(&ifindex);
            let spec = Vif { id: vif, kind: VifKind::Interface(ifindex), ttl_threshold: threshold };
            match self.plane.add_vif(&spec) {
                Ok(()) => {
                    counters.bump_plane(A::FAMILY, "vif-added");
                    self.vifs.bind(ifindex, VifBinding { vif, ttl_threshold: threshold });
                    out.push(Output::Log(Event::VifAdded { family: A::FAMILY, vif, name }));
                    for group in [A::ALL_V3_ROUTERS, A::ALL_ROUTERS] {
                        out.push(Output::Join { socket: gmp_socket::<A>(), group: group.into(), ifindex });
                    }
                    changed = true;
                }
                Err(e) => {
                    counters.bump_plane(A::FAMILY, "failures");
                    out.push(Output::Log(Event::PlaneFailed {
                        family: A::FAMILY,
                        operation: format!("add {vif} on {name}"),
                        error: e.to_string(),
                    }));
                }
            }
        }
        if changed {
            self.mroutes.vifs_changed();
        }
    }

    fn remove_vif(
        &mut self,
        ifindex: IfIndex,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let Some(binding) = self.vifs.unbind(ifindex) else { return };
        let name = interfaces.name_of(ifindex);
        match self.plane.del_vif(binding.vif) {
            Ok(()) => counters.bump_plane(A::FAMILY, "vif-removed"),
            Err(e) => {
                // The kernel removes the VIF itself when its interface disappears.
                counters.bump_plane(A::FAMILY, "vif-remove-failed");
                out.push(Output::Log(Event::PlaneFailed {
                    family: A::FAMILY,
                    operation: format!("remove {} from {name}", binding.vif),
                    error: e.to_string(),
                }));
            }
        }
        out.push(Output::Log(Event::VifRemoved { family: A::FAMILY, vif: binding.vif, name }));
        if interfaces.get(ifindex).is_some() {
            for group in [A::ALL_V3_ROUTERS, A::ALL_ROUTERS] {
                out.push(Output::Leave { socket: gmp_socket::<A>(), group: group.into(), ifindex });
            }
        }
    }

    /// Takes this family's `[[static-flow]]`s from `config`; flows that did not change keep
    /// their entries untouched.
    pub fn set_static_flows(&mut self, now: Instant, config: &Config) {
        let mut flows = BTreeMap::new();
        let mut any_source = BTreeMap::new();
        for flow in &config.static_flow {
            let Some(group) = narrow::<A>(flow.group) else { continue };
            let spec = FlowSpec { input: flow.input.clone(), outputs: flow.outputs.clone() };
            match flow.source.map(narrow::<A>) {
                Some(Some(source)) => {
                    flows.insert(SgKey::sg(source, group), spec);
                }
                Some(None) => {}
                None => {
                    any_source.insert(group, spec);
                }
            }
        }
        let gone: Vec<SgKey<A>> =
            self.flows.keys().filter(|key| !flows.contains_key(*key)).copied().collect();
        let unlearned: Vec<SgKey<A>> = self
            .learned
            .keys()
            .filter(|key| {
                flows.contains_key(*key) || any_source.get(&key.group) != self.any_source.get(&key.group)
            })
            .copied()
            .collect();
        for key in gone.iter().chain(&unlearned) {
            self.learned.remove(key);
            if !flows.contains_key(key) {
                self.mroutes.set_intent(now, *key, IntentOrigin::StaticFlow, None);
            }
        }
        self.flows = flows;
        self.any_source = any_source;
    }

    /// Recomputes the intents of every static flow from the current interfaces.
    pub fn refresh_static_flows(&mut self, now: Instant, interfaces: &InterfaceTable, out: &mut Vec<Output>) {
        let keys: Vec<(SgKey<A>, FlowSpec)> = self
            .flows
            .iter()
            .map(|(key, spec)| (*key, spec.clone()))
            .chain(
                self.learned
                    .keys()
                    .filter_map(|key| self.any_source.get(&key.group).map(|spec| (*key, spec.clone()))),
            )
            .collect();
        for (key, spec) in keys {
            let iif = interfaces.by_name(&spec.input).map(|interface| interface.link.ifindex);
            let oifs: VecSet<IfIndex> = spec
                .outputs
                .iter()
                .filter_map(|name| interfaces.by_name(name).map(|interface| interface.link.ifindex))
                .collect();
            let missing: Vec<&String> = std::iter::once(&spec.input)
                .chain(&spec.outputs)
                .filter(|name| interfaces.by_name(name).is_none())
                .collect();
            for name in missing {
                if self.waiting.insert((format!("flow {key}"), name.clone())) {
                    out.push(Output::Log(Event::FlowWaiting {
                        flow: key.to_string(),
                        interface: name.clone(),
                    }));
                }
            }
            self.mroutes.set_intent(
                now,
                key,
                IntentOrigin::StaticFlow,
                Some(Intent { iif, oifs, register: false }),
            );
        }
        self.forget_finished_waits(interfaces);
    }

    /// Makes the RPF engine's static mroutes those of `config`, resolving interface names.
    pub fn sync_static_mroutes(
        &mut self,
        now: Instant,
        config: &Config,
        interfaces: &InterfaceTable,
        out: &mut Vec<Output>,
    ) {
        let mut wanted: Vec<StaticMroute<A>> = Vec::new();
        for mroute in &config.mroute {
            let (addr, len) = (mroute.source.network(), mroute.source.prefix_len());
            let Some(prefix) = narrow::<A>(addr).and_then(|addr| A::prefix(addr, len)) else { continue };
            let interface = match &mroute.interface {
                Some(name) => match interfaces.by_name(name) {
                    Some(interface) => Some(interface.link.ifindex),
                    None => {
                        if self.waiting.insert((format!("mroute {prefix}"), name.clone())) {
                            out.push(Output::Log(Event::MrouteWaiting {
                                mroute: prefix.to_string(),
                                interface: name.clone(),
                            }));
                        }
                        continue;
                    }
                },
                None => None,
            };
            let target = match (mroute.via.and_then(narrow::<A>), interface) {
                (Some(addr), interface) => MrouteTarget::Neighbor { addr, interface },
                (None, Some(ifindex)) => MrouteTarget::Interface(ifindex),
                (None, None) => continue,
            };
            wanted.push(StaticMroute { prefix, target, distance: mroute.distance });
        }
        let mut changes = Vec::new();
        let old = std::mem::take(&mut self.static_mroutes);
        for mroute in old.iter().filter(|m| !wanted.contains(m)) {
            self.rpf.remove_static_mroute(now, mroute.prefix, mroute.target, &mut changes);
        }
        for mroute in wanted.iter().filter(|m| !old.contains(m)) {
            self.rpf.add_static_mroute(now, *mroute, &mut changes);
        }
        self.static_mroutes = wanted;
        self.forget_finished_waits(interfaces);
        self.log_rpf_changes(changes, out);
    }

    /// Forgets logged waits whose interface exists now, so that a later disappearance is logged.
    fn forget_finished_waits(&mut self, interfaces: &InterfaceTable) {
        self.waiting.retain(|(_, name)| interfaces.by_name(name).is_none());
    }

    /// Applies `[rpf]` settings.
    pub fn set_rpf_config(&mut self, now: Instant, config: &Config, out: &mut Vec<Output>) {
        let mut changes = Vec::new();
        self.rpf.set_config(now, rpf_config(config), &mut changes);
        self.log_rpf_changes(changes, out);
    }

    /// Replaces the RPF engine with an empty one (after lost netlink notifications); the static
    /// mroutes are entered again.
    pub fn reset_rpf(
        &mut self,
        now: Instant,
        config: &Config,
        interfaces: &InterfaceTable,
        out: &mut Vec<Output>,
    ) {
        self.rpf = RpfEngine::new(rpf_config(config), now);
        self.static_mroutes.clear();
        self.sync_static_mroutes(now, config, interfaces, out);
        self.rewatch_rpf();
    }

    /// Feeds a unicast change to the RPF engine.
    pub fn unicast(&mut self, now: Instant, event: UnicastEvent<A>, out: &mut Vec<Output>) {
        let mut changes = Vec::new();
        self.rpf.handle(now, event, &mut changes);
        self.log_rpf_changes(changes, out);
    }

    /// Logs RPF changes and queues them for the protocols that watch them.
    fn log_rpf_changes(&mut self, changes: Vec<hato_rib::RpfChanged<A, RpfWatcher>>, out: &mut Vec<Output>) {
        self.rpf_to_protocols(&changes);
        for change in changes {
            out.push(Output::Log(Event::RpfChanged {
                address: change.addr.into(),
                answer: change.new.to_string(),
            }));
        }
    }

    /// The RPF answer for `addr`.
    pub fn rpf_lookup(&self, addr: A::Addr) -> RpfAnswer<A> {
        self.rpf.lookup(addr)
    }

    /// Handles an upcall: a new source of an any-source static flow gets its (S,G) entry.
    pub fn upcall(
        &mut self,
        now: Instant,
        upcall: &Upcall<A>,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let kind = match upcall {
            Upcall::NoCache { .. } => "nocache",
            Upcall::WrongVif { .. } => "wrongvif",
            Upcall::WholePacket { .. } => "wholepkt",
            Upcall::WrongVifWholePacket { .. } => "wrvifwhole",
        };
        counters.bump_upcall(A::FAMILY, kind);
        self.refresh_before_wrong_vif(upcall);
        self.upcall_to_pim(upcall, counters);
        let Upcall::NoCache { vif, .. } = upcall else { return };
        let key = upcall.key();
        let arrived_on = self.vifs.interface_of(*vif).map(|ifindex| interfaces.name_of(ifindex));
        let matches =
            self.any_source.get(&key.group).is_some_and(|spec| arrived_on.as_ref() == Some(&spec.input));
        if matches && !self.learned.contains_key(&key) {
            self.learned.insert(key, LearnedSource { packets: 0, active: now });
            self.refresh_static_flows(now, interfaces, out);
        } else if !matches && !self.protocols.pim_running() && self.logs(Severity::Debug) {
            out.push(Output::Log(Event::Unwanted { upcall: upcall.to_string() }));
        }
    }

    /// Reconciles the mroute table with the plane, at most `budget` operations.
    pub fn reconcile(
        &mut self,
        budget: usize,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) -> ReconcileStats {
        let mut events = Vec::new();
        let stats = self.mroutes.reconcile(&mut self.plane, &self.vifs, budget, &mut events);
        counters.add_plane(A::FAMILY, "mfc-installed", stats.installed);
        counters.add_plane(A::FAMILY, "mfc-removed", stats.removed);
        counters.add_plane(A::FAMILY, "failures", stats.failed);
        out.extend(events.into_iter().map(Output::Log));
        stats
    }

    /// Records a counter dump, withdraws learned static-flow sources idle for
    /// [`LEARNED_SOURCE_IDLE`], stops following groups PIM no longer holds, and queues failed
    /// installations for another try.
    pub fn counters_dumped(
        &mut self,
        now: Instant,
        dump: &BTreeMap<SgKey<A>, hato_core::MfcCounters>,
        out: &mut Vec<Output>,
    ) {
        // Before the dump's `TrafficSeen` work, which follows its groups again if need be.
        self.forget_unused_rp_groups(now);
        self.traffic_to_pim(dump);
        self.mroutes.update_counters(dump);
        self.expire_idle_sources(now, dump, out);
        self.mroutes.retry_failed();
    }

    /// A learned source whose packet counter did not move for [`LEARNED_SOURCE_IDLE`] loses its
    /// (S,G) entry; its next packet raises a NOCACHE upcall and learns it again.
    fn expire_idle_sources(
        &mut self,
        now: Instant,
        dump: &BTreeMap<SgKey<A>, hato_core::MfcCounters>,
        out: &mut Vec<Output>,
    ) {
        let mut idle = Vec::new();
        for (key, source) in &mut self.learned {
            let packets = dump.get(key).map_or(source.packets, |counters| counters.packets);
            if packets != source.packets {
                *source = LearnedSource { packets, active: now };
            } else if now.saturating_since(source.active) >= LEARNED_SOURCE_IDLE {
                idle.push(*key);
            }
        }
        for key in idle {
            self.learned.remove(&key);
            self.mroutes.set_intent(now, key, IntentOrigin::StaticFlow, None);
            out.push(Output::Log(Event::FlowSourceIdle { flow: key.to_string() }));
        }
    }

    /// Whether reconciliation or protocol work is queued.
    pub fn has_pending(&self) -> bool {
        self.mroutes.has_pending() || !self.protocols.work.is_empty()
    }

    pub fn poll_at(&self) -> Option<Instant> {
        [self.rpf.poll_at(), self.protocols.poll_at()].into_iter().flatten().min()
    }

    pub fn on_timeout(
        &mut self,
        now: Instant,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        let mut changes = Vec::new();
        self.rpf.on_timeout(now, &mut changes);
        self.log_rpf_changes(changes, out);
        self.protocols_timeout(now, interfaces, counters, out);
    }

    /// Says goodbye to PIM neighbours, then removes every entry and VIF from the plane and leaves
    /// the groups joined.
    pub fn shutdown(
        &mut self,
        now: Instant,
        interfaces: &InterfaceTable,
        counters: &mut Counters,
        out: &mut Vec<Output>,
    ) {
        self.protocols_shutdown(now, interfaces, counters, out);
        let mut events = Vec::new();
        let failures = self.mroutes.withdraw_all(&mut self.plane, &mut events);
        counters.add_plane(A::FAMILY, "failures", failures);
        out.extend(events.into_iter().map(Output::Log));
        let bound: Vec<IfIndex> = self.vifs.iter().map(|(ifindex, _)| ifindex).collect();
        for ifindex in bound {
            self.remove_vif(ifindex, interfaces, counters, out);
        }
    }
}
