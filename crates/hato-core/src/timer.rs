//! A deadline queue for sans-IO state machines: each key has at most one pending deadline; arming
//! a key again replaces its deadline. The owner asks for the next deadline ([`TimerQueue::next_deadline`])
//! and, when time has passed it, drains the expired keys in deadline order. Every operation is
//! `O(log n)`, so 100,000 per-(S,G) timers cost nothing while idle: there is no polling loop.
//! Keys are found through a hash index (Fx hashing: keys are addresses and interface numbers, not
//! attacker-chosen sizes), so a key is compared only on its own slot; the deadline order compares
//! two integers.
//!
//! A deadline can also be *scheduled* ([`TimerQueue::schedule`]) for a timer whose owner keeps the
//! deadline in its own record: it goes into a binary heap with no key index, so that arming
//! 100,000 such timers costs no hash table, and a deadline later than every other (the usual
//! `now + holdtime`) is pushed in constant time. Such a deadline cannot be cancelled or moved
//! here; the owner checks each one [`TimerQueue::pop_expired`] returns against its record.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::Instant;

/// Pending deadlines keyed by `K`.
#[derive(Debug, Clone)]
pub struct TimerQueue<K: Eq + Hash + Clone> {
    /// Deadline order of keyed deadlines; the sequence number keeps equal deadlines in arming
    /// order (shared with `scheduled`).
    by_deadline: BTreeMap<(Instant, u64), K>,
    /// Each key's current slot in `by_deadline`.
    by_key: FxHashMap<K, (Instant, u64)>,
    /// Scheduled deadlines, earliest on top.
    scheduled: BinaryHeap<Reverse<Scheduled<K>>>,
    next_seq: u64,
}

/// A scheduled deadline, ordered by (deadline, sequence number) alone.
#[derive(Debug, Clone)]
struct Scheduled<K> {
    slot: (Instant, u64),
    key: K,
}

impl<K> PartialEq for Scheduled<K> {
    fn eq(&self, other: &Self) -> bool {
        self.slot == other.slot
    }
}

impl<K> Eq for Scheduled<K> {}

impl<K> PartialOrd for Scheduled<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Scheduled<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.slot.cmp(&other.slot)
    }
}

impl<K: Eq + Hash + Clone> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone> TimerQueue<K> {
    pub fn new() -> Self {
        TimerQueue {
            by_deadline: BTreeMap::new(),
            by_key: FxHashMap::default(),
            scheduled: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    /// Arms `key` to expire at `deadline`, replacing any deadline it had. Returns the old deadline.
    pub fn arm(&mut self, key: K, deadline: Instant) -> Option<Instant> {
        let slot = (deadline, self.next_seq);
        self.next_seq += 1;
        let old = self.by_key.insert(key.clone(), slot);
        if let Some(old_slot) = old {
            self.by_deadline.remove(&old_slot);
        }
        self.by_deadline.insert(slot, key);
        old.map(|(t, _)| t)
    }

    /// Adds a deadline for `key` that its owner keeps: it expires through
    /// [`TimerQueue::pop_expired`] like any other, but neither [`TimerQueue::cancel`],
    /// [`TimerQueue::deadline`] nor [`TimerQueue::len`] know it.
    pub fn schedule(&mut self, key: K, deadline: Instant) {
        let slot = (deadline, self.next_seq);
        self.next_seq += 1;
        self.scheduled.push(Reverse(Scheduled { slot, key }));
    }

    /// Cancels `key`'s deadline; returns it if one was pending.
    pub fn cancel(&mut self, key: &K) -> Option<Instant> {
        let slot = self.by_key.remove(key)?;
        self.by_deadline.remove(&slot);
        Some(slot.0)
    }

    /// The deadline pending for `key`.
    pub fn deadline(&self, key: &K) -> Option<Instant> {
        self.by_key.get(key).map(|(t, _)| *t)
    }

    /// Time left until `key` expires (zero if already due), for "expires in" displays.
    pub fn remaining(&self, key: &K, now: Instant) -> Option<crate::Duration> {
        self.deadline(key).map(|t| t.saturating_since(now))
    }

    /// The earliest pending deadline, scheduled ones included.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.next_slot().map(|((t, _), _)| t)
    }

    /// The earliest slot of either kind, and whether it is a scheduled one.
    fn next_slot(&self) -> Option<((Instant, u64), bool)> {
        let keyed = self.by_deadline.keys().next().map(|slot| (*slot, false));
        let scheduled = self.scheduled.peek().map(|Reverse(s)| (s.slot, true));
        match (keyed, scheduled) {
            (Some(k), Some(s)) => Some(if s.0 < k.0 { s } else { k }),
            (k, s) => k.or(s),
        }
    }

    /// Removes and returns the earliest key whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(K, Instant)> {
        let ((deadline, _), scheduled) = self.next_slot()?;
        if deadline > now {
            return None;
        }
        if scheduled {
            return self.scheduled.pop().map(|Reverse(s)| (s.key, deadline));
        }
        let (_, key) = self.by_deadline.pop_first()?;
        self.by_key.remove(&key);
        Some((key, deadline))
    }

