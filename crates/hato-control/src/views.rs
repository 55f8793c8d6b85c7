//! The views the daemon answers with, and their text renderings.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::format_duration;

/// One interface as the router sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceView {
    pub name: String,
    pub ifindex: u32,
    /// Operationally up.
    pub up: bool,
    pub multicast: bool,
    pub loopback: bool,
    pub mtu: u32,
    /// Addresses with their prefix length.
    pub addresses: Vec<String>,
    /// Whether the configuration enables multicast routing on it.
    pub enabled: bool,
    pub vif4: Option<u16>,
    pub vif6: Option<u16>,
    /// Why it has no VIF, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `show interfaces`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfacesView {
    pub interfaces: Vec<InterfaceView>,
}

fn vif_text(vif: Option<u16>) -> String {
    vif.map_or_else(|| "-".to_string(), |v| v.to_string())
}

impl fmt::Display for InterfacesView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16} {:>5} {:<5} {:>5} {:>4} {:>4}  Addresses",
            "Interface", "Index", "State", "MTU", "VIF", "MIF"
        )?;
        for i in &self.interfaces {
            let state = if i.up { "up" } else { "down" };
            write!(
                f,
                "{:<16} {:>5} {:<5} {:>5} {:>4} {:>4}  {}",
                i.name,
                i.ifindex,
                state,
                i.mtu,
                vif_text(i.vif4),
                vif_text(i.vif6),
                i.addresses.join(" ")
            )?;
            if let Some(note) = &i.note {
                write!(f, "  ({note})")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// `show rpf ADDR`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpfView {
    pub address: IpAddr,
    pub reachable: bool,
    /// The RPF interface's name (or `if<N>` when unknown).
    pub interface: Option<String>,
    pub ifindex: Option<u32>,
    pub neighbor: Option<IpAddr>,
    /// The table that answered: `urib` or `mrib`.
    pub table: Option<String>,
    /// The matching prefix.
    pub prefix: Option<String>,
    /// What put the route there: `connected`, a unicast protocol, or `Mroute` (a static mroute).
    pub origin: Option<String>,
    /// Whether a static mroute decided.
    pub static_mroute: bool,
    pub metric: Option<u32>,
    pub preference: Option<u32>,
    /// The lookup mode.
    pub mode: String,
    /// The engine's one-line explanation.
    pub explanation: String,
}

impl fmt::Display for RpfView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.interface, self.neighbor) {
            (Some(interface), Some(neighbor)) => writeln!(
                f,
                "RPF information for {}: interface {interface}, neighbour {neighbor}, {}",
                self.address,
                self.origin.as_deref().unwrap_or("?")
            )?,
            _ => writeln!(f, "RPF information for {}: unreachable", self.address)?,
        }
        writeln!(f, "  {}", self.explanation)
    }
}

/// One outgoing interface of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OifView {
    pub interface: String,
    /// Why it is in the list: `static-flow`, or PIM's reason (`pim-joined` for a downstream Join,
    /// `pim-local` for an IGMP / MLD member, `pim-rpt` for inheritance from the shared tree).
    pub reasons: Vec<String>,
    pub uptime_secs: u64,
}

/// One (S,G) or (*,G) entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrouteEntryView {
    /// `None` for (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    /// Cisco-like flag letters, see [`MrouteView`].
    pub flags: String,
    pub incoming: Option<String>,
    pub rpf_neighbor: Option<IpAddr>,
    /// What decided the RPF answer for the source: `Mroute` for a static mroute.
    pub rpf_origin: Option<String>,
    /// Whether the incoming interface was chosen by configuration (a static flow) rather than RPF.
    pub static_iif: bool,
    pub outgoing: Vec<OifView>,
    /// Whether the forwarding plane holds the entry as desired.
    pub installed: bool,
    pub uptime_secs: u64,
    /// `None`: never expires.
    pub expires_secs: Option<u64>,
    pub packets: u64,
    pub bytes: u64,
    pub wrong_if: u64,
    /// Whether packets also go to the PIM register VIF (the DR Register-encapsulates them).
    #[serde(default)]
    pub register: bool,
}

/// `show mroute`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MrouteView {
    pub entries: Vec<MrouteEntryView>,
}

