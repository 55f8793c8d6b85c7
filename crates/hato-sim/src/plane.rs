//! [`SimPlane`]: an in-memory multicast forwarding cache that behaves as one table of the Linux
//! kernel's `ipmr` / `ip6mr` (net/ipv4/ipmr.c, net/ipv6/ip6mr.c, net/ipv4/ipmr_base.c, Linux 6.x),
//! so that routers can be tested and simulated without namespaces. The behaviour it reproduces:
//!
//! - VIFs: at most 32 per table ([`VifId::MAX`]), the register VIF included; `EADDRINUSE` for a
//!   used id or a second register VIF, `ENFILE` for an id beyond the table, `EADDRNOTAVAIL` for an
//!   unknown interface or when deleting a free id. Deleting an interface deletes its VIFs.
//! - Entries keyed by (S,G), (*,G) and (*,*); adding an existing key replaces its incoming VIF and
//!   outgoing thresholds and keeps its counters; `ENOENT` when deleting a missing entry; `EINVAL`
//!   for a group that is neither multicast nor unspecified. Outgoing VIFs that do not exist when
//!   the entry is installed are ignored (`ipmr_update_thresholds`); a VIF deleted later is skipped
//!   while forwarding and used again if re-created. IPv4 thresholds are clamped to 1..=254 as
//!   `KernelPlane` encodes them (0 and 255 mean "not an outgoing VIF" to the kernel); IPv6 entries
//!   carry a set of MIFs, each with threshold 1.
//! - Lookup (`ip_mr_input`): the exact (S,G) first; then, if the packet arrived on a VIF, the
//!   (*,G) entry when that VIF is one of its outgoing VIFs (or belongs to the outgoing set of the
//!   (*,*) entry whose outgoing set holds the (*,G)'s incoming VIF), else the (*,*) entry when the
//!   VIF is one of its outgoing VIFs (`mr_mfc_find_any`). A (*,G) entry whose incoming VIF is not
//!   also an outgoing VIF therefore never matches traffic arriving on that incoming VIF.
//! - Forwarding (`ip_mr_forward`): every matched packet counts (packets, bytes of the whole IP
//!   packet); a packet not on the entry's incoming VIF counts in `wrong_if`, is dropped, and raises
//!   WRONGVIF (then WRVIFWHOLE too in that mode) on its arrival VIF when assert is on, the arrival
//!   is a VIF, PIM mode is on or the arrival VIF is an outgoing VIF of the entry, and more than
//!   3 s (`MFC_ASSERT_THRESH`) passed since the entry's last assert. Otherwise a copy goes out of
//!   every outgoing VIF whose threshold the TTL exceeds (a (*,G) entry skips the arrival VIF),
//!   with the TTL decremented; a copy for the register VIF comes up whole (WHOLEPKT) instead, TTL
//!   unchanged.
//! - Misses (`ipmr_cache_unresolved`): a packet that matches nothing and arrived on a VIF creates
//!   an unresolved (S,G) with one NOCACHE upcall on that VIF; the entry queues at most 4 packets
//!   (the kernel drops once its queue holds more than 3) and expires 10 s after its creation.
//!   Installing that exact (S,G) forwards the queued packets through the new entry; a (*,G) does
//!   not. Linux 6.x has no limit on the number of unresolved entries (older kernels had 10).
//! - IPv4 routes multicast to `ip_mr_input` only from interfaces with a VIF; IPv6 hands every
//!   packet to `ip6_mr_input`, so an IPv6 packet from an interface without a MIF still counts as
//!   `wrong_if` of a matching entry. Link-local groups are never routed.
//! - `flush` removes every entry, unresolved entry and VIF, as `KernelPlane::flush` asks.
//!
//! Time is virtual: [`SimPlane::inject`] and [`SimPlane::advance`] take the current instant and
//! [`SimPlane::poll_at`] tells when the next unresolved entry expires.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use hato_core::{
    AddressFamily, Afi, Duration, ForwardingPlane, IfIndex, Instant, MfcCounters, MfcEntry, MfcOifs, SgKey,
    Upcall, Vif, VifId, VifKind,
};
use serde::Serialize;

use crate::SimPacket;

/// Packets an unresolved (S,G) holds: the kernel appends while its queue is not longer than 3.
pub const UNRESOLVED_QUEUE_LEN: usize = 4;
/// How long an unresolved (S,G) lives (`ipmr_cache_alloc_unres`: 10 * HZ).
pub const UNRESOLVED_LIFETIME: Duration = Duration::from_secs(10);
/// Minimum interval between two WRONGVIF upcalls of one entry (`MFC_ASSERT_THRESH`: 3 * HZ).
pub const ASSERT_INTERVAL: Duration = Duration::from_secs(3);

/// Linux errno values the kernel returns for the failures [`SimError`] models.
pub mod errno {
    pub const ENOENT: i32 = 2;
    pub const ENFILE: i32 = 23;
    pub const EINVAL: i32 = 22;
    pub const EADDRINUSE: i32 = 98;
    pub const EADDRNOTAVAIL: i32 = 99;
}

/// Which upcalls the table raises: the same switches as `hato_kernel::PlaneConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SimConfig {
    /// `MRT_ASSERT`: WRONGVIF upcalls.
    pub assert: bool,
    /// `MRT_PIM`: WRONGVIF for any arrival VIF (not only outgoing ones); turning it on turns
    /// assert on as well.
    pub pim: bool,
    /// With `pim`: WRVIFWHOLE upcalls after each WRONGVIF.
    pub wrong_vif_whole: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { assert: true, pim: false, wrong_vif_whole: false }
    }
}

/// A refused plane operation, named after the kernel's errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SimError {
    /// `EADDRINUSE`: the VIF id is taken.
    VifInUse(VifId),
    /// `EADDRINUSE`: the table already has a register VIF.
    RegisterVifInUse,
    /// `ENFILE`: a VIF id beyond the table's 32.
    VifOutOfRange(VifId),
    /// `EADDRNOTAVAIL`: no VIF with this id.
    NoSuchVif(VifId),
    /// `EADDRNOTAVAIL`: no interface with this index.
    NoSuchInterface(IfIndex),
    /// `ENOENT`: no entry with this key.
    NoSuchEntry,
    /// `EINVAL`: the group is neither multicast nor unspecified.
    NotMulticast,
}

