//! The router's counters, shown by `hatoctl show counters`.

use std::collections::BTreeMap;

use hato_control::CountersView;
use hato_core::AddressFamily;

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
        add(&mut self.view.plane, format!("{}-{name}", family_label(family)), amount);
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
