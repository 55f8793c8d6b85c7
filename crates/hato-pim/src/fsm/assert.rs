//! Per-interface Assert state machines: (S,G) (RFC 7761 §4.6.1) and (*,G) (§4.6.2). The router
//! checks the guards of each event (CouldAssert, AssertTrackingDesired, which metric is better)
//! before feeding it, so the tables here are over plain events.

use serde::Serialize;

use super::{step, Step};

/// Assert state of (S,G) or (*,G) on one interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssertState {
    NoInfo,
    /// "I am Assert Winner": this router forwards onto the link.
    Winner,
    /// "I am Assert Loser": another router forwards; it is our RPF' on this link.
    Loser,
}

/// Events of the Assert machines; each variant names its guard, which the router has checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertEvent {
    /// An Assert worse than our metric: in NoInfo one with the RPT bit set while CouldAssert; in
    /// Winner any inferior Assert.
    ReceiveInferiorAssert,
    /// Data for the entry arrived on the interface (a WRONGVIF upcall on an outgoing interface)
    /// while CouldAssert.
    DataArrives,
    /// NoInfo: an Assert better than my_assert_metric ((S,G): RPT bit clear; (*,G): RPT bit set)
    /// while AssertTrackingDesired.
    ReceiveAcceptableAssert,
    /// An Assert better than the current winner's metric ((*,G) Winner: with the RPT bit set).
    ReceivePreferredAssert,
    /// Loser: an acceptable Assert from the current winner (a refresh).
    ReceiveAcceptableAssertFromWinner,
    /// Loser: an inferior Assert or an AssertCancel from the current winner.
    ReceiveInferiorAssertFromWinner,
    AssertTimerExpires,
    /// Winner: CouldAssert becomes false.
    CouldAssertFalse,
    /// Loser: the current winner's Neighbor Liveness Timer expires.
    WinnerNeighborExpires,
    /// Loser: AssertTrackingDesired becomes false.
    AssertTrackingDesiredFalse,
    /// Loser: my_assert_metric becomes better than the winner's.
    MyMetricBetterThanWinner,
    /// Loser: RPF_interface(S) ((*,G): RPF_interface(RP(G))) stops being this interface.
    RpfInterfaceStopsBeingI,
    /// Loser: a Join(S,G) ((*,G): Join(*,G)) addressed to us arrives on this interface.
    ReceiveJoin,
}

/// Actions of the Assert machines, in the order the RFC lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertAction {
    /// Send Assert(S,G) / Assert(*,G) with my_assert_metric.
    SendAssert,
    /// Send AssertCancel: an Assert with infinite_assert_metric.
    SendAssertCancel,
    /// Assert Timer = Assert_Time - Assert_Override_Interval.
    SetTimerWinner,
    /// Assert Timer = Assert_Time.
    SetTimerLoser,
    /// AssertWinner = me, AssertWinnerMetric = spt_assert_metric / rpt_assert_metric.
    StoreSelfAsWinner,
    /// AssertWinner and AssertWinnerMetric = the received Assert's sender and metric.
    StoreNewWinner,
    /// Forget AssertWinner and AssertWinnerMetric; cancel the Assert Timer.
    DeleteAssertInfo,
    /// (S,G) action A6: if the interface is RPF_interface(S) and the upstream (S,G) state is
    /// Joined, set the SPT bit.
    SetSptBitIfUpstreamJoined,
}

use AssertAction as AA;
use AssertEvent as AE;
use AssertState as AS;

const A1: &[AssertAction] = &[AA::SendAssert, AA::SetTimerWinner, AA::StoreSelfAsWinner];
const A2: &[AssertAction] = &[AA::StoreNewWinner, AA::SetTimerLoser];
const A3: &[AssertAction] = &[AA::SendAssert, AA::SetTimerWinner];
const A4: &[AssertAction] = &[AA::SendAssertCancel, AA::DeleteAssertInfo];
const A5: &[AssertAction] = &[AA::DeleteAssertInfo];
const A6: &[AssertAction] = &[AA::StoreNewWinner, AA::SetTimerLoser, AA::SetSptBitIfUpstreamJoined];

