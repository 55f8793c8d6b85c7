//! `hatoctl dump` against seed 000's pim6stat example (the Linux router of the three-vendor
//! IPv6 PIM-SSM test): the view below holds the seed's state, and `golden/pim6stat.txt` is the
//! seed's dump copied line by line, with three deliberate differences:
//! - MLD Querier List: the three blank lines between the two rows are the PDF's page break, not
//!   pim6sd output; they are left out.
//! - Reported MLD Group: pim6sd prints callout-queue timer IDs (`#0`, `#1024`, `#19`); hato has
//!   no timer IDs and prints the seconds left (`-` for a timer that is not running). The seed's
//!   timer queue says that `#19`, the source timer, expires in 254 s; the group timer (`#0`) is
//!   not running in INCLUDE mode, nor the compatibility timer in MLDv2 mode.
//! - The "CallOut Timer Queue" section (the same timer IDs) is replaced by the candidate BSR / RP
//!   section.

use hato_control::{
    decode_line, encode_line, DumpAddressView, DumpBsrView, DumpCandidateRpView, DumpFamilyView,
    DumpGroupView, DumpInterfaceView, DumpNeighborView, DumpQuerierView, DumpRouteView, DumpRpView,
    DumpSourceView, DumpView, Response,
};

fn ip(text: &str) -> std::net::IpAddr {
    text.parse().unwrap()
}

fn address(address: &str, scope: u32) -> DumpAddressView {
    DumpAddressView { address: address.into(), scope }
}

fn interface(mif: u16, name: &str, addresses: Vec<DumpAddressView>, flags: &[&str]) -> DumpInterfaceView {
    let running = flags.contains(&"DR");
    DumpInterfaceView {
        mif,
        interface: name.into(),
        addresses,
        flags: flags.iter().map(|f| f.to_string()).collect(),
        pim_hello_secs: if running { 15 } else { 0 },
        query_secs: if running { 110 } else { 0 },
        versions: if running { vec![1, 2] } else { vec![1] },
    }
}

fn querier(mif: u16, name: &str, address: &str) -> DumpQuerierView {
    DumpQuerierView {
        mif,
        interface: name.into(),
        address: ip(address),
        timer_secs: 255,
        last_secs: Some(46),
    }
}

/// The Linux router of seed 000: mif 0 eth0 towards the Alaxala router (PIM neighbour
/// fe80::2000:1), mif 1 eth1 towards the receiver, mif 2 lo, mif 3 the register MIF.
fn seed_state() -> DumpView {
    let source = "2001:200:0:1c04:213:72ff:fe52:b05f";
    let bsr = "2001:200:1b0:fffe::2";
    let family = DumpFamilyView {
        family: "ipv6".into(),
        interfaces: vec![
            interface(
                0,
                "eth0",
                vec![
                    address("fe80::213:72ff:fe3b:c1fb/64", 2),
                    address("2001:200:1b0:1000:213:72ff:fe3b:c1fb/64", 0),
                ],
                &["DR", "PIM", "QRY"],
            ),
            interface(
                1,
                "eth1",
                vec![address("fe80::213:72ff:fe3b:c1fc/64", 3), address("2001:200:1b0:fffe::2/64", 0)],
                &["DR", "QRY", "NO-NBR"],
            ),
            interface(2, "lo", vec![address("::1/128", 0)], &["DISABLED"]),
            interface(3, "regist", vec![address("fe80::213:72ff:fe3b:c1fb/64", 2)], &["REGISTER"]),
        ],
        neighbors: vec![DumpNeighborView {
            mif: 0,
            interface: "eth0".into(),
            address: ip("fe80::2000:1"),
            secondary: vec![ip("2001:200:1b0:1000::2000:1")],
            timer_secs: 90,
        }],
        queriers: vec![
            querier(0, "eth0", "fe80::213:72ff:fe3b:c1fb"),
            querier(1, "eth1", "fe80::213:72ff:fe3b:c1fc"),
        ],
        groups: vec![DumpGroupView {
            mif: 1,
            interface: "eth1".into(),
            group: ip("ff3e::4321:1234"),
            timer_secs: None,
            version: 2,
            mode: "include".into(),
            compat_secs: None,
            sources: vec![DumpSourceView { source: ip(source), timer_secs: Some(254) }],
        }],
        mif_count: 4,
        routes: vec![DumpRouteView {
            source: Some(ip(source)),
            group: ip("ff3e::4321:1234"),
            rp: None,
            flags: vec!["CACHE".into(), "SG".into()],
            joined: vec![],
            pruned: vec![],
            leaves: vec![1],
            asserted: vec![],
            outgoing: vec![1],
            incoming: Some(0),
            upstream: Some(ip("fe80::2000:1")),
            entry_secs: 0,
            join_prune_secs: 60,
            register_stop_secs: 0,
            assert_secs: 0,
            mif_timers: vec![0; 4],
        }],
        bsr: Some(DumpBsrView { address: ip(bsr), priority: 0, timeout_secs: 25 }),
        rp_set: vec![DumpRpView {
            rp: ip(bsr),
            upstream: None,
            group_prefix: "ff00::/8".into(),
            priority: 0,
            holdtime: 150,
            age_secs: 145,
        }],
        candidate_bsr: Some(DumpBsrView { address: ip(bsr), priority: 0, timeout_secs: 25 }),
        candidate_rps: vec![DumpCandidateRpView {
            rp: ip(bsr),
            priority: 0,
            holdtime: 150,
            expires_secs: 145,
            groups: vec!["ff00::/8".into()],
        }],
    };
    DumpView { families: vec![family] }
}

#[test]
fn dump_reproduces_the_pim6stat_example() {
    let expected = include_str!("golden/pim6stat.txt");
    let rendered = seed_state().to_string();
    for (number, (got, want)) in rendered.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "line {}", number + 1);
    }
    assert_eq!(rendered, expected);
}

#[test]
fn dump_json_comes_from_the_same_value() {
    let response = Response::Dump(seed_state());
    let line = encode_line(&response);
    assert_eq!(decode_line::<Response>(&line).unwrap(), response);
    assert!(line.contains("\"mif_timers\":[0,0,0,0]"), "{line}");
}

#[test]
fn ipv4_sections_are_labelled() {
    let mut view = seed_state();
    let family = &mut view.families[0];
    family.family = "ipv4".into();
    family.routes[0].source = None;
    let text = view.to_string();
    for heading in [
        "Multicast Interface Table (IPv4)\n Vif   PhyIF",
        "PIM Neighbor List (IPv4)\n Vif  PhyIF",
        "IGMP Querier List\n",
        "Reported IGMP Group\n",
        "             Timers: PIM hello = 0:15, IGMP query = 1:50\n",
        "Multicast Routing Table (IPv4)\n",
        "---------------------------(*,G)----------------------------\n INADDR_ANY",
        "  VIF   0   1",
        "------------------------RP-Set (IPv4)------------------------\n",
    ] {
        assert!(text.contains(heading), "{heading:?} missing from\n{text}");
    }
}
