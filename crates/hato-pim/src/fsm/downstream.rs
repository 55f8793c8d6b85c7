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
    use crate::fsm::cell_tests;

    /// RFC 7761 §4.5.1 / §4.5.2, one test per cell.
    mod star_g_and_sg {
        use super::*;
        cell_tests! { transition, DownstreamAction;
            no_info_x_receive_join: (DS::NoInfo, DE::ReceiveJoin) => DS::Join, [DA::ExtendExpiry];
            join_x_receive_join: (DS::Join, DE::ReceiveJoin) => DS::Join, [DA::ExtendExpiry];
            prune_pending_x_receive_join: (DS::PrunePending, DE::ReceiveJoin) => DS::Join, [DA::CancelPrunePending, DA::ExtendExpiry];
            no_info_x_receive_prune: (DS::NoInfo, DE::ReceivePrune) => DS::NoInfo, [];
            join_x_receive_prune: (DS::Join, DE::ReceivePrune) => DS::PrunePending, [DA::StartPrunePending];
            prune_pending_x_receive_prune: (DS::PrunePending, DE::ReceivePrune) => DS::PrunePending, [];
            no_info_x_prune_pending_timer_expires: (DS::NoInfo, DE::PrunePendingTimerExpires) => DS::NoInfo, [];
            join_x_prune_pending_timer_expires: (DS::Join, DE::PrunePendingTimerExpires) => DS::Join, [];
            prune_pending_x_prune_pending_timer_expires: (DS::PrunePending, DE::PrunePendingTimerExpires) => DS::NoInfo, [DA::CancelExpiry, DA::SendPruneEcho];
            no_info_x_expiry_timer_expires: (DS::NoInfo, DE::ExpiryTimerExpires) => DS::NoInfo, [];
            join_x_expiry_timer_expires: (DS::Join, DE::ExpiryTimerExpires) => DS::NoInfo, [];
            prune_pending_x_expiry_timer_expires: (DS::PrunePending, DE::ExpiryTimerExpires) => DS::NoInfo, [DA::CancelPrunePending];
        }
    }

    /// RFC 7761 §4.5.3, one test per cell.
    mod sg_rpt {
        use super::*;
        cell_tests! { rpt_transition, RptDownstreamAction;
            no_info_x_receive_join_star_g: (RS::NoInfo, RE::ReceiveJoinStarG) => RS::NoInfo, [];
            no_info_x_receive_join_sg_rpt: (RS::NoInfo, RE::ReceiveJoinSgRpt) => RS::NoInfo, [];
            no_info_x_receive_prune_sg_rpt: (RS::NoInfo, RE::ReceivePruneSgRpt) => RS::PrunePending, [RA::StartPrunePending, RA::ExtendExpiry];
            no_info_x_end_of_message: (RS::NoInfo, RE::EndOfMessage) => RS::NoInfo, [];
            no_info_x_prune_pending_timer_expires: (RS::NoInfo, RE::PrunePendingTimerExpires) => RS::NoInfo, [];
            no_info_x_expiry_timer_expires: (RS::NoInfo, RE::ExpiryTimerExpires) => RS::NoInfo, [];
            prune_x_receive_join_star_g: (RS::Prune, RE::ReceiveJoinStarG) => RS::PruneTmp, [];
            prune_x_receive_join_sg_rpt: (RS::Prune, RE::ReceiveJoinSgRpt) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_x_receive_prune_sg_rpt: (RS::Prune, RE::ReceivePruneSgRpt) => RS::Prune, [RA::ExtendExpiry];
            prune_x_end_of_message: (RS::Prune, RE::EndOfMessage) => RS::Prune, [];
            prune_x_prune_pending_timer_expires: (RS::Prune, RE::PrunePendingTimerExpires) => RS::Prune, [];
            prune_x_expiry_timer_expires: (RS::Prune, RE::ExpiryTimerExpires) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_pending_x_receive_join_star_g: (RS::PrunePending, RE::ReceiveJoinStarG) => RS::PrunePendingTmp, [];
            prune_pending_x_receive_join_sg_rpt: (RS::PrunePending, RE::ReceiveJoinSgRpt) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_pending_x_receive_prune_sg_rpt: (RS::PrunePending, RE::ReceivePruneSgRpt) => RS::PrunePending, [];
            prune_pending_x_end_of_message: (RS::PrunePending, RE::EndOfMessage) => RS::PrunePending, [];
            prune_pending_x_prune_pending_timer_expires: (RS::PrunePending, RE::PrunePendingTimerExpires) => RS::Prune, [];
            prune_pending_x_expiry_timer_expires: (RS::PrunePending, RE::ExpiryTimerExpires) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_tmp_x_receive_join_star_g: (RS::PruneTmp, RE::ReceiveJoinStarG) => RS::PruneTmp, [];
            prune_tmp_x_receive_join_sg_rpt: (RS::PruneTmp, RE::ReceiveJoinSgRpt) => RS::PruneTmp, [];
            prune_tmp_x_receive_prune_sg_rpt: (RS::PruneTmp, RE::ReceivePruneSgRpt) => RS::Prune, [RA::ExtendExpiry];
            prune_tmp_x_end_of_message: (RS::PruneTmp, RE::EndOfMessage) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_tmp_x_prune_pending_timer_expires: (RS::PruneTmp, RE::PrunePendingTimerExpires) => RS::PruneTmp, [];
            prune_tmp_x_expiry_timer_expires: (RS::PruneTmp, RE::ExpiryTimerExpires) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_pending_tmp_x_receive_join_star_g: (RS::PrunePendingTmp, RE::ReceiveJoinStarG) => RS::PrunePendingTmp, [];
            prune_pending_tmp_x_receive_join_sg_rpt: (RS::PrunePendingTmp, RE::ReceiveJoinSgRpt) => RS::PrunePendingTmp, [];
            prune_pending_tmp_x_receive_prune_sg_rpt: (RS::PrunePendingTmp, RE::ReceivePruneSgRpt) => RS::PrunePending, [];
            prune_pending_tmp_x_end_of_message: (RS::PrunePendingTmp, RE::EndOfMessage) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
            prune_pending_tmp_x_prune_pending_timer_expires: (RS::PrunePendingTmp, RE::PrunePendingTimerExpires) => RS::PrunePendingTmp, [];
            prune_pending_tmp_x_expiry_timer_expires: (RS::PrunePendingTmp, RE::ExpiryTimerExpires) => RS::NoInfo, [RA::CancelPrunePending, RA::CancelExpiry];
        }
    }
}
