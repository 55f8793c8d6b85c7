//! The native configuration model: what `hato.toml` holds, with every default.
//!
//! Timer defaults and ranges for PIM-SM follow RFC 7761 §4.11 and the vendor timer table of the
//! design notes (Hello-Period 30 s in 5..=3600, Join/Prune-Period 60 s in 30..=3600, Data-Timeout
//! 210 s, 0 = forever or 60..=43200, ...); derived timers (holdtimes, Bootstrap-Timeout) are
//! `None` until set and resolved by the accessor methods. IGMP/MLD defaults are those of RFC 3376
//! §8 and RFC 3810 §9; DVMRP defaults those of mrouted. The RPF section mirrors
//! `ip multicast rpf interval` / `ip multicast rpf backoff`.
//!
//! Settings an interface may override ([`GmpSettings`], the per-interface part of [`Pim`]) exist
//! twice: once with concrete values (the global default) and once as an `…Overrides` struct of
//! `Option`s kept in the `[[interface]]` section; [`Config::effective_interface`] merges them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use hato_core::{Afi, V4, V6};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A value whose validity is a closed range (`lo..=hi`); `Option`s are valid when unset.
pub(crate) trait Bounded {
    type Inner: PartialOrd + fmt::Display + Copy;
    fn value(&self) -> Option<Self::Inner>;
}

macro_rules! bounded_scalar {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            type Inner = $t;
            fn value(&self) -> Option<$t> {
                Some(*self)
            }
        }
    )*};
}
bounded_scalar!(u8, u16, u32, bool);

impl<T: Bounded> Bounded for Option<T> {
    type Inner = T::Inner;
    fn value(&self) -> Option<T::Inner> {
        self.as_ref().and_then(Bounded::value)
    }
}

/// One documented, range-checked field: its TOML key, its doc line, its range and unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDoc {
    pub key: &'static str,
    pub doc: &'static str,
    /// The allowed range as text (`"5..=3600 seconds"`), empty for plain fields.
    pub range: &'static str,
}

