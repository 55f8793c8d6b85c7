//! RPF lookup: which interface and neighbour traffic from an address (a source, an RP, a BSR) is
//! expected from, combining the URIB and the MRIB by one of FRR's `ip multicast rpf-lookup-mode`s:
//!
//! - `urib-only`: the unicast RIB alone; the MRIB is never used.
//! - `mrib-only`: the MRIB alone; the unicast RIB is never used.
//! - `mrib-then-urib` (the default): the MRIB if it has any match, otherwise the unicast RIB.
//! - `lower-distance`: both; the lower administrative distance wins, the MRIB on a tie.
//! - `longer-prefix`: both; the longer prefix wins, the MRIB on a tie.
//!
//! The answer carries what PIM needs (RFC 7761 §4.5 RPF interface and RPF neighbour, §4.6.1 the
//! metric preference and metric an Assert advertises) and what an operator needs to understand it:
//! the table, prefix and origin of the route and the rule of the mode that picked it.

use std::fmt;
use std::str::FromStr;

use hato_core::{Afi, IfIndex};
use serde::Serialize;

use crate::mrib::Mrib;
use crate::route::RouteProtocol;
use crate::urib::UnicastRib;

/// How the URIB and the MRIB are combined (FRR's `ip multicast rpf-lookup-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpfLookupMode {
    UribOnly,
    MribOnly,
    #[default]
    MribThenUrib,
    LowerDistance,
    LongerPrefix,
}

impl RpfLookupMode {
    pub const ALL: [RpfLookupMode; 5] =
        [Self::UribOnly, Self::MribOnly, Self::MribThenUrib, Self::LowerDistance, Self::LongerPrefix];

    /// The configuration keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UribOnly => "urib-only",
            Self::MribOnly => "mrib-only",
            Self::MribThenUrib => "mrib-then-urib",
            Self::LowerDistance => "lower-distance",
            Self::LongerPrefix => "longer-prefix",
        }
    }
}

impl fmt::Display for RpfLookupMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown lookup mode keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLookupMode(pub String);

impl fmt::Display for UnknownLookupMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown rpf lookup mode {:?}", self.0)
    }
}

impl std::error::Error for UnknownLookupMode {}

impl FromStr for RpfLookupMode {
    type Err = UnknownLookupMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|mode| mode.as_str() == s).ok_or_else(|| UnknownLookupMode(s.to_owned()))
    }
}

/// The table an answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RpfTable {
    Urib,
    Mrib,
}

impl fmt::Display for RpfTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Urib => "urib",
            Self::Mrib => "mrib",
        })
    }
}

/// What put the answering route in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteOrigin {
    /// A prefix configured on the interface.
    Connected,
    /// A unicast route installed by this protocol.
    Unicast(RouteProtocol),
    /// A static mroute (shown as "Mroute").
    StaticMroute,
}

impl fmt::Display for RouteOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected => f.write_str("connected"),
            Self::Unicast(protocol) => write!(f, "{protocol}"),
            Self::StaticMroute => f.write_str("Mroute"),
        }
    }
}

/// How the RPF neighbour was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Via {
    /// Through a gateway or a static mroute's RPF neighbour: the neighbour is that router.
    Gateway,
    /// The address is on the link: the neighbour is the address itself (RFC 7761 §4.5: directly
    /// connected sources have no upstream router).
    OnLink,
    /// A static mroute naming only an interface: the neighbour is the address itself; on a
    /// point-to-point link the caller may take the one PIM neighbour there.
    Interface,
}

/// Which rule of the lookup mode chose the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpfRule {
    /// `urib-only` / `mrib-only`: the one table the mode consults.
    SingleTable,
    /// `mrib-then-urib`: the MRIB had a match.
    MribFirst,
    /// `mrib-then-urib`: the MRIB had no match, the URIB answered.
    UribFallback,
    /// `lower-distance` / `longer-prefix`: only this table had a match.
    OnlyMatch,
    /// `lower-distance`: this table's distance beat the other table's.
    LowerDistance { other: u8 },
    /// `longer-prefix`: this table's prefix length beat the other table's.
    LongerPrefix { other: u8 },
    /// `lower-distance` / `longer-prefix`: both tables tied; the MRIB takes precedence.
    TieMribPreferred,
}

/// A successful RPF lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpfRoute<A: Afi> {
    /// The RPF interface.
    pub interface: IfIndex,
    /// The RPF neighbour: a router, or the looked-up address itself unless `via` is `Gateway`.
    pub neighbor: A::Addr,
    pub via: Via,
    /// The route metric PIM Assert advertises (RFC 7761 §4.6.1); 0 when directly connected.
    pub metric: u32,
    /// The metric preference PIM Assert advertises: the administrative distance (RFC 7761 §4.6.1).
    pub preference: u32,
    pub table: RpfTable,
    /// The matching prefix.
    pub prefix: A::Prefix,
    pub origin: RouteOrigin,
    pub rule: RpfRule,
}

impl<A: Afi> RpfRoute<A> {
    /// Whether the looked-up address is on the RPF interface's link.
    pub fn is_directly_connected(&self) -> bool {
        self.via == Via::OnLink
    }
}

/// The answer to "where should traffic from `addr` come from?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(bound(serialize = ""))]
pub struct RpfAnswer<A: Afi> {
    /// The looked-up address.
    pub addr: A::Addr,
    pub mode: RpfLookupMode,
    /// `None`: no table has a usable route ("RPF lookup failed"; incoming interface Null).
    pub route: Option<RpfRoute<A>>,
}

