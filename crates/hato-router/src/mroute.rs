//! The mroute table: what every source of forwarding state wants for each (S,G) / (*,G), merged
//! into one desired MFC entry per key and reconciled with what the forwarding plane holds.
//!
//! Merging: the incoming interface comes from the first origin (in [`IntentOrigin`] order) that
//! names one; the outgoing interfaces are the union of every origin's, without the incoming
//! interface (a packet is never sent back where it came from, RFC 7761 §4.1.6 for PIM's olists).
//! An entry whose incoming interface has no VIF is not installed; outgoing interfaces without a
//! VIF are left out.
//!
//! Reconciling: changed keys are queued; each [`MrouteTable::reconcile`] call performs at most
//! [`RECONCILE_CHUNK`] plane operations, so a change to thousands of entries is spread over turns
//! of the daemon's loop, and ends by submitting them to the plane. A failed operation is retried
//! at the next [`MrouteTable::retry_failed`]. A plane that applies changes later reports their
//! failures afterwards; each reconciliation starts by taking them, and treats them as failures
//! of the call: an install that failed leaves nothing installed for its key (the kernel refuses
//! an install only when it would create the entry).
//!
//! Keys are reconciled in key order. Cost per (S,G) on the install path: one lookup in the
//! entries to record an intent and one to reconcile it, the queue a vector sorted once per
//! reconciliation, no allocation besides the entry itself (an [`MfcEntry`] holds its outgoing
//! VIFs inline), and no text unless installs are logged ([`MrouteTable::set_log_installs`]). The entries stay in a
//! `BTreeMap`, boxed and keyed by integers: the (S,G)s of one Join/Prune message land next to
//! those of the previous one, so the map's nodes are in cache (a hash table, tried, missed the
//! cache on every insertion); nodes of keys and pointers are small to shift and split (boxing
//! took a third off the insertion and a tenth off the table's memory); integer keys halved the
//! lookups, which compared `Ipv4Addr`s octet by octet.

use std::collections::btree_map::Entry as MapEntry;
use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, ForwardingPlane, IfIndex, Instant, MfcChange, MfcCounters, MfcEntry, SgKey, VifId};
use serde::Serialize;
use smallvec::SmallVec;

use crate::io::Event;
use crate::vifs::VifTable;
use hato_core::vec_map::{VecMap, VecSet};

/// An (S,G) as the table orders its entries: the addresses as integers ([`Afi::Key`]), which
/// order as the [`SgKey`] does and compare in one instruction each.
type TableKey<A> = (Option<<A as Afi>::Key>, <A as Afi>::Key);

fn table_key<A: Afi>(key: SgKey<A>) -> TableKey<A> {
    (key.source.map(A::key), A::key(key.group))
}

fn sg_key<A: Afi>((source, group): TableKey<A>) -> SgKey<A> {
    SgKey { source: source.map(A::from_key), group: A::from_key(group) }
}

/// Plane operations per [`MrouteTable::reconcile`] call (about 1 ms of kernel work).
pub const RECONCILE_CHUNK: usize = 1000;

/// Who wants forwarding state. The order is the precedence for the incoming interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntentOrigin {
    /// A configured `[[static-flow]]`.
    StaticFlow,
    /// PIM-SM / PIM-SSM (RFC 7761), local members included.
    Pim,
}

impl IntentOrigin {
    /// The reason shown next to an outgoing interface.
    pub fn label(self) -> &'static str {
        match self {
            IntentOrigin::StaticFlow => "static-flow",
            IntentOrigin::Pim => "pim",
        }
    }
}

/// One origin's wish for one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Intent {
    /// The incoming interface, if this origin decides it.
    pub iif: Option<IfIndex>,
    pub oifs: VecSet<IfIndex>,
    /// Also forward to the PIM register VIF (the DR encapsulates to the RP, RFC 7761 §4.4.1).
    pub register: bool,
}

/// One key's intents and bookkeeping.
#[derive(Debug, Clone)]
pub struct Entry {
    pub intents: VecMap<IntentOrigin, Intent>,
    pub created: Instant,
    /// When each outgoing interface joined the merged list.
    pub oif_since: VecMap<IfIndex, Instant>,
    pub counters: MfcCounters,
    installed: Option<Installed>,
    /// Whether the key waits in the reconcile queue.
    queued: bool,
}

