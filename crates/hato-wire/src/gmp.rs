//! The parts IGMPv3 (RFC 3376 §4) and MLDv2 (RFC 3810 §5) share: group records and their six
//! record types, the body of a version-3 / version-2 query, the reports' record list, and the
//! floating-point codes of Max Resp Code and QQIC (RFC 3376 §4.1.1, §4.1.7; RFC 3810 §5.1.3,
//! §5.1.9).
//!
//! The layouts are the same in both protocols apart from the address length and the width of Max
//! Resp Code (8 bits for IGMPv3, 16 bits for MLDv2), so one generic type over `A: Afi` serves both.

use std::fmt;
use std::time::Duration;

use hato_core::{AddressFamily, Afi};
use serde::Serialize;

use crate::cursor::{Reader, Writer};
use crate::{Error, Result};

/// The type of a group record (RFC 3376 §4.2.12, RFC 3810 §5.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RecordType {
    /// MODE_IS_INCLUDE (1): a current-state record.
    ModeIsInclude,
    /// MODE_IS_EXCLUDE (2): a current-state record.
    ModeIsExclude,
    /// CHANGE_TO_INCLUDE_MODE (3): a filter-mode-change record.
    ChangeToInclude,
    /// CHANGE_TO_EXCLUDE_MODE (4): a filter-mode-change record.
    ChangeToExclude,
    /// ALLOW_NEW_SOURCES (5): a source-list-change record.
    AllowNewSources,
    /// BLOCK_OLD_SOURCES (6): a source-list-change record.
    BlockOldSources,
    /// Any other value; receivers ignore such records (RFC 3376 §4.2.12) but it is kept.
    Unknown(u8),
}

impl RecordType {
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => RecordType::ModeIsInclude,
            2 => RecordType::ModeIsExclude,
            3 => RecordType::ChangeToInclude,
            4 => RecordType::ChangeToExclude,
            5 => RecordType::AllowNewSources,
            6 => RecordType::BlockOldSources,
            other => RecordType::Unknown(other),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            RecordType::ModeIsInclude => 1,
            RecordType::ModeIsExclude => 2,
            RecordType::ChangeToInclude => 3,
            RecordType::ChangeToExclude => 4,
            RecordType::AllowNewSources => 5,
            RecordType::BlockOldSources => 6,
            RecordType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordType::ModeIsInclude => f.write_str("is-in"),
            RecordType::ModeIsExclude => f.write_str("is-ex"),
            RecordType::ChangeToInclude => f.write_str("to-in"),
            RecordType::ChangeToExclude => f.write_str("to-ex"),
            RecordType::AllowNewSources => f.write_str("allow"),
            RecordType::BlockOldSources => f.write_str("block"),
            RecordType::Unknown(code) => write!(f, "type-{code}"),
        }
    }
}

/// A group record of an IGMPv3 / MLDv2 report (RFC 3376 §4.2.4, RFC 3810 §5.2.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct GroupRecord<A: Afi> {
    pub record_type: RecordType,
    pub group: A::Addr,
    pub sources: Vec<A::Addr>,
    /// Auxiliary data, kept as is; its length is a multiple of 4 octets (at most 1020).
    pub aux_data: Vec<u8>,
}

impl<A: Afi> GroupRecord<A> {
    /// The encoded length in octets.
    pub fn buffer_len(&self) -> usize {
        4 + A::ADDR_LEN * (1 + self.sources.len()) + self.aux_data.len()
    }

    /// Reads one record.
    pub fn parse(reader: &mut Reader<'_>) -> Result<Self> {
        let record_type = RecordType::from_code(reader.u8()?);
        let aux_words = reader.u8()?;
        let source_count = reader.u16()?;
        let group = reader.addr::<A>()?;
        let sources = parse_sources::<A>(reader, source_count)?;
        let aux_data = reader.bytes(usize::from(aux_words) * 4)?.to_vec();
        Ok(GroupRecord { record_type, group, sources, aux_data })
    }

