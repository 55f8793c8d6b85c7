//! The rtnetlink watcher: one non-blocking `NETLINK_ROUTE` socket, subscribed to link, address and
//! route notifications, that first dumps links, then addresses, then routes, and then follows
//! changes.
//!
//! Kernel behaviour this relies on (netlink(7), rtnetlink(7), `net/netlink/af_netlink.c`):
//! - Subscribing before dumping loses nothing: notifications and dump replies share one queue, in the
//!   order the kernel produced them, so applying both in arrival order converges.
//! - Only one dump may run per socket (a second request gets `EBUSY`), hence the stages.
//! - Multicast notifications that do not fit the receive buffer are dropped and the next `recv`
//!   fails with `ENOBUFS`. Dump replies are never dropped: the kernel resumes the dump as the
//!   reader makes room. After an overrun the only safe course is to forget everything and dump
//!   again; a dump still in flight is drained first.
//! - Dump replies carry our port id and request sequence number; notifications carry the port id
//!   of whoever made the change.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use hato_core::IfIndex;
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST,
};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::event::{addr_from, link_from, route_from, Change, Link, LinkChange, LinkEvent, NetlinkEvent};

/// rtnetlink multicast groups (`enum rtnetlink_groups`): links, IPv4 and IPv6 addresses and routes.
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const GROUPS: [u32; 5] =
    [RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV6_ROUTE];

/// Larger than any datagram the kernel sends to a reader (it caps dump skbs at 32 KiB).
const DATAGRAM_BUFFER: usize = 64 * 1024;

/// How the watcher is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatcherConfig {
    /// Socket receive buffer in bytes (`SO_RCVBUFFORCE`, or `SO_RCVBUF` without `CAP_NET_ADMIN`; the
    /// kernel doubles it and enforces a small minimum); `None` keeps the
    /// system default. Large tables churning fast need a large buffer to avoid overruns; tests use
    /// a tiny one to force them.
    pub receive_buffer: Option<usize>,
    /// At most this many datagrams are read per [`NetlinkWatcher::poll`], so that a storm of
    /// changes cannot starve the rest of the daemon; the socket stays readable if more are queued.
    pub max_datagrams_per_poll: usize,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig { receive_buffer: Some(4 << 20), max_datagrams_per_poll: 256 }
    }
}

/// What is being dumped, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DumpStage {
    Links,
    Addresses,
    Routes,
}

