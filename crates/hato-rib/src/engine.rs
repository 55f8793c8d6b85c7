//! The RPF engine: owns the URIB mirror and the MRIB, answers lookups, and tells protocols when the
//! answer for an address they watch changes.
//!
//! Watches are stored per address under its host prefix, so a change to the routes of prefix `P`
//! recomputes only the watched addresses inside `P` (a trie walk), never every watch. A connected
//! prefix change also recomputes the addresses under static mroutes whose neighbour it resolves;
//! an interface going up or down, a mode change and the periodic re-check recompute everything.
//! Changes are collected and recomputed when the backoff ([`crate::Backoff`]) says so; lookups
//! ([`RpfEngine::lookup`]) always answer from the current tables.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use hato_core::{Afi, Duration, Instant, PrefixTable};
use serde::Serialize;

use crate::damping::{Backoff, Damper, Verdict};
use crate::lookup::{rpf_lookup, RpfAnswer, RpfLookupMode};
use crate::mrib::{Mrib, MrouteTarget, StaticMroute};
use crate::route::UnicastEvent;
use crate::urib::{Touched, UnicastRib};

/// The engine's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RpfConfig {
    pub mode: RpfLookupMode,
    /// The periodic re-check of every watched answer (`ip multicast rpf interval`); `None` disables it.
    pub interval: Option<Duration>,
    /// Change damping (`ip multicast rpf backoff`); `None` recomputes at every change.
    pub backoff: Option<Backoff>,
}

impl Default for RpfConfig {
    /// `mrib-then-urib`, a 10 s re-check and a 500 ms / 5 s backoff.
    fn default() -> Self {
        RpfConfig {
            mode: RpfLookupMode::default(),
            interval: Some(Duration::from_secs(10)),
            backoff: Some(Backoff::default()),
        }
    }
}

/// A watched address whose answer changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = "K: Serialize"))]
pub struct RpfChanged<A: Afi, K> {
    /// The watcher's key.
    pub key: K,
    pub addr: A::Addr,
    pub old: RpfAnswer<A>,
    pub new: RpfAnswer<A>,
}

/// Counters, for `hatoctl show rpf` and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RpfStats {
    /// Unicast route, address, link and static mroute changes received.
    pub changes: u64,
    /// Recomputations triggered by changes (each may cover many answers).
    pub recomputations: u64,
    /// Periodic re-checks of every watched answer.
    pub periodic_checks: u64,
    /// Individual answers recomputed by either.
    pub answers_recomputed: u64,
    /// [`RpfChanged`] notifications emitted.
    pub changes_notified: u64,
}

/// One watched address: its last notified answer and who watches it.
#[derive(Debug, Clone)]
struct Watched<A: Afi, K> {
    answer: RpfAnswer<A>,
    keys: BTreeSet<K>,
}

/// What must be recomputed at the next recomputation.
#[derive(Debug, Clone)]
enum Dirty<A: Afi> {
    Clean,
    /// Watched addresses inside these prefixes.
    Prefixes(BTreeSet<A::Prefix>),
    Everything,
}

impl<A: Afi> Dirty<A> {
    fn add(&mut self, prefix: A::Prefix) {
        match self {
            Dirty::Clean => *self = Dirty::Prefixes(BTreeSet::from([prefix])),
            Dirty::Prefixes(prefixes) => {
                prefixes.insert(prefix);
            }
            Dirty::Everything => {}
        }
    }
}

/// The RPF engine for one address family; `K` is the protocols' opaque watcher key.
#[derive(Debug, Clone)]
pub struct RpfEngine<A: Afi, K: Ord + Clone + Debug> {
    config: RpfConfig,
    urib: UnicastRib<A>,
    mrib: Mrib<A>,
    /// Watched addresses under their host prefixes.
    watches: PrefixTable<A, Watched<A, K>>,
    /// The addresses each key watches.
    by_key: BTreeMap<K, BTreeSet<A::Addr>>,
    dirty: Dirty<A>,
    damper: Damper,
    next_periodic: Option<Instant>,
    stats: RpfStats,
}