impl SimError {
    /// The errno the kernel returns in this case.
    pub fn errno(&self) -> i32 {
        match self {
            SimError::VifInUse(_) | SimError::RegisterVifInUse => errno::EADDRINUSE,
            SimError::VifOutOfRange(_) => errno::ENFILE,
            SimError::NoSuchVif(_) | SimError::NoSuchInterface(_) => errno::EADDRNOTAVAIL,
            SimError::NoSuchEntry => errno::ENOENT,
            SimError::NotMulticast => errno::EINVAL,
        }
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::VifInUse(id) => write!(f, "{id} is in use"),
            SimError::RegisterVifInUse => f.write_str("the table already has a register VIF"),
            SimError::VifOutOfRange(id) => write!(f, "{id} is beyond the table's {} VIFs", VifId::MAX),
            SimError::NoSuchVif(id) => write!(f, "no {id}"),
            SimError::NoSuchInterface(ifindex) => write!(f, "no interface {ifindex}"),
            SimError::NoSuchEntry => f.write_str("no such entry"),
            SimError::NotMulticast => f.write_str("group is not multicast"),
        }
    }
}

impl std::error::Error for SimError {}

/// One call of the [`ForwardingPlane`] interface, as recorded in [`SimPlane::log`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", bound(serialize = ""))]
pub enum PlaneCall<A: Afi> {
    AddVif(Vif),
    DelVif(VifId),
    SetMfc(MfcEntry<A>),
    DelMfc(SgKey<A>),
    Flush,
    Counters,
    EntryCounters(SgKey<A>),
}

/// A recorded call and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct LoggedCall<A: Afi> {
    pub call: PlaneCall<A>,
    pub result: Result<(), SimError>,
}

/// Where an injected packet enters the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrival {
    /// On a real interface, whether or not it has a VIF.
    Interface(IfIndex),
    /// On the device of a VIF (for the register VIF: a decapsulated Register, RFC 7761 §4.4.2).
    Vif(VifId),
}

impl From<IfIndex> for Arrival {
    fn from(ifindex: IfIndex) -> Self {
        Arrival::Interface(ifindex)
    }
}

impl From<VifId> for Arrival {
    fn from(vif: VifId) -> Self {
        Arrival::Vif(vif)
    }
}

/// What became of an injected packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// It matched an entry on the entry's incoming VIF and went out of every outgoing VIF whose
    /// threshold its TTL exceeds (possibly none).
    Forwarded,
    /// It matched an entry but arrived elsewhere: counted in `wrong_if` and dropped.
    WrongInterface,
    /// It matched nothing and waits in the unresolved queue of its (S,G).
    Queued,
    /// It matched nothing and the unresolved queue of its (S,G) was full: dropped.
    QueueFull,
    /// It arrived on an interface without a VIF and matched nothing routable: dropped.
    NotAVif,
    /// Its destination is not a routable group (link-local scope, or not multicast).
    NotRouted,
}

/// A copy the plane sent out of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Transmitted<A: Afi> {
    pub vif: VifId,
    pub interface: IfIndex,
    /// The copy, TTL already decremented.
    pub packet: SimPacket<A>,
}

/// The outcome of [`SimPlane::inject`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Injection<A: Afi> {
    pub fate: Fate,
    /// The copies sent, in increasing VIF order.
    pub copies: Vec<Transmitted<A>>,
}

#[derive(Debug, Clone)]
struct Resolved {
    parent: VifId,
    /// Outgoing VIFs and their thresholds (the kernel's `ttls[]` entries below 255).
    thresholds: MfcOifs,
    counters: MfcCounters,
    last_assert: Option<Instant>,
}

#[derive(Debug, Clone)]
struct Unresolved<A: Afi> {
    expires: Instant,
    /// Queued packets with the device each arrived on.
    queue: Vec<(VifKind, SimPacket<A>)>,
}

/// One simulated multicast routing table of family `A`.
#[derive(Debug, Clone)]
pub struct SimPlane<A: Afi> {
    config: SimConfig,
    now: Instant,
    interfaces: BTreeSet<IfIndex>,
    /// The VIFs as added; their thresholds are kept, as the kernel keeps them, but forwarding uses
    /// the entries' thresholds only.
    vifs: BTreeMap<VifId, Vif>,
    entries: BTreeMap<SgKey<A>, Resolved>,
    unresolved: BTreeMap<SgKey<A>, Unresolved<A>>,
    upcalls: VecDeque<Upcall<A>>,
    released: Vec<Transmitted<A>>,
    log: Vec<LoggedCall<A>>,
}

impl<A: Afi> SimPlane<A> {
    /// An empty table whose host has the given interfaces, at virtual time zero.
    pub fn new(config: SimConfig, interfaces: impl IntoIterator<Item = IfIndex>) -> Self {
        SimPlane {
            config,
            now: Instant::ZERO,
            interfaces: interfaces.into_iter().collect(),
            vifs: BTreeMap::new(),
            entries: BTreeMap::new(),
            unresolved: BTreeMap::new(),
            upcalls: VecDeque::new(),
            released: Vec::new(),
            log: Vec::new(),
        }
    }

    /// The host gains an interface.
    pub fn add_interface(&mut self, ifindex: IfIndex) {
        self.interfaces.insert(ifindex);
    }

    /// The host loses an interface: its VIFs are deleted (`ipmr_device_event`).
    pub fn remove_interface(&mut self, ifindex: IfIndex) {
        self.interfaces.remove(&ifindex);
        self.vifs.retain(|_, v| v.kind != VifKind::Interface(ifindex));
    }

    /// The virtual time the plane last saw.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock to `now` (never backwards) and drops unresolved entries that expired,
    /// with their queued packets (`ipmr_expire_process`).
    pub fn advance(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        self.unresolved.retain(|_, u| u.expires > now);
    }

    /// When the next unresolved entry expires.
    pub fn poll_at(&self) -> Option<Instant> {
        self.unresolved.values().map(|u| u.expires).min()
    }

    /// Reads the next upcall, as `KernelPlane::recv` reads the routing socket; `None` when there
    /// is none.
    pub fn recv(&mut self) -> Option<Upcall<A>> {
        self.upcalls.pop_front()
    }

    /// Takes the copies sent when installing entries released queued packets.
    pub fn take_released(&mut self) -> Vec<Transmitted<A>> {
        std::mem::take(&mut self.released)
    }

    /// Every plane call so far, in order, with its outcome.
    pub fn log(&self) -> &[LoggedCall<A>] {
        &self.log
    }

