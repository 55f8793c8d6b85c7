//! [`Bsr`]: one BSR election per scope zone (RFC 5059 §3.x): the global zone and every
//! administratively scoped zone, configured or learned from Bootstrap messages whose first group
//! range carries the Admin Scope Zone (Z) bit.
//!
//! A zone's [`ZoneBsr`] knows only the interfaces inside the zone: an interface configured as a
//! boundary for a range stops the Bootstrap messages of every zone overlapping that range (they are
//! counted and dropped on arrival) and is never used to forward or originate them. The zones'
//! RP-Sets are handed on as one [`RpSet`] whose scoped parts take precedence for their groups.

use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, IfIndex, Instant};
use hato_wire::pim::{Bootstrap, CandidateRpAdvertisement, EncodedGroup};

use super::election::{BsrId, BsrState};
use super::io::{
    BsrConfig, BsrEvent, CandidateBsrConfig, CandidateRpConfig, DropReason, Input, Output, ScopeZoneConfig,
};
use super::router::{prefix_within, ZoneBsr};
use super::view::{BsrCounters, BsrView, RpSetView};
use crate::rp::{RpSet, ScopedRpSet};

/// Admin scope zones run at once; Bootstrap messages for more are dropped (RFC 5059 expects a
/// handful per domain).
pub const MAX_SCOPE_ZONES: usize = 16;

#[derive(Debug, Clone)]
struct Interface<A: Afi> {
    accept_bootstrap: bool,
    /// Group ranges this interface is a scope zone boundary for.
    boundaries: Vec<A::Prefix>,
    /// Bootstrap messages dropped here because their zone ends at this interface.
    boundary_drops: u64,
    /// The PIM neighbours on it, handed to zones that start later.
    neighbors: BTreeSet<A::Addr>,
}

impl<A: Afi> Default for Interface<A> {
    fn default() -> Self {
        Interface {
            accept_bootstrap: true,
            boundaries: Vec::new(),
            boundary_drops: 0,
            neighbors: BTreeSet::new(),
        }
    }
}

impl<A: Afi> Interface<A> {
    /// The inputs that bring a zone up to date with this interface `ifindex`.
    fn inputs(&self, ifindex: IfIndex) -> impl Iterator<Item = Input<A>> + '_ {
        let up = Input::InterfaceUp { ifindex, accept_bootstrap: self.accept_bootstrap };
        let neighbors =
            self.neighbors.iter().map(move |n| Input::NeighborUp { ifindex, neighbor: *n, we_are_dr: false });
        std::iter::once(up).chain(neighbors)
    }

    /// Whether `zone` (a scoped zone's range) ends at this interface.
    fn bounds(&self, zone: &A::Prefix) -> bool {
        self.boundaries.iter().any(|b| prefix_within::<A>(zone, b) || prefix_within::<A>(b, zone))
    }
}

/// The bootstrap router mechanism for one family (RFC 5059): one [`ZoneBsr`] for the global zone
/// and one per admin scope zone.
///
/// Drive it with [`handle`](Self::handle) and [`on_timeout`](Self::on_timeout) at
/// [`poll_at`](Self::poll_at); hand each [`Output::RpSetChanged`] to the RP mapping.
#[derive(Debug, Clone)]
pub struct Bsr<A: Afi> {
    config: BsrConfig<A>,
    global: ZoneBsr<A>,
    scoped: BTreeMap<A::Prefix, ZoneBsr<A>>,
    interfaces: BTreeMap<IfIndex, Interface<A>>,
    /// Candidacies per configured scoped zone.
    zone_candidates: BTreeMap<A::Prefix, Option<CandidateBsrConfig<A>>>,
    candidate_rp: Option<CandidateRpConfig<A>>,
    /// The candidacy last handed to the global zone: without the ranges of scoped zones.
    global_candidate_rp: Option<CandidateRpConfig<A>>,
    /// Drops decided here (boundaries, zone limit), on top of the zones' own counters.
    counters: BsrCounters,
    /// The merged RP-Set last handed out.
    announced: RpSet<A>,
}

