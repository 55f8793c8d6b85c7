//! Interfaces, Hello and neighbours (RFC 7761 §4.3): periodic and triggered Hellos with a
//! Generation ID drawn at every interface up, goodbye (holdtime 0) on the way down, neighbour
//! liveness, Generation ID changes, DR election (§4.3.2) and the LAN Prune Delay values (§4.3.3).

use std::net::IpAddr;

use hato_core::{Afi, Duration, IfIndex, Instant};
use hato_wire::pim::{Hello, HelloOption, PimMessage};

use crate::config::InterfaceConfig;
use crate::fsm::upstream::UpstreamEvent;
use crate::io::{DropReason, NeighborDownReason, Output, PimEvent};
use crate::router::{Interface, Neighbor, PimRouter, Timer};

/// Holdtime assumed when a Hello has no Holdtime option: Default_Hello_Holdtime (§4.11).
const DEFAULT_HELLO_HOLDTIME: u16 = 105;
/// A holdtime of 0xffff never expires (§4.9.2).
const HOLDTIME_FOREVER: u16 = 0xffff;

fn millis(d: Duration) -> u16 {
    u16::try_from(d.as_millis()).unwrap_or(u16::MAX)
}

impl<A: Afi> PimRouter<A> {
    /// An interface comes up (or is reconfigured): a new Generation ID, and the first Hello at a
    /// random time in [0, Triggered_Hello_Delay] (§4.3.1).
    pub(crate) fn interface_up(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        primary: A::Addr,
        secondary: Vec<A::Addr>,
        config: InterfaceConfig,
        out: &mut Vec<Output<A>>,
    ) {
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            iface.config = config;
            self.interface_addresses(now, ifindex, primary, secondary, out);
            return;
        }
        let generation_id = self.rng.next_u32();
        let delay = self.jitter(config.triggered_hello_delay);
        self.interfaces.insert(ifindex, Interface { config, primary, secondary, generation_id, dr: primary });
        self.arm(Timer::Hello(ifindex), now, delay);
        self.elect_dr(ifindex, out);
        self.mark_all_dirty();
    }

    /// An interface goes down: goodbye, then every neighbour and state on it is forgotten.
    pub(crate) fn interface_down(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Output<A>>) {
        if !self.interfaces.contains_key(&ifindex) {
            return;
        }
        self.send_hello(ifindex, true, out);
        let neighbors: Vec<A::Addr> = self.neighbors_on(ifindex).collect();
        for addr in neighbors {
            self.neighbor_down(now, ifindex, addr, NeighborDownReason::InterfaceDown, out);
        }
        self.assert_interface_down(ifindex);
        let mut down: Vec<_> =
            self.all_downstream().filter(|(.., i, _)| *i == ifindex).map(|(g, s, i, _)| (g, s, i)).collect();
        down.sort_unstable();
        for (g, s, i) in down {
            self.remove_downstream(g, s, i);
        }
        let rpt: Vec<_> = self.rpt_downstream.keys().filter(|(_, _, i)| *i == ifindex).copied().collect();
        for (g, s, i) in rpt {
            self.remove_rpt_downstream(g, s, i);
        }
        self.members.retain(|(_, i), _| *i != ifindex);
        self.cancel_timer(&Timer::Hello(ifindex));
        self.interfaces.remove(&ifindex);
        self.mark_all_dirty();
    }

    /// The interface's addresses (or, through [`Self::interface_up`], its settings) changed: a
    /// Hello goes out at once, with a new Generation ID if an address changed (§4.3.1).
    pub(crate) fn interface_addresses(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        primary: A::Addr,
        secondary: Vec<A::Addr>,
        out: &mut Vec<Output<A>>,
    ) {
        let fresh_generation_id = self.rng.next_u32();
        let Some(iface) = self.interfaces.get_mut(&ifindex) else {
            return;
        };
        if iface.primary != primary || iface.secondary != secondary {
            iface.primary = primary;
            iface.secondary = secondary;
            iface.generation_id = fresh_generation_id;
        }
        self.elect_dr(ifindex, out);
        self.hello_timer(now, ifindex, out);
        self.mark_all_dirty();
    }

    /// Hello Timer expiry: send a Hello and re-arm it for Hello_Period (§4.3.1).
    pub(crate) fn hello_timer(&mut self, now: Instant, ifindex: IfIndex, out: &mut Vec<Output<A>>) {
        let Some(period) = self.interfaces.get(&ifindex).map(|i| i.config.hello_period) else {
            return;
        };
        self.send_hello(ifindex, false, out);
        self.arm(Timer::Hello(ifindex), now, period);
    }

    /// The Hello this router sends on `ifindex` (§4.3.1, §4.9.2); a goodbye has holdtime 0.
    pub fn hello_for(&self, ifindex: IfIndex, goodbye: bool) -> Option<Hello> {
        let iface = self.interfaces.get(&ifindex)?;
        let c = &iface.config;
        let holdtime =
            if goodbye { 0 } else { u16::try_from(c.hello_holdtime.as_secs()).unwrap_or(HOLDTIME_FOREVER) };
        let mut options = vec![
            HelloOption::Holdtime(holdtime),
            HelloOption::LanPruneDelay {
                join_suppression_disabled: c.join_suppression_disabled,
                propagation_delay: millis(c.propagation_delay).min(0x7fff),
                override_interval: millis(c.override_interval),
            },
            HelloOption::DrPriority(c.dr_priority),
            HelloOption::GenerationId(iface.generation_id),
        ];
        if !iface.secondary.is_empty() {
            options.push(HelloOption::AddressList(
                iface.secondary.iter().map(|a| (*a).into()).collect::<Vec<IpAddr>>(),
            ));
        }
        Some(Hello { options })
    }

    pub(crate) fn send_hello(&mut self, ifindex: IfIndex, goodbye: bool, out: &mut Vec<Output<A>>) {
        if let Some(hello) = self.hello_for(ifindex, goodbye) {
            out.push(Output::Send { ifindex, dst: A::ALL_PIM_ROUTERS, message: PimMessage::Hello(hello) });
        }
    }

    /// Dispatches a received PIM message by type.
    pub(crate) fn receive(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        source: A::Addr,
        destination: A::Addr,
        message: PimMessage<A>,
        out: &mut Vec<Output<A>>,
    ) {
        if !self.interfaces.contains_key(&ifindex) {
            self.drop_input(DropReason::InterfaceNotUp, Some(ifindex), Some(source), out);
            return;
        }
        if self.is_my_address(source) {
            return;
        }
        match message {
            PimMessage::Hello(hello) => self.receive_hello(now, ifindex, source, &hello, out),
            PimMessage::JoinPrune(jp) => self.receive_join_prune(now, ifindex, source, &jp, out),
            PimMessage::Register(register) => {
                self.receive_register(now, ifindex, source, destination, register, out)
            }
            PimMessage::RegisterStop(stop) => self.receive_register_stop(now, &stop, out),
            PimMessage::Assert(assert) => self.receive_assert(now, ifindex, source, &assert, out),
            _ => self.drop_input(DropReason::Unhandled, Some(ifindex), Some(source), out),
        }
    }

    /// Hello processing (§4.3.1, §4.3.2, §4.3.4).
    fn receive_hello(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        source: A::Addr,
        hello: &Hello,
        out: &mut Vec<Output<A>>,
    ) {
        let holdtime = hello.holdtime().unwrap_or(DEFAULT_HELLO_HOLDTIME);
        if holdtime == 0 {
            if self.neighbors.contains_key(&(ifindex, source)) {
                self.neighbor_down(now, ifindex, source, NeighborDownReason::Goodbye, out);
            }
            return;
        }
        let secondary: Vec<A::Addr> = hello.secondary_addresses::<A>().filter(|a| *a != source).collect();
        // §4.3.4: an address now listed by this neighbour belongs to no other neighbour.
        for (_, n) in
            self.neighbors.range_mut((ifindex, A::UNSPECIFIED)..).take_while(|((i, _), _)| *i == ifindex)
        {
            n.secondary.retain(|a| !secondary.contains(a));
        }
        let generation_id = hello.generation_id();
        let previous = self.neighbors.insert(
            (ifindex, source),
            Neighbor {
                holdtime,
                dr_priority: hello.dr_priority(),
                generation_id,
                lan_prune_delay: hello.lan_prune_delay(),
                secondary,
                since: now,
            },
        );
        if holdtime == HOLDTIME_FOREVER {
            self.cancel_timer(&Timer::Neighbor(ifindex, source));
        } else {
            self.arm(Timer::Neighbor(ifindex, source), now, Duration::from_secs(holdtime.into()));
        }
        match previous {
            None => {
                out.push(Output::Event(PimEvent::NeighborUp { ifindex, address: source }));
                // §4.3.1: a new neighbour hears our Hello before any Join/Prune we send it.
                self.hello_timer(now, ifindex, out);
                self.mark_dirty_interface(ifindex);
            }
            Some(old) => {
                if let Some(n) = self.neighbors.get_mut(&(ifindex, source)) {
                    n.since = old.since;
                }
                if old.generation_id.is_some() && old.generation_id != generation_id {
                    out.push(Output::Event(PimEvent::NeighborRestarted {
                        ifindex,
                        address: source,
                        generation_id: generation_id.unwrap_or(0),
                    }));
                    // §4.3.1: a restarted neighbour lost our state: Hello now, Joins soon.
                    self.hello_timer(now, ifindex, out);
                    self.neighbor_restarted(now, ifindex, source, out);
                }
                if old.secondary
                    != self.neighbors.get(&(ifindex, source)).map(|n| n.secondary.clone()).unwrap_or_default()
                {
                    self.mark_dirty_interface(ifindex);
                }
            }
        }
        self.elect_dr(ifindex, out);
    }

    /// RPF' GenID changed (§4.5.4, §4.5.5): upstream entries toward it decrease their Join Timer.
    fn neighbor_restarted(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        addr: A::Addr,
        out: &mut Vec<Output<A>>,
    ) {
        let toward = |up: &Option<crate::router::UpstreamNeighbor<A>>| {
            up.is_some_and(|u| u.ifindex == ifindex && u.neighbor == addr)
        };
        let groups: Vec<A::Addr> =
            self.groups.iter().filter(|(_, e)| toward(&e.rpf_prime)).map(|(g, _)| *g).collect();
        for g in groups {
            self.star_g_event(now, g, UpstreamEvent::RpfPrimeGenIdChanged, None, None, out);
        }
        let sources: Vec<(A::Addr, A::Addr)> = self
            .sources_by_group
            .sorted()
            .into_iter()
            .filter(|key| self.sources.get(key).is_some_and(|e| toward(&e.rpf_prime)))
            .collect();
        for (g, s) in sources {
            self.sg_event(now, g, s, UpstreamEvent::RpfPrimeGenIdChanged, None, None, out);
        }
    }

    pub(crate) fn neighbor_down(
        &mut self,
        now: Instant,
        ifindex: IfIndex,
        addr: A::Addr,
        reason: NeighborDownReason,
        out: &mut Vec<Output<A>>,
    ) {
        if self.neighbors.remove(&(ifindex, addr)).is_none() {
            return;
        }
        self.cancel_timer(&Timer::Neighbor(ifindex, addr));
        out.push(Output::Event(PimEvent::NeighborDown { ifindex, address: addr, reason }));
        self.assert_neighbor_expired(now, ifindex, addr, out);
        self.elect_dr(ifindex, out);
        self.mark_dirty_interface(ifindex);
    }

    pub(crate) fn neighbors_on(&self, ifindex: IfIndex) -> impl Iterator<Item = A::Addr> + '_ {
        self.neighbors
            .range((ifindex, A::UNSPECIFIED)..)
            .take_while(move |((i, _), _)| *i == ifindex)
            .map(|((_, a), _)| *a)
    }

    /// DR election (§4.3.2): highest DR priority, then highest address; by address alone when any
    /// router on the link omits the DR Priority option.
    pub(crate) fn elect_dr(&mut self, ifindex: IfIndex, out: &mut Vec<Output<A>>) {
        let Some(iface) = self.interfaces.get(&ifindex) else {
            return;
        };
        let me = (Some(iface.config.dr_priority), iface.primary);
        let candidates: Vec<(Option<u32>, A::Addr)> = std::iter::once(me)
            .chain(
                self.neighbors
                    .range((ifindex, A::UNSPECIFIED)..)
                    .take_while(|((i, _), _)| *i == ifindex)
                    .map(|((_, a), n)| (n.dr_priority, *a)),
            )
            .collect();
        let all_have_priority = candidates.iter().all(|(p, _)| p.is_some());
        let dr = candidates
            .iter()
            .max_by_key(|(p, a)| if all_have_priority { (p.unwrap_or(0), *a) } else { (0, *a) })
            .map(|(_, a)| *a)
            .unwrap_or(me.1);
        if let Some(iface) = self.interfaces.get_mut(&ifindex) {
            if iface.dr != dr {
                iface.dr = dr;
                out.push(Output::Event(PimEvent::DrChanged { ifindex, dr }));
                self.mark_dirty_dr(ifindex);
            }
        }
    }

    /// `lan_delay_enabled(I)` (§4.3.3): every neighbour sent a LAN Prune Delay option.
    fn lan_delay_enabled(&self, ifindex: IfIndex) -> bool {
        self.neighbors
            .range((ifindex, A::UNSPECIFIED)..)
            .take_while(|((i, _), _)| *i == ifindex)
            .all(|(_, n)| n.lan_prune_delay.is_some())
    }

    /// (Effective_Propagation_Delay(I), Effective_Override_Interval(I)) (§4.3.3): the largest
    /// values on the link, ours included, when LAN delay is enabled; the defaults otherwise.
    fn effective_delays(&self, ifindex: IfIndex) -> (Duration, Duration) {
        let defaults = InterfaceConfig::default();
        let Some(iface) = self.interfaces.get(&ifindex) else {
            return (defaults.propagation_delay, defaults.override_interval);
        };
        if !self.lan_delay_enabled(ifindex) {
            return (defaults.propagation_delay, defaults.override_interval);
        }
        self.neighbors
            .range((ifindex, A::UNSPECIFIED)..)
            .take_while(|((i, _), _)| *i == ifindex)
            .filter_map(|(_, n)| n.lan_prune_delay)
            .fold((iface.config.propagation_delay, iface.config.override_interval), |(p, o), (_, np, no)| {
                (p.max(Duration::from_millis(np.into())), o.max(Duration::from_millis(no.into())))
            })
    }

    /// `Suppression_Enabled(I)` (§4.3.3): join suppression is off only when LAN delay is enabled
    /// and every router on the link, this one included, set the T bit.
    pub(crate) fn suppression_enabled(&self, ifindex: IfIndex) -> bool {
        let mine = self.interfaces.get(&ifindex).is_some_and(|i| i.config.join_suppression_disabled);
        let all_t = self
            .neighbors
            .range((ifindex, A::UNSPECIFIED)..)
            .take_while(|((i, _), _)| *i == ifindex)
            .all(|(_, n)| n.lan_prune_delay.is_some_and(|(t, _, _)| t));
        !(self.lan_delay_enabled(ifindex) && mine && all_t)
    }

    /// `J/P_Override_Interval(I)` = Effective_Propagation_Delay + Effective_Override_Interval.
    pub(crate) fn jp_override_interval(&self, ifindex: IfIndex) -> Duration {
        let (p, o) = self.effective_delays(ifindex);
        p + o
    }

    /// `t_override`: random in [0, Effective_Override_Interval(I)] (§4.5.4).
    pub(crate) fn t_override(&mut self, ifindex: IfIndex) -> Duration {
        let (_, o) = self.effective_delays(ifindex);
        self.jitter(o)
    }

    /// `t_joinsuppress` = min(t_suppressed, holdtime), t_suppressed random in
    /// [1.1, 1.4] × t_periodic when suppression is enabled, else zero (§4.5.4).
    pub(crate) fn t_joinsuppress(&mut self, ifindex: IfIndex, holdtime: Option<Duration>) -> Duration {
        if !self.suppression_enabled(ifindex) {
            return Duration::ZERO;
        }
        let period = self.config.join_prune_period;
        let t = self.rng.between(period.mul_f64(1.1), period.mul_f64(1.4));
        holdtime.map_or(t, |h| t.min(h))
    }
}