/// Declares a settings struct (every field with a default, a range and a unit), its per-interface
/// `Option` twin for the `overridable` fields, range checks and field docs.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        pub struct $name:ident / $over:ident {
            overridable {
                $( $(#[doc = $odoc:literal])* $ofield:ident : $oty:ty = $odef:expr, $olo:expr, $ohi:expr, $ounit:literal; )*
            }
            global {
                $( $(#[doc = $gdoc:literal])* $gfield:ident : $gty:ty = $gdef:expr, $glo:expr, $ghi:expr, $gunit:literal; )*
            }
            plain {
                $( $(#[doc = $pdoc:literal])* $([$pattr:meta])? $pfield:ident : $pty:ty = $pdef:expr; )*
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $name {
            $( $(#[doc = $odoc])* pub $ofield: $oty, )*
            $( $(#[doc = $gdoc])* pub $gfield: $gty, )*
            $( $(#[doc = $pdoc])* $(#[$pattr])? pub $pfield: $pty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                Self { $($ofield: $odef,)* $($gfield: $gdef,)* $($pfield: $pdef,)* }
            }
        }

        #[doc = concat!("Per-interface overrides of [`", stringify!($name), "`]; unset fields inherit.")]
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
        pub struct $over {
            $( $(#[doc = $odoc])* #[serde(skip_serializing_if = "Option::is_none")] pub $ofield: Option<$oty>, )*
        }

        impl $name {
            /// The documented, range-checked fields, in declaration order.
            pub const FIELDS: &'static [FieldDoc] = &[
                $( FieldDoc { key: stringify!($ofield), doc: concat!($($odoc),*), range: concat!(stringify!($olo), "..=", stringify!($ohi), " ", $ounit) }, )*
                $( FieldDoc { key: stringify!($gfield), doc: concat!($($gdoc),*), range: concat!(stringify!($glo), "..=", stringify!($ghi), " ", $gunit) }, )*
                $( FieldDoc { key: stringify!($pfield), doc: concat!($($pdoc),*), range: "" }, )*
            ];

            /// The TOML keys an `[[interface]]` may override.
            pub const OVERRIDABLE: &'static [&'static str] = &[ $( stringify!($ofield), )* ];

            /// These settings with the overrides applied.
            pub fn with_overrides(&self, overrides: &$over) -> Self {
                let mut merged = self.clone();
                $( if let Some(value) = &overrides.$ofield { merged.$ofield = value.clone(); } )*
                merged
            }

            pub(crate) fn check_ranges(&self, path: &crate::validate::Path, out: &mut Vec<crate::validate::Problem>) {
                $( crate::validate::check_range(&self.$ofield, $olo, $ohi, $ounit, path.key(stringify!($ofield)), out); )*
                $( crate::validate::check_range(&self.$gfield, $glo, $ghi, $gunit, path.key(stringify!($gfield)), out); )*
            }
        }

        impl $over {
            pub(crate) fn check_ranges(&self, path: &crate::validate::Path, out: &mut Vec<crate::validate::Problem>) {
                $( crate::validate::check_range(&self.$ofield, $olo, $ohi, $ounit, path.key(stringify!($ofield)), out); )*
            }
        }
    };
}

/// The whole configuration: `hato.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub global: Global,
    pub rpf: Rpf,
    /// IGMP / MLD defaults for every interface.
    pub gmp: GmpSettings,
    pub pim: Pim,
    pub dvmrp: Dvmrp,
    /// `[[interface]]`: interfaces named explicitly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interface: Vec<Interface>,
    /// `[[tunnel]]`: DVMRP IP-in-IP tunnels.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tunnel: Vec<Tunnel>,
    /// `[[mroute]]`: static mroutes, which tell RPF where traffic from a source range arrives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mroute: Vec<Mroute>,
    /// `[[static-flow]]`: forwarding entries installed as configured, without a routing protocol.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub static_flow: Vec<StaticFlow>,
}

/// Log verbosity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    #[default]
    Info,
    Debug,
    Trace,
}

/// `[global]`: daemon-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Global {
    /// The router id (an IPv4 address); the highest interface address when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub router_id: Option<Ipv4Addr>,
    pub log_level: LogLevel,
    /// Run IPv4 multicast routing (IGMP, PIM, DVMRP).
    pub ipv4: bool,
    /// Run IPv6 multicast routing (MLD, PIM).
    pub ipv6: bool,
    /// Where the control socket and the pid file live.
    pub runtime_dir: String,
    /// The user hatod becomes once its sockets are open (keeping CAP_NET_ADMIN and CAP_NET_RAW);
    /// unset: it keeps its user. `hatod --user` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Run on every multicast-capable interface that no `[[interface]]` names (as mrouted and
    /// pimd do); `false` runs only on the interfaces listed and enabled.
    pub auto_interfaces: bool,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            router_id: None,
            log_level: LogLevel::Info,
            ipv4: true,
            ipv6: true,
            runtime_dir: "/run/hato".to_string(),
            user: None,
            auto_interfaces: true,
        }
    }
}

/// Which table answers RPF lookups (the keywords of `ip multicast rpf-lookup-mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RpfLookupMode {
    UribOnly,
    MribOnly,
    #[default]
    MribThenUrib,
    LowerDistance,
    LongerPrefix,
}

/// `[rpf]`: RPF re-checks and change damping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rpf {
    pub lookup_mode: RpfLookupMode,
    /// Periodic re-check of every RPF answer, seconds; 0 turns it off.
    pub interval: u32,
    pub backoff: RpfBackoff,
}

impl Default for Rpf {
    fn default() -> Self {
        Rpf { lookup_mode: RpfLookupMode::default(), interval: 10, backoff: RpfBackoff::default() }
    }
}

/// `rpf.backoff`: delay before recomputing RPF after a unicast change, doubling under storms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct RpfBackoff {
    /// `false` recomputes at every change.
    pub enabled: bool,
    pub initial_ms: u32,
    pub max_ms: u32,
}

impl Default for RpfBackoff {
    fn default() -> Self {
        RpfBackoff { enabled: true, initial_ms: 500, max_ms: 5000 }
    }
}

settings! {
    /// `[gmp]`: IGMP (RFC 3376 §8) and MLD (RFC 3810 §9) router-side settings.
    pub struct GmpSettings / GmpOverrides {
        overridable {
            /// Run IGMP / MLD on the interface.
            enabled: bool = true, false, true, "";
            /// IGMP version spoken as querier (RFC 3376 §7 compatibility).
            igmp_version: u32 = 3, 1, 3, "";
            /// MLD version spoken as querier (RFC 3810 §8 compatibility).
            mld_version: u32 = 2, 1, 2, "";
            /// Query Interval (RFC 3376 §8.2).
            query_interval: u32 = 125, 1, 31744, "seconds";
            /// Query Response Interval (RFC 3376 §8.3); less than the query interval.
            query_response_interval_ms: u32 = 10000, 100, 3174400, "milliseconds";
            /// Robustness Variable (RFC 3376 §8.1).
            robustness: u32 = 2, 1, 7, "";
            /// Last Member Query Interval (RFC 3376 §8.8).
            last_member_query_interval_ms: u32 = 1000, 100, 3174400, "milliseconds";
            /// Last Member Query Count (RFC 3376 §8.9).
            last_member_query_count: u32 = 2, 1, 7, "";
            /// Most groups joined on the interface; 0 = no limit.
            max_groups: u32 = 0, 0, 1000000, "groups";
            /// Most sources per group; 0 = no limit.
            max_sources: u32 = 0, 0, 1000000, "sources";
        }
        global {}
        plain {}
    }
}

/// PIM flavour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PimMode {
    /// PIM-SM (RFC 7761) with PIM-SSM (RFC 4607) in the SSM ranges.
    #[default]
    Sparse,
    /// PIM-DM (RFC 3973).
    Dense,
}

/// RP selection among several candidates for a group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RpSelection {
    /// RFC 4601 / RFC 7761 §4.7.1: longest group prefix, then lowest priority, highest hash,
    /// highest address.
    #[default]
    Rfc4601,
    /// RFC 2362: lowest priority, highest hash, highest address (prefix length ignored).
    Rfc2362,
}

