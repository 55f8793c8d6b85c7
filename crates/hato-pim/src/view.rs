//! Read-only views for `hatoctl show pim ...`: typed, serialisable, each with a one-line
//! `Display`.

use std::fmt;

use hato_core::{Afi, Duration, IfIndex, Instant, SgKey};
use serde::Serialize;

use crate::fsm::register::RegisterState;
use crate::io::{DropReason, MrouteIntent};
use crate::router::{DownstreamEntry, PimRouter, Timer, UpstreamNeighbor};

/// One downstream state as listed: (G, S or *, interface, state).
type DownstreamRow<'a, A> = (<A as Afi>::Addr, Option<<A as Afi>::Addr>, IfIndex, &'a DownstreamEntry<A>);

/// Seconds with one decimal, or "-" for no timer.
struct Secs(Option<Duration>);

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "{:.1}s", d.as_secs_f64()),
            None => f.write_str("-"),
        }
    }
}

/// One neighbour (`show pim neighbor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct NeighborView<A: Afi> {
    pub ifindex: IfIndex,
    pub address: A::Addr,
    pub secondary: Vec<A::Addr>,
    pub generation_id: Option<u32>,
    pub dr_priority: Option<u32>,
    /// Advertised holdtime, seconds (65535: forever).
    pub holdtime: u16,
    pub expires_in: Option<Duration>,
    pub uptime: Duration,
    /// (T bit, propagation delay ms, override interval ms).
    pub lan_prune_delay: Option<(bool, u16, u16)>,
}

impl<A: Afi> fmt::Display for NeighborView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} up {} expires {} prio {} genid {}",
            self.ifindex,
            self.address,
            Secs(Some(self.uptime)),
            Secs(self.expires_in),
            self.dr_priority.map_or("-".to_string(), |p| p.to_string()),
            self.generation_id.map_or("-".to_string(), |g| format!("0x{g:08x}")),
        )
    }
}

/// One PIM interface (`show pim interface`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct InterfaceView<A: Afi> {
    pub ifindex: IfIndex,
    pub address: A::Addr,
    pub secondary: Vec<A::Addr>,
    pub dr: A::Addr,
    pub is_dr: bool,
    pub dr_priority: u32,
    pub generation_id: u32,
    pub neighbors: usize,
    pub hello_in: Option<Duration>,
    pub join_prune_states: usize,
}

impl<A: Afi> fmt::Display for InterfaceView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} dr {}{} nbrs {} genid 0x{:08x} hello in {}",
            self.ifindex,
            self.address,
            self.dr,
            if self.is_dr { " (me)" } else { "" },
            self.neighbors,
            self.generation_id,
            Secs(self.hello_in)
        )
    }
}

/// Which kind of Join/Prune entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    StarG,
    Sg,
    SgRpt,
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EntryKind::StarG => "(*,G)",
            EntryKind::Sg => "(S,G)",
            EntryKind::SgRpt => "(S,G,rpt)",
        })
    }
}

/// One downstream Join/Prune state (`show pim join`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct JoinStateView<A: Afi> {
    pub ifindex: IfIndex,
    pub key: SgKey<A>,
    pub kind: EntryKind,
    /// The state's name in the RFC table (e.g. "Join", "PrunePending").
    pub state: String,
    pub expires_in: Option<Duration>,
    pub prune_pending_in: Option<Duration>,
}

impl<A: Afi> fmt::Display for JoinStateView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} expires {} ppt {}",
            self.ifindex,
            self.kind,
            self.key,
            self.state,
            Secs(self.expires_in),
            Secs(self.prune_pending_in)
        )
    }
}

/// Upstream state of one (*,G) or (S,G) (`show pim upstream`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound(serialize = ""))]
pub struct UpstreamView<A: Afi> {
    pub key: SgKey<A>,
    /// "Joined" / "NotJoined".
    pub state: String,
    /// (S,G) only: the (S,G,rpt) state.
    pub rpt_state: Option<String>,
    pub rpf_neighbor: Option<UpstreamNeighbor<A>>,
    pub join_timer_in: Option<Duration>,
    pub spt_bit: bool,
    pub keepalive_in: Option<Duration>,
    pub register: Option<RegisterState>,
    pub register_stop_in: Option<Duration>,
}

impl<A: Afi> fmt::Display for UpstreamView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.key, self.state)?;
        match &self.rpf_neighbor {
            Some(n) => write!(f, " rpf {} via {}", n.neighbor, n.ifindex)?,
            None => f.write_str(" rpf -")?,
        }
        write!(f, " jt {}", Secs(self.join_timer_in))?;
        if let Some(rpt) = &self.rpt_state {
            write!(f, " rpt {rpt}")?;
        }
        if self.spt_bit {
            f.write_str(" spt")?;
        }
        if self.keepalive_in.is_some() {
            write!(f, " kat {}", Secs(self.keepalive_in))?;
        }
        if let Some(r) = self.register {
            write!(f, " register {r:?} rst {}", Secs(self.register_stop_in))?;
        }
        Ok(())
    }
}

/// Dropped-input counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterView {
    pub reason: DropReason,
    pub count: u64,
}

impl fmt::Display for CounterView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} {}", self.reason, self.count)
    }
}

