//! The rtnetlink watcher against the real kernel, inside a private network namespace: links
//! appearing, going down and up, disappearing and coming back with a new ifindex; IPv4 and IPv6
//! addresses and routes; and a forced overrun that must produce a resync.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use common::{have_root, wait_readable, Netns};
use hato_core::{AddressFamily, IfIndex};
use hato_kernel::netlink::{
    AddrEvent, Change, LinkChange, LinkEvent, NetlinkEvent, NetlinkWatcher, RouteEvent, Scope, WatcherConfig,
};
use ipnet::IpNet;

const DEADLINE: Duration = Duration::from_secs(10);

/// Polls the watcher until an event satisfies `want`; everything read is kept in `seen`.
fn wait_for(
    watcher: &mut NetlinkWatcher,
    seen: &mut Vec<NetlinkEvent>,
    what: &str,
    want: impl Fn(&NetlinkEvent) -> bool,
) -> NetlinkEvent {
    let deadline = Instant::now() + DEADLINE;
    let mut checked = 0;
    loop {
        if let Some(found) = seen[checked..].iter().find(|e| want(e)) {
            return found.clone();
        }
        checked = seen.len();
        assert!(Instant::now() < deadline, "timed out waiting for {what}; saw {seen:#?}");
        wait_readable(watcher, deadline);
        watcher.poll(seen).expect("poll");
    }
}

fn link<'a>(e: &'a NetlinkEvent, name: &str, change: LinkChange) -> Option<&'a LinkEvent> {
    match e {
        NetlinkEvent::Link(l) if l.link.name == name && l.change == change => Some(l),
        _ => None,
    }
}

fn addr<'a>(e: &'a NetlinkEvent, prefix: &str, change: Change) -> Option<&'a AddrEvent> {
    match e {
        NetlinkEvent::Addr(a) if a.prefix == prefix.parse::<IpNet>().unwrap() && a.change == change => {
            Some(a)
        }
        _ => None,
    }
}

fn route<'a>(e: &'a NetlinkEvent, destination: &str, table: u32, change: Change) -> Option<&'a RouteEvent> {
    match e {
        NetlinkEvent::Route(r)
            if r.destination == destination.parse::<IpNet>().unwrap()
                && r.table == table
                && r.change == change =>
        {
            Some(r)
        }
        _ => None,
    }
}

