//! One test per cell of the router-side state tables, RFC 3376 §6.4.1 / §6.4.2 (RFC 3810 §7.4.1 /
//! §7.4.2), timer expiry (§6.3, §6.5) and the specific queries of §6.6.1 / §6.6.3, for IGMP and
//! MLD alike.

mod lab;

use hato_wire::gmp::RecordType::*;
use lab::{millis, query, secs, Lab, Numbered};

const GMI: std::time::Duration = std::time::Duration::from_secs(260);
const LMQT: std::time::Duration = std::time::Duration::from_secs(2);

both_families!(
    no_record_is_in,
    no_record_to_ex_empty,
    no_record_block_or_to_in_creates_nothing,
    include_is_in,
    include_is_ex,
    exclude_is_in,
    exclude_is_ex,
    include_allow,
    include_block,
    include_to_ex,
    include_to_in,
    exclude_allow,
    exclude_block,
    exclude_to_ex,
    exclude_to_in,
    include_source_timer_expiry_deletes_source_then_group,
    exclude_source_timer_expiry_moves_source_to_y,
    group_timer_expiry_switches_to_include,
    group_timer_expiry_without_sources_deletes_group,
    group_query_retransmissions_follow_last_member_query_count,
    group_query_retransmission_sets_s_flag_after_a_report,
    source_query_split_by_s_flag,
    non_querier_sends_no_specific_queries,
    non_querier_lowers_timers_on_specific_query,
    suppressed_query_does_not_lower_timers,
    unknown_record_type_is_ignored,
);

// RFC 3376 §6.4: a group without a record behaves as INCLUDE ({}).
fn no_record_is_in<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.record(ModeIsInclude, 1, &[1]);
    assert_eq!(lab.state(1), "IN {1}");
    assert_eq!(lab.source_timer(1, 1), Some(GMI));
    assert_eq!(fx.deltas, ["G1 include {1}"]);
}

fn no_record_to_ex_empty<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.record(ChangeToExclude, 1, &[]);
    assert_eq!(lab.state(1), "EX {} {}");
    assert_eq!(lab.group_timer(1), Some(GMI));
    assert_eq!(fx.deltas, ["G1 exclude {}"]);
    assert!(fx.queries.is_empty());
}

fn no_record_block_or_to_in_creates_nothing<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.record(BlockOldSources, 1, &[1]);
    assert_eq!(lab.state(1), "none");
    assert!(fx.deltas.is_empty() && fx.queries.is_empty());
    let fx = lab.record(ChangeToInclude, 1, &[]);
    assert_eq!(lab.state(1), "none");
    assert!(fx.deltas.is_empty() && fx.queries.is_empty());
}

// RFC 3376 §6.4.1: INCLUDE (A) + IS_IN (B) -> INCLUDE (A+B); (B)=GMI.
fn include_is_in<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    lab.advance(secs(10));
    let fx = lab.record(ModeIsInclude, 1, &[2, 3]);
    assert_eq!(lab.state(1), "IN {1,2,3}");
    assert_eq!(lab.source_timer(1, 1), Some(GMI - secs(10)));
    assert_eq!(lab.source_timer(1, 2), Some(GMI));
    assert_eq!(lab.source_timer(1, 3), Some(GMI));
    assert_eq!(lab.group_timer(1), None);
    assert_eq!(fx.deltas, ["G1 include {1,2,3}"]);
    assert!(fx.queries.is_empty());
}

// RFC 3376 §6.4.1: INCLUDE (A) + IS_EX (B) -> EXCLUDE (A*B, B-A); (B-A)=0; Delete (A-B);
// Group Timer=GMI.
fn include_is_ex<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    lab.advance(secs(10));
    let fx = lab.record(ModeIsExclude, 1, &[2, 3]);
    assert_eq!(lab.state(1), "EX {2} {3}");
    assert_eq!(lab.source_timer(1, 2), Some(GMI - secs(10)));
    assert_eq!(lab.source_timer(1, 3), None);
    assert_eq!(lab.group_timer(1), Some(GMI));
    assert_eq!(fx.deltas, ["G1 exclude {3}"]);
    assert!(fx.queries.is_empty());
}

