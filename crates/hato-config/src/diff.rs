//! The typed difference between two configurations, which the daemon applies on SIGHUP.
//!
//! Interfaces are compared by their resolved settings ([`Config::effective_interface`]), so a
//! changed global default shows up on exactly the interfaces that inherit it, and an interface
//! whose effective settings are unchanged is not touched. Field names are TOML keys.

use std::collections::BTreeMap;

use ipnet::IpNet;
use serde::Serialize;
use toml::Value;

use crate::model::{Config, Interface, Mroute, NamedBoundary, Pim, SptRule, StaticFlow, StaticRp, Tunnel};

/// The TOML keys (dotted) whose values differ.
pub type FieldChanges = Vec<String>;

/// One interface or tunnel whose settings changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceChange {
    pub key: String,
    pub fields: FieldChanges,
}

/// What changed from one configuration to the next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigDiff {
    /// Changed keys of `[global]`.
    pub global: FieldChanges,
    /// Changed keys of `[rpf]`.
    pub rpf: FieldChanges,
    pub interfaces_added: Vec<String>,
    pub interfaces_removed: Vec<String>,
    pub interfaces_changed: Vec<InterfaceChange>,
    /// Changed effective fields of interfaces that no `[[interface]]` names (auto interfaces).
    pub auto_interface_fields: FieldChanges,
    pub tunnels_added: Vec<Tunnel>,
    pub tunnels_removed: Vec<Tunnel>,
    pub tunnels_changed: Vec<InterfaceChange>,
    /// Changed protocol-wide PIM keys (timers, mode, RP selection, SPT default).
    pub pim: FieldChanges,
    pub ssm_ranges_added: Vec<IpNet>,
    pub ssm_ranges_removed: Vec<IpNet>,
    pub static_rps_added: Vec<StaticRp>,
    pub static_rps_removed: Vec<StaticRp>,
    pub spt_rules_added: Vec<SptRule>,
    pub spt_rules_removed: Vec<SptRule>,
    /// `[[pim.candidate-bsr]]` or `[[pim.candidate-rp]]` changed.
    pub candidates_changed: bool,
    /// Changed keys of `[dvmrp]` (not counting boundaries).
    pub dvmrp: FieldChanges,
    pub boundaries_added: Vec<NamedBoundary>,
    pub boundaries_removed: Vec<NamedBoundary>,
    pub mroutes_added: Vec<Mroute>,
    pub mroutes_removed: Vec<Mroute>,
    pub static_flows_added: Vec<StaticFlow>,
    pub static_flows_removed: Vec<StaticFlow>,
}