impl<A: Afi> Bsr<A> {
    /// A router with `config`, starting at `now` (a candidate BSR starts in Pending-BSR).
    pub fn new(now: Instant, config: BsrConfig<A>, out: &mut Vec<Output<A>>) -> Self {
        let mut inner = Vec::new();
        let global = ZoneBsr::new(now, config.clone(), &mut inner);
        let candidate_rp = config.candidate_rp.clone();
        let zones = config.scope_zones.clone();
        let mut bsr = Bsr {
            config: BsrConfig { candidate_bsr: None, candidate_rp: None, scope_zones: Vec::new(), ..config },
            global,
            scoped: BTreeMap::new(),
            interfaces: BTreeMap::new(),
            zone_candidates: BTreeMap::new(),
            global_candidate_rp: candidate_rp.clone(),
            candidate_rp,
            counters: BsrCounters::default(),
            announced: RpSet::new(),
        };
        bsr.absorb(inner, out);
        if !zones.is_empty() {
            bsr.handle(now, Input::SetScopeZones(zones), out);
        }
        bsr
    }

    /// The global zone's state.
    pub fn state(&self) -> BsrState {
        self.global.state()
    }

    /// The global zone's stored BSR.
    pub fn elected(&self) -> Option<BsrId<A>> {
        self.global.elected()
    }

    /// The RP-Set last handed out in [`Output::RpSetChanged`] (scoped zones in `scoped`).
    pub fn rp_set(&self) -> &RpSet<A> {
        &self.announced
    }

    /// The counters of every zone, summed, with the drops at zone boundaries.
    pub fn counters(&self) -> BsrCounters {
        let mut sum = self.counters.clone();
        for zone in std::iter::once(&self.global).chain(self.scoped.values()) {
            sum.add(zone.counters());
        }
        sum
    }

    /// Bootstrap messages dropped by the `accept-bootstrap` filter of `ifindex`.
    pub fn filtered_on(&self, ifindex: IfIndex) -> u64 {
        std::iter::once(&self.global).chain(self.scoped.values()).map(|z| z.filtered_on(ifindex)).sum()
    }

    /// Bootstrap messages dropped at `ifindex` because their scope zone ends there.
    pub fn boundary_drops_on(&self, ifindex: IfIndex) -> u64 {
        self.interfaces.get(&ifindex).map_or(0, |i| i.boundary_drops)
    }

    /// The admin scope zone of `range`, if it runs.
    pub fn zone(&self, range: &A::Prefix) -> Option<&ZoneBsr<A>> {
        self.scoped.get(range)
    }

    /// The admin scope zones running.
    pub fn zones(&self) -> impl Iterator<Item = &ZoneBsr<A>> {
        self.scoped.values()
    }