// RFC 3376 §6.4.1: EXCLUDE (X,Y) + IS_IN (A) -> EXCLUDE (X+A, Y-A); (A)=GMI.
fn exclude_is_in<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1], &[2]);
    lab.advance(secs(10));
    let fx = lab.record(ModeIsInclude, 1, &[2, 3]);
    assert_eq!(lab.state(1), "EX {1,2,3} {}");
    assert_eq!(lab.source_timer(1, 1), Some(GMI - secs(10)));
    assert_eq!(lab.source_timer(1, 2), Some(GMI));
    assert_eq!(lab.source_timer(1, 3), Some(GMI));
    assert_eq!(lab.group_timer(1), Some(GMI - secs(10)));
    assert_eq!(fx.deltas, ["G1 exclude {}"]);
}

// RFC 3376 §6.4.1: EXCLUDE (X,Y) + IS_EX (A) -> EXCLUDE (A-Y, Y*A); (A-X-Y)=GMI; Delete (X-A);
// Delete (Y-A); Group Timer=GMI.
fn exclude_is_ex<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1, 2], &[3, 4]);
    lab.advance(secs(10));
    let fx = lab.record(ModeIsExclude, 1, &[2, 4, 5]);
    assert_eq!(lab.state(1), "EX {2,5} {4}");
    assert_eq!(lab.source_timer(1, 2), Some(GMI - secs(10)));
    assert_eq!(lab.source_timer(1, 5), Some(GMI));
    assert_eq!(lab.group_timer(1), Some(GMI));
    assert_eq!(fx.deltas, ["G1 exclude {4}"]);
    assert!(fx.queries.is_empty());
}

// RFC 3376 §6.4.2: INCLUDE (A) + ALLOW (B) -> INCLUDE (A+B); (B)=GMI.
fn include_allow<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1]);
    lab.advance(secs(10));
    let fx = lab.record(AllowNewSources, 1, &[1, 2]);
    assert_eq!(lab.state(1), "IN {1,2}");
    assert_eq!(lab.source_timer(1, 1), Some(GMI));
    assert_eq!(lab.source_timer(1, 2), Some(GMI));
    assert_eq!(fx.deltas, ["G1 include {1,2}"]);
    assert!(fx.queries.is_empty());
}

// RFC 3376 §6.4.2: INCLUDE (A) + BLOCK (B) -> INCLUDE (A); Send Q(G,A*B).
// §6.6.3.2: the source timers of A*B are lowered to LMQT and LMQC queries go out LMQI apart.
fn include_block<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    let fx = lab.record(BlockOldSources, 1, &[2, 3]);
    assert_eq!(lab.state(1), "IN {1,2}");
    assert_eq!(fx.queries, ["Q(G1,{2})"]);
    assert!(fx.deltas.is_empty());
    assert_eq!(lab.source_timer(1, 2), Some(LMQT));
    assert_eq!(lab.source_timer(1, 1), Some(GMI));
    let fx = lab.advance(secs(1));
    assert_eq!(fx.queries, ["Q(G1,{2})"]);
    let fx = lab.advance(secs(1));
    assert!(fx.queries.is_empty());
    assert_eq!(fx.deltas, ["G1 include {1}"]);
    assert_eq!(lab.state(1), "IN {1}");
}

// RFC 3376 §6.4.2: INCLUDE (A) + TO_EX (B) -> EXCLUDE (A*B, B-A); (B-A)=0; Delete (A-B);
// Send Q(G,A*B); Group Timer=GMI.
fn include_to_ex<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    let fx = lab.record(ChangeToExclude, 1, &[2, 3]);
    assert_eq!(lab.state(1), "EX {2} {3}");
    assert_eq!(fx.queries, ["Q(G1,{2})"]);
    assert_eq!(fx.deltas, ["G1 exclude {3}"]);
    assert_eq!(lab.source_timer(1, 2), Some(LMQT));
    assert_eq!(lab.group_timer(1), Some(GMI));
    // Nobody asks for source 2 again: it moves to the exclude list.
    let fx = lab.advance(LMQT);
    assert_eq!(fx.queries, ["Q(G1,{2})"]);
    assert_eq!(lab.state(1), "EX {} {2,3}");
    assert_eq!(fx.deltas, ["G1 exclude {2,3}"]);
}

