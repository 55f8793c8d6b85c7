//! Downstream (per-interface) Join/Prune state machines: (*,G) (RFC 7761 §4.5.1), (S,G) (§4.5.2,
//! the same table) and (S,G,rpt) (§4.5.3).

use serde::Serialize;

use super::{step, Step};

/// Downstream state of (*,G) or (S,G) on one interface (§4.5.1, §4.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DownstreamState {
    NoInfo,
    Join,
    PrunePending,
}

/// Events of the (*,G) / (S,G) downstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownstreamEvent {
    ReceiveJoin,
    ReceivePrune,
    PrunePendingTimerExpires,
    ExpiryTimerExpires,
}

/// Actions of the (*,G) / (S,G) downstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownstreamAction {
    /// Start the Expiry Timer, or raise it to the message's holdtime if that is later.
    ExtendExpiry,
    /// Start the Prune-Pending Timer (J/P_Override_Interval, or zero with a single neighbour).
    StartPrunePending,
    CancelPrunePending,
    CancelExpiry,
    /// Send a PruneEcho on the interface when it has more than one neighbour.
    SendPruneEcho,
}

use DownstreamAction as DA;
use DownstreamEvent as DE;
use DownstreamState as DS;

/// The transition table of RFC 7761 §4.5.1 ((*,G)) and §4.5.2 ((S,G)).
pub fn transition(state: DownstreamState, event: DownstreamEvent) -> Step<DownstreamState, DownstreamAction> {
    match (state, event) {
        // NoInfo × Receive Join: → Join; start the Expiry Timer.
        (DS::NoInfo, DE::ReceiveJoin) => step(DS::Join, &[DA::ExtendExpiry]),
        // Join × Receive Join: ET = max(ET, holdtime).
        (DS::Join, DE::ReceiveJoin) => step(DS::Join, &[DA::ExtendExpiry]),
        // Prune-Pending × Receive Join: → Join; cancel PPT; ET = max(ET, holdtime).
        (DS::PrunePending, DE::ReceiveJoin) => step(DS::Join, &[DA::CancelPrunePending, DA::ExtendExpiry]),
        // NoInfo × Receive Prune: no change.
        (DS::NoInfo, DE::ReceivePrune) => step(DS::NoInfo, &[]),
        // Join × Receive Prune: → Prune-Pending; start the Prune-Pending Timer.
        (DS::Join, DE::ReceivePrune) => step(DS::PrunePending, &[DA::StartPrunePending]),
        // Prune-Pending × Receive Prune: no change.
        (DS::PrunePending, DE::ReceivePrune) => step(DS::PrunePending, &[]),
        // NoInfo / Join × PPT expires: cannot happen (the PPT runs only in Prune-Pending).
        (DS::NoInfo | DS::Join, DE::PrunePendingTimerExpires) => step(state, &[]),
        // Prune-Pending × PPT expires: → NoInfo; send PruneEcho.
        (DS::PrunePending, DE::PrunePendingTimerExpires) => {
            step(DS::NoInfo, &[DA::CancelExpiry, DA::SendPruneEcho])
        }
        // NoInfo × ET expires: cannot happen.
        (DS::NoInfo, DE::ExpiryTimerExpires) => step(DS::NoInfo, &[]),
        // Join × ET expires: → NoInfo.
        (DS::Join, DE::ExpiryTimerExpires) => step(DS::NoInfo, &[]),
        // Prune-Pending × ET expires: → NoInfo; the PPT goes with it.
        (DS::PrunePending, DE::ExpiryTimerExpires) => step(DS::NoInfo, &[DA::CancelPrunePending]),
    }
}

/// Downstream (S,G,rpt) state on one interface (§4.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RptDownstreamState {
    NoInfo,
    Prune,
    PrunePending,
    /// Prune, while a message with Join(*,G) is being processed (P').
    PruneTmp,
    /// Prune-Pending, while a message with Join(*,G) is being processed (PP').
    PrunePendingTmp,
}

/// Events of the (S,G,rpt) downstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RptDownstreamEvent {
    ReceiveJoinStarG,
    ReceiveJoinSgRpt,
    ReceivePruneSgRpt,
    EndOfMessage,
    PrunePendingTimerExpires,
    ExpiryTimerExpires,
}

/// Actions of the (S,G,rpt) downstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RptDownstreamAction {
    ExtendExpiry,
    StartPrunePending,
    CancelPrunePending,
    CancelExpiry,
}

use RptDownstreamAction as RA;
use RptDownstreamEvent as RE;
use RptDownstreamState as RS;

