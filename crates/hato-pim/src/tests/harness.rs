//! A scenario harness for one IPv4 router: "at t, receive X on ifN from M → expect Y".

use std::net::Ipv4Addr;

use hato_core::{IfIndex, Instant, SgKey, V4};
use hato_wire::pim::{
    EncodedGroup, EncodedSource, Hello, HelloOption, JoinPrune, JoinPruneGroup, PimMessage,
};

use crate::{Input, InterfaceConfig, MrouteIntent, Output, PimConfig, PimRouter, RpfUpdate};

pub(crate) const IF1: IfIndex = IfIndex(1);
pub(crate) const IF2: IfIndex = IfIndex(2);
pub(crate) const IF3: IfIndex = IfIndex(3);

pub(crate) fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Our addresses per interface.
pub(crate) fn me(ifindex: IfIndex) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, ifindex.0 as u8, 1)
}

/// Upstream neighbour on if1 (toward the RP and the source).
pub(crate) fn n1() -> Ipv4Addr {
    a("198.18.1.2")
}
/// Another router on if1.
pub(crate) fn n4() -> Ipv4Addr {
    a("198.18.1.4")
}
/// Downstream neighbours on if2.
pub(crate) fn n2() -> Ipv4Addr {
    a("198.18.2.2")
}
pub(crate) fn n3() -> Ipv4Addr {
    a("198.18.2.3")
}
pub(crate) fn rp() -> Ipv4Addr {
    a("198.18.0.1")
}
pub(crate) fn src() -> Ipv4Addr {
    a("198.18.9.10")
}
/// A source on if3's link.
pub(crate) fn local_src() -> Ipv4Addr {
    a("198.18.3.10")
}
pub(crate) fn grp() -> Ipv4Addr {
    a("239.1.1.1")
}

pub(crate) struct Harness {
    pub r: PimRouter<V4>,
    pub now: Instant,
    pub out: Vec<Output<V4>>,
}

impl Harness {
    /// A router with no interfaces.
    pub fn bare(config: PimConfig) -> Self {
        Harness { r: PimRouter::new(config, 42), now: Instant::ZERO, out: Vec::new() }
    }

    /// A router with if1..if3 up, RP 198.18.0.1 for 239/8 reachable via N1 on if1, the source
    /// 198.18.9.10 via N1 too, and 198.18.3.10 directly connected on if3. Hellos from N1 and N2
    /// have been received; outputs so far are discarded.
    pub fn standard() -> Self {
        let mut h = Self::bare(PimConfig::default());
        for i in [IF1, IF2, IF3] {
            h.iface(i, InterfaceConfig::default());
        }
        h.input(Input::StaticRp { range: "239.0.0.0/8".parse().unwrap(), rp: Some(rp()) });
        h.rpf(rp(), IF1, n1(), false);
        h.rpf(src(), IF1, n1(), false);
        h.rpf(local_src(), IF3, local_src(), true);
        h.hello(IF1, n1());
        h.hello(IF2, n2());
        h.out.clear();
        h
    }

    pub fn iface(&mut self, ifindex: IfIndex, config: InterfaceConfig) {
        self.input(Input::InterfaceUp { ifindex, primary: me(ifindex), secondary: vec![], config });
    }

    pub fn rpf(&mut self, target: Ipv4Addr, ifindex: IfIndex, neighbor: Ipv4Addr, connected: bool) {
        self.input(Input::Rpf(RpfUpdate {
            target,
            interface: Some(ifindex),
            neighbor: Some(neighbor),
            connected,
            metric: if connected { 0 } else { 10 },
            preference: if connected { 0 } else { 1 },
        }));
    }

    pub fn input(&mut self, input: Input<V4>) -> &mut Self {
        self.r.handle(self.now, input, &mut self.out);
        self
    }