    /// Writes one record; `Malformed` if the aux data is not a whole number of words (at most
    /// 255) or there are more than 65535 sources.
    pub fn emit(&self, writer: &mut Writer<'_>) -> Result<()> {
        if self.aux_data.len() % 4 != 0 {
            return Err(Error::Malformed);
        }
        let aux_words = u8::try_from(self.aux_data.len() / 4).map_err(|_| Error::Malformed)?;
        writer.u8(self.record_type.code())?;
        writer.u8(aux_words)?;
        writer.u16(source_count(&self.sources)?)?;
        writer.addr::<A>(self.group)?;
        emit_sources::<A>(writer, &self.sources)?;
        writer.bytes(&self.aux_data)
    }
}

impl<A: Afi> fmt::Display for GroupRecord<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.record_type, self.group)?;
        write_sources(f, &self.sources)?;
        if !self.aux_data.is_empty() {
            write!(f, " aux {}", self.aux_data.len())?;
        }
        Ok(())
    }
}

/// The record list of an IGMPv3 / MLDv2 report: after the type octet and checksum, two reserved
/// octets, the record count and the records (RFC 3376 §4.2, RFC 3810 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct ReportV3<A: Afi> {
    pub records: Vec<GroupRecord<A>>,
}

impl<A: Afi> ReportV3<A> {
    /// Length of the fields after the first four octets of the message.
    pub(crate) fn body_len(&self) -> usize {
        4 + self.records.iter().map(GroupRecord::buffer_len).sum::<usize>()
    }

    /// Reads the fields after the first four octets; octets after the last record are ignored.
    pub(crate) fn parse_body(reader: &mut Reader<'_>) -> Result<Self> {
        reader.skip(2)?;
        let count = reader.u16()?;
        let mut records = Vec::new();
        for _ in 0..count {
            records.push(GroupRecord::parse(reader)?);
        }
        Ok(ReportV3 { records })
    }

    pub(crate) fn emit_body(&self, writer: &mut Writer<'_>) -> Result<()> {
        writer.u16(0)?;
        writer.u16(u16::try_from(self.records.len()).map_err(|_| Error::Malformed)?)?;
        self.records.iter().try_for_each(|record| record.emit(writer))
    }
}

impl<A: Afi> fmt::Display for ReportV3<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} record(s)", self.records.len())?;
        for record in &self.records {
            write!(f, ", {record}")?;
        }
        Ok(())
    }
}

/// An IGMPv3 / MLDv2 query (RFC 3376 §4.1, RFC 3810 §5.1): general when `group` is unspecified,
/// group-specific when `sources` is empty, group-and-source-specific otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct QueryV3<A: Afi> {
    /// The raw Max Resp Code: 8 bits for IGMPv3, 16 bits for MLDv2; see [`QueryV3::max_resp`].
    pub max_resp_code: u16,
    pub group: A::Addr,
    /// S flag: suppress router-side processing (RFC 3376 §4.1.5).
    pub suppress_router_side: bool,
    /// QRV, the querier's robustness variable, 0..=7 (RFC 3376 §4.1.6).
    pub robustness: u8,
    /// The raw QQIC; see [`QueryV3::query_interval`].
    pub qqic: u8,
    pub sources: Vec<A::Addr>,
}

impl<A: Afi> QueryV3<A> {
    /// The maximum response time this query allows: the IGMPv3 code counts tenths of a second,
    /// the MLDv2 code milliseconds (RFC 3376 §4.1.1, RFC 3810 §5.1.3).
    pub fn max_resp(&self) -> Duration {
        match A::FAMILY {
            AddressFamily::Ipv4 => {
                let code = u8::try_from(self.max_resp_code).unwrap_or(u8::MAX);
                Duration::from_millis(100 * u64::from(decode_float8(code)))
            }
            AddressFamily::Ipv6 => Duration::from_millis(u64::from(decode_float16(self.max_resp_code))),
        }
    }

    /// The querier's query interval (RFC 3376 §4.1.7, RFC 3810 §5.1.9).
    pub fn query_interval(&self) -> Duration {
        qqic_interval(self.qqic)
    }

    /// Whether this is a general query (group unspecified).
    pub fn is_general(&self) -> bool {
        self.group == A::UNSPECIFIED
    }

    /// Length of the fields after the group address.
    pub(crate) fn tail_len(&self) -> usize {
        4 + A::ADDR_LEN * self.sources.len()
    }