/// What the plane holds for a key, as the table keeps it: the key is the map's, and up to four
/// outgoing VIFs are stored inline rather than in a `BTreeMap` node of their own.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Installed {
    iif: VifId,
    oifs: SmallVec<[(VifId, u8); 4]>,
}

impl Installed {
    fn new<A: Afi>(entry: &MfcEntry<A>) -> Self {
        Installed { iif: entry.iif, oifs: entry.oifs.iter().map(|(vif, ttl)| (*vif, *ttl)).collect() }
    }

    /// The plane's entry for `key`.
    fn entry<A: Afi>(&self, key: SgKey<A>) -> MfcEntry<A> {
        MfcEntry { key, iif: self.iif, oifs: self.oifs.iter().copied().collect() }
    }

    /// Whether this is `entry` (whose outgoing VIFs are in order, as these are).
    fn is<A: Afi>(&self, entry: &MfcEntry<A>) -> bool {
        self.iif == entry.iif
            && self.oifs.len() == entry.oifs.len()
            && self.oifs.iter().zip(&entry.oifs).all(|((a, at), (b, bt))| a == b && at == bt)
    }
}

/// The merged wish for a key, in interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub iif: Option<IfIndex>,
    /// Each outgoing interface with the origins that want it.
    pub oifs: BTreeMap<IfIndex, Vec<IntentOrigin>>,
    /// Whether the register VIF is an outgoing interface.
    pub register: bool,
}

impl Entry {
    /// The incoming interface: the first origin's that names one.
    fn iif(&self) -> Option<IfIndex> {
        self.intents.values().find_map(|intent| intent.iif)
    }

    /// Every origin's outgoing interfaces other than `iif` (an interface wanted by several
    /// origins comes once per origin).
    fn oifs_besides(&self, iif: Option<IfIndex>) -> impl Iterator<Item = IfIndex> + '_ {
        self.intents
            .values()
            .flat_map(|intent| intent.oifs.iter().copied())
            .filter(move |oif| Some(*oif) != iif)
    }

    /// Keeps `oif_since` to the merged outgoing interfaces, new ones joining at `now`.
    fn track_oifs(&mut self, now: Instant) {
        let iif = self.iif();
        let intents = &self.intents;
        self.oif_since
            .retain(|oif, _| Some(*oif) != iif && intents.values().any(|intent| intent.oifs.contains(oif)));
        for oif in intents.values().flat_map(|intent| intent.oifs.iter()).filter(|oif| Some(**oif) != iif) {
            self.oif_since.get_or_insert(*oif, now);
        }
    }

    /// The merged intents.
    pub fn merged(&self) -> Merged {
        let iif = self.iif();
        let mut oifs: BTreeMap<IfIndex, Vec<IntentOrigin>> = BTreeMap::new();
        for (origin, intent) in &self.intents {
            for oif in intent.oifs.iter().filter(|oif| Some(**oif) != iif) {
                oifs.entry(*oif).or_default().push(*origin);
            }
        }
        let register = self.intents.values().any(|intent| intent.register);
        Merged { iif, oifs, register }
    }

    /// The entry the plane should hold, given the VIFs; `None` when the incoming interface has none,
    /// and for every (*,G). Forwarding is per (S,G) only: PIM answers each NOCACHE upcall with an
    /// (S,G) intent and any-source static flows learn their (S,G)s the same way. A (*,G) MFC entry
    /// would swallow those upcalls (the kernel matches it for packets arriving on any of its
    /// outgoing VIFs, so it must list its incoming VIF among them to match at all), and a last-hop
    /// router would then never see a new source to switch to its shortest-path tree (RFC 7761
    /// §4.2.1). (*,G) intents stay in the table for `show mroute`.
    pub fn desired<A: Afi>(&self, key: SgKey<A>, vifs: &VifTable) -> Option<MfcEntry<A>> {
        key.source?;
        let iif_interface = self.iif();
        let iif = vifs.vif_of(iif_interface?)?;
        let mut oifs: hato_core::MfcOifs = self
            .oifs_besides(iif_interface)
            .filter_map(|oif| vifs.get(oif))
            .filter(|binding| binding.vif != iif)
            .map(|binding| (binding.vif, binding.ttl_threshold))
            .collect();
        let register = self.intents.values().any(|intent| intent.register);
        if let (true, Some(register)) = (register, vifs.register()) {
            oifs.insert(register, 1);
        }
        Some(MfcEntry { key, iif, oifs })
    }

    /// Whether the plane holds an entry for the key.
    pub fn is_installed(&self) -> bool {
        self.installed.is_some()
    }

    /// Whether the plane holds exactly `entry` for the key.
    pub fn holds<A: Afi>(&self, entry: &MfcEntry<A>) -> bool {
        self.installed.as_ref().is_some_and(|installed| installed.is(entry))
    }
}