// RFC 3376 §6.4.2: INCLUDE (A) + TO_IN (B) -> INCLUDE (A+B); (B)=GMI; Send Q(G,A-B).
fn include_to_in<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    let fx = lab.record(ChangeToInclude, 1, &[2, 3]);
    assert_eq!(lab.state(1), "IN {1,2,3}");
    assert_eq!(fx.queries, ["Q(G1,{1})"]);
    assert_eq!(fx.deltas, ["G1 include {1,2,3}"]);
    assert_eq!(lab.source_timer(1, 1), Some(LMQT));
    assert_eq!(lab.source_timer(1, 3), Some(GMI));
}

// RFC 3376 §6.4.2: EXCLUDE (X,Y) + ALLOW (A) -> EXCLUDE (X+A, Y-A); (A)=GMI.
fn exclude_allow<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1], &[2]);
    let fx = lab.record(AllowNewSources, 1, &[2, 3]);
    assert_eq!(lab.state(1), "EX {1,2,3} {}");
    assert_eq!(lab.source_timer(1, 2), Some(GMI));
    assert_eq!(fx.deltas, ["G1 exclude {}"]);
    assert!(fx.queries.is_empty());
}

// RFC 3376 §6.4.2: EXCLUDE (X,Y) + BLOCK (A) -> EXCLUDE (X+(A-Y), Y); (A-X-Y)=Group Timer;
// Send Q(G,A-Y).
fn exclude_block<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1], &[2]);
    lab.advance(secs(100));
    let fx = lab.record(BlockOldSources, 1, &[1, 2, 3]);
    assert_eq!(lab.state(1), "EX {1,3} {2}");
    assert_eq!(fx.queries, ["Q(G1,{1,3})"]);
    // Source 3 took the group timer (160 s) and was then lowered to LMQT by the query.
    assert_eq!(lab.source_timer(1, 3), Some(LMQT));
    assert_eq!(lab.source_timer(1, 1), Some(LMQT));
    assert_eq!(lab.group_timer(1), Some(GMI - secs(100)));
    assert!(fx.deltas.is_empty());
    let fx = lab.advance(LMQT);
    assert_eq!(lab.state(1), "EX {} {1,2,3}");
    assert_eq!(fx.deltas, ["G1 exclude {1,2,3}"]);
}

// RFC 3376 §6.4.2: EXCLUDE (X,Y) + TO_EX (A) -> EXCLUDE (A-Y, Y*A); (A-X-Y)=Group Timer;
// Delete (X-A); Delete (Y-A); Send Q(G,A-Y); Group Timer=GMI.
fn exclude_to_ex<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1, 2], &[3, 4]);
    lab.advance(secs(100));
    let fx = lab.record(ChangeToExclude, 1, &[2, 4, 5]);
    assert_eq!(lab.state(1), "EX {2,5} {4}");
    assert_eq!(fx.queries, ["Q(G1,{2,5})"]);
    assert_eq!(lab.source_timer(1, 5), Some(LMQT));
    assert_eq!(lab.group_timer(1), Some(GMI));
    assert_eq!(fx.deltas, ["G1 exclude {4}"]);
}