impl fmt::Display for MrouteView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Multicast routing table")?;
        writeln!(
            f,
            "Flags: S - static flow, M - RPF from a static mroute, T - installed, P - no outgoing interface,\n       J - PIM, F - registering (register VIF), R - from the source tree (SPT), W - (*,G)\n"
        )?;
        for e in &self.entries {
            let source = e.source.map_or_else(|| "*".to_string(), |s| s.to_string());
            let expires = e.expires_secs.map_or_else(|| "never".to_string(), format_duration);
            writeln!(
                f,
                "({source}, {}), {}/{expires}, flags: {}",
                e.group,
                format_duration(e.uptime_secs),
                e.flags
            )?;
            let incoming = e.incoming.as_deref().unwrap_or("Null");
            write!(f, "  Incoming interface: {incoming}")?;
            if let Some(neighbor) = e.rpf_neighbor {
                write!(f, ", RPF nbr {neighbor}")?;
            }
            if let Some(origin) = &e.rpf_origin {
                write!(f, ", {origin}")?;
            }
            if e.register {
                write!(f, ", Registering")?;
            }
            if e.static_iif {
                write!(f, " (input set by static flow)")?;
            }
            writeln!(f)?;
            writeln!(f, "  Outgoing interface list:{}", if e.outgoing.is_empty() { " Null" } else { "" })?;
            for oif in &e.outgoing {
                writeln!(
                    f,
                    "    {}, {}, {}",
                    oif.interface,
                    oif.reasons.join(" "),
                    format_duration(oif.uptime_secs)
                )?;
            }
            writeln!(
                f,
                "  Counters: {} packets, {} bytes, {} wrong interface\n",
                e.packets, e.bytes, e.wrong_if
            )?;
        }
        Ok(())
    }
}

/// `show counters`: every counter, by section and name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountersView {
    /// Upcalls from the forwarding plane by family and kind (`ipv4-nocache` ...).
    pub upcalls: BTreeMap<String, u64>,
    /// Protocol packets received, by message kind (`igmp-v3-report` ...).
    pub received: BTreeMap<String, u64>,
    /// Protocol packets that failed to decode, by protocol and error kind (`igmp-bad-checksum` ...).
    pub decode_failures: BTreeMap<String, u64>,
    /// Forwarding plane operations: installs, removals, failures.
    pub plane: BTreeMap<String, u64>,
    /// Everything else (reloads, netlink resyncs, control requests ...).
    pub events: BTreeMap<String, u64>,
    /// The RPF engines per family: changes received, recomputations (after backoff), periodic checks.
    #[serde(default)]
    pub rpf: BTreeMap<String, u64>,
    /// Protocol input that decoded but was dropped, by protocol and reason (`pim-unknown-neighbor`,
    /// `mld-source-not-link-local`, `igmp-querier-unspecified` ...). Codec errors are in
    /// `decode_failures`.
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
}

fn section(f: &mut fmt::Formatter<'_>, title: &str, counters: &BTreeMap<String, u64>) -> fmt::Result {
    writeln!(f, "{title}:")?;
    if counters.is_empty() {
        writeln!(f, "  (none)")?;
    }
    for (name, value) in counters {
        writeln!(f, "  {name:<32} {value}")?;
    }
    Ok(())
}

impl fmt::Display for CountersView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        section(f, "Upcalls", &self.upcalls)?;
        section(f, "Packets received", &self.received)?;
        section(f, "Decode failures", &self.decode_failures)?;
        let drops: BTreeMap<String, u64> = self
            .drops
            .iter()
            .filter(|(_, count)| **count > 0)
            .map(|(name, count)| (name.clone(), *count))
            .collect();
        section(f, "Protocol drops", &drops)?;
        section(f, "Forwarding plane", &self.plane)?;
        section(f, "RPF", &self.rpf)?;
        section(f, "Events", &self.events)
    }
}

/// `status`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    pub version: String,
    pub pid: u32,
    pub uptime_secs: u64,
    /// The configuration file, or `None` for the embedded default.
    pub config_file: Option<String>,
    pub ipv4: bool,
    pub ipv6: bool,
    pub interfaces: usize,
    pub vifs4: usize,
    pub vifs6: usize,
    /// Desired forwarding entries.
    pub mroutes: usize,
    /// Entries whose installation is still pending.
    pub pending: usize,
    pub reloads: u64,
}

impl fmt::Display for StatusView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "hatod {} (pid {}), up {}", self.version, self.pid, format_duration(self.uptime_secs))?;
        writeln!(f, "  configuration: {}", self.config_file.as_deref().unwrap_or("embedded default"))?;
        let families: Vec<&str> = [(self.ipv4, "ipv4"), (self.ipv6, "ipv6")]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect();
        writeln!(f, "  families: {}", families.join(" "))?;
        writeln!(f, "  interfaces: {} ({} VIFs, {} MIFs)", self.interfaces, self.vifs4, self.vifs6)?;
        writeln!(f, "  mroutes: {} ({} pending installation)", self.mroutes, self.pending)?;
        writeln!(f, "  reloads: {}", self.reloads)
    }
}

/// `reload`: what the new configuration changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadView {
    pub config_file: Option<String>,
    /// One line per change; empty when the file did not change anything.
    pub changes: Vec<String>,
}

impl fmt::Display for ReloadView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.config_file.as_deref().unwrap_or("embedded default");
        if self.changes.is_empty() {
            return writeln!(f, "reloaded {file}: no change");
        }
        writeln!(f, "reloaded {file}:")?;
        for change in &self.changes {
            writeln!(f, "  {change}")?;
        }
        Ok(())
    }
}