/// The transition table of RFC 7761 §4.5.3.
pub fn rpt_transition(
    state: RptDownstreamState,
    event: RptDownstreamEvent,
) -> Step<RptDownstreamState, RptDownstreamAction> {
    const TO_NOINFO: &[RA] = &[RA::CancelPrunePending, RA::CancelExpiry];
    match (state, event) {
        // NoInfo × Receive Join(*,G) / Join(S,G,rpt): no change.
        (RS::NoInfo, RE::ReceiveJoinStarG | RE::ReceiveJoinSgRpt) => step(RS::NoInfo, &[]),
        // NoInfo × Receive Prune(S,G,rpt): → Prune-Pending; start PPT and ET.
        (RS::NoInfo, RE::ReceivePruneSgRpt) => {
            step(RS::PrunePending, &[RA::StartPrunePending, RA::ExtendExpiry])
        }
        // NoInfo × End of Message / PPT / ET: no change.
        (RS::NoInfo, RE::EndOfMessage | RE::PrunePendingTimerExpires | RE::ExpiryTimerExpires) => {
            step(RS::NoInfo, &[])
        }
        // Prune × Receive Join(*,G): → PruneTmp.
        (RS::Prune, RE::ReceiveJoinStarG) => step(RS::PruneTmp, &[]),
        // Prune × Receive Join(S,G,rpt): → NoInfo.
        (RS::Prune, RE::ReceiveJoinSgRpt) => step(RS::NoInfo, TO_NOINFO),
        // Prune × Receive Prune(S,G,rpt): ET = max(ET, holdtime).
        (RS::Prune, RE::ReceivePruneSgRpt) => step(RS::Prune, &[RA::ExtendExpiry]),
        // Prune × End of Message / PPT expires: no change.
        (RS::Prune, RE::EndOfMessage | RE::PrunePendingTimerExpires) => step(RS::Prune, &[]),
        // Prune × ET expires: → NoInfo.
        (RS::Prune, RE::ExpiryTimerExpires) => step(RS::NoInfo, TO_NOINFO),
        // Prune-Pending × Receive Join(*,G): → PrunePendingTmp.
        (RS::PrunePending, RE::ReceiveJoinStarG) => step(RS::PrunePendingTmp, &[]),
        // Prune-Pending × Receive Join(S,G,rpt): → NoInfo.
        (RS::PrunePending, RE::ReceiveJoinSgRpt) => step(RS::NoInfo, TO_NOINFO),
        // Prune-Pending × Receive Prune(S,G,rpt): no change.
        (RS::PrunePending, RE::ReceivePruneSgRpt | RE::EndOfMessage) => step(RS::PrunePending, &[]),
        // Prune-Pending × PPT expires: → Prune.
        (RS::PrunePending, RE::PrunePendingTimerExpires) => step(RS::Prune, &[]),
        // Prune-Pending × ET expires: → NoInfo.
        (RS::PrunePending, RE::ExpiryTimerExpires) => step(RS::NoInfo, TO_NOINFO),
        // PruneTmp × Receive Join(*,G) / Join(S,G,rpt): no change.
        (RS::PruneTmp, RE::ReceiveJoinStarG | RE::ReceiveJoinSgRpt) => step(RS::PruneTmp, &[]),
        // PruneTmp × Receive Prune(S,G,rpt): → Prune; ET = max(ET, holdtime).
        (RS::PruneTmp, RE::ReceivePruneSgRpt) => step(RS::Prune, &[RA::ExtendExpiry]),
        // PruneTmp × End of Message: → NoInfo.
        (RS::PruneTmp, RE::EndOfMessage) => step(RS::NoInfo, TO_NOINFO),
        // PruneTmp × PPT expires: cannot happen (temporary states live within one message).
        (RS::PruneTmp, RE::PrunePendingTimerExpires) => step(RS::PruneTmp, &[]),
        // PruneTmp × ET expires: → NoInfo.
        (RS::PruneTmp, RE::ExpiryTimerExpires) => step(RS::NoInfo, TO_NOINFO),
        // PrunePendingTmp × Receive Join(*,G) / Join(S,G,rpt): no change.
        (RS::PrunePendingTmp, RE::ReceiveJoinStarG | RE::ReceiveJoinSgRpt) => step(RS::PrunePendingTmp, &[]),
        // PrunePendingTmp × Receive Prune(S,G,rpt): → Prune-Pending.
        (RS::PrunePendingTmp, RE::ReceivePruneSgRpt) => step(RS::PrunePending, &[]),
        // PrunePendingTmp × End of Message: → NoInfo.
        (RS::PrunePendingTmp, RE::EndOfMessage) => step(RS::NoInfo, TO_NOINFO),
        // PrunePendingTmp × PPT expires: cannot happen within one message.
        (RS::PrunePendingTmp, RE::PrunePendingTimerExpires) => step(RS::PrunePendingTmp, &[]),
        // PrunePendingTmp × ET expires: → NoInfo.
        (RS::PrunePendingTmp, RE::ExpiryTimerExpires) => step(RS::NoInfo, TO_NOINFO),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per table cell of §4.5.1 / §4.5.2: (state, event, next, actions).
    #[test]
    fn star_g_and_sg_table() {
        let cells: &[(DS, DE, DS, &[DA])] = &[
            (DS::NoInfo, DE::ReceiveJoin, DS::Join, &[DA::ExtendExpiry]),
            (DS::Join, DE::ReceiveJoin, DS::Join, &[DA::ExtendExpiry]),
            (DS::PrunePending, DE::ReceiveJoin, DS::Join, &[DA::CancelPrunePending, DA::ExtendExpiry]),
            (DS::NoInfo, DE::ReceivePrune, DS::NoInfo, &[]),
            (DS::Join, DE::ReceivePrune, DS::PrunePending, &[DA::StartPrunePending]),
            (DS::PrunePending, DE::ReceivePrune, DS::PrunePending, &[]),
            (DS::NoInfo, DE::PrunePendingTimerExpires, DS::NoInfo, &[]),
            (DS::Join, DE::PrunePendingTimerExpires, DS::Join, &[]),
            (
                DS::PrunePending,
                DE::PrunePendingTimerExpires,
                DS::NoInfo,
                &[DA::CancelExpiry, DA::SendPruneEcho],
            ),
            (DS::NoInfo, DE::ExpiryTimerExpires, DS::NoInfo, &[]),
            (DS::Join, DE::ExpiryTimerExpires, DS::NoInfo, &[]),
            (DS::PrunePending, DE::ExpiryTimerExpires, DS::NoInfo, &[DA::CancelPrunePending]),
        ];
        for &(state, event, next, actions) in cells {
            let got = transition(state, event);
            assert_eq!((got.next, got.actions), (next, actions), "{state:?} x {event:?}");
        }
    }

    /// One row per table cell of §4.5.3.
    #[test]
    fn sg_rpt_table() {
        let none: &[RA] = &[];
        let to_ni: &[RA] = &[RA::CancelPrunePending, RA::CancelExpiry];
        let cells: &[(RS, RE, RS, &[RA])] = &[
            (RS::NoInfo, RE::ReceiveJoinStarG, RS::NoInfo, none),
            (RS::NoInfo, RE::ReceiveJoinSgRpt, RS::NoInfo, none),
            (RS::NoInfo, RE::ReceivePruneSgRpt, RS::PrunePending, &[RA::StartPrunePending, RA::ExtendExpiry]),
            (RS::NoInfo, RE::EndOfMessage, RS::NoInfo, none),
            (RS::NoInfo, RE::PrunePendingTimerExpires, RS::NoInfo, none),
            (RS::NoInfo, RE::ExpiryTimerExpires, RS::NoInfo, none),
            (RS::Prune, RE::ReceiveJoinStarG, RS::PruneTmp, none),
            (RS::Prune, RE::ReceiveJoinSgRpt, RS::NoInfo, to_ni),
            (RS::Prune, RE::ReceivePruneSgRpt, RS::Prune, &[RA::ExtendExpiry]),
            (RS::Prune, RE::EndOfMessage, RS::Prune, none),
            (RS::Prune, RE::PrunePendingTimerExpires, RS::Prune, none),
            (RS::Prune, RE::ExpiryTimerExpires, RS::NoInfo, to_ni),
            (RS::PrunePending, RE::ReceiveJoinStarG, RS::PrunePendingTmp, none),
            (RS::PrunePending, RE::ReceiveJoinSgRpt, RS::NoInfo, to_ni),
            (RS::PrunePending, RE::ReceivePruneSgRpt, RS::PrunePending, none),
            (RS::PrunePending, RE::EndOfMessage, RS::PrunePending, none),
            (RS::PrunePending, RE::PrunePendingTimerExpires, RS::Prune, none),
            (RS::PrunePending, RE::ExpiryTimerExpires, RS::NoInfo, to_ni),
            (RS::PruneTmp, RE::ReceiveJoinStarG, RS::PruneTmp, none),
            (RS::PruneTmp, RE::ReceiveJoinSgRpt, RS::PruneTmp, none),
            (RS::PruneTmp, RE::ReceivePruneSgRpt, RS::Prune, &[RA::ExtendExpiry]),
            (RS::PruneTmp, RE::EndOfMessage, RS::NoInfo, to_ni),
            (RS::PruneTmp, RE::PrunePendingTimerExpires, RS::PruneTmp, none),
            (RS::PruneTmp, RE::ExpiryTimerExpires, RS::NoInfo, to_ni),
            (RS::PrunePendingTmp, RE::ReceiveJoinStarG, RS::PrunePendingTmp, none),
            (RS::PrunePendingTmp, RE::ReceiveJoinSgRpt, RS::PrunePendingTmp, none),
            (RS::PrunePendingTmp, RE::ReceivePruneSgRpt, RS::PrunePending, none),
            (RS::PrunePendingTmp, RE::EndOfMessage, RS::NoInfo, to_ni),
            (RS::PrunePendingTmp, RE::PrunePendingTimerExpires, RS::PrunePendingTmp, none),
            (RS::PrunePendingTmp, RE::ExpiryTimerExpires, RS::NoInfo, to_ni),
        ];
        for &(state, event, next, actions) in cells {
            let got = rpt_transition(state, event);
            assert_eq!((got.next, got.actions), (next, actions), "{state:?} x {event:?}");
        }
    }
}
