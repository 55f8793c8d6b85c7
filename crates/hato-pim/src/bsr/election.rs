//! Bootstrap router election, RFC 5059 §3.1: the per-scope-zone state machines of candidate BSRs
//! (§3.1.1: Candidate-BSR, Pending-BSR, Elected-BSR) and of routers that are not candidates
//! (§3.1.2: Accept Any, Accept Preferred), and BS_Rand_Override (§5).
//!
//! Each scope zone runs its own machine ([`super::Bsr`]); the No Info state of §3.1.2, which
//! only administratively scoped zones have, is not modelled: a scoped zone starts in Accept Any.

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

use hato_core::{Afi, Duration};
use serde::Serialize;

/// A BSR's identity as Bootstrap messages carry it. Higher priority wins, then higher address
/// (RFC 5059 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct BsrId<A: Afi> {
    pub priority: u8,
    pub address: A::Addr,
}

impl<A: Afi> PartialOrd for BsrId<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<A: Afi> Ord for BsrId<A> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.priority, self.address).cmp(&(other.priority, other.address))
    }
}

impl<A: Afi> fmt::Display for BsrId<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} priority {}", self.address, self.priority)
    }
}

/// The per-zone BSR state (RFC 5059 §3.1.1 for candidates, §3.1.2 for the others).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BsrState {
    /// C-BSR: a candidate that is not the elected BSR and knows a better one.
    CandidateBsr,
    /// P-BSR: a candidate waiting BS_Rand_Override to become the elected BSR.
    PendingBsr,
    /// E-BSR: this router is the elected BSR and originates Bootstrap messages.
    ElectedBsr,
    /// AA: not a candidate, no BSR known; the next Bootstrap message is accepted.
    AcceptAny,
    /// AP: not a candidate; only Bootstrap messages from the current BSR or a better one.
    AcceptPreferred,
}

impl fmt::Display for BsrState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BsrState::CandidateBsr => "candidate-bsr",
            BsrState::PendingBsr => "pending-bsr",
            BsrState::ElectedBsr => "elected-bsr",
            BsrState::AcceptAny => "accept-any",
            BsrState::AcceptPreferred => "accept-preferred",
        })
    }
}

/// An event of the state machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElectionEvent {
    /// A Bootstrap message from the current BSR or from one preferred to it (and, in the
    /// candidate states, preferred to this router).
    PreferredBsm,
    /// A Bootstrap message from the current BSR that is no longer preferred to this candidate.
    NonPreferredBsmFromElected,
    /// Any other Bootstrap message.
    NonPreferredBsm,
    /// The Bootstrap Timer expired.
    BootstrapTimerExpired,
}

/// What a transition does with the message or the router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElectionAction {
    /// Forward the Bootstrap message and store its RP-Set and BSR.
    ForwardAndStore,
    /// Originate a Bootstrap message with this router as BSR.
    Originate,
    /// Nothing.
    Ignore,
}

/// How a transition sets the Bootstrap Timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerAction {
    /// Set to BS_Timeout.
    Timeout,
    /// Set to BS_Rand_Override.
    RandOverride,
    /// Set to BS_Period.
    Period,
    /// Stop it.
    Stop,
    /// Leave it as it is.
    Keep,
}

/// One cell of the state tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub next: BsrState,
    pub action: ElectionAction,
    pub timer: TimerAction,
}

/// Classifies a received Bootstrap message from `bsm` for a router in `state`, whose own
/// candidacy is `me` and whose current BSR is `current` (RFC 5059 §3.1.1, §3.1.2).
pub fn classify<A: Afi>(
    state: BsrState,
    me: Option<BsrId<A>>,
    current: Option<BsrId<A>>,
    bsm: BsrId<A>,
) -> ElectionEvent {
    let from_current = current.is_some_and(|c| c.address == bsm.address);
    let at_least_current = current.map_or(true, |c| bsm >= c);
    let better_than_me = me.map_or(true, |m| bsm > m);
    match state {
        BsrState::AcceptAny => ElectionEvent::PreferredBsm,
        BsrState::AcceptPreferred if from_current || at_least_current => ElectionEvent::PreferredBsm,
        BsrState::AcceptPreferred => ElectionEvent::NonPreferredBsm,
        BsrState::CandidateBsr if from_current && !better_than_me => {
            ElectionEvent::NonPreferredBsmFromElected
        }
        BsrState::CandidateBsr if better_than_me && (from_current || at_least_current) => {
            ElectionEvent::PreferredBsm
        }
        BsrState::CandidateBsr => ElectionEvent::NonPreferredBsm,
        BsrState::PendingBsr | BsrState::ElectedBsr if better_than_me => ElectionEvent::PreferredBsm,
        BsrState::PendingBsr | BsrState::ElectedBsr => ElectionEvent::NonPreferredBsm,
    }
}

