//! Reading classic pcap and pcapng files into [`Frame`]s.
//!
//! The format is told by the first four bytes, never by the file name. Classic pcap: a 24-byte file
//! header whose magic gives the byte order and the timestamp unit (0xa1b2c3d4 microseconds, 0xa1b23c4d
//! nanoseconds), then 16-byte record headers. pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks;
//! each Section Header Block (§4.1) sets the byte order and starts a new list of interfaces; Interface
//! Description Blocks (§4.2) give the link type and `if_tsresol` / `if_tsoffset` (§4.2 options 9 and 14);
//! frames come from Enhanced (§4.3), Simple (§4.4) and obsolete Packet Blocks (Appendix A); every other
//! block is skipped by its length.
//!
//! The first damage ends the file: the iterator yields one `Err` and then nothing, so the frames before
//! it are still delivered.

use serde::Serialize;

use crate::{Error, Frame, LinkType};

const PCAP_MICROS: u32 = 0xa1b2_c3d4;
const PCAP_NANOS: u32 = 0xa1b2_3c4d;
const PCAP_HEADER_LEN: usize = 24;
const PCAP_RECORD_HEADER_LEN: usize = 16;

const BLOCK_SECTION_HEADER: u32 = 0x0a0d_0d0a;
const BLOCK_INTERFACE_DESCRIPTION: u32 = 1;
const BLOCK_PACKET_OBSOLETE: u32 = 2;
const BLOCK_SIMPLE_PACKET: u32 = 3;
const BLOCK_ENHANCED_PACKET: u32 = 6;
/// Block type, block total length, and the trailing copy of the length.
const BLOCK_OVERHEAD: usize = 12;

const OPTION_END: u16 = 0;
const OPTION_IF_TSRESOL: u16 = 9;
const OPTION_IF_TSOFFSET: u16 = 14;
/// `if_tsresol` when the option is absent: microseconds.
const DEFAULT_TSRESOL: u8 = 6;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// The container format of a capture, as told by its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Classic libpcap.
    Pcap { big_endian: bool, nanoseconds: bool },
    /// pcapng; each section has its own byte order.
    PcapNg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, data: &[u8], offset: usize) -> Option<u16> {
        let bytes: [u8; 2] = data.get(offset..offset.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(bytes),
            Endian::Big => u16::from_be_bytes(bytes),
        })
    }

    fn u32(self, data: &[u8], offset: usize) -> Option<u32> {
        let bytes: [u8; 4] = data.get(offset..offset.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(bytes),
            Endian::Big => u32::from_be_bytes(bytes),
        })
    }
}

/// What a pcapng Interface Description Block says about its frames.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    /// `if_tsresol`: bit 7 clear, 10^-n seconds; set, 2^-n seconds.
    tsresol: u8,
    /// `if_tsoffset`: seconds added to every timestamp.
    tsoffset_seconds: i64,
}

#[derive(Debug)]
enum State {
    Pcap {
        endian: Endian,
        nanoseconds: bool,
        link_type: LinkType,
    },
    PcapNg {
        endian: Endian,
        interfaces: Vec<Interface>,
    },
    /// The end of the file or the first error was reached.
    Done,
}

/// An iterator over the frames of a capture held in memory.
///
/// Yields `Ok(frame)` for each frame in file order, then at most one `Err` for damage, then `None`.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    offset: usize,
    format: Format,
    state: State,
}

