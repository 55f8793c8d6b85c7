//! `hatoctl debug [SUBSYSTEM on|off]`: switching a subsystem's detailed logging at run time, and
//! what is switched on.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A part of the daemon whose detailed log (every message at trace level, packets included) can
/// be switched on and off while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DebugSubsystem {
    /// IGMP packets and querier / membership events.
    Igmp,
    /// MLD packets and querier / membership events.
    Mld,
    /// PIM packets (IPv4 and IPv6) and PIM events.
    Pim,
    /// RPF answers and their changes.
    Rpf,
    /// Multicast routes: upcalls, forwarding-cache entries, static flows and mroutes.
    Mroute,
    /// The kernel's multicast routing tables: VIFs, forwarding-plane errors.
    Kernel,
    /// Links, addresses and unicast routes reported by netlink.
    Netlink,
    /// The control socket: requests and their clients.
    Control,
    /// Configuration loads, reloads and their differences.
    Config,
}

impl DebugSubsystem {
    /// Every subsystem, in display order.
    pub const ALL: [DebugSubsystem; 9] = [
        DebugSubsystem::Igmp,
        DebugSubsystem::Mld,
        DebugSubsystem::Pim,
        DebugSubsystem::Rpf,
        DebugSubsystem::Mroute,
        DebugSubsystem::Kernel,
        DebugSubsystem::Netlink,
        DebugSubsystem::Control,
        DebugSubsystem::Config,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DebugSubsystem::Igmp => "igmp",
            DebugSubsystem::Mld => "mld",
            DebugSubsystem::Pim => "pim",
            DebugSubsystem::Rpf => "rpf",
            DebugSubsystem::Mroute => "mroute",
            DebugSubsystem::Kernel => "kernel",
            DebugSubsystem::Netlink => "netlink",
            DebugSubsystem::Control => "control",
            DebugSubsystem::Config => "config",
        }
    }
}

impl fmt::Display for DebugSubsystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DebugSubsystem {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        DebugSubsystem::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| {
            let names: Vec<&str> = DebugSubsystem::ALL.iter().map(|s| s.name()).collect();
            format!("unknown subsystem {name:?} (one of {})", names.join(", "))
        })
    }
}

/// `debug`: switch subsystems on or off (none listed: only report the state).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugRequest {
    /// The subsystems to switch; empty to only ask.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subsystems: Vec<DebugSubsystem>,
    /// On or off; ignored when `subsystems` is empty.
    #[serde(default)]
    pub enable: bool,
}

/// The daemon's logging after a `debug` request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugView {
    /// The level every subsystem logs at (from `-d` or `global.log-level`).
    pub level: String,
    /// Where the log goes: `stderr` or `journald`.
    pub output: String,
    /// The subsystems logging everything, in display order.
    pub enabled: Vec<DebugSubsystem>,
}

impl fmt::Display for DebugView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "log level {} to {}", self.level, self.output)?;
        if self.enabled.is_empty() {
            writeln!(f, "debugging: none")
        } else {
            let names: Vec<&str> = self.enabled.iter().map(|s| s.name()).collect();
            writeln!(f, "debugging: {}", names.join(" "))
        }
    }
}