// RFC 3376 §6.4.2: EXCLUDE (X,Y) + TO_IN (A) -> EXCLUDE (X+A, Y-A); (A)=GMI; Send Q(G,X-A);
// Send Q(G). Unanswered, the group timer expires after LMQT (§6.5) and the group falls back to
// INCLUDE with the sources that still have timers.
fn exclude_to_in<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[1, 2], &[3]);
    let fx = lab.record(ChangeToInclude, 1, &[2, 3, 4]);
    assert_eq!(lab.state(1), "EX {1,2,3,4} {}");
    assert_eq!(fx.queries, ["Q(G1,{1})", "Q(G1)"]);
    assert_eq!(fx.deltas, ["G1 exclude {}"]);
    assert_eq!(lab.group_timer(1), Some(LMQT));
    assert_eq!(lab.source_timer(1, 1), Some(LMQT));
    assert_eq!(lab.source_timer(1, 4), Some(GMI));
    let fx = lab.advance(LMQT);
    assert_eq!(fx.queries, ["Q(G1)", "Q(G1,{1})"]);
    assert_eq!(lab.state(1), "IN {2,3,4}");
    assert_eq!(fx.deltas, ["G1 include {2,3,4}"]);
}

// RFC 3376 §6.3: INCLUDE mode, source timer expiry deletes the source; the last one the group.
fn include_source_timer_expiry_deletes_source_then_group<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1]);
    lab.advance(secs(100));
    lab.record(AllowNewSources, 1, &[2]);
    let fx = lab.advance(GMI - secs(100));
    assert_eq!(lab.state(1), "IN {2}");
    assert_eq!(fx.deltas, ["G1 include {2}"]);
    let fx = lab.advance(secs(100));
    assert_eq!(lab.state(1), "none");
    assert_eq!(fx.deltas, ["G1 include {}"]);
}

// RFC 3376 §6.3: EXCLUDE mode, source timer expiry keeps the record with a zero timer (Y).
fn exclude_source_timer_expiry_moves_source_to_y<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[], &[]);
    lab.advance(secs(100));
    lab.record(AllowNewSources, 1, &[1]);
    lab.advance(secs(100));
    // The group timer expires at 260 s, source 1 at 360 s: refresh the group in between.
    lab.record(ModeIsExclude, 1, &[1]);
    assert_eq!(lab.state(1), "EX {1} {}");
    let fx = lab.advance(GMI - secs(100));
    assert_eq!(lab.state(1), "EX {} {1}");
    assert_eq!(fx.deltas, ["G1 exclude {1}"]);
    assert_eq!(lab.group_timer(1), Some(secs(100)));
}

// RFC 3376 §6.5: group timer expiry in EXCLUDE mode: sources with running timers stay, in
// INCLUDE mode; Y is deleted.
fn group_timer_expiry_switches_to_include<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[], &[2]);
    lab.advance(secs(100));
    lab.record(AllowNewSources, 1, &[1]);
    let fx = lab.advance(GMI - secs(100));
    assert_eq!(lab.state(1), "IN {1}");
    assert_eq!(fx.deltas, ["G1 include {1}"]);
    assert_eq!(lab.group_timer(1), None);
    assert_eq!(lab.source_timer(1, 1), Some(secs(100)));
}

// RFC 3376 §6.5: no source with a running timer: the group record is deleted.
fn group_timer_expiry_without_sources_deletes_group<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[], &[2]);
    let fx = lab.advance(GMI - millis(1));
    assert!(fx.deltas.is_empty());
    let fx = lab.advance(millis(1));
    assert_eq!(lab.state(1), "none");
    assert_eq!(fx.deltas, ["G1 include {}"]);
    assert_eq!(lab.view().groups.len(), 0);
}

// RFC 3376 §6.6.3.1: Q(G) now, then LMQC - 1 retransmissions LMQI apart.
fn group_query_retransmissions_follow_last_member_query_count<A: Numbered>() {
    let config = hato_gmp::InterfaceConfig { robustness: 3, ..Default::default() };
    let mut lab = Lab::<A>::with_config(config);
    lab.exclude(1, &[], &[]);
    let fx = lab.record(ChangeToInclude, 1, &[]);
    assert_eq!(fx.queries, ["Q(G1)"]);
    assert_eq!(lab.group_timer(1), Some(secs(3)));
    assert_eq!(lab.advance(secs(1)).queries, ["Q(G1)"]);
    assert_eq!(lab.advance(secs(1)).queries, ["Q(G1)"]);
    let fx = lab.advance(secs(1));
    assert!(fx.queries.is_empty());
    assert_eq!(lab.state(1), "none");
    assert_eq!(fx.deltas, ["G1 include {}"]);
}

