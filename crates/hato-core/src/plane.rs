//! The forwarding plane: the southbound interface through which the router programs a multicast
//! forwarding cache (MFC) and learns about traffic that missed it.
//!
//! It mirrors the BSD / Linux multicast routing API (RFC 7761 §4.1 describes the state a PIM router
//! keeps; the kernel only sees its result): virtual interfaces (VIFs, MIFs for IPv6) numbered by the
//! router, entries keyed by (S,G) with one incoming VIF and a set of outgoing VIFs, packet counters,
//! and upcalls raised when a packet has no entry (NoCache), arrives on a VIF other than the entry's
//! incoming one (WrongVif), or must be handed up whole (for PIM Register encapsulation).
//!
//! Implementations: the Linux kernel (`hato-kernel`'s `KernelPlane`) and simulators. Every method
//! is cheap so that a simulator can implement it with a map. A plane may apply entry changes
//! ([`ForwardingPlane::set_mfc`], [`ForwardingPlane::del_mfc`]) later, in order, and report their
//! failures afterwards ([`ForwardingPlane::take_failures`]); every other operation sees them applied.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::vec_map::VecMap;
use crate::{Afi, IfIndex, SgKey, VifId};

/// What a virtual interface stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VifKind {
    /// A real interface, by kernel interface index.
    Interface(IfIndex),
    /// The PIM register VIF (`pimreg` / `pim6reg`): packets forwarded to it are handed up whole
    /// for Register encapsulation (RFC 7761 §4.4.1). At most one per table.
    Register,
}

/// A virtual interface to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Vif {
    pub id: VifId,
    pub kind: VifKind,
    /// Packets whose TTL / hop limit is not above this value are not forwarded out of the VIF
    /// (IPv4 only; IPv6 MIFs ignore it). 1 is the usual value.
    pub ttl_threshold: u8,
}

/// One forwarding entry: packets of `key` arriving on `iif` are copied to every VIF of `oifs`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct MfcEntry<A: Afi> {
    /// (S,G), or (*,G) with an unspecified source in the kernel's encoding.
    pub key: SgKey<A>,
    /// The incoming VIF (the RPF interface towards the source or the RP).
    pub iif: VifId,
    /// Outgoing VIFs, each with its TTL threshold (IPv4: forward when the packet's TTL exceeds it,
    /// 1 is the usual value; IPv6 ignores the value). For (S,G) the incoming VIF is never listed.
    /// For (*,G) it must be: the kernel matches a (*,G) entry only for packets arriving on one of
    /// its outgoing VIFs, and never sends a packet back out of the VIF it arrived on.
    pub oifs: MfcOifs,
}

/// An entry's outgoing VIFs with their TTL thresholds, in VIF order, inline up to four.
pub type MfcOifs = VecMap<VifId, u8, 4>;

impl<A: Afi> fmt::Display for MfcEntry<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} iif {} oifs [", self.key, self.iif)?;
        for (i, (vif, ttl)) in self.oifs.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{vif}:{ttl}")?;
        }
        f.write_str("]")
    }
}

/// Counters of one installed entry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct MfcCounters {
    /// Packets forwarded by the entry.
    pub packets: u64,
    /// Octets forwarded by the entry.
    pub bytes: u64,
    /// Packets of the entry that arrived on a VIF other than its incoming one.
    pub wrong_if: u64,
}

/// A message from the forwarding plane about a data packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case", bound(serialize = ""))]
pub enum Upcall<A: Afi> {
    /// No entry matches the packet, which arrived on `vif`; the plane queues a few such packets
    /// briefly while the router installs one.
    NoCache { vif: VifId, source: A::Addr, group: A::Addr },
    /// The packet matched an entry but arrived on `vif`, not the entry's incoming VIF: an Assert
    /// trigger on a LAN (RFC 7761 §4.6) or an SPT switch signal.
    WrongVif { vif: VifId, source: A::Addr, group: A::Addr },
    /// A packet forwarded to the register VIF `vif`, whole (starting with its IP header), to be
    /// sent in a PIM Register (RFC 7761 §4.4.1).
    WholePacket { vif: VifId, source: A::Addr, group: A::Addr, packet: Vec<u8> },
    /// A packet that arrived on the wrong VIF `vif`, whole: carries both the Assert trigger and
    /// the data (used by PIM-DM and by Register-on-wrong-interface logic).
    WrongVifWholePacket { vif: VifId, source: A::Addr, group: A::Addr, packet: Vec<u8> },
}

impl<A: Afi> Upcall<A> {
    /// The VIF the upcall is about.
    pub fn vif(&self) -> VifId {
        match self {
            Upcall::NoCache { vif, .. }
            | Upcall::WrongVif { vif, .. }
            | Upcall::WholePacket { vif, .. }
            | Upcall::WrongVifWholePacket { vif, .. } => *vif,
        }
    }

