//! Golden vectors from the lab captures (FRR, troglobit pimd, pim6sd, pimd-dense, pim-dm), malformed
//! variants, and property tests for every PIM message.

mod captures;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hato_core::{Afi, V4, V6};
use proptest::prelude::*;

use super::strategies;
use super::*;
use crate::checksum::{checksum, ChecksumContext};
use crate::testutil::hex;

/// One PIM message captured on a lab link, with the IP addresses it travelled between.
#[derive(Debug)]
struct Captured {
    file: &'static str,
    frame: usize,
    src: &'static str,
    dst: &'static str,
    hex: &'static str,
}

impl Captured {
    fn bytes(&self) -> Vec<u8> {
        hex(self.hex)
    }

    fn ctx(&self) -> ChecksumContext {
        match (self.src.parse::<IpAddr>().unwrap(), self.dst.parse::<IpAddr>().unwrap()) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => ChecksumContext::Ipv6 { src, dst },
            _ => ChecksumContext::Plain,
        }
    }

    fn is_ipv6(&self) -> bool {
        matches!(self.ctx(), ChecksumContext::Ipv6 { .. })
    }

    /// pim-dm leaves the pseudo-header out of every PIMv6 checksum.
    fn has_bad_checksum(&self) -> bool {
        self.file.starts_with("pimdm-py") && self.is_ipv6()
    }
}

fn captured(file: &str, frame: usize) -> &'static Captured {
    captures::CAPTURED.iter().find(|c| c.file == file && c.frame == frame).unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// Parses a captured message of family `A`, checks the expected Repr both ways: it decodes to
/// `expected`, and `expected` encodes to the captured octets.
fn golden<A: Afi>(c: &Captured, expected: PimMessage<A>) {
    let bytes = c.bytes();
    assert_eq!(PimMessage::<A>::parse(&bytes, c.ctx()), Ok(expected.clone()), "{c:?}");
    assert_eq!(expected.buffer_len(), bytes.len());
    assert_eq!(expected.to_bytes(c.ctx()).unwrap(), bytes, "{c:?}");
}

fn parse_any(c: &Captured, bytes: &[u8]) -> Result<String> {
    if c.is_ipv6() {
        PimMessage::<V6>::parse(bytes, c.ctx()).map(|m| m.to_string())
    } else {
        PimMessage::<V4>::parse(bytes, c.ctx()).map(|m| m.to_string())
    }
}

fn reencode_any(c: &Captured) -> Vec<u8> {
    let bytes = c.bytes();
    if c.is_ipv6() {
        PimMessage::<V6>::parse(&bytes, c.ctx()).unwrap().to_bytes(c.ctx()).unwrap()
    } else {
        PimMessage::<V4>::parse(&bytes, c.ctx()).unwrap().to_bytes(c.ctx()).unwrap()
    }
}

#[test]
fn every_captured_message_decodes_and_reencodes_byte_for_byte() {
    let mut decoded = 0;
    for c in captures::CAPTURED {
        if c.has_bad_checksum() {
            continue;
        }
        let summary = parse_any(c, &c.bytes()).unwrap_or_else(|e| panic!("{c:?}: {e}"));
        assert!(summary.starts_with("PIMv2 "), "{summary}");
        assert_eq!(reencode_any(c), c.bytes(), "{c:?}");
        decoded += 1;
    }
    assert!(decoded >= 40, "only {decoded} captured messages");
}

#[test]
fn pim_dm_ipv6_checksums_are_rejected_and_its_ipv4_hellos_decode() {
    let file = "pimdm-py-pimv6-bad-checksums.pcap";
    let (mut bad, mut good) = (0, 0);
    for c in captures::CAPTURED.iter().filter(|c| c.file == file) {
        if c.is_ipv6() {
            assert_eq!(PimMessage::<V6>::parse(&c.bytes(), c.ctx()), Err(Error::BadChecksum), "{c:?}");
            bad += 1;
        } else {
            assert!(matches!(PimMessage::<V4>::parse(&c.bytes(), c.ctx()), Ok(PimMessage::Hello(_))));
            good += 1;
        }
    }
    assert_eq!((bad, good), (5, 2));
    // The pim-dm PIMv6 Hellos in the other capture are wrong the same way.
    let c = captured("pimdm-py-pimdm-igmpv2.pcap", 3);
    assert_eq!(PimMessage::<V6>::parse(&c.bytes(), c.ctx()), Err(Error::BadChecksum));
}

