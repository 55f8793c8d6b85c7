//! [`SimHarness`]: the scenarios on `SimPlane`, with a virtual clock that moves 1 ms per packet.

use std::collections::BTreeMap;

use hato_core::{Duration, IfIndex, Instant, Upcall};
use hato_sim::{SimConfig, SimError, SimPacket, SimPlane};

use super::{Family, Modes, PlaneHarness, FIRST_PORT, PAYLOAD, UNHEARD_PORT};

const UPSTREAM: IfIndex = IfIndex(2);
const DOWNSTREAM: IfIndex = IfIndex(3);

#[derive(Debug)]
pub struct SimHarness<A: Family> {
    plane: SimPlane<A>,
    now: Instant,
    ports: BTreeMap<A::Addr, u16>,
    received: BTreeMap<A::Addr, u64>,
}

impl<A: Family> SimHarness<A> {
    /// A plane configured as the kernel harness opens its table.
    pub fn new(modes: Modes) -> Self {
        let config =
            SimConfig { assert: modes.assert, pim: modes.pim, wrong_vif_whole: modes.wrong_vif_whole };
        SimHarness {
            plane: SimPlane::new(config, [UPSTREAM, DOWNSTREAM]),
            now: Instant::ZERO,
            ports: BTreeMap::new(),
            received: BTreeMap::new(),
        }
    }

    fn count_released(&mut self) {
        for copy in self.plane.take_released() {
            self.count(copy.interface, &copy.packet);
        }
    }

    fn count(&mut self, interface: IfIndex, packet: &SimPacket<A>) {
        if interface == DOWNSTREAM && self.ports.contains_key(&packet.group) {
            *self.received.entry(packet.group).or_default() += 1;
        }
    }
}

impl<A: Family> PlaneHarness<A> for SimHarness<A> {
    type Plane = SimPlane<A>;

    fn name(&self) -> &'static str {
        "sim"
    }

    fn plane(&mut self) -> &mut SimPlane<A> {
        &mut self.plane
    }

    fn upstream(&self) -> IfIndex {
        UPSTREAM
    }

    fn downstream(&self) -> IfIndex {
        DOWNSTREAM
    }

    fn errno(error: &SimError) -> Option<i32> {
        Some(error.errno())
    }

    fn listen(&mut self, group: A::Addr) {
        let port = FIRST_PORT + u16::try_from(self.ports.len()).expect("few groups");
        self.ports.entry(group).or_insert(port);
    }

    fn send(&mut self, group: A::Addr, ttl: u8) {
        self.count_released();
        self.now += Duration::from_millis(1);
        let port = self.ports.get(&group).copied().unwrap_or(UNHEARD_PORT);
        let packet = SimPacket::udp(A::source(), group, ttl, port, PAYLOAD);
        let injection = self.plane.inject(self.now, UPSTREAM, packet);
        for copy in injection.copies {
            self.count(copy.interface, &copy.packet);
        }
    }

    fn received(&mut self, group: A::Addr, _at_least: u64) -> u64 {
        self.count_released();
        self.received.get(&group).copied().unwrap_or(0)
    }

    fn next_upcall(&mut self) -> Option<Upcall<A>> {
        self.plane.recv()
    }

    fn drain_upcalls(&mut self) {
        while self.plane.recv().is_some() {}
    }

    fn try_upcall(&mut self) -> Option<Upcall<A>> {
        self.plane.recv()
    }

    fn elapse(&mut self, duration: Duration) {
        self.now += duration;
        self.plane.advance(self.now);
    }

    fn clock(&self) -> Duration {
        self.now.since_origin()
    }
}
