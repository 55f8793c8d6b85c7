//! A deadline queue for sans-IO state machines: each key has at most one pending deadline; arming
//! a key again replaces its deadline. The owner asks for the next deadline ([`TimerQueue::next_deadline`])
//! and, when time has passed it, drains the expired keys in deadline order. Every operation is
//! `O(log n)`, so 100,000 per-(S,G) timers cost nothing while idle: there is no polling loop.
//! Keys are found through a hash index (Fx hashing: keys are addresses and interface numbers, not
//! attacker-chosen sizes), so a key is compared only on its own slot; the deadline order compares
//! two integers.
//!
//! A deadline can also be *scheduled* ([`TimerQueue::schedule`]) for a timer whose owner keeps the
//! deadline in its own record: it enters the deadline order only, with no key index, so that
//! arming 100,000 such timers costs no hash table. Such a deadline cannot be cancelled or moved
//! here; the owner checks each one [`TimerQueue::pop_expired`] returns against its record.

use std::collections::BTreeMap;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::Instant;

/// Pending deadlines keyed by `K`.
#[derive(Debug, Clone)]
pub struct TimerQueue<K: Eq + Hash + Clone> {
    /// Deadline order; the sequence number keeps equal deadlines in arming order. The flag says
    /// whether the key is in `by_key` (false for scheduled deadlines).
    by_deadline: BTreeMap<(Instant, u64), (K, bool)>,
    /// Each key's current slot in `by_deadline`.
    by_key: FxHashMap<K, (Instant, u64)>,
    next_seq: u64,
}

impl<K: Eq + Hash + Clone> Default for TimerQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Eq + Hash + Clone> TimerQueue<K> {
    pub fn new() -> Self {
        TimerQueue { by_deadline: BTreeMap::new(), by_key: FxHashMap::default(), next_seq: 0 }
    }

    /// Arms `key` to expire at `deadline`, replacing any deadline it had. Returns the old deadline.
    pub fn arm(&mut self, key: K, deadline: Instant) -> Option<Instant> {
        let slot = (deadline, self.next_seq);
        self.next_seq += 1;
        let old = self.by_key.insert(key.clone(), slot);
        if let Some(old_slot) = old {
            self.by_deadline.remove(&old_slot);
        }
        self.by_deadline.insert(slot, (key, true));
        old.map(|(t, _)| t)
    }

    /// Adds a deadline for `key` that its owner keeps: it expires through
    /// [`TimerQueue::pop_expired`] like any other, but neither [`TimerQueue::cancel`],
    /// [`TimerQueue::deadline`] nor [`TimerQueue::len`] know it.
    pub fn schedule(&mut self, key: K, deadline: Instant) {
        let slot = (deadline, self.next_seq);
        self.next_seq += 1;
        self.by_deadline.insert(slot, (key, false));
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
        self.by_deadline.keys().next().map(|(t, _)| *t)
    }

    /// Removes and returns the earliest key whose deadline is at or before `now`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(K, Instant)> {
        let entry = self.by_deadline.first_entry()?;
        if entry.key().0 > now {
            return None;
        }
        let ((deadline, _), (key, keyed)) = entry.remove_entry();
        if keyed {
            self.by_key.remove(&key);
        }
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

    /// Cancels every deadline.
    pub fn clear(&mut self) {
        self.by_deadline.clear();
        self.by_key.clear();
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
        Cancel(u8),
        Drain(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..16, 0u16..100).prop_map(|(k, t)| Op::Arm(k, t)),
            (0u8..16).prop_map(Op::Cancel),
            (0u16..100).prop_map(Op::Drain),
        ]
    }

    proptest! {
        /// The queue behaves like a plain map of key -> deadline scanned in full.
        #[test]
        fn matches_reference_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut q = TimerQueue::new();
            let mut model: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
            let mut seq = 0;
            for op in ops {
                match op {
                    Op::Arm(k, t) => {
                        let old = q.arm(k, Instant::from_secs(t.into()));
                        let model_old = model.insert(k, (t.into(), seq)).map(|(t, _)| Instant::from_secs(t));
                        seq += 1;
                        prop_assert_eq!(old, model_old);
                    }
                    Op::Cancel(k) => {
                        prop_assert_eq!(q.cancel(&k), model.remove(&k).map(|(t, _)| Instant::from_secs(t)));
                    }
                    Op::Drain(now) => {
                        let mut due: Vec<_> = model.iter().filter(|(_, (t, _))| *t <= now.into()).map(|(k, (t, s))| (*t, *s, *k)).collect();
                        due.sort();
                        for (_, _, k) in &due { model.remove(k); }
                        let expected: Vec<u8> = due.into_iter().map(|(_, _, k)| k).collect();
                        prop_assert_eq!(q.drain_expired(Instant::from_secs(now.into())), expected);
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert_eq!(q.next_deadline(), model.values().map(|(t, _)| Instant::from_secs(*t)).min());
            }
        }
    }
}