#[test]
fn every_truncation_is_an_error() {
    for c in captures::CAPTURED {
        let bytes = c.bytes();
        for len in 0..bytes.len() {
            assert!(parse_any(c, &bytes[..len]).is_err(), "{c:?} cut to {len}");
        }
    }
}

#[test]
fn every_truncation_with_a_fixed_checksum_is_an_error() {
    // Refill the checksum after cutting, so that the body decoders see the short message. Hellos
    // and Bootstraps end where their data ends: cut at an option or group range boundary they are
    // shorter valid messages, which must then re-encode to exactly the cut octets.
    for c in captures::CAPTURED {
        let bytes = c.bytes();
        let ctx = c.ctx();
        for len in 4..bytes.len() {
            let cut = forge(bytes[0], bytes[1], &bytes[4..len], ctx);
            let reencoded = if c.is_ipv6() {
                PimMessage::<V6>::parse(&cut, ctx).and_then(|m| m.to_bytes(ctx))
            } else {
                PimMessage::<V4>::parse(&cut, ctx).and_then(|m| m.to_bytes(ctx))
            };
            let open_ended = matches!(bytes[0] & 0x0f, 0 | 4);
            match reencoded {
                Err(_) => {}
                Ok(again) => assert!(open_ended && again == cut, "{c:?} cut to {len}"),
            }
        }
    }
}

#[test]
fn corrupted_checksums_are_detected() {
    for c in captures::CAPTURED.iter().filter(|c| !c.has_bad_checksum()) {
        let mut bytes = c.bytes();
        bytes[3] ^= 0x01;
        assert_eq!(parse_any(c, &bytes), Err(Error::BadChecksum), "{c:?}");
        // The same octets are wrong under the other family's checksum rules.
        let wrong_context = if c.is_ipv6() {
            PimMessage::<V6>::parse(&c.bytes(), ChecksumContext::Plain).map(|_| ())
        } else {
            PimMessage::<V4>::parse(
                &c.bytes(),
                ChecksumContext::Ipv6 { src: v6("fd00::1"), dst: v6("fd00::2") },
            )
            .map(|_| ())
        };
        assert_eq!(wrong_context, Err(Error::BadAddressFamily));
    }
}

#[test]
fn frr_hello_with_lan_prune_delay_and_mixed_address_list() {
    let c = captured("frr-pimsm-igmp.pcap", 52);
    let hello = Hello {
        options: vec![
            HelloOption::Holdtime(105),
            HelloOption::LanPruneDelay {
                join_suppression_disabled: false,
                propagation_delay: 500,
                override_interval: 2500,
            },
            HelloOption::DrPriority(1),
            HelloOption::GenerationId(0x3e39_c995),
            HelloOption::AddressList(vec![v6("fd00:30::1").into(), v6("fe80::1").into()]),
        ],
    };
    assert_eq!(hello.holdtime(), Some(105));
    assert_eq!(hello.lan_prune_delay(), Some((false, 500, 2500)));
    assert_eq!(hello.secondary_addresses::<V4>().count(), 0);
    assert_eq!(hello.secondary_addresses::<V6>().collect::<Vec<_>>(), [v6("fd00:30::1"), v6("fe80::1")]);
    assert_eq!(
        PimMessage::<V4>::Hello(hello.clone()).to_string(),
        "PIMv2 Hello holdtime 105s, lan-prune-delay 500ms override 2500ms, dr-priority 1, \
         genid 0x3e39c995, addresses fd00:30::1 fe80::1"
    );
    golden::<V4>(c, PimMessage::Hello(hello));
}

