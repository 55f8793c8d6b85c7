//! Per-interface configuration and the timer values derived from it (RFC 3376 §8, RFC 3810 §9).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::family::{GmpFamily, Version};

/// The configuration of IGMP / MLD on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InterfaceConfig {
    /// The version this router queries with (RFC 3376 §7.3.1: routers must be configured to the
    /// lowest version of any router on the link).
    pub version: Version,
    /// Whether hosts of older versions are served (RFC 3376 §7.3.2). With `false` only `version`
    /// is "possible" and older reports are dropped, as pim6sd's `mld_version 2` does.
    pub accept_older_versions: bool,
    /// Robustness Variable (RFC 3376 §8.1), 1..=255; QRV carries it when at most 7.
    pub robustness: u8,
    /// Query Interval (RFC 3376 §8.2).
    pub query_interval: Duration,
    /// Query Response Interval (RFC 3376 §8.3): the Max Resp Code of general queries.
    pub query_response_interval: Duration,
    /// Startup Query Interval (RFC 3376 §8.6); `None` is a quarter of the Query Interval.
    pub startup_query_interval: Option<Duration>,
    /// Startup Query Count (RFC 3376 §8.7); `None` is the Robustness Variable.
    pub startup_query_count: Option<u8>,
    /// Last Member Query Interval (RFC 3376 §8.8): the Max Resp Code of specific queries.
    pub last_member_query_interval: Duration,
    /// Last Member Query Count (RFC 3376 §8.9); `None` is the Robustness Variable.
    pub last_member_query_count: Option<u8>,
    /// Whether messages that must carry Router Alert are dropped without it.
    pub require_router_alert: bool,
    /// The most groups kept on the interface; reports for further groups are dropped.
    pub max_groups: Option<usize>,
    /// The most source records kept on the interface, over all groups.
    pub max_sources: Option<usize>,
}