    /// Reads the fields after the group address: flags, QQIC, source count and sources.
    pub(crate) fn parse_tail(reader: &mut Reader<'_>, max_resp_code: u16, group: A::Addr) -> Result<Self> {
        let flags = reader.u8()?;
        let qqic = reader.u8()?;
        let count = reader.u16()?;
        let sources = parse_sources::<A>(reader, count)?;
        Ok(QueryV3 {
            max_resp_code,
            group,
            suppress_router_side: flags & 0x08 != 0,
            robustness: flags & 0x07,
            qqic,
            sources,
        })
    }

    /// Writes the fields after the group address; `Malformed` if QRV exceeds 7.
    pub(crate) fn emit_tail(&self, writer: &mut Writer<'_>) -> Result<()> {
        if self.robustness > 7 {
            return Err(Error::Malformed);
        }
        writer.u8(u8::from(self.suppress_router_side) << 3 | self.robustness)?;
        writer.u8(self.qqic)?;
        writer.u16(source_count(&self.sources)?)?;
        emit_sources::<A>(writer, &self.sources)
    }
}

impl<A: Afi> fmt::Display for QueryV3<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_general() {
            f.write_str("general")?;
        } else {
            write!(f, "group {}", self.group)?;
        }
        write!(
            f,
            " mrt {:?} qrv {} qqi {}s",
            self.max_resp(),
            self.robustness,
            self.query_interval().as_secs()
        )?;
        if self.suppress_router_side {
            f.write_str(" S")?;
        }
        write_sources(f, &self.sources)
    }
}

fn parse_sources<A: Afi>(reader: &mut Reader<'_>, count: u16) -> Result<Vec<A::Addr>> {
    // Check the length first so that a forged count cannot make us allocate.
    if reader.remaining() < usize::from(count) * A::ADDR_LEN {
        return Err(Error::Truncated);
    }
    (0..count).map(|_| reader.addr::<A>()).collect()
}

fn emit_sources<A: Afi>(writer: &mut Writer<'_>, sources: &[A::Addr]) -> Result<()> {
    sources.iter().try_for_each(|source| writer.addr::<A>(*source))
}

fn source_count<T>(sources: &[T]) -> Result<u16> {
    u16::try_from(sources.len()).map_err(|_| Error::Malformed)
}

fn write_sources<T: fmt::Display>(f: &mut fmt::Formatter<'_>, sources: &[T]) -> fmt::Result {
    if sources.is_empty() {
        return Ok(());
    }
    f.write_str(" {")?;
    for (i, source) in sources.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{source}")?;
    }
    f.write_str("}")
}

/// Decodes a floating-point code with `mant_bits` of mantissa and 3 of exponent: codes below
/// `1 << (mant_bits + 3)` are the value itself, others are `(mant | 1 << mant_bits) << (exp + 3)`.
fn decode_float(code: u32, mant_bits: u32) -> u32 {
    if code < 1 << (mant_bits + 3) {
        return code;
    }
    let mant = code & ((1 << mant_bits) - 1);
    let exp = (code >> mant_bits) & 0x7;
    (mant | 1 << mant_bits) << (exp + 3)
}

/// The smallest code whose value is at least `value` (saturating at the largest code).
fn encode_float(value: u32, mant_bits: u32) -> u32 {
    if value < 1 << (mant_bits + 3) {
        return value;
    }
    let mant_limit = (1u64 << (mant_bits + 1)) - 1;
    for exp in 0..8u32 {
        let unit = 1u64 << (exp + 3);
        let mant = u64::from(value).div_ceil(unit);
        if mant <= mant_limit {
            // mant >= 1 << mant_bits because value >= 1 << (mant_bits + 3) and exp is the smallest
            // that fits.
            let mant = u32::try_from(mant).unwrap_or(0) & ((1 << mant_bits) - 1);
            return 1 << (mant_bits + 3) | exp << mant_bits | mant;
        }
    }
    (1 << (mant_bits + 4)) - 1
}

/// The value of an 8-bit Max Resp Code or QQIC (RFC 3376 §4.1.1, §4.1.7; RFC 3810 §5.1.9).
pub fn decode_float8(code: u8) -> u32 {
    decode_float(u32::from(code), 4)
}

/// The smallest 8-bit code whose value is at least `value`, saturating at 0xff (31744).
pub fn encode_float8(value: u32) -> u8 {
    u8::try_from(encode_float(value, 4)).unwrap_or(u8::MAX)
}

