//! Older-version compatibility: older hosts on a version 3 LAN (RFC 3376 §7.3.2, RFC 3810
//! §8.3.2) and routers configured for an older version (RFC 3376 §7.3.1, RFC 3810 §8.3.1).

mod lab;

use hato_core::V4;
use hato_gmp::{DropReason, GmpMessage, InterfaceConfig, LogEvent, Version};
use hato_wire::gmp::RecordType::*;
use lab::{query, secs, Lab, Numbered};

both_families!(
    older_report_sets_compatibility_mode_and_timer,
    compatibility_returns_to_v3_when_timer_expires,
    block_ignored_in_v2_compatibility,
    to_ex_sources_ignored_in_v2_compatibility,
    leave_in_v2_compatibility_is_to_in_empty,
    leave_at_non_querier_waits_for_querier,
    leave_for_unknown_group_changes_nothing,
    v2_router_queries_in_v2,
    v2_router_drops_v3_reports,
    older_hosts_refused_when_not_accepted,
);

fn v2<A: Numbered>(g: u8) -> GmpMessage<A> {
    GmpMessage::ReportV2 { group: A::group(g) }
}

fn leave<A: Numbered>(g: u8) -> GmpMessage<A> {
    GmpMessage::Leave { group: A::group(g) }
}

// RFC 3376 §7.3.2: an IGMPv2 report (RFC 3810 §8.3.2: an MLDv1 report) sets the older host
// present timer and is processed as IS_EX({}).
fn older_report_sets_compatibility_mode_and_timer<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.rx(100, v2(1));
    assert_eq!(lab.state(1), "EX {} {}");
    assert_eq!(fx.deltas, ["G1 exclude {}"]);
    assert_eq!(lab.compatibility(1), Some(A::version_name(Version::V2)));
    let group = lab.view().groups.remove(0);
    assert_eq!(group.compatibility_timer_ms, Some(260_000));
    assert_eq!(group.group_timer_ms, Some(260_000));
}

fn compatibility_returns_to_v3_when_timer_expires<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.rx(100, v2(1));
    lab.advance(secs(100));
    lab.record(ModeIsExclude, 1, &[]);
    let fx = lab.advance(secs(160));
    assert!(fx.logs.contains(&LogEvent::CompatibilityChanged {
        ifindex: lab::IF,
        group: A::group(1),
        version: Version::V3
    }));
    assert_eq!(lab.compatibility(1), Some(A::version_name(Version::V3)));
    // Back in version 3, BLOCK is honoured again.
    lab.record(AllowNewSources, 1, &[1]);
    assert_eq!(lab.record(BlockOldSources, 1, &[1]).queries, ["Q(G1,{1})"]);
}

// RFC 3376 §7.3.2: "IGMPv3 BLOCK messages are ignored".
fn block_ignored_in_v2_compatibility<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.rx(100, v2(1));
    lab.record(AllowNewSources, 1, &[1]);
    let fx = lab.record(BlockOldSources, 1, &[1]);
    assert!(fx.queries.is_empty() && fx.deltas.is_empty());
    assert_eq!(lab.source_timer(1, 1), Some(secs(260)));
}

// RFC 3376 §7.3.2: "any TO_EX() message is treated as TO_EX( {} )".
fn to_ex_sources_ignored_in_v2_compatibility<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.rx(100, v2(1));
    let fx = lab.record(ChangeToExclude, 1, &[1, 2]);
    assert_eq!(lab.state(1), "EX {} {}");
    assert!(fx.deltas.is_empty());
}

// RFC 3376 §7.3.2: an IGMPv2 Leave (RFC 3810 §8.3.2: an MLDv1 Done) is TO_IN({}): the querier
// sends group-specific queries and the group times out after LMQT.
fn leave_in_v2_compatibility_is_to_in_empty<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.rx(100, v2(1));
    let fx = lab.rx(100, leave(1));
    assert_eq!(fx.queries, ["Q(G1)"]);
    assert_eq!(fx.sent[0].0, A::group(1), "sent to the group");
    assert_eq!(lab.group_timer(1), Some(secs(2)));
    assert_eq!(lab.advance(secs(1)).queries, ["Q(G1)"]);
    let fx = lab.advance(secs(1));
    assert_eq!(lab.state(1), "none");
    assert_eq!(fx.deltas, ["G1 include {}"]);
}

fn leave_at_non_querier_waits_for_querier<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    lab.query_from(1, query::<A>(None, &[], false));
    lab.rx(100, v2(1));
    let fx = lab.rx(100, leave(1));
    assert!(fx.queries.is_empty());
    assert_eq!(lab.group_timer(1), Some(secs(260)));
    // The querier's group-specific query lowers the group timer (RFC 3376 §6.6.1).
    lab.rx(1, GmpMessage::QueryV2 { max_resp: secs(1), group: A::group(1) });
    assert_eq!(lab.group_timer(1), Some(secs(2)));
    lab.advance(secs(2));
    assert_eq!(lab.state(1), "none");
}

fn leave_for_unknown_group_changes_nothing<A: Numbered>() {
    let mut lab = Lab::<A>::new();
    let fx = lab.rx(100, leave(1));
    assert!(fx.queries.is_empty() && fx.deltas.is_empty() && fx.dropped().is_empty());
}