    /// The VIFs, in id order.
    pub fn vifs(&self) -> impl Iterator<Item = &Vif> + '_ {
        self.vifs.values()
    }

    /// The installed entries in key order, each with its counters ((*,G) keyed as
    /// [`SgKey::star_g`]; outgoing VIFs with the thresholds in force).
    pub fn installed(&self) -> impl Iterator<Item = (MfcEntry<A>, MfcCounters)> + '_ {
        self.entries
            .iter()
            .map(|(&key, e)| (MfcEntry { key, iif: e.parent, oifs: e.thresholds.clone() }, e.counters))
    }

    /// The (S,G)s waiting for an entry, with the number of packets each holds.
    pub fn unresolved(&self) -> impl Iterator<Item = (SgKey<A>, usize)> + '_ {
        self.unresolved.iter().map(|(&k, u)| (k, u.queue.len()))
    }

    /// A packet arrives at `now` on `arrival`: the kernel's input path (`ip_mr_input`).
    pub fn inject(
        &mut self,
        now: Instant,
        arrival: impl Into<Arrival>,
        packet: SimPacket<A>,
    ) -> Injection<A> {
        self.advance(now);
        let device = match arrival.into() {
            Arrival::Interface(ifindex) => VifKind::Interface(ifindex),
            Arrival::Vif(id) => match self.vifs.get(&id) {
                Some(v) => v.kind,
                None => return Injection { fate: Fate::NotAVif, copies: Vec::new() },
            },
        };
        if !A::is_multicast(packet.group) || A::is_link_local_group(packet.group) {
            return Injection { fate: Fate::NotRouted, copies: Vec::new() };
        }
        let arrival_vif = self.find_vif(device);
        // IPv4 only routes multicast from interfaces with multicast forwarding on, i.e. with a
        // VIF (`IN_DEV_MFORWARD`); IPv6 checks the global switch alone.
        if arrival_vif.is_none() && A::FAMILY == AddressFamily::Ipv4 {
            return Injection { fate: Fate::NotAVif, copies: Vec::new() };
        }
        let key = packet_key::<A>(packet.source, packet.group);
        let matched = if self.entries.contains_key(&key) {
            Some(key)
        } else {
            arrival_vif.and_then(|vif| self.find_any(packet.group, vif))
        };
        match (matched, arrival_vif) {
            (Some(entry), _) => self.forward(entry, device, packet),
            (None, Some(vif)) => {
                let fate = self.queue_unresolved(key, vif, device, packet);
                Injection { fate, copies: Vec::new() }
            }
            (None, None) => Injection { fate: Fate::NotAVif, copies: Vec::new() },
        }
    }

    /// `ipmr_find_vif`: the highest-numbered VIF on `device`.
    fn find_vif(&self, device: VifKind) -> Option<VifId> {
        self.vifs.iter().rev().find(|(_, v)| v.kind == device).map(|(&id, _)| id)
    }

    /// `mr_mfc_find_any_parent`: the (*,*) entry if `vif` is one of its outgoing VIFs.
    fn find_any_parent(&self, vif: VifId) -> Option<SgKey<A>> {
        let key = SgKey::star_g(A::UNSPECIFIED);
        self.entries.get(&key).filter(|e| e.thresholds.contains_key(&vif)).map(|_| key)
    }

    /// `ipmr_cache_find_any` / `mr_mfc_find_any`: the (*,G) entry for a packet on `vif`.
    fn find_any(&self, group: A::Addr, vif: VifId) -> Option<SgKey<A>> {
        if group == A::UNSPECIFIED {
            return self.find_any_parent(vif);
        }
        let key = SgKey::star_g(group);
        if let Some(entry) = self.entries.get(&key) {
            if entry.thresholds.contains_key(&vif) {
                return Some(key);
            }
            // The arrival VIF is acceptable if it is part of the (*,*) tree rooted at the (*,G)'s
            // incoming VIF.
            let via_proxy = self
                .find_any_parent(entry.parent)
                .and_then(|proxy| self.entries.get(&proxy))
                .is_some_and(|proxy| proxy.thresholds.contains_key(&vif));
            if via_proxy {
                return Some(key);
            }
        }
        self.find_any_parent(vif)
    }

    /// `ipmr_cache_unresolved`: queue a packet that matched nothing and arrived on `vif`.
    fn queue_unresolved(&mut self, key: SgKey<A>, vif: VifId, device: VifKind, packet: SimPacket<A>) -> Fate {
        let expires = self.now.saturating_add(UNRESOLVED_LIFETIME);
        let pending = self.unresolved.entry(key).or_insert_with(|| {
            // Only the packet that creates the unresolved entry is reflected to the router.
            self.upcalls.push_back(Upcall::NoCache { vif, source: packet.source, group: packet.group });
            Unresolved { expires, queue: Vec::new() }
        });
        if pending.queue.len() >= UNRESOLVED_QUEUE_LEN {
            return Fate::QueueFull;
        }
        pending.queue.push((device, packet));
        Fate::Queued
    }

    /// `ip_mr_forward`: a packet that matched the entry `key`, arriving on `device`.
    fn forward(&mut self, key: SgKey<A>, device: VifKind, packet: SimPacket<A>) -> Injection<A> {
        let arrival_vif = self.find_vif(device);
        let Some(on_incoming) = self.arrived_on_incoming(key, device, arrival_vif) else {
            return Injection { fate: Fate::NotAVif, copies: Vec::new() };
        };
        let now = self.now;
        let config = self.config;
        let Some(entry) = self.entries.get_mut(&key) else {
            return Injection { fate: Fate::NotAVif, copies: Vec::new() };
        };
        let len = u64::try_from(packet.ip_len()).unwrap_or(u64::MAX);
        entry.counters.packets = entry.counters.packets.saturating_add(1);
        entry.counters.bytes = entry.counters.bytes.saturating_add(len);

        if !on_incoming {
            entry.counters.wrong_if = entry.counters.wrong_if.saturating_add(1);
            // PIM mode implies assert, and PIM-SM switches from the RP tree to the source tree on
            // WRONGVIF, so in PIM mode the arrival VIF need not be an outgoing one.
            let assert = arrival_vif.filter(|vif| {
                (config.pim || (config.assert && entry.thresholds.contains_key(vif)))
                    && entry.last_assert.map_or(true, |last| now > last.saturating_add(ASSERT_INTERVAL))
            });
            if let Some(vif) = assert {
                entry.last_assert = Some(now);
                let (source, group) = (packet.source, packet.group);
                self.upcalls.push_back(Upcall::WrongVif { vif, source, group });
                if config.pim && config.wrong_vif_whole {
                    let packet = packet.to_bytes().unwrap_or_default();
                    self.upcalls.push_back(Upcall::WrongVifWholePacket { vif, source, group, packet });
                }
            }
            return Injection { fate: Fate::WrongInterface, copies: Vec::new() };
        }

        let targets: Vec<VifId> = if key.is_star() && key.group == A::UNSPECIFIED {
            // A (*,*) entry sends packets that did not come from upstream to upstream only.
            let upstream_threshold = entry.thresholds.get(&entry.parent).copied().unwrap_or(u8::MAX);
            let from_downstream = arrival_vif.is_some_and(|vif| vif != entry.parent);
            if from_downstream && packet.ttl > upstream_threshold {
                vec![entry.parent]
            } else {
                Vec::new()
            }
        } else {
            // A (*,G) entry never sends a packet back out of its arrival VIF; an (S,G) would.
            entry
                .thresholds
                .iter()
                .filter(|&(&vif, &threshold)| {
                    (!key.is_star() || Some(vif) != arrival_vif) && packet.ttl > threshold
                })
                .map(|(&vif, _)| vif)
                .collect()
        };
        let copies = targets.into_iter().filter_map(|vif| self.transmit(vif, &packet)).collect();
        Injection { fate: Fate::Forwarded, copies }
    }

    /// Whether a packet of entry `key` arriving on `device` passes the incoming VIF check: it
    /// arrived on the entry's incoming VIF, or the entry is (*,G) / (*,*) and the arrival VIF
    /// belongs to the (*,*) tree of its incoming VIF. `None` when there is no such entry.
    fn arrived_on_incoming(
        &self,
        key: SgKey<A>,
        device: VifKind,
        arrival_vif: Option<VifId>,
    ) -> Option<bool> {
        let parent = self.entries.get(&key)?.parent;
        let in_proxy_tree = key.is_star()
            && arrival_vif.is_some_and(|vif| {
                self.find_any_parent(parent)
                    .and_then(|proxy| self.entries.get(&proxy))
                    .is_some_and(|proxy| proxy.thresholds.contains_key(&vif))
            });
        Some(in_proxy_tree || self.vifs.get(&parent).is_some_and(|v| v.kind == device))
    }

    /// `ipmr_queue_xmit`: one copy out of `vif`, if the VIF still exists; a copy for the register
    /// VIF goes up whole instead.
    fn transmit(&mut self, vif: VifId, packet: &SimPacket<A>) -> Option<Transmitted<A>> {
        match self.vifs.get(&vif)?.kind {
            VifKind::Register => {
                let bytes = packet.to_bytes().unwrap_or_default();
                let (source, group) = (packet.source, packet.group);
                self.upcalls.push_back(Upcall::WholePacket { vif, source, group, packet: bytes });
                None
            }
            VifKind::Interface(interface) => Some(Transmitted { vif, interface, packet: packet.forwarded() }),
        }
    }

    fn record(&mut self, call: PlaneCall<A>, result: Result<(), SimError>) -> Result<(), SimError> {
        self.log.push(LoggedCall { call, result });
        result
    }

    fn apply_add_vif(&mut self, vif: &Vif) -> Result<(), SimError> {
        if vif.id.0 >= VifId::MAX {
            return Err(SimError::VifOutOfRange(vif.id));
        }
        if self.vifs.contains_key(&vif.id) {
            return Err(SimError::VifInUse(vif.id));
        }
        match vif.kind {
            VifKind::Register if self.vifs.values().any(|v| v.kind == VifKind::Register) => {
                return Err(SimError::RegisterVifInUse)
            }
            VifKind::Interface(ifindex) if !self.interfaces.contains(&ifindex) => {
                return Err(SimError::NoSuchInterface(ifindex))
            }
            VifKind::Register | VifKind::Interface(_) => {}
        }
        self.vifs.insert(vif.id, *vif);
        Ok(())
    }

    fn apply_del_vif(&mut self, id: VifId) -> Result<(), SimError> {
        // IPv4 checks the id against the table size first (`ENFILE`); IPv6 does not.
        if id.0 >= VifId::MAX && A::FAMILY == AddressFamily::Ipv4 {
            return Err(SimError::VifOutOfRange(id));
        }
        self.vifs.remove(&id).map(|_| ()).ok_or(SimError::NoSuchVif(id))
    }

    fn apply_set_mfc(&mut self, entry: &MfcEntry<A>) -> Result<(), SimError> {
        if entry.iif.0 >= VifId::MAX {
            return Err(SimError::VifOutOfRange(entry.iif));
        }
        if let Some(&oif) = entry.oifs.keys().find(|oif| oif.0 >= VifId::MAX) {
            return Err(SimError::VifOutOfRange(oif));
        }
        let key = normalise(entry.key);
        let thresholds: MfcOifs = entry
            .oifs
            .iter()
            .filter(|(vif, _)| self.vifs.contains_key(vif))
            .map(|(&vif, &ttl)| (vif, if A::FAMILY == AddressFamily::Ipv4 { ttl.clamp(1, 254) } else { 1 }))
            .collect();
        if let Some(existing) = self.entries.get_mut(&key) {
            existing.parent = entry.iif;
            existing.thresholds = thresholds;
            return Ok(());
        }
        if key.group != A::UNSPECIFIED && !A::is_multicast(key.group) {
            return Err(SimError::NotMulticast);
        }
        let resolved =
            Resolved { parent: entry.iif, thresholds, counters: MfcCounters::default(), last_assert: None };
        self.entries.insert(key, resolved);
        if let Some(pending) = self.unresolved.remove(&key) {
            for (device, packet) in pending.queue {
                let injection = self.forward(key, device, packet);
                self.released.extend(injection.copies);
            }
        }
        Ok(())
    }
}