#[test]
fn pim6sd_hello_keeps_its_vendor_option() {
    let c = captured("pim6sd-pimsm6.pcapng", 5);
    let addr = v6("fd00:2::1");
    let mut raw = vec![2, 0];
    raw.extend_from_slice(&addr.octets());
    golden::<V6>(
        c,
        PimMessage::Hello(Hello {
            options: vec![
                HelloOption::Holdtime(105),
                HelloOption::DrPriority(1),
                HelloOption::GenerationId(0x1751_c2b4),
                HelloOption::AddressList(vec![addr.into()]),
                HelloOption::Unknown { option_type: 65001, value: raw },
            ],
        }),
    );
}

#[test]
fn pim_dm_hello_state_refresh_capable_and_pimd_dense_goodbye() {
    let hello = |holdtime, genid, extra: Option<HelloOption>| {
        let mut options = vec![HelloOption::Holdtime(holdtime), HelloOption::GenerationId(genid)];
        options.extend(extra);
        PimMessage::Hello(Hello { options })
    };
    let refresh = HelloOption::StateRefreshCapable { version: 1, interval: 60, reserved: 0 };
    golden::<V4>(captured("pimdm-py-pimdm-igmpv2.pcap", 7), hello(105, 0x164c_8f51, Some(refresh)));
    // pimd-dense says goodbye with holdtime 0 (RFC 7761 §4.3.1).
    golden::<V4>(captured("pimdd-pimdm-lan.pcapng", 32), hello(0, 0x6633_4873, None));
}

#[test]
fn frr_join_prune_star_g_join_with_sg_rpt_prune() {
    let c = captured("frr-pimsm-igmp.pcap", 22);
    let jp = JoinPrune {
        upstream_neighbor: v4("198.18.3.2"),
        holdtime: 210,
        groups: vec![JoinPruneGroup {
            group: EncodedGroup::host(v4("239.1.1.1")),
            joins: vec![EncodedSource::star_g(v4("198.18.2.2"))],
            prunes: vec![EncodedSource::sg_rpt(v4("198.18.1.10"))],
        }],
    };
    assert_eq!(
        PimMessage::<V4>::JoinPrune(jp.clone()).to_string(),
        "PIMv2 Join/Prune to 198.18.3.2 holdtime 210s: 239.1.1.1 join *(rp 198.18.2.2) prune 198.18.1.10 rpt"
    );
    golden::<V4>(c, PimMessage::JoinPrune(jp));
}

#[test]
fn frr_ipv6_join() {
    let c = captured("frr-pimsm6-mld.pcap", 2);
    golden::<V6>(
        c,
        PimMessage::JoinPrune(JoinPrune {
            upstream_neighbor: v6("fe80::2"),
            holdtime: 210,
            groups: vec![JoinPruneGroup {
                group: EncodedGroup::host(v6("ff0e::1:1")),
                joins: vec![EncodedSource::star_g(v6("fd00:2::2"))],
                prunes: vec![],
            }],
        }),
    );
}

#[test]
fn asserts_and_assert_cancel() {
    let assert = |metric_preference, metric, rpt| {
        PimMessage::Assert(Assert {
            group: EncodedGroup::host(v4("232.1.1.1")),
            source: v4("198.18.20.10"),
            rpt,
            metric_preference,
            metric,
        })
    };
    golden::<V4>(captured("pimd-pimsm-lan-assert.pcap", 2), assert(0, 0, false));
    let cancel = assert(MAX_METRIC_PREFERENCE, u32::MAX, true);
    assert!(matches!(&cancel, PimMessage::Assert(a) if a.is_cancel()));
    golden::<V4>(captured("frr-pimsm-igmp.pcap", 50), cancel);
}

