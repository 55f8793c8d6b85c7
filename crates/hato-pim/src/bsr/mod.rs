//! The bootstrap router mechanism, RFC 5059, sans-IO: candidate and non-candidate BSR state
//! machines (§3.1.1, §3.1.2) with BS_Rand_Override (§5), Bootstrap message acceptance from the RPF
//! neighbour towards the BSR and hop-by-hop forwarding (§3.3), unicast Bootstrap messages to new
//! or restarted neighbours (§3.3), fragmentation by fragment tag and reassembly (§3.5, §4.1), the
//! No-Forward bit (§4.1), the elected BSR's candidate-RP cache aged by holdtime (§3.2), the
//! candidate RP's periodic and triggered C-RP-Advertisements (§3.2), and the per-interface
//! `accept-bootstrap` filter of the configuration guide (seed 002 §(7)(a)).
//!
//! Timers are those of seed 002 table 15-11: Bootstrap-Period 60 s, Bootstrap-Timeout
//! 2 × period + 10 s, BS_Rand_Override 5-23 s, C-RP-Adv-Period 60 s, RP-Holdtime 2.5 × period.
//!
//! The RPF neighbour towards a BSR comes from outside: the machinery asks with
//! [`Output::WatchRpf`] and holds that BSR's messages until [`Input::RpfNeighbor`] answers.
//! Only the global scope zone is run (administratively scoped zones are not).

mod election;
mod fragment;
mod io;
mod router;
mod view;

pub use election::{
    bs_rand_override, classify, transition, BsrId, BsrState, ElectionAction, ElectionEvent, TimerAction,
    Transition,
};
pub use fragment::{fragment, Reassembly};
pub use io::{
    BsrConfig, BsrEvent, CandidateBsrConfig, CandidateRpConfig, Destination, DropReason, Input, Output,
    RpfNeighbor, BOOTSTRAP_PERIOD, C_RP_ADV_PERIOD,
};
pub use router::Bsr;
pub use view::{BsrCounters, BsrView, CandidateRpView, RpSetRow, RpSetView};
