//! Reading every multicast forwarding entry with its counters in one rtnetlink dump
//! (`RTM_GETROUTE` with `NLM_F_DUMP` for `RTNL_FAMILY_IPMR` / `RTNL_FAMILY_IP6MR`), instead of one
//! `SIOCGETSGCNT` ioctl per entry.
//!
//! The kernel answers with one `RTM_NEWROUTE` per entry of every table: an `rtmsg` header and the
//! attributes `RTA_TABLE`, `RTA_SRC`, `RTA_DST`, `RTA_IIF`, `RTA_MULTIPATH` and `RTA_MFC_STATS`
//! (three host-order `u64`: packets, bytes, wrong_if). Unresolved entries (packets queued after a
//! NOCACHE upcall) carry no counters and are skipped. The parser is a small hand-written one: the
//! few fields needed are fixed-layout, host-order, and read here without a panic path.

use std::collections::BTreeMap;

use hato_core::{Afi, MfcCounters, SgKey};

const NLMSG_HDR_LEN: usize = 16;
const RTMSG_LEN: usize = 12;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTA_DST: u16 = 1;
const RTA_SRC: u16 = 2;
const RTA_TABLE: u16 = 15;
const RTA_MFC_STATS: u16 = 17;
const NLA_TYPE_MASK: u16 = 0x3fff;

/// The dump request for `family`, with sequence number `seq`.
pub(crate) fn request(family: u8, seq: u32) -> [u8; NLMSG_HDR_LEN + RTMSG_LEN] {
    let mut msg = [0u8; NLMSG_HDR_LEN + RTMSG_LEN];
    let len = (NLMSG_HDR_LEN + RTMSG_LEN) as u32;
    msg[0..4].copy_from_slice(&len.to_ne_bytes());
    msg[4..6].copy_from_slice(&RTM_GETROUTE.to_ne_bytes());
    msg[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    msg[NLMSG_HDR_LEN] = family;
    msg
}

/// Why a dump could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpError {
    /// The kernel answered with an error (a negative errno).
    Kernel(i32),
    /// A message is cut short or its lengths disagree.
    Malformed,
}

/// Progress through a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpProgress {
    More,
    Done,
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn ne_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

fn align4(n: usize) -> Option<usize> {
    Some(n.checked_add(3)? & !3)
}