#[test]
fn pimd_dense_graft_and_graft_ack() {
    let body = |upstream| JoinPrune {
        upstream_neighbor: v4(upstream),
        holdtime: 0,
        groups: vec![JoinPruneGroup {
            group: EncodedGroup::host(v4("239.2.2.2")),
            joins: vec![EncodedSource { sparse: false, ..EncodedSource::sg(v4("198.18.1.10")) }],
            prunes: vec![],
        }],
    };
    golden::<V4>(captured("pimdd-pimdm-lan.pcapng", 25), PimMessage::Graft(body("198.18.2.3")));
    golden::<V4>(captured("pimdd-pimdm-lan.pcapng", 26), PimMessage::GraftAck(body("198.18.2.3")));
    assert!(PimMessage::<V4>::Graft(body("198.18.2.3")).to_string().starts_with("PIMv2 Graft to 198.18.2.3"));
}

#[test]
fn pim6sd_bootstrap() {
    let bsr = v6("fd00:2::2");
    golden::<V6>(
        captured("pim6sd-pimsm6.pcapng", 10),
        PimMessage::Bootstrap(Bootstrap {
            no_forward: false,
            fragment_tag: 0x684b,
            hash_mask_len: 126,
            bsr_priority: 0,
            bsr_address: bsr,
            group_ranges: vec![],
        }),
    );
    golden::<V6>(
        captured("pim6sd-pimsm6.pcapng", 19),
        PimMessage::Bootstrap(Bootstrap {
            no_forward: false,
            fragment_tag: 0x684c,
            hash_mask_len: 126,
            bsr_priority: 0,
            bsr_address: bsr,
            group_ranges: vec![BootstrapGroupRange {
                group: EncodedGroup::range(v6("ff3e::"), 16),
                rp_count: 1,
                rps: vec![BootstrapRp { address: bsr, holdtime: 150, priority: 0 }],
            }],
        }),
    );
}

#[test]
fn bootstrap_no_forward_bit_is_in_the_header() {
    let bootstrap = PimMessage::<V4>::Bootstrap(Bootstrap {
        no_forward: true,
        fragment_tag: 1,
        hash_mask_len: 30,
        bsr_priority: 64,
        bsr_address: v4("198.18.0.1"),
        group_ranges: vec![],
    });
    let bytes = bootstrap.to_bytes(ChecksumContext::Plain).unwrap();
    assert_eq!(&bytes[..2], &[0x24, 0x80]);
    assert_eq!(PimMessage::parse(&bytes, ChecksumContext::Plain), Ok(bootstrap));
}

#[test]
fn pim6sd_register_and_wildcard_register_stop() {
    let c = captured("pim6sd-pimsm6.pcapng", 21);
    let bytes = c.bytes();
    let register = PimMessage::<V6>::Register(Register::data(bytes[8..].to_vec()));
    assert_eq!(register.to_string(), "PIMv2 Register (fd00:1::10, ff3e:40:fd00:1::4242) 148 bytes inside");
    golden::<V6>(c, register);
    golden::<V6>(
        captured("pim6sd-pimsm6.pcapng", 99),
        PimMessage::RegisterStop(RegisterStop {
            group: EncodedGroup::host(v6("ff3e:40:fd00:1::4242")),
            source: Ipv6Addr::UNSPECIFIED,
        }),
    );
}

/// A payload-less IPv4 header (a Null-Register's dummy header, RFC 7761 §4.4.1).
fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
    let mut header = vec![0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0];
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    header
}

/// A payload-less IPv6 header.
fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut header = vec![0x60, 0, 0, 0, 0, 0, 59, 64];
    header.extend_from_slice(&src.octets());
    header.extend_from_slice(&dst.octets());
    header
}