impl<A: Afi> PimRouter<A> {
    pub fn neighbors(&self, now: Instant) -> Vec<NeighborView<A>> {
        self.neighbors
            .iter()
            .map(|((ifindex, address), n)| NeighborView {
                ifindex: *ifindex,
                address: *address,
                secondary: n.secondary.clone(),
                generation_id: n.generation_id,
                dr_priority: n.dr_priority,
                holdtime: n.holdtime,
                expires_in: self.timer_remaining(&Timer::Neighbor(*ifindex, *address), now),
                uptime: now.saturating_since(n.since),
                lan_prune_delay: n.lan_prune_delay,
            })
            .collect()
    }

    pub fn interfaces(&self, now: Instant) -> Vec<InterfaceView<A>> {
        self.interfaces
            .iter()
            .map(|(ifindex, i)| InterfaceView {
                ifindex: *ifindex,
                address: i.primary,
                secondary: i.secondary.clone(),
                dr: i.dr,
                is_dr: i.dr == i.primary,
                dr_priority: i.config.dr_priority,
                generation_id: i.generation_id,
                neighbors: self.neighbors_on(*ifindex).count(),
                hello_in: self.timer_remaining(&Timer::Hello(*ifindex), now),
                join_prune_states: self.per_interface.get(ifindex).copied().unwrap_or(0),
            })
            .collect()
    }

    /// Downstream (*,G) and (S,G) states by interface, then (S,G,rpt) states, each in (G, S, I) order.
    pub fn join_states(&self, now: Instant) -> Vec<JoinStateView<A>> {
        let mut states: Vec<DownstreamRow<'_, A>> = self.all_downstream().collect();
        states.sort_unstable_by_key(|(g, s, i, _)| (*g, *s, *i));
        let plain = states.into_iter().map(|(g, s, i, e)| JoinStateView {
            ifindex: i,
            key: SgKey { source: s, group: g },
            kind: if s.is_some() { EntryKind::Sg } else { EntryKind::StarG },
            state: format!("{:?}", e.state),
            expires_in: self.timer_remaining(&Timer::Expiry(g, s, i), now),
            prune_pending_in: self.timer_remaining(&Timer::PrunePending(g, s, i), now),
        });
        let rpt = self.rpt_downstream.iter().map(|((g, s, i), st)| JoinStateView {
            ifindex: *i,
            key: SgKey::sg(*s, *g),
            kind: EntryKind::SgRpt,
            state: format!("{st:?}"),
            expires_in: self.timer_remaining(&Timer::RptExpiry(*g, *s, *i), now),
            prune_pending_in: self.timer_remaining(&Timer::RptPrunePending(*g, *s, *i), now),
        });
        plain.chain(rpt).collect()
    }

    pub fn upstream(&self, now: Instant) -> Vec<UpstreamView<A>> {
        let groups = self.groups.iter().map(|(g, e)| UpstreamView {
            key: SgKey::star_g(*g),
            state: format!("{:?}", e.upstream),
            rpt_state: None,
            rpf_neighbor: e.rpf_prime,
            join_timer_in: self.timer_remaining(&Timer::Join(*g, None), now),
            spt_bit: false,
            keepalive_in: None,
            register: None,
            register_stop_in: None,
        });
        let sources = self.sources.iter().map(|((g, s), e)| UpstreamView {
            key: SgKey::sg(*s, *g),
            state: format!("{:?}", e.upstream),
            rpt_state: Some(format!("{:?}", e.rpt)),
            rpf_neighbor: e.rpf_prime,
            join_timer_in: self.timer_remaining(&Timer::Join(*g, Some(*s)), now),
            spt_bit: e.spt_bit,
            keepalive_in: self.timer_remaining(&Timer::Keepalive(*g, *s), now),
            register: (e.register != RegisterState::NoInfo).then_some(e.register),
            register_stop_in: self.timer_remaining(&Timer::RegisterStop(*g, *s), now),
        });
        let mut all: Vec<UpstreamView<A>> = groups.chain(sources).collect();
        all.sort_by_key(|v| v.key);
        all
    }

    /// The current mroute intents (`show pim mroute`).
    pub fn mroutes(&self) -> Vec<MrouteIntent<A>> {
        let star_g =
            self.groups.iter().filter_map(|(g, e)| Some(e.intent.as_ref()?.intent(SgKey::star_g(*g))));
        let sg =
            self.sources.iter().filter_map(|((g, s), e)| Some(e.intent.as_ref()?.intent(SgKey::sg(*s, *g))));
        let mut all: Vec<MrouteIntent<A>> = star_g.chain(sg).collect();
        all.sort_by_key(|intent| intent.key);
        all
    }

    /// The intent for one key.
    pub fn mroute(&self, key: &SgKey<A>) -> Option<MrouteIntent<A>> {
        let stored = match key.source {
            Some(source) => self.sources.get(&(key.group, source))?.intent.as_ref(),
            None => self.groups.get(&key.group)?.intent.as_ref(),
        };
        stored.map(|stored| stored.intent(*key))
    }

    pub fn counters(&self) -> Vec<CounterView> {
        self.counters.iter().map(|(reason, count)| CounterView { reason: *reason, count: *count }).collect()
    }

    /// How many times input was dropped for `reason`.
    pub fn counter(&self, reason: DropReason) -> u64 {
        self.counters.get(&reason).copied().unwrap_or(0)
    }
}