impl<'a> Reader<'a> {
    /// Recognises the format by its magic and reads the file header.
    pub fn new(data: &'a [u8]) -> Result<Self, Error> {
        let magic = Endian::Little.u32(data, 0).ok_or(Error::UnknownFormat)?;
        if magic == BLOCK_SECTION_HEADER {
            // The Section Header Block itself is read by the first call to `next`.
            let state = State::PcapNg { endian: Endian::Little, interfaces: Vec::new() };
            return Ok(Reader { data, offset: 0, format: Format::PcapNg, state });
        }
        let (endian, nanoseconds) = match (magic, magic.swap_bytes()) {
            (PCAP_MICROS, _) => (Endian::Little, false),
            (PCAP_NANOS, _) => (Endian::Little, true),
            (_, PCAP_MICROS) => (Endian::Big, false),
            (_, PCAP_NANOS) => (Endian::Big, true),
            _ => return Err(Error::UnknownFormat),
        };
        let header = data.get(..PCAP_HEADER_LEN).ok_or(Error::Truncated { offset: 0 })?;
        let truncated = Error::Truncated { offset: 0 };
        let major = endian.u16(header, 4).ok_or(truncated)?;
        let minor = endian.u16(header, 6).ok_or(truncated)?;
        if major != 2 {
            return Err(Error::UnsupportedVersion { offset: 4, major, minor });
        }
        // The upper bits of the link-type field hold FCS information; the type is the low 16 bits.
        let link_type = LinkType((endian.u32(header, 20).ok_or(truncated)? & 0xffff) as u16);
        Ok(Reader {
            data,
            offset: PCAP_HEADER_LEN,
            format: Format::Pcap { big_endian: endian == Endian::Big, nanoseconds },
            state: State::Pcap { endian, nanoseconds, link_type },
        })
    }

    /// The container format of the file.
    pub fn format(&self) -> Format {
        self.format
    }

    fn next_pcap_record(
        &mut self,
        endian: Endian,
        nanoseconds: bool,
        link_type: LinkType,
    ) -> Result<Option<Frame<'a>>, Error> {
        let offset = self.offset;
        if offset >= self.data.len() {
            return Ok(None);
        }
        let truncated = Error::Truncated { offset };
        let data_start = offset.checked_add(PCAP_RECORD_HEADER_LEN).ok_or(truncated)?;
        let header = self.data.get(offset..data_start).ok_or(truncated)?;
        let seconds = endian.u32(header, 0).ok_or(truncated)?;
        let fraction = endian.u32(header, 4).ok_or(truncated)?;
        let captured_len = endian.u32(header, 8).ok_or(truncated)?;
        let original_len = endian.u32(header, 12).ok_or(truncated)?;
        let data_end = usize::try_from(captured_len)
            .ok()
            .and_then(|len| data_start.checked_add(len))
            .ok_or(Error::BadCapturedLength { offset, length: captured_len })?;
        let bytes = self.data.get(data_start..data_end).ok_or(truncated)?;
        let unit: u64 = if nanoseconds { 1 } else { 1_000 };
        let timestamp_ns = u64::from(seconds) * 1_000_000_000 + u64::from(fraction) * unit;
        self.offset = data_end;
        Ok(Some(Frame {
            timestamp_ns: Some(timestamp_ns),
            link_type,
            interface: 0,
            original_len,
            data: bytes,
        }))
    }

    /// Reads blocks until one yields a frame or the file ends.
    fn next_pcapng_frame(&mut self) -> Result<Option<Frame<'a>>, Error> {
        // Every pass consumes at least one block of at least 12 bytes, so the loop is bounded.
        while self.offset < self.data.len() {
            let offset = self.offset;
            let block_type = Endian::Little.u32(self.data, offset).ok_or(Error::Truncated { offset })?;
            if block_type == BLOCK_SECTION_HEADER {
                self.start_section(offset)?;
            }
            let State::PcapNg { endian, ref interfaces } = self.state else {
                return Ok(None);
            };
            let (block_type, body) = block_at(self.data, offset, endian)?;
            // `block_at` checked that the whole block lies inside the file.
            self.offset = offset + body.len() + BLOCK_OVERHEAD;
            let frame = match block_type {
                BLOCK_INTERFACE_DESCRIPTION => {
                    let interface = parse_interface(body, offset, endian)?;
                    if let State::PcapNg { ref mut interfaces, .. } = self.state {
                        interfaces.push(interface);
                    }
                    None
                }
                BLOCK_ENHANCED_PACKET | BLOCK_PACKET_OBSOLETE => {
                    Some(timestamped_packet(block_type, body, offset, endian, interfaces)?)
                }
                BLOCK_SIMPLE_PACKET => Some(simple_packet(body, offset, endian, interfaces)?),
                _ => None,
            };
            if frame.is_some() {
                return Ok(frame);
            }
        }
        Ok(None)
    }

    /// Section Header Block (§4.1): sets the byte order and forgets the previous section's interfaces.
    fn start_section(&mut self, offset: usize) -> Result<(), Error> {
        let magic_offset = offset.checked_add(8).ok_or(Error::Truncated { offset })?;
        let endian = match self.data.get(magic_offset..magic_offset + 4) {
            Some(&[0x4d, 0x3c, 0x2b, 0x1a]) => Endian::Little,
            Some(&[0x1a, 0x2b, 0x3c, 0x4d]) => Endian::Big,
            Some(_) => return Err(Error::BadByteOrderMagic { offset }),
            None => return Err(Error::Truncated { offset }),
        };
        let (_, body) = block_at(self.data, offset, endian)?;
        // Byte-order magic, major and minor version, section length.
        if body.len() < 16 {
            let length = endian.u32(self.data, offset + 4).unwrap_or(0);
            return Err(Error::BadBlockLength { offset, length });
        }
        let major = endian.u16(body, 4).unwrap_or(0);
        let minor = endian.u16(body, 6).unwrap_or(0);
        if major != 1 {
            return Err(Error::UnsupportedVersion { offset, major, minor });
        }
        self.state = State::PcapNg { endian, interfaces: Vec::new() };
        Ok(())
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Frame<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let result = match self.state {
            State::Pcap { endian, nanoseconds, link_type } => {
                self.next_pcap_record(endian, nanoseconds, link_type)
            }
            State::PcapNg { .. } => self.next_pcapng_frame(),
            State::Done => return None,
        };
        match result {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => {
                self.state = State::Done;
                None
            }
            Err(error) => {
                self.state = State::Done;
                Some(Err(error))
            }
        }
    }
}

