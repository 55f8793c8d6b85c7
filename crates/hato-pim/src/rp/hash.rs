//! The RP hash function of RFC 7761 §4.7.2 (unchanged from RFC 4601 and RFC 2362):
//!
//! ```text
//! Value(G,M,C(i)) = (1103515245 * ((1103515245 * (G&M) + 12345) XOR C(i)) + 12345) mod 2^31
//! ```
//!
//! For families other than IPv4, RFC 7761 §4.7.2 asks for a 32-bit digest of the group and RP
//! addresses, used consistently in the domain, and recommends for IPv6 the XOR of the address's
//! four 32-bit words. The mask is applied to the full group address first (`G&M` with the
//! 128-bit hash mask of the Bootstrap message, RFC 5059 §4.1), then the masked group is folded.
//! MRD6 does the same; FRR's pim6d folds first and masks the 32-bit digest, which agrees only
//! for mask lengths of 0 and 128 (unchecked: Debian's FRR 8.4.4 has no pim6d). For IPv4 the
//! values equal FRR 8.4.4's; `tests/rp_vectors.rs` compares the choices of FRR and troglobit pimd
//! and explains where they leave the RFC.

use hato_core::Afi;
use std::net::IpAddr;

const MULTIPLIER: u32 = 1_103_515_245;
const INCREMENT: u32 = 12_345;
const MOD_2_31: u32 = 0x7fff_ffff;

/// The 32-bit digest of an address (RFC 7761 §4.7.2): the address itself for IPv4, the XOR of
/// the four 32-bit words for IPv6.
pub fn digest<A: Afi>(addr: A::Addr) -> u32 {
    match addr.into() {
        IpAddr::V4(a) => u32::from(a),
        IpAddr::V6(a) => {
            let bits = u128::from(a);
            // Truncating casts pick out each 32-bit word.
            (bits >> 96) as u32 ^ (bits >> 64) as u32 ^ (bits >> 32) as u32 ^ bits as u32
        }
    }
}

/// `group` with every bit past the first `mask_len` cleared (`G&M`); lengths past the address
/// length keep the whole address.
pub fn mask_group<A: Afi>(group: A::Addr, mask_len: u8) -> A::Addr {
    A::prefix(group, mask_len.min(A::MAX_PREFIX_LEN)).map_or(group, |p| A::prefix_parts(&p).0)
}

/// `Value(G, M, C)` of RFC 7761 §4.7.2 for group `group`, hash mask length `mask_len` and
/// candidate RP `rp`. Only the low 31 bits of the products matter, so 32-bit wrapping arithmetic
/// gives the same result as the wider arithmetic of other implementations.
pub fn hash_value<A: Afi>(group: A::Addr, mask_len: u8, rp: A::Addr) -> u32 {
    let g = digest::<A>(mask_group::<A>(group, mask_len));
    let c = digest::<A>(rp);
    let inner = MULTIPLIER.wrapping_mul(g).wrapping_add(INCREMENT);
    MULTIPLIER.wrapping_mul(inner ^ c).wrapping_add(INCREMENT) & MOD_2_31
}

/// The default hash mask length: 30 for IPv4, 126 for IPv6 (RFC 5059 §3.1: four consecutive
/// groups hash to the same RP).
pub fn default_hash_mask_len<A: Afi>() -> u8 {
    A::MAX_PREFIX_LEN - 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::{V4, V6};

    /// The same computation in 64-bit arithmetic, as FRR's `hash_calc_on_grp_rp` writes it.
    fn wide(g: u32, c: u32) -> u32 {
        let inner = 1_103_515_245u64.wrapping_mul(u64::from(g)).wrapping_add(12_345);
        let v = 1_103_515_245u64.wrapping_mul(inner ^ u64::from(c)).wrapping_add(12_345);
        (v & 0x7fff_ffff) as u32
    }

    #[test]
    fn matches_wide_arithmetic() {
        for (g, c) in
            [(0u32, 0u32), (0xefc0_a800, 0xc0a8_0101), (u32::MAX, u32::MAX), (0x1234_5678, 0x9abc_def0)]
        {
            let group = std::net::Ipv4Addr::from(g);
            let rp = std::net::Ipv4Addr::from(c);
            assert_eq!(hash_value::<V4>(group, 32, rp), wide(g, c));
        }
    }

    #[test]
    fn ipv6_digest_folds_words() {
        let a: std::net::Ipv6Addr = "ff0e:c20:1a3:63::101".parse().unwrap();
        assert_eq!(digest::<V6>(a), 0xff0e_0c20 ^ 0x01a3_0063 ^ 0x0000_0101);
    }

    #[test]
    fn mask_clears_low_bits() {
        let g: std::net::Ipv4Addr = "239.1.1.7".parse().unwrap();
        assert_eq!(mask_group::<V4>(g, 30), "239.1.1.4".parse::<std::net::Ipv4Addr>().unwrap());
        assert_eq!(mask_group::<V4>(g, 0), std::net::Ipv4Addr::UNSPECIFIED);
        assert_eq!(mask_group::<V4>(g, 200), g);
    }
}
