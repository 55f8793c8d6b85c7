//! PIM encoded addresses, RFC 7761 §4.9.1: Encoded-Unicast, Encoded-Group and Encoded-Source.
//!
//! Each starts with the IANA address family (1 = IPv4, 2 = IPv6) and the encoding type (0 = native);
//! any other family or encoding type is [`Error::BadAddressFamily`]. Prefix lengths longer than the
//! address are [`Error::Malformed`]. Addresses are kept as sent (bits past the mask are not cleared),
//! so re-encoding is lossless.

use std::fmt;
use std::net::IpAddr;

use hato_core::{Afi, V4, V6};
use serde::Serialize;

use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// The native encoding type, the only one defined for these addresses (RFC 7761 §4.9.1).
const NATIVE_ENCODING: u8 = 0;

/// Reads the family and encoding octets and checks them against `A`.
fn read_family<A: Afi>(r: &mut Reader<'_>) -> Result<()> {
    let family = r.u8()?;
    let encoding = r.u8()?;
    if family != A::IANA_AF || encoding != NATIVE_ENCODING {
        return Err(Error::BadAddressFamily);
    }
    Ok(())
}

fn write_family<A: Afi>(w: &mut Writer<'_>) -> Result<()> {
    w.u8(A::IANA_AF)?;
    w.u8(NATIVE_ENCODING)
}

fn check_mask_len<A: Afi>(mask_len: u8) -> Result<u8> {
    if mask_len > A::MAX_PREFIX_LEN {
        return Err(Error::Malformed);
    }
    Ok(mask_len)
}

/// The fields Encoded-Group and Encoded-Source addresses share (RFC 7761 §4.9.1): family,
/// encoding type, flags, mask length and address. Returns the flags, mask length and address.
fn read_masked<A: Afi>(r: &mut Reader<'_>) -> Result<(u8, u8, A::Addr)> {
    read_family::<A>(r)?;
    let flags = r.u8()?;
    let mask_len = check_mask_len::<A>(r.u8()?)?;
    Ok((flags, mask_len, r.addr::<A>()?))
}

/// Writes the fields [`read_masked`] reads.
fn write_masked<A: Afi>(w: &mut Writer<'_>, flags: u8, mask_len: u8, addr: A::Addr) -> Result<()> {
    write_family::<A>(w)?;
    w.u8(flags)?;
    w.u8(check_mask_len::<A>(mask_len)?)?;
    w.addr::<A>(addr)
}

/// Length of an Encoded-Unicast address of family `A`.
pub const fn unicast_len<A: Afi>() -> usize {
    2 + A::ADDR_LEN
}

/// Length of an Encoded-Group or Encoded-Source address of family `A`.
pub const fn group_len<A: Afi>() -> usize {
    4 + A::ADDR_LEN
}

/// Reads an Encoded-Unicast address of family `A` (RFC 7761 §4.9.1).
pub fn read_unicast<A: Afi>(r: &mut Reader<'_>) -> Result<A::Addr> {
    read_family::<A>(r)?;
    r.addr::<A>()
}

/// Writes an Encoded-Unicast address of family `A` (RFC 7761 §4.9.1).
pub fn write_unicast<A: Afi>(w: &mut Writer<'_>, addr: A::Addr) -> Result<()> {
    write_family::<A>(w)?;
    w.addr::<A>(addr)
}

/// Reads an Encoded-Unicast address of either family (the Hello Address List may mix them).
pub fn read_unicast_any(r: &mut Reader<'_>) -> Result<IpAddr> {
    let family = r.rest().first().copied().ok_or(Error::Truncated)?;
    if family == V4::IANA_AF {
        read_unicast::<V4>(r).map(IpAddr::V4)
    } else if family == V6::IANA_AF {
        read_unicast::<V6>(r).map(IpAddr::V6)
    } else {
        Err(Error::BadAddressFamily)
    }
}

/// Writes an Encoded-Unicast address of either family.
pub fn write_unicast_any(w: &mut Writer<'_>, addr: IpAddr) -> Result<()> {
    match addr {
        IpAddr::V4(a) => write_unicast::<V4>(w, a),
        IpAddr::V6(a) => write_unicast::<V6>(w, a),
    }
}