/// Parses one datagram of dump replies for sequence `seq`, adding the entries of `table` (all
/// tables when `None`) that carry counters to `out`. Messages of other sequences are ignored.
pub(crate) fn parse_datagram<A: Afi>(
    datagram: &[u8],
    seq: u32,
    table: Option<u32>,
    out: &mut BTreeMap<SgKey<A>, MfcCounters>,
) -> Result<DumpProgress, DumpError> {
    let mut rest = datagram;
    while !rest.is_empty() {
        let len = ne_u32(rest, 0).ok_or(DumpError::Malformed)? as usize;
        let msg_type = ne_u16(rest, 4).ok_or(DumpError::Malformed)?;
        let msg_seq = ne_u32(rest, 8).ok_or(DumpError::Malformed)?;
        if len < NLMSG_HDR_LEN {
            return Err(DumpError::Malformed);
        }
        let msg = rest.get(..len).ok_or(DumpError::Malformed)?;
        rest = rest.get(align4(len).ok_or(DumpError::Malformed)?..).unwrap_or(&[]);
        if msg_seq != seq {
            continue;
        }
        let payload = msg.get(NLMSG_HDR_LEN..).ok_or(DumpError::Malformed)?;
        match msg_type {
            NLMSG_DONE => return Ok(DumpProgress::Done),
            NLMSG_ERROR => {
                let errno = ne_u32(payload, 0).ok_or(DumpError::Malformed)? as i32;
                return if errno == 0 { Ok(DumpProgress::Done) } else { Err(DumpError::Kernel(errno)) };
            }
            RTM_NEWROUTE => {
                if let Some((key, entry_table, counters)) = parse_route::<A>(payload)? {
                    if table.map_or(true, |t| t == entry_table) {
                        out.insert(key, counters);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(DumpProgress::More)
}

/// One `RTM_NEWROUTE`: key, table and counters, or `None` when it has no counters (unresolved).
fn parse_route<A: Afi>(payload: &[u8]) -> Result<Option<(SgKey<A>, u32, MfcCounters)>, DumpError> {
    let header = payload.get(..RTMSG_LEN).ok_or(DumpError::Malformed)?;
    let mut table = u32::from(header.get(4).copied().unwrap_or(0));
    let (mut source, mut group, mut counters) = (None, None, None);
    let mut attrs = payload.get(RTMSG_LEN..).unwrap_or(&[]);
    while attrs.len() >= 4 {
        let len = usize::from(ne_u16(attrs, 0).ok_or(DumpError::Malformed)?);
        let kind = ne_u16(attrs, 2).ok_or(DumpError::Malformed)? & NLA_TYPE_MASK;
        let data = attrs.get(4..len).ok_or(DumpError::Malformed)?;
        match kind {
            RTA_SRC => source = Some(A::addr_from_octets(data).ok_or(DumpError::Malformed)?),
            RTA_DST => group = Some(A::addr_from_octets(data).ok_or(DumpError::Malformed)?),
            RTA_TABLE => table = ne_u32(data, 0).ok_or(DumpError::Malformed)?,
            RTA_MFC_STATS => {
                counters = Some(MfcCounters {
                    packets: ne_u64(data, 0).ok_or(DumpError::Malformed)?,
                    bytes: ne_u64(data, 8).ok_or(DumpError::Malformed)?,
                    wrong_if: ne_u64(data, 16).ok_or(DumpError::Malformed)?,
                })
            }
            _ => {}
        }
        attrs = attrs.get(align4(len).ok_or(DumpError::Malformed)?..).unwrap_or(&[]);
    }
    let (Some(group), Some(counters)) = (group, counters) else {
        return Ok(None);
    };
    let source = source.filter(|s| *s != A::UNSPECIFIED);
    Ok(Some((SgKey { source, group }, table, counters)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};
    use proptest::prelude::*;

    fn attr(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&kind.to_ne_bytes());
        a.extend_from_slice(data);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    fn nlmsg(msg_type: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((16 + payload.len()) as u32).to_ne_bytes());
        m.extend_from_slice(&msg_type.to_ne_bytes());
        m.extend_from_slice(&2u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

    fn route(family: u8, table: u32, src: &[u8], dst: &[u8], stats: Option<[u64; 3]>) -> Vec<u8> {
        let mut p = vec![family, 32, 32, 0, 253, 0, 0, 5, 0, 0, 0, 0];
        p.extend(attr(RTA_TABLE, &table.to_ne_bytes()));
        p.extend(attr(RTA_SRC, src));
        p.extend(attr(RTA_DST, dst));
        p.extend(attr(3, &7u32.to_ne_bytes()));
        if let Some(s) = stats {
            p.extend(attr(22, &[])); // RTA_PAD
            let mut b = Vec::new();
            for v in s {
                b.extend_from_slice(&v.to_ne_bytes());
            }
            p.extend(attr(RTA_MFC_STATS, &b));
        }
        p
    }

    #[test]
    fn request_layout() {
        let r = request(128, 9);
        assert_eq!(u32::from_ne_bytes(r[0..4].try_into().unwrap()), 28);
        assert_eq!(u16::from_ne_bytes(r[4..6].try_into().unwrap()), RTM_GETROUTE);
        assert_eq!(r[16], 128);
    }

    #[test]
    fn dump_of_two_tables_and_an_unresolved_entry() {
        let mut d =
            nlmsg(RTM_NEWROUTE, 5, &route(128, 253, &[198, 18, 0, 1], &[239, 1, 1, 1], Some([3, 300, 1])));
        d.extend(nlmsg(RTM_NEWROUTE, 5, &route(128, 10, &[198, 18, 0, 1], &[239, 1, 1, 2], Some([1, 1, 1]))));
        d.extend(nlmsg(RTM_NEWROUTE, 5, &route(128, 253, &[198, 18, 0, 2], &[239, 1, 1, 1], None)));
        d.extend(nlmsg(RTM_NEWROUTE, 5, &route(128, 253, &[0, 0, 0, 0], &[239, 9, 9, 9], Some([0, 0, 0]))));
        d.extend(nlmsg(
            RTM_NEWROUTE,
            4,
            &route(128, 253, &[198, 18, 0, 3], &[239, 1, 1, 1], Some([0, 0, 0])),
        ));
        let mut out = BTreeMap::new();
        assert_eq!(parse_datagram::<V4>(&d, 5, Some(253), &mut out), Ok(DumpProgress::More));
        let s = "198.18.0.1".parse().unwrap();
        let g = "239.1.1.1".parse().unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[&SgKey::sg(s, g)], MfcCounters { packets: 3, bytes: 300, wrong_if: 1 });
        assert!(out.contains_key(&SgKey::star_g("239.9.9.9".parse().unwrap())));
        let done = nlmsg(NLMSG_DONE, 5, &0u32.to_ne_bytes());
        assert_eq!(parse_datagram::<V4>(&done, 5, Some(253), &mut out), Ok(DumpProgress::Done));
        let err = nlmsg(NLMSG_ERROR, 5, &(-95i32).to_ne_bytes());
        assert_eq!(parse_datagram::<V4>(&err, 5, Some(253), &mut out), Err(DumpError::Kernel(-95)));
    }

    #[test]
    fn ipv6_entry() {
        let s: std::net::Ipv6Addr = "fd00::1".parse().unwrap();
        let g: std::net::Ipv6Addr = "ff3e::1".parse().unwrap();
        let d = nlmsg(RTM_NEWROUTE, 1, &route(129, 253, &s.octets(), &g.octets(), Some([2, 2, 0])));
        let mut out = BTreeMap::new();
        assert_eq!(parse_datagram::<V6>(&d, 1, Some(253), &mut out), Ok(DumpProgress::More));
        assert_eq!(out[&SgKey::sg(s, g)].packets, 2);
        // An IPv4-sized address in an IPv6 dump is malformed.
        let bad = nlmsg(RTM_NEWROUTE, 1, &route(129, 253, &[1, 2, 3, 4], &g.octets(), Some([0, 0, 0])));
        assert_eq!(parse_datagram::<V6>(&bad, 1, Some(253), &mut out), Err(DumpError::Malformed));
    }

    #[test]
    fn every_truncation_is_an_error_or_ignored() {
        let d =
            nlmsg(RTM_NEWROUTE, 5, &route(128, 253, &[198, 18, 0, 1], &[239, 1, 1, 1], Some([3, 300, 1])));
        for n in 1..d.len() {
            let mut out = BTreeMap::new();
            assert_eq!(
                parse_datagram::<V4>(&d[..n], 5, Some(253), &mut out),
                Err(DumpError::Malformed),
                "{n}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_datagram::<V4>(&bytes, 0, Some(253), &mut BTreeMap::new());
            let _ = parse_datagram::<V6>(&bytes, 0, Some(253), &mut BTreeMap::new());
        }
    }
}