/// The value of a 16-bit MLDv2 Maximum Response Code (RFC 3810 §5.1.3).
pub fn decode_float16(code: u16) -> u32 {
    decode_float(u32::from(code), 12)
}

/// The smallest 16-bit code whose value is at least `value`, saturating at 0xffff (8387584).
pub fn encode_float16(value: u32) -> u16 {
    u16::try_from(encode_float(value, 12)).unwrap_or(u16::MAX)
}

/// The Querier's Query Interval a QQIC announces, in seconds (RFC 3376 §4.1.7, RFC 3810 §5.1.9).
pub fn qqic_interval(qqic: u8) -> Duration {
    Duration::from_secs(u64::from(decode_float8(qqic)))
}

/// The QQIC announcing `interval`, rounded up to whole seconds and to the next representable code.
pub fn qqic_for(interval: Duration) -> u8 {
    encode_float8(ceil_units(interval, Duration::from_secs(1)))
}

/// `duration` in whole `unit`s, rounded up and saturating at `u32::MAX`.
pub(crate) fn ceil_units(duration: Duration, unit: Duration) -> u32 {
    let units = duration.as_nanos().div_ceil(unit.as_nanos().max(1));
    u32::try_from(units).unwrap_or(u32::MAX)
}

#[cfg(test)]
pub(crate) mod strategies {
    //! Proptest strategies for the shared GMP types, reused by the IGMP and MLD tests.

    use proptest::prelude::*;

    use super::*;

    pub(crate) fn record_type() -> impl Strategy<Value = RecordType> {
        any::<u8>().prop_map(RecordType::from_code)
    }

    pub(crate) fn group_record<A: Afi>(
        addr: impl Strategy<Value = A::Addr> + Clone,
    ) -> impl Strategy<Value = GroupRecord<A>> {
        (
            record_type(),
            addr.clone(),
            prop::collection::vec(addr, 0..4),
            prop::collection::vec(any::<[u8; 4]>(), 0..3),
        )
            .prop_map(|(record_type, group, sources, aux)| GroupRecord {
                record_type,
                group,
                sources,
                aux_data: aux.concat(),
            })
    }

    pub(crate) fn report_v3<A: Afi>(
        addr: impl Strategy<Value = A::Addr> + Clone,
    ) -> impl Strategy<Value = ReportV3<A>> {
        prop::collection::vec(group_record::<A>(addr), 0..4).prop_map(|records| ReportV3 { records })
    }