/// Length of the Encoded-Unicast form of `addr`.
pub fn unicast_any_len(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(_) => unicast_len::<V4>(),
        IpAddr::V6(_) => unicast_len::<V6>(),
    }
}

/// An Encoded-Group address (RFC 7761 §4.9.1): a group or group range with its flag bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct EncodedGroup<A: Afi> {
    /// B: a bidirectional-PIM group range (RFC 5015 §3.7).
    pub bidir: bool,
    /// The six reserved bits between B and Z, kept as received (zero when sent).
    pub reserved: u8,
    /// Z: an administratively scoped zone (RFC 5059 §3.2, "Admin Scope Zone").
    pub admin_scope: bool,
    pub mask_len: u8,
    pub group: A::Addr,
}

impl<A: Afi> EncodedGroup<A> {
    const BIDIR: u8 = 0x80;
    const ADMIN_SCOPE: u8 = 0x01;
    const RESERVED_MASK: u8 = 0x7e;

    /// A single group (full-length mask, no flags), as Join/Prune, Assert and Register-Stop carry.
    pub fn host(group: A::Addr) -> Self {
        EncodedGroup { bidir: false, reserved: 0, admin_scope: false, mask_len: A::MAX_PREFIX_LEN, group }
    }

    /// A group range (no flags), as Bootstrap and C-RP-Advertisement carry.
    pub fn range(group: A::Addr, mask_len: u8) -> Self {
        EncodedGroup { bidir: false, reserved: 0, admin_scope: false, mask_len, group }
    }

    /// The range as a prefix (bits past the mask cleared).
    pub fn prefix(&self) -> Option<A::Prefix> {
        A::prefix(self.group, self.mask_len)
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let (flags, mask_len, group) = read_masked::<A>(r)?;
        Ok(EncodedGroup {
            bidir: flags & Self::BIDIR != 0,
            reserved: (flags & Self::RESERVED_MASK) >> 1,
            admin_scope: flags & Self::ADMIN_SCOPE != 0,
            mask_len,
            group,
        })
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let mut flags = (self.reserved << 1) & Self::RESERVED_MASK;
        if self.bidir {
            flags |= Self::BIDIR;
        }
        if self.admin_scope {
            flags |= Self::ADMIN_SCOPE;
        }
        write_masked::<A>(w, flags, self.mask_len, self.group)
    }
}

impl<A: Afi> fmt::Display for EncodedGroup<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.group)?;
        if self.mask_len != A::MAX_PREFIX_LEN {
            write!(f, "/{}", self.mask_len)?;
        }
        if self.bidir {
            f.write_str(" bidir")?;
        }
        if self.admin_scope {
            f.write_str(" scoped")?;
        }
        Ok(())
    }
}

/// An Encoded-Source address (RFC 7761 §4.9.1) with its S, W and R bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct EncodedSource<A: Afi> {
    /// The five reserved high bits, kept as received (zero when sent).
    pub reserved: u8,
    /// S: the Sparse bit, set to 1 for PIM-SM (RFC 7761 §4.9.1).
    pub sparse: bool,
    /// W: the WildCard bit: the entry is a (*,G) entry.
    pub wildcard: bool,
    /// R: the RPT bit: the entry is on the shared tree ((*,G) or (S,G,rpt)).
    pub rpt: bool,
    pub mask_len: u8,
    pub source: A::Addr,
}

impl<A: Afi> EncodedSource<A> {
    const SPARSE: u8 = 0x04;
    const WILDCARD: u8 = 0x02;
    const RPT: u8 = 0x01;
    const RESERVED_MASK: u8 = 0xf8;

    /// An (S,G) entry: S set, W and R clear (RFC 7761 §4.9.5.1).
    pub fn sg(source: A::Addr) -> Self {
        EncodedSource {
            reserved: 0,
            sparse: true,
            wildcard: false,
            rpt: false,
            mask_len: A::MAX_PREFIX_LEN,
            source,
        }
    }

    /// A (*,G) entry, with the RP as its address: S, W and R set (RFC 7761 §4.9.5.1).
    pub fn star_g(rp: A::Addr) -> Self {
        EncodedSource {
            reserved: 0,
            sparse: true,
            wildcard: true,
            rpt: true,
            mask_len: A::MAX_PREFIX_LEN,
            source: rp,
        }
    }