/// The mroute table of one family.
#[derive(Debug, Clone)]
pub struct MrouteTable<A: Afi> {
    /// Boxed, see the module documentation.
    entries: BTreeMap<TableKey<A>, Box<Entry>>,
    /// Installed entries whose key has no intent any more, still to be removed.
    orphans: BTreeMap<SgKey<A>, Installed>,
    /// Keys to reconcile, each once while its entry is `queued` (a key whose entry went, or went
    /// and came back, may stay behind: it is skipped). In decreasing order when `dirty_sorted`,
    /// so that the smallest key comes off the end.
    dirty: Vec<TableKey<A>>,
    dirty_sorted: bool,
    /// Entries whose `queued` is set.
    queued: usize,
    failed: BTreeSet<SgKey<A>>,
    /// Whether installs and removals are logged (one formatted line each).
    log_installs: bool,
}

impl<A: Afi> Default for MrouteTable<A> {
    fn default() -> Self {
        MrouteTable {
            entries: BTreeMap::new(),
            orphans: BTreeMap::new(),
            dirty: Vec::new(),
            dirty_sorted: true,
            queued: 0,
            failed: BTreeSet::new(),
            log_installs: true,
        }
    }
}

/// Operation counts of one reconciliation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReconcileStats {
    pub installed: u64,
    pub removed: u64,
    pub failed: u64,
}

impl<A: Afi> MrouteTable<A> {
    /// Sets (`Some`) or withdraws (`None`) `origin`'s intent for `key`; queues the key when the
    /// merged result may have changed.
    pub fn set_intent(&mut self, now: Instant, key: SgKey<A>, origin: IntentOrigin, intent: Option<Intent>) {
        let entry = match (self.entries.entry(table_key(key)), intent) {
            (MapEntry::Occupied(occupied), Some(intent)) => {
                let entry = occupied.into_mut();
                if entry.intents.get(&origin) == Some(&intent) {
                    return;
                }
                entry.intents.insert(origin, intent);
                entry
            }
            (MapEntry::Occupied(mut occupied), None) => {
                if occupied.get_mut().intents.remove(&origin).is_none() {
                    return;
                }
                if occupied.get().intents.is_empty() {
                    let entry = occupied.remove();
                    self.queued -= usize::from(entry.queued);
                    if let Some(installed) = entry.installed {
                        self.orphans.insert(key, installed);
                    }
                    return;
                }
                occupied.into_mut()
            }
            (MapEntry::Vacant(vacant), Some(intent)) => vacant.insert(Box::new(Entry {
                intents: VecMap::single(origin, intent),
                created: now,
                oif_since: VecMap::default(),
                counters: MfcCounters::default(),
                installed: self.orphans.remove(&key),
                queued: false,
            })),
            (MapEntry::Vacant(_), None) => return,
        };
        entry.track_oifs(now);
        if !entry.queued {
            entry.queued = true;
            self.queued += 1;
            self.dirty.push(table_key(key));
            self.dirty_sorted = false;
        }
    }

    /// Says whether installs and removals leave an [`Event`] each (their text costs more than the
    /// table's own work per entry).
    pub fn set_log_installs(&mut self, log: bool) {
        self.log_installs = log;
    }

    /// `origin`'s intent for `key`.
    pub fn intent(&self, key: &SgKey<A>, origin: IntentOrigin) -> Option<&Intent> {
        self.entries.get(&table_key(*key))?.intents.get(&origin)
    }

    /// Keys for which `origin` has an intent.
    pub fn keys_of(&self, origin: IntentOrigin) -> Vec<SgKey<A>> {
        self.iter().filter(|(_, entry)| entry.intents.contains_key(&origin)).map(|(key, _)| key).collect()
    }

    /// Queues `key` for reconciliation unless it waits already.
    fn enqueue(&mut self, key: SgKey<A>) {
        if let Some(entry) = self.entries.get_mut(&table_key(key)).filter(|entry| !entry.queued) {
            entry.queued = true;
            self.queued += 1;
            self.dirty.push(table_key(key));
            self.dirty_sorted = false;
        }
    }