#[test]
fn register_inner_packet_is_checked() {
    let ctx = ChecksumContext::Plain;
    let data = ipv4_header(v4("198.18.1.10"), v4("239.1.1.1"));
    let register = Register::data(data.clone());
    assert_eq!(register.inner_source_group::<V4>(), Some((v4("198.18.1.10"), v4("239.1.1.1"))));
    let bytes = PimMessage::<V4>::Register(register).to_bytes(ctx).unwrap();
    // The checksum leaves the data out, so a cut inner packet is caught by its own length field.
    for len in 8..bytes.len() {
        assert!(PimMessage::<V4>::parse(&bytes[..len], ctx).is_err(), "{len}");
    }
    // Padding after the inner packet is kept; an IPv6 packet inside an IPv4 Register is refused.
    let mut padded = bytes.clone();
    padded.extend_from_slice(&[0, 0]);
    let PimMessage::Register(parsed) = PimMessage::<V4>::parse(&padded, ctx).unwrap() else { panic!() };
    assert_eq!(parsed.packet.len(), data.len() + 2);
    let wrong_family = Register::data(ipv6_header(v6("fd00::1"), v6("ff3e::1")));
    assert_eq!(PimMessage::<V4>::Register(wrong_family).to_bytes(ctx), Err(Error::Malformed));
}

#[test]
fn register_checksum_over_header_or_whole_message() {
    let register = PimMessage::<V6>::Register(Register {
        border: false,
        null_register: true,
        reserved: 0,
        packet: ipv6_header(v6("fd00:1::10"), v6("ff3e::4242")),
    });
    let ctx = ChecksumContext::Ipv6 { src: v6("fd00:1::1"), dst: v6("fd00:2::2") };
    let header_only = register.to_bytes(ctx).unwrap();
    // The data is not covered: changing it keeps the checksum valid.
    let mut changed = header_only.clone();
    changed[9] ^= 0x0f;
    assert!(PimMessage::<V6>::parse(&changed, ctx).is_ok());
    // A Register checksummed over the whole message (pseudo-header of the full length) is accepted.
    let mut whole = header_only.clone();
    whole[2..4].fill(0);
    let sum = finish(sum(ctx.initial(whole.len(), IP_PROTOCOL), &whole));
    whole[2..4].copy_from_slice(&sum.to_be_bytes());
    assert_ne!(whole, header_only);
    assert_eq!(PimMessage::<V6>::parse(&whole, ctx), Ok(register.clone()));
    // Over IPv4 the header-only sum has no pseudo-header.
    let v4_register =
        PimMessage::<V4>::Register(Register::data(ipv4_header(v4("198.18.1.10"), v4("239.1.1.1"))));
    let bytes = v4_register.to_bytes(ChecksumContext::Plain).unwrap();
    assert_eq!(checksum(&bytes[..REGISTER_CHECKSUM_LEN]), 0);
    assert_eq!(PimMessage::parse(&bytes, ChecksumContext::Plain), Ok(v4_register));
    // Any other type must checksum the whole message.
    let hello = PimMessage::<V4>::Hello(Hello { options: vec![HelloOption::Holdtime(105)] });
    let mut bytes = hello.to_bytes(ChecksumContext::Plain).unwrap();
    bytes[7] ^= 1;
    assert_eq!(PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain), Err(Error::BadChecksum));
}

/// Fills the checksum of an IPv4 PIM message built by hand.
fn with_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&bytes);
    bytes[2..4].copy_from_slice(&sum.to_be_bytes());
    bytes
}

#[test]
fn state_refresh_golden() {
    // RFC 3973 §4.7.1, built field by field.
    #[rustfmt::skip]
    let bytes = with_checksum(vec![
        0x29, 0, 0, 0,
        1, 0, 0, 32, 239, 1, 1, 1,      // group
        1, 0, 198, 18, 1, 10,           // source
        1, 0, 198, 18, 1, 1,            // originator
        0, 0, 0, 110,                   // R = 0, metric preference 110
        0, 0, 0, 20,                    // metric
        24, 16, 0xa0, 60,               // mask length, TTL, P and O bits, interval
    ]);
    let expected = PimMessage::<V4>::StateRefresh(StateRefresh {
        group: EncodedGroup::host(v4("239.1.1.1")),
        source: v4("198.18.1.10"),
        originator: v4("198.18.1.1"),
        rpt: false,
        metric_preference: 110,
        metric: 20,
        mask_len: 24,
        ttl: 16,
        prune_indicator: true,
        prune_now: false,
        assert_override: true,
        reserved: 0,
        interval: 60,
    });
    assert_eq!(PimMessage::parse(&bytes, ChecksumContext::Plain), Ok(expected.clone()));
    assert_eq!(expected.to_bytes(ChecksumContext::Plain), Ok(bytes));
    assert_eq!(
        expected.to_string(),
        "PIMv2 State-Refresh (198.18.1.10, 239.1.1.1) originator 198.18.1.1 preference 110 metric 20 \
         ttl 16 interval 60s P O"
    );
}