impl<A: Afi> RpfAnswer<A> {
    /// The RPF interface, if reachable.
    pub fn interface(&self) -> Option<IfIndex> {
        self.route.map(|r| r.interface)
    }

    /// The RPF neighbour, if reachable.
    pub fn neighbor(&self) -> Option<A::Addr> {
        self.route.map(|r| r.neighbor)
    }
}

impl<A: Afi> fmt::Display for RpfAnswer<A> {
    /// One line for `hatoctl show rpf`, e.g.
    /// `198.18.1.1 via 198.18.21.1 on if2 [1/0] mrib 198.18.1.0/24 Mroute (mrib-then-urib: MRIB match)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(route) = &self.route else {
            let tables = match self.mode {
                RpfLookupMode::UribOnly => "the URIB",
                RpfLookupMode::MribOnly => "the MRIB",
                _ => "the MRIB or the URIB",
            };
            return write!(f, "{} unreachable ({}: no usable route in {tables})", self.addr, self.mode);
        };
        match route.via {
            Via::Gateway => write!(f, "{} via {} on {}", self.addr, route.neighbor, route.interface)?,
            Via::OnLink => write!(f, "{} directly connected on {}", self.addr, route.interface)?,
            Via::Interface => write!(f, "{} on {} (no neighbour given)", self.addr, route.interface)?,
        }
        write!(
            f,
            " [{}/{}] {} {} {} ({}: ",
            route.preference, route.metric, route.table, route.prefix, route.origin, self.mode
        )?;
        let other = match route.table {
            RpfTable::Urib => RpfTable::Mrib,
            RpfTable::Mrib => RpfTable::Urib,
        };
        match route.rule {
            RpfRule::SingleTable => write!(f, "only the {} is consulted)", route.table),
            RpfRule::MribFirst => f.write_str("MRIB match)"),
            RpfRule::UribFallback => f.write_str("no MRIB match, URIB used)"),
            RpfRule::OnlyMatch => write!(f, "no {other} match)"),
            RpfRule::LowerDistance { other: d } => {
                write!(f, "distance {} < {other} {d})", route.preference)
            }
            RpfRule::LongerPrefix { other: len } => {
                write!(f, "/{} longer than {other} /{len})", A::prefix_parts(&route.prefix).1)
            }
            RpfRule::TieMribPreferred => f.write_str("tie, MRIB preferred)"),
        }
    }
}

/// One table's path toward an address, before the mode picks among tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathChoice<A: Afi> {
    pub prefix: A::Prefix,
    pub interface: IfIndex,
    pub neighbor: A::Addr,
    pub via: Via,
    pub metric: u32,
    pub distance: u8,
    pub origin: RouteOrigin,
}

impl<A: Afi> PathChoice<A> {
    fn into_route(self, table: RpfTable, rule: RpfRule) -> RpfRoute<A> {
        RpfRoute {
            interface: self.interface,
            neighbor: self.neighbor,
            via: self.via,
            metric: self.metric,
            preference: self.distance.into(),
            table,
            prefix: self.prefix,
            origin: self.origin,
            rule,
        }
    }

    fn prefix_len(&self) -> u8 {
        A::prefix_parts(&self.prefix).1
    }
}

/// Looks `addr` up in the URIB and the MRIB as `mode` says.
pub fn rpf_lookup<A: Afi>(
    mode: RpfLookupMode,
    urib: &UnicastRib<A>,
    mrib: &Mrib<A>,
    addr: A::Addr,
) -> RpfAnswer<A> {
    use RpfTable::{Mrib as M, Urib as U};
    let urib_path = || urib.best_path(addr);
    let mrib_path = || mrib.best_path(addr, urib);
    let route = match mode {
        RpfLookupMode::UribOnly => urib_path().map(|p| p.into_route(U, RpfRule::SingleTable)),
        RpfLookupMode::MribOnly => mrib_path().map(|p| p.into_route(M, RpfRule::SingleTable)),
        RpfLookupMode::MribThenUrib => match mrib_path() {
            Some(m) => Some(m.into_route(M, RpfRule::MribFirst)),
            None => urib_path().map(|u| u.into_route(U, RpfRule::UribFallback)),
        },
        RpfLookupMode::LowerDistance | RpfLookupMode::LongerPrefix => {
            let key = |p: &PathChoice<A>| match mode {
                RpfLookupMode::LowerDistance => p.distance,
                _ => p.prefix_len(),
            };
            let wins = |ours: u8, theirs: u8| match mode {
                RpfLookupMode::LowerDistance => ours < theirs,
                _ => ours > theirs,
            };
            let rule = |other: u8| match mode {
                RpfLookupMode::LowerDistance => RpfRule::LowerDistance { other },
                _ => RpfRule::LongerPrefix { other },
            };
            match (mrib_path(), urib_path()) {
                (None, None) => None,
                (Some(m), None) => Some(m.into_route(M, RpfRule::OnlyMatch)),
                (None, Some(u)) => Some(u.into_route(U, RpfRule::OnlyMatch)),
                (Some(m), Some(u)) if wins(key(&u), key(&m)) => Some(u.into_route(U, rule(key(&m)))),
                (Some(m), Some(u)) if wins(key(&m), key(&u)) => Some(m.into_route(M, rule(key(&u)))),
                (Some(m), Some(_)) => Some(m.into_route(M, RpfRule::TieMribPreferred)),
            }
        }
    };
    RpfAnswer { addr, mode, route }
}