/// Reads every frame of a capture: the frames before the first damage, and that damage if any.
pub fn read_all(data: &[u8]) -> (Vec<Frame<'_>>, Option<Error>) {
    let reader = match Reader::new(data) {
        Ok(reader) => reader,
        Err(error) => return (Vec::new(), Some(error)),
    };
    let mut frames = Vec::new();
    for item in reader {
        match item {
            Ok(frame) => frames.push(frame),
            Err(error) => return (frames, Some(error)),
        }
    }
    (frames, None)
}

/// The type and body of the pcapng block at `offset`, after checking its length fields (§3.1: total
/// length at least 12, a multiple of 4, repeated after the body).
fn block_at(data: &[u8], offset: usize, endian: Endian) -> Result<(u32, &[u8]), Error> {
    let truncated = Error::Truncated { offset };
    let block_type = endian.u32(data, offset).ok_or(truncated)?;
    let length = endian.u32(data, offset.checked_add(4).ok_or(truncated)?).ok_or(truncated)?;
    let bad_length = Error::BadBlockLength { offset, length };
    let total = usize::try_from(length).map_err(|_| bad_length)?;
    if total < BLOCK_OVERHEAD || total % 4 != 0 {
        return Err(bad_length);
    }
    let end = offset.checked_add(total).ok_or(truncated)?;
    let block = data.get(offset..end).ok_or(truncated)?;
    if endian.u32(block, total - 4) != Some(length) {
        return Err(bad_length);
    }
    let body = block.get(8..total - 4).ok_or(bad_length)?;
    Ok((block_type, body))
}

