//! The router's counters, shown by `hatoctl show counters`, and the protocol instances' drop
//! counters gathered per reason.

use std::collections::BTreeMap;

use hato_control::CountersView;
use hato_core::{AddressFamily, ForwardingPlane};
use hato_gmp::GmpFamily;
use serde::Serialize;

use crate::family::Family;

/// Counters by section and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    view: CountersView,
}

fn family_label(family: AddressFamily) -> &'static str {
    match family {
        AddressFamily::Ipv4 => "ipv4",
        AddressFamily::Ipv6 => "ipv6",
    }
}

fn add(map: &mut BTreeMap<String, u64>, name: String, amount: u64) {
    if amount > 0 {
        let counter = map.entry(name).or_default();
        *counter = counter.saturating_add(amount);
    }
}

impl Counters {
    pub fn bump_upcall(&mut self, family: AddressFamily, kind: &str) {
        add(&mut self.view.upcalls, format!("{}-{kind}", family_label(family)), 1);
    }

    pub fn bump_received(&mut self, kind: &str) {
        add(&mut self.view.received, kind.to_string(), 1);
    }

    pub fn bump_decode_failure(&mut self, protocol: &str, error: &str) {
        add(&mut self.view.decode_failures, format!("{protocol}-{error}"), 1);
    }

    pub fn bump_plane(&mut self, family: AddressFamily, name: &str) {
        self.add_plane(family, name, 1);
    }

    pub fn add_plane(&mut self, family: AddressFamily, name: &str, amount: u64) {
        // Called after every reconciliation, mostly with nothing to add: no name built then.
        if amount > 0 {
            add(&mut self.view.plane, format!("{}-{name}", family_label(family)), amount);
        }
    }

    pub fn bump_event(&mut self, name: &str) {
        add(&mut self.view.events, name.to_string(), 1);
    }

    /// An event counter's value.
    pub fn event(&self, name: &str) -> u64 {
        self.view.events.get(name).copied().unwrap_or(0)
    }

    pub fn view(&self) -> &CountersView {
        &self.view
    }
}

/// The kebab-case name a reason enum serializes to: stable, and a reason added to a protocol
/// crate appears here without code.
fn reason_name<T: Serialize + std::fmt::Debug>(reason: &T) -> String {
    match serde_json::to_value(reason) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{reason:?}").to_lowercase(),
    }
}

/// Adds the dropped-input counters of `family`'s protocol instances to `view.drops`: IGMP / MLD
/// per reason (summed over interfaces, plus packets on interfaces without the protocol), PIM per
/// reason, and the Bootstrap / C-RP-Advertisement drops of the BSR machinery.
pub fn add_protocol_drops<A: GmpFamily, P: ForwardingPlane<A>>(
    view: &mut CountersView,
    family: &Family<A, P>,
) {
    let (gmp, pim) = match A::FAMILY {
        AddressFamily::Ipv4 => ("igmp", "pim"),
        AddressFamily::Ipv6 => ("mld", "pim6"),
    };
    let protocols = family.protocols();
    for interface in protocols.gmp.interfaces() {
        for (reason, count) in interface.drops() {
            add(&mut view.drops, format!("{gmp}-{}", reason_name(reason)), *count);
        }
    }
    add(&mut view.drops, format!("{gmp}-interface-disabled"), protocols.gmp.disabled_drops());
    for counter in protocols.pim.counters() {
        add(&mut view.drops, format!("{pim}-{}", reason_name(&counter.reason)), counter.count);
    }
    let bsr = protocols.bsr.counters();
    add(&mut view.drops, format!("{pim}-bootstrap-dropped"), bsr.bootstrap_dropped);
    add(&mut view.drops, format!("{pim}-crp-adv-dropped"), bsr.crp_adv_dropped);
}