/// The key a packet or an entry is stored under: the kernel keeps (*,G) as an unspecified origin.
fn normalise<A: Afi>(key: SgKey<A>) -> SgKey<A> {
    match key.source {
        Some(source) if source == A::UNSPECIFIED => SgKey::star_g(key.group),
        _ => key,
    }
}

fn packet_key<A: Afi>(source: A::Addr, group: A::Addr) -> SgKey<A> {
    normalise(SgKey::sg(source, group))
}

impl<A: Afi> ForwardingPlane<A> for SimPlane<A> {
    type Error = SimError;

    fn add_vif(&mut self, vif: &Vif) -> Result<(), SimError> {
        let result = self.apply_add_vif(vif);
        self.record(PlaneCall::AddVif(*vif), result)
    }

    fn del_vif(&mut self, id: VifId) -> Result<(), SimError> {
        let result = self.apply_del_vif(id);
        self.record(PlaneCall::DelVif(id), result)
    }

    fn set_mfc(&mut self, entry: &MfcEntry<A>) -> Result<(), SimError> {
        let result = self.apply_set_mfc(entry);
        self.record(PlaneCall::SetMfc(entry.clone()), result)
    }

    fn del_mfc(&mut self, key: SgKey<A>) -> Result<(), SimError> {
        let result = self.entries.remove(&normalise(key)).map(|_| ()).ok_or(SimError::NoSuchEntry);
        self.record(PlaneCall::DelMfc(key), result)
    }

