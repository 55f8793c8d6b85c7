//! SIGUSR1 / SIGUSR2 dumps in mrouted's layouts (seed 003): the Virtual Interface Table and the
//! Multicast Routing Table (`hatod.dump`), and the Multicast Routing Cache Table (`hatod.cache`),
//! written to the runtime directory.
//!
//! The rows are built from the router's views, then rendered with the seed's column positions.
//! hato runs no DVMRP, so route metrics and timers have no value (`-`); a route's origin is the
//! source itself, and the cache holds the (S,G) entries the kernel forwards.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hato_control::{InterfacesView, MrouteView};

/// One VIF of the Virtual Interface Table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VifRow {
    vif: u16,
    /// The local address.
    local: String,
    /// The attached subnet in mrouted's notation (`36.2`, `198.18.1`, `fd00:1::/64`).
    subnet: String,
    metric: u32,
    threshold: u32,
    /// mrouted's words: `querier`, `down`, `leaf` ...
    flags: Vec<String>,
    /// Groups with members on the subnet.
    groups: Vec<String>,
    packets_in: u64,
    packets_out: u64,
}

/// One origin of the Multicast Routing Table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RouteRow {
    origin: String,
    /// The previous-hop router, empty when the origin is directly connected.
    gateway: String,
    metric: Option<u32>,
    /// Seconds since the route was last updated.
    timer: Option<u64>,
    in_vif: Option<u16>,
    /// Outgoing VIFs; `true` marks a leaf with members (mrouted's `*`).
    out_vifs: Vec<(u16, bool)>,
}

/// One entry of the Multicast Routing Cache Table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CacheRow {
    origin: String,
    group: String,
    /// Seconds the entry has left; `None`: it does not expire.
    lifetime: Option<u64>,
    age: u64,
    /// Seconds until the prune sent upstream times out; `None`: none was sent.
    prune: Option<u64>,
    in_vif: Option<u16>,
    /// No outgoing VIF: the entry is pruned (mrouted's `P` after the incoming VIF).
    pruned: bool,
    forward: Vec<u16>,
    /// The sources seen on the origin subnet.
    sources: Vec<String>,
}