    /// The (S,G) of the packet.
    pub fn key(&self) -> SgKey<A> {
        match self {
            Upcall::NoCache { source, group, .. }
            | Upcall::WrongVif { source, group, .. }
            | Upcall::WholePacket { source, group, .. }
            | Upcall::WrongVifWholePacket { source, group, .. } => SgKey::sg(*source, *group),
        }
    }

    /// The whole packet, for the whole-packet kinds.
    pub fn packet(&self) -> Option<&[u8]> {
        match self {
            Upcall::NoCache { .. } | Upcall::WrongVif { .. } => None,
            Upcall::WholePacket { packet, .. } | Upcall::WrongVifWholePacket { packet, .. } => Some(packet),
        }
    }
}

impl<A: Afi> fmt::Display for Upcall<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Upcall::NoCache { .. } => "nocache",
            Upcall::WrongVif { .. } => "wrongvif",
            Upcall::WholePacket { .. } => "wholepkt",
            Upcall::WrongVifWholePacket { .. } => "wrvifwhole",
        };
        write!(f, "upcall {kind} {} on {}", self.key(), self.vif())?;
        if let Some(packet) = self.packet() {
            write!(f, " ({} octets)", packet.len())?;
        }
        Ok(())
    }
}

/// Which entry change failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MfcChange {
    /// An install or replacement ([`ForwardingPlane::set_mfc`]).
    Set,
    /// A removal ([`ForwardingPlane::del_mfc`]).
    Delete,
}

/// An entry change that the plane accepted, then failed to apply.
#[derive(Debug)]
pub struct LateFailure<A: Afi, E> {
    pub key: SgKey<A>,
    pub change: MfcChange,
    pub error: E,
}

/// A multicast forwarding plane for family `A`: one kernel table, or a simulated one.
///
/// The router numbers VIFs itself (0 .. [`VifId::MAX`], the register VIF included) and keeps the
/// desired entries; the plane only applies changes. Every call costs about a system call or
/// less, so the router may reconcile thousands of entries per turn of its loop, and bound the
/// work per turn by chunking.
///
/// Entry changes may be deferred: `set_mfc` and `del_mfc` then only check and queue the change,
/// [`ForwardingPlane::submit`] hands the queue to whatever applies it, and a change that fails
/// later comes back from [`ForwardingPlane::take_failures`]. Changes are applied in call order,
/// and every other operation first waits until all queued changes are applied. A synchronous
/// plane applies each change in its call and keeps the default `submit` and `take_failures`.
pub trait ForwardingPlane<A: Afi> {
    /// Why an operation failed.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Creates a VIF.
    fn add_vif(&mut self, vif: &Vif) -> Result<(), Self::Error>;

    /// Deletes a VIF; entries that used it stop forwarding through it.
    fn del_vif(&mut self, id: VifId) -> Result<(), Self::Error>;

    /// Installs an entry, replacing any entry with the same key.
    fn set_mfc(&mut self, entry: &MfcEntry<A>) -> Result<(), Self::Error>;

    /// Removes the entry with `key`.
    fn del_mfc(&mut self, key: SgKey<A>) -> Result<(), Self::Error>;

    /// Removes every entry and every VIF.
    fn flush(&mut self) -> Result<(), Self::Error>;

    /// Counters of every installed entry, read in one pass.
    fn counters(&mut self) -> Result<BTreeMap<SgKey<A>, MfcCounters>, Self::Error>;

    /// Counters of one installed entry; `None` when it is not installed.
    fn entry_counters(&mut self, key: SgKey<A>) -> Result<Option<MfcCounters>, Self::Error>;

    /// Starts applying the entry changes queued so far (a plane also starts on its own once
    /// enough are queued). Callers submit at the end of each batch of changes.
    fn submit(&mut self) {}

    /// The deferred entry changes that failed, each the last change of its key (a failure that a
    /// later change of the same key superseded is dropped), in the order they were made. A
    /// change that is still being applied reports at a later call.
    fn take_failures(&mut self) -> Vec<LateFailure<A, Self::Error>> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::V4;

    #[test]
    fn display_and_accessors() {
        let s = "198.18.0.1".parse().unwrap();
        let g = "239.1.2.3".parse().unwrap();
        let up = Upcall::<V4>::WholePacket { vif: VifId(3), source: s, group: g, packet: vec![0; 28] };
        assert_eq!(up.to_string(), "upcall wholepkt (198.18.0.1, 239.1.2.3) on vif3 (28 octets)");
        assert_eq!(up.packet().map(<[u8]>::len), Some(28));
        let entry = MfcEntry::<V4> {
            key: SgKey::sg(s, g),
            iif: VifId(0),
            oifs: [(VifId(1), 1), (VifId(2), 1)].into_iter().collect(),
        };
        assert_eq!(entry.to_string(), "(198.18.0.1, 239.1.2.3) iif vif0 oifs [vif1:1 vif2:1]");
    }
}
