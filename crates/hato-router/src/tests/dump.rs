//! `hatoctl dump` (pim6sd's state dump, seed 000) assembled from a running router's state.

use hato_control::{DumpView, Request, Response};
use hato_wire::checksum::ChecksumContext;
use hato_wire::gmp::RecordType::ModeIsInclude;
use hato_wire::pim::{Hello, HelloOption, PimMessage};

use super::*;

fn dump(r: &TestRouter, now: u64) -> DumpView {
    match r.query(t(now), &Request::Dump) {
        Response::Dump(view) => view,
        other => panic!("{other:?}"),
    }
}

/// A PIM Hello from 198.18.0.3 on eth0.
fn hello() -> Input {
    let hello = PimMessage::<V4>::Hello(Hello {
        options: vec![HelloOption::Holdtime(105), HelloOption::GenerationId(7)],
    });
    Input::Packet(ProtocolPacket {
        socket: SocketKind::Pim4,
        ifindex: Some(IfIndex(2)),
        source: "198.18.0.3".parse().unwrap(),
        destination: "224.0.0.13".parse().unwrap(),
        hop_limit: Some(1),
        router_alert: None,
        payload: hello.to_bytes(ChecksumContext::Plain).unwrap(),
    })
}

// The seed's situation in IPv4: a source-specific member on eth1 (mif 1), the source behind eth0
// (mif 0) with a PIM neighbour (the DR there).
#[test]
fn dump_shows_interfaces_neighbours_members_and_the_source_tree() {
    let (mut r, _) = pim_router();
    let mut out = Vec::new();
    r.handle(t(10), hello(), &mut out);
    r.handle(t(10), igmp_report(ModeIsInclude, "232.1.1.1", &["198.18.0.2"]), &mut out);
    let view = dump(&r, 11);
    let v4 = view.families.iter().find(|f| f.family == "ipv4").expect("an IPv4 family");

    let rows: Vec<(u16, &str, Vec<&str>)> = v4
        .interfaces
        .iter()
        .map(|i| (i.mif, i.interface.as_str(), i.flags.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        rows,
        [
            (0, "eth0", vec!["PIM", "QRY"]),
            (1, "eth1", vec!["DR", "QRY", "NO-NBR"]),
            (31, "regist", vec!["REGISTER"])
        ]
    );
    assert_eq!(v4.interfaces[1].addresses[0].address, "198.18.1.1/24");
    assert_eq!(v4.interfaces[1].versions, [1, 2, 3]);
    assert_eq!(v4.mif_count, 32);

    assert_eq!(v4.neighbors.len(), 1);
    assert_eq!((v4.neighbors[0].mif, v4.neighbors[0].timer_secs), (0, 104));
    assert_eq!(
        v4.queriers.iter().map(|q| q.address.to_string()).collect::<Vec<_>>(),
        ["198.18.0.1", "198.18.1.1"]
    );

    assert_eq!(v4.groups.len(), 1);
    let group = &v4.groups[0];
    assert_eq!(
        (group.mif, group.group.to_string(), group.mode.as_str(), group.version),
        (1, "232.1.1.1".into(), "include", 3)
    );
    assert_eq!(group.sources[0].source.to_string(), "198.18.0.2");
    assert!(group.sources[0].timer_secs.is_some_and(|s| s > 200), "{group:?}");

    assert_eq!(v4.routes.len(), 1);
    let route = &v4.routes[0];
    assert_eq!(route.source.map(|s| s.to_string()).as_deref(), Some("198.18.0.2"));
    assert_eq!(route.rp, None, "SSM has no RP");
    assert_eq!(route.flags, ["SPT", "CACHE", "SG"]);
    assert_eq!(
        (route.leaves.as_slice(), route.outgoing.as_slice(), route.incoming),
        (&[1][..], &[1][..], Some(0))
    );
    assert!(route.joined.is_empty() && route.pruned.is_empty() && route.asserted.is_empty());
    assert_eq!(route.mif_timers.len(), 32);

    let text = view.to_string();
    for line in [
        "Multicast Interface Table (IPv4)\n",
        "  1     eth1 198.18.1.1/24                               0     DR QRY NO-NBR\n",
        "             possible IGMP version = 1 2 3 \n",
        " 0     eth0 198.18.0.3                               104  \n",
        " 1     eth1 232.1.1.1 (- (v3 IN -))\n",
        "---------------------------(S,G)----------------------------\n 198.18.0.2      232.1.1.1       NULL            SPT CACHE SG\n",
        "Leaves   oifs: .l..............................\n",
        "Incoming     : I...............................\n",
        "Number of Groups: 1\nNumber of Cache MIRRORs: 1\n",
        "Multicast Interface Table\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}
