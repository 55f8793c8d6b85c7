//! Upstream Join/Prune state machines: sending (*,G) (RFC 7761 §4.5.4) and (S,G) (§4.5.5) Joins
//! and Prunes, and the (S,G,rpt) triggered-message machine (§4.5.7). An RPF' change is an event
//! of its own when an Assert (§4.6) caused it.

use serde::Serialize;

use super::{step, Step};

/// Upstream state of (*,G) or (S,G) (§4.5.4, §4.5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UpstreamState {
    NotJoined,
    Joined,
}

/// Events of the (*,G) / (S,G) upstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamEvent {
    JoinDesiredTrue,
    JoinDesiredFalse,
    JoinTimerExpires,
    /// A Join for this entry addressed to our RPF' neighbour was seen on the upstream interface.
    SeeJoinToRpfPrime,
    /// A Prune for this entry (for (S,G): also Prune(S,G,rpt) or Prune(*,G)) addressed to our
    /// RPF' neighbour was seen.
    SeePruneToRpfPrime,
    /// RPF' changed for another reason than an Assert.
    RpfPrimeChanged,
    /// RPF' changed because of an Assert (we lost one on the upstream interface, or the winner
    /// changed or went away).
    RpfPrimeChangedByAssert,
    /// The RPF' neighbour's Generation ID changed.
    RpfPrimeGenIdChanged,
}

/// Actions of the (*,G) / (S,G) upstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamAction {
    SendJoin,
    SendPrune,
    /// Join Timer = t_periodic.
    SetJoinTimerPeriodic,
    CancelJoinTimer,
    /// Join Timer = max(Join Timer, t_joinsuppress).
    IncreaseJoinTimer,
    /// Join Timer = min(Join Timer, t_override).
    DecreaseJoinTimer,
    /// Join to the new RPF' neighbour, Prune to the old one.
    SendJoinToNewPruneToOld,
    /// (S,G) only: SPTbit = FALSE.
    ClearSptBit,
}

use UpstreamAction as UA;
use UpstreamEvent as UE;
use UpstreamState as US;

/// The transition table of §4.5.4 ((*,G)); `sg` selects §4.5.5 ((S,G)), which also clears the
/// SPT bit when leaving Joined.
pub fn transition(
    state: UpstreamState,
    event: UpstreamEvent,
    sg: bool,
) -> Step<UpstreamState, UpstreamAction> {
    match (state, event) {
        // NotJoined × JoinDesired → TRUE: → Joined; send Join; JT = t_periodic.
        (US::NotJoined, UE::JoinDesiredTrue) => step(US::Joined, &[UA::SendJoin, UA::SetJoinTimerPeriodic]),
        // NotJoined × any other event: no action.
        (US::NotJoined, _) => step(US::NotJoined, &[]),
        // Joined × JoinDesired → FALSE: → NotJoined; send Prune; cancel JT ((S,G): SPTbit FALSE).
        (US::Joined, UE::JoinDesiredFalse) if sg => {
            step(US::NotJoined, &[UA::SendPrune, UA::CancelJoinTimer, UA::ClearSptBit])
        }
        (US::Joined, UE::JoinDesiredFalse) => step(US::NotJoined, &[UA::SendPrune, UA::CancelJoinTimer]),
        // Joined × JoinDesired → TRUE: already joined.
        (US::Joined, UE::JoinDesiredTrue) => step(US::Joined, &[]),
        // Joined × JT expires: send Join; JT = t_periodic.
        (US::Joined, UE::JoinTimerExpires) => step(US::Joined, &[UA::SendJoin, UA::SetJoinTimerPeriodic]),
        // Joined × See Join to RPF': JT = max(JT, t_joinsuppress).
        (US::Joined, UE::SeeJoinToRpfPrime) => step(US::Joined, &[UA::IncreaseJoinTimer]),
        // Joined × See Prune to RPF': JT = min(JT, t_override).
        (US::Joined, UE::SeePruneToRpfPrime) => step(US::Joined, &[UA::DecreaseJoinTimer]),
        // Joined × RPF' changes (not Assert): Join to new, Prune to old; JT = t_periodic.
        (US::Joined, UE::RpfPrimeChanged) => {
            step(US::Joined, &[UA::SendJoinToNewPruneToOld, UA::SetJoinTimerPeriodic])
        }
        // Joined × RPF' changes due to an Assert: JT = min(JT, t_override).
        (US::Joined, UE::RpfPrimeChangedByAssert) => step(US::Joined, &[UA::DecreaseJoinTimer]),
        // Joined × RPF' GenID changes: JT = min(JT, t_override).
        (US::Joined, UE::RpfPrimeGenIdChanged) => step(US::Joined, &[UA::DecreaseJoinTimer]),
    }
}