impl<A: Afi, K: Ord + Clone + Debug> RpfEngine<A, K> {
    /// An engine with empty tables; the periodic re-check counts from `now`.
    pub fn new(config: RpfConfig, now: Instant) -> Self {
        RpfEngine {
            config,
            urib: UnicastRib::new(),
            mrib: Mrib::new(),
            watches: PrefixTable::new(),
            by_key: BTreeMap::new(),
            dirty: Dirty::Clean,
            damper: Damper::new(config.backoff),
            next_periodic: config.interval.map(|i| now + i),
            stats: RpfStats::default(),
        }
    }

    pub fn config(&self) -> &RpfConfig {
        &self.config
    }

    /// Replaces the configuration; a new mode recomputes every watched answer (through the backoff).
    pub fn set_config(&mut self, now: Instant, config: RpfConfig, out: &mut Vec<RpfChanged<A, K>>) {
        let old = std::mem::replace(&mut self.config, config);
        self.damper.reconfigure(config.backoff);
        if old.interval != config.interval {
            self.next_periodic = config.interval.map(|i| now + i);
        }
        if old.mode != config.mode {
            self.dirty = Dirty::Everything;
            self.changed(now, out);
        } else if config.backoff.is_none() && !matches!(self.dirty, Dirty::Clean) {
            // Damping was switched off while a recomputation was pending: run it now.
            self.run_recomputation(out);
        }
    }

    /// The unicast mirror.
    pub fn urib(&self) -> &UnicastRib<A> {
        &self.urib
    }

    /// The static mroutes.
    pub fn mrib(&self) -> &Mrib<A> {
        &self.mrib
    }

    /// Counters.
    pub fn stats(&self) -> RpfStats {
        self.stats
    }

    /// The current backoff delay.
    pub fn backoff_delay(&self) -> Duration {
        self.damper.delay()
    }

    /// Applies a unicast change.
    pub fn handle(&mut self, now: Instant, event: UnicastEvent<A>, out: &mut Vec<RpfChanged<A, K>>) {
        match self.urib.apply(event) {
            Touched::Nothing => return,
            Touched::Route(prefix) => self.dirty.add(prefix),
            Touched::Connected(prefix) => {
                self.dirty.add(prefix);
                for mroute_prefix in self.mrib.resolved_through(&prefix) {
                    self.dirty.add(mroute_prefix);
                }
            }
            Touched::Link => self.dirty = Dirty::Everything,
        }
        self.changed(now, out);
    }

    /// Adds a static mroute or changes its distance.
    pub fn add_static_mroute(
        &mut self,
        now: Instant,
        mroute: StaticMroute<A>,
        out: &mut Vec<RpfChanged<A, K>>,
    ) {
        if self.mrib.add(mroute) {
            self.dirty.add(mroute.prefix);
            self.changed(now, out);
        }
    }

    /// Removes a static mroute; returns whether it existed.
    pub fn remove_static_mroute(
        &mut self,
        now: Instant,
        prefix: A::Prefix,
        target: MrouteTarget<A>,
        out: &mut Vec<RpfChanged<A, K>>,
    ) -> bool {
        let removed = self.mrib.remove(&prefix, &target);
        if removed {
            self.dirty.add(prefix);
            self.changed(now, out);
        }
        removed
    }

    /// The answer for `addr` from the current tables.
    pub fn lookup(&self, addr: A::Addr) -> RpfAnswer<A> {
        rpf_lookup(self.config.mode, &self.urib, &self.mrib, addr)
    }

    /// Registers `key`'s interest in `addr`; returns the answer it will be told changes from: the
    /// answer last notified for `addr` if others watch it already (it lags the tables while a
    /// damped recomputation is pending), otherwise the current lookup.
    pub fn watch(&mut self, key: K, addr: A::Addr) -> RpfAnswer<A> {
        let answer = match self.watched_mut(addr) {
            Some(watched) => {
                watched.keys.insert(key.clone());
                watched.answer
            }
            None => {
                let answer = self.lookup(addr);
                if let Some(host) = A::prefix(addr, A::MAX_PREFIX_LEN) {
                    self.watches.insert(host, Watched { answer, keys: BTreeSet::from([key.clone()]) });
                }
                answer
            }
        };
        self.by_key.entry(key).or_default().insert(addr);
        answer
    }