/// The transition function of both state machines.
pub fn transition(state: BsrState, event: ElectionEvent) -> Transition {
    use BsrState::*;
    use ElectionAction::*;
    use ElectionEvent::*;
    let t = |next, action, timer| Transition { next, action, timer };
    match (state, event) {
        // RFC 5059 §3.1.1: C-BSR × Receive Preferred BSM -> C-BSR; forward, store, BST = BS_Timeout.
        (CandidateBsr, PreferredBsm) => t(CandidateBsr, ForwardAndStore, TimerAction::Timeout),
        // §3.1.1: C-BSR × Receive non-preferred BSM from Elected BSR -> P-BSR; BST = rand override.
        (CandidateBsr, NonPreferredBsmFromElected) => t(PendingBsr, Ignore, TimerAction::RandOverride),
        // §3.1.1: C-BSR × Receive non-preferred BSM -> C-BSR; ignore.
        (CandidateBsr, NonPreferredBsm) => t(CandidateBsr, Ignore, TimerAction::Keep),
        // §3.1.1: C-BSR × BS Timer expires -> P-BSR; BST = rand override.
        (CandidateBsr, BootstrapTimerExpired) => t(PendingBsr, Ignore, TimerAction::RandOverride),
        // §3.1.1: P-BSR × Receive Preferred BSM -> C-BSR; forward, store, BST = BS_Timeout.
        (PendingBsr, PreferredBsm) => t(CandidateBsr, ForwardAndStore, TimerAction::Timeout),
        // §3.1.1: P-BSR × Receive non-preferred BSM -> P-BSR; ignore.
        (PendingBsr, NonPreferredBsm | NonPreferredBsmFromElected) => {
            t(PendingBsr, Ignore, TimerAction::Keep)
        }
        // §3.1.1: P-BSR × BS Timer expires -> E-BSR; originate BSM, BST = BS_Period.
        (PendingBsr, BootstrapTimerExpired) => t(ElectedBsr, Originate, TimerAction::Period),
        // §3.1.1: E-BSR × Receive Preferred BSM -> C-BSR; forward, store, BST = BS_Timeout.
        (ElectedBsr, PreferredBsm) => t(CandidateBsr, ForwardAndStore, TimerAction::Timeout),
        // §3.1.1: E-BSR × Receive non-preferred BSM -> E-BSR; originate BSM, BST = BS_Period.
        (ElectedBsr, NonPreferredBsm | NonPreferredBsmFromElected) => {
            t(ElectedBsr, Originate, TimerAction::Period)
        }
        // §3.1.1: E-BSR × BS Timer expires -> E-BSR; originate BSM, BST = BS_Period.
        (ElectedBsr, BootstrapTimerExpired) => t(ElectedBsr, Originate, TimerAction::Period),
        // §3.1.2: AA × Receive BSM -> AP; forward, store, BST = BS_Timeout.
        (AcceptAny, PreferredBsm | NonPreferredBsm | NonPreferredBsmFromElected) => {
            t(AcceptPreferred, ForwardAndStore, TimerAction::Timeout)
        }
        // §3.1.2: AA has no Bootstrap Timer running.
        (AcceptAny, BootstrapTimerExpired) => t(AcceptAny, Ignore, TimerAction::Stop),
        // §3.1.2: AP × Receive Preferred BSM -> AP; forward, store, BST = BS_Timeout.
        (AcceptPreferred, PreferredBsm) => t(AcceptPreferred, ForwardAndStore, TimerAction::Timeout),
        // §3.1.2: AP × Receive non-preferred BSM -> AP; ignore.
        (AcceptPreferred, NonPreferredBsm | NonPreferredBsmFromElected) => {
            t(AcceptPreferred, Ignore, TimerAction::Keep)
        }
        // §3.1.2: AP × BS Timer expires -> AA (the RP-Set ages out by its holdtimes).
        (AcceptPreferred, BootstrapTimerExpired) => t(AcceptAny, Ignore, TimerAction::Stop),
    }
}

