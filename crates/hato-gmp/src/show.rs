//! A typed snapshot of the router-side state, for `hatoctl show igmp|mld groups [--json]`: per
//! interface the querier state and address, versions and timers; per group the filter mode,
//! group timer, compatibility mode and timer, and the sources with their timers (the content of
//! pim6stat's "Multicast Interface Table", "MLD Querier List" and "Reported MLD Group").
//! Timers are remaining milliseconds; `None` is a timer that is not running.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hato_core::{IfIndex, Instant};
use serde::Serialize;

use crate::family::{GmpFamily, Version};
use crate::interface::{GmpInterface, TimerKey};
use crate::output::{DropReason, FilterMode, QuerierState};

/// All interfaces of one protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct RouterView<A: GmpFamily> {
    pub protocol: &'static str,
    pub interfaces: Vec<InterfaceView<A>>,
    /// Packets received on interfaces that do not run the protocol.
    pub disabled_drops: u64,
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct InterfaceView<A: GmpFamily> {
    pub ifindex: IfIndex,
    pub address: A::Addr,
    /// The configured version's name ("IGMPv3", "MLDv2").
    pub version: &'static str,
    /// The versions whose hosts are served.
    pub possible_versions: Vec<&'static str>,
    pub querier_state: QuerierState,
    pub querier: A::Addr,
    pub general_query_timer_ms: Option<u64>,
    pub other_querier_present_timer_ms: Option<u64>,
    /// The Robustness Variable and Query Interval in force (adopted from the querier if it is
    /// another router).
    pub robustness: u8,
    pub query_interval_ms: u64,
    pub groups: Vec<GroupView<A>>,
    pub drops: BTreeMap<DropReason, u64>,
}

/// One group on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct GroupView<A: GmpFamily> {
    pub group: A::Addr,
    pub filter_mode: FilterMode,
    pub group_timer_ms: Option<u64>,
    /// The compatibility mode's name ("IGMPv2", "MLDv1", ...).
    pub compatibility: &'static str,
    /// The older version host present timer that sets the compatibility mode.
    pub compatibility_timer_ms: Option<u64>,
    pub sources: Vec<SourceView<A>>,
}

/// One source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "")]
pub struct SourceView<A: GmpFamily> {
    pub source: A::Addr,
    pub timer_ms: Option<u64>,
    /// Whether traffic from the source is forwarded (RFC 3376 §6.3).
    pub forwarded: bool,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl<A: GmpFamily> GmpInterface<A> {
    fn remaining_ms(&self, key: &TimerKey<A>, now: Instant) -> Option<u64> {
        self.timers.remaining(key, now).map(millis)
    }

    /// The interface's state at `now`.
    pub fn show(&self, now: Instant) -> InterfaceView<A> {
        let timers = self.timers();
        let groups = self
            .groups
            .iter()
            .map(|(group, state)| {
                let compatibility = self.compatibility(*group);
                let compatibility_timer_ms = match compatibility {
                    Version::V3 => None,
                    older => self.remaining_ms(&TimerKey::OlderHost(*group, older), now),
                };
                let sources = state
                    .sources
                    .iter()
                    .map(|source| {
                        let timer_ms = self.remaining_ms(&TimerKey::Source(*group, *source), now);
                        SourceView { source: *source, timer_ms, forwarded: timer_ms.is_some() }
                    })
                    .collect();
                GroupView {
                    group: *group,
                    filter_mode: state.mode,
                    group_timer_ms: self.remaining_ms(&TimerKey::Group(*group), now),
                    compatibility: A::version_name(compatibility),
                    compatibility_timer_ms,
                    sources,
                }
            })
            .collect();
        InterfaceView {
            ifindex: self.ifindex,
            address: self.address,
            version: A::version_name(self.config.version),
            possible_versions: self
                .config
                .possible_versions::<A>()
                .into_iter()
                .map(A::version_name)
                .collect(),
            querier_state: self.querier,
            querier: self.querier_address,
            general_query_timer_ms: self.remaining_ms(&TimerKey::GeneralQuery, now),
            other_querier_present_timer_ms: self.remaining_ms(&TimerKey::OtherQuerierPresent, now),
            robustness: timers.robustness,
            query_interval_ms: millis(timers.query_interval),
            groups,
            drops: self.drops.clone(),
        }
    }
}

/// A timer as seconds with one decimal, or "-" when it is not running.
struct Timer(Option<u64>);

impl fmt::Display for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ms) => write!(f, "{}.{}s", ms / 1000, ms % 1000 / 100),
            None => f.write_str("-"),
        }
    }
}

impl<A: GmpFamily> fmt::Display for RouterView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for interface in &self.interfaces {
            write!(f, "{interface}")?;
        }
        if self.disabled_drops > 0 {
            writeln!(f, "{} packets on interfaces without {}", self.disabled_drops, self.protocol)?;
        }
        Ok(())
    }
}

impl<A: GmpFamily> fmt::Display for InterfaceView<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.querier_state {
            QuerierState::Querier => "querier",
            QuerierState::NonQuerier => "non-querier",
        };
        writeln!(
            f,
            "{} {} {}: {state}, querier {}, possible versions {}, robustness {}, query interval {}",
            self.ifindex,
            self.address,
            self.version,
            self.querier,
            self.possible_versions.join(" "),
            self.robustness,
            Timer(Some(self.query_interval_ms)),
        )?;
        writeln!(
            f,
            "  timers: general query {}, other querier present {}",
            Timer(self.general_query_timer_ms),
            Timer(self.other_querier_present_timer_ms)
        )?;
        for group in &self.groups {
            writeln!(
                f,
                "  {} {} group timer {} compat {} {}",
                group.group,
                group.filter_mode,
                Timer(group.group_timer_ms),
                group.compatibility,
                Timer(group.compatibility_timer_ms)
            )?;
            for source in &group.sources {
                let verdict = if source.forwarded { "forward" } else { "block" };
                writeln!(f, "    {} {} {verdict}", source.source, Timer(source.timer_ms))?;
            }
        }
        if !self.drops.is_empty() {
            let drops: Vec<String> = self.drops.iter().map(|(reason, n)| format!("{reason:?} {n}")).collect();
            writeln!(f, "  drops: {}", drops.join(", "))?;
        }
        Ok(())
    }
}
