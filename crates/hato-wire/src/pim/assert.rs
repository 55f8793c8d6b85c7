//! The PIM Assert message (RFC 7761 §4.9.6; the same format in PIM-DM, RFC 3973 §4.7.6) and the
//! PIM-DM State Refresh message (RFC 3973 §4.7.1), which carries the same route metrics.

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::addr::{group_len, read_unicast, unicast_len, write_unicast, EncodedGroup};
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// The R bit above a 31-bit metric preference.
const RPT_BIT: u32 = 0x8000_0000;
/// The largest metric preference (31 bits).
pub const MAX_METRIC_PREFERENCE: u32 = 0x7fff_ffff;

fn read_preference(r: &mut Reader<'_>) -> Result<(bool, u32)> {
    let word = r.u32()?;
    Ok((word & RPT_BIT != 0, word & MAX_METRIC_PREFERENCE))
}

fn write_preference(w: &mut Writer<'_>, rpt: bool, preference: u32) -> Result<()> {
    if preference > MAX_METRIC_PREFERENCE {
        return Err(Error::Malformed);
    }
    w.u32(if rpt { RPT_BIT | preference } else { preference })
}

/// An Assert message (RFC 7761 §4.9.6). An AssertCancel is an Assert with the R bit, the largest
/// preference and the largest metric (RFC 7761 §4.6.1, `infinite_assert_metric`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Assert<A: Afi> {
    pub group: EncodedGroup<A>,
    /// The source, or the unspecified address for a (*,G) Assert.
    pub source: A::Addr,
    /// R: the metric is that of the path to the RP (a (*,G) Assert).
    pub rpt: bool,
    /// The administrative distance of the unicast route (31 bits).
    pub metric_preference: u32,
    pub metric: u32,
}

impl<A: Afi> Assert<A> {
    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        let group = EncodedGroup::parse(r)?;
        let source = read_unicast::<A>(r)?;
        let (rpt, metric_preference) = read_preference(r)?;
        let metric = r.u32()?;
        Ok(Assert { group, source, rpt, metric_preference, metric })
    }

    pub(crate) fn body_len(&self) -> usize {
        group_len::<A>() + unicast_len::<A>() + 8
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        self.group.emit(w)?;
        write_unicast::<A>(w, self.source)?;
        write_preference(w, self.rpt, self.metric_preference)?;
        w.u32(self.metric)
    }

    /// Whether this is an AssertCancel (RFC 7761 §4.6.1): the infinite assert metric.
    pub fn is_cancel(&self) -> bool {
        self.rpt && self.metric_preference == MAX_METRIC_PREFERENCE && self.metric == u32::MAX
    }
}

impl<A: Afi> fmt::Display for Assert<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Assert ({}, {}) preference {} metric {}",
            self.source, self.group, self.metric_preference, self.metric
        )?;
        if self.rpt {
            f.write_str(" rpt")?;
        }
        if self.is_cancel() {
            f.write_str(" (cancel)")?;
        }
        Ok(())
    }
}

/// A State Refresh message (RFC 3973 §4.7.1), flooded down a PIM-DM source tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct StateRefresh<A: Afi> {
    pub group: EncodedGroup<A>,
    pub source: A::Addr,
    /// The first-hop router that originated the refresh.
    pub originator: A::Addr,
    /// R: the RPT bit (always clear in PIM-DM, kept as received).
    pub rpt: bool,
    /// The originator's metric preference towards the source (31 bits).
    pub metric_preference: u32,
    pub metric: u32,
    /// The source's subnet mask length.
    pub mask_len: u8,
    /// Hops the message may still travel.
    pub ttl: u8,
    /// P: the sender's interface is pruned.
    pub prune_indicator: bool,
    /// N: the receiver should prune now.
    pub prune_now: bool,
    /// O: assert override.
    pub assert_override: bool,
    /// The five reserved bits after P, N and O, kept as received.
    pub reserved: u8,
    /// The refresh interval in seconds.
    pub interval: u8,
}

impl<A: Afi> StateRefresh<A> {
    const PRUNE_INDICATOR: u8 = 0x80;
    const PRUNE_NOW: u8 = 0x40;
    const ASSERT_OVERRIDE: u8 = 0x20;
    const RESERVED_MASK: u8 = 0x1f;

    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        let group = EncodedGroup::parse(r)?;
        let source = read_unicast::<A>(r)?;
        let originator = read_unicast::<A>(r)?;
        let (rpt, metric_preference) = read_preference(r)?;
        let metric = r.u32()?;
        let mask_len = r.u8()?;
        let ttl = r.u8()?;
        let flags = r.u8()?;
        let interval = r.u8()?;
        Ok(StateRefresh {
            group,
            source,
            originator,
            rpt,
            metric_preference,
            metric,
            mask_len,
            ttl,
            prune_indicator: flags & Self::PRUNE_INDICATOR != 0,
            prune_now: flags & Self::PRUNE_NOW != 0,
            assert_override: flags & Self::ASSERT_OVERRIDE != 0,
            reserved: flags & Self::RESERVED_MASK,
            interval,
        })
    }

    pub(crate) fn body_len(&self) -> usize {
        group_len::<A>() + 2 * unicast_len::<A>() + 12
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        self.group.emit(w)?;
        write_unicast::<A>(w, self.source)?;
        write_unicast::<A>(w, self.originator)?;
        write_preference(w, self.rpt, self.metric_preference)?;
        w.u32(self.metric)?;
        w.u8(self.mask_len)?;
        w.u8(self.ttl)?;
        let mut flags = self.reserved & Self::RESERVED_MASK;
        for (set, bit) in [
            (self.prune_indicator, Self::PRUNE_INDICATOR),
            (self.prune_now, Self::PRUNE_NOW),
            (self.assert_override, Self::ASSERT_OVERRIDE),
        ] {
            if set {
                flags |= bit;
            }
        }
        w.u8(flags)?;
        w.u8(self.interval)
    }
}

impl<A: Afi> fmt::Display for StateRefresh<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "State-Refresh ({}, {}) originator {} preference {} metric {} ttl {} interval {}s",
            self.source,
            self.group,
            self.originator,
            self.metric_preference,
            self.metric,
            self.ttl,
            self.interval
        )?;
        for (set, name) in
            [(self.prune_indicator, " P"), (self.prune_now, " N"), (self.assert_override, " O")]
        {
            if set {
                f.write_str(name)?;
            }
        }
        Ok(())
    }
}