#[test]
fn candidate_rp_advertisement_golden() {
    // RFC 7761 §4.9.10, built field by field.
    #[rustfmt::skip]
    let bytes = with_checksum(vec![
        0x28, 0, 0, 0,
        2, 192, 0, 150,                 // prefix count, priority, holdtime
        1, 0, 198, 18, 0, 2,            // RP
        1, 0, 0, 8, 239, 0, 0, 0,       // 239.0.0.0/8
        1, 0, 1, 16, 239, 192, 0, 0,    // 239.192.0.0/16, admin scope
    ]);
    let expected = PimMessage::<V4>::CandidateRpAdvertisement(CandidateRpAdvertisement {
        priority: 192,
        holdtime: 150,
        rp_address: v4("198.18.0.2"),
        groups: vec![
            EncodedGroup::range(v4("239.0.0.0"), 8),
            EncodedGroup { admin_scope: true, ..EncodedGroup::range(v4("239.192.0.0"), 16) },
        ],
    });
    assert_eq!(PimMessage::parse(&bytes, ChecksumContext::Plain), Ok(expected.clone()));
    assert_eq!(expected.to_bytes(ChecksumContext::Plain), Ok(bytes));
}

#[test]
fn unknown_type_is_kept_and_bad_version_refused() {
    let bytes = with_checksum(vec![0x2c, 0x5a, 0, 0, 1, 2, 3]);
    let parsed = PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain).unwrap();
    assert_eq!(parsed, PimMessage::Unknown { msg_type: 12, flags: 0x5a, body: vec![1, 2, 3] });
    assert_eq!(parsed.to_bytes(ChecksumContext::Plain).as_ref(), Ok(&bytes));
    let header = PimHeader::parse(&bytes).unwrap();
    assert_eq!((header.version, header.msg_type, header.flags), (2, PimType::Unknown(12), 0x5a));
    let version_1 = with_checksum(vec![0x10, 0, 0, 0]);
    assert_eq!(PimMessage::<V4>::parse(&version_1, ChecksumContext::Plain), Err(Error::BadVersion));
    let not_unknown = PimMessage::<V4>::Unknown { msg_type: 3, flags: 0, body: vec![] };
    assert_eq!(not_unknown.to_bytes(ChecksumContext::Plain), Err(Error::Malformed));
}

#[test]
fn malformed_known_options_and_counts() {
    // A Holdtime option of 4 octets.
    let bad_holdtime = with_checksum(vec![0x20, 0, 0, 0, 0, 1, 0, 4, 0, 105, 0, 0]);
    assert_eq!(PimMessage::<V4>::parse(&bad_holdtime, ChecksumContext::Plain), Err(Error::BadLength));
    // A Join/Prune announcing 65535 joined sources in a short message.
    #[rustfmt::skip]
    let huge_count = with_checksum(vec![
        0x23, 0, 0, 0, 1, 0, 198, 18, 0, 1, 0, 1, 0, 210,
        1, 0, 0, 32, 239, 1, 1, 1, 0xff, 0xff, 0, 0,
    ]);
    assert_eq!(PimMessage::<V4>::parse(&huge_count, ChecksumContext::Plain), Err(Error::Truncated));
}