/// Interface Description Block (§4.2): link type, reserved, snap length, options.
fn parse_interface(body: &[u8], offset: usize, endian: Endian) -> Result<Interface, Error> {
    let too_short = Error::BadBlockLength { offset, length: block_length(body) };
    let link_type = LinkType(endian.u16(body, 0).ok_or(too_short)?);
    let options = body.get(8..).ok_or(too_short)?;
    let mut interface = Interface { link_type, tsresol: DEFAULT_TSRESOL, tsoffset_seconds: 0 };
    for (code, value) in parse_options(options, offset, endian)? {
        match (code, value) {
            (OPTION_IF_TSRESOL, &[resolution, ..]) => interface.tsresol = resolution,
            (OPTION_IF_TSOFFSET, value) => {
                if let Some(bytes) = value.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    interface.tsoffset_seconds = match endian {
                        Endian::Little => i64::from_le_bytes(bytes),
                        Endian::Big => i64::from_be_bytes(bytes),
                    };
                }
            }
            _ => {}
        }
    }
    Ok(interface)
}

/// The options of a block (§3.5): (code, value) pairs, values padded to 32 bits, ended by `opt_endofopt`
/// or by the end of the block.
fn parse_options(mut data: &[u8], offset: usize, endian: Endian) -> Result<Vec<(u16, &[u8])>, Error> {
    let bad = Error::BadOptions { offset };
    let mut options = Vec::new();
    // Each pass consumes at least 4 bytes.
    while data.len() >= 4 {
        let code = endian.u16(data, 0).ok_or(bad)?;
        let len = usize::from(endian.u16(data, 2).ok_or(bad)?);
        if code == OPTION_END {
            break;
        }
        let value = data.get(4..4 + len).ok_or(bad)?;
        options.push((code, value));
        let padded = (len + 3) & !3;
        data = data.get(4 + padded..).unwrap_or(&[]);
    }
    Ok(options)
}

/// Enhanced Packet Block (§4.3), or obsolete Packet Block (Appendix A) when `block_type` says so:
/// interface (32 bits; obsolete: 16 bits and a drop counter), timestamp high and low, captured and
/// original length, data.
fn timestamped_packet<'a>(
    block_type: u32,
    body: &'a [u8],
    offset: usize,
    endian: Endian,
    interfaces: &[Interface],
) -> Result<Frame<'a>, Error> {
    let too_short = Error::BadBlockLength { offset, length: block_length(body) };
    let interface = if block_type == BLOCK_PACKET_OBSOLETE {
        endian.u16(body, 0).map(u32::from)
    } else {
        endian.u32(body, 0)
    }
    .ok_or(too_short)?;
    let high = endian.u32(body, 4).ok_or(too_short)?;
    let low = endian.u32(body, 8).ok_or(too_short)?;
    let captured_len = endian.u32(body, 12).ok_or(too_short)?;
    let original_len = endian.u32(body, 16).ok_or(too_short)?;
    let description = lookup_interface(interfaces, interface, offset)?;
    let data = packet_data(body, 20, captured_len, offset)?;
    Ok(Frame {
        timestamp_ns: Some(timestamp_ns(description, high, low)),
        link_type: description.link_type,
        interface,
        original_len,
        data,
    })
}

/// Simple Packet Block (§4.4): original length then data, on interface 0, without timestamp. The
/// captured length is what the block holds, capped by the original length (the rest is padding).
fn simple_packet<'a>(
    body: &'a [u8],
    offset: usize,
    endian: Endian,
    interfaces: &[Interface],
) -> Result<Frame<'a>, Error> {
    let too_short = Error::BadBlockLength { offset, length: block_length(body) };
    let original_len = endian.u32(body, 0).ok_or(too_short)?;
    let description = lookup_interface(interfaces, 0, offset)?;
    let available = body.get(4..).ok_or(too_short)?;
    let captured = usize::try_from(original_len).map_or(available.len(), |len| len.min(available.len()));
    let data = available.get(..captured).ok_or(too_short)?;
    Ok(Frame { timestamp_ns: None, link_type: description.link_type, interface: 0, original_len, data })
}

fn lookup_interface(interfaces: &[Interface], interface: u32, offset: usize) -> Result<&Interface, Error> {
    usize::try_from(interface)
        .ok()
        .and_then(|index| interfaces.get(index))
        .ok_or(Error::UnknownInterface { offset, interface })
}

