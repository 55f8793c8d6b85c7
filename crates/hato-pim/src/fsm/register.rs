//! The DR's per-(S,G) Register state machine (RFC 7761 §4.4.1): whether data from a directly
//! connected source is encapsulated to the RP, suppressed after a Register-Stop, or probed with a
//! Null-Register before the suppression ends.

use serde::Serialize;

use super::{step, Step};

/// Register state (§4.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegisterState {
    NoInfo,
    /// Encapsulating: the register tunnel is in the outgoing list.
    Join,
    /// Probing: a Null-Register was sent, waiting for a Register-Stop.
    JoinPending,
    /// Suppressed by a Register-Stop.
    Prune,
}

/// Events of the register machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterEvent {
    CouldRegisterTrue,
    CouldRegisterFalse,
    RegisterStopReceived,
    RegisterStopTimerExpires,
    RpChanged,
}

/// Actions of the register machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterAction {
    /// Put the register tunnel in the outgoing list (the mroute intent's `register` flag).
    AddTunnel,
    RemoveTunnel,
    /// Re-point the tunnel at the new RP.
    UpdateTunnel,
    /// RST = rand(0.5, 1.5) × Register_Suppression_Time − Register_Probe_Time.
    SetSuppressionTimer,
    /// RST = Register_Probe_Time.
    SetProbeTimer,
    CancelTimer,
    SendNullRegister,
}

use RegisterAction as RA;
use RegisterEvent as RE;
use RegisterState as RS;

/// The transition table of §4.4.1.
pub fn transition(state: RegisterState, event: RegisterEvent) -> Step<RegisterState, RegisterAction> {
    match (state, event) {
        // NoInfo × CouldRegister → TRUE: → Join; add the register tunnel.
        (RS::NoInfo, RE::CouldRegisterTrue) => step(RS::Join, &[RA::AddTunnel]),
        // NoInfo × any other event: no action.
        (RS::NoInfo, _) => step(RS::NoInfo, &[]),
        // Join × CouldRegister → FALSE: → NoInfo; remove the tunnel.
        (RS::Join, RE::CouldRegisterFalse) => step(RS::NoInfo, &[RA::RemoveTunnel]),
        // Join × Register-Stop: → Prune; remove the tunnel; start the suppression timer.
        (RS::Join, RE::RegisterStopReceived) => step(RS::Prune, &[RA::RemoveTunnel, RA::SetSuppressionTimer]),
        // Join × RP changed: → Join; update the tunnel.
        (RS::Join, RE::RpChanged) => step(RS::Join, &[RA::UpdateTunnel]),
        // Join × CouldRegister → TRUE / RST expires: no action (the RST is not running).
        (RS::Join, RE::CouldRegisterTrue | RE::RegisterStopTimerExpires) => step(RS::Join, &[]),
        // Join-Pending × CouldRegister → FALSE: → NoInfo.
        (RS::JoinPending, RE::CouldRegisterFalse) => step(RS::NoInfo, &[RA::CancelTimer]),
        // Join-Pending × Register-Stop: → Prune; set the suppression timer.
        (RS::JoinPending, RE::RegisterStopReceived) => step(RS::Prune, &[RA::SetSuppressionTimer]),
        // Join-Pending × RST expires: → Join; add the tunnel.
        (RS::JoinPending, RE::RegisterStopTimerExpires) => step(RS::Join, &[RA::AddTunnel]),
        // Join-Pending × RP changed: → Join; add the tunnel; cancel the RST.
        (RS::JoinPending, RE::RpChanged) => step(RS::Join, &[RA::AddTunnel, RA::CancelTimer]),
        // Join-Pending × CouldRegister → TRUE: no action.
        (RS::JoinPending, RE::CouldRegisterTrue) => step(RS::JoinPending, &[]),
        // Prune × CouldRegister → FALSE: → NoInfo.
        (RS::Prune, RE::CouldRegisterFalse) => step(RS::NoInfo, &[RA::CancelTimer]),
        // Prune × RST expires: → Join-Pending; RST = Register_Probe_Time; send Null-Register.
        (RS::Prune, RE::RegisterStopTimerExpires) => {
            step(RS::JoinPending, &[RA::SetProbeTimer, RA::SendNullRegister])
        }
        // Prune × RP changed: → Join; add the tunnel; cancel the RST.
        (RS::Prune, RE::RpChanged) => step(RS::Join, &[RA::AddTunnel, RA::CancelTimer]),
        // Prune × Register-Stop / CouldRegister → TRUE: no action.
        (RS::Prune, RE::RegisterStopReceived | RE::CouldRegisterTrue) => step(RS::Prune, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsm::cell_tests;

    // RFC 7761 §4.4.1, one test per cell.
    cell_tests! { transition, RegisterAction;
        no_info_x_could_register_true: (RS::NoInfo, RE::CouldRegisterTrue) => RS::Join, [RA::AddTunnel];
        no_info_x_could_register_false: (RS::NoInfo, RE::CouldRegisterFalse) => RS::NoInfo, [];
        no_info_x_register_stop_received: (RS::NoInfo, RE::RegisterStopReceived) => RS::NoInfo, [];
        no_info_x_register_stop_timer_expires: (RS::NoInfo, RE::RegisterStopTimerExpires) => RS::NoInfo, [];
        no_info_x_rp_changed: (RS::NoInfo, RE::RpChanged) => RS::NoInfo, [];
        join_x_could_register_true: (RS::Join, RE::CouldRegisterTrue) => RS::Join, [];
        join_x_could_register_false: (RS::Join, RE::CouldRegisterFalse) => RS::NoInfo, [RA::RemoveTunnel];
        join_x_register_stop_received: (RS::Join, RE::RegisterStopReceived) => RS::Prune, [RA::RemoveTunnel, RA::SetSuppressionTimer];
        join_x_register_stop_timer_expires: (RS::Join, RE::RegisterStopTimerExpires) => RS::Join, [];
        join_x_rp_changed: (RS::Join, RE::RpChanged) => RS::Join, [RA::UpdateTunnel];
        join_pending_x_could_register_true: (RS::JoinPending, RE::CouldRegisterTrue) => RS::JoinPending, [];
        join_pending_x_could_register_false: (RS::JoinPending, RE::CouldRegisterFalse) => RS::NoInfo, [RA::CancelTimer];
        join_pending_x_register_stop_received: (RS::JoinPending, RE::RegisterStopReceived) => RS::Prune, [RA::SetSuppressionTimer];
        join_pending_x_register_stop_timer_expires: (RS::JoinPending, RE::RegisterStopTimerExpires) => RS::Join, [RA::AddTunnel];
        join_pending_x_rp_changed: (RS::JoinPending, RE::RpChanged) => RS::Join, [RA::AddTunnel, RA::CancelTimer];
        prune_x_could_register_true: (RS::Prune, RE::CouldRegisterTrue) => RS::Prune, [];
        prune_x_could_register_false: (RS::Prune, RE::CouldRegisterFalse) => RS::NoInfo, [RA::CancelTimer];
        prune_x_register_stop_received: (RS::Prune, RE::RegisterStopReceived) => RS::Prune, [];
        prune_x_register_stop_timer_expires: (RS::Prune, RE::RegisterStopTimerExpires) => RS::JoinPending, [RA::SetProbeTimer, RA::SendNullRegister];
        prune_x_rp_changed: (RS::Prune, RE::RpChanged) => RS::Join, [RA::AddTunnel, RA::CancelTimer];
    }
}
