//! The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1) that MLD (RFC 3810
//! §5) and PIM over IPv6 (RFC 7761 §4.9) include. IGMP and PIM over IPv4 sum the message alone
//! (PIM Register: only the first 8 octets, RFC 7761 §4.9.3).

use std::net::Ipv6Addr;

/// The ones'-complement sum of `data` folded to 16 bits, added to `initial` (not complemented).
pub fn sum(initial: u32, data: &[u8]) -> u32 {
    let mut acc = u64::from(initial);
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        acc += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    fold(acc)
}

fn fold(mut acc: u64) -> u32 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u32
}

/// The checksum to write into a header: the complement of the folded sum.
pub fn finish(acc: u32) -> u16 {
    !(fold(u64::from(acc)) as u16)
}

/// The checksum of `data` alone (IGMP, PIM over IPv4).
pub fn checksum(data: &[u8]) -> u16 {
    finish(sum(0, data))
}

/// The partial sum of the IPv6 pseudo-header: source, destination, upper-layer length and next
/// header.
pub fn ipv6_pseudo_header(src: &Ipv6Addr, dst: &Ipv6Addr, upper_len: u32, next_header: u8) -> u32 {
    let mut acc = sum(0, &src.octets());
    acc = sum(acc, &dst.octets());
    acc = sum(acc, &upper_len.to_be_bytes());
    sum(acc, &[0, 0, 0, next_header])
}

/// The checksum context of a message: which pseudo-header (if any) is part of the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumContext {
    /// IPv4 upper layers (IGMP, PIM): the message alone.
    Plain,
    /// IPv6 upper layers (MLD, PIM): with the pseudo-header of these addresses.
    Ipv6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl ChecksumContext {
    /// The initial sum for a message of `len` octets carried as `next_header`.
    pub fn initial(&self, len: usize, next_header: u8) -> u32 {
        match self {
            ChecksumContext::Plain => 0,
            ChecksumContext::Ipv6 { src, dst } => {
                ipv6_pseudo_header(src, dst, u32::try_from(len).unwrap_or(u32::MAX), next_header)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(sum(0, &data), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(0, &[0x12]), 0x1200);
        assert_eq!(sum(0, &[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn verifies_to_zero() {
        let mut msg = vec![0x11, 0x64, 0, 0, 224, 0, 0, 1];
        let c = checksum(&msg);
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(checksum(&msg), 0);
    }
}