/// When a last-hop router switches from the RP tree to the source tree (RFC 7761 §4.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SptSwitch {
    /// At the first packet.
    #[default]
    Immediate,
    /// When the group's rate exceeds `threshold-kbps`.
    Threshold,
    /// Stay on the RP tree.
    Never,
}

settings! {
    /// `[pim]`: PIM settings. The fields also found in `[interface.pim]` are per-interface defaults.
    pub struct Pim / PimOverrides {
        overridable {
            /// Run PIM on the interface.
            enabled: bool = true, false, true, "";
            /// Hello-Period (RFC 7761 §4.11).
            hello_period: u32 = 30, 5, 3600, "seconds";
            /// Hello-Holdtime; unset = 3.5 × hello-period.
            hello_holdtime: Option<u32> = None, 1, 65535, "seconds";
            /// DR Priority (RFC 7761 §4.3.2).
            dr_priority: u32 = 1, 0, 4294967295, "";
            /// LAN Prune Delay: Propagation_Delay (RFC 7761 §4.3.3).
            propagation_delay_ms: u32 = 500, 0, 32767, "milliseconds";
            /// LAN Prune Delay: Override_Interval (RFC 7761 §4.3.3).
            override_interval_ms: u32 = 2500, 0, 65535, "milliseconds";
            /// Join/Prune-Period, t_periodic (RFC 7761 §4.11).
            join_prune_period: u32 = 60, 30, 3600, "seconds";
            /// Join/Prune-Holdtime; unset = 3.5 × join-prune-period.
            join_prune_holdtime: Option<u32> = None, 1, 65535, "seconds";
            /// Deletion-Delay after a Prune; unset = 1/3 × join-prune-holdtime.
            deletion_delay: Option<u32> = None, 0, 300, "seconds";
            /// Accept Bootstrap messages on the interface (false drops them at a domain edge).
            accept_bootstrap: bool = true, false, true, "";
            /// Most downstream Join/Prune states on the interface; more are refused and counted.
            max_states: u32 = 100000, 1, 10000000, "states";
        }
        global {
            /// Assert-Timeout (RFC 7761 §4.11).
            assert_timeout: u32 = 180, 10, 3600, "seconds";
            /// Register-Suppression-Time (RFC 7761 §4.11).
            register_suppression: u32 = 60, 10, 3600, "seconds";
            /// Register-Probe-Time: Null-Register sent this long before suppression ends.
            probe_time: u32 = 5, 5, 60, "seconds";
            /// C-RP-Adv-Period (RFC 5059 §5).
            c_rp_adv_period: u32 = 60, 10, 16383, "seconds";
            /// RP-Holdtime advertised by a C-RP; unset = 2.5 × c-rp-adv-period.
            rp_holdtime: Option<u32> = None, 1, 65535, "seconds";
            /// Bootstrap-Period (RFC 5059 §5).
            bootstrap_period: u32 = 60, 10, 3600, "seconds";
            /// Bootstrap-Timeout; unset = 2 × bootstrap-period + 10.
            bootstrap_timeout: Option<u32> = None, 30, 65535, "seconds";
            /// Negative-Cache-Holdtime for PIM-SM (SSM keeps 3600 s).
            negative_cache_holdtime: u32 = 210, 10, 3600, "seconds";
            /// How often a `threshold` SPT policy measures group rates.
            spt_check_interval: u32 = 10, 5, 3600, "seconds";
            /// Most (*,G) and (S,G) entries in all; more are refused and counted.
            max_entries: u32 = 1000000, 1, 10000000, "entries";
            /// Most downstream states one neighbour may join; more are refused and counted.
            max_states_per_neighbor: u32 = 100000, 1, 10000000, "states";
        }
        plain {
            /// Data-Timeout, the (S,G) Keepalive Period: 0 = forever, else 60..=43200 seconds.
            data_timeout: u32 = 210;
            /// `sparse` (RFC 7761) or `dense` (RFC 3973).
            mode: PimMode = PimMode::Sparse;
            /// `rfc4601` or `rfc2362`.
            rp_selection: RpSelection = RpSelection::Rfc4601;
            /// Group ranges that use PIM-SSM (RFC 4607): no RP, no (*,G).
            ssm_ranges: Vec<IpNet> = vec![IpNet::V4(V4::DEFAULT_SSM_RANGE), IpNet::V6(V6::DEFAULT_SSM_RANGE)];
            /// SPT switch for groups no `[[pim.spt]]` rule matches.
            spt_switch: SptSwitch = SptSwitch::Immediate;
            /// `[[pim.spt]]`: SPT policy per group range.
            [serde(skip_serializing_if = "Vec::is_empty")] spt: Vec<SptRule> = Vec::new();
            /// `[[pim.static-rp]]`.
            [serde(skip_serializing_if = "Vec::is_empty")] static_rp: Vec<StaticRp> = Vec::new();
            /// `[[pim.candidate-bsr]]` (RFC 5059 §3.1), at most one per address family.
            [serde(skip_serializing_if = "Vec::is_empty")] candidate_bsr: Vec<CandidateBsr> = Vec::new();
            /// `[[pim.candidate-rp]]` (RFC 5059 §3.2), at most one per address family.
            [serde(skip_serializing_if = "Vec::is_empty")] candidate_rp: Vec<CandidateRp> = Vec::new();
        }
    }
}

