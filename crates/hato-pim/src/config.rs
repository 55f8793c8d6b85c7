//! Configuration: per-interface Hello / LAN settings and router-wide timers and limits, with the
//! defaults of RFC 7761 §4.11 (which match table 15-11 of the vendor guide in the seed documents:
//! Hello-Period 30 s, Hello-Holdtime 3.5×, Join/Prune-Period 60 s, Join/Prune-Holdtime 3.5×,
//! Data-Timeout / Keepalive 210 s, Register-Suppression 60 s, Probe-Time 5 s, Negative-Cache-Holdtime
//! 210 s / 3600 s for SSM, Assert_Time 180 s).

use hato_core::Duration;
use serde::Serialize;

/// Per-interface settings (RFC 7761 §4.3.1, §4.3.3, §4.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    /// Hello_Period: 30 s.
    pub hello_period: Duration,
    /// Hello_Holdtime advertised in our Hellos: 3.5 × Hello_Period = 105 s.
    pub hello_holdtime: Duration,
    /// Triggered_Hello_Delay: the first Hello after the interface comes up is sent at a random
    /// time in [0, 5 s].
    pub triggered_hello_delay: Duration,
    /// DR priority advertised (default 1).
    pub dr_priority: u32,
    /// Propagation_delay advertised in the LAN Prune Delay option: 500 ms.
    pub propagation_delay: Duration,
    /// Override_Interval advertised in the LAN Prune Delay option: 2500 ms.
    pub override_interval: Duration,
    /// The T bit: this router does not suppress joins (§4.3.3).
    pub join_suppression_disabled: bool,
    /// Largest PIM message (IP payload) sent on this link; Join/Prune state is split to fit.
    pub max_message_len: usize,
    /// Most downstream Join/Prune states accepted on this interface.
    pub max_states: usize,
}

impl Default for InterfaceConfig {
    fn default() -> Self {
        InterfaceConfig {
            hello_period: Duration::from_secs(30),
            hello_holdtime: Duration::from_secs(105),
            triggered_hello_delay: Duration::from_secs(5),
            dr_priority: 1,
            propagation_delay: Duration::from_millis(500),
            override_interval: Duration::from_millis(2500),
            join_suppression_disabled: false,
            max_message_len: 1500 - 60,
            max_states: 100_000,
        }
    }
}

/// When a last-hop router or the RP leaves the shared tree for a source's tree (RFC 7761 §4.2.1,
/// `SwitchToSptDesired`). The RFC leaves switching back to policy; hato never switches back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SptPolicy {
    /// At the first packet (the usual default).
    Immediate,
    /// Never: stay on the shared tree; the RP keeps decapsulating Registers.
    Never,
    /// Once the source's rate on the shared tree, measured from the forwarding entry's byte
    /// counters ([`crate::Input::ByteCounts`]), exceeds this many kbit/s.
    Threshold { kbit_per_sec: u64 },
}

/// Where the metric preference and metric of our Asserts come from (RFC 7761 §4.6.1: the
/// unicast route's administrative distance and metric). A directly connected source is always
/// asserted with 0 / 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssertMetrics {
    /// From the RPF answer ([`crate::RpfUpdate`]'s `preference` and `metric`).
    FromRoute,
    /// Fixed values for every route (the vendor guide's defaults are 101 / 1024).
    Fixed { preference: u32, metric: u32 },
}

impl AssertMetrics {
    /// Preference 101, metric 1024: the fixed defaults of the vendor guide (seed document 002).
    pub const VENDOR_DEFAULT: AssertMetrics = AssertMetrics::Fixed { preference: 101, metric: 1024 };
}

/// Router-wide timers and limits (RFC 7761 §4.11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PimConfig {
    /// t_periodic: Join/Prune period, 60 s.
    pub join_prune_period: Duration,
    /// Holdtime put in our Join/Prune messages: 3.5 × t_periodic = 210 s.
    pub join_prune_holdtime: Duration,
    /// Keepalive_Period: 210 s.
    pub keepalive_period: Duration,
    /// Register_Suppression_Time: 60 s (the Register-Stop timer is jittered ±50 %).
    pub register_suppression_time: Duration,
    /// Register_Probe_Time: 5 s before the suppression ends, a Null-Register probes the RP.
    pub register_probe_time: Duration,
    /// Lifetime of an (S,G) cache entry created by data alone (forwarding along the shared tree,
    /// or a negative entry), refreshed by traffic: Data-Timeout, 210 s.
    pub data_timeout: Duration,
    /// Lifetime of a negative cache entry in an SSM range: 3600 s.
    pub ssm_negative_cache_holdtime: Duration,
    /// SPT switch policy for groups outside every range given with [`crate::Input::SptPolicies`].
    pub spt_policy: SptPolicy,
    /// Assert_Time: how long an Assert result lasts, 180 s (§4.11).
    pub assert_time: Duration,
    /// Assert_Override_Interval: the winner re-asserts this long before Assert_Time runs out, 3 s.
    pub assert_override_interval: Duration,
    pub assert_metrics: AssertMetrics,
    /// Most (*,G) + (S,G) entries held in total.
    pub max_entries: usize,
    /// Most downstream states one neighbour may create.
    pub max_states_per_neighbor: usize,
}

impl PimConfig {
    /// RP_Keepalive_Period = 3 × Register_Suppression_Time + Register_Probe_Time (§4.11).
    pub fn rp_keepalive_period(&self) -> Duration {
        self.register_suppression_time.saturating_mul(3).saturating_add(self.register_probe_time)
    }
}

impl Default for PimConfig {
    fn default() -> Self {
        PimConfig {
            join_prune_period: Duration::from_secs(60),
            join_prune_holdtime: Duration::from_secs(210),
            keepalive_period: Duration::from_secs(210),
            register_suppression_time: Duration::from_secs(60),
            register_probe_time: Duration::from_secs(5),
            data_timeout: Duration::from_secs(210),
            ssm_negative_cache_holdtime: Duration::from_secs(3600),
            spt_policy: SptPolicy::Immediate,
            assert_time: Duration::from_secs(180),
            assert_override_interval: Duration::from_secs(3),
            assert_metrics: AssertMetrics::FromRoute,
            max_entries: 1_000_000,
            max_states_per_neighbor: 100_000,
        }
    }
}