/// mrouted's `scaletime`: `28s`, `3m`, `2h`, `4d`.
fn scale_time(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// A subnet as mrouted names it: the significant octets of an IPv4 network (`36.2` for
/// 36.2.0.0/16), followed by `/len` when `with_length`; IPv6 as `prefix/len`.
fn subnet_name(address: IpAddr, prefix_len: u8, with_length: bool) -> String {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix_len.min(32))).unwrap_or(0);
            let network = u32::from(v4) & mask;
            let octets = usize::from(prefix_len.clamp(1, 32)).div_ceil(8);
            let text: Vec<String> =
                network.to_be_bytes().iter().take(octets).map(ToString::to_string).collect();
            let text = text.join(".");
            if with_length {
                format!("{text}/{prefix_len}")
            } else {
                text
            }
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix_len.min(128))).unwrap_or(0);
            format!("{}/{prefix_len}", std::net::Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn push_line(text: &mut String, line: &str) {
    text.push_str(line.trim_end());
    text.push('\n');
}

fn render_vif_table(text: &mut String, title: &str, rows: &[VifRow]) {
    push_line(text, title);
    push_line(text, " Vif Local-Address                    Metric   Thresh   Flags");
    for row in rows {
        push_line(
            text,
            &format!(
                "{:>3}  {:<13}subnet: {:<15}{}{:>9}     {}",
                row.vif,
                row.local,
                row.subnet,
                row.metric,
                row.threshold,
                row.flags.join(" ")
            ),
        );
        for (i, group) in row.groups.iter().enumerate() {
            push_line(text, &format!("{:>25} {group}", if i == 0 { "groups:" } else { "" }));
        }
        push_line(text, &format!("{:>25} {}", "pkts in:", row.packets_in));
        push_line(text, &format!("{:>25} {}", "pkts out:", row.packets_out));
        text.push('\n');
    }
}

fn render_routing_table(vifs: &[VifRow], mifs: &[VifRow], routes: &[RouteRow]) -> String {
    let mut text = String::new();
    render_vif_table(&mut text, "Virtual Interface Table", vifs);
    if !mifs.is_empty() {
        render_vif_table(&mut text, "Virtual Interface Table (IPv6 MIFs)", mifs);
    }
    push_line(&mut text, &format!("Multicast Routing Table ({} entries)", routes.len()));
    push_line(&mut text, " Origin-Subnet    From-Gateway         Metric Tmr In-Vif Out-Vifs");
    for route in routes {
        let out: Vec<String> = route
            .out_vifs
            .iter()
            .map(|(vif, leaf)| format!("{vif}{}", if *leaf { "*" } else { "" }))
            .collect();
        push_line(
            &mut text,
            &format!(
                " {:<16} {:<20}{:>2}{:>6}{:>3}     {}",
                route.origin,
                route.gateway,
                or_dash(route.metric),
                or_dash(route.timer),
                or_dash(route.in_vif),
                out.join(" ")
            ),
        );
    }
    text
}

fn render_cache(rows: &[CacheRow]) -> String {
    let mut text = String::new();
    push_line(&mut text, &format!("Multicast Routing Cache Table ({} entries)", rows.len()));
    push_line(&mut text, " Origin         Mcast-group      CTmr   Age  Ptmr  IVif  Forwvifs");
    for row in rows {
        let in_vif = format!("{}{}", or_dash(row.in_vif), if row.pruned { "P" } else { "" });
        let forward: Vec<String> = row.forward.iter().map(u16::to_string).collect();
        push_line(
            &mut text,
            &format!(
                " {:<14} {:<16}{:>5}    {:<4}  {:<4} {in_vif:<4}  {}",
                row.origin,
                row.group,
                row.lifetime.map_or_else(|| "-".to_string(), scale_time),
                scale_time(row.age),
                row.prune.map_or_else(|| "-".to_string(), scale_time),
                forward.join(" ")
            ),
        );
        for source in &row.sources {
            push_line(&mut text, &format!(" >{source}"));
        }
    }
    text
}

/// VIF numbers by interface name, per family (`true`: IPv6).
fn vif_numbers(interfaces: &InterfacesView) -> BTreeMap<(bool, String), u16> {
    let mut numbers = BTreeMap::new();
    for interface in &interfaces.interfaces {
        if let Some(vif) = interface.vif4 {
            numbers.insert((false, interface.name.clone()), vif);
        }
        if let Some(vif) = interface.vif6 {
            numbers.insert((true, interface.name.clone()), vif);
        }
    }
    numbers
}

/// The VIF rows of one family: local address and subnet from the interface, groups with local
/// members and packet counts from the forwarding entries.
fn vif_rows(interfaces: &InterfacesView, mroutes: &MrouteView, v6: bool) -> Vec<VifRow> {
    let mut rows: Vec<VifRow> = interfaces
        .interfaces
        .iter()
        .filter_map(|interface| {
            let vif = if v6 { interface.vif6 } else { interface.vif4 }?;
            let address = interface.addresses.iter().find_map(|a| {
                let (addr, len) = a.split_once('/')?;
                let addr: IpAddr = addr.parse().ok()?;
                (addr.is_ipv6() == v6).then_some((addr, len.parse::<u8>().ok()?))
            });
            let entries = mroutes.entries.iter().filter(|e| e.group.is_ipv6() == v6);
            let mut groups: Vec<String> = entries
                .clone()
                .filter(|e| {
                    e.outgoing
                        .iter()
                        .any(|o| o.interface == interface.name && o.reasons.iter().any(|r| r == "pim-local"))
                })
                .map(|e| e.group.to_string())
                .collect();
            groups.sort();
            groups.dedup();
            let incoming =
                |e: &&hato_control::MrouteEntryView| e.incoming.as_deref() == Some(interface.name.as_str());
            let outgoing =
                |e: &&hato_control::MrouteEntryView| e.outgoing.iter().any(|o| o.interface == interface.name);
            Some(VifRow {
                vif,
                local: address.map_or_else(|| "-".to_string(), |(addr, _)| addr.to_string()),
                subnet: address.map_or_else(|| "-".to_string(), |(addr, len)| subnet_name(addr, len, false)),
                metric: 1,
                threshold: 1,
                flags: if interface.up { Vec::new() } else { vec!["down".to_string()] },
                groups,
                packets_in: entries.clone().filter(incoming).map(|e| e.packets).sum(),
                packets_out: entries.filter(outgoing).map(|e| e.packets).sum(),
            })
        })
        .collect();
    rows.sort_by_key(|row| row.vif);
    rows
}

/// `hatod.dump`: the Virtual Interface Table and the Multicast Routing Table (one origin per
/// source; its outgoing VIFs are the union over the source's entries, `*` where members are).
pub fn routing_table(interfaces: &InterfacesView, mroutes: &MrouteView) -> String {
    let numbers = vif_numbers(interfaces);
    let mut origins: BTreeMap<IpAddr, RouteRow> = BTreeMap::new();
    for entry in &mroutes.entries {
        let Some(source) = entry.source else { continue };
        let v6 = source.is_ipv6();
        let vif_of = |name: &str| numbers.get(&(v6, name.to_string())).copied();
        let row = origins.entry(source).or_insert_with(|| RouteRow {
            origin: source.to_string(),
            gateway: entry.rpf_neighbor.filter(|n| *n != source).map(|n| n.to_string()).unwrap_or_default(),
            metric: None,
            timer: None,
            in_vif: entry.incoming.as_deref().and_then(vif_of),
            out_vifs: Vec::new(),
        });
        for oif in &entry.outgoing {
            let Some(vif) = vif_of(&oif.interface) else { continue };
            let leaf = oif.reasons.iter().any(|r| r == "pim-local" || r == "static-flow");
            match row.out_vifs.iter_mut().find(|(v, _)| *v == vif) {
                Some((_, existing)) => *existing |= leaf,
                None => row.out_vifs.push((vif, leaf)),
            }
        }
        row.out_vifs.sort_unstable();
    }
    let routes: Vec<RouteRow> = origins.into_values().collect();
    render_routing_table(&vif_rows(interfaces, mroutes, false), &vif_rows(interfaces, mroutes, true), &routes)
}

/// `hatod.cache`: the forwarding cache, one entry per (S,G) followed by its source line.
pub fn cache_table(interfaces: &InterfacesView, mroutes: &MrouteView) -> String {
    let numbers = vif_numbers(interfaces);
    let rows: Vec<CacheRow> = mroutes
        .entries
        .iter()
        .filter_map(|entry| {
            let source = entry.source?;
            let v6 = source.is_ipv6();
            let vif_of = |name: &str| numbers.get(&(v6, name.to_string())).copied();
            Some(CacheRow {
                origin: subnet_name(source, if v6 { 128 } else { 32 }, true),
                group: entry.group.to_string(),
                lifetime: entry.expires_secs,
                age: entry.uptime_secs,
                prune: None,
                in_vif: entry.incoming.as_deref().and_then(vif_of),
                pruned: entry.outgoing.is_empty(),
                forward: entry.outgoing.iter().filter_map(|o| vif_of(&o.interface)).collect(),
                sources: vec![source.to_string()],
            })
        })
        .collect();
    render_cache(&rows)
}

#[cfg(test)]
mod tests;