#[test]
fn emit_into_short_buffers_fails_cleanly() {
    let c = captured("frr-pimsm-igmp.pcap", 52);
    let message = PimMessage::<V4>::parse(&c.bytes(), c.ctx()).unwrap();
    for len in 0..message.buffer_len() {
        let mut buf = vec![0u8; len];
        assert_eq!(message.emit(&mut buf, c.ctx()), Err(Error::BufferTooSmall), "{len}");
    }
}

fn star_g_set<A: Afi>(group: A::Addr, rp: A::Addr, prunes: Vec<A::Addr>) -> JoinPruneGroup<A> {
    JoinPruneGroup {
        group: EncodedGroup::host(group),
        joins: vec![EncodedSource::star_g(rp)],
        prunes: prunes.into_iter().map(EncodedSource::sg_rpt).collect(),
    }
}

#[test]
fn split_keeps_group_sets_together_and_fragments_oversized_ones() {
    let rp = v4("198.18.0.2");
    let group = |i: u8| v4(&format!("239.0.0.{i}"));
    let source = |i: u16| Ipv4Addr::from(0xc612_0000 | u32::from(i));
    // An IPv4 group set with n sources is 12 + 8n octets; the message header 14.
    let sets = vec![
        star_g_set::<V4>(group(1), rp, vec![source(1)]), // 28
        star_g_set::<V4>(group(2), rp, vec![source(2), source(3)]), // 36
        star_g_set::<V4>(group(3), rp, (10..30).collect::<Vec<_>>().into_iter().map(source).collect()), // 180
    ];
    let messages = split_join_prune::<V4>(v4("198.18.0.1"), 210, sets.clone(), 80).unwrap();
    for m in &messages {
        let len = PimMessage::JoinPrune(m.clone()).to_bytes(ChecksumContext::Plain).unwrap().len();
        assert!(len <= 80, "{len}");
        assert_eq!((m.upstream_neighbor, m.holdtime), (v4("198.18.0.1"), 210));
    }
    // Groups 1 and 2 do not fit together in 80 octets (14 + 28 + 36 = 78 does): they share one.
    assert_eq!(messages[0].groups, sets[..2]);
    // Group 3 has 21 sources; 80 octets carry 6 beside the group; with the (*,G) Join repeated,
    // 5 prunes each: 4 fragments.
    let fragments: Vec<_> = messages[1..].iter().flat_map(|m| &m.groups).collect();
    assert_eq!(fragments.len(), 4);
    for fragment in &fragments {
        assert_eq!(fragment.joins, [EncodedSource::star_g(rp)]);
        assert_eq!(fragment.group, EncodedGroup::host(group(3)));
    }
    let prunes: Vec<_> = fragments.iter().flat_map(|f| &f.prunes).copied().collect();
    assert_eq!(prunes, sets[2].prunes);
    assert_eq!(split_join_prune::<V4>(v4("198.18.0.1"), 210, sets, 33), Err(Error::BufferTooSmall));
}

#[test]
fn split_respects_the_group_count_limit() {
    let sets: Vec<_> = (0..300u32)
        .map(|i| star_g_set::<V4>(Ipv4Addr::from(0xef00_0000 | i), v4("198.18.0.2"), vec![]))
        .collect();
    let messages = split_join_prune::<V4>(v4("198.18.0.1"), 210, sets, 65_000).unwrap();
    assert_eq!(messages.iter().map(|m| m.groups.len()).collect::<Vec<_>>(), [255, 45]);
}

fn roundtrip<A: Afi>(
    message: &PimMessage<A>,
    ctx: ChecksumContext,
) -> std::result::Result<(), TestCaseError> {
    let bytes = message.to_bytes(ctx).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(bytes.len(), message.buffer_len());
    prop_assert_eq!(&PimMessage::<A>::parse(&bytes, ctx).unwrap(), message);
    prop_assert!(!message.to_string().is_empty());
    Ok(())
}

