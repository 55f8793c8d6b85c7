//! Helpers shared by the codec tests: hex decoding, the GMP values the IGMP and MLD goldens are
//! built from, and the captured mrouted exchange that the DVMRP and mtrace goldens come from.

use std::fmt::Debug;

use hato_core::Afi;

use crate::gmp::{GroupRecord, QueryV3, RecordType};
use crate::{Error, Result};

/// Decodes a hex string (as printed by capture tools) into bytes.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    assert!(text.len() % 2 == 0, "odd hex length");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Parses an address of family `A`.
pub(crate) fn addr<A: Afi>(text: &str) -> A::Addr {
    text.parse().unwrap_or_else(|_| panic!("bad address {text}"))
}

/// A group record without auxiliary data.
pub(crate) fn group_record<A: Afi>(record_type: RecordType, group: &str, sources: &[&str]) -> GroupRecord<A> {
    GroupRecord {
        record_type,
        group: addr::<A>(group),
        sources: sources.iter().map(|s| addr::<A>(s)).collect(),
        aux_data: Vec::new(),
    }
}

/// A version 3 query (IGMPv3 / MLDv2) with the default robustness 2 and query interval 125 s.
pub(crate) fn query_v3<A: Afi>(
    group: &str,
    max_resp_code: u16,
    suppress: bool,
    sources: &[&str],
) -> QueryV3<A> {
    QueryV3 {
        max_resp_code,
        group: addr::<A>(group),
        suppress_router_side: suppress,
        robustness: 2,
        qqic: 125,
        sources: sources.iter().map(|s| addr::<A>(s)).collect(),
    }
}

/// The DVMRP and mtrace messages (IGMP payloads) of the mrouted capture: `<frame> <hex>` lines.
const MROUTED_CAPTURE: &str = include_str!("../testdata/mrouted-dvmrp-lan.hex");

/// The IGMP message of frame `number` of the mrouted capture.
pub(crate) fn mrouted_frame(number: u32) -> Vec<u8> {
    let prefix = format!("{number} ");
    let line = MROUTED_CAPTURE.lines().find(|l| l.starts_with(&prefix)).unwrap();
    hex(&line[prefix.len()..])
}

/// Every IGMP message of the mrouted capture whose type is one of `igmp_types`.
pub(crate) fn mrouted_messages(igmp_types: &[u8]) -> Vec<Vec<u8>> {
    MROUTED_CAPTURE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| hex(l.split_once(' ').unwrap().1))
        .filter(|bytes| igmp_types.contains(&bytes[0]))
        .collect()
}

/// Asserts that no proper prefix of any of `messages` parses.
pub(crate) fn assert_truncations_fail<T: Debug>(messages: &[Vec<u8>], parse: impl Fn(&[u8]) -> Result<T>) {
    for bytes in messages {
        for len in 0..bytes.len() {
            assert!(parse(&bytes[..len]).is_err(), "{len} of {bytes:02x?}");
        }
    }
}

/// Asserts that flipping any bit of the checksum field (octets 2 and 3, as in IGMP) of any of
/// `messages` makes parsing fail with `BadChecksum`.
pub(crate) fn assert_checksum_flips_detected<T: Debug + PartialEq>(
    messages: &[Vec<u8>],
    parse: impl Fn(&[u8]) -> Result<T>,
) {
    for message in messages {
        for bit in 0..16 {
            let mut corrupt = message.clone();
            corrupt[2 + bit / 8] ^= 1 << (bit % 8);
            assert_eq!(parse(&corrupt), Err(Error::BadChecksum), "bit {bit} of {message:02x?}");
        }
    }
}