impl Pim {
    /// Hello-Holdtime: as set, or 3.5 × Hello-Period (RFC 7761 §4.11).
    pub fn effective_hello_holdtime(&self) -> u32 {
        self.hello_holdtime.unwrap_or(self.hello_period.saturating_mul(7) / 2)
    }

    /// Join/Prune-Holdtime: as set, or 3.5 × Join/Prune-Period (RFC 7761 §4.11).
    pub fn effective_join_prune_holdtime(&self) -> u32 {
        self.join_prune_holdtime.unwrap_or(self.join_prune_period.saturating_mul(7) / 2)
    }

    /// Deletion-Delay: as set, or 1/3 of the Join/Prune-Holdtime.
    pub fn effective_deletion_delay(&self) -> u32 {
        self.deletion_delay.unwrap_or(self.effective_join_prune_holdtime() / 3)
    }

    /// RP-Holdtime: as set, or 2.5 × C-RP-Adv-Period (RFC 5059 §5).
    pub fn effective_rp_holdtime(&self) -> u32 {
        self.rp_holdtime.unwrap_or(self.c_rp_adv_period.saturating_mul(5) / 2)
    }

    /// Bootstrap-Timeout: as set, or 2 × Bootstrap-Period + 10 (RFC 5059 §5).
    pub fn effective_bootstrap_timeout(&self) -> u32 {
        self.bootstrap_timeout.unwrap_or(self.bootstrap_period.saturating_mul(2).saturating_add(10))
    }