/// The (S,G) table of RFC 7761 §4.6.1.
pub fn sg_transition(state: AssertState, event: AssertEvent) -> Step<AssertState, AssertAction> {
    match (state, event) {
        // §4.6.1 NoInfo × Receive Inferior Assert with RPTbit set and CouldAssert: → Winner, A1.
        (AS::NoInfo, AE::ReceiveInferiorAssert) => step(AS::Winner, A1),
        // §4.6.1 NoInfo × Data arrives from S to G on I and CouldAssert: → Winner, A1.
        (AS::NoInfo, AE::DataArrives) => step(AS::Winner, A1),
        // §4.6.1 NoInfo × Receive Acceptable Assert with RPTbit clear and AssertTrackingDesired:
        // → Loser, A6.
        (AS::NoInfo, AE::ReceiveAcceptableAssert) => step(AS::Loser, A6),
        // §4.6.1 NoInfo × anything else: no state, nothing to do.
        (AS::NoInfo, _) => step(AS::NoInfo, &[]),
        common => shared_transition(common),
    }
}

/// The (*,G) table of RFC 7761 §4.6.2.
pub fn star_g_transition(state: AssertState, event: AssertEvent) -> Step<AssertState, AssertAction> {
    match (state, event) {
        // §4.6.2 NoInfo × Receive Inferior Assert with RPTbit set and CouldAssert(*,G): → Winner, A1.
        (AS::NoInfo, AE::ReceiveInferiorAssert) => step(AS::Winner, A1),
        // §4.6.2 NoInfo × Data arrives for G on I and CouldAssert(*,G): → Winner, A1.
        (AS::NoInfo, AE::DataArrives) => step(AS::Winner, A1),
        // §4.6.2 NoInfo × Receive Acceptable Assert with RPTbit set and AssertTrackingDesired(*,G):
        // → Loser, A2.
        (AS::NoInfo, AE::ReceiveAcceptableAssert) => step(AS::Loser, A2),
        // §4.6.2 NoInfo × anything else: nothing to do.
        (AS::NoInfo, _) => step(AS::NoInfo, &[]),
        common => shared_transition(common),
    }
}