    /// An (S,G,rpt) entry: S and R set, W clear (RFC 7761 §4.9.5.1).
    pub fn sg_rpt(source: A::Addr) -> Self {
        EncodedSource {
            reserved: 0,
            sparse: true,
            wildcard: false,
            rpt: true,
            mask_len: A::MAX_PREFIX_LEN,
            source,
        }
    }

    pub(crate) fn parse(r: &mut Reader<'_>) -> Result<Self> {
        let (flags, mask_len, source) = read_masked::<A>(r)?;
        Ok(EncodedSource {
            reserved: (flags & Self::RESERVED_MASK) >> 3,
            sparse: flags & Self::SPARSE != 0,
            wildcard: flags & Self::WILDCARD != 0,
            rpt: flags & Self::RPT != 0,
            mask_len,
            source,
        })
    }

    pub(crate) fn emit(&self, w: &mut Writer<'_>) -> Result<()> {
        let mut flags = (self.reserved << 3) & Self::RESERVED_MASK;
        if self.sparse {
            flags |= Self::SPARSE;
        }
        if self.wildcard {
            flags |= Self::WILDCARD;
        }
        if self.rpt {
            flags |= Self::RPT;
        }
        write_masked::<A>(w, flags, self.mask_len, self.source)
    }
}

impl<A: Afi> fmt::Display for EncodedSource<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*(rp {})", self.source)?;
        } else {
            write!(f, "{}", self.source)?;
        }
        if self.mask_len != A::MAX_PREFIX_LEN {
            write!(f, "/{}", self.mask_len)?;
        }
        if self.rpt && !self.wildcard {
            f.write_str(" rpt")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn group_flags_and_families() {
        // B and Z set, reserved bits 0b101010, /24.
        let bytes = [1, 0, 0x80 | 0x54 | 0x01, 24, 239, 1, 2, 0];
        let g = EncodedGroup::<V4>::parse(&mut Reader::new(&bytes)).unwrap();
        assert!(g.bidir && g.admin_scope);
        assert_eq!((g.reserved, g.mask_len, g.group), (0x2a, 24, Ipv4Addr::new(239, 1, 2, 0)));
        let mut out = [0u8; 8];
        g.emit(&mut Writer::new(&mut out)).unwrap();
        assert_eq!(out, bytes);
        // The same octets are the wrong family for IPv6; encoding type 1 is refused; /33 is malformed.
        assert_eq!(EncodedGroup::<V6>::parse(&mut Reader::new(&bytes)), Err(Error::BadAddressFamily));
        let mut other_encoding = bytes;
        other_encoding[1] = 1;
        assert_eq!(
            EncodedGroup::<V4>::parse(&mut Reader::new(&other_encoding)),
            Err(Error::BadAddressFamily)
        );
        let mut long_mask = bytes;
        long_mask[3] = 33;
        assert_eq!(EncodedGroup::<V4>::parse(&mut Reader::new(&long_mask)), Err(Error::Malformed));
    }

    #[test]
    fn source_flags() {
        let rp: Ipv6Addr = "fd00:2::2".parse().unwrap();
        let mut out = [0u8; 20];
        EncodedSource::<V6>::star_g(rp).emit(&mut Writer::new(&mut out)).unwrap();
        assert_eq!(&out[..4], &[2, 0, 0x07, 128]);
        let parsed = EncodedSource::<V6>::parse(&mut Reader::new(&out)).unwrap();
        assert_eq!(parsed, EncodedSource::star_g(rp));
    }

    #[test]
    fn unicast_any_family() {
        let bytes = [2, 0, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 198, 18, 0, 1];
        let mut r = Reader::new(&bytes);
        assert_eq!(read_unicast_any(&mut r), Ok("fe80::1".parse().unwrap()));
        assert_eq!(read_unicast_any(&mut r), Ok("198.18.0.1".parse().unwrap()));
        assert_eq!(read_unicast_any(&mut r), Err(Error::Truncated));
        assert_eq!(read_unicast_any(&mut Reader::new(&[3, 0, 1, 2, 3, 4])), Err(Error::BadAddressFamily));
    }
}
