//! A small scenario language for the router-side state machines on a virtual clock.
//!
//! One router (address `router(5)`) runs the protocol on interface 1 of a LAN. Groups, sources and
//! hosts are numbered; states and queries are written the RFC's way so that each test reads like
//! its table row:
//!
//! - states: `"IN {1,2}"`, `"EX {1} {2}"` (X then Y), `"none"` (no group record);
//! - queries: `"general"`, `"Q(G1)"`, `"Q(G1,{1,2})"`, with `" S"` when the S flag is set and a
//!   `"v2 "` / `"v1 "` prefix for older versions;
//! - membership deltas: `"G1 include {1}"`, `"G1 exclude {}"`.

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hato_core::{Afi, IfIndex, Instant, V4, V6};
use hato_gmp::{
    DropReason, Filter, FilterMode, GmpFamily, GmpMessage, GmpRouter, InterfaceConfig, InterfaceView,
    LogEvent, Output, Received,
};
use hato_wire::gmp::{GroupRecord, QueryV3, RecordType, ReportV3};

pub const IF: IfIndex = IfIndex(1);

/// Numbered addresses of a family.
pub trait Numbered: GmpFamily {
    /// Group `n`: 239.1.1.n / ff3e::n.
    fn group(n: u8) -> Self::Addr;
    /// Source `n`: 198.18.1.n / fd00::1:n.
    fn source(n: u8) -> Self::Addr;
    /// Router or host `n` on the LAN: 198.18.0.n / fe80::n.
    fn node(n: u8) -> Self::Addr;
    /// The number an address was built from.
    fn number(addr: Self::Addr) -> u8;
}

impl Numbered for V4 {
    fn group(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(239, 1, 1, n)
    }
    fn source(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 1, n)
    }
    fn node(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, n)
    }
    fn number(addr: Ipv4Addr) -> u8 {
        addr.octets()[3]
    }
}

impl Numbered for V6 {
    fn group(n: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 0, 0, n.into())
    }
    fn source(n: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 1, n.into())
    }
    fn node(n: u8) -> Ipv6Addr {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, n.into())
    }
    fn number(addr: Ipv6Addr) -> u8 {
        addr.octets()[15]
    }
}

/// The effects of one step, sorted by kind and described in the language above.
#[derive(Debug, Default)]
pub struct Effects<A: Afi> {
    pub queries: Vec<String>,
    pub deltas: Vec<String>,
    pub logs: Vec<LogEvent<A>>,
    pub sent: Vec<(A::Addr, GmpMessage<A>)>,
}

impl<A: Afi> Effects<A> {
    pub fn dropped(&self) -> Vec<DropReason> {
        self.logs
            .iter()
            .filter_map(|log| match log {
                LogEvent::Dropped { reason, .. } => Some(*reason),
                _ => None,
            })
            .collect()
    }
}

pub struct Lab<A: Numbered> {
    pub now: Instant,
    pub router: GmpRouter<A>,
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn millis(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn set<A: Numbered>(addrs: impl IntoIterator<Item = A::Addr>) -> String {
    let numbers: Vec<String> = addrs.into_iter().map(|a| A::number(a).to_string()).collect();
    format!("{{{}}}", numbers.join(","))
}

/// Describes a query in the lab language.
pub fn describe_query<A: Numbered>(message: &GmpMessage<A>) -> String {
    let target = |group: A::Addr, sources: &[A::Addr]| {
        if group == A::UNSPECIFIED {
            "general".to_string()
        } else if sources.is_empty() {
            format!("Q(G{})", A::number(group))
        } else {
            format!("Q(G{},{})", A::number(group), set::<A>(sources.iter().copied()))
        }
    };
    match message {
        GmpMessage::QueryV1 { group } => format!("v1 {}", target(*group, &[])),
        GmpMessage::QueryV2 { group, .. } => format!("v2 {}", target(*group, &[])),
        GmpMessage::QueryV3(q) => {
            let s = if q.suppress_router_side { " S" } else { "" };
            format!("{}{s}", target(q.group, &q.sources))
        }
        other => format!("not a query: {other:?}"),
    }
}

impl<A: Numbered> Lab<A> {
    /// A querier with the default configuration, after its first startup query.
    pub fn new() -> Self {
        Self::with_config(InterfaceConfig::default())
    }

    pub fn with_config(config: InterfaceConfig) -> Self {
        let mut lab = Lab { now: Instant::ZERO, router: GmpRouter::new() };
        let mut out = Vec::new();
        lab.router.enable_interface(lab.now, IF, A::node(5), config, &mut out).expect("valid configuration");
        let fx = lab.effects(out);
        assert!(matches!(&fx.queries[..], [q] if q.ends_with("general")), "startup query: {:?}", fx.queries);
        lab
    }

    fn effects(&self, out: Vec<Output<A>>) -> Effects<A> {
        let mut fx = Effects { queries: Vec::new(), deltas: Vec::new(), logs: Vec::new(), sent: Vec::new() };
        for output in out {
            match output {
                Output::Send { ifindex, dst, message } => {
                    assert_eq!(ifindex, IF);
                    if message.is_query() {
                        fx.queries.push(describe_query(&message));
                    }
                    fx.sent.push((dst, message));
                }
                Output::MembershipChanged { group, filter, .. } => {
                    let (mode, sources) = match filter {
                        Filter::Include(s) => ("include", s),
                        Filter::Exclude(s) => ("exclude", s),
                    };
                    fx.deltas.push(format!("G{} {mode} {}", A::number(group), set::<A>(sources)));
                }
                Output::Log(log) => fx.logs.push(log),
            }
        }
        fx
    }

    /// Receives a message from LAN node `from` with correct TTL and Router Alert.
    pub fn rx(&mut self, from: u8, message: GmpMessage<A>) -> Effects<A> {
        self.rx_with(
            Received { ifindex: IF, src: A::node(from), dst: A::ALL_V3_ROUTERS, ttl: 1, router_alert: true },
            message,
        )
    }

    pub fn rx_with(&mut self, rx: Received<A>, message: GmpMessage<A>) -> Effects<A> {
        let mut out = Vec::new();
        self.router.handle_message(self.now, &rx, message, &mut out);
        self.effects(out)
    }

    /// A version 3 report from host 100 with one record about group `g`.
    pub fn record(&mut self, record_type: RecordType, g: u8, sources: &[u8]) -> Effects<A> {
        self.rx(100, report(record_type, g, sources))
    }

    /// Moves the clock forward by `d`, handling every deadline on the way.
    pub fn advance(&mut self, d: Duration) -> Effects<A> {
        let end = self.now + d;
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match self.router.poll_at() {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.router.on_timeout(self.now, &mut out);
                }
                _ => break,
            }
        }
        self.now = end;
        self.effects(out)
    }