// RFC 3376 §7.3.1: a router configured for IGMPv2 (RFC 3810 §8.3.1: MLDv1) queries in that
// version and processes leaves with version 2 group-specific queries.
fn v2_router_queries_in_v2<A: Numbered>() {
    let config = InterfaceConfig { version: Version::V2, ..Default::default() };
    let mut lab = Lab::<A>::with_config(config);
    let fx = lab.advance(lab::millis(31_250));
    assert_eq!(fx.queries, ["v2 general"]);
    assert_eq!(fx.sent[0].1, GmpMessage::QueryV2 { max_resp: secs(10), group: A::UNSPECIFIED });
    lab.rx(100, v2(1));
    assert_eq!(lab.compatibility(1), Some(A::version_name(Version::V2)));
    let fx = lab.rx(100, leave(1));
    assert_eq!(fx.queries, ["v2 Q(G1)"]);
    assert_eq!(fx.sent[0].1, GmpMessage::QueryV2 { max_resp: secs(1), group: A::group(1) });
    assert_eq!(lab.advance(secs(1)).queries, ["v2 Q(G1)"]);
    lab.advance(secs(1));
    assert_eq!(lab.state(1), "none");
}

fn v2_router_drops_v3_reports<A: Numbered>() {
    let config = InterfaceConfig { version: Version::V2, ..Default::default() };
    let mut lab = Lab::<A>::with_config(config);
    let fx = lab.record(ModeIsExclude, 1, &[]);
    assert_eq!(fx.dropped(), [DropReason::VersionNotPossible]);
    assert_eq!(lab.state(1), "none");
}

// pim6sd's `mld_version 2`: only version 3 (MLDv2) hosts are served.
fn older_hosts_refused_when_not_accepted<A: Numbered>() {
    let config = InterfaceConfig { accept_older_versions: false, ..Default::default() };
    let mut lab = Lab::<A>::with_config(config);
    assert_eq!(lab.rx(100, v2(1)).dropped(), [DropReason::VersionNotPossible]);
    assert_eq!(lab.rx(100, leave(1)).dropped(), [DropReason::VersionNotPossible]);
    assert_eq!(lab.view().possible_versions, [A::version_name(Version::V3)]);
}

fn v1(g: u8) -> GmpMessage<V4> {
    GmpMessage::ReportV1 { group: V4::group(g) }
}

// RFC 3376 §7.3.2: IGMPv1 compatibility: reports are IS_EX({}); leaves, TO_IN and BLOCK are
// ignored; TO_EX loses its sources.
#[test]
fn igmpv1_hosts_present() {
    let mut lab = Lab::<V4>::new();
    lab.rx(100, v1(1));
    assert_eq!(lab.compatibility(1), Some("IGMPv1"));
    assert_eq!(lab.state(1), "EX {} {}");
    assert_eq!(lab.rx(100, leave(1)).dropped(), [DropReason::LeaveInV1Mode]);
    assert!(lab.record(ChangeToInclude, 1, &[]).queries.is_empty());
    lab.record(AllowNewSources, 1, &[1]);
    assert!(lab.record(BlockOldSources, 1, &[1]).queries.is_empty());
    // TO_EX({2}) is TO_EX({}): X - {} is deleted and source 2 is not excluded.
    lab.record(ChangeToExclude, 1, &[2]);
    assert_eq!(lab.state(1), "EX {} {}");
    assert_eq!(lab.group_timer(1), Some(secs(260)));
}

// The lowest version whose host present timer runs sets the mode.
#[test]
fn igmpv1_takes_precedence_over_igmpv2() {
    let mut lab = Lab::<V4>::new();
    lab.rx(100, v2(1));
    lab.advance(secs(100));
    lab.rx(101, v1(1));
    assert_eq!(lab.compatibility(1), Some("IGMPv1"));
    lab.advance(secs(200));
    lab.rx(100, v2(1));
    assert_eq!(lab.compatibility(1), Some("IGMPv1"));
    lab.advance(secs(60));
    assert_eq!(lab.compatibility(1), Some("IGMPv2"));
    assert_eq!(lab.state(1), "EX {} {}");
}

// RFC 3376 §7.3.1, RFC 2236 §4: an IGMPv1 router sends v1 queries, has no group-specific
// queries and ignores leaves; it serves only IGMPv1 hosts.
#[test]
fn igmpv1_router() {
    let config = InterfaceConfig { version: Version::V1, ..Default::default() };
    let mut lab = Lab::<V4>::with_config(config);
    assert_eq!(lab.advance(lab::millis(31_250)).queries, ["v1 general"]);
    lab.rx(100, v1(1));
    assert_eq!(lab.compatibility(1), Some("IGMPv1"));
    assert_eq!(lab.rx(100, leave(1)).dropped(), [DropReason::VersionNotPossible]);
    assert_eq!(lab.rx(100, v2(1)).dropped(), [DropReason::VersionNotPossible]);
    assert_eq!(lab.view().possible_versions, ["IGMPv1"]);
}

// An IGMPv2 router serves IGMPv1 hosts too (RFC 2236 §5): leaves are then ignored.
#[test]
fn igmpv2_router_with_igmpv1_host() {
    let config = InterfaceConfig { version: Version::V2, ..Default::default() };
    let mut lab = Lab::<V4>::with_config(config);
    lab.rx(100, v1(1));
    assert_eq!(lab.compatibility(1), Some("IGMPv1"));
    assert_eq!(lab.rx(100, leave(1)).dropped(), [DropReason::LeaveInV1Mode]);
    assert_eq!(lab.state(1), "EX {} {}");
}