/// `captured_len` bytes of `body` from `start`; they must fit in the block.
fn packet_data(body: &[u8], start: usize, captured_len: u32, offset: usize) -> Result<&[u8], Error> {
    let bad = Error::BadCapturedLength { offset, length: captured_len };
    let len = usize::try_from(captured_len).map_err(|_| bad)?;
    body.get(start..start.checked_add(len).ok_or(bad)?).ok_or(bad)
}

/// The total length of the block whose body is `body`, for error reports.
fn block_length(body: &[u8]) -> u32 {
    u32::try_from(body.len() + BLOCK_OVERHEAD).unwrap_or(u32::MAX)
}

/// A 64-bit pcapng timestamp in units of the interface's `if_tsresol`, shifted by `if_tsoffset`, as
/// nanoseconds since the epoch (saturating at the ends of `u64`).
fn timestamp_ns(interface: &Interface, high: u32, low: u32) -> u64 {
    let ticks = i128::from((u64::from(high) << 32) | u64::from(low));
    let exponent = u32::from(interface.tsresol & 0x7f);
    let nanos = if interface.tsresol & 0x80 != 0 {
        // 2^-n seconds per tick: ticks < 2^64 times 10^9 < 2^30 fits an i128.
        let scaled = ticks.saturating_mul(NANOS_PER_SECOND);
        scaled.checked_shr(exponent).unwrap_or(0)
    } else if exponent <= 9 {
        ticks.saturating_mul(10i128.pow(9 - exponent))
    } else {
        10i128.checked_pow(exponent - 9).map_or(0, |divisor| ticks / divisor)
    };
    let offset = i128::from(interface.tsoffset_seconds).saturating_mul(NANOS_PER_SECOND);
    let total = nanos.saturating_add(offset);
    u64::try_from(total.max(0)).unwrap_or(u64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Builds pcapng files block by block, in the byte order of the current section.
    pub(crate) struct PcapNgBuilder {
        endian: Endian,
        pub(crate) bytes: Vec<u8>,
    }

    impl PcapNgBuilder {
        pub(crate) fn new(big_endian: bool) -> Self {
            let mut builder = PcapNgBuilder { endian: Endian::Little, bytes: Vec::new() };
            builder.section(big_endian);
            builder
        }

        fn u16(&self, value: u16) -> [u8; 2] {
            match self.endian {
                Endian::Little => value.to_le_bytes(),
                Endian::Big => value.to_be_bytes(),
            }
        }

        fn u32(&self, value: u32) -> [u8; 4] {
            match self.endian {
                Endian::Little => value.to_le_bytes(),
                Endian::Big => value.to_be_bytes(),
            }
        }

        pub(crate) fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
            let padded = body.len().div_ceil(4) * 4;
            let total = u32::try_from(padded + BLOCK_OVERHEAD).unwrap();
            self.bytes.extend_from_slice(&self.u32(block_type));
            self.bytes.extend_from_slice(&self.u32(total));
            self.bytes.extend_from_slice(body);
            self.bytes.resize(self.bytes.len() + padded - body.len(), 0);
            self.bytes.extend_from_slice(&self.u32(total));
            self
        }

        pub(crate) fn section(&mut self, big_endian: bool) -> &mut Self {
            self.endian = if big_endian { Endian::Big } else { Endian::Little };
            let mut body = self.u32(0x1a2b_3c4d).to_vec();
            body.extend_from_slice(&self.u16(1));
            body.extend_from_slice(&self.u16(0));
            body.extend_from_slice(&[0xff; 8]); // section length unknown
            self.block(BLOCK_SECTION_HEADER, &body)
        }

        pub(crate) fn interface(&mut self, link_type: u16, options: &[(u16, &[u8])]) -> &mut Self {
            let mut body = self.u16(link_type).to_vec();
            body.extend_from_slice(&[0, 0]);
            body.extend_from_slice(&self.u32(65535));
            for (code, value) in options {
                body.extend_from_slice(&self.u16(*code));
                body.extend_from_slice(&self.u16(u16::try_from(value.len()).unwrap()));
                body.extend_from_slice(value);
                body.resize(body.len().div_ceil(4) * 4, 0);
            }
            body.extend_from_slice(&[0; 4]); // opt_endofopt
            self.block(BLOCK_INTERFACE_DESCRIPTION, &body)
        }

        pub(crate) fn enhanced(&mut self, interface: u32, ticks: u64, data: &[u8]) -> &mut Self {
            let mut body = self.u32(interface).to_vec();
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(u32::try_from(data.len()).unwrap()));
            body.extend_from_slice(&self.u32(u32::try_from(data.len()).unwrap() + 100));
            body.extend_from_slice(data);
            self.block(BLOCK_ENHANCED_PACKET, &body)
        }

        pub(crate) fn simple(&mut self, data: &[u8]) -> &mut Self {
            let mut body = self.u32(u32::try_from(data.len()).unwrap()).to_vec();
            body.extend_from_slice(data);
            self.block(BLOCK_SIMPLE_PACKET, &body)
        }

        pub(crate) fn obsolete(&mut self, interface: u16, ticks: u64, data: &[u8]) -> &mut Self {
            let mut body = self.u16(interface).to_vec();
            body.extend_from_slice(&self.u16(7)); // drops
            body.extend_from_slice(&self.u32((ticks >> 32) as u32));
            body.extend_from_slice(&self.u32(ticks as u32));
            body.extend_from_slice(&self.u32(u32::try_from(data.len()).unwrap()));
            body.extend_from_slice(&self.u32(u32::try_from(data.len()).unwrap()));
            body.extend_from_slice(data);
            self.block(BLOCK_PACKET_OBSOLETE, &body)
        }
    }

    /// A classic pcap file in either byte order and timestamp unit.
    fn classic(
        big_endian: bool,
        nanoseconds: bool,
        link_type: u32,
        records: &[(u32, u32, &[u8])],
    ) -> Vec<u8> {
        let u32b = |value: u32| if big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
        let u16b = |value: u16| if big_endian { value.to_be_bytes() } else { value.to_le_bytes() };
        let mut out = u32b(if nanoseconds { PCAP_NANOS } else { PCAP_MICROS }).to_vec();
        out.extend_from_slice(&u16b(2));
        out.extend_from_slice(&u16b(4));
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&u32b(65535));
        out.extend_from_slice(&u32b(link_type));
        for (seconds, fraction, data) in records {
            out.extend_from_slice(&u32b(*seconds));
            out.extend_from_slice(&u32b(*fraction));
            out.extend_from_slice(&u32b(u32::try_from(data.len()).unwrap()));
            out.extend_from_slice(&u32b(1500));
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn classic_pcap_in_every_byte_order_and_unit() {
        for big_endian in [false, true] {
            for nanoseconds in [false, true] {
                // Upper bits of the link-type field carry FCS information and are ignored.
                let file = classic(big_endian, nanoseconds, 0x1000_0001, &[(10, 5, b"abc"), (11, 0, b"")]);
                let reader = Reader::new(&file).unwrap();
                assert_eq!(reader.format(), Format::Pcap { big_endian, nanoseconds });
                let (frames, error) = read_all(&file);
                assert_eq!(error, None);
                let unit = if nanoseconds { 1 } else { 1000 };
                assert_eq!(frames.len(), 2);
                assert_eq!(frames[0].timestamp_ns, Some(10_000_000_000 + 5 * unit));
                assert_eq!(frames[0].data, b"abc");
                assert_eq!(frames[0].original_len, 1500);
                assert!(frames[0].is_truncated());
                assert_eq!(frames[0].link_type, LinkType::ETHERNET);
                assert_eq!(frames[1].timestamp_ns, Some(11_000_000_000));
                assert_eq!(frames[1].data, b"");
            }
        }
    }

    #[test]
    fn classic_pcap_damage_keeps_earlier_frames() {
        let file = classic(false, false, 1, &[(1, 0, b"first"), (2, 0, b"second")]);
        let (frames, error) = read_all(&file[..file.len() - 1]);
        assert_eq!(frames.len(), 1);
        assert_eq!(error, Some(Error::Truncated { offset: 24 + 16 + 5 }));
        let (frames, error) = read_all(&file[..30]);
        assert!(frames.is_empty());
        assert_eq!(error, Some(Error::Truncated { offset: 24 }));
        let mut wrong_version = file.clone();
        wrong_version[4] = 3;
        assert_eq!(
            Reader::new(&wrong_version).err(),
            Some(Error::UnsupportedVersion { offset: 4, major: 3, minor: 4 })
        );
        assert_eq!(Reader::new(&file[..20]).err(), Some(Error::Truncated { offset: 0 }));
        assert_eq!(Reader::new(b"GIF89a..").err(), Some(Error::UnknownFormat));
        assert_eq!(Reader::new(b"").err(), Some(Error::UnknownFormat));
    }

    #[test]
    fn pcapng_blocks_sections_and_resolutions() {
        for big_endian in [false, true] {
            let mut file = PcapNgBuilder::new(big_endian);
            file.interface(1, &[(2, b"eth0"), (OPTION_IF_TSRESOL, &[9])])
                .interface(101, &[])
                .block(0x0000_0bad, b"custom block, skipped")
                .enhanced(0, 1_700_000_000_123_456_789, b"nano")
                .enhanced(1, 1_700_000_000_123_456, b"micro")
                .simple(b"simple")
                .obsolete(1, 5, b"old")
                .block(5, &[0; 20]); // Interface Statistics Block, skipped
                                     // A new section in the other byte order with its own interfaces and a 2^-10 s clock, 10 s late.
            let tsoffset = if big_endian { 10i64.to_le_bytes() } else { 10i64.to_be_bytes() };
            file.section(!big_endian)
                .interface(113, &[(OPTION_IF_TSRESOL, &[0x80 | 10]), (OPTION_IF_TSOFFSET, &tsoffset)]);
            file.enhanced(0, 2048, b"binary");
            let (frames, error) = read_all(&file.bytes);
            assert_eq!(error, None);
            let summary: Vec<_> =
                frames.iter().map(|f| (f.timestamp_ns, f.link_type.0, f.interface, f.data)).collect();
            assert_eq!(
                summary,
                vec![
                    (Some(1_700_000_000_123_456_789), 1, 0, &b"nano"[..]),
                    (Some(1_700_000_000_123_456_000), 101, 1, &b"micro"[..]),
                    (None, 1, 0, &b"simple"[..]),
                    (Some(5_000), 101, 1, &b"old"[..]),
                    (Some(12_000_000_000), 113, 0, &b"binary"[..]),
                ]
            );
            assert_eq!(frames[0].original_len, 104);
            assert_eq!(frames[2].original_len, 6);
        }
    }

    #[test]
    fn pcapng_damage_is_reported_after_good_frames() {
        let mut file = PcapNgBuilder::new(false);
        file.interface(1, &[]).enhanced(0, 1, b"good");
        let good_len = file.bytes.len();
        file.enhanced(1, 2, b"no such interface");
        let (frames, error) = read_all(&file.bytes);
        assert_eq!(frames.len(), 1);
        assert_eq!(error, Some(Error::UnknownInterface { offset: good_len, interface: 1 }));

        let mut trailing = file.bytes[..good_len].to_vec();
        trailing.extend_from_slice(&[6, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0]);
        assert_eq!(read_all(&trailing).1, Some(Error::BadBlockLength { offset: good_len, length: 16 }));

        let mut odd = file.bytes[..good_len].to_vec();
        odd.extend_from_slice(&[6, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0, 13]);
        assert_eq!(read_all(&odd).1, Some(Error::BadBlockLength { offset: good_len, length: 13 }));

        let mut no_interfaces = PcapNgBuilder::new(true);
        no_interfaces.simple(b"x");
        assert_eq!(
            read_all(&no_interfaces.bytes).1,
            Some(Error::UnknownInterface { offset: 28, interface: 0 })
        );

        let mut bad_magic = file.bytes.clone();
        bad_magic[8] = 0;
        assert_eq!(read_all(&bad_magic), (vec![], Some(Error::BadByteOrderMagic { offset: 0 })));

        let mut version_two = file.bytes.clone();
        version_two[12] = 2;
        assert_eq!(
            read_all(&version_two).1,
            Some(Error::UnsupportedVersion { offset: 0, major: 2, minor: 0 })
        );

        // Captured length larger than the block.
        let mut overlong = PcapNgBuilder::new(false);
        overlong.interface(1, &[]).enhanced(0, 1, b"data");
        let captured_len_at = 28 + 24 + 8 + 12;
        overlong.bytes[captured_len_at] = 9;
        assert_eq!(read_all(&overlong.bytes).1, Some(Error::BadCapturedLength { offset: 52, length: 9 }));

        // An option longer than its block.
        let mut options = PcapNgBuilder::new(false);
        options.interface(1, &[(2, b"abcd")]);
        options.bytes[28 + 8 + 8 + 2] = 200;
        assert_eq!(read_all(&options.bytes).1, Some(Error::BadOptions { offset: 28 }));
    }

    #[test]
    fn iterator_stops_after_an_error() {
        let file = classic(false, false, 1, &[(1, 0, b"a")]);
        let mut reader = Reader::new(&file[..file.len() - 1]).unwrap();
        assert!(matches!(reader.next(), Some(Err(Error::Truncated { .. }))));
        assert_eq!(reader.next(), None);
        assert_eq!(reader.next(), None);
    }

    #[test]
    fn timestamp_conversion_saturates_instead_of_overflowing() {
        let interface =
            |tsresol, tsoffset_seconds| Interface { link_type: LinkType(1), tsresol, tsoffset_seconds };
        assert_eq!(timestamp_ns(&interface(0, 0), u32::MAX, u32::MAX), u64::MAX);
        assert_eq!(timestamp_ns(&interface(127, 0), u32::MAX, u32::MAX), 0);
        assert_eq!(timestamp_ns(&interface(12, 0), 0, 5_000), 5);
        assert_eq!(timestamp_ns(&interface(0xff, 0), u32::MAX, u32::MAX), 0);
        assert_eq!(timestamp_ns(&interface(9, i64::MIN), 0, 1), 0);
        assert_eq!(timestamp_ns(&interface(9, i64::MAX), 0, 1), u64::MAX);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = read_all(&bytes);
        }

        #[test]
        fn arbitrary_bodies_after_each_magic_never_panic(
            magic in prop::sample::select(vec![
                [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0xc3, 0xd4], [0x4d, 0x3c, 0xb2, 0xa1],
                [0xa1, 0xb2, 0x3c, 0x4d], [0x0a, 0x0d, 0x0d, 0x0a],
            ]),
            rest in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let mut bytes = magic.to_vec();
            bytes.extend_from_slice(&rest);
            let (frames, _) = read_all(&bytes);
            prop_assert!(frames.iter().all(|frame| frame.data.len() <= bytes.len()));
        }

        #[test]
        fn corrupted_pcapng_never_panics(
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let mut file = PcapNgBuilder::new(false);
            file.interface(1, &[(OPTION_IF_TSRESOL, &[9])]).enhanced(0, 1, b"abcdefgh").simple(b"xyz")
                .obsolete(0, 2, b"old").section(true).interface(101, &[]).enhanced(0, 3, b"ijkl");
            let mut bytes = file.bytes.clone();
            for (index, value) in flips {
                let at = index.index(bytes.len());
                bytes[at] = value;
            }
            let _ = read_all(&bytes);
        }
    }
}
