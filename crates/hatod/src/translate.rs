//! From rtnetlink events to the router's family-neutral inputs, and the interface list the
//! start-up checks need.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hato_config::SystemInterface;
use hato_core::IfIndex;
use hato_kernel::netlink::{Change, Link, LinkChange, NetlinkEvent, RouteKind};
use hato_router::{Input, LinkInfo, RouteChange, RouteNexthop};

/// The main routing table (`RT_TABLE_MAIN`).
const MAIN_TABLE: u32 = 254;

fn link_info(link: &Link) -> LinkInfo {
    LinkInfo {
        ifindex: link.ifindex,
        name: link.name.clone(),
        up: link.flags.is_oper_up(),
        multicast: link.flags.is_multicast(),
        loopback: link.flags.is_loopback(),
        mtu: link.mtu,
    }
}

/// The router input for a netlink event; `None` for routes outside the main unicast table.
pub fn input(event: &NetlinkEvent) -> Option<Input> {
    match event {
        NetlinkEvent::Link(e) => Some(match e.change {
            LinkChange::Deleted => Input::LinkRemoved(e.link.ifindex),
            LinkChange::New | LinkChange::Up | LinkChange::Down | LinkChange::Changed => {
                Input::Link(link_info(&e.link))
            }
        }),
        NetlinkEvent::Addr(e) => Some(Input::Address {
            ifindex: e.ifindex,
            addr: e.prefix.addr(),
            prefix_len: e.prefix.prefix_len(),
            added: e.change == Change::New,
        }),
        NetlinkEvent::Route(e) => {
            if e.table != MAIN_TABLE || e.kind != RouteKind::Unicast {
                return None;
            }
            let nexthops = e
                .nexthops
                .iter()
                .filter_map(|hop| hop.oif.map(|ifindex| RouteNexthop { ifindex, gateway: hop.gateway }))
                .collect();
            Some(Input::Route(RouteChange {
                added: e.change == Change::New,
                destination: e.destination.network(),
                prefix_len: e.destination.prefix_len(),
                nexthops,
                metric: e.priority.unwrap_or(0),
                protocol: e.protocol,
            }))
        }
        NetlinkEvent::Resync => Some(Input::Resync),
        NetlinkEvent::Synced => Some(Input::Synced),
    }
}

/// The interfaces a sequence of events describes, for `default_config` and `check_startup`.
pub fn system_interfaces(events: &[NetlinkEvent]) -> Vec<SystemInterface> {
    let mut links: BTreeMap<IfIndex, (Link, Vec<IpAddr>)> = BTreeMap::new();
    for event in events {
        match event {
            NetlinkEvent::Link(e) if e.change == LinkChange::Deleted => {
                links.remove(&e.link.ifindex);
            }
            NetlinkEvent::Link(e) => {
                let addresses = links.remove(&e.link.ifindex).map(|(_, a)| a).unwrap_or_default();
                links.insert(e.link.ifindex, (e.link.clone(), addresses));
            }
            NetlinkEvent::Addr(e) => {
                if let Some((_, addresses)) = links.get_mut(&e.ifindex) {
                    addresses.retain(|a| *a != e.prefix.addr());
                    if e.change == Change::New {
                        addresses.push(e.prefix.addr());
                    }
                }
            }
            NetlinkEvent::Resync => links.clear(),
            NetlinkEvent::Route(_) | NetlinkEvent::Synced => {}
        }
    }
    links
        .into_values()
        .map(|(link, addresses)| SystemInterface {
            name: link.name,
            multicast: link.flags.is_multicast(),
            loopback: link.flags.is_loopback(),
            up: link.flags.is_admin_up(),
            addresses,
        })
        .collect()
}