#[test]
fn follows_links_addresses_and_routes() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("nl");
    let mut watcher = ns.enter(|| NetlinkWatcher::open(&WatcherConfig::default())).expect("open watcher");
    let mut seen = Vec::new();

    // The initial dump: loopback, then the end marker.
    wait_for(&mut watcher, &mut seen, "lo in the dump", |e| link(e, "lo", LinkChange::New).is_some());
    wait_for(&mut watcher, &mut seen, "synced", |e| *e == NetlinkEvent::Synced);
    assert!(watcher.is_synced());
    assert!(!seen.contains(&NetlinkEvent::Resync));

    // A veth pair appears.
    ns.ip("link add hv0 type veth peer name hv1");
    let a = wait_for(&mut watcher, &mut seen, "hv0 new", |e| link(e, "hv0", LinkChange::New).is_some());
    let NetlinkEvent::Link(a) = a else { unreachable!() };
    assert_eq!(a.link.ifindex, ns.ifindex("hv0"));
    assert!(a.link.flags.is_multicast());
    assert!(!a.link.flags.is_oper_up());
    assert_eq!(a.link.mtu, 1500);
    wait_for(&mut watcher, &mut seen, "hv1 new", |e| link(e, "hv1", LinkChange::New).is_some());

    // Up, down, up again.
    ns.ip("link set hv1 up");
    ns.ip("link set hv0 up");
    wait_for(&mut watcher, &mut seen, "hv0 up", |e| link(e, "hv0", LinkChange::Up).is_some());
    ns.ip("link set hv0 down");
    wait_for(&mut watcher, &mut seen, "hv0 down", |e| link(e, "hv0", LinkChange::Down).is_some());
    ns.ip("link set hv0 mtu 1400");
    wait_for(&mut watcher, &mut seen, "hv0 mtu change", |e| {
        link(e, "hv0", LinkChange::Changed).is_some_and(|l| l.link.mtu == 1400)
    });
    ns.ip("link set hv0 up");
    wait_for(&mut watcher, &mut seen, "hv0 up again", |e| link(e, "hv0", LinkChange::Up).is_some());

    // IPv4 address, with its connected route.
    ns.ip("addr add 198.18.5.1/24 dev hv0");
    let v4 =
        wait_for(&mut watcher, &mut seen, "v4 address", |e| addr(e, "198.18.5.1/24", Change::New).is_some());
    let NetlinkEvent::Addr(v4) = v4 else { unreachable!() };
    assert_eq!((v4.family, v4.ifindex, v4.scope), (AddressFamily::Ipv4, a.link.ifindex, Scope::Universe));
    let connected = wait_for(&mut watcher, &mut seen, "connected route", |e| {
        route(e, "198.18.5.0/24", 254, Change::New).is_some()
    });
    let NetlinkEvent::Route(connected) = connected else { unreachable!() };
    assert_eq!((connected.oif(), connected.gateway(), connected.protocol), (Some(a.link.ifindex), None, 2));

    // IPv6 address.
    ns.ip("addr add fd00:5::1/64 dev hv0 nodad");
    let v6 =
        wait_for(&mut watcher, &mut seen, "v6 address", |e| addr(e, "fd00:5::1/64", Change::New).is_some());
    let NetlinkEvent::Addr(v6) = v6 else { unreachable!() };
    assert_eq!((v6.family, v6.ifindex), (AddressFamily::Ipv6, a.link.ifindex));
    assert!(!v6.flags.is_tentative());

    // IPv4 and IPv6 routes through a gateway, with a metric and a table.
    ns.ip("route add 198.19.7.0/24 via 198.18.5.2 metric 30");
    let r4 = wait_for(&mut watcher, &mut seen, "v4 route", |e| {
        route(e, "198.19.7.0/24", 254, Change::New).is_some()
    });
    let NetlinkEvent::Route(r4) = r4 else { unreachable!() };
    assert_eq!(r4.gateway(), Some("198.18.5.2".parse::<IpAddr>().unwrap()));
    assert_eq!((r4.oif(), r4.priority, r4.protocol), (Some(a.link.ifindex), Some(30), 3));
    ns.ip("-6 route add fd00:77::/64 via fd00:5::2 dev hv0 metric 40 table 100 proto static");
    let r6 = wait_for(&mut watcher, &mut seen, "v6 route", |e| {
        route(e, "fd00:77::/64", 100, Change::New).is_some()
    });
    let NetlinkEvent::Route(r6) = r6 else { unreachable!() };
    assert_eq!(r6.family, AddressFamily::Ipv6);
    assert_eq!(r6.gateway(), Some("fd00:5::2".parse::<IpAddr>().unwrap()));
    assert_eq!((r6.priority, r6.protocol), (Some(40), 4));
    ns.ip("route del 198.19.7.0/24");
    wait_for(&mut watcher, &mut seen, "v4 route deleted", |e| {
        route(e, "198.19.7.0/24", 254, Change::Deleted).is_some()
    });
    ns.ip("-6 route del fd00:77::/64 table 100");
    wait_for(&mut watcher, &mut seen, "v6 route deleted", |e| {
        route(e, "fd00:77::/64", 100, Change::Deleted).is_some()
    });

    // Address removal.
    ns.ip("addr del 198.18.5.1/24 dev hv0");
    wait_for(&mut watcher, &mut seen, "v4 address deleted", |e| {
        addr(e, "198.18.5.1/24", Change::Deleted).is_some()
    });

    // The pair disappears, and comes back under the same names with new ifindexes.
    let old = a.link.ifindex;
    ns.ip("link del hv0");
    let gone =
        wait_for(&mut watcher, &mut seen, "hv0 deleted", |e| link(e, "hv0", LinkChange::Deleted).is_some());
    let NetlinkEvent::Link(gone) = gone else { unreachable!() };
    assert_eq!(gone.link.ifindex, old);
    wait_for(&mut watcher, &mut seen, "hv1 deleted", |e| link(e, "hv1", LinkChange::Deleted).is_some());
    seen.clear();
    ns.ip("link add hv0 type veth peer name hv1");
    let back =
        wait_for(&mut watcher, &mut seen, "hv0 new again", |e| link(e, "hv0", LinkChange::New).is_some());
    let NetlinkEvent::Link(back) = back else { unreachable!() };
    assert_ne!(back.link.ifindex, old);
    assert_eq!(back.link.ifindex, ns.ifindex("hv0"));
    assert!(watcher.links().any(|l| l.ifindex == back.link.ifindex && l.name == "hv0"));
    assert!(!watcher.links().any(|l| l.ifindex == old));
    assert!(!seen.contains(&NetlinkEvent::Resync));
}