    /// Handles one input.
    pub fn handle(&mut self, now: Instant, input: Input<A>, out: &mut Vec<Output<A>>) {
        let mut inner = Vec::new();
        match input {
            Input::Bootstrap { ifindex, source, destination, message } => match scope_zone::<A>(&message) {
                None => self.global.handle(
                    now,
                    Input::Bootstrap { ifindex, source, destination, message },
                    &mut inner,
                ),
                Some(zone) => self.receive_scoped(
                    now,
                    zone,
                    ifindex,
                    source,
                    Input::Bootstrap { ifindex, source, destination, message },
                    &mut inner,
                ),
            },
            Input::CandidateRpAdvertisement { source, message } => {
                self.receive_crp_adv(now, source, message, &mut inner)
            }
            Input::InterfaceUp { ifindex, accept_bootstrap } => {
                let iface = self.interfaces.entry(ifindex).or_default();
                iface.accept_bootstrap = accept_bootstrap;
                self.global.handle(now, Input::InterfaceUp { ifindex, accept_bootstrap }, &mut inner);
                self.sync_interface(now, ifindex, &mut inner);
            }
            Input::InterfaceDown { ifindex } => {
                self.interfaces.remove(&ifindex);
                for zone in self.all_zones_mut() {
                    zone.handle(now, Input::InterfaceDown { ifindex }, &mut inner);
                }
            }
            Input::SetBoundaries { ifindex, ranges } => {
                self.interfaces.entry(ifindex).or_default().boundaries = ranges;
                if self.global_knows(ifindex) {
                    self.sync_interface(now, ifindex, &mut inner);
                }
            }
            Input::SetCandidateBsr(candidate) => {
                self.global.handle(now, Input::SetCandidateBsr(candidate), &mut inner);
            }
            Input::SetCandidateRp(candidate) => {
                self.candidate_rp = candidate;
                let zones: Vec<A::Prefix> = self.scoped.keys().copied().collect();
                for zone in zones {
                    let candidate = self.zone_candidate_rp(&zone);
                    if let Some(z) = self.scoped.get_mut(&zone) {
                        z.handle(now, Input::SetCandidateRp(candidate), &mut inner);
                    }
                }
                self.refresh_global_candidate_rp(now, &mut inner);
            }
            Input::SetScopeZones(zones) => self.set_scope_zones(now, zones, &mut inner),
            input @ (Input::NeighborUp { .. }
            | Input::NeighborGenIdChanged { .. }
            | Input::NeighborDown { .. }
            | Input::RpfNeighbor { .. }) => {
                match &input {
                    Input::NeighborUp { ifindex, neighbor, .. }
                    | Input::NeighborGenIdChanged { ifindex, neighbor, .. } => {
                        if let Some(iface) = self.interfaces.get_mut(ifindex) {
                            iface.neighbors.insert(*neighbor);
                        }
                    }
                    Input::NeighborDown { ifindex, neighbor } => {
                        if let Some(iface) = self.interfaces.get_mut(ifindex) {
                            iface.neighbors.remove(neighbor);
                        }
                    }
                    _ => {}
                }
                for zone in self.all_zones_mut() {
                    zone.handle(now, input.clone(), &mut inner);
                }
            }
        }
        self.absorb(inner, out);
    }