/// An address as an unsigned integer, with RFC 5059 §5's scale for its family: the divisor of
/// the address-difference logarithm and 2^(bits-1).
fn addr_parts<A: Afi>(addr: A::Addr) -> (u128, f64, f64) {
    match addr.into() {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 16.0, 2f64.powi(31)),
        IpAddr::V6(a) => (u128::from(a), 64.0, 2f64.powi(127)),
    }
}

/// BS_Rand_Override (RFC 5059 §5): how long a Pending-BSR waits before claiming, shorter for
/// better candidates, from 5 s up to 23 s (5 + 2 × log2(256) + 2).
///
/// ```text
/// Delay = 5 + 2 * log2(1 + bestPriority - myPriority) + AddrDelay
/// AddrDelay = log2(1 + bestAddr - myAddr) / 16      if bestPriority == myPriority
///           = 2 - (myAddr / 2^31)                   otherwise
/// ```
///
/// "best" is the better of this candidate and the stored BSR. For IPv6 the address terms use
/// 128-bit integers: `/ 64` and `2^127`, so that AddrDelay keeps its 0..2 s range. The RFC writes
/// `log2(bestAddr - myAddr)`, undefined when this candidate is the best; the `1 +` (as FRR has
/// it) gives 0 there.
pub fn bs_rand_override<A: Afi>(me: BsrId<A>, stored: Option<BsrId<A>>) -> Duration {
    let best = stored.map_or(me, |s| s.max(me));
    let (my_addr, log_divisor, half_range) = addr_parts::<A>(me.address);
    let (best_addr, _, _) = addr_parts::<A>(best.address);
    let (priority_delay, addr_delay) = if best.priority == me.priority {
        let diff = best_addr.saturating_sub(my_addr) as f64;
        (0.0, (1.0 + diff).log2() / log_divisor)
    } else {
        let diff = f64::from(best.priority.saturating_sub(me.priority));
        (2.0 * (1.0 + diff).log2(), 2.0 - my_addr as f64 / half_range)
    };
    let seconds = 5.0 + priority_delay + addr_delay;
    // At most 23 s, so the cast cannot overflow.
    Duration::from_millis((seconds * 1000.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    fn id4(priority: u8, a: &str) -> BsrId<V4> {
        BsrId { priority, address: a.parse().unwrap() }
    }

    #[test]
    fn rand_override_bounds() {
        let me = id4(0, "198.18.0.1");
        assert_eq!(bs_rand_override(me, None), Duration::from_secs(5));
        // The worst candidate against the best BSR: 5 + 2*log2(256) + (2 - tiny).
        let worst = id4(0, "0.0.0.1");
        let d = bs_rand_override(worst, Some(id4(255, "255.255.255.255")));
        assert!(d > Duration::from_millis(22_900) && d <= Duration::from_secs(23), "{d:?}");
        // Same priority: log2(1 + 256) / 16.
        let d = bs_rand_override(id4(7, "198.18.0.1"), Some(id4(7, "198.18.1.1")));
        assert_eq!(d, Duration::from_millis(5_500));
        let me6 = BsrId::<V6> { priority: 1, address: "fd00::1".parse().unwrap() };
        let other = BsrId::<V6> { priority: 1, address: "fd00::1:1".parse().unwrap() };
        // log2(1 + 65536) / 64 = 0.25 s.
        assert_eq!(bs_rand_override(me6, Some(other)), Duration::from_millis(5_250));
    }

    #[test]
    fn higher_priority_then_higher_address_wins() {
        assert!(id4(2, "198.18.0.1") > id4(1, "198.18.0.9"));
        assert!(id4(1, "198.18.0.9") > id4(1, "198.18.0.1"));
    }
}
