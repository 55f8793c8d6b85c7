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
//! of the daemon's loop. A failed operation is retried at the next [`MrouteTable::retry_failed`].

use std::collections::{BTreeMap, BTreeSet};

use hato_core::{Afi, ForwardingPlane, IfIndex, Instant, MfcCounters, MfcEntry, SgKey, VifId};
use serde::Serialize;
use smallvec::SmallVec;

use crate::io::Event;
use crate::vifs::VifTable;
use hato_core::vec_map::{VecMap, VecSet};

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
    /// The merged intents.
    pub fn merged(&self) -> Merged {
        let iif = self.intents.values().find_map(|intent| intent.iif);
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
        let merged = self.merged();
        let iif = vifs.vif_of(merged.iif?)?;
        let mut oifs: BTreeMap<hato_core::VifId, u8> = merged
            .oifs
            .keys()
            .filter_map(|oif| vifs.get(*oif))
            .filter(|binding| binding.vif != iif)
            .map(|binding| (binding.vif, binding.ttl_threshold))
            .collect();
        if let (true, Some(register)) = (merged.register, vifs.register()) {
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
    entries: BTreeMap<SgKey<A>, Entry>,
    /// Installed entries whose key has no intent any more, still to be removed.
    orphans: BTreeMap<SgKey<A>, Installed>,
    dirty: BTreeSet<SgKey<A>>,
    failed: BTreeSet<SgKey<A>>,
}

impl<A: Afi> Default for MrouteTable<A> {
    fn default() -> Self {
        MrouteTable {
            entries: BTreeMap::new(),
            orphans: BTreeMap::new(),
            dirty: BTreeSet::new(),
            failed: BTreeSet::new(),
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
        match (self.entries.get_mut(&key), intent) {
            (Some(entry), Some(intent)) => {
                if entry.intents.get(&origin) == Some(&intent) {
                    return;
                }
                entry.intents.insert(origin, intent);
            }
            (Some(entry), None) => {
                if entry.intents.remove(&origin).is_none() {
                    return;
                }
                if entry.intents.is_empty() {
                    if let Some(installed) = self.entries.remove(&key).and_then(|entry| entry.installed) {
                        self.orphans.insert(key, installed);
                    }
                }
            }
            (None, Some(intent)) => {
                let entry = Entry {
                    intents: VecMap::single(origin, intent),
                    created: now,
                    oif_since: VecMap::default(),
                    counters: MfcCounters::default(),
                    installed: self.orphans.remove(&key),
                };
                self.entries.insert(key, entry);
            }
            (None, None) => return,
        }
        if let Some(entry) = self.entries.get_mut(&key) {
            let merged = entry.merged();
            entry.oif_since.retain(|oif, _| merged.oifs.contains_key(oif));
            for oif in merged.oifs.keys() {
                entry.oif_since.get_or_insert(*oif, now);
            }
        }
        self.dirty.insert(key);
    }

    /// `origin`'s intent for `key`.
    pub fn intent(&self, key: &SgKey<A>, origin: IntentOrigin) -> Option<&Intent> {
        self.entries.get(key)?.intents.get(&origin)
    }

    /// Keys for which `origin` has an intent.
    pub fn keys_of(&self, origin: IntentOrigin) -> Vec<SgKey<A>> {
        self.entries
            .iter()
            .filter(|(_, entry)| entry.intents.contains_key(&origin))
            .map(|(key, _)| *key)
            .collect()
    }

    /// Queues every key whose desired entry depends on the VIFs (after a VIF change). The kernel
    /// keeps entries that refer to a deleted VIF number and forwards by number, so comparing the
    /// VIF numbers of the desired and installed entries stays exact when a number is reused.
    pub fn vifs_changed(&mut self) {
        self.dirty.extend(self.entries.keys().copied());
    }

    /// Queues the keys whose last plane operation failed.
    pub fn retry_failed(&mut self) {
        self.dirty.append(&mut self.failed);
    }

    /// Whether reconciliation has work queued.
    pub fn has_pending(&self) -> bool {
        !self.dirty.is_empty() || !self.orphans.is_empty()
    }

    /// Queued keys and orphans.
    pub fn pending(&self) -> usize {
        self.dirty.len() + self.orphans.len()
    }

    /// Records a counter dump.
    /// Takes the counters of a plane dump: one walk of both sorted maps side by side.
    pub fn update_counters(&mut self, counters: &BTreeMap<SgKey<A>, MfcCounters>) {
        let mut dump = counters.iter().peekable();
        for (key, entry) in &mut self.entries {
            while dump.next_if(|(k, _)| *k < key).is_some() {}
            if let Some((_, c)) = dump.next_if(|(k, _)| *k == key) {
                entry.counters = *c;
            }
        }
    }

    pub fn get(&self, key: &SgKey<A>) -> Option<&Entry> {
        self.entries.get(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&SgKey<A>, &Entry)> + '_ {
        self.entries.iter()
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
        let mut done = 0;
        while done < budget {
            let Some((key, _)) = self.orphans.pop_first() else { break };
            done += 1;
            match plane.del_mfc(key) {
                Ok(()) => {
                    stats.removed += 1;
                    events.push(Event::MfcRemoved { key: key.to_string() });
                }
                Err(e) => {
                    stats.failed += 1;
                    events.push(plane_failed::<A>(format!("delete {key}"), &e));
                }
            }
        }
        while done < budget {
            let Some(key) = self.dirty.pop_first() else { break };
            let Some(entry) = self.entries.get_mut(&key) else { continue };
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
                        events.push(Event::MfcInstalled { entry: desired.to_string() });
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
                        events.push(Event::MfcRemoved { key: key.to_string() });
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
        stats
    }

    /// Removes every installed entry from the plane (shutdown); returns the failures.
    pub fn withdraw_all<P: ForwardingPlane<A>>(&mut self, plane: &mut P, events: &mut Vec<Event>) -> u64 {
        let mut failures = 0;
        let installed: Vec<SgKey<A>> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.installed.is_some())
            .map(|(key, _)| *key)
            .chain(self.orphans.keys().copied())
            .collect();
        for key in installed {
            if let Err(e) = plane.del_mfc(key) {
                failures += 1;
                events.push(plane_failed::<A>(format!("delete {key}"), &e));
            }
        }
        self.entries.clear();
        self.orphans.clear();
        self.dirty.clear();
        self.failed.clear();
        failures
    }
}

fn plane_failed<A: Afi>(operation: String, error: &dyn std::error::Error) -> Event {
    Event::PlaneFailed { family: A::FAMILY, operation, error: error.to_string() }
}
