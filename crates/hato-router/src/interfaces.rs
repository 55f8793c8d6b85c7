//! The interface table: every link the system reports, its addresses, and whether the
//! configuration lets a family of multicast routing run on it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hato_config::Config;
use hato_core::{AddressFamily, IfIndex};

use crate::io::LinkInfo;

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub link: LinkInfo,
    /// Addresses with their prefix lengths.
    pub addresses: BTreeSet<(IpAddr, u8)>,
    /// Reported since the last resynchronisation began.
    seen: bool,
}

impl Interface {
    /// The addresses alone.
    pub fn address_list(&self) -> Vec<IpAddr> {
        self.addresses.iter().map(|(addr, _)| *addr).collect()
    }
}

/// Why an interface runs no multicast routing, or `None` when it may.
pub fn unusable_reason(config: &Config, interface: &Interface) -> Option<&'static str> {
    let link = &interface.link;
    let configured = config.interface_for(&link.name, &interface.address_list());
    match configured {
        Some(entry) if !entry.is_enabled() => Some("disabled in the configuration"),
        None if !config.global.auto_interfaces => Some("not configured"),
        // mrouted and pimd skip loopback unless it is named explicitly.
        None if link.loopback => Some("loopback"),
        _ if !link.multicast => Some("not multicast-capable"),
        _ => None,
    }
}

/// Whether `family` runs on the system at all.
pub fn family_enabled(config: &Config, family: AddressFamily) -> bool {
    match family {
        AddressFamily::Ipv4 => config.global.ipv4,
        AddressFamily::Ipv6 => config.global.ipv6,
    }
}

/// Every interface by index.
#[derive(Debug, Clone, Default)]
pub struct InterfaceTable {
    by_index: BTreeMap<IfIndex, Interface>,
}

impl InterfaceTable {
    /// Records a link; returns whether it is new.
    pub fn upsert(&mut self, link: LinkInfo) -> bool {
        match self.by_index.get_mut(&link.ifindex) {
            Some(interface) => {
                interface.link = link;
                interface.seen = true;
                false
            }
            None => {
                let ifindex = link.ifindex;
                self.by_index.insert(ifindex, Interface { link, addresses: BTreeSet::new(), seen: true });
                true
            }
        }
    }

    pub fn remove(&mut self, ifindex: IfIndex) -> Option<Interface> {
        self.by_index.remove(&ifindex)
    }

    /// Records an address change; `false` when the interface is unknown.
    pub fn set_address(&mut self, ifindex: IfIndex, addr: IpAddr, prefix_len: u8, added: bool) -> bool {
        let Some(interface) = self.by_index.get_mut(&ifindex) else { return false };
        if added {
            interface.addresses.insert((addr, prefix_len));
        } else {
            interface.addresses.remove(&(addr, prefix_len));
        }
        true
    }

    pub fn get(&self, ifindex: IfIndex) -> Option<&Interface> {
        self.by_index.get(&ifindex)
    }

    /// The interface called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Interface> {
        self.by_index.values().find(|interface| interface.link.name == name)
    }

    /// The name of `ifindex`, or `if<N>` when unknown.
    pub fn name_of(&self, ifindex: IfIndex) -> String {
        self.get(ifindex).map_or_else(|| ifindex.to_string(), |interface| interface.link.name.clone())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Interface> + '_ {
        self.by_index.values()
    }

    pub fn len(&self) -> usize {
        self.by_index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_index.is_empty()
    }

    /// Starts a resynchronisation: every interface is unconfirmed until reported again.
    pub fn begin_resync(&mut self) {
        for interface in self.by_index.values_mut() {
            interface.seen = false;
            interface.addresses.clear();
        }
    }

    /// Ends a resynchronisation: removes and returns the interfaces not reported since it began.
    pub fn end_resync(&mut self) -> Vec<Interface> {
        let gone: Vec<IfIndex> = self
            .by_index
            .iter()
            .filter(|(_, interface)| !interface.seen)
            .map(|(ifindex, _)| *ifindex)
            .collect();
        gone.into_iter().filter_map(|ifindex| self.by_index.remove(&ifindex)).collect()
    }
}