    /// Queues every key whose desired entry depends on the VIFs (after a VIF change). The kernel
    /// keeps entries that refer to a deleted VIF number and forwards by number, so comparing the
    /// VIF numbers of the desired and installed entries stays exact when a number is reused.
    pub fn vifs_changed(&mut self) {
        for (key, entry) in self.entries.iter_mut().filter(|(_, entry)| !entry.queued) {
            entry.queued = true;
            self.queued += 1;
            self.dirty.push(*key);
            self.dirty_sorted = false;
        }
    }

    /// Queues the keys whose last plane operation failed.
    pub fn retry_failed(&mut self) {
        for key in std::mem::take(&mut self.failed) {
            self.enqueue(key);
        }
    }

    /// Whether reconciliation has work queued.
    pub fn has_pending(&self) -> bool {
        self.queued > 0 || !self.orphans.is_empty()
    }

    /// Queued keys and orphans.
    pub fn pending(&self) -> usize {
        self.queued + self.orphans.len()
    }

    /// Takes the counters of a plane dump: one walk of both sorted maps side by side.
    pub fn update_counters(&mut self, counters: &BTreeMap<SgKey<A>, MfcCounters>) {
        let mut dump = counters.iter().peekable();
        for (key, entry) in &mut self.entries {
            while dump.next_if(|(k, _)| table_key(**k) < *key).is_some() {}
            if let Some((_, c)) = dump.next_if(|(k, _)| table_key(**k) == *key) {
                entry.counters = *c;
            }
        }
    }

    /// Sets the counters of one entry.
    pub fn set_counters(&mut self, key: SgKey<A>, counters: MfcCounters) {
        if let Some(entry) = self.entries.get_mut(&table_key(key)) {
            entry.counters = counters;
        }
    }

