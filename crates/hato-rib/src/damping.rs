//! RPF timing, as routers expose it (`ip multicast rpf interval <sec>` and `ip multicast rpf backoff
//! <init_ms> <max_ms> | disable`): a periodic re-check of every watched answer, and an exponential
//! backoff that damps storms of unicast changes.
//!
//! The backoff is a small state machine. The first change after a quiet period schedules a
//! recomputation `initial` later. A further change while one is pending doubles the delay (once
//! per pending period, up to `max`) without moving the pending deadline. A change shortly after a
//! recomputation (within the current delay) doubles the delay again and schedules the next one
//! that far out; a change after a longer quiet spell resets the delay to `initial`.

use hato_core::{Duration, Instant};
use serde::Serialize;

/// The backoff's delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Backoff {
    /// Delay from the first change to the recomputation.
    pub initial: Duration,
    /// The most the delay grows to under a storm of changes.
    pub max: Duration,
}

impl Default for Backoff {
    /// 500 ms and 5 s, as routers commonly default.
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(500), max: Duration::from_secs(5) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No recomputation has run yet and none is pending.
    Quiet,
    /// A recomputation is due at `due`; `backed_off` once this period has doubled the delay.
    Pending { due: Instant, backed_off: bool },
    /// The last recomputation ran at `since` and nothing is pending.
    Settled { since: Instant },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    /// The tables changed.
    Change,
    /// Time passed.
    Tick,
}

/// Whether a recomputation must run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Wait,
    Recompute,
}

/// The backoff state machine; `None` as config recomputes at every change.
#[derive(Debug, Clone)]
pub(crate) struct Damper {
    config: Option<Backoff>,
    state: State,
    delay: Duration,
}

impl Damper {
    pub(crate) fn new(config: Option<Backoff>) -> Self {
        let delay = config.map_or(Duration::ZERO, |c| c.initial);
        Damper { config, state: State::Quiet, delay }
    }

    /// Changes the delays; a pending recomputation keeps its deadline.
    pub(crate) fn reconfigure(&mut self, config: Option<Backoff>) {
        if config != self.config {
            self.config = config;
            self.delay = config.map_or(Duration::ZERO, |c| c.initial);
            if config.is_none() {
                self.state = State::Quiet;
            }
        }
    }

    /// The current delay (for display).
    pub(crate) fn delay(&self) -> Duration {
        self.delay
    }

    /// When a recomputation is due.
    pub(crate) fn poll_at(&self) -> Option<Instant> {
        match self.state {
            State::Pending { due, .. } => Some(due),
            State::Quiet | State::Settled { .. } => None,
        }
    }

    /// The tables changed at `now`.
    pub(crate) fn on_change(&mut self, now: Instant) -> Verdict {
        self.handle(now, Event::Change)
    }

    /// Time is `now`.
    pub(crate) fn on_tick(&mut self, now: Instant) -> Verdict {
        self.handle(now, Event::Tick)
    }

    fn handle(&mut self, now: Instant, event: Event) -> Verdict {
        let Some(config) = self.config else {
            // `ip multicast rpf backoff disable`: every change is recomputed at once.
            return match event {
                Event::Change => Verdict::Recompute,
                Event::Tick => Verdict::Wait,
            };
        };
        let doubled = self.delay.saturating_mul(2).min(config.max).max(config.initial);
        match (self.state, event) {
            // The first change after a quiet period: recompute after the initial delay.
            (State::Quiet, Event::Change) => {
                self.delay = config.initial;
                self.state = State::Pending { due: now + self.delay, backed_off: false };
            }
            // More changes while pending: the storm goes on, back off once per period.
            (State::Pending { due, backed_off: false }, Event::Change) => {
                self.delay = doubled;
                self.state = State::Pending { due, backed_off: true };
            }
            (State::Pending { backed_off: true, .. }, Event::Change) => {}
            // The deadline passed: recompute.
            (State::Pending { due, .. }, Event::Tick) if now >= due => {
                self.state = State::Settled { since: now };
                return Verdict::Recompute;
            }
            (State::Pending { .. }, Event::Tick) => {}
            // A change shortly after a recomputation: back off further.
            (State::Settled { since }, Event::Change) if now.saturating_since(since) < self.delay => {
                self.delay = doubled;
                self.state = State::Pending { due: now + self.delay, backed_off: true };
            }
            // A change after a quiet spell: start again from the initial delay.
            (State::Settled { .. }, Event::Change) => {
                self.delay = config.initial;
                self.state = State::Pending { due: now + self.delay, backed_off: false };
            }
            (State::Quiet | State::Settled { .. }, Event::Tick) => {}
        }
        Verdict::Wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Instant {
        Instant::from_millis(n)
    }

    #[test]
    fn first_change_waits_initial_then_storm_doubles_and_quiet_resets() {
        let mut d = Damper::new(Some(Backoff::default()));
        assert_eq!(d.on_change(ms(1000)), Verdict::Wait);
        assert_eq!(d.poll_at(), Some(ms(1500)));
        // Further changes while pending double the delay once and keep the deadline.
        d.on_change(ms(1100));
        d.on_change(ms(1200));
        assert_eq!(d.delay(), Duration::from_secs(1));
        assert_eq!(d.poll_at(), Some(ms(1500)));
        assert_eq!(d.on_tick(ms(1499)), Verdict::Wait);
        assert_eq!(d.on_tick(ms(1500)), Verdict::Recompute);
        assert_eq!(d.poll_at(), None);
        // Shortly after: doubled again.
        d.on_change(ms(1600));
        assert_eq!(d.delay(), Duration::from_secs(2));
        assert_eq!(d.poll_at(), Some(ms(3600)));
        assert_eq!(d.on_tick(ms(3600)), Verdict::Recompute);
        d.on_change(ms(3700));
        d.on_tick(ms(7700));
        d.on_change(ms(7800));
        assert_eq!(d.delay(), Duration::from_secs(5), "capped at max");
        assert_eq!(d.on_tick(ms(12_800)), Verdict::Recompute);
        // Quiet for longer than the delay: back to the initial delay.
        d.on_change(ms(20_000));
        assert_eq!(d.delay(), Duration::from_millis(500));
        assert_eq!(d.poll_at(), Some(ms(20_500)));
    }

    #[test]
    fn disabled_backoff_recomputes_every_change() {
        let mut d = Damper::new(None);
        assert_eq!(d.on_change(ms(1)), Verdict::Recompute);
        assert_eq!(d.on_change(ms(1)), Verdict::Recompute);
        assert_eq!(d.poll_at(), None);
    }
}