/// The Winner and Loser rows, identical in §4.6.1 and §4.6.2.
fn shared_transition((state, event): (AssertState, AssertEvent)) -> Step<AssertState, AssertAction> {
    match (state, event) {
        (AS::NoInfo, _) => step(AS::NoInfo, &[]),
        // §4.6.1/§4.6.2 Winner × Assert Timer expires: re-assert, A3.
        (AS::Winner, AE::AssertTimerExpires) => step(AS::Winner, A3),
        // §4.6.1/§4.6.2 Winner × Receive Inferior Assert: answer it, A3.
        (AS::Winner, AE::ReceiveInferiorAssert) => step(AS::Winner, A3),
        // §4.6.1/§4.6.2 Winner × Receive Preferred Assert: → Loser, A2.
        (AS::Winner, AE::ReceivePreferredAssert) => step(AS::Loser, A2),
        // §4.6.1/§4.6.2 Winner × CouldAssert → FALSE: → NoInfo, A4 (AssertCancel).
        (AS::Winner, AE::CouldAssertFalse) => step(AS::NoInfo, A4),
        // Winner × data arrives: the winner forwards; the data needs no answer.
        (AS::Winner, _) => step(AS::Winner, &[]),
        // §4.6.1/§4.6.2 Loser × Receive Preferred Assert: a better winner, A2.
        (AS::Loser, AE::ReceivePreferredAssert) => step(AS::Loser, A2),
        // §4.6.1/§4.6.2 Loser × Receive Acceptable Assert from Current Winner: refresh, A2.
        (AS::Loser, AE::ReceiveAcceptableAssertFromWinner) => step(AS::Loser, A2),
        // §4.6.1/§4.6.2 Loser × Receive Inferior Assert or AssertCancel from Current Winner:
        // → NoInfo, A5.
        (AS::Loser, AE::ReceiveInferiorAssertFromWinner) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × Assert Timer expires: → NoInfo, A5.
        (AS::Loser, AE::AssertTimerExpires) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × Current Winner's NLT expires: → NoInfo, A5.
        (AS::Loser, AE::WinnerNeighborExpires) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × AssertTrackingDesired → FALSE: → NoInfo, A5.
        (AS::Loser, AE::AssertTrackingDesiredFalse) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × my_metric → better than the winner's: → NoInfo, A5.
        (AS::Loser, AE::MyMetricBetterThanWinner) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × RPF_interface stops being I: → NoInfo, A5.
        (AS::Loser, AE::RpfInterfaceStopsBeingI) => step(AS::NoInfo, A5),
        // §4.6.1/§4.6.2 Loser × Receive Join on I: → NoInfo, A5.
        (AS::Loser, AE::ReceiveJoin) => step(AS::NoInfo, A5),
        // Loser × data, inferior Asserts from others, CouldAssert changes: no change.
        (AS::Loser, _) => step(AS::Loser, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::cell_tests;

    /// RFC 7761 §4.6.1, one test per cell.
    mod sg {
        use super::*;
        cell_tests! { sg_transition, AssertAction;
            no_info_x_inferior_assert: (AS::NoInfo, AE::ReceiveInferiorAssert) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner, AA::StoreSelfAsWinner];
            no_info_x_data_arrives: (AS::NoInfo, AE::DataArrives) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner, AA::StoreSelfAsWinner];
            no_info_x_acceptable_assert: (AS::NoInfo, AE::ReceiveAcceptableAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser, AA::SetSptBitIfUpstreamJoined];
            no_info_x_preferred_assert: (AS::NoInfo, AE::ReceivePreferredAssert) => AS::NoInfo, [];
            no_info_x_timer_expires: (AS::NoInfo, AE::AssertTimerExpires) => AS::NoInfo, [];
            no_info_x_receive_join: (AS::NoInfo, AE::ReceiveJoin) => AS::NoInfo, [];
            winner_x_timer_expires: (AS::Winner, AE::AssertTimerExpires) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner];
            winner_x_inferior_assert: (AS::Winner, AE::ReceiveInferiorAssert) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner];
            winner_x_preferred_assert: (AS::Winner, AE::ReceivePreferredAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            winner_x_could_assert_false: (AS::Winner, AE::CouldAssertFalse) => AS::NoInfo, [AA::SendAssertCancel, AA::DeleteAssertInfo];
            winner_x_data_arrives: (AS::Winner, AE::DataArrives) => AS::Winner, [];
            loser_x_preferred_assert: (AS::Loser, AE::ReceivePreferredAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            loser_x_acceptable_from_winner: (AS::Loser, AE::ReceiveAcceptableAssertFromWinner) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            loser_x_inferior_from_winner: (AS::Loser, AE::ReceiveInferiorAssertFromWinner) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_timer_expires: (AS::Loser, AE::AssertTimerExpires) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_winner_neighbor_expires: (AS::Loser, AE::WinnerNeighborExpires) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_tracking_desired_false: (AS::Loser, AE::AssertTrackingDesiredFalse) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_my_metric_better: (AS::Loser, AE::MyMetricBetterThanWinner) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_rpf_interface_changes: (AS::Loser, AE::RpfInterfaceStopsBeingI) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_receive_join: (AS::Loser, AE::ReceiveJoin) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_data_arrives: (AS::Loser, AE::DataArrives) => AS::Loser, [];
        }
    }

    /// RFC 7761 §4.6.2, one test per cell.
    mod star_g {
        use super::*;
        cell_tests! { star_g_transition, AssertAction;
            no_info_x_inferior_assert: (AS::NoInfo, AE::ReceiveInferiorAssert) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner, AA::StoreSelfAsWinner];
            no_info_x_data_arrives: (AS::NoInfo, AE::DataArrives) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner, AA::StoreSelfAsWinner];
            no_info_x_acceptable_assert: (AS::NoInfo, AE::ReceiveAcceptableAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            no_info_x_could_assert_false: (AS::NoInfo, AE::CouldAssertFalse) => AS::NoInfo, [];
            winner_x_timer_expires: (AS::Winner, AE::AssertTimerExpires) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner];
            winner_x_inferior_assert: (AS::Winner, AE::ReceiveInferiorAssert) => AS::Winner, [AA::SendAssert, AA::SetTimerWinner];
            winner_x_preferred_assert: (AS::Winner, AE::ReceivePreferredAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            winner_x_could_assert_false: (AS::Winner, AE::CouldAssertFalse) => AS::NoInfo, [AA::SendAssertCancel, AA::DeleteAssertInfo];
            loser_x_preferred_assert: (AS::Loser, AE::ReceivePreferredAssert) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            loser_x_acceptable_from_winner: (AS::Loser, AE::ReceiveAcceptableAssertFromWinner) => AS::Loser, [AA::StoreNewWinner, AA::SetTimerLoser];
            loser_x_inferior_from_winner: (AS::Loser, AE::ReceiveInferiorAssertFromWinner) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_timer_expires: (AS::Loser, AE::AssertTimerExpires) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_winner_neighbor_expires: (AS::Loser, AE::WinnerNeighborExpires) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_tracking_desired_false: (AS::Loser, AE::AssertTrackingDesiredFalse) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_my_metric_better: (AS::Loser, AE::MyMetricBetterThanWinner) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_rpf_interface_changes: (AS::Loser, AE::RpfInterfaceStopsBeingI) => AS::NoInfo, [AA::DeleteAssertInfo];
            loser_x_receive_join: (AS::Loser, AE::ReceiveJoin) => AS::NoInfo, [AA::DeleteAssertInfo];
        }
    }
}
