//! When hatod reads the forwarding caches' counters. The counters tell PIM which (S,G) entries
//! forward (keepalive timers, and the SPT bit, RFC 7761 §4.2.1), so they are read every second
//! while a read is cheap. Two things make a read dear:
//!
//! - its cost grows with the table: a big table is read by one lookup per entry (the kernel's
//!   rtnetlink dump, used for small tables, walks its entry list from the start again for every
//!   datagram, quadratic), about 50 ms for 100,000 entries, so the next read waits [`COST_RATIO`]
//!   times the CPU time the last one took, at most [`MAX_INTERVAL`];
//! - a read during a bulk load of the table (a burst of Joins) costs the load that much time and
//!   measures a table that is still growing, so while entries are installed faster than
//!   [`BULK_INSTALL_RATE`] a due read waits for the load to end, at most [`MAX_DEFERRAL`].
//!
//! The reads the router makes itself (before a WRONGVIF reaches PIM, and before the RP forwards a
//! decapsulated Register) are not paced here.

use hato_core::{Duration, Instant};

/// The pause between two reads while they are cheap.
pub const INTERVAL: Duration = Duration::from_secs(1);
/// Reading takes at most this share of a core (1 / N): the next read waits N times the CPU time
/// the last one took.
pub const COST_RATIO: u32 = 1_000;
/// The longest pause between two reads, well inside the 210 s Keepalive Period.
pub const MAX_INTERVAL: Duration = Duration::from_secs(60);
/// Installs per second from which the table counts as being loaded in bulk.
pub const BULK_INSTALL_RATE: u64 = 10_000;
/// The window over which the install rate is measured.
pub const RATE_WINDOW: Duration = Duration::from_millis(100);
/// The longest a due read waits for a bulk load to end.
pub const MAX_DEFERRAL: Duration = Duration::from_secs(5);

/// The installs in one [`RATE_WINDOW`] at [`BULK_INSTALL_RATE`].
const BULK_INSTALLS_PER_WINDOW: u64 = BULK_INSTALL_RATE * RATE_WINDOW.as_millis() as u64 / 1000;

/// The schedule of counter reads.
#[derive(Debug, Clone)]
pub struct CounterPacing {
    /// When the next read is due, or when a deferred one looks at the install rate again.
    next: Instant,
    /// When the read now waiting for a bulk load to end fell due.
    deferred_since: Option<Instant>,
    /// The current rate window: when it began and the install count then.
    window_start: Instant,
    window_installs: u64,
    /// Whether the last complete window saw a bulk load.
    bulk: bool,
}

impl CounterPacing {
    /// The first read is due [`INTERVAL`] after `now`.
    pub fn new(now: Instant) -> Self {
        CounterPacing {
            next: now + INTERVAL,
            deferred_since: None,
            window_start: now,
            window_installs: 0,
            bulk: false,
        }
    }

    /// When the loop has to wake up for this schedule.
    pub fn deadline(&self) -> Instant {
        self.next
    }

    /// Whether to read at `now`, given the router's install count (`installs`, monotonic).
    pub fn due(&mut self, now: Instant, installs: u64) -> bool {
        let in_window = installs.saturating_sub(self.window_installs);
        let window = now.saturating_since(self.window_start);
        if window >= RATE_WINDOW {
            let per_second = u128::from(in_window) * 1_000_000_000 / window.as_nanos().max(1);
            self.bulk = per_second >= u128::from(BULK_INSTALL_RATE);
            self.window_start = now;
            self.window_installs = installs;
        }
        if now < self.next {
            return false;
        }
        let loading = self.bulk || in_window >= BULK_INSTALLS_PER_WINDOW;
        let due_since = *self.deferred_since.get_or_insert(self.next);
        if loading && now.saturating_since(due_since) < MAX_DEFERRAL {
            self.next = now + RATE_WINDOW;
            return false;
        }
        true
    }

    /// A read ended at `now` after `cost` of CPU time: schedules the next one.
    pub fn read(&mut self, now: Instant, cost: Duration) {
        self.deferred_since = None;
        self.next = now + (cost * COST_RATIO).clamp(INTERVAL, MAX_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn cheap_reads_come_every_second_and_dear_ones_less_often() {
        let mut pacing = CounterPacing::new(ms(0));
        assert!(!pacing.due(ms(999), 0));
        assert!(pacing.due(ms(1000), 0));
        pacing.read(ms(1000), Duration::from_micros(100));
        assert_eq!(pacing.deadline(), ms(2000));
        pacing.read(ms(2000), Duration::from_millis(50));
        assert_eq!(pacing.deadline(), ms(52_000), "1,000 times 50 ms");
        pacing.read(ms(52_000), Duration::from_millis(500));
        assert_eq!(pacing.deadline(), ms(112_000), "at most a minute");
    }

    #[test]
    fn a_bulk_load_defers_the_read_until_it_ends() {
        let mut pacing = CounterPacing::new(ms(0));
        // 100,000 installs from 950 ms on, at 100 per millisecond.
        let installs = |t: u64| t.saturating_sub(950).min(1000) * 100;
        let mut t = 900;
        let mut read_at = None;
        while t < 10_000 && read_at.is_none() {
            if pacing.due(ms(t), installs(t)) {
                read_at = Some(t);
            }
            t += 1;
        }
        let read_at = read_at.expect("read");
        // The window that saw the last installs ends at most one window after them, and the
        // following one, without installs, ends the deferral.
        let window = RATE_WINDOW.as_millis() as u64;
        assert!(
            (1950..=1950 + 2 * window).contains(&read_at),
            "read at {read_at} ms, the load ended at 1950 ms"
        );
    }

    #[test]
    fn a_trickle_of_installs_defers_nothing() {
        let mut pacing = CounterPacing::new(ms(0));
        // 5,000 installs a second, one every 200 µs seen each millisecond.
        let mut due = false;
        for t in 0..=1000 {
            due = pacing.due(ms(t), t * 5);
        }
        assert!(due, "due on time at 1000 ms");
    }

    #[test]
    fn a_load_that_never_ends_defers_the_read_at_most_max_deferral() {
        let mut pacing = CounterPacing::new(ms(0));
        let mut read_at = None;
        for t in 0..20_000u64 {
            if pacing.due(ms(t), t * 100) {
                read_at = Some(t);
                break;
            }
        }
        let limit = 1000 + MAX_DEFERRAL.as_millis() as u64;
        let read_at = read_at.expect("read");
        assert!((limit..limit + 200).contains(&read_at), "read at {read_at} ms");
    }
}