    fn flush(&mut self) -> Result<(), SimError> {
        self.vifs.clear();
        self.entries.clear();
        self.unresolved.clear();
        self.record(PlaneCall::Flush, Ok(()))
    }

    fn counters(&mut self) -> Result<BTreeMap<SgKey<A>, MfcCounters>, SimError> {
        let counters = self.entries.iter().map(|(&k, e)| (k, e.counters)).collect();
        self.record(PlaneCall::Counters, Ok(()))?;
        Ok(counters)
    }

    fn entry_counters(&mut self, key: SgKey<A>) -> Result<Option<MfcCounters>, SimError> {
        let counters = self.entries.get(&key).map(|e| e.counters);
        self.record(PlaneCall::EntryCounters(key), Ok(()))?;
        Ok(counters)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    const UP: IfIndex = IfIndex(10);
    const DOWN: IfIndex = IfIndex(11);
    const OTHER: IfIndex = IfIndex(12);
    const PORT: u16 = 5001;

    fn v4(s: &str) -> std::net::Ipv4Addr {
        s.parse().unwrap()
    }

    fn vif(id: u16, ifindex: IfIndex) -> Vif {
        Vif { id: VifId(id), kind: VifKind::Interface(ifindex), ttl_threshold: 1 }
    }

    fn entry(key: SgKey<V4>, iif: u16, oifs: &[(u16, u8)]) -> MfcEntry<V4> {
        MfcEntry { key, iif: VifId(iif), oifs: oifs.iter().map(|&(v, t)| (VifId(v), t)).collect() }
    }

    fn packet(group: &str, ttl: u8) -> SimPacket<V4> {
        SimPacket::udp(v4("198.18.1.2"), v4(group), ttl, PORT, b"payload")
    }

    /// VIF 0 on UP, VIF 1 on DOWN, VIF 2 on OTHER.
    fn plane(config: SimConfig) -> SimPlane<V4> {
        let mut plane = SimPlane::new(config, [UP, DOWN, OTHER]);
        for (id, ifindex) in [(0, UP), (1, DOWN), (2, OTHER)] {
            plane.add_vif(&vif(id, ifindex)).unwrap();
        }
        plane
    }

    fn sg(group: &str) -> SgKey<V4> {
        SgKey::sg(v4("198.18.1.2"), v4(group))
    }

    fn at(millis: u64) -> Instant {
        Instant::from_millis(millis)
    }

    #[test]
    fn vif_table_rules_and_errnos() {
        let mut p = plane(SimConfig::default());
        assert_eq!(p.add_vif(&vif(1, DOWN)).unwrap_err().errno(), errno::EADDRINUSE);
        assert_eq!(p.add_vif(&vif(32, DOWN)), Err(SimError::VifOutOfRange(VifId(32))));
        assert_eq!(p.add_vif(&vif(3, IfIndex(99))).unwrap_err().errno(), errno::EADDRNOTAVAIL);
        let register = |id| Vif { id: VifId(id), kind: VifKind::Register, ttl_threshold: 1 };
        p.add_vif(&register(31)).unwrap();
        assert_eq!(p.add_vif(&register(5)), Err(SimError::RegisterVifInUse));
        assert_eq!(p.del_vif(VifId(7)).unwrap_err().errno(), errno::EADDRNOTAVAIL);
        assert_eq!(p.del_vif(VifId(40)).unwrap_err().errno(), errno::ENFILE);
        let mut p6 = SimPlane::<V6>::new(SimConfig::default(), []);
        assert_eq!(p6.del_vif(VifId(40)).unwrap_err().errno(), errno::EADDRNOTAVAIL);
        // The same device may carry two VIFs; arrivals map to the highest.
        p.add_vif(&vif(4, UP)).unwrap();
        assert_eq!(p.find_vif(VifKind::Interface(UP)), Some(VifId(4)));
        p.remove_interface(UP);
        assert_eq!(p.find_vif(VifKind::Interface(UP)), None);
        assert_eq!(p.vifs().map(|v| v.id.0).collect::<Vec<_>>(), [1, 2, 31]);
        let calls: Vec<_> = p.log().iter().map(|c| c.result.is_ok()).collect();
        assert_eq!(calls, [true, true, true, false, false, false, true, false, false, false, true]);
        assert_eq!(p.log()[3].call, PlaneCall::AddVif(vif(1, DOWN)));
    }

    #[test]
    fn mfc_errors() {
        let mut p = plane(SimConfig::default());
        assert_eq!(p.del_mfc(sg("239.1.1.1")).unwrap_err().errno(), errno::ENOENT);
        assert_eq!(p.set_mfc(&entry(sg("239.1.1.1"), 32, &[])), Err(SimError::VifOutOfRange(VifId(32))));
        assert_eq!(p.set_mfc(&entry(sg("239.1.1.1"), 0, &[(40, 1)])).unwrap_err().errno(), errno::ENFILE);
        assert_eq!(p.set_mfc(&entry(sg("198.18.9.9"), 0, &[])).unwrap_err().errno(), errno::EINVAL);
        // (*,*) is a valid key; an unspecified origin is (*,G).
        p.set_mfc(&entry(SgKey::star_g(V4::UNSPECIFIED), 0, &[(1, 1)])).unwrap();
        p.set_mfc(&entry(SgKey::sg(V4::UNSPECIFIED, v4("239.1.1.1")), 0, &[])).unwrap();
        assert!(p.counters().unwrap().contains_key(&SgKey::star_g(v4("239.1.1.1"))));
    }

    #[test]
    fn forwarding_follows_thresholds_and_decrements_ttl() {
        let mut p = plane(SimConfig::default());
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1), (2, 5)])).unwrap();
        let out = p.inject(at(0), UP, packet("239.1.2.3", 3));
        assert_eq!(out.fate, Fate::Forwarded);
        assert_eq!(out.copies.len(), 1);
        assert_eq!(
            (out.copies[0].vif, out.copies[0].interface, out.copies[0].packet.ttl),
            (VifId(1), DOWN, 2)
        );
        let out = p.inject(at(1), VifId(0), packet("239.1.2.3", 6));
        assert_eq!(out.copies.iter().map(|c| c.vif.0).collect::<Vec<_>>(), [1, 2]);
        // TTL 1 never leaves (every threshold is at least 1) but is counted.
        assert!(p.inject(at(2), UP, packet("239.1.2.3", 1)).copies.is_empty());
        let c = p.counters().unwrap()[&sg("239.1.2.3")];
        let len = packet("239.1.2.3", 1).ip_len() as u64;
        assert_eq!(c, MfcCounters { packets: 3, bytes: 3 * len, wrong_if: 0 });
        assert!(p.recv().is_none());
    }

    #[test]
    fn thresholds_are_clamped_for_ipv4_and_ignored_for_ipv6() {
        let mut p = plane(SimConfig::default());
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 0), (2, 255)])).unwrap();
        let out = p.inject(at(0), UP, packet("239.1.2.3", 255));
        assert_eq!(out.copies.len(), 2);
        let (up6, group6) = ("fd00:1::2".parse().unwrap(), "ff3e::1".parse().unwrap());
        let mut p6 = SimPlane::<V6>::new(SimConfig::default(), [UP, DOWN]);
        p6.add_vif(&vif(0, UP)).unwrap();
        p6.add_vif(&vif(1, DOWN)).unwrap();
        let key = SgKey::sg(up6, group6);
        p6.set_mfc(&MfcEntry { key, iif: VifId(0), oifs: [(VifId(1), 64)].into() }).unwrap();
        let out = p6.inject(at(0), UP, SimPacket::udp(up6, group6, 2, PORT, b""));
        assert_eq!(out.copies.len(), 1);
    }

    #[test]
    fn source_specific_entries_win_over_star_g() {
        let mut p = plane(SimConfig { pim: true, ..SimConfig::default() });
        let star = SgKey::star_g(v4("239.1.2.3"));
        // (*,G) without its incoming VIF among the outgoing ones never matches traffic from it.
        p.set_mfc(&entry(star, 0, &[(1, 1)])).unwrap();
        assert_eq!(p.inject(at(0), UP, packet("239.1.2.3", 8)).fate, Fate::Queued);
        assert_eq!(
            p.recv(),
            Some(Upcall::NoCache { vif: VifId(0), source: v4("198.18.1.2"), group: v4("239.1.2.3") })
        );
        // With it, traffic from the incoming VIF goes everywhere else.
        p.set_mfc(&entry(star, 0, &[(0, 1), (1, 1), (2, 1)])).unwrap();
        let out = p.inject(at(1), UP, packet("239.1.2.3", 8));
        assert_eq!(out.copies.iter().map(|c| c.vif.0).collect::<Vec<_>>(), [1, 2]);
        // Traffic on an outgoing VIF matches the (*,G) and is on the wrong interface.
        assert_eq!(p.inject(at(2), DOWN, packet("239.1.2.3", 8)).fate, Fate::WrongInterface);
        assert_eq!(
            p.recv(),
            Some(Upcall::WrongVif { vif: VifId(1), source: v4("198.18.1.2"), group: v4("239.1.2.3") })
        );
        // An (S,G) takes precedence and gets the counts, including the packet still queued
        // since the first miss, which its installation releases.
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(2, 1)])).unwrap();
        assert_eq!(p.take_released().iter().map(|c| c.vif.0).collect::<Vec<_>>(), [2]);
        let out = p.inject(at(3), UP, packet("239.1.2.3", 8));
        assert_eq!(out.copies.iter().map(|c| c.vif.0).collect::<Vec<_>>(), [2]);
        let counters = p.counters().unwrap();
        assert_eq!(counters[&sg("239.1.2.3")].packets, 2);
        assert_eq!(counters[&star], MfcCounters { packets: 2, bytes: 2 * 35, wrong_if: 1 });
    }

    #[test]
    fn star_star_sends_towards_upstream_only() {
        let mut p = plane(SimConfig::default());
        p.set_mfc(&entry(SgKey::star_g(V4::UNSPECIFIED), 0, &[(0, 1), (1, 1), (2, 1)])).unwrap();
        let out = p.inject(at(0), DOWN, packet("239.7.7.7", 8));
        assert_eq!(out.copies.iter().map(|c| c.vif.0).collect::<Vec<_>>(), [0]);
        assert!(p.inject(at(1), UP, packet("239.7.7.7", 8)).copies.is_empty());
        // A (*,G) whose incoming VIF is in the (*,*) tree accepts arrivals from that tree.
        p.set_mfc(&entry(SgKey::star_g(v4("239.7.7.7")), 0, &[(2, 1)])).unwrap();
        let out = p.inject(at(2), DOWN, packet("239.7.7.7", 8));
        assert_eq!(
            (out.fate, out.copies.iter().map(|c| c.vif.0).collect::<Vec<_>>()),
            (Fate::Forwarded, vec![2])
        );
    }

    #[test]
    fn unresolved_queue_is_bounded_and_released_on_install() {
        let mut p = plane(SimConfig::default());
        for i in 0..6 {
            let fate = p.inject(at(i), UP, packet("239.9.9.9", 8)).fate;
            assert_eq!(fate, if i < 4 { Fate::Queued } else { Fate::QueueFull });
        }
        assert_eq!(p.unresolved().collect::<Vec<_>>(), [(sg("239.9.9.9"), 4)]);
        assert!(matches!(p.recv(), Some(Upcall::NoCache { vif: VifId(0), .. })));
        assert_eq!(p.recv(), None, "one NOCACHE per unresolved entry");
        assert!(p.counters().unwrap().is_empty(), "unresolved entries have no counters");
        // A (*,G) does not resolve an (S,G).
        p.set_mfc(&entry(SgKey::star_g(v4("239.9.9.9")), 0, &[(0, 1), (1, 1)])).unwrap();
        assert_eq!(p.unresolved().count(), 1);
        p.set_mfc(&entry(sg("239.9.9.9"), 0, &[(1, 1)])).unwrap();
        let released = p.take_released();
        assert_eq!(released.len(), 4);
        assert!(released.iter().all(|t| t.vif == VifId(1) && t.packet.ttl == 7));
        assert_eq!(p.counters().unwrap()[&sg("239.9.9.9")].packets, 4);
        assert_eq!(p.unresolved().count(), 0);
        assert!(p.take_released().is_empty());
    }

    #[test]
    fn released_packets_meet_the_incoming_vif_check() {
        let mut p = plane(SimConfig { pim: true, ..SimConfig::default() });
        p.inject(at(0), UP, packet("239.9.9.9", 8));
        p.set_mfc(&entry(sg("239.9.9.9"), 1, &[(2, 1)])).unwrap();
        assert!(p.take_released().is_empty());
        assert_eq!(p.counters().unwrap()[&sg("239.9.9.9")].wrong_if, 1);
    }

    #[test]
    fn unresolved_entries_expire_after_ten_seconds() {
        let mut p = plane(SimConfig::default());
        p.inject(at(500), UP, packet("239.9.9.9", 8));
        assert_eq!(p.poll_at(), Some(at(10_500)));
        p.advance(at(10_499));
        assert_eq!(p.unresolved().count(), 1);
        p.advance(at(10_500));
        assert_eq!((p.unresolved().count(), p.poll_at()), (0, None));
        p.inject(at(10_600), UP, packet("239.9.9.9", 8));
        assert_eq!(p.upcalls.len(), 2, "a new unresolved entry raises a new NOCACHE");
        // Installing after expiry releases nothing.
        p.advance(at(30_000));
        p.set_mfc(&entry(sg("239.9.9.9"), 0, &[(1, 1)])).unwrap();
        assert!(p.take_released().is_empty());
    }

    #[test]
    fn wrong_vif_needs_assert_and_is_rate_limited() {
        // Assert without PIM mode: only for arrivals on an outgoing VIF.
        let mut p = plane(SimConfig::default());
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        assert_eq!(p.inject(at(0), OTHER, packet("239.1.2.3", 8)).fate, Fate::WrongInterface);
        assert_eq!(p.recv(), None);
        p.inject(at(1), DOWN, packet("239.1.2.3", 8));
        assert!(matches!(p.recv(), Some(Upcall::WrongVif { vif: VifId(1), .. })));
        // No assert at all.
        let mut quiet = plane(SimConfig { assert: false, pim: false, wrong_vif_whole: false });
        quiet.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        quiet.inject(at(0), DOWN, packet("239.1.2.3", 8));
        assert_eq!((quiet.recv(), quiet.counters().unwrap()[&sg("239.1.2.3")].wrong_if), (None, 1));
        // PIM mode: any arrival VIF, at most one per entry per 3 s, WRVIFWHOLE after WRONGVIF.
        let mut p = plane(SimConfig { assert: false, pim: true, wrong_vif_whole: true });
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        let wrong = packet("239.1.2.3", 8);
        p.inject(at(1_000), OTHER, wrong.clone());
        assert!(matches!(p.recv(), Some(Upcall::WrongVif { vif: VifId(2), .. })));
        let whole = p.recv().unwrap();
        assert_eq!(whole.packet(), Some(wrong.to_bytes().unwrap().as_slice()));
        p.inject(at(4_000), OTHER, wrong.clone());
        assert_eq!(p.recv(), None, "3 s after the last assert is not yet past the threshold");
        p.inject(at(4_001), DOWN, wrong);
        assert!(matches!(p.recv(), Some(Upcall::WrongVif { vif: VifId(1), .. })));
        assert_eq!(p.counters().unwrap()[&sg("239.1.2.3")].wrong_if, 3);
    }

    #[test]
    fn register_vif_hands_packets_up_whole() {
        let mut p = plane(SimConfig::default());
        p.add_vif(&Vif { id: VifId(5), kind: VifKind::Register, ttl_threshold: 1 }).unwrap();
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1), (5, 1)])).unwrap();
        let sent = packet("239.1.2.3", 8);
        let out = p.inject(at(0), UP, sent.clone());
        assert_eq!(out.copies.len(), 1);
        let up = p.recv().unwrap();
        assert_eq!((up.vif(), up.key()), (VifId(5), sg("239.1.2.3")));
        assert_eq!(up.packet(), Some(sent.to_bytes().unwrap().as_slice()), "TTL not decremented");
        // Decapsulated Registers arrive on the register VIF.
        p.set_mfc(&entry(sg("239.4.4.4"), 5, &[(1, 1)])).unwrap();
        assert_eq!(p.inject(at(1), VifId(5), packet("239.4.4.4", 8)).copies.len(), 1);
    }

    #[test]
    fn arrivals_outside_vifs_and_link_local_groups() {
        let mut p = plane(SimConfig::default());
        p.add_interface(IfIndex(50));
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        assert_eq!(p.inject(at(0), IfIndex(50), packet("239.1.2.3", 8)).fate, Fate::NotAVif);
        assert_eq!(p.inject(at(0), VifId(9), packet("239.1.2.3", 8)).fate, Fate::NotAVif);
        assert_eq!(p.counters().unwrap()[&sg("239.1.2.3")].wrong_if, 0);
        assert_eq!(p.inject(at(0), UP, packet("224.0.0.13", 8)).fate, Fate::NotRouted);
        assert!(p.recv().is_none());

        let (s, g) = ("fd00:1::2".parse().unwrap(), "ff3e::1".parse().unwrap());
        let mut p6 = SimPlane::<V6>::new(SimConfig::default(), [UP, DOWN, IfIndex(50)]);
        p6.add_vif(&vif(0, UP)).unwrap();
        p6.set_mfc(&MfcEntry { key: SgKey::sg(s, g), iif: VifId(0), oifs: MfcOifs::default() }).unwrap();
        let out = p6.inject(at(0), IfIndex(50), SimPacket::udp(s, g, 8, PORT, b""));
        assert_eq!(out.fate, Fate::WrongInterface);
        assert_eq!(p6.counters().unwrap()[&SgKey::sg(s, g)].wrong_if, 1);
        let link_local = "ff02::d".parse().unwrap();
        assert_eq!(p6.inject(at(0), UP, SimPacket::udp(s, link_local, 8, PORT, b"")).fate, Fate::NotRouted);
    }

    #[test]
    fn replace_keeps_counters_and_missing_vifs_are_skipped() {
        let mut p = plane(SimConfig::default());
        // VIF 7 does not exist: ignored at install, even once created.
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1), (7, 1)])).unwrap();
        p.inject(at(0), UP, packet("239.1.2.3", 8));
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1), (2, 1)])).unwrap();
        assert_eq!(p.counters().unwrap()[&sg("239.1.2.3")].packets, 1, "replacing keeps counters");
        // A deleted VIF is skipped, and used again once re-created.
        p.del_vif(VifId(2)).unwrap();
        assert_eq!(p.inject(at(1), UP, packet("239.1.2.3", 8)).copies.len(), 1);
        p.add_vif(&vif(2, OTHER)).unwrap();
        assert_eq!(p.inject(at(2), UP, packet("239.1.2.3", 8)).copies.len(), 2);
        p.del_mfc(sg("239.1.2.3")).unwrap();
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        assert_eq!(p.counters().unwrap()[&sg("239.1.2.3")].packets, 0, "a new entry starts at zero");
    }

    #[test]
    fn flush_empties_everything() {
        let mut p = plane(SimConfig::default());
        p.set_mfc(&entry(sg("239.1.2.3"), 0, &[(1, 1)])).unwrap();
        p.inject(at(0), UP, packet("239.9.9.9", 8));
        p.flush().unwrap();
        assert!(p.counters().unwrap().is_empty());
        assert_eq!((p.vifs().count(), p.unresolved().count()), (0, 0));
        assert_eq!(p.inject(at(1), UP, packet("239.1.2.3", 8)).fate, Fate::NotAVif);
        p.add_vif(&vif(0, UP)).unwrap();
        assert_eq!(p.log().last().map(|c| &c.call), Some(&PlaneCall::AddVif(vif(0, UP))));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            AddVif(u16, u8),
            DelVif(u16),
            SetMfc(Option<u8>, u8, u16, Vec<(u16, u8)>),
            DelMfc(Option<u8>, u8),
            Inject(u64, u8, u8, u8, u8),
            Flush,
        }

        fn op() -> impl Strategy<Value = Op> {
            let vif_id = 0u16..34;
            prop_oneof![
                (vif_id.clone(), 0u8..5).prop_map(|(id, i)| Op::AddVif(id, i)),
                vif_id.clone().prop_map(Op::DelVif),
                (
                    proptest::option::of(0u8..3),
                    0u8..3,
                    vif_id.clone(),
                    proptest::collection::vec((vif_id, any::<u8>()), 0..4)
                )
                    .prop_map(|(s, g, iif, oifs)| Op::SetMfc(s, g, iif, oifs)),
                (proptest::option::of(0u8..3), 0u8..3).prop_map(|(s, g)| Op::DelMfc(s, g)),
                (0u64..5_000, 0u8..3, 0u8..3, 0u8..5, any::<u8>())
                    .prop_map(|(dt, s, g, i, t)| Op::Inject(dt, s, g, i, t)),
                Just(Op::Flush),
            ]
        }

        fn source(s: u8) -> std::net::Ipv4Addr {
            std::net::Ipv4Addr::new(198, 18, 1, s)
        }

        fn group(g: u8) -> std::net::Ipv4Addr {
            std::net::Ipv4Addr::new(239, 0, 0, g)
        }

        fn interface(i: u8) -> VifKind {
            if i == 4 {
                VifKind::Register
            } else {
                VifKind::Interface(IfIndex(u32::from(i)))
            }
        }

        proptest! {
            /// Any sequence of calls and packets: no panic, entries are exactly the keys set and not
            /// deleted since, no unresolved queue exceeds its bound, and a NOCACHE is raised once
            /// per unresolved entry created.
            #[test]
            fn plane_invariants(ops in proptest::collection::vec(op(), 0..60), pim in any::<bool>()) {
                let mut p = SimPlane::<V4>::new(SimConfig { pim, ..SimConfig::default() }, (0..4).map(IfIndex));
                let mut model = BTreeSet::new();
                let mut now = Instant::ZERO;
                for op in ops {
                    match op {
                        Op::AddVif(id, i) => {
                            let _ = p.add_vif(&Vif { id: VifId(id), kind: interface(i), ttl_threshold: 1 });
                        }
                        Op::DelVif(id) => {
                            let _ = p.del_vif(VifId(id));
                        }
                        Op::SetMfc(s, g, iif, oifs) => {
                            let key = SgKey { source: s.map(source), group: group(g) };
                            let e = MfcEntry { key, iif: VifId(iif), oifs: oifs.into_iter().map(|(v, t)| (VifId(v), t)).collect() };
                            if p.set_mfc(&e).is_ok() {
                                model.insert(key);
                            }
                        }
                        Op::DelMfc(s, g) => {
                            let key = SgKey { source: s.map(source), group: group(g) };
                            prop_assert_eq!(p.del_mfc(key).is_ok(), model.remove(&key));
                        }
                        Op::Inject(dt, s, g, i, ttl) => {
                            now += Duration::from_millis(dt);
                            let created_before = p.unresolved().count();
                            let arrival = match interface(i) {
                                VifKind::Interface(ifindex) => Arrival::Interface(ifindex),
                                VifKind::Register => Arrival::Vif(VifId(0)),
                            };
                            let packet = SimPacket::udp(source(s), group(g), ttl, PORT, b"");
                            let out = p.inject(now, arrival, packet);
                            prop_assert!(out.copies.iter().all(|c| c.packet.ttl < ttl));
                            if out.fate == Fate::Queued && p.unresolved().count() > created_before {
                                let raised = matches!(p.upcalls.back(), Some(Upcall::NoCache { .. }));
                                prop_assert!(raised);
                            }
                        }
                        Op::Flush => {
                            p.flush().unwrap();
                            model.clear();
                        }
                    }
                    prop_assert!(p.unresolved().all(|(_, n)| (1..=UNRESOLVED_QUEUE_LEN).contains(&n)));
                }
                let counters = p.counters().unwrap();
                prop_assert_eq!(counters.keys().copied().collect::<BTreeSet<_>>(), model);
                prop_assert!(counters.values().all(|c| c.wrong_if <= c.packets));
            }
        }
    }
}
