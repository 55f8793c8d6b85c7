//! Embedded-RP (RFC 3956): IPv6 groups that carry their RP's address.
//!
//! The group format (RFC 3956 §2, on RFC 3306's unicast-prefix-based addresses):
//!
//! ```text
//! |   8    |  4 |  4 |  4 |  4 |    8   |       64       |    32    |
//! |11111111|flgs|scop|rsvd|RIID|  plen  | network prefix | group ID |
//! ```
//!
//! `flgs` is `0RPT`; R = 1 marks an embedded-RP group and then P and T must be 1 as well, so the
//! embedded-RP groups are `ff70::/12` (RFC 3956 §2). The RP address is the first `plen` bits of
//! the network prefix, zeros, and the 4-bit RIID as the last bits (RFC 3956 §3). `plen` must be
//! 1..=64 (§2); a group that breaks a rule is not an embedded-RP group and gets no RP from it.
//! The reserved bits are ignored, as §2 asks of receivers.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use hato_core::Afi;
use serde::Serialize;

/// Why a group with the R flag set does not name a usable RP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "error")]
pub enum EmbeddedRpError {
    /// R is set but P or T is not, or the high flag bit is set (RFC 3956 §2: `flgs` = `0111`).
    BadFlags { flags: u8 },
    /// `plen` is 0 or longer than 64 (RFC 3956 §2).
    BadPrefixLength { plen: u8 },
    /// Interface- or link-local scope: such groups are never routed, so they have no RP.
    LinkScope { scope: u8 },
    /// The derived address is not a unicast address (RFC 3956 §3).
    NotUnicast,
}

impl fmt::Display for EmbeddedRpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmbeddedRpError::BadFlags { flags } => write!(f, "flags 0x{flags:x} are not 0RPT = 0111"),
            EmbeddedRpError::BadPrefixLength { plen } => write!(f, "plen {plen} is not 1..=64"),
            EmbeddedRpError::LinkScope { scope } => write!(f, "scope {scope} is not routed"),
            EmbeddedRpError::NotUnicast => f.write_str("the embedded RP address is not unicast"),
        }
    }
}

/// The RP an embedded-RP group names, with the prefix of groups that share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct EmbeddedRp<A: Afi> {
    pub rp: A::Addr,
    /// The groups with the same first 96 bits (flags, scope, RIID, plen and prefix): all map to
    /// this RP.
    pub range: A::Prefix,
}

const R_FLAG: u8 = 0x4;
const EMBEDDED_FLAGS: u8 = 0x7;
/// The group bits that decide the RP: everything before the 32-bit group ID.
const RP_DEFINING_BITS: u8 = 96;

/// Derives the RP of an embedded-RP group (RFC 3956 §3). `None` when the group is not an IPv6
/// multicast address with the R flag set (not embedded-RP at all); `Some(Err(_))` when the R
/// flag is set but the group breaks a rule of RFC 3956 §2-§3.
pub fn embedded_rp<A: Afi>(group: A::Addr) -> Option<Result<EmbeddedRp<A>, EmbeddedRpError>> {
    let IpAddr::V6(v6) = group.into() else {
        return None;
    };
    let o = v6.octets();
    let flags = o[1] >> 4;
    if o[0] != 0xff || flags & R_FLAG == 0 {
        return None;
    }
    Some(derive(v6, flags).and_then(|rp| {
        let rp = A::from_ip(IpAddr::V6(rp)).ok_or(EmbeddedRpError::NotUnicast)?;
        let range = A::prefix(group, RP_DEFINING_BITS).ok_or(EmbeddedRpError::NotUnicast)?;
        Ok(EmbeddedRp { rp, range })
    }))
}

fn derive(group: Ipv6Addr, flags: u8) -> Result<Ipv6Addr, EmbeddedRpError> {
    let o = group.octets();
    if flags != EMBEDDED_FLAGS {
        return Err(EmbeddedRpError::BadFlags { flags });
    }
    let scope = o[1] & 0x0f;
    if scope <= 2 {
        return Err(EmbeddedRpError::LinkScope { scope });
    }
    let riid = o[2] & 0x0f;
    let plen = o[3];
    if plen == 0 || plen > 64 {
        return Err(EmbeddedRpError::BadPrefixLength { plen });
    }
    let network = u128::from(group) >> 32 & u128::from(u64::MAX);
    let mask = u64::MAX << (64 - u32::from(plen));
    // `network` holds 64 bits, so the cast is exact.
    let prefix = u128::from(network as u64 & mask) << 64;
    let rp = Ipv6Addr::from(prefix | u128::from(riid));
    if rp.is_multicast() || rp.is_unspecified() || rp.is_loopback() {
        return Err(EmbeddedRpError::NotUnicast);
    }
    Ok(rp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    fn rp(group: &str) -> Option<Result<Ipv6Addr, EmbeddedRpError>> {
        embedded_rp::<V6>(group.parse().unwrap()).map(|r| r.map(|e| e.rp))
    }

    #[test]
    fn rfc3956_example() {
        // RFC 3956 §3 example: ff7e:0140:2001:0db8:beef:feed::1234 -> RP 2001:db8:beef:feed::1
        assert_eq!(
            rp("ff7e:140:2001:db8:beef:feed::1234"),
            Some(Ok("2001:db8:beef:feed::1".parse().unwrap()))
        );
    }

    #[test]
    fn lab_prefix_and_short_plen() {
        assert_eq!(rp("ff7e:0a30:fd00:0:1234::1"), Some(Ok("fd00:0:1234::a".parse().unwrap())));
        // plen 8: only fd00::/8 is kept
        assert_eq!(rp("ff7e:0308:fdff:ffff:ffff:ffff::1"), Some(Ok("fd00::3".parse().unwrap())));
    }

    #[test]
    fn not_embedded() {
        assert_eq!(rp("ff3e::1"), None);
        assert_eq!(rp("ff0e::1"), None);
        assert_eq!(rp("fd00::1"), None);
        assert!(embedded_rp::<V4>("239.1.1.1".parse().unwrap()).is_none());
    }

    #[test]
    fn invalid() {
        assert_eq!(rp("ff5e:140:2001:db8::1"), Some(Err(EmbeddedRpError::BadFlags { flags: 5 })));
        assert_eq!(rp("fffe:140:2001:db8::1"), Some(Err(EmbeddedRpError::BadFlags { flags: 0xf })));
        assert_eq!(rp("ff7e:100:2001:db8::1"), Some(Err(EmbeddedRpError::BadPrefixLength { plen: 0 })));
        assert_eq!(rp("ff7e:141:2001:db8::1"), Some(Err(EmbeddedRpError::BadPrefixLength { plen: 65 })));
        assert_eq!(rp("ff72:140:2001:db8::1"), Some(Err(EmbeddedRpError::LinkScope { scope: 2 })));
        assert_eq!(rp("ff7e:140:ff02::1"), Some(Err(EmbeddedRpError::NotUnicast)));
        assert_eq!(rp("ff7e:040::1"), Some(Err(EmbeddedRpError::NotUnicast)));
    }
}