    /// Negative-Cache-Holdtime for a group: fixed 3600 s in an SSM range.
    pub fn negative_cache_holdtime_for(&self, group: IpAddr) -> u32 {
        if self.ssm_ranges.iter().any(|range| range.contains(&group)) {
            3600
        } else {
            self.negative_cache_holdtime
        }
    }

    /// The SPT switch policy for a group: the longest matching `[[pim.spt]]` rule, else
    /// `spt-switch`.
    pub fn spt_policy_for(&self, group: IpAddr) -> (SptSwitch, u32) {
        self.spt
            .iter()
            .filter(|rule| rule.groups.contains(&group))
            .max_by_key(|rule| rule.groups.prefix_len())
            .map_or((self.spt_switch, 0), |rule| (rule.switch, rule.threshold_kbps))
    }
}

/// `[[pim.spt]]`: the SPT switch policy of one group range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SptRule {
    pub groups: IpNet,
    pub switch: SptSwitch,
    /// Rate above which to switch, for `switch = "threshold"`.
    #[serde(default)]
    pub threshold_kbps: u32,
}

/// `[[pim.static-rp]]`: an RP configured for group ranges (RFC 7761 §4.7).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StaticRp {
    pub address: IpAddr,
    pub groups: Vec<IpNet>,
    /// Priority against learned RPs (lower is preferred).
    #[serde(default)]
    pub priority: u8,
}

/// `[[pim.candidate-bsr]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CandidateBsr {
    /// The address to advertise, or …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// … the interface whose address to advertise. Neither: the highest address of the family
    /// named by `family`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The family when neither address is set: `ipv4` (the default) or `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Higher wins (RFC 5059 §3.1).
    #[serde(default)]
    pub priority: u8,
    /// Hash mask length; unset = 30 (IPv4) or 126 (IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_mask_length: Option<u8>,
    /// Stand in this administratively scoped zone (a group range, RFC 5059 §3.x) instead of the
    /// global zone. The zone ends at interfaces whose `boundaries` cover it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope_zone: Option<IpNet>,
}

/// `[[pim.candidate-rp]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CandidateRp {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// Lower wins (RFC 7761 §4.7.1); 192 is the RFC 5059 §3.2 default.
    #[serde(default = "default_c_rp_priority")]
    pub priority: u8,
    /// Group ranges advertised; empty = the whole multicast range of the family.
    #[serde(default)]
    pub groups: Vec<IpNet>,
}

fn default_c_rp_priority() -> u8 {
    192
}

/// An address family named in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        })
    }
}

/// `[dvmrp]`: DVMRP (draft-ietf-idmr-dvmrp-v3, as mrouted runs it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Dvmrp {
    pub enabled: bool,
    /// Lifetime of a forwarding cache entry, seconds (mrouted `cache_lifetime`).
    pub cache_lifetime: u32,
    /// Send prunes (mrouted `pruning on|off`).
    pub pruning: bool,
    /// `[[dvmrp.boundary]]`: named administrative boundaries (mrouted `name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boundary: Vec<NamedBoundary>,
}

