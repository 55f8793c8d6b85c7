//! The PIM Join/Prune message (RFC 7761 §4.9.5), whose body Graft and Graft-Ack share (RFC 3973
//! §4.7.3), and [`split_join_prune`], which packs group sets into messages of a bounded size
//! (RFC 7761 §4.9.5.2, "Group Set Fragmentation").

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::addr::{group_len, read_unicast, unicast_len, write_unicast, EncodedGroup, EncodedSource};
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// One group set: a group with its joined and pruned sources (RFC 7761 §4.9.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct JoinPruneGroup<A: Afi> {
    pub group: EncodedGroup<A>,
    pub joins: Vec<EncodedSource<A>>,
    pub prunes: Vec<EncodedSource<A>>,
}

impl<A: Afi> JoinPruneGroup<A> {
    /// Octets of this group set on the wire: the group, two counts, and every source.
    pub fn wire_len(&self) -> usize {
        group_len::<A>() + 4 + (self.joins.len() + self.prunes.len()) * group_len::<A>()
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let group = EncodedGroup::parse(r)?;
        let join_count = r.u16()?;
        let prune_count = r.u16()?;
        // Each source needs at least its own octets: refuse counts the message cannot hold before
        // reserving memory for them.
        let needed = (usize::from(join_count) + usize::from(prune_count)) * group_len::<A>();
        if needed > r.remaining() {
            return Err(Error::Truncated);
        }
        let joins = (0..join_count).map(|_| EncodedSource::parse(r)).collect::<Result<_>>()?;
        let prunes = (0..prune_count).map(|_| EncodedSource::parse(r)).collect::<Result<_>>()?;
        Ok(JoinPruneGroup { group, joins, prunes })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let join_count = u16::try_from(self.joins.len()).map_err(|_| Error::BadLength)?;
        let prune_count = u16::try_from(self.prunes.len()).map_err(|_| Error::BadLength)?;
        self.group.emit(w)?;
        w.u16(join_count)?;
        w.u16(prune_count)?;
        self.joins.iter().chain(&self.prunes).try_for_each(|s| s.emit(w))
    }
}

impl<A: Afi> fmt::Display for JoinPruneGroup<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.group)?;
        let lists = [("join", &self.joins), ("prune", &self.prunes)];
        for (name, list) in lists.into_iter().filter(|(_, list)| !list.is_empty()) {
            write!(f, " {name}")?;
            list.iter().try_for_each(|s| write!(f, " {s}"))?;
        }
        Ok(())
    }
}

/// A Join/Prune message body (RFC 7761 §4.9.5); also the body of Graft and Graft-Ack (RFC 3973
/// §4.7.3), where the holdtime is zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct JoinPrune<A: Afi> {
    /// The neighbour the message is addressed to (RPF'), although it is sent to ALL-PIM-ROUTERS.
    pub upstream_neighbor: A::Addr,
    /// Seconds the receiver keeps the join/prune state.
    pub holdtime: u16,
    pub groups: Vec<JoinPruneGroup<A>>,
}

impl<A: Afi> JoinPrune<A> {
    /// Octets of the body before the first group set.
    const FIXED_LEN: usize = unicast_len::<A>() + 4;

    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        let upstream_neighbor = read_unicast::<A>(r)?;
        let _reserved = r.u8()?;
        let group_count = r.u8()?;
        let holdtime = r.u16()?;
        let groups = (0..group_count).map(|_| JoinPruneGroup::parse(r)).collect::<Result<_>>()?;
        Ok(JoinPrune { upstream_neighbor, holdtime, groups })
    }

    pub(crate) fn body_len(&self) -> usize {
        Self::FIXED_LEN + self.groups.iter().map(JoinPruneGroup::wire_len).sum::<usize>()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        let group_count = u8::try_from(self.groups.len()).map_err(|_| Error::BadLength)?;
        write_unicast::<A>(w, self.upstream_neighbor)?;
        w.u8(0)?;
        w.u8(group_count)?;
        w.u16(self.holdtime)?;
        self.groups.iter().try_for_each(|g| g.emit(w))
    }

    /// The body of a one-line summary, after the message name.
    pub(crate) fn fmt_body(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, " to {} holdtime {}s", self.upstream_neighbor, self.holdtime)?;
        for (i, group) in self.groups.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{group}")?;
        }
        Ok(())
    }
}

