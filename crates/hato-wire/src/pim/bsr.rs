//! The bootstrap-router messages: Bootstrap (RFC 7761 §4.9.7, fields as revised by RFC 5059 §4.1)
//! and Candidate-RP-Advertisement (RFC 7761 §4.9.10, RFC 5059 §4.2).

use std::fmt;

use hato_core::Afi;
use serde::Serialize;

use super::addr::{group_len, read_unicast, unicast_len, write_unicast, EncodedGroup};
use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// One RP of a Bootstrap group range (RFC 5059 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct BootstrapRp<A: Afi> {
    pub address: A::Addr,
    /// Seconds the RP-set entry stays valid.
    pub holdtime: u16,
    /// Lower is preferred.
    pub priority: u8,
}

/// One group range of a Bootstrap message with the RPs this fragment lists for it (RFC 5059 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct BootstrapGroupRange<A: Afi> {
    pub group: EncodedGroup<A>,
    /// RP Count: the number of RPs for this range over all fragments.
    pub rp_count: u8,
    /// The RPs in this fragment; their number is the Frag RP Count.
    pub rps: Vec<BootstrapRp<A>>,
}

impl<A: Afi> BootstrapGroupRange<A> {
    const RP_LEN: usize = unicast_len::<A>() + 4;

    fn wire_len(&self) -> usize {
        group_len::<A>() + 4 + self.rps.len() * Self::RP_LEN
    }

    fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let group = EncodedGroup::parse(r)?;
        let rp_count = r.u8()?;
        let fragment_rp_count = r.u8()?;
        let _reserved = r.u16()?;
        let rps = (0..fragment_rp_count)
            .map(|_| {
                let address = read_unicast::<A>(r)?;
                let holdtime = r.u16()?;
                let priority = r.u8()?;
                let _reserved = r.u8()?;
                Ok(BootstrapRp { address, holdtime, priority })
            })
            .collect::<Result<_>>()?;
        Ok(BootstrapGroupRange { group, rp_count, rps })
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let fragment_rp_count = u8::try_from(self.rps.len()).map_err(|_| Error::BadLength)?;
        self.group.emit(w)?;
        w.u8(self.rp_count)?;
        w.u8(fragment_rp_count)?;
        w.u16(0)?;
        self.rps.iter().try_for_each(|rp| {
            write_unicast::<A>(w, rp.address)?;
            w.u16(rp.holdtime)?;
            w.u8(rp.priority)?;
            w.u8(0)
        })
    }
}

/// A Bootstrap message (RFC 5059 §4.1). An empty list of group ranges is valid: a candidate BSR
/// announces itself that way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct Bootstrap<A: Afi> {
    /// The No-Forward bit of the PIM header's flags (RFC 5059 §4.1): not to be forwarded.
    pub no_forward: bool,
    pub fragment_tag: u16,
    pub hash_mask_len: u8,
    /// Higher is preferred.
    pub bsr_priority: u8,
    pub bsr_address: A::Addr,
    pub group_ranges: Vec<BootstrapGroupRange<A>>,
}

impl<A: Afi> Bootstrap<A> {
    /// The No-Forward bit in the header's flags octet (RFC 5059 §4.1).
    pub(crate) const NO_FORWARD_FLAG: u8 = 0x80;

    pub(crate) fn parse_body(flags: u8, r: &mut Reader<'_>) -> Result<Self> {
        let fragment_tag = r.u16()?;
        let hash_mask_len = r.u8()?;
        if hash_mask_len > A::MAX_PREFIX_LEN {
            return Err(Error::Malformed);
        }
        let bsr_priority = r.u8()?;
        let bsr_address = read_unicast::<A>(r)?;
        let mut group_ranges = Vec::new();
        while !r.is_empty() {
            group_ranges.push(BootstrapGroupRange::parse(r)?);
        }
        Ok(Bootstrap {
            no_forward: flags & Self::NO_FORWARD_FLAG != 0,
            fragment_tag,
            hash_mask_len,
            bsr_priority,
            bsr_address,
            group_ranges,
        })
    }

    pub(crate) fn header_flags(&self) -> u8 {
        if self.no_forward {
            Self::NO_FORWARD_FLAG
        } else {
            0
        }
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + unicast_len::<A>() + self.group_ranges.iter().map(BootstrapGroupRange::wire_len).sum::<usize>()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        if self.hash_mask_len > A::MAX_PREFIX_LEN {
            return Err(Error::Malformed);
        }
        w.u16(self.fragment_tag)?;
        w.u8(self.hash_mask_len)?;
        w.u8(self.bsr_priority)?;
        write_unicast::<A>(w, self.bsr_address)?;
        self.group_ranges.iter().try_for_each(|g| g.emit(w))
    }
}

impl<A: Afi> fmt::Display for Bootstrap<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Bootstrap bsr {} priority {} hash-mask {} tag 0x{:04x}",
            self.bsr_address, self.bsr_priority, self.hash_mask_len, self.fragment_tag
        )?;
        if self.no_forward {
            f.write_str(" no-forward")?;
        }
        for range in &self.group_ranges {
            write!(f, "; {} ({} rps)", range.group, range.rp_count)?;
            for rp in &range.rps {
                write!(f, " {} holdtime {}s priority {}", rp.address, rp.holdtime, rp.priority)?;
            }
        }
        Ok(())
    }
}

/// A Candidate-RP-Advertisement (RFC 7761 §4.9.10), unicast to the BSR. No group ranges means the
/// whole multicast range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct CandidateRpAdvertisement<A: Afi> {
    /// Lower is preferred.
    pub priority: u8,
    /// Seconds the BSR keeps this candidate.
    pub holdtime: u16,
    pub rp_address: A::Addr,
    /// The group ranges; their number is the Prefix Count.
    pub groups: Vec<EncodedGroup<A>>,
}

impl<A: Afi> CandidateRpAdvertisement<A> {
    pub(crate) fn parse_body(r: &mut Reader<'_>) -> Result<Self> {
        let prefix_count = r.u8()?;
        let priority = r.u8()?;
        let holdtime = r.u16()?;
        let rp_address = read_unicast::<A>(r)?;
        let groups = (0..prefix_count).map(|_| EncodedGroup::parse(r)).collect::<Result<_>>()?;
        Ok(CandidateRpAdvertisement { priority, holdtime, rp_address, groups })
    }

    pub(crate) fn body_len(&self) -> usize {
        4 + unicast_len::<A>() + self.groups.len() * group_len::<A>()
    }

    pub(crate) fn emit_body(&self, w: &mut Writer<'_>) -> Result<()> {
        let prefix_count = u8::try_from(self.groups.len()).map_err(|_| Error::BadLength)?;
        w.u8(prefix_count)?;
        w.u8(self.priority)?;
        w.u16(self.holdtime)?;
        write_unicast::<A>(w, self.rp_address)?;
        self.groups.iter().try_for_each(|g| g.emit(w))
    }
}

impl<A: Afi> fmt::Display for CandidateRpAdvertisement<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "C-RP-Advertisement rp {} priority {} holdtime {}s",
            self.rp_address, self.priority, self.holdtime
        )?;
        if self.groups.is_empty() {
            f.write_str(" all groups")?;
        }
        self.groups.iter().try_for_each(|g| write!(f, " {g}"))
    }
}
