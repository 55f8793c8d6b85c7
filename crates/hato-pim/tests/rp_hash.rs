//! RFC 7761 §4.7.2 hash vectors: a table of groups × hash mask lengths × RPs recorded in
//! `tests/data/` by an independent implementation (`gen_rp_hash.py`).

use hato_core::{Afi, V4, V6};
use hato_pim::rp::hash_value;

fn check_table<A: Afi>(text: &str) -> usize {
    let mut rows = 0;
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [group, mask, rp, value] = fields[..] else { panic!("bad line {line}") };
        let group: A::Addr = group.parse().unwrap_or_else(|_| panic!("group in {line}"));
        let rp: A::Addr = rp.parse().unwrap_or_else(|_| panic!("rp in {line}"));
        let mask: u8 = mask.parse().unwrap();
        let value: u32 = value.parse().unwrap();
        assert_eq!(hash_value::<A>(group, mask, rp), value, "{line}");
        rows += 1;
    }
    rows
}

#[test]
fn ipv4_table() {
    assert_eq!(check_table::<V4>(include_str!("data/rp_hash_v4.txt")), 7 * 4 * 4);
}

#[test]
fn ipv6_table() {
    assert_eq!(check_table::<V6>(include_str!("data/rp_hash_v6.txt")), 5 * 4 * 4);
}

#[test]
fn hash_mask_groups_consecutive_groups() {
    // With mask 30, 239.1.2.4..7 hash alike for every RP; 239.1.2.3 is in another block.
    let rp: std::net::Ipv4Addr = "198.18.0.1".parse().unwrap();
    let h = |g: &str| hash_value::<V4>(g.parse().unwrap(), 30, rp);
    assert_eq!(h("239.1.2.4"), h("239.1.2.7"));
    assert_ne!(h("239.1.2.3"), h("239.1.2.4"));
    // For IPv6 with mask 126 likewise.
    let rp6: std::net::Ipv6Addr = "fd00::1".parse().unwrap();
    let h6 = |g: &str| hash_value::<V6>(g.parse().unwrap(), 126, rp6);
    assert_eq!(h6("ff0e::4"), h6("ff0e::7"));
    assert_ne!(h6("ff0e::3"), h6("ff0e::4"));
}
