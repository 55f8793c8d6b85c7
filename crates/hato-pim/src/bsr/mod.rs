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
//!
//! Administratively scoped zones (RFC 5059 §3.x): [`Bsr`] runs one [`ZoneBsr`] election per zone
//! (the global zone, and each zone configured or learned from a Bootstrap message whose first
//! group range carries the Admin Scope Zone bit). Interfaces configured as a boundary for a range
//! ([`Input::SetBoundaries`]) drop, and count, the Bootstrap messages of zones overlapping it and
//! are left out of those zones' forwarding and origination. A candidate RP advertises the ranges
//! inside a scoped zone to that zone's BSR only; the RP mapping prefers the innermost scoped
//! zone's RP-Set for its groups ([`crate::rp::RpSet::for_group`]). Not done: the No Info state
//! and SZ_Timeout of scoped zones (a learned zone keeps running), and per-zone hash masks for
//! static RPs.
//!
//! # What was checked against which source
//!
//! The RFC texts themselves could not be retrieved here; these statements were compared with
//! implementations that cite them:
//! - BS_Rand_Override (RFC 5059 §5): identical to FRR `pimd/pim_bsm.c` `pim_cand_bsr_pending`
//!   ("RFC5059 sec.5"): `5 + 2·log2(1 + bestPrio − myPrio) + AddrDelay`, AddrDelay
//!   `log2(1 + bestAddr − myAddr)/16` at equal priority, else `2 − myAddr/2^31`; for IPv6 `/64`
//!   and `2^127` (FRR approximates the IPv6 terms with 32 bits of the address; the results agree
//!   to the millisecond). Verified.
//! - Bootstrap-Period 60 s and Bootstrap-Timeout 130 s: FRR `pim_bsm.h` (`PIM_BS_TIME`,
//!   `PIM_BSR_DEFAULT_TIMEOUT`, both "RFC 5059 - Sec 5"). Verified.
//! - RP-Holdtime 2.5 × C-RP-Adv-Period, ±1 s jitter on the period: FRR `pim_cand_rp_adv`
//!   (holdtime `max(151, (5·interval+1)/2)`, jitter −1..+1 s). Verified; FRR also sends three
//!   triggered advertisements 2 s apart where hato sends one.
//! - Hash mask: RFC 7761 §4.7.2, see [`crate::rp::hash_value`]; FRR `hash_calc_on_grp_rp` agrees
//!   for IPv4 and folds IPv6 before masking. Verified (IPv4 also on the wire, `rp_vectors`).
//! - Fragment tag: a receiver replaces its partial ranges when the tag changes and installs a
//!   range once RP Count RPs were seen (FRR `pim_update_pending_rp_cnt`,
//!   `pim_bsm_parse_install_g2rp`); a range with RP Count 0 withdraws it. Verified.
//! - Admin Scope Zone bit: the low bit of an Encoded-Group's flag octet (B is the high bit), as
//!   Wireshark's `PIM_GROUP_ADDR_FLAGS_Z` and FRR's `sz` decode it. Verified. FRR 8.4 drops every
//!   Bootstrap message whose first range has Z set ("Currently we don't support scope zoned BSM").
//! - No-Forward bit (RFC 5059 §3.3): unicast Bootstrap messages to new neighbours carry it and
//!   are accepted without the RPF check. FRR accepts No-Forward messages only right after start or
//!   with the current fragment tag, and accepts multicast ones without the RPF check, where hato
//!   drops multicast No-Forward messages (as recalled from §3.3; not verified against the text).
//! - Acceptance checks (§3.3: from a PIM neighbour, multicast ones from the RPF neighbour towards
//!   the BSR, preferred BSR per §3.1 tables): agree with FRR `pim_bsm_process`. The state tables
//!   of §3.1.1-§3.1.2 are as recalled and match FRR's candidate-BSR code's transitions.
//! - C-RP-Advertisement processing (§3.2, RFC 7761 §4.9.10): no ranges = every group; holdtime 0
//!   withdraws; FRR withdraws with no ranges, priority 255, holdtime 0, which hato accepts.
//! - Embedded-RP (RFC 3956): see [`crate::rp::embedded_rp`]; checked against the RFC's §3
//!   example only.

mod election;
mod fragment;
mod io;
mod router;
mod view;
mod zones;

pub use election::{
    bs_rand_override, classify, transition, BsrId, BsrState, ElectionAction, ElectionEvent, TimerAction,
    Transition,
};
pub use fragment::{fragment, fragment_in_zone, Reassembly};
pub use io::{
    BsrConfig, BsrEvent, CandidateBsrConfig, CandidateRpConfig, Destination, DropReason, Input, Output,
    RpfNeighbor, ScopeZoneConfig, BOOTSTRAP_PERIOD, C_RP_ADV_PERIOD,
};
pub use router::ZoneBsr;
pub use view::{BsrCounters, BsrView, CandidateRpView, RpSetRow, RpSetView};
pub use zones::{scope_zone, Bsr, MAX_SCOPE_ZONES};