fn ipv6_ctx() -> ChecksumContext {
    ChecksumContext::Ipv6 { src: v6("fe80::1"), dst: v6("ff02::d") }
}

/// Replaces the type nibble and refills a valid checksum, so the body decoders see `body`.
fn forge(msg_type: u8, flags: u8, body: &[u8], ctx: ChecksumContext) -> Vec<u8> {
    let mut bytes = vec![0x20 | (msg_type & 0x0f), flags, 0, 0];
    bytes.extend_from_slice(body);
    let covered = if msg_type & 0x0f == 1 { REGISTER_CHECKSUM_LEN.min(bytes.len()) } else { bytes.len() };
    let sum = finish(sum(ctx.initial(covered, IP_PROTOCOL), &bytes[..covered]));
    bytes[2..4].copy_from_slice(&sum.to_be_bytes());
    bytes
}

proptest! {
    #[test]
    fn roundtrip_v4(message in strategies::message::<V4>()) {
        roundtrip(&message, ChecksumContext::Plain)?;
    }

    #[test]
    fn roundtrip_v6(message in strategies::message::<V6>()) {
        roundtrip(&message, ipv6_ctx())?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = PimMessage::<V4>::parse(&bytes, ChecksumContext::Plain);
        let _ = PimMessage::<V6>::parse(&bytes, ipv6_ctx());
    }

    #[test]
    fn arbitrary_bodies_with_valid_checksums_never_panic(
        msg_type in 0u8..16,
        flags in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let v4_bytes = forge(msg_type, flags, &body, ChecksumContext::Plain);
        prop_assert_ne!(PimMessage::<V4>::parse(&v4_bytes, ChecksumContext::Plain), Err(Error::BadChecksum));
        let v6_bytes = forge(msg_type, flags, &body, ipv6_ctx());
        prop_assert_ne!(PimMessage::<V6>::parse(&v6_bytes, ipv6_ctx()), Err(Error::BadChecksum));
    }

    #[test]
    fn mutated_captures_never_panic(
        index in 0..captures::CAPTURED.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let c = &captures::CAPTURED[index];
        let mut bytes = c.bytes();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let body = bytes[4..].to_vec();
        if c.is_ipv6() {
            let _ = PimMessage::<V6>::parse(&forge(bytes[0], bytes[1], &body, c.ctx()), c.ctx());
        } else {
            let _ = PimMessage::<V4>::parse(&forge(bytes[0], bytes[1], &body, c.ctx()), c.ctx());
        }
    }

    #[test]
    fn split_fits_and_loses_nothing(
        sets in proptest::collection::vec(strategies::join_prune_group::<V6>(), 0..12),
        max_len in 150usize..600,
    ) {
        let messages = split_join_prune::<V6>(v6("fe80::2"), 210, sets.clone(), max_len).unwrap();
        let mut entries = Vec::new();
        for m in &messages {
            prop_assert!(!m.groups.is_empty());
            let len = PimMessage::JoinPrune(m.clone()).to_bytes(ipv6_ctx()).unwrap().len();
            prop_assert!(len <= max_len);
            for set in &m.groups {
                entries.push((set.group, true, set.joins.clone()));
                entries.push((set.group, false, set.prunes.clone()));
            }
        }
        // Every source of every input set appears, in order, in its group's fragments; a set that
        // fits in one message arrives whole.
        for set in &sets {
            let fits = set.wire_len() + 4 + 22 <= max_len;
            let joins: Vec<_> = entries.iter().filter(|e| e.0 == set.group && e.1).flat_map(|e| e.2.clone()).collect();
            let prunes: Vec<_> = entries.iter().filter(|e| e.0 == set.group && !e.1).flat_map(|e| e.2.clone()).collect();
            prop_assert!(set.joins.iter().all(|s| joins.contains(s)));
            prop_assert!(set.prunes.iter().all(|s| prunes.contains(s)));
            if fits {
                prop_assert!(messages.iter().any(|m| m.groups.contains(set)));
            }
        }
    }
}