impl Default for Dvmrp {
    fn default() -> Self {
        Dvmrp { enabled: false, cache_lifetime: 300, pruning: true, boundary: Vec::new() }
    }
}

/// `[[dvmrp.boundary]]`: a scoped group range under a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NamedBoundary {
    pub name: String,
    pub groups: IpNet,
}

/// `[[interface]]`: one interface, named by `name` or by one of its addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct Interface {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Identifies the interface by a local address (mrouted's `phyint local-addr`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// `false`: no VIF, no protocol on this interface.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Minimum TTL a packet needs to be forwarded out of the interface (the VIF threshold);
    /// unset = 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_threshold: Option<u32>,
    /// Rate limit for multicast out of the interface, kbit/s; unset or 0 = none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit_kbps: Option<u32>,
    /// Scoped group ranges not forwarded across this interface (any protocol).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub boundaries: Vec<Boundary>,
    /// Extra subnets whose sources count as directly attached (mrouted / pimd `altnet`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub altnet: Vec<IpNet>,
    #[serde(skip_serializing_if = "is_default")]
    pub gmp: GmpOverrides,
    #[serde(skip_serializing_if = "is_default")]
    pub pim: PimOverrides,
    #[serde(skip_serializing_if = "is_default")]
    pub dvmrp: DvmrpInterface,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

impl Interface {
    /// The interface's key: its name, else its address.
    pub fn key(&self) -> String {
        match (&self.name, &self.address) {
            (Some(name), _) => name.clone(),
            (None, Some(address)) => address.to_string(),
            (None, None) => String::new(),
        }
    }

    /// `enabled` or its default, true.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

/// A boundary: a group range, or the name of a `[[dvmrp.boundary]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Boundary {
    Range(IpNet),
    Named(String),
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Boundary::Range(range) => range.fmt(f),
            Boundary::Named(name) => f.write_str(name),
        }
    }
}

/// `[interface.dvmrp]`: DVMRP settings of a physical interface (mrouted `phyint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct DvmrpInterface {
    /// Route metric (cost) of the interface.
    pub metric: u32,
}

impl Default for DvmrpInterface {
    fn default() -> Self {
        DvmrpInterface { metric: 1 }
    }
}

/// `[[tunnel]]`: a DVMRP IP-in-IP tunnel (IPv4 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Tunnel {
    pub local: IpAddr,
    pub remote: IpAddr,
    #[serde(default = "one")]
    pub metric: u32,
    #[serde(default = "one")]
    pub threshold: u32,
    /// kbit/s; mrouted's default for tunnels is 500.
    #[serde(default = "default_tunnel_rate")]
    pub rate_limit_kbps: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boundaries: Vec<Boundary>,
}

impl Tunnel {
    /// A tunnel with mrouted's defaults.
    pub fn new(local: IpAddr, remote: IpAddr) -> Self {
        Tunnel { local, remote, metric: 1, threshold: 1, rate_limit_kbps: 500, boundaries: Vec::new() }
    }

    /// The tunnel's key.
    pub fn key(&self) -> String {
        format!("{}->{}", self.local, self.remote)
    }
}

fn one() -> u32 {
    1
}

fn default_tunnel_rate() -> u32 {
    500
}

/// `[[mroute]]`: a static mroute, `ip mroute <source>/<len> {<rpf-neighbour>|<interface>}
/// [distance]`: traffic from `source` is expected from the neighbour `via` or on `interface`,
/// whatever unicast routing says (depending on `rpf.lookup-mode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Mroute {
    /// The source range.
    pub source: IpNet,
    /// The RPF neighbour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
    /// The RPF interface (alone: a point-to-point link; with `via`: the neighbour's interface,
    /// needed for an IPv6 link-local neighbour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Administrative distance, compared with unicast routes in the `lower-distance` mode.
    #[serde(default = "one_u8")]
    pub distance: u8,
}