    pub fn get(&self, key: &SgKey<A>) -> Option<&Entry> {
        self.entries.get(&table_key(*key)).map(|entry| &**entry)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (SgKey<A>, &Entry)> + '_ {
        self.entries.iter().map(|(key, entry)| (sg_key(*key), &**entry))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Brings the plane closer to the desired entries: at most `budget` operations.
    pub fn reconcile<P: ForwardingPlane<A>>(
        &mut self,
        plane: &mut P,
        vifs: &VifTable,
        budget: usize,
        events: &mut Vec<Event>,
    ) -> ReconcileStats {
        let mut stats = ReconcileStats::default();
        self.take_late_failures(plane, &mut stats, events);
        let mut done = 0;
        while done < budget {
            let Some((key, _)) = self.orphans.pop_first() else { break };
            done += 1;
            match plane.del_mfc(key) {
                Ok(()) => {
                    stats.removed += 1;
                    if self.log_installs {
                        events.push(Event::MfcRemoved { key: key.to_string() });
                    }
                }
                Err(e) => {
                    stats.failed += 1;
                    events.push(plane_failed::<A>(format!("delete {key}"), &e));
                }
            }
        }
        if !self.dirty_sorted {
            // Stable: runs already in order (a big queue with a few keys added) merge in linear time.
            self.dirty.sort_by(|a, b| b.cmp(a));
            self.dirty_sorted = true;
        }
        while done < budget {
            let Some(table_key) = self.dirty.pop() else { break };
            let Some(entry) = self.entries.get_mut(&table_key).filter(|entry| entry.queued) else { continue };
            let key = sg_key(table_key);
            entry.queued = false;
            self.queued -= 1;
            let desired = entry.desired(key, vifs);
            let unchanged = match (&desired, &entry.installed) {
                (Some(desired), Some(installed)) => installed.is(desired),
                (None, None) => true,
                _ => false,
            };
            if unchanged {
                continue;
            }
            done += 1;
            match desired {
                Some(desired) => match plane.set_mfc(&desired) {
                    Ok(()) => {
                        stats.installed += 1;
                        if self.log_installs {
                            events.push(Event::MfcInstalled { entry: desired.to_string() });
                        }
                        entry.installed = Some(Installed::new(&desired));
                    }
                    Err(e) => {
                        stats.failed += 1;
                        events.push(plane_failed::<A>(format!("install {desired}"), &e));
                        self.failed.insert(key);
                    }
                },
                None => match plane.del_mfc(key) {
                    Ok(()) => {
                        stats.removed += 1;
                        if self.log_installs {
                            events.push(Event::MfcRemoved { key: key.to_string() });
                        }
                        entry.installed = None;
                    }
                    Err(e) => {
                        stats.failed += 1;
                        events.push(plane_failed::<A>(format!("delete {key}"), &e));
                        self.failed.insert(key);
                    }
                },
            }
        }
        if self.queued == 0 {
            // Only keys whose entry went (or was queued again further on) can be left.
            self.dirty.clear();
        }
        plane.submit();
        stats
    }

    /// Records the plane's failures of changes it applied after accepting them: the key of a
    /// failed install holds nothing (and is retried), a failed orphan's install needs no removal.
    fn take_late_failures<P: ForwardingPlane<A>>(
        &mut self,
        plane: &mut P,
        stats: &mut ReconcileStats,
        events: &mut Vec<Event>,
    ) {
        for failure in plane.take_failures() {
            stats.failed += 1;
            let key = failure.key;
            let entry = self.entries.get_mut(&table_key(key));
            let operation = match failure.change {
                MfcChange::Set => {
                    let held = match entry {
                        Some(entry) => entry.installed.take(),
                        None => self.orphans.remove(&key),
                    };
                    held.map_or_else(
                        || format!("install {key}"),
                        |held| format!("install {}", held.entry(key)),
                    )
                }
                MfcChange::Delete => format!("delete {key}"),
            };
            if self.entries.contains_key(&table_key(key)) {
                self.failed.insert(key);
            }
            events.push(plane_failed::<A>(operation, &failure.error));
        }
    }

    /// Removes every installed entry from the plane (shutdown); returns the failures.
    pub fn withdraw_all<P: ForwardingPlane<A>>(&mut self, plane: &mut P, events: &mut Vec<Event>) -> u64 {
        let mut late = ReconcileStats::default();
        self.take_late_failures(plane, &mut late, events);
        let mut failures = late.failed;
        let installed: Vec<SgKey<A>> = self
            .iter()
            .filter(|(_, entry)| entry.installed.is_some())
            .map(|(key, _)| key)
            .chain(self.orphans.keys().copied())
            .collect();
        for key in installed {
            if let Err(e) = plane.del_mfc(key) {
                failures += 1;
                events.push(plane_failed::<A>(format!("delete {key}"), &e));
            }
        }
        plane.submit();
        self.entries.clear();
        self.orphans.clear();
        self.dirty.clear();
        self.queued = 0;
        self.failed.clear();
        failures
    }
}

fn plane_failed<A: Afi>(operation: String, error: &dyn std::error::Error) -> Event {
    Event::PlaneFailed { family: A::FAMILY, operation, error: error.to_string() }
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use hato_core::{LateFailure, Vif, V4};

    use super::*;
    use crate::vifs::VifBinding;

    #[derive(Debug)]
    struct Refused;

    impl fmt::Display for Refused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("refused")
        }
    }

    impl std::error::Error for Refused {}

    /// A plane that applies entry changes when they are submitted, and then refuses to create
    /// the entries of `refused` keys and to remove entries it does not have.
    #[derive(Debug, Default)]
    struct DeferredPlane {
        queued: Vec<(SgKey<V4>, Option<MfcEntry<V4>>)>,
        mfc: BTreeMap<SgKey<V4>, MfcEntry<V4>>,
        refused: BTreeSet<SgKey<V4>>,
        failures: Vec<LateFailure<V4, Refused>>,
        deletes: usize,
    }

    impl ForwardingPlane<V4> for DeferredPlane {
        type Error = Refused;

        fn add_vif(&mut self, _vif: &Vif) -> Result<(), Refused> {
            Ok(())
        }

        fn del_vif(&mut self, _id: VifId) -> Result<(), Refused> {
            Ok(())
        }

        fn set_mfc(&mut self, entry: &MfcEntry<V4>) -> Result<(), Refused> {
            self.queued.push((entry.key, Some(entry.clone())));
            Ok(())
        }

        fn del_mfc(&mut self, key: SgKey<V4>) -> Result<(), Refused> {
            self.queued.push((key, None));
            Ok(())
        }

        fn flush(&mut self) -> Result<(), Refused> {
            Ok(())
        }

        fn counters(&mut self) -> Result<BTreeMap<SgKey<V4>, MfcCounters>, Refused> {
            Ok(self.mfc.keys().map(|key| (*key, MfcCounters::default())).collect())
        }

        fn entry_counters(&mut self, key: SgKey<V4>) -> Result<Option<MfcCounters>, Refused> {
            Ok(self.mfc.get(&key).map(|_| MfcCounters::default()))
        }

        fn submit(&mut self) {
            for (key, change) in std::mem::take(&mut self.queued) {
                let failed = match change {
                    Some(_) if self.refused.contains(&key) && !self.mfc.contains_key(&key) => {
                        Some(MfcChange::Set)
                    }
                    Some(entry) => {
                        self.mfc.insert(key, entry);
                        None
                    }
                    None => {
                        self.deletes += 1;
                        self.mfc.remove(&key).is_none().then_some(MfcChange::Delete)
                    }
                };
                if let Some(change) = failed {
                    self.failures.push(LateFailure { key, change, error: Refused });
                }
            }
        }

        fn take_failures(&mut self) -> Vec<LateFailure<V4, Refused>> {
            std::mem::take(&mut self.failures)
        }
    }

    fn key() -> SgKey<V4> {
        SgKey::sg("198.18.0.1".parse().unwrap(), "239.1.1.1".parse().unwrap())
    }

    fn intent() -> Option<Intent> {
        Some(Intent { iif: Some(IfIndex(0)), oifs: [IfIndex(1)].into_iter().collect(), register: false })
    }

    /// A table with an intent for [`key`] from interface 0 to 1, both with VIFs.
    fn setup() -> (MrouteTable<V4>, VifTable) {
        let mut vifs = VifTable::default();
        for i in 0..2u16 {
            vifs.bind(IfIndex(u32::from(i)), VifBinding { vif: VifId(i), ttl_threshold: 1 });
        }
        let mut table = MrouteTable::default();
        table.set_intent(Instant::from_millis(0), key(), IntentOrigin::Pim, intent());
        (table, vifs)
    }

    fn failed_operations(events: &[Event]) -> Vec<&str> {
        events
            .iter()
            .filter_map(|event| match event {
                Event::PlaneFailed { operation, .. } => Some(operation.as_str()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_late_install_failure_leaves_the_key_uninstalled_and_retried() {
        let (mut table, vifs) = setup();
        let mut plane = DeferredPlane { refused: BTreeSet::from([key()]), ..DeferredPlane::default() };
        let mut events = Vec::new();
        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!((stats.installed, stats.failed), (1, 0), "accepted by the call");
        assert!(table.get(&key()).unwrap().is_installed());

        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!((stats.installed, stats.failed), (0, 1));
        assert_eq!(failed_operations(&events), ["install (198.18.0.1, 239.1.1.1) iif vif0 oifs [vif1:1]"]);
        assert!(!table.get(&key()).unwrap().is_installed());
        assert!(!table.has_pending(), "retried after the next counter dump, not at once");

        plane.refused.clear();
        table.retry_failed();
        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!(stats.installed, 1);
        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!(stats.failed, 0);
        assert!(table.get(&key()).unwrap().is_installed());
        assert!(plane.mfc.contains_key(&key()));
    }

    #[test]
    fn a_late_install_failure_of_a_withdrawn_key_needs_no_removal() {
        let (mut table, vifs) = setup();
        let mut plane = DeferredPlane { refused: BTreeSet::from([key()]), ..DeferredPlane::default() };
        let mut events = Vec::new();
        table.reconcile(&mut plane, &vifs, 10, &mut events);
        table.set_intent(Instant::from_millis(1), key(), IntentOrigin::Pim, None);
        assert!(table.has_pending(), "the entry believed installed waits for removal");

        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!((stats.removed, stats.failed), (0, 1));
        assert_eq!(plane.deletes, 0);
        assert!(!table.has_pending());
        table.retry_failed();
        assert!(!table.has_pending(), "nothing to retry for a key without intents");
    }

    #[test]
    fn a_late_removal_failure_is_counted_once() {
        let (mut table, vifs) = setup();
        let mut plane = DeferredPlane::default();
        let mut events = Vec::new();
        table.reconcile(&mut plane, &vifs, 10, &mut events);
        // The plane lost the entry on its own; the table still removes it.
        plane.mfc.clear();
        table.set_intent(Instant::from_millis(1), key(), IntentOrigin::Pim, None);
        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!((stats.removed, stats.failed), (1, 0));
        let stats = table.reconcile(&mut plane, &vifs, 10, &mut events);
        assert_eq!((stats.removed, stats.failed), (0, 1));
        assert_eq!(failed_operations(&events), ["delete (198.18.0.1, 239.1.1.1)"]);
        table.retry_failed();
        assert!(!table.has_pending());
        assert_eq!(plane.deletes, 1);
    }
}