#[test]
fn overrun_forces_a_resync() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("ovr");
    let config = WatcherConfig { receive_buffer: Some(0), max_datagrams_per_poll: 64 };
    let mut watcher = ns.enter(|| NetlinkWatcher::open(&config)).expect("open watcher");
    let mut seen = Vec::new();
    wait_for(&mut watcher, &mut seen, "synced", |e| *e == NetlinkEvent::Synced);

    // Many changes while nobody reads: far more than the smallest receive buffer holds.
    ns.ip("link add hv0 type veth peer name hv1");
    let batch: String =
        (0..200).map(|i| format!("addr add 198.18.{}.{}/32 dev hv0\n", 100 + i / 250, 1 + i % 250)).collect();
    let file = std::env::temp_dir().join(format!("{}.batch", ns.name));
    std::fs::write(&file, batch).unwrap();
    ns.ip(&format!("-batch {}", file.display()));
    let _ = std::fs::remove_file(&file);

    seen.clear();
    wait_for(&mut watcher, &mut seen, "resync", |e| *e == NetlinkEvent::Resync);
    wait_for(&mut watcher, &mut seen, "synced after resync", |e| *e == NetlinkEvent::Synced);
    // The fresh dump after the marker is complete: every address and both new links are there.
    let resync = seen.iter().rposition(|e| *e == NetlinkEvent::Resync).unwrap();
    let after = &seen[resync..];
    let hv0 = ns.ifindex("hv0");
    for i in 0..200 {
        let prefix = format!("198.18.{}.{}/32", 100 + i / 250, 1 + i % 250);
        assert!(
            after.iter().any(|e| addr(e, &prefix, Change::New).is_some_and(|a| a.ifindex == hv0)),
            "{prefix} missing after resync"
        );
    }
    assert!(after.iter().any(|e| link(e, "hv1", LinkChange::New).is_some()));
    assert!(watcher.links().any(|l| l.ifindex == hv0));
    assert_eq!(watcher.links().filter(|l| l.ifindex == IfIndex(1)).count(), 1);
}

#[test]
fn overrun_during_the_initial_dump() {
    if !have_root() {
        return;
    }
    let ns = Netns::new("ovd");
    ns.ip("link add hv0 type veth peer name hv1");
    let config = WatcherConfig { receive_buffer: Some(0), max_datagrams_per_poll: 64 };
    let mut watcher = ns.enter(|| NetlinkWatcher::open(&config)).expect("open watcher");
    // The dump has started and nothing has been read: flood the socket now.
    let batch: String =
        (0..200).map(|i| format!("addr add 198.18.{}.{}/32 dev hv0\n", 100 + i / 250, 1 + i % 250)).collect();
    let file = std::env::temp_dir().join(format!("{}.batch", ns.name));
    std::fs::write(&file, batch).unwrap();
    ns.ip(&format!("-batch {}", file.display()));
    let _ = std::fs::remove_file(&file);

    let mut seen = Vec::new();
    wait_for(&mut watcher, &mut seen, "synced", |e| *e == NetlinkEvent::Synced);
    let resync =
        seen.iter().rposition(|e| *e == NetlinkEvent::Resync).expect("a resync before the first sync");
    assert_eq!(seen.iter().filter(|e| **e == NetlinkEvent::Synced).count(), 1, "synced only once: {seen:#?}");
    let hv0 = ns.ifindex("hv0");
    let after = &seen[resync..];
    for i in 0..200 {
        let prefix = format!("198.18.{}.{}/32", 100 + i / 250, 1 + i % 250);
        assert!(
            after.iter().any(|e| addr(e, &prefix, Change::New).is_some_and(|a| a.ifindex == hv0)),
            "{prefix} missing after resync"
        );
    }
    assert!(after.iter().any(|e| link(e, "hv0", LinkChange::New).is_some()));
}
