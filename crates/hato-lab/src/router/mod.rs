//! Routers launched inside lab nodes. [`RouterKind`] names an implementation; each kind turns the
//! topology plus a protocol-neutral [`RouterConfig`] into its own configuration, starts its daemons
//! in the node's namespace and returns a [`RouterHandle`] with their PIDs and logs.

pub mod debpkg;
pub mod frr;
pub mod hatod;
pub mod pimd;
pub mod smcroute;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::topology::Prefix;

/// The router implementations the lab can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RouterKind {
    /// FRRouting: zebra + staticd + pimd with a private pathspace (`-N`), IPv4 only in Debian 12.
    Frr,
    /// troglobit pimd (PIM-SM/SSM, IPv4), unpacked from the Debian package, private `/run`.
    Pimd,
    /// smcroute: static multicast routes and joins, unpacked from the Debian package, private `/run`.
    Smcroute,
    /// hato's own daemon, from the binary given in [`crate::LabOptions::hatod_binary`].
    Hatod,
}

impl RouterKind {
    /// Starts this kind of router on `node`.
    pub(crate) fn start(self, lab: &mut Lab, node: &str, config: &RouterConfig) -> Result<RouterHandle> {
        match self {
            RouterKind::Frr => frr::start(lab, node, config),
            RouterKind::Pimd => pimd::start(lab, node, config),
            RouterKind::Smcroute => smcroute::start(lab, node, config),
            RouterKind::Hatod => hatod::start(lab, node, config),
        }
    }
}

/// A static RP for a group range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticRp {
    pub rp: IpAddr,
    pub groups: Prefix,
}

/// A candidate BSR (RFC 5059 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CandidateBsr {
    pub address: IpAddr,
    /// Higher is preferred.
    pub priority: u8,
}

/// A candidate RP (RFC 5059 §3.2): the group ranges it advertises to the BSR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CandidateRp {
    pub address: IpAddr,
    /// Lower is preferred.
    pub priority: u8,
    /// Seconds between two Candidate-RP-Advertisements.
    pub interval_secs: u16,
    pub groups: Vec<Prefix>,
}

/// A static multicast route (for routers that take them, like smcroute).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaticMroute {
    pub from: String,
    /// `None` for a (*,G) route.
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    pub to: Vec<String>,
}

/// Protocol settings shared by all router kinds; interfaces come from the topology (every interface
/// of the node runs PIM and IGMP).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RouterConfig {
    pub static_rps: Vec<StaticRp>,
    /// IGMP version on every interface (`None`: the implementation's default).
    pub igmp_version: Option<u8>,
    pub static_mroutes: Vec<StaticMroute>,
    /// Whether (and how) the router stands for BSR; FRR 8.4 cannot.
    pub candidate_bsr: Option<CandidateBsr>,
    /// Whether (and how) the router offers itself as RP through the BSR; FRR 8.4 cannot.
    pub candidate_rp: Option<CandidateRp>,
    /// Bootstrap-Period of a candidate BSR in seconds (`None`: the implementation's 60 s;
    /// hatod only: pimd 2.3.2 has no such setting).
    pub bootstrap_period_secs: Option<u16>,
    /// Segments on whose interfaces Bootstrap messages are refused (hatod `accept-bootstrap =
    /// false`, FRR `no ip pim bsm`; troglobit pimd has no such filter and ignores it).
    pub refuse_bootstrap_on: Vec<String>,
    /// Lines appended verbatim to the generated configuration (of the protocol daemon).
    pub extra: String,
    /// hatod only: log at the configuration's level (info) instead of the lab's debug level, so
    /// that a benchmark does not measure per-entry debug lines.
    pub quiet_logs: bool,
}

impl RouterConfig {
    /// A configuration with one static RP for 224.0.0.0/4.
    pub fn with_rp(rp: IpAddr) -> Self {
        let all = Prefix { addr: std::net::Ipv4Addr::new(224, 0, 0, 0).into(), len: 4 };
        RouterConfig { static_rps: vec![StaticRp { rp, groups: all }], ..Self::default() }
    }
}

/// A running router.
#[derive(Debug, Clone, Serialize)]
pub struct RouterHandle {
    pub kind: RouterKind,
    pub node: String,
    pub netns: String,
    /// PIDs of its daemons (also tracked by the lab for teardown).
    pub pids: Vec<u32>,
    pub logs: Vec<PathBuf>,
    pub configs: Vec<PathBuf>,
    /// FRR's pathspace name for `vtysh -N`, when the router is FRR.
    pub frr_pathspace: Option<String>,
    /// The control socket, when the router is hatod.
    pub control_socket: Option<PathBuf>,
}

/// Waits until `path` exists and holds a PID; bounded by `timeout`.
pub(crate) fn wait_pidfile(path: &std::path::Path, timeout: Duration) -> Result<u32> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(pid) = text.trim().parse::<u32>() {
                return Ok(pid);
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: format!("PID file {}", path.display()),
                after_ms: timeout.as_millis(),
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