impl DumpStage {
    fn next(self) -> Option<DumpStage> {
        match self {
            DumpStage::Links => Some(DumpStage::Addresses),
            DumpStage::Addresses => Some(DumpStage::Routes),
            DumpStage::Routes => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncState {
    /// A dump of `stage` is in flight under sequence number `seq`.
    Dumping { stage: DumpStage, seq: u32 },
    /// An overrun was announced while the dump `seq` was in flight: its replies are discarded and
    /// a fresh dump starts once it ends.
    Draining { seq: u32 },
    /// The mirror is complete; only notifications arrive.
    Live,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SyncInput {
    /// `NLMSG_DONE` for the dump `seq`.
    DumpDone { seq: u32 },
    /// `NLMSG_ERROR` for the dump request `seq`.
    DumpFailed { seq: u32, errno: i32 },
    /// `recv` failed with `ENOBUFS`, or the owner asked for a resync.
    Overrun,
}

/// Mirrors links, addresses and routes of the current network namespace as [`NetlinkEvent`]s.
///
/// Register [`AsRawFd::as_raw_fd`] for readability and call [`NetlinkWatcher::poll`] when it is
/// readable. The first events are a complete dump ended by [`NetlinkEvent::Synced`].
#[derive(Debug)]
pub struct NetlinkWatcher {
    socket: Socket,
    port: u32,
    next_seq: u32,
    sync: SyncState,
    /// Known links, to tell new from up, down and changed.
    links: BTreeMap<IfIndex, Link>,
    buf: Vec<u8>,
    max_datagrams: usize,
}

impl NetlinkWatcher {
    /// Opens the socket in the calling thread's network namespace, subscribes and starts the dump.
    pub fn open(config: &WatcherConfig) -> io::Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let local = socket.bind_auto()?;
        if let Some(size) = config.receive_buffer {
            // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN; without it the
            // capped SO_RCVBUF is the best available.
            let forced = nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::RcvBufForce, &size);
            if forced == Err(nix::errno::Errno::EPERM) {
                socket.set_rx_buf_sz(libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX))?;
            } else {
                forced?;
            }
        }
        for group in GROUPS {
            socket.add_membership(group)?;
        }
        socket.set_non_blocking(true)?;
        let mut watcher = NetlinkWatcher {
            socket,
            port: local.port_number(),
            next_seq: 1,
            sync: SyncState::Live,
            links: BTreeMap::new(),
            buf: Vec::with_capacity(DATAGRAM_BUFFER),
            max_datagrams: config.max_datagrams_per_poll.max(1),
        };
        watcher.start_dump(DumpStage::Links)?;
        Ok(watcher)
    }

    /// Whether the initial (or post-resync) dump has completed.
    pub fn is_synced(&self) -> bool {
        self.sync == SyncState::Live
    }

    /// The links as currently known, by ifindex.
    pub fn links(&self) -> impl Iterator<Item = &Link> {
        self.links.values()
    }

    /// Reads what is queued (up to the configured number of datagrams) and appends the events.
    /// Returns `Ok` when the socket would block. A failed dump is an `Err`; [`Self::resync`]
    /// retries it.
    pub fn poll(&mut self, out: &mut Vec<NetlinkEvent>) -> io::Result<()> {
        for _ in 0..self.max_datagrams {
            let mut datagram = std::mem::take(&mut self.buf);
            datagram.clear();
            let received = self.socket.recv(&mut datagram, 0);
            let result = match received {
                Ok(_) => self.handle_datagram(&datagram, out),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.buf = datagram;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.step(SyncInput::Overrun, out),
                Err(e) => Err(e),
            };
            self.buf = datagram;
            result?;
        }
        Ok(())
    }

    /// Forgets everything and dumps again, exactly as after an overrun: emits
    /// [`NetlinkEvent::Resync`] now and [`NetlinkEvent::Synced`] when the dump is complete.
    pub fn resync(&mut self, out: &mut Vec<NetlinkEvent>) -> io::Result<()> {
        self.step(SyncInput::Overrun, out)
    }

    fn step(&mut self, input: SyncInput, out: &mut Vec<NetlinkEvent>) -> io::Result<()> {
        match (self.sync, input) {
            // This stage's dump ended: start the next stage, or announce the mirror complete.
            (SyncState::Dumping { stage, seq }, SyncInput::DumpDone { seq: done }) if seq == done => {
                match stage.next() {
                    Some(next) => self.start_dump(next)?,
                    None => {
                        self.sync = SyncState::Live;
                        out.push(NetlinkEvent::Synced);
                    }
                }
            }
            // The kernel refused the dump: stop and let the owner decide when to retry.
            (SyncState::Dumping { seq, .. }, SyncInput::DumpFailed { seq: failed, errno })
                if seq == failed =>
            {
                self.sync = SyncState::Live;
                return Err(io::Error::from_raw_os_error(errno));
            }
            // Notifications lost mid-dump: announce, then let the running dump finish unread.
            (SyncState::Dumping { seq, .. }, SyncInput::Overrun) => {
                self.forget(out);
                self.sync = SyncState::Draining { seq };
            }
            // The stale dump is over: the socket is free for a fresh one.
            (SyncState::Draining { seq }, SyncInput::DumpDone { seq: done })
            | (SyncState::Draining { seq }, SyncInput::DumpFailed { seq: done, .. })
                if seq == done =>
            {
                self.start_dump(DumpStage::Links)?
            }
            // Already announced; the fresh dump has not started yet and will cover this loss too.
            (SyncState::Draining { .. }, SyncInput::Overrun) => {}
            // Notifications lost while live: announce and dump afresh.
            (SyncState::Live, SyncInput::Overrun) => {
                self.forget(out);
                self.start_dump(DumpStage::Links)?;
            }
            // The end of a dump we no longer track.
            (_, SyncInput::DumpDone { .. } | SyncInput::DumpFailed { .. }) => {}
        }
        Ok(())
    }

    fn forget(&mut self, out: &mut Vec<NetlinkEvent>) {
        self.links.clear();
        out.push(NetlinkEvent::Resync);
    }

    fn start_dump(&mut self, stage: DumpStage) -> io::Result<()> {
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1).max(1);
        let request = match stage {
            DumpStage::Links => RouteNetlinkMessage::GetLink(LinkMessage::default()),
            // AF_UNSPEC dumps every family; the decoders keep IPv4 and IPv6 only.
            DumpStage::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            DumpStage::Routes => RouteNetlinkMessage::GetRoute(RouteMessage::default()),
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = seq;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::from(request));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        self.socket.send_to(&bytes, &SocketAddr::new(0, 0), 0)?;
        self.sync = SyncState::Dumping { stage, seq };
        Ok(())
    }