    /// Runs the timers due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        let mut inner = Vec::new();
        for zone in self.all_zones_mut() {
            if zone.poll_at().is_some_and(|t| t <= now) {
                zone.on_timeout(now, &mut inner);
            }
        }
        self.absorb(inner, out);
    }

    /// The next instant [`on_timeout`](Self::on_timeout) has work.
    pub fn poll_at(&self) -> Option<Instant> {
        std::iter::once(&self.global).chain(self.scoped.values()).filter_map(ZoneBsr::poll_at).min()
    }

    /// `show pim bsr`: the global zone (with the counters of every zone) and each scoped zone.
    pub fn view(&self, now: Instant) -> BsrView<A> {
        let mut view = self.global.view(now);
        view.counters = self.counters();
        view.scope_zones = self.scoped.values().map(|z| z.view(now)).collect();
        view
    }

    /// The RP-Set for `show pim rp-set`: the global zone's entries, then each scoped zone's.
    pub fn rp_set_view(&self, now: Instant) -> RpSetView<A> {
        let mut view = self.global.rp_set_view(now);
        for z in self.scoped.values() {
            view.entries.extend(z.rp_set_view(now).entries);
        }
        view
    }

    fn all_zones_mut(&mut self) -> impl Iterator<Item = &mut ZoneBsr<A>> {
        std::iter::once(&mut self.global).chain(self.scoped.values_mut())
    }

    fn global_knows(&self, ifindex: IfIndex) -> bool {
        self.interfaces.get(&ifindex).is_some_and(|_| self.global.knows_interface(ifindex))
    }

    /// A Bootstrap message of the scoped zone `zone`: dropped at a boundary of the zone, else
    /// handed to the zone (created on first sight, up to [`MAX_SCOPE_ZONES`]).
    fn receive_scoped(
        &mut self,
        now: Instant,
        zone: A::Prefix,
        ifindex: IfIndex,
        source: A::Addr,
        input: Input<A>,
        out: &mut Vec<Output<A>>,
    ) {
        if let Some(iface) = self.interfaces.get_mut(&ifindex).filter(|i| i.bounds(&zone)) {
            iface.boundary_drops += 1;
            self.counters.bootstrap_received += 1;
            self.counters.bootstrap_dropped += 1;
            self.counters.bootstrap_boundary_dropped += 1;
            let reason = DropReason::ScopeZoneBoundary;
            out.push(Output::Log { event: BsrEvent::BootstrapDropped { ifindex, source, reason } });
            return;
        }
        if !self.scoped.contains_key(&zone) {
            if self.scoped.len() >= MAX_SCOPE_ZONES {
                self.counters.bootstrap_received += 1;
                self.counters.bootstrap_dropped += 1;
                let reason = DropReason::ScopeZoneLimit;
                out.push(Output::Log { event: BsrEvent::BootstrapDropped { ifindex, source, reason } });
                return;
            }
            self.add_zone(now, zone, out);
        }
        if let Some(z) = self.scoped.get_mut(&zone) {
            z.handle(now, input, out);
        }
    }

    /// Starts the scoped zone `zone` with the interfaces inside it and this router's candidacies.
    fn add_zone(&mut self, now: Instant, zone: A::Prefix, out: &mut Vec<Output<A>>) {
        let config = BsrConfig {
            candidate_bsr: self.zone_candidates.get(&zone).copied().flatten(),
            candidate_rp: self.zone_candidate_rp(&zone),
            // Each zone draws its own jitter and fragment tags.
            seed: self.config.seed ^ zone_seed::<A>(&zone),
            ..self.config.clone()
        };
        let mut z = ZoneBsr::new_scoped(zone, now, config, out);
        for (ifindex, iface) in &self.interfaces {
            if self.global.knows_interface(*ifindex) && !iface.bounds(&zone) {
                for input in iface.inputs(*ifindex) {
                    z.handle(now, input, out);
                }
            }
        }
        self.scoped.insert(zone, z);
        self.refresh_global_candidate_rp(now, out);
    }

    /// A C-RP-Advertisement: its ranges inside a zone this router is (or is about to be) the
    /// BSR of go to that zone, the rest to the global zone. An advertisement for every group
    /// (no ranges) is the global zone's.
    fn receive_crp_adv(
        &mut self,
        now: Instant,
        source: A::Addr,
        message: CandidateRpAdvertisement<A>,
        out: &mut Vec<Output<A>>,
    ) {
        let mut rest = message.groups.clone();
        for (zone, z) in &mut self.scoped {
            if rest.is_empty() || !matches!(z.state(), BsrState::ElectedBsr | BsrState::PendingBsr) {
                continue;
            }
            let (inside, outside): (Vec<_>, Vec<_>) = rest
                .into_iter()
                .partition(|g: &EncodedGroup<A>| g.prefix().is_some_and(|p| prefix_within::<A>(&p, zone)));
            rest = outside;
            if !inside.is_empty() {
                let message = CandidateRpAdvertisement { groups: inside, ..message.clone() };
                z.handle(now, Input::CandidateRpAdvertisement { source, message }, out);
            }
        }
        if message.groups.is_empty() || !rest.is_empty() {
            let message = CandidateRpAdvertisement { groups: rest, ..message };
            self.global.handle(now, Input::CandidateRpAdvertisement { source, message }, out);
        }
    }

    /// Hands the global zone this router's candidacy without the ranges of the scoped zones it
    /// knows (those are advertised to each zone's own BSR), when that changed.
    fn refresh_global_candidate_rp(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        let candidate = self.candidate_rp.as_ref().and_then(|c| {
            if c.groups.is_empty() {
                return Some(c.clone());
            }
            let groups: Vec<A::Prefix> = c
                .groups
                .iter()
                .filter(|g| !self.scoped.keys().any(|zone| prefix_within::<A>(g, zone)))
                .copied()
                .collect();
            (!groups.is_empty()).then(|| CandidateRpConfig { groups, ..c.clone() })
        });
        if candidate != self.global_candidate_rp {
            self.global_candidate_rp = candidate.clone();
            self.global.handle(now, Input::SetCandidateRp(candidate), out);
        }
    }

    /// This router's candidate RP as offered in `zone`: the configured ranges inside the zone (the
    /// zone's whole range when the candidate offers every group); `None` when none is inside.
    fn zone_candidate_rp(&self, zone: &A::Prefix) -> Option<CandidateRpConfig<A>> {
        let c = self.candidate_rp.as_ref()?;
        let groups: Vec<A::Prefix> = if c.groups.is_empty() {
            vec![*zone]
        } else {
            c.groups.iter().filter(|g| prefix_within::<A>(g, zone)).copied().collect()
        };
        (!groups.is_empty()).then(|| CandidateRpConfig { groups, ..c.clone() })
    }

    /// Puts `ifindex` into or out of each scoped zone by its boundaries.
    fn sync_interface(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Output<A>>) {
        let Some(iface) = self.interfaces.get(&ifindex).cloned() else { return };
        for (zone, z) in &mut self.scoped {
            if iface.bounds(zone) {
                z.handle(now, Input::InterfaceDown { ifindex }, out);
            } else if !z.knows_interface(ifindex) {
                for input in iface.inputs(ifindex) {
                    z.handle(now, input, out);
                }
            } else {
                let input = Input::InterfaceUp { ifindex, accept_bootstrap: iface.accept_bootstrap };
                z.handle(now, input, out);
            }
        }
    }

    /// Sets the configured scoped zones and this router's BSR candidacy in each. Zones no longer
    /// configured keep running as learned zones, without a candidacy.
    fn set_scope_zones(&mut self, now: Instant, zones: Vec<ScopeZoneConfig<A>>, out: &mut Vec<Output<A>>) {
        let wanted: BTreeMap<A::Prefix, Option<CandidateBsrConfig<A>>> =
            zones.into_iter().map(|z| (z.range, z.candidate_bsr)).collect();
        for zone in
            self.zone_candidates.keys().filter(|z| !wanted.contains_key(z)).copied().collect::<Vec<_>>()
        {
            if let Some(z) = self.scoped.get_mut(&zone) {
                z.handle(now, Input::SetCandidateBsr(None), out);
            }
        }
        self.zone_candidates = wanted.clone();
        for (zone, candidate) in wanted.into_iter().take(MAX_SCOPE_ZONES) {
            match self.scoped.get_mut(&zone) {
                Some(z) => z.handle(now, Input::SetCandidateBsr(candidate), out),
                None => self.add_zone(now, zone, out),
            }
        }
    }

    /// Passes the zones' outputs on, replacing their RP-Set changes by one merged change.
    fn absorb(&mut self, inner: Vec<Output<A>>, out: &mut Vec<Output<A>>) {
        let mut rp_set_changed = false;
        for o in inner {
            match o {
                Output::RpSetChanged { .. } => rp_set_changed = true,
                other => out.push(other),
            }
        }
        if rp_set_changed {
            let mut merged = self.global.rp_set().clone();
            merged.scoped = self
                .scoped
                .iter()
                .filter(|(_, z)| !z.rp_set().is_empty())
                .map(|(zone, z)| ScopedRpSet { zone: *zone, rp_set: z.rp_set().clone() })
                .collect();
            if merged != self.announced {
                self.announced = merged.clone();
                out.push(Output::RpSetChanged { rp_set: merged });
            }
        }
    }
}

/// The admin scope zone a Bootstrap message belongs to: its first group range when that carries
/// the Z bit (RFC 5059 §4.1), else `None` (the global zone).
pub fn scope_zone<A: Afi>(message: &Bootstrap<A>) -> Option<A::Prefix> {
    message.group_ranges.first().filter(|r| r.group.admin_scope).and_then(|r| r.group.prefix())
}

/// A number drawn from a zone's range, mixed into its seed.
fn zone_seed<A: Afi>(zone: &A::Prefix) -> u64 {
    let (addr, len) = A::prefix_parts(zone);
    let bits = match addr.into() {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    // Folding 128 bits into 64: the truncations are intended.
    ((bits >> 64) as u64 ^ bits as u64).rotate_left(u32::from(len))
}