    pub fn view(&self) -> InterfaceView<A> {
        self.router.show(self.now).interfaces.into_iter().next().expect("interface 1 enabled")
    }

    /// The state of group `g` in the lab language.
    pub fn state(&self, g: u8) -> String {
        let view = self.view();
        let Some(group) = view.groups.iter().find(|gv| gv.group == A::group(g)) else { return "none".into() };
        let forwarded = group.sources.iter().filter(|s| s.forwarded).map(|s| s.source);
        let blocked = group.sources.iter().filter(|s| !s.forwarded).map(|s| s.source);
        match group.filter_mode {
            FilterMode::Include => {
                assert!(group.sources.iter().all(|s| s.forwarded), "INCLUDE sources all have timers");
                format!("IN {}", set::<A>(forwarded))
            }
            FilterMode::Exclude => format!("EX {} {}", set::<A>(forwarded), set::<A>(blocked)),
        }
    }

    pub fn group_timer(&self, g: u8) -> Option<Duration> {
        let view = self.view();
        let group = view.groups.iter().find(|gv| gv.group == A::group(g))?;
        group.group_timer_ms.map(Duration::from_millis)
    }

    pub fn source_timer(&self, g: u8, s: u8) -> Option<Duration> {
        let view = self.view();
        let group = view.groups.iter().find(|gv| gv.group == A::group(g))?;
        let source = group.sources.iter().find(|sv| sv.source == A::source(s))?;
        source.timer_ms.map(Duration::from_millis)
    }

    pub fn compatibility(&self, g: u8) -> Option<&'static str> {
        self.view().groups.iter().find(|gv| gv.group == A::group(g)).map(|gv| gv.compatibility)
    }

    /// Reaches INCLUDE (A) for group `g`.
    pub fn include(&mut self, g: u8, a: &[u8]) {
        self.record(RecordType::ModeIsInclude, g, a);
        assert_eq!(self.state(g), format!("IN {}", set::<A>(a.iter().map(|n| A::source(*n)))));
    }

    /// Reaches EXCLUDE (X, Y) for group `g` (X and Y disjoint).
    pub fn exclude(&mut self, g: u8, x: &[u8], y: &[u8]) {
        self.record(RecordType::ModeIsExclude, g, y);
        self.record(RecordType::AllowNewSources, g, x);
        let x = set::<A>(x.iter().map(|n| A::source(*n)));
        let y = set::<A>(y.iter().map(|n| A::source(*n)));
        assert_eq!(self.state(g), format!("EX {x} {y}"));
    }

    /// A general or specific query from LAN node `from`.
    pub fn query_from(&mut self, from: u8, query: QueryV3<A>) -> Effects<A> {
        self.rx(from, GmpMessage::QueryV3(query))
    }
}

/// A version 3 report with one record.
pub fn report<A: Numbered>(record_type: RecordType, g: u8, sources: &[u8]) -> GmpMessage<A> {
    GmpMessage::ReportV3(ReportV3 {
        records: vec![GroupRecord {
            record_type,
            group: A::group(g),
            sources: sources.iter().map(|n| A::source(*n)).collect(),
            aux_data: Vec::new(),
        }],
    })
}

/// A version 3 query as another router would send it: QRV 2, QQIC 125.
pub fn query<A: Numbered>(group: Option<u8>, sources: &[u8], suppress: bool) -> QueryV3<A> {
    QueryV3 {
        max_resp_code: 100,
        group: group.map_or(A::UNSPECIFIED, A::group),
        suppress_router_side: suppress,
        robustness: 2,
        qqic: 125,
        sources: sources.iter().map(|n| A::source(*n)).collect(),
    }
}

/// Runs each listed generic test for IGMP (`V4`) and MLD (`V6`).
#[macro_export]
macro_rules! both_families {
    ($($name:ident),* $(,)?) => {
        mod igmp {
            $( #[test] fn $name() { super::$name::<hato_core::V4>(); } )*
        }
        mod mld {
            $( #[test] fn $name() { super::$name::<hato_core::V6>(); } )*
        }
    };
}