    /// Advances the clock to `secs` (from the origin), running every timer due on the way.
    pub fn at(&mut self, secs: f64) -> &mut Self {
        let target = Instant::from_millis((secs * 1000.0).round() as u64);
        for _ in 0..100_000 {
            match self.r.poll_at() {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.r.on_timeout(self.now, &mut self.out);
                }
                _ => break,
            }
        }
        self.now = self.now.max(target);
        self
    }

    pub fn receive(&mut self, ifindex: IfIndex, from: Ipv4Addr, message: PimMessage<V4>) -> &mut Self {
        let destination = match &message {
            PimMessage::Register(_) => rp(),
            _ => V4_ALL_PIM,
        };
        self.input(Input::Received { ifindex, source: from, destination, message })
    }

    pub fn hello_with(&mut self, ifindex: IfIndex, from: Ipv4Addr, options: Vec<HelloOption>) -> &mut Self {
        self.receive(ifindex, from, PimMessage::Hello(Hello { options }))
    }

    /// A Hello with holdtime 105, DR priority 1, GenID 1 and the default LAN Prune Delay.
    pub fn hello(&mut self, ifindex: IfIndex, from: Ipv4Addr) -> &mut Self {
        self.hello_with(ifindex, from, standard_hello(1))
    }

    /// Receives a Join/Prune from `from` addressed to `upstream`, holdtime 210 s.
    pub fn jp(
        &mut self,
        ifindex: IfIndex,
        from: Ipv4Addr,
        upstream: Ipv4Addr,
        groups: Vec<JoinPruneGroup<V4>>,
    ) -> &mut Self {
        self.receive(
            ifindex,
            from,
            PimMessage::JoinPrune(JoinPrune { upstream_neighbor: upstream, holdtime: 210, groups }),
        )
    }

    /// Takes the outputs collected so far.
    pub fn take(&mut self) -> Vec<Output<V4>> {
        std::mem::take(&mut self.out)
    }

    /// The Join/Prune messages sent so far (taking all outputs).
    pub fn sent_jp(&mut self) -> Vec<(IfIndex, JoinPrune<V4>)> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                Output::Send { ifindex, message: PimMessage::JoinPrune(jp), .. } => Some((ifindex, jp)),
                _ => None,
            })
            .collect()
    }

    /// Downstream state name of an entry, "NoInfo" when absent.
    pub fn down(&self, ifindex: IfIndex, key: SgKey<V4>, rpt: bool) -> String {
        self.r
            .join_states(self.now)
            .into_iter()
            .find(|j| j.ifindex == ifindex && j.key == key && (j.kind == crate::EntryKind::SgRpt) == rpt)
            .map_or("NoInfo".to_string(), |j| j.state)
    }

    /// Upstream view of an entry.
    pub fn up(&self, key: SgKey<V4>) -> Option<crate::UpstreamView<V4>> {
        self.r.upstream(self.now).into_iter().find(|u| u.key == key)
    }

    pub fn mroute(&self, key: SgKey<V4>) -> Option<MrouteIntent<V4>> {
        self.r.mroute(&key)
    }
}

pub(crate) const V4_ALL_PIM: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 13);

pub(crate) fn standard_hello(generation_id: u32) -> Vec<HelloOption> {
    vec![
        HelloOption::Holdtime(105),
        HelloOption::LanPruneDelay {
            join_suppression_disabled: false,
            propagation_delay: 500,
            override_interval: 2500,
        },
        HelloOption::DrPriority(1),
        HelloOption::GenerationId(generation_id),
    ]
}

/// One group set.
pub(crate) fn set(
    group: Ipv4Addr,
    joins: Vec<EncodedSource<V4>>,
    prunes: Vec<EncodedSource<V4>>,
) -> JoinPruneGroup<V4> {
    JoinPruneGroup { group: EncodedGroup::host(group), joins, prunes }
}

pub(crate) fn star(rp: Ipv4Addr) -> EncodedSource<V4> {
    EncodedSource::star_g(rp)
}
pub(crate) fn sg(s: Ipv4Addr) -> EncodedSource<V4> {
    EncodedSource::sg(s)
}
pub(crate) fn rpt(s: Ipv4Addr) -> EncodedSource<V4> {
    EncodedSource::sg_rpt(s)
}

/// Whether a Join/Prune group set for `group` joins / prunes `entry`.
pub(crate) fn has(jp: &JoinPrune<V4>, group: Ipv4Addr, entry: EncodedSource<V4>, join: bool) -> bool {
    jp.groups.iter().filter(|s| s.group.group == group).any(|s| {
        if join {
            s.joins.contains(&entry)
        } else {
            s.prunes.contains(&entry)
        }
    })
}