    pub(crate) fn query_v3<A: Afi>(
        max_resp_code: impl Strategy<Value = u16>,
        addr: impl Strategy<Value = A::Addr> + Clone,
    ) -> impl Strategy<Value = QueryV3<A>> {
        (max_resp_code, addr.clone(), any::<bool>(), 0u8..8, any::<u8>(), prop::collection::vec(addr, 0..4))
            .prop_map(|(max_resp_code, group, suppress_router_side, robustness, qqic, sources)| QueryV3 {
                max_resp_code,
                group,
                suppress_router_side,
                robustness,
                qqic,
                sources,
            })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn float8_examples() {
        // RFC 3376 §4.1.1: codes below 128 are literal; 0x80 is 16 << 3.
        assert_eq!(decode_float8(0), 0);
        assert_eq!(decode_float8(100), 100);
        assert_eq!(decode_float8(127), 127);
        assert_eq!(decode_float8(0x80), 128);
        assert_eq!(decode_float8(0x8f), 31 << 3);
        assert_eq!(decode_float8(0x90), 16 << 4);
        assert_eq!(decode_float8(0xff), 31 << 10);
        assert_eq!(encode_float8(125), 125);
        assert_eq!(encode_float8(128), 0x80);
        assert_eq!(encode_float8(129), 0x81);
        assert_eq!(encode_float8(31744), 0xff);
        assert_eq!(encode_float8(31745), 0xff);
        assert_eq!(encode_float8(u32::MAX), 0xff);
    }

    #[test]
    fn float16_examples() {
        // RFC 3810 §5.1.3: codes below 32768 are literal milliseconds.
        assert_eq!(decode_float16(10000), 10000);
        assert_eq!(decode_float16(0x8000), 32768);
        assert_eq!(decode_float16(0xffff), 0x1fff << 10);
        assert_eq!(encode_float16(10000), 10000);
        assert_eq!(encode_float16(32768), 0x8000);
        assert_eq!(encode_float16(32769), 0x8001);
        assert_eq!(encode_float16(u32::MAX), 0xffff);
    }

    #[test]
    fn qqic_helpers() {
        assert_eq!(qqic_interval(125), Duration::from_secs(125));
        assert_eq!(qqic_for(Duration::from_secs(125)), 125);
        assert_eq!(qqic_for(Duration::from_millis(125_001)), 126);
        assert_eq!(qqic_interval(qqic_for(Duration::from_secs(1000))), Duration::from_secs(1024));
    }

    /// Every IGMP and MLD packet of the shared captures decodes, and re-encodes byte for byte
    /// (IP header included).
    #[test]
    fn capture_corpus_round_trips() {
        use crate::igmp::IgmpRepr;
        use crate::ip::{Ipv4Header, Ipv6Header};
        use crate::mld::MldRepr;
        use crate::testutil::hex;

        let corpus = include_str!("../testdata/gmp-packets.txt");
        let mut seen = std::collections::BTreeMap::new();
        for line in corpus.lines().filter(|line| !line.starts_with('#')) {
            let fields: Vec<&str> = line.split(' ').collect();
            let [protocol, origin, packet] = fields[..] else { panic!("bad corpus line {line}") };
            let packet = hex(packet);
            let summary = match protocol {
                "igmp" => {
                    let (header, payload) = Ipv4Header::parse(&packet).unwrap();
                    let message = IgmpRepr::parse(payload).unwrap_or_else(|e| panic!("{origin}: {e}"));
                    assert_eq!(message.to_bytes().unwrap(), payload, "{origin}");
                    assert_eq!(header.to_bytes(payload).unwrap(), packet, "{origin}");
                    message.to_string()
                }
                "mld" => {
                    let (header, payload) = Ipv6Header::parse(&packet).unwrap();
                    let message = MldRepr::parse(payload, &header.src, &header.dst)
                        .unwrap_or_else(|e| panic!("{origin}: {e}"));
                    assert_eq!(message.to_bytes(&header.src, &header.dst).unwrap(), payload, "{origin}");
                    assert_eq!(header.to_bytes(payload).unwrap(), packet, "{origin}");
                    message.to_string()
                }
                other => panic!("unknown protocol {other}"),
            };
            let kind: String = summary.split(' ').take(2).collect::<Vec<_>>().join(" ");
            *seen.entry(kind).or_insert(0usize) += 1;
        }
        let kinds: Vec<&str> = seen.keys().map(String::as_str).collect();
        for expected in [
            "IGMPv2 leave",
            "IGMPv2 query",
            "IGMPv2 report",
            "IGMPv3 query",
            "IGMPv3 report",
            "MLDv2 query",
            "MLDv2 report",
        ] {
            assert!(kinds.contains(&expected), "{expected} missing from {kinds:?}");
        }
    }

    #[test]
    fn record_type_codes() {
        for code in 0..=u8::MAX {
            assert_eq!(RecordType::from_code(code).code(), code);
        }
        assert_eq!(RecordType::from_code(6), RecordType::BlockOldSources);
    }

    proptest! {
        #[test]
        fn float8_exact_both_ways(code in any::<u8>()) {
            prop_assert_eq!(encode_float8(decode_float8(code)), code);
        }

        #[test]
        fn float16_exact_both_ways(code in any::<u16>()) {
            prop_assert_eq!(encode_float16(decode_float16(code)), code);
        }

        #[test]
        fn float8_rounds_up_to_the_nearest_code(value in 0u32..=31744) {
            let code = encode_float8(value);
            prop_assert!(decode_float8(code) >= value);
            if code > 0 {
                prop_assert!(decode_float8(code - 1) < value);
            }
        }

        #[test]
        fn float16_rounds_up_to_the_nearest_code(value in 0u32..=8_387_584) {
            let code = encode_float16(value);
            prop_assert!(decode_float16(code) >= value);
            if code > 0 {
                prop_assert!(decode_float16(code - 1) < value);
            }
        }
    }
}
