//! SIGUSR1 / SIGUSR2 dumps in mrouted's layouts: the VIF and routing tables (`hatod.dump`) and the
//! forwarding cache (`hatod.cache`), written to the runtime directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hato_control::{format_duration, InterfacesView, MrouteView};

/// VIF numbers by interface name, per family (IPv4 VIFs, then IPv6 MIFs).
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

/// `hatod.dump`: the Virtual Interface Table and the Multicast Routing Table (static flows and
/// their sources, as mrouted lists origins).
pub fn routing_table(interfaces: &InterfacesView, mroutes: &MrouteView) -> String {
    let mut text = String::from(
        "Virtual Interface Table\n Vif Local-Address                    Metric   Thresh   Flags\n",
    );
    for (v6, label) in [(false, ""), (true, " (IPv6 MIFs)")] {
        let mut rows: Vec<(u16, String)> = Vec::new();
        for interface in &interfaces.interfaces {
            let Some(vif) = (if v6 { interface.vif6 } else { interface.vif4 }) else { continue };
            let local = interface
                .addresses
                .iter()
                .find(|a| a.contains(':') == v6)
                .cloned()
                .unwrap_or_else(|| "-".to_string());
            let flags = if interface.up { "" } else { "down" };
            rows.push((
                vif,
                format!(
                    "{vif:>4}  {local:<18} {:<13} {:>6} {:>8}     {flags}{label}\n",
                    interface.name, 1, 1
                ),
            ));
        }
        rows.sort();
        for (_, row) in rows {
            text.push_str(&row);
        }
    }
    let numbers = vif_numbers(interfaces);
    let _ = writeln!(text, "\nMulticast Routing Table ({} entries)", mroutes.entries.len());
    text.push_str(" Origin-Subnet    From-Gateway         Metric Tmr In-Vif Out-Vifs\n");
    for entry in &mroutes.entries {
        let v6 = entry.group.is_ipv6();
        let origin = entry.source.map_or_else(|| "*".to_string(), |s| s.to_string());
        let gateway = entry
            .rpf_neighbor
            .filter(|n| Some(*n) != entry.source)
            .map(|n| n.to_string())
            .unwrap_or_default();
        let in_vif = entry
            .incoming
            .as_ref()
            .and_then(|name| numbers.get(&(v6, name.clone())))
            .map_or_else(|| "-".to_string(), u16::to_string);
        let out: Vec<String> = entry
            .outgoing
            .iter()
            .filter_map(|oif| numbers.get(&(v6, oif.interface.clone())).map(|n| format!("{n}*")))
            .collect();
        let _ = writeln!(text, " {origin:<16} {gateway:<20} {:>6} {:>3} {in_vif:>6} {}", 1, 0, out.join(" "));
    }
    text
}

/// `hatod.cache`: the forwarding cache, one entry per (S,G) followed by its source line.
pub fn cache_table(interfaces: &InterfacesView, mroutes: &MrouteView) -> String {
    let numbers = vif_numbers(interfaces);
    let mut text = format!("Multicast Routing Cache Table ({} entries)\n", mroutes.entries.len());
    text.push_str(" Origin         Mcast-group      CTmr   Age  Ptmr  IVif  Forwvifs\n");
    for entry in &mroutes.entries {
        let v6 = entry.group.is_ipv6();
        let origin = entry.source.map_or_else(|| "*".to_string(), |s| s.to_string());
        let ctmr = entry.expires_secs.map_or_else(|| "-".to_string(), format_duration);
        let in_vif = entry
            .incoming
            .as_ref()
            .and_then(|name| numbers.get(&(v6, name.clone())))
            .map_or_else(|| "-".to_string(), u16::to_string);
        let pruned = if entry.outgoing.is_empty() { "P" } else { "" };
        let forw: Vec<String> = entry
            .outgoing
            .iter()
            .filter_map(|oif| numbers.get(&(v6, oif.interface.clone())).map(u16::to_string))
            .collect();
        let _ = writeln!(
            text,
            " {origin:<14} {:<16} {ctmr:>5} {:>5} {:>5} {in_vif:>4}{pruned} {}",
            entry.group.to_string(),
            format_duration(entry.uptime_secs),
            "-",
            forw.join(" ")
        );
        if let Some(source) = entry.source {
            let _ = writeln!(text, " >{source}");
        }
    }
    text
}
