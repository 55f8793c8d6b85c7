//! rtnetlink: the links, interface addresses and unicast routes of the namespace, dumped once and
//! then followed, as typed [`NetlinkEvent`]s (rtnetlink(7)).
//!
//! [`NetlinkWatcher`] owns one non-blocking socket the daemon polls. Lost notifications (a receive
//! buffer overrun) are never silent: they produce [`NetlinkEvent::Resync`] followed by a complete
//! dump and [`NetlinkEvent::Synced`].

mod event;
mod watcher;

pub use event::{
    AddrEvent, AddrFlags, Change, Link, LinkChange, LinkEvent, LinkFlags, NetlinkEvent, NextHop, RouteEvent,
    RouteKind, Scope,
};
pub use watcher::{NetlinkWatcher, WatcherConfig};
