//! Hosts: group membership as an IGMPv3 / MLDv2 host keeps it (RFC 3376 §5, RFC 3810 §6), the
//! reports that announce it, and the count of what a receiver got.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hato_core::{Duration, Instant};
use hato_gmp::{GmpFamily, GmpMessage};
use hato_wire::gmp::{GroupRecord, RecordType, ReportV3};

/// A host's reception state for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Membership {
    /// EXCLUDE({}): any source (ASM).
    AnySource,
    /// INCLUDE(sources): source-specific (SSM).
    Sources(BTreeSet<IpAddr>),
}

impl Membership {
    pub(crate) fn accepts(&self, source: IpAddr) -> bool {
        match self {
            Membership::AnySource => true,
            Membership::Sources(sources) => sources.contains(&source),
        }
    }

    /// The current-state record a query is answered with (RFC 3376 §5.2).
    pub(crate) fn current_state(&self, group: IpAddr) -> Record {
        match self {
            Membership::AnySource => Record { kind: RecordType::ModeIsExclude, group, sources: Vec::new() },
            Membership::Sources(sources) => {
                Record { kind: RecordType::ModeIsInclude, group, sources: sources.iter().copied().collect() }
            }
        }
    }
}

/// One group record of a report, family-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) kind: RecordType,
    pub(crate) group: IpAddr,
    pub(crate) sources: Vec<IpAddr>,
}

/// The IGMPv3 / MLDv2 report carrying `records` (those of family `A`), from `src` to
/// ALL-V3-ROUTERS, as the IP payload.
pub(crate) fn report_payload<A: GmpFamily>(records: &[Record], src: A::Addr) -> Option<Vec<u8>> {
    let records: Vec<GroupRecord<A>> = records
        .iter()
        .filter_map(|record| {
            Some(GroupRecord {
                record_type: record.kind,
                group: A::from_ip(record.group)?,
                sources: record.sources.iter().filter_map(|s| A::from_ip(*s)).collect(),
                aux_data: Vec::new(),
            })
        })
        .collect();
    if records.is_empty() {
        return None;
    }
    A::to_bytes(&GmpMessage::ReportV3(ReportV3 { records }), src, A::ALL_V3_ROUTERS).ok()
}

/// A query as a host answers it: the group asked about (`None`: a general query) and the
/// longest the answer may wait (RFC 3376 §5.2, RFC 3810 §6.2; IGMPv1: 10 s). `None` for other
/// messages.
pub(crate) fn query<A: GmpFamily>(message: &GmpMessage<A>) -> Option<(Option<IpAddr>, Duration)> {
    let (group, max_resp) = match message {
        GmpMessage::QueryV1 { group } => (*group, Duration::from_secs(10)),
        GmpMessage::QueryV2 { group, max_resp } => (*group, *max_resp),
        GmpMessage::QueryV3(query) => (query.group, query.max_resp()),
        GmpMessage::ReportV1 { .. }
        | GmpMessage::ReportV2 { .. }
        | GmpMessage::Leave { .. }
        | GmpMessage::ReportV3(_) => return None,
    };
    Some(((group != A::UNSPECIFIED).then(|| group.into()), max_resp))
}

/// What a receiver got of one (S,G) stream, by sequence number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reception {
    /// Every copy received, duplicates included.
    pub packets: u64,
    /// Copies of a sequence number already received.
    pub duplicates: u64,
    /// When the first and the latest copy arrived.
    pub first: Option<Instant>,
    pub last: Option<Instant>,
    seen: BTreeSet<u32>,
}

impl Reception {
    pub(crate) fn record(&mut self, seq: u32, now: Instant) {
        self.packets += 1;
        if !self.seen.insert(seq) {
            self.duplicates += 1;
        }
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// Distinct sequence numbers received.
    pub fn unique(&self) -> u64 {
        self.seen.len() as u64
    }

    /// Whether sequence number `seq` arrived.
    pub fn got(&self, seq: u32) -> bool {
        self.seen.contains(&seq)
    }

    /// Distinct sequence numbers received in `range`.
    pub fn unique_in(&self, range: std::ops::Range<u32>) -> u64 {
        self.seen.range(range).count() as u64
    }
}

/// A host's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Host {
    pub(crate) memberships: BTreeMap<IpAddr, Membership>,
    /// By (source, group).
    pub(crate) received: BTreeMap<(IpAddr, IpAddr), Reception>,
}