/// Upstream (S,G,rpt) state (§4.5.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RptUpstreamState {
    RptNotJoined,
    Pruned,
    NotPruned,
}

/// Events of the (S,G,rpt) upstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RptUpstreamEvent {
    PruneDesiredTrue,
    PruneDesiredFalse,
    RptJoinDesiredFalse,
    InheritedOlistNonEmpty,
    OverrideTimerExpires,
    /// Prune(S,G,rpt) or Prune(S,G) to RPF'(S,G,rpt) seen.
    SeePruneToRpfPrime,
    /// Join(S,G,rpt) to RPF'(S,G,rpt) seen.
    SeeJoinToRpfPrime,
    /// RPF'(S,G,rpt) changed to become RPF'(*,G).
    RpfPrimeBecomesStarG,
}

/// Actions of the (S,G,rpt) upstream machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RptUpstreamAction {
    SendPrune,
    SendJoin,
    CancelOverride,
    /// OT = min(OT, t_override).
    DecreaseOverride,
}

use RptUpstreamAction as RA;
use RptUpstreamEvent as RE;
use RptUpstreamState as RS;

/// The transition table of §4.5.7.
pub fn rpt_transition(
    state: RptUpstreamState,
    event: RptUpstreamEvent,
) -> Step<RptUpstreamState, RptUpstreamAction> {
    match (state, event) {
        // RPTNotJoined × PruneDesired → TRUE: → Pruned.
        (RS::RptNotJoined, RE::PruneDesiredTrue) => step(RS::Pruned, &[]),
        // RPTNotJoined × inherited_olist(S,G,rpt) → non-NULL: → NotPruned.
        (RS::RptNotJoined, RE::InheritedOlistNonEmpty) => step(RS::NotPruned, &[]),
        // RPTNotJoined × other events: no action.
        (RS::RptNotJoined, _) => step(RS::RptNotJoined, &[]),
        // Pruned × PruneDesired → FALSE: → NotPruned; send Join(S,G,rpt).
        (RS::Pruned, RE::PruneDesiredFalse) => step(RS::NotPruned, &[RA::SendJoin]),
        // Pruned × RPTJoinDesired(G) → FALSE: → RPTNotJoined.
        (RS::Pruned, RE::RptJoinDesiredFalse) => step(RS::RptNotJoined, &[]),
        // Pruned × other events: no action.
        (RS::Pruned, _) => step(RS::Pruned, &[]),
        // NotPruned × PruneDesired → TRUE: → Pruned; send Prune(S,G,rpt); cancel OT.
        (RS::NotPruned, RE::PruneDesiredTrue) => step(RS::Pruned, &[RA::SendPrune, RA::CancelOverride]),
        // NotPruned × RPTJoinDesired(G) → FALSE: → RPTNotJoined; cancel OT.
        (RS::NotPruned, RE::RptJoinDesiredFalse) => step(RS::RptNotJoined, &[RA::CancelOverride]),
        // NotPruned × OT expires: send Join(S,G,rpt).
        (RS::NotPruned, RE::OverrideTimerExpires) => step(RS::NotPruned, &[RA::SendJoin]),
        // NotPruned × See Prune(S,G,rpt) / Prune(S,G) to RPF'(S,G,rpt): OT = min(OT, t_override).
        (RS::NotPruned, RE::SeePruneToRpfPrime) => step(RS::NotPruned, &[RA::DecreaseOverride]),
        // NotPruned × See Join(S,G,rpt) to RPF'(S,G,rpt): cancel OT.
        (RS::NotPruned, RE::SeeJoinToRpfPrime) => step(RS::NotPruned, &[RA::CancelOverride]),
        // NotPruned × RPF'(S,G,rpt) → RPF'(*,G): OT = min(OT, t_override).
        (RS::NotPruned, RE::RpfPrimeBecomesStarG) => step(RS::NotPruned, &[RA::DecreaseOverride]),
        // NotPruned × PruneDesired → FALSE / inherited_olist non-NULL: already not pruned.
        (RS::NotPruned, RE::PruneDesiredFalse | RE::InheritedOlistNonEmpty) => step(RS::NotPruned, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::cell_tests;

    /// RFC 7761 §4.5.4 ((*,G)) and §4.5.5 ((S,G)), one test per cell.
    mod star_g_and_sg {
        use super::*;
        cell_tests! { transition, UpstreamAction;
            not_joined_x_join_desired_true_star_g: (US::NotJoined, UE::JoinDesiredTrue, false) => US::Joined, [UA::SendJoin, UA::SetJoinTimerPeriodic];
            not_joined_x_join_desired_false_star_g: (US::NotJoined, UE::JoinDesiredFalse, false) => US::NotJoined, [];
            not_joined_x_join_timer_expires_sg: (US::NotJoined, UE::JoinTimerExpires, true) => US::NotJoined, [];
            not_joined_x_see_join_to_rpf_prime_sg: (US::NotJoined, UE::SeeJoinToRpfPrime, true) => US::NotJoined, [];
            not_joined_x_see_prune_to_rpf_prime_star_g: (US::NotJoined, UE::SeePruneToRpfPrime, false) => US::NotJoined, [];
            not_joined_x_rpf_prime_changed_star_g: (US::NotJoined, UE::RpfPrimeChanged, false) => US::NotJoined, [];
            not_joined_x_rpf_prime_changed_by_assert_sg: (US::NotJoined, UE::RpfPrimeChangedByAssert, true) => US::NotJoined, [];
            joined_x_rpf_prime_changed_by_assert_star_g: (US::Joined, UE::RpfPrimeChangedByAssert, false) => US::Joined, [UA::DecreaseJoinTimer];
            joined_x_rpf_prime_changed_by_assert_sg: (US::Joined, UE::RpfPrimeChangedByAssert, true) => US::Joined, [UA::DecreaseJoinTimer];
            not_joined_x_rpf_prime_gen_id_changed_sg: (US::NotJoined, UE::RpfPrimeGenIdChanged, true) => US::NotJoined, [];
            joined_x_join_desired_false_star_g: (US::Joined, UE::JoinDesiredFalse, false) => US::NotJoined, [UA::SendPrune, UA::CancelJoinTimer];
            joined_x_join_desired_false_sg: (US::Joined, UE::JoinDesiredFalse, true) => US::NotJoined, [UA::SendPrune, UA::CancelJoinTimer, UA::ClearSptBit];
            joined_x_join_desired_true_sg: (US::Joined, UE::JoinDesiredTrue, true) => US::Joined, [];
            joined_x_join_timer_expires_star_g: (US::Joined, UE::JoinTimerExpires, false) => US::Joined, [UA::SendJoin, UA::SetJoinTimerPeriodic];
            joined_x_see_join_to_rpf_prime_sg: (US::Joined, UE::SeeJoinToRpfPrime, true) => US::Joined, [UA::IncreaseJoinTimer];
            joined_x_see_prune_to_rpf_prime_sg: (US::Joined, UE::SeePruneToRpfPrime, true) => US::Joined, [UA::DecreaseJoinTimer];
            joined_x_rpf_prime_changed_star_g: (US::Joined, UE::RpfPrimeChanged, false) => US::Joined, [UA::SendJoinToNewPruneToOld, UA::SetJoinTimerPeriodic];
            joined_x_rpf_prime_gen_id_changed_star_g: (US::Joined, UE::RpfPrimeGenIdChanged, false) => US::Joined, [UA::DecreaseJoinTimer];
        }
    }

    /// RFC 7761 §4.5.7, one test per cell.
    mod sg_rpt {
        use super::*;
        cell_tests! { rpt_transition, RptUpstreamAction;
            rpt_not_joined_x_prune_desired_true: (RS::RptNotJoined, RE::PruneDesiredTrue) => RS::Pruned, [];
            rpt_not_joined_x_prune_desired_false: (RS::RptNotJoined, RE::PruneDesiredFalse) => RS::RptNotJoined, [];
            rpt_not_joined_x_rpt_join_desired_false: (RS::RptNotJoined, RE::RptJoinDesiredFalse) => RS::RptNotJoined, [];
            rpt_not_joined_x_inherited_olist_non_empty: (RS::RptNotJoined, RE::InheritedOlistNonEmpty) => RS::NotPruned, [];
            rpt_not_joined_x_override_timer_expires: (RS::RptNotJoined, RE::OverrideTimerExpires) => RS::RptNotJoined, [];
            rpt_not_joined_x_see_prune_to_rpf_prime: (RS::RptNotJoined, RE::SeePruneToRpfPrime) => RS::RptNotJoined, [];
            rpt_not_joined_x_see_join_to_rpf_prime: (RS::RptNotJoined, RE::SeeJoinToRpfPrime) => RS::RptNotJoined, [];
            rpt_not_joined_x_rpf_prime_becomes_star_g: (RS::RptNotJoined, RE::RpfPrimeBecomesStarG) => RS::RptNotJoined, [];
            pruned_x_prune_desired_true: (RS::Pruned, RE::PruneDesiredTrue) => RS::Pruned, [];
            pruned_x_prune_desired_false: (RS::Pruned, RE::PruneDesiredFalse) => RS::NotPruned, [RA::SendJoin];
            pruned_x_rpt_join_desired_false: (RS::Pruned, RE::RptJoinDesiredFalse) => RS::RptNotJoined, [];
            pruned_x_inherited_olist_non_empty: (RS::Pruned, RE::InheritedOlistNonEmpty) => RS::Pruned, [];
            pruned_x_override_timer_expires: (RS::Pruned, RE::OverrideTimerExpires) => RS::Pruned, [];
            pruned_x_see_prune_to_rpf_prime: (RS::Pruned, RE::SeePruneToRpfPrime) => RS::Pruned, [];
            pruned_x_see_join_to_rpf_prime: (RS::Pruned, RE::SeeJoinToRpfPrime) => RS::Pruned, [];
            pruned_x_rpf_prime_becomes_star_g: (RS::Pruned, RE::RpfPrimeBecomesStarG) => RS::Pruned, [];
            not_pruned_x_prune_desired_true: (RS::NotPruned, RE::PruneDesiredTrue) => RS::Pruned, [RA::SendPrune, RA::CancelOverride];
            not_pruned_x_prune_desired_false: (RS::NotPruned, RE::PruneDesiredFalse) => RS::NotPruned, [];
            not_pruned_x_rpt_join_desired_false: (RS::NotPruned, RE::RptJoinDesiredFalse) => RS::RptNotJoined, [RA::CancelOverride];
            not_pruned_x_inherited_olist_non_empty: (RS::NotPruned, RE::InheritedOlistNonEmpty) => RS::NotPruned, [];
            not_pruned_x_override_timer_expires: (RS::NotPruned, RE::OverrideTimerExpires) => RS::NotPruned, [RA::SendJoin];
            not_pruned_x_see_prune_to_rpf_prime: (RS::NotPruned, RE::SeePruneToRpfPrime) => RS::NotPruned, [RA::DecreaseOverride];
            not_pruned_x_see_join_to_rpf_prime: (RS::NotPruned, RE::SeeJoinToRpfPrime) => RS::NotPruned, [RA::CancelOverride];
            not_pruned_x_rpf_prime_becomes_star_g: (RS::NotPruned, RE::RpfPrimeBecomesStarG) => RS::NotPruned, [RA::DecreaseOverride];
        }
    }
}