    fn handle_datagram(&mut self, datagram: &[u8], out: &mut Vec<NetlinkEvent>) -> io::Result<()> {
        for bytes in split_messages(datagram) {
            // A message this crate cannot decode is skipped, not fatal: the rest still counts.
            if let Ok(message) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes) {
                self.handle_message(message, out)?;
            }
        }
        Ok(())
    }

    fn handle_message(
        &mut self,
        message: NetlinkMessage<RouteNetlinkMessage>,
        out: &mut Vec<NetlinkEvent>,
    ) -> io::Result<()> {
        let (header, payload) = message.into_parts();
        let ours = header.port_number == self.port;
        let seq = header.sequence_number;
        match payload {
            NetlinkPayload::Done(_) if ours => self.step(SyncInput::DumpDone { seq }, out),
            NetlinkPayload::Error(e) if ours => match e.code {
                Some(code) => {
                    self.step(SyncInput::DumpFailed { seq, errno: code.get().saturating_neg() }, out)
                }
                None => Ok(()),
            },
            NetlinkPayload::InnerMessage(inner) => {
                let stale = matches!(self.sync, SyncState::Draining { seq: s } if ours && s == seq);
                if !stale {
                    self.apply(inner, out);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn apply(&mut self, message: RouteNetlinkMessage, out: &mut Vec<NetlinkEvent>) {
        let event = match message {
            RouteNetlinkMessage::NewLink(msg) => link_from(&msg).and_then(|link| {
                let change = classify(self.links.get(&link.ifindex), &link)?;
                self.links.insert(link.ifindex, link.clone());
                Some(NetlinkEvent::Link(LinkEvent { change, link }))
            }),
            RouteNetlinkMessage::DelLink(msg) => {
                let ifindex = IfIndex(msg.header.index);
                let known = self.links.remove(&ifindex);
                link_from(&msg)
                    .or(known)
                    .map(|link| NetlinkEvent::Link(LinkEvent { change: LinkChange::Deleted, link }))
            }
            RouteNetlinkMessage::NewAddress(msg) => addr_from(Change::New, &msg).map(NetlinkEvent::Addr),
            RouteNetlinkMessage::DelAddress(msg) => addr_from(Change::Deleted, &msg).map(NetlinkEvent::Addr),
            RouteNetlinkMessage::NewRoute(msg) => route_from(Change::New, &msg).map(NetlinkEvent::Route),
            RouteNetlinkMessage::DelRoute(msg) => route_from(Change::Deleted, &msg).map(NetlinkEvent::Route),
            _ => None,
        };
        out.extend(event);
    }
}

/// The netlink messages of one datagram; stops at the first malformed frame.
fn split_messages(datagram: &[u8]) -> Vec<&[u8]> {
    let mut messages = Vec::new();
    let mut offset = 0usize;
    while let Some(rest) = datagram.get(offset..).filter(|r| !r.is_empty()) {
        let Ok(framed) = NetlinkBuffer::new_checked(rest) else { break };
        let len = framed.length() as usize;
        let Some(bytes) = rest.get(..len) else { break };
        messages.push(bytes);
        // NLMSG_ALIGN: messages start on 4-byte boundaries.
        offset = offset.saturating_add(len.saturating_add(3) & !3);
    }
    messages
}

/// How a `RTM_NEWLINK` changes what was known; `None` when nothing we report changed (the kernel
/// also notifies e.g. statistics and carrier-counter updates).
fn classify(previous: Option<&Link>, current: &Link) -> Option<LinkChange> {
    match previous {
        None => Some(LinkChange::New),
        Some(p) if p.flags.is_oper_up() != current.flags.is_oper_up() => {
            Some(if current.flags.is_oper_up() { LinkChange::Up } else { LinkChange::Down })
        }
        Some(p) if p == current => None,
        Some(_) => Some(LinkChange::Changed),
    }
}

impl AsRawFd for NetlinkWatcher {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl AsFd for NetlinkWatcher {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::LinkFlags;

    fn link(flags: u32, mtu: u32) -> Link {
        Link { ifindex: IfIndex(2), name: "eth0".into(), flags: LinkFlags(flags), mtu }
    }

    #[test]
    fn link_classification() {
        let up = LinkFlags::UP | LinkFlags::RUNNING | LinkFlags::MULTICAST;
        assert_eq!(classify(None, &link(0, 1500)), Some(LinkChange::New));
        assert_eq!(classify(Some(&link(LinkFlags::UP, 1500)), &link(up, 1500)), Some(LinkChange::Up));
        assert_eq!(classify(Some(&link(up, 1500)), &link(LinkFlags::UP, 1500)), Some(LinkChange::Down));
        assert_eq!(classify(Some(&link(up, 1500)), &link(up, 1400)), Some(LinkChange::Changed));
        assert_eq!(classify(Some(&link(up, 1500)), &link(up, 1500)), None);
    }

    #[test]
    fn datagram_splitting() {
        // Two NLMSG_DONE messages of 20 octets each (header 16 + an int).
        let mut datagram = Vec::new();
        for seq in [1u32, 2] {
            datagram.extend_from_slice(&20u32.to_ne_bytes());
            datagram.extend_from_slice(&3u16.to_ne_bytes());
            datagram.extend_from_slice(&2u16.to_ne_bytes());
            datagram.extend_from_slice(&seq.to_ne_bytes());
            datagram.extend_from_slice(&0u32.to_ne_bytes());
            datagram.extend_from_slice(&0i32.to_ne_bytes());
        }
        assert_eq!(split_messages(&datagram).len(), 2);
        assert_eq!(split_messages(&datagram[..30]).len(), 1);
        assert!(split_messages(&datagram[..10]).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let total: usize = split_messages(&bytes).iter().map(|m| m.len()).sum();
            proptest::prop_assert!(total <= bytes.len());
            for message in split_messages(&bytes) {
                let _ = NetlinkMessage::<RouteNetlinkMessage>::deserialize(message);
            }
        }
    }

    #[test]
    fn stages_run_in_order() {
        assert_eq!(DumpStage::Links.next(), Some(DumpStage::Addresses));
        assert_eq!(DumpStage::Addresses.next(), Some(DumpStage::Routes));
        assert_eq!(DumpStage::Routes.next(), None);
    }
}
