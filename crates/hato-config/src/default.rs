//! The configuration used when there is no file, and the start-up rule on interfaces.
//!
//! Without a file hato runs on every multicast-capable interface except loopback, with IGMPv3 /
//! MLDv2 and PIM-SM with SSM, as mrouted and pimd configure themselves. Like them it refuses to
//! start with fewer than two usable VIFs (physical interfaces or tunnels), since a router with one
//! interface forwards nothing; [`check_startup`] says which interfaces were set aside and why.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Config, Global, Interface};

/// What the daemon learned about one system interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SystemInterface {
    pub name: String,
    /// `IFF_MULTICAST`.
    pub multicast: bool,
    /// `IFF_LOOPBACK`.
    pub loopback: bool,
    /// `IFF_UP`.
    pub up: bool,
    pub addresses: Vec<IpAddr>,
}

/// The embedded default: every multicast-capable interface except loopback, named explicitly,
/// with IGMPv3 / MLDv2 and PIM-SM + SSM (the defaults of every section).
pub fn default_config(interfaces: &[SystemInterface]) -> Config {
    Config {
        global: Global { auto_interfaces: false, ..Global::default() },
        interface: interfaces
            .iter()
            .filter(|interface| interface.multicast && !interface.loopback)
            .map(|interface| Interface { name: Some(interface.name.clone()), ..Interface::default() })
            .collect(),
        ..Config::default()
    }
}

/// A VIF hato will create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsableVif {
    Interface(String),
    Tunnel(String),
}

/// The VIFs to create, and warnings worth logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartupPlan {
    pub vifs: Vec<UsableVif>,
    pub warnings: Vec<String>,
}

/// Why hato refuses to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StartupError {
    pub usable: Vec<UsableVif>,
    /// Interfaces set aside, each with the reason.
    pub rejected: Vec<(String, String)>,
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hato needs at least two usable interfaces or tunnels, found {}", self.usable.len())?;
        let names: Vec<String> = self
            .usable
            .iter()
            .map(|vif| match vif {
                UsableVif::Interface(name) => name.clone(),
                UsableVif::Tunnel(key) => format!("tunnel {key}"),
            })
            .collect();
        if !names.is_empty() {
            write!(f, " ({})", names.join(", "))?;
        }
        if !self.rejected.is_empty() {
            let rejected: Vec<String> =
                self.rejected.iter().map(|(name, reason)| format!("{name}: {reason}")).collect();
            write!(f, "; not used: {}", rejected.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for StartupError {}

/// Which VIFs a configuration yields on this system; an error when fewer than two.
pub fn check_startup(config: &Config, interfaces: &[SystemInterface]) -> Result<StartupPlan, StartupError> {
    let mut usable = Vec::new();
    let mut rejected = Vec::new();
    for system in interfaces {
        let configured = config.interface_for(&system.name, &system.addresses);
        let reason = match configured {
            Some(interface) if !interface.is_enabled() => Some("disabled in the configuration"),
            None if !config.global.auto_interfaces => Some("not configured (auto-interfaces = false)"),
            // mrouted and pimd skip loopback unless it is named explicitly.
            None if system.loopback => Some("loopback"),
            _ if !system.multicast => Some("not multicast-capable"),
            _ if !system.up => Some("down"),
            _ => None,
        };
        match reason {
            Some(reason) => rejected.push((system.name.clone(), reason.to_string())),
            None => usable.push(UsableVif::Interface(system.name.clone())),
        }
    }
    for interface in &config.interface {
        let present = interfaces.iter().any(|system| {
            interface.name.as_deref() == Some(system.name.as_str())
                || interface.address.is_some_and(|address| system.addresses.contains(&address))
        });
        if !present && interface.is_enabled() {
            rejected.push((interface.key(), "no such interface on this system".to_string()));
        }
    }
    let physical = usable.len();
    usable.extend(config.tunnel.iter().map(|tunnel| UsableVif::Tunnel(tunnel.key())));
    if usable.len() < 2 {
        return Err(StartupError { usable, rejected });
    }
    let mut warnings: Vec<String> =
        rejected.iter().map(|(name, reason)| format!("interface {name} not used: {reason}")).collect();
    if physical == 0 {
        warnings.push("every VIF is a tunnel: a direct tunnel between the peers would do better".into());
    }
    Ok(StartupPlan { vifs: usable, warnings })
}