impl<A: Afi> fmt::Display for JoinPrune<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Join/Prune")?;
        self.fmt_body(f)
    }
}

/// Packs `groups` into Join/Prune messages of at most `max_len` octets each, PIM header included
/// (RFC 7761 §4.9.5.2).
///
/// Group sets are placed in order. A group set that does not fit in the message being filled
/// starts a new one, so a group's sources stay together whenever they fit in one message. A group
/// set too large for any message is fragmented into several group sets for the same group; each
/// fragment repeats the group's (*,G) Join, so that (S,G,rpt) Prunes always travel with it as
/// §4.9.5.2 requires. Returns [`Error::BufferTooSmall`] if `max_len` cannot hold one group set
/// with one source.
pub fn split_join_prune<A: Afi>(
    upstream_neighbor: A::Addr,
    holdtime: u16,
    groups: impl IntoIterator<Item = JoinPruneGroup<A>>,
    max_len: usize,
) -> Result<Vec<JoinPrune<A>>> {
    const PIM_HEADER_LEN: usize = 4;
    let empty_len = PIM_HEADER_LEN + JoinPrune::<A>::FIXED_LEN;
    let set_overhead = group_len::<A>() + 4;
    let source_len = group_len::<A>();
    // Sources that fit beside one group set in an otherwise empty message.
    let capacity = max_len.saturating_sub(empty_len + set_overhead) / source_len;
    if capacity == 0 {
        return Err(Error::BufferTooSmall);
    }
    let capacity = capacity.min(usize::from(u16::MAX));

    let mut messages = Vec::new();
    let mut current = JoinPrune { upstream_neighbor, holdtime, groups: Vec::new() };
    let mut current_len = empty_len;
    let mut place = |set: JoinPruneGroup<A>, messages: &mut Vec<JoinPrune<A>>| {
        let len = set.wire_len();
        if current_len + len > max_len || current.groups.len() == usize::from(u8::MAX) {
            let full = std::mem::replace(
                &mut current,
                JoinPrune { upstream_neighbor, holdtime, groups: Vec::new() },
            );
            if !full.groups.is_empty() {
                messages.push(full);
            }
            current_len = empty_len;
        }
        current_len += len;
        current.groups.push(set);
    };

    for set in groups {
        if set.joins.len() + set.prunes.len() <= capacity {
            place(set, &mut messages);
        } else {
            for fragment in fragment_group_set(set, capacity) {
                place(fragment, &mut messages);
            }
        }
    }
    if !current.groups.is_empty() {
        messages.push(current);
    }
    Ok(messages)
}

/// Splits one group set into fragments of at most `capacity` sources each, repeating the (*,G)
/// Join in every fragment when there is room for it (RFC 7761 §4.9.5.2).
fn fragment_group_set<A: Afi>(set: JoinPruneGroup<A>, capacity: usize) -> Vec<JoinPruneGroup<A>> {
    let (star_joins, source_joins): (Vec<_>, Vec<_>) = set.joins.into_iter().partition(|s| s.wildcard);
    let repeat_star = !star_joins.is_empty() && star_joins.len() < capacity;
    let per_fragment = if repeat_star { capacity - star_joins.len() } else { capacity };
    let base_joins = if repeat_star { star_joins.clone() } else { Vec::new() };

    let once_joins = if repeat_star { Vec::new() } else { star_joins };
    let entries: Vec<(bool, EncodedSource<A>)> = once_joins
        .into_iter()
        .chain(source_joins)
        .map(|s| (true, s))
        .chain(set.prunes.into_iter().map(|s| (false, s)))
        .collect();
    entries
        .chunks(per_fragment)
        .map(|chunk| {
            let mut fragment =
                JoinPruneGroup { group: set.group, joins: base_joins.clone(), prunes: Vec::new() };
            for (is_join, source) in chunk {
                if *is_join {
                    fragment.joins.push(*source);
                } else {
                    fragment.prunes.push(*source);
                }
            }
            fragment
        })
        .collect()
}