// RFC 3376 §6.6.3.1: a retransmitted Q(G) has the S flag when a report raised the group timer.
fn group_query_retransmission_sets_s_flag_after_a_report<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.exclude(1, &[], &[]);
    assert_eq!(lab.record(ChangeToInclude, 1, &[]).queries, ["Q(G1)"]);
    lab.advance(millis(500));
    lab.record(ModeIsExclude, 1, &[]);
    assert_eq!(lab.advance(millis(500)).queries, ["Q(G1) S"]);
    assert_eq!(lab.state(1), "EX {} {}");
    assert_eq!(lab.advance(secs(5)).queries, Vec::<String>::new());
    assert_eq!(lab.state(1), "EX {} {}");
}

// RFC 3376 §6.6.3.2: sources whose timer is above LMQT go in a query with the S flag, the others
// in one without.
fn source_query_split_by_s_flag<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.include(1, &[1, 2]);
    assert_eq!(lab.record(BlockOldSources, 1, &[1, 2]).queries, ["Q(G1,{1,2})"]);
    lab.advance(millis(500));
    lab.record(AllowNewSources, 1, &[1]);
    assert_eq!(lab.advance(millis(500)).queries, ["Q(G1,{1}) S", "Q(G1,{2})"]);
    lab.advance(secs(1));
    assert_eq!(lab.state(1), "IN {1}");
}

/// Makes the lab router a non-querier: node 1 has a lower address.
fn demote<A: Numbered>(lab: &mut Lab<A>) {
    lab.query_from(1, query::<A>(None, &[], false));
    assert_eq!(lab.view().querier_state, hato_gmp::QuerierState::NonQuerier);
}

// RFC 3376 §6.4.2 and §6.6: only the querier sends the table's queries.
fn non_querier_sends_no_specific_queries<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    demote(&mut lab);
    lab.include(1, &[1, 2]);
    let fx = lab.record(BlockOldSources, 1, &[1]);
    assert!(fx.queries.is_empty());
    assert_eq!(lab.source_timer(1, 1), Some(GMI));
    lab.exclude(2, &[], &[]);
    let fx = lab.record(ChangeToInclude, 2, &[]);
    assert!(fx.queries.is_empty());
    assert_eq!(lab.group_timer(2), Some(GMI));
}

// RFC 3376 §6.6.1: a specific query with the S flag clear lowers the named timers to LMQT.
fn non_querier_lowers_timers_on_specific_query<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    demote(&mut lab);
    lab.include(1, &[1, 2]);
    lab.query_from(1, query::<A>(Some(1), &[1, 3], false));
    assert_eq!(lab.source_timer(1, 1), Some(LMQT));
    assert_eq!(lab.source_timer(1, 2), Some(GMI));
    lab.exclude(2, &[], &[]);
    lab.query_from(1, query::<A>(Some(2), &[], false));
    assert_eq!(lab.group_timer(2), Some(LMQT));
    let fx = lab.advance(LMQT);
    assert_eq!(lab.state(1), "IN {2}");
    assert_eq!(lab.state(2), "none");
    assert_eq!(fx.deltas, ["G1 include {2}", "G2 include {}"]);
}

// RFC 3376 §4.1.5, §6.6.1: the S flag suppresses the timer updates.
fn suppressed_query_does_not_lower_timers<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    demote(&mut lab);
    lab.include(1, &[1]);
    lab.query_from(1, query::<A>(Some(1), &[1], true));
    assert_eq!(lab.source_timer(1, 1), Some(GMI));
}

// RFC 3376 §4.2.12: unknown record types are ignored.
fn unknown_record_type_is_ignored<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.record(hato_wire::gmp::RecordType::Unknown(9), 1, &[1]);
    assert_eq!(lab.state(1), "none");
    assert_eq!(fx.dropped(), [hato_gmp::DropReason::UnknownRecordType]);
}