impl Default for InterfaceConfig {
    /// The defaults of RFC 3376 §8 and RFC 3810 §9, version 3 (IGMPv3 / MLDv2), no limits.
    fn default() -> Self {
        InterfaceConfig {
            version: Version::V3,
            accept_older_versions: true,
            robustness: 2,
            query_interval: Duration::from_secs(125),
            query_response_interval: Duration::from_secs(10),
            startup_query_interval: None,
            startup_query_count: None,
            last_member_query_interval: Duration::from_secs(1),
            last_member_query_count: None,
            require_router_alert: true,
            max_groups: None,
            max_sources: None,
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigError {
    /// The protocol has no such version (IGMPv1 for MLD).
    VersionNotInFamily,
    /// RFC 3376 §8.1: the Robustness Variable must not be zero.
    ZeroRobustness,
    /// A query interval, response interval or count is zero.
    ZeroInterval,
    /// RFC 3376 §8.3: the Query Response Interval must be less than the Query Interval.
    ResponseNotShorterThanQueryInterval,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::VersionNotInFamily => "the protocol has no such version",
            ConfigError::ZeroRobustness => "the robustness variable must be at least 1",
            ConfigError::ZeroInterval => "intervals and counts must not be zero",
            ConfigError::ResponseNotShorterThanQueryInterval => {
                "the query response interval must be shorter than the query interval"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

impl InterfaceConfig {
    /// Checks the values RFC 3376 §8 constrains.
    pub fn validate<A: GmpFamily>(&self) -> Result<(), ConfigError> {
        if !A::VERSIONS.contains(&self.version) {
            return Err(ConfigError::VersionNotInFamily);
        }
        if self.robustness == 0 {
            return Err(ConfigError::ZeroRobustness);
        }
        let zero_interval =
            [self.query_interval, self.query_response_interval, self.last_member_query_interval]
                .into_iter()
                .chain(self.startup_query_interval)
                .any(|d| d.is_zero());
        let zero_count =
            [self.startup_query_count, self.last_member_query_count].into_iter().flatten().any(|c| c == 0);
        if zero_interval || zero_count {
            return Err(ConfigError::ZeroInterval);
        }
        if self.query_response_interval >= self.query_interval {
            return Err(ConfigError::ResponseNotShorterThanQueryInterval);
        }
        Ok(())
    }

    /// The versions whose hosts this interface serves, oldest first (pim6stat's "possible MLD
    /// version" list).
    pub fn possible_versions<A: GmpFamily>(&self) -> Vec<Version> {
        A::VERSIONS
            .iter()
            .copied()
            .filter(|v| *v == self.version || (self.accept_older_versions && *v < self.version))
            .collect()
    }
}

/// The timer values in force on an interface: the configured ones, with the Robustness Variable and
/// Query Interval adopted from the elected querier while this router is not the querier
/// (RFC 3376 §4.1.6, §4.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Timers {
    pub robustness: u8,
    pub query_interval: Duration,
    pub query_response_interval: Duration,
    pub startup_query_interval: Duration,
    pub startup_query_count: u8,
    pub last_member_query_interval: Duration,
    pub last_member_query_count: u8,
}

impl Timers {
    /// The values of a configuration, with `robustness` and `query_interval` in force.
    pub fn new(config: &InterfaceConfig, robustness: u8, query_interval: Duration) -> Self {
        Timers {
            robustness,
            query_interval,
            query_response_interval: config.query_response_interval,
            startup_query_interval: config.startup_query_interval.unwrap_or(config.query_interval / 4),
            startup_query_count: config.startup_query_count.unwrap_or(config.robustness),
            last_member_query_interval: config.last_member_query_interval,
            last_member_query_count: config.last_member_query_count.unwrap_or(robustness).max(1),
        }
    }

    /// Group Membership Interval: RV × QI + QRI (RFC 3376 §8.4).
    pub fn group_membership_interval(&self) -> Duration {
        self.query_interval
            .saturating_mul(u32::from(self.robustness))
            .saturating_add(self.query_response_interval)
    }

    /// Other Querier Present Interval: RV × QI + QRI / 2 (RFC 3376 §8.5).
    pub fn other_querier_present_interval(&self) -> Duration {
        self.query_interval
            .saturating_mul(u32::from(self.robustness))
            .saturating_add(self.query_response_interval / 2)
    }

    /// Last Member Query Time: LMQI × LMQC (RFC 3376 §8.10).
    pub fn last_member_query_time(&self) -> Duration {
        self.last_member_query_interval.saturating_mul(u32::from(self.last_member_query_count))
    }

    /// Older Host Present Interval: RV × QI + QRI (RFC 3376 §8.13, RFC 3810 §9.13).
    pub fn older_host_present_interval(&self) -> Duration {
        self.group_membership_interval()
    }
}

#[cfg(test)]
mod tests {
    use hato_core::{V4, V6};

    use super::*;

    #[test]
    fn rfc_defaults() {
        let config = InterfaceConfig::default();
        let timers = Timers::new(&config, config.robustness, config.query_interval);
        assert_eq!(timers.group_membership_interval(), Duration::from_secs(260));
        assert_eq!(timers.other_querier_present_interval(), Duration::from_secs(255));
        assert_eq!(timers.startup_query_interval, Duration::from_millis(31_250));
        assert_eq!(timers.startup_query_count, 2);
        assert_eq!(timers.last_member_query_time(), Duration::from_secs(2));
        assert_eq!(timers.older_host_present_interval(), Duration::from_secs(260));
    }

    #[test]
    fn validation() {
        let mut config = InterfaceConfig::default();
        assert_eq!(config.validate::<V4>(), Ok(()));
        config.version = Version::V1;
        assert_eq!(config.validate::<V4>(), Ok(()));
        assert_eq!(config.validate::<V6>(), Err(ConfigError::VersionNotInFamily));
        config.version = Version::V3;
        config.robustness = 0;
        assert_eq!(config.validate::<V4>(), Err(ConfigError::ZeroRobustness));
        config.robustness = 2;
        config.query_response_interval = config.query_interval;
        assert_eq!(config.validate::<V4>(), Err(ConfigError::ResponseNotShorterThanQueryInterval));
        config.query_response_interval = Duration::from_secs(10);
        config.last_member_query_count = Some(0);
        assert_eq!(config.validate::<V4>(), Err(ConfigError::ZeroInterval));
    }

    #[test]
    fn possible_versions_like_pim6stat() {
        let mut config = InterfaceConfig::default();
        assert_eq!(config.possible_versions::<V6>(), vec![Version::V2, Version::V3]);
        assert_eq!(config.possible_versions::<V4>(), vec![Version::V1, Version::V2, Version::V3]);
        config.accept_older_versions = false;
        assert_eq!(config.possible_versions::<V6>(), vec![Version::V3]);
        config.version = Version::V2;
        config.accept_older_versions = true;
        assert_eq!(config.possible_versions::<V6>(), vec![Version::V2]);
    }
}
