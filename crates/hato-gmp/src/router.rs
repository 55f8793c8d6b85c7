//! Every interface running IGMP (or MLD) on a router: the entry point the daemon drives.

use std::collections::BTreeMap;

use hato_core::{IfIndex, Instant};

use crate::config::{ConfigError, InterfaceConfig};
use crate::family::{GmpFamily, GmpMessage};
use crate::interface::{GmpInterface, Received};
use crate::output::{DropReason, LogEvent, Output};
use crate::show::RouterView;

/// IGMP (`GmpRouter<V4>`) or MLD (`GmpRouter<V6>`) on all of a router's interfaces.
#[derive(Debug, Clone)]
pub struct GmpRouter<A: GmpFamily> {
    interfaces: BTreeMap<IfIndex, GmpInterface<A>>,
    /// Packets received on interfaces that do not run the protocol.
    disabled_drops: u64,
    /// Source-specific multicast ranges, given to every interface.
    ssm_ranges: Vec<A::Prefix>,
}

impl<A: GmpFamily> Default for GmpRouter<A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<A: GmpFamily> GmpRouter<A> {
    pub fn new() -> Self {
        GmpRouter { interfaces: BTreeMap::new(), disabled_drops: 0, ssm_ranges: Vec::new() }
    }

    /// Starts the protocol on an interface (or restarts it with a new configuration and address
    /// if it runs already).
    pub fn enable_interface(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        address: A::Addr,
        config: InterfaceConfig,
        out: &mut Vec<Output<A>>,
    ) -> Result<(), ConfigError> {
        config.validate::<A>()?;
        if let Some(old) = self.interfaces.remove(&ifindex) {
            old.shutdown(out);
        }
        let mut interface = GmpInterface::new(now, ifindex, address, config, out)?;
        interface.set_ssm_ranges(self.ssm_ranges.clone());
        self.interfaces.insert(ifindex, interface);
        Ok(())
    }

    /// Sets the source-specific multicast ranges on every interface, present and future (see
    /// [`GmpInterface::set_ssm_ranges`]). State already created stays until it times out.
    pub fn set_ssm_ranges(&mut self, ranges: Vec<A::Prefix>) {
        for interface in self.interfaces.values_mut() {
            interface.set_ssm_ranges(ranges.clone());
        }
        self.ssm_ranges = ranges;
    }

    /// Stops the protocol on an interface; its groups are withdrawn.
    pub fn disable_interface(&mut self, ifindex: IfIndex, out: &mut Vec<Output<A>>) {
        if let Some(interface) = self.interfaces.remove(&ifindex) {
            interface.shutdown(out);
        }
    }

    /// Changes an enabled interface's configuration (see [`GmpInterface::set_config`]); `false`
    /// if the interface is not enabled.
    pub fn set_config(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        config: InterfaceConfig,
        out: &mut Vec<Output<A>>,
    ) -> Result<bool, ConfigError> {
        match self.interfaces.get_mut(&ifindex) {
            Some(interface) => interface.set_config(now, config, out).map(|()| true),
            None => Ok(false),
        }
    }

    /// Changes an enabled interface's own address; `false` if the interface is not enabled.
    pub fn set_address(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        address: A::Addr,
        out: &mut Vec<Output<A>>,
    ) -> bool {
        match self.interfaces.get_mut(&ifindex) {
            Some(interface) => {
                interface.set_address(now, address, out);
                true
            }
            None => false,
        }
    }

    pub fn interface(&self, ifindex: IfIndex) -> Option<&GmpInterface<A>> {
        self.interfaces.get(&ifindex)
    }

    pub fn interfaces(&self) -> impl Iterator<Item = &GmpInterface<A>> {
        self.interfaces.values()
    }

    /// Handles a received message in the family's codec form.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        rx: &Received<A>,
        repr: &A::Repr,
        out: &mut Vec<Output<A>>,
    ) {
        if let Some(message) = A::decode(repr) {
            self.handle_message(now, rx, message, out);
        }
    }

    /// Handles a received message in family-neutral form.
    pub fn handle_message(
        &mut self,
        now: Instant,
        rx: &Received<A>,
        message: GmpMessage<A>,
        out: &mut Vec<Output<A>>,
    ) {
        match self.interfaces.get_mut(&rx.ifindex) {
            Some(interface) => interface.handle_message(now, rx, message, out),
            None => {
                self.disabled_drops += 1;
                let reason = DropReason::InterfaceDisabled;
                out.push(Output::Log(LogEvent::Dropped { ifindex: rx.ifindex, src: rx.src, reason }));
            }
        }
    }

    /// Packets received on interfaces that do not run the protocol.
    pub fn disabled_drops(&self) -> u64 {
        self.disabled_drops
    }

    /// Handles every deadline at or before `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<Output<A>>) {
        for interface in self.interfaces.values_mut() {
            if interface.poll_at().is_some_and(|t| t <= now) {
                interface.on_timeout(now, out);
            }
        }
    }

    /// The earliest deadline of any interface.
    pub fn poll_at(&self) -> Option<Instant> {
        self.interfaces.values().filter_map(GmpInterface::poll_at).min()
    }

    /// The state of every interface, for `hatoctl show igmp|mld groups`.
    pub fn show(&self, now: Instant) -> RouterView<A> {
        RouterView {
            protocol: A::PROTOCOL,
            interfaces: self.interfaces.values().map(|i| i.show(now)).collect(),
            disabled_drops: self.disabled_drops,
        }
    }
}
