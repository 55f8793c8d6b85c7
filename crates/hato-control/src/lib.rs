//! The control protocol between `hatoctl` and `hatod`: NDJSON over a Unix stream socket. The client
//! writes one [`Request`] as one JSON line; the daemon answers with one [`Response`] line, then
//! reads the next request on the same connection.
//!
//! Every view implements `Display` for the text form, so `hatoctl show X` and `hatoctl show X
//! --json` render the same value. The router fills the views; this crate holds no state and does
//! no I/O beyond the line framing helpers ([`encode_line`], [`decode_line`]).

mod debug;
mod dump;
mod protocols;
mod views;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use debug::{DebugRequest, DebugSubsystem, DebugView};
pub use dump::{
    DumpAddressView, DumpBsrView, DumpCandidateRpView, DumpFamilyView, DumpGroupView, DumpInterfaceView,
    DumpNeighborView, DumpQuerierView, DumpRouteView, DumpRpView, DumpSourceView, DumpView,
};
pub use protocols::{
    GmpGroupView, GmpInterfaceView, GmpSourceView, GroupsView, PimAssertStateView, PimAssertView,
    PimBsrFamilyView, PimBsrView, PimInterfaceView, PimInterfacesView, PimJoinStateView, PimJoinView,
    PimNeighborView, PimNeighborsView, PimRpSetEntryView, PimRpSetView, PimRpView, PimUpstreamEntryView,
    PimUpstreamView,
};
pub use views::{
    CountersView, InterfaceView, InterfacesView, MrouteEntryView, MrouteView, OifView, ReloadView, RpfView,
    StatusView,
};

/// The default control socket path, relative to the runtime directory.
pub const SOCKET_NAME: &str = "hatod.sock";

/// Longest request line the daemon accepts, in bytes.
pub const MAX_REQUEST_LEN: usize = 64 * 1024;

/// What `hatoctl` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// `show interfaces`
    ShowInterfaces,
    /// `show rpf ADDR`: the RPF answer with its explanation.
    ShowRpf { address: std::net::IpAddr },
    /// `show mroute [SOURCE] [GROUP]`: entries, filtered by source and / or group.
    ShowMroute {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source: Option<std::net::IpAddr>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<std::net::IpAddr>,
    },
    /// `show counters`
    ShowCounters,
    /// `show igmp groups`
    ShowIgmpGroups,
    /// `show mld groups`
    ShowMldGroups,
    /// `show pim neighbors`
    ShowPimNeighbors,
    /// `show pim interfaces`
    ShowPimInterfaces,
    /// `show pim join`: downstream Join/Prune state.
    ShowPimJoin,
    /// `show pim upstream`
    ShowPimUpstream,
    /// `show pim assert`: Assert state per interface (RFC 7761 §4.6).
    ShowPimAssert,
    /// `show pim rp GROUP`: the RP of a group and why.
    ShowPimRp { group: std::net::IpAddr },
    /// `show pim rp-set`
    ShowPimRpSet,
    /// `show pim bsr`
    ShowPimBsr,
    /// `dump`: every family's protocol state in pim6sd's dump layout.
    Dump,
    /// `status`
    Status,
    /// `reload`: re-read the configuration file, as SIGHUP does.
    Reload,
    /// `debug [SUBSYSTEM on|off]`: the daemon's run-time logging (see [`DebugRequest`]).
    Debug(DebugRequest),
}

/// What `hatod` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "response", content = "value", rename_all = "kebab-case")]
pub enum Response {
    Interfaces(InterfacesView),
    Rpf(RpfView),
    Mroute(MrouteView),
    Counters(CountersView),
    Status(StatusView),
    Reloaded(ReloadView),
    Groups(GroupsView),
    PimNeighbors(PimNeighborsView),
    PimInterfaces(PimInterfacesView),
    PimJoin(PimJoinView),
    PimUpstream(PimUpstreamView),
    PimAssert(PimAssertView),
    PimRp(PimRpView),
    PimRpSet(PimRpSetView),
    PimBsr(PimBsrView),
    Dump(DumpView),
    /// The logging after a `debug` request.
    Debug(DebugView),
    /// The request failed; the message says why.
    Error {
        message: String,
    },
}

impl Response {
    /// An error response.
    pub fn error(message: impl Into<String>) -> Self {
        Response::Error { message: message.into() }
    }
}

impl fmt::Display for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Response::Interfaces(view) => view.fmt(f),
            Response::Rpf(view) => view.fmt(f),
            Response::Mroute(view) => view.fmt(f),
            Response::Counters(view) => view.fmt(f),
            Response::Status(view) => view.fmt(f),
            Response::Reloaded(view) => view.fmt(f),
            Response::Groups(view) => view.fmt(f),
            Response::PimNeighbors(view) => view.fmt(f),
            Response::PimInterfaces(view) => view.fmt(f),
            Response::PimJoin(view) => view.fmt(f),
            Response::PimUpstream(view) => view.fmt(f),
            Response::PimAssert(view) => view.fmt(f),
            Response::PimRp(view) => view.fmt(f),
            Response::PimRpSet(view) => view.fmt(f),
            Response::PimBsr(view) => view.fmt(f),
            Response::Dump(view) => view.fmt(f),
            Response::Debug(view) => view.fmt(f),
            Response::Error { message } => write!(f, "error: {message}"),
        }
    }
}

/// A value as one JSON line, newline included.
pub fn encode_line<T: Serialize>(value: &T) -> String {
    // Serializing these plain types cannot fail: no maps with non-string keys, no custom impls.
    let mut line = serde_json::to_string(value).unwrap_or_else(|e| {
        serde_json::to_string(&Response::error(format!("cannot encode response: {e}"))).unwrap_or_default()
    });
    line.push('\n');
    line
}

/// Parses one line (with or without its newline).
pub fn decode_line<T: DeserializeOwned>(line: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(line.trim_end_matches(['\r', '\n']))
}

/// `h:mm:ss` (or `Nd hh:mm:ss`) for uptimes and timers.
pub fn format_duration(secs: u64) -> String {
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, minutes, seconds) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{days}d{hours:02}:{minutes:02}:{seconds:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests;