    /// Withdraws `key`'s interest in `addr`; returns whether it was registered.
    pub fn unwatch(&mut self, key: &K, addr: A::Addr) -> bool {
        let Some(addrs) = self.by_key.get_mut(key) else { return false };
        if !addrs.remove(&addr) {
            return false;
        }
        if addrs.is_empty() {
            self.by_key.remove(key);
        }
        self.drop_watch(key, addr);
        true
    }

    /// Withdraws every interest of `key`.
    pub fn unwatch_all(&mut self, key: &K) {
        for addr in self.by_key.remove(key).unwrap_or_default() {
            self.drop_watch(key, addr);
        }
    }

    fn drop_watch(&mut self, key: &K, addr: A::Addr) {
        let Some(host) = A::prefix(addr, A::MAX_PREFIX_LEN) else { return };
        if let Some(watched) = self.watches.get_mut(&host) {
            watched.keys.remove(key);
            if watched.keys.is_empty() {
                self.watches.remove(&host);
            }
        }
    }

    fn watched_mut(&mut self, addr: A::Addr) -> Option<&mut Watched<A, K>> {
        self.watches.get_mut(&A::prefix(addr, A::MAX_PREFIX_LEN)?)
    }

    /// The last answer notified for a watched address.
    pub fn watched(&self, addr: A::Addr) -> Option<&RpfAnswer<A>> {
        self.watches.get(&A::prefix(addr, A::MAX_PREFIX_LEN)?).map(|w| &w.answer)
    }

    /// Every watched address with its answer and watchers, in address order.
    pub fn watches(&self) -> impl Iterator<Item = (&RpfAnswer<A>, &BTreeSet<K>)> + '_ {
        self.watches.iter().map(|(_, w)| (&w.answer, &w.keys))
    }

    /// The next instant [`RpfEngine::on_timeout`] has work to do.
    pub fn poll_at(&self) -> Option<Instant> {
        [self.damper.poll_at(), self.next_periodic].into_iter().flatten().min()
    }

    /// Runs what is due at `now`: a damped recomputation, the periodic re-check.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<RpfChanged<A, K>>) {
        let periodic_due = self.next_periodic.is_some_and(|at| at <= now);
        if periodic_due {
            self.next_periodic = self.config.interval.map(|i| now + i);
            self.stats.periodic_checks += 1;
            self.recompute(&Dirty::Everything, out);
        }
        if self.damper.on_tick(now) == Verdict::Recompute {
            self.run_recomputation(out);
        }
    }

    fn changed(&mut self, now: Instant, out: &mut Vec<RpfChanged<A, K>>) {
        self.stats.changes += 1;
        if self.damper.on_change(now) == Verdict::Recompute {
            self.run_recomputation(out);
        }
    }

    fn run_recomputation(&mut self, out: &mut Vec<RpfChanged<A, K>>) {
        let dirty = std::mem::replace(&mut self.dirty, Dirty::Clean);
        self.stats.recomputations += 1;
        self.recompute(&dirty, out);
    }

    fn recompute(&mut self, dirty: &Dirty<A>, out: &mut Vec<RpfChanged<A, K>>) {
        let addrs: BTreeSet<A::Addr> = match dirty {
            Dirty::Clean => BTreeSet::new(),
            Dirty::Everything => self.watches.iter().map(|(_, w)| w.answer.addr).collect(),
            Dirty::Prefixes(prefixes) => prefixes
                .iter()
                .flat_map(|prefix| self.watches.children(prefix).map(|(_, w)| w.answer.addr))
                .collect(),
        };
        for addr in addrs {
            let new = self.lookup(addr);
            self.stats.answers_recomputed += 1;
            let Some(watched) = self.watched_mut(addr) else { continue };
            if watched.answer == new {
                continue;
            }
            let old = std::mem::replace(&mut watched.answer, new);
            let keys: Vec<K> = watched.keys.iter().cloned().collect();
            self.stats.changes_notified += keys.len() as u64;
            out.extend(keys.into_iter().map(|key| RpfChanged { key, addr, old, new }));
        }
    }
}