impl ConfigDiff {
    /// The difference from `old` to `new`.
    pub fn between(old: &Config, new: &Config) -> ConfigDiff {
        let mut diff = ConfigDiff {
            global: changed_fields(&old.global, &new.global),
            rpf: changed_fields(&old.rpf, &new.rpf),
            ..ConfigDiff::default()
        };
        diff.compare_interfaces(old, new);
        diff.auto_interface_fields = changed_fields(
            &old.effective_interface(&Interface::default()),
            &new.effective_interface(&Interface::default()),
        );
        diff.compare_tunnels(old, new);
        diff.pim = changed_fields(&pim_wide(&old.pim), &pim_wide(&new.pim));
        (diff.ssm_ranges_added, diff.ssm_ranges_removed) =
            added_removed(&old.pim.ssm_ranges, &new.pim.ssm_ranges);
        (diff.static_rps_added, diff.static_rps_removed) =
            added_removed(&old.pim.static_rp, &new.pim.static_rp);
        (diff.spt_rules_added, diff.spt_rules_removed) = added_removed(&old.pim.spt, &new.pim.spt);
        diff.candidates_changed =
            old.pim.candidate_bsr != new.pim.candidate_bsr || old.pim.candidate_rp != new.pim.candidate_rp;
        let mut old_dvmrp = old.dvmrp.clone();
        let mut new_dvmrp = new.dvmrp.clone();
        (diff.boundaries_added, diff.boundaries_removed) =
            added_removed(&old_dvmrp.boundary, &new_dvmrp.boundary);
        old_dvmrp.boundary.clear();
        new_dvmrp.boundary.clear();
        diff.dvmrp = changed_fields(&old_dvmrp, &new_dvmrp);
        (diff.mroutes_added, diff.mroutes_removed) = added_removed(&old.mroute, &new.mroute);
        (diff.static_flows_added, diff.static_flows_removed) =
            added_removed(&old.static_flow, &new.static_flow);
        diff
    }

    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self == &ConfigDiff::default()
    }

    fn compare_interfaces(&mut self, old: &Config, new: &Config) {
        let old_interfaces: BTreeMap<String, &Interface> =
            old.interface.iter().map(|interface| (interface.key(), interface)).collect();
        let new_interfaces: BTreeMap<String, &Interface> =
            new.interface.iter().map(|interface| (interface.key(), interface)).collect();
        for (key, interface) in &new_interfaces {
            match old_interfaces.get(key) {
                None => self.interfaces_added.push(key.clone()),
                Some(previous) => {
                    let fields = changed_fields(
                        &old.effective_interface(previous),
                        &new.effective_interface(interface),
                    );
                    if !fields.is_empty() {
                        self.interfaces_changed.push(InterfaceChange { key: key.clone(), fields });
                    }
                }
            }
        }
        self.interfaces_removed =
            old_interfaces.keys().filter(|key| !new_interfaces.contains_key(*key)).cloned().collect();
    }

    fn compare_tunnels(&mut self, old: &Config, new: &Config) {
        let old_tunnels: BTreeMap<String, &Tunnel> = old.tunnel.iter().map(|t| (t.key(), t)).collect();
        let new_tunnels: BTreeMap<String, &Tunnel> = new.tunnel.iter().map(|t| (t.key(), t)).collect();
        for (key, tunnel) in &new_tunnels {
            match old_tunnels.get(key) {
                None => self.tunnels_added.push((*tunnel).clone()),
                Some(previous) => {
                    let fields = changed_fields(*previous, *tunnel);
                    if !fields.is_empty() {
                        self.tunnels_changed.push(InterfaceChange { key: key.clone(), fields });
                    }
                }
            }
        }
        self.tunnels_removed = old_tunnels
            .iter()
            .filter(|(key, _)| !new_tunnels.contains_key(*key))
            .map(|(_, tunnel)| (*tunnel).clone())
            .collect();
    }
}

/// The protocol-wide part of `[pim]`: without per-interface defaults (compared per interface)
/// and the lists compared element by element.
fn pim_wide(pim: &Pim) -> Value {
    let mut value = to_value(pim);
    if let Value::Table(table) = &mut value {
        for key in Pim::OVERRIDABLE {
            table.remove(&key.replace('_', "-"));
        }
        for key in ["ssm-ranges", "static-rp", "spt", "candidate-bsr", "candidate-rp"] {
            table.remove(key);
        }
    }
    value
}

fn to_value<T: Serialize>(value: &T) -> Value {
    Value::try_from(value).unwrap_or_else(|_| Value::Table(toml::Table::new()))
}

/// The dotted keys whose values differ between two serializable values.
pub(crate) fn changed_fields<T: Serialize>(old: &T, new: &T) -> FieldChanges {
    let mut out = Vec::new();
    compare_values("", &to_value(old), &to_value(new), &mut out);
    out
}

fn compare_values(prefix: &str, old: &Value, new: &Value, out: &mut FieldChanges) {
    match (old, new) {
        (Value::Table(old), Value::Table(new)) => {
            let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
            for key in keys {
                let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                match (old.get(key), new.get(key)) {
                    (Some(old), Some(new)) => compare_values(&path, old, new, out),
                    _ => out.push(path),
                }
            }
        }
        (old, new) if old != new => out.push(prefix.to_string()),
        _ => {}
    }
}

fn added_removed<T: Clone + PartialEq>(old: &[T], new: &[T]) -> (Vec<T>, Vec<T>) {
    let added = new.iter().filter(|item| !old.contains(item)).cloned().collect();
    let removed = old.iter().filter(|item| !new.contains(item)).cloned().collect();
    (added, removed)
}