/// `[[static-flow]]`: a multicast flow forwarded as configured (smcroute's `mroute from <input>
/// [source <S>] group <G> to <outputs>`): packets of the group, from `source` or from any source,
/// arriving on `input` are copied to every interface of `outputs`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StaticFlow {
    /// The source; unset matches every source (an (S,G) entry is installed per source seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    /// The interface the flow arrives on.
    pub input: String,
    /// The interfaces it is forwarded to.
    pub outputs: Vec<String>,
}

impl StaticFlow {
    /// The flow's key: `source,group` (`*` for any source).
    pub fn key(&self) -> String {
        match self.source {
            Some(source) => format!("{source},{}", self.group),
            None => format!("*,{}", self.group),
        }
    }
}

fn one_u8() -> u8 {
    1
}

/// An interface's settings with every default and override resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EffectiveInterface {
    pub key: String,
    pub enabled: bool,
    pub ttl_threshold: u32,
    pub rate_limit_kbps: u32,
    pub boundaries: Vec<Boundary>,
    pub altnet: Vec<IpNet>,
    pub gmp: GmpSettings,
    pub pim: EffectivePimInterface,
    pub dvmrp: DvmrpInterface,
}

/// The per-interface PIM settings, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct EffectivePimInterface {
    pub enabled: bool,
    pub hello_period: u32,
    pub hello_holdtime: u32,
    pub dr_priority: u32,
    pub propagation_delay_ms: u32,
    pub override_interval_ms: u32,
    pub join_prune_period: u32,
    pub join_prune_holdtime: u32,
    pub deletion_delay: u32,
    pub accept_bootstrap: bool,
    pub max_states: u32,
}

impl Config {
    /// The resolved settings of an interface (overrides over the global sections).
    pub fn effective_interface(&self, interface: &Interface) -> EffectiveInterface {
        let pim = self.pim.with_overrides(&interface.pim);
        EffectiveInterface {
            key: interface.key(),
            enabled: interface.is_enabled(),
            ttl_threshold: interface.ttl_threshold.unwrap_or(1),
            rate_limit_kbps: interface.rate_limit_kbps.unwrap_or(0),
            boundaries: interface.boundaries.clone(),
            altnet: interface.altnet.clone(),
            gmp: self.gmp.with_overrides(&interface.gmp),
            pim: EffectivePimInterface {
                enabled: pim.enabled,
                hello_period: pim.hello_period,
                hello_holdtime: pim.effective_hello_holdtime(),
                dr_priority: pim.dr_priority,
                propagation_delay_ms: pim.propagation_delay_ms,
                override_interval_ms: pim.override_interval_ms,
                join_prune_period: pim.join_prune_period,
                join_prune_holdtime: pim.effective_join_prune_holdtime(),
                deletion_delay: pim.effective_deletion_delay(),
                accept_bootstrap: pim.accept_bootstrap,
                max_states: pim.max_states,
            },
            dvmrp: interface.dvmrp.clone(),
        }
    }

    /// The `[[interface]]` entry for a system interface, matched by name or by one of its
    /// addresses.
    pub fn interface_for(&self, name: &str, addresses: &[IpAddr]) -> Option<&Interface> {
        self.interface.iter().find(|interface| {
            interface.name.as_deref() == Some(name)
                || interface.address.is_some_and(|address| addresses.contains(&address))
        })
    }

    /// The effective settings of a system interface: its `[[interface]]` entry, or the
    /// defaults when `auto-interfaces` is on; `None` when hato should leave it alone.
    pub fn effective_for(&self, name: &str, addresses: &[IpAddr]) -> Option<EffectiveInterface> {
        match self.interface_for(name, addresses) {
            Some(interface) => Some(self.effective_interface(interface)),
            None if self.global.auto_interfaces => {
                let mut effective = self.effective_interface(&Interface::default());
                effective.key = name.to_string();
                Some(effective)
            }
            None => None,
        }
    }
}