    /// Removes and returns every key due at or before `now`, earliest first.
    pub fn drain_expired(&mut self, now: Instant) -> Vec<K> {
        std::iter::from_fn(|| self.pop_expired(now)).map(|(k, _)| k).collect()
    }

    /// Number of pending keyed deadlines.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Cancels every deadline, scheduled ones included.
    pub fn clear(&mut self) {
        self.by_deadline.clear();
        self.by_key.clear();
        self.scheduled.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arm_replaces_and_cancel_removes() {
        let mut q = TimerQueue::new();
        assert_eq!(q.arm("a", Instant::from_secs(10)), None);
        assert_eq!(q.arm("b", Instant::from_secs(5)), None);
        assert_eq!(q.arm("a", Instant::from_secs(3)), Some(Instant::from_secs(10)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.next_deadline(), Some(Instant::from_secs(3)));
        assert_eq!(q.cancel(&"a"), Some(Instant::from_secs(3)));
        assert_eq!(q.cancel(&"a"), None);
        assert_eq!(q.next_deadline(), Some(Instant::from_secs(5)));
        assert!(q.drain_expired(Instant::from_secs(4)).is_empty());
        assert_eq!(q.drain_expired(Instant::from_secs(5)), vec!["b"]);
        assert!(q.is_empty());
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn scheduled_deadlines_expire_in_order_with_keyed_ones() {
        let mut q = TimerQueue::new();
        q.arm("keyed", Instant::from_secs(5));
        q.schedule("owned", Instant::from_secs(3));
        q.schedule("owned", Instant::from_secs(5));
        assert_eq!(q.len(), 1);
        assert_eq!(q.deadline(&"owned"), None);
        assert_eq!(q.next_deadline(), Some(Instant::from_secs(3)));
        assert_eq!(q.pop_expired(Instant::from_secs(4)), Some(("owned", Instant::from_secs(3))));
        assert_eq!(q.drain_expired(Instant::from_secs(5)), vec!["keyed", "owned"]);
        assert_eq!(q.next_deadline(), None);
    }

    #[test]
    fn equal_deadlines_expire_in_arming_order() {
        let mut q = TimerQueue::new();
        for k in [3, 1, 2] {
            q.arm(k, Instant::from_secs(1));
        }
        assert_eq!(q.drain_expired(Instant::from_secs(1)), vec![3, 1, 2]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Arm(u8, u16),
        Schedule(u8, u16),
        Cancel(u8),
        Drain(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..16, 0u16..100).prop_map(|(k, t)| Op::Arm(k, t)),
            (100u8..104, 0u16..100).prop_map(|(k, t)| Op::Schedule(k, t)),
            (0u8..16).prop_map(Op::Cancel),
            (0u16..100).prop_map(Op::Drain),
        ]
    }

    proptest! {
        /// The queue behaves like a plain map of key -> deadline scanned in full, beside a list of
        /// scheduled (key, deadline) pairs.
        #[test]
        fn matches_reference_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut q = TimerQueue::new();
            let mut model: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
            let mut scheduled: Vec<(u64, u64, u8)> = Vec::new();
            let mut seq = 0;
            for op in ops {
                match op {
                    Op::Arm(k, t) => {
                        let old = q.arm(k, Instant::from_secs(t.into()));
                        let model_old = model.insert(k, (t.into(), seq)).map(|(t, _)| Instant::from_secs(t));
                        seq += 1;
                        prop_assert_eq!(old, model_old);
                    }
                    Op::Schedule(k, t) => {
                        q.schedule(k, Instant::from_secs(t.into()));
                        scheduled.push((t.into(), seq, k));
                        seq += 1;
                    }
                    Op::Cancel(k) => {
                        prop_assert_eq!(q.cancel(&k), model.remove(&k).map(|(t, _)| Instant::from_secs(t)));
                    }
                    Op::Drain(now) => {
                        let mut due: Vec<_> = model.iter().filter(|(_, (t, _))| *t <= now.into()).map(|(k, (t, s))| (*t, *s, *k)).collect();
                        for (_, _, k) in &due { model.remove(k); }
                        due.extend(scheduled.iter().filter(|(t, ..)| *t <= now.into()));
                        scheduled.retain(|(t, ..)| *t > now.into());
                        due.sort();
                        let expected: Vec<u8> = due.into_iter().map(|(_, _, k)| k).collect();
                        prop_assert_eq!(q.drain_expired(Instant::from_secs(now.into())), expected);
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                let earliest = model.values().map(|(t, _)| *t).chain(scheduled.iter().map(|(t, ..)| *t)).min();
                prop_assert_eq!(q.next_deadline(), earliest.map(Instant::from_secs));
            }
        }
    }
}
