//! Multicast test traffic: a UDP sender and an ASM/SSM receiver, run inside a namespace as
//! `ip netns exec <ns> hato-lab send|recv ...`. Every datagram carries a run id, its sequence number
//! and the number of datagrams in the run, so the receiver can count losses, duplicates and
//! reordering without talking to the sender. The receiver prints one JSON [`RecvReport`].
//!
//! Joins use the host stack: IP_ADD_MEMBERSHIP / IPV6_JOIN_GROUP for ASM (RFC 1112, RFC 2710 host
//! side), IP_ADD_SOURCE_MEMBERSHIP for IPv4 SSM (RFC 4607 / RFC 3376 INCLUDE mode). IPv6 SSM needs
//! MCAST_JOIN_SOURCE_GROUP, which no safe socket crate wraps yet, and is refused with an error.

use std::collections::BTreeSet;
use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::thread;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::error::{Error, Result};

/// The first bytes of every lab datagram.
pub const MAGIC: [u8; 8] = *b"HATOLAB1";

/// The length of the header of a lab datagram: magic, run id, sequence number, count.
pub const HEADER_LEN: usize = 8 + 8 + 4 + 4;

/// What the stderr line announcing a completed join starts with.
pub const JOINED_MARKER: &str = "joined";

/// The header of one lab datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Payload {
    pub run_id: u64,
    pub seq: u32,
    /// How many datagrams the sender sends in this run.
    pub count: u32,
}

impl Payload {
    /// Encodes the header followed by zero padding up to `size` bytes (at least the header).
    pub fn encode(&self, size: usize) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(size.max(HEADER_LEN));
        bytes.extend_from_slice(&MAGIC);
        bytes.extend_from_slice(&self.run_id.to_be_bytes());
        bytes.extend_from_slice(&self.seq.to_be_bytes());
        bytes.extend_from_slice(&self.count.to_be_bytes());
        bytes.resize(size.max(HEADER_LEN), 0);
        bytes
    }

    /// Decodes a datagram; `None` when it is not a lab datagram.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.get(..8)? != MAGIC {
            return None;
        }
        let run_id = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        let seq = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
        let count = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
        Some(Payload { run_id, seq, count })
    }
}

/// Counts received sequence numbers: unique, duplicated, out of order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceTracker {
    seen: BTreeSet<u32>,
    highest: Option<u32>,
    received: u64,
    duplicates: u64,
    out_of_order: u64,
}

impl SequenceTracker {
    /// Records one datagram.
    pub fn record(&mut self, seq: u32) {
        self.received += 1;
        if !self.seen.insert(seq) {
            self.duplicates += 1;
            return;
        }
        match self.highest {
            Some(highest) if seq < highest => self.out_of_order += 1,
            _ => self.highest = Some(seq),
        }
    }

    /// Datagrams received, duplicates included.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Distinct sequence numbers received.
    pub fn unique(&self) -> u64 {
        self.seen.len() as u64
    }

    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Datagrams that arrived after one with a higher sequence number.
    pub fn out_of_order(&self) -> u64 {
        self.out_of_order
    }

    /// Missing datagrams out of `expected` (or up to the highest seen when unknown).
    pub fn lost(&self, expected: Option<u32>) -> u64 {
        let expected = expected.map(u64::from).or(self.highest.map(|h| u64::from(h) + 1)).unwrap_or(0);
        expected.saturating_sub(self.unique())
    }
}

/// Options of the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    pub group: IpAddr,
    pub port: u16,
    /// Source address to bind (also selects the IPv4 outgoing interface).
    pub source: Option<IpAddr>,
    /// Outgoing interface.
    pub iface: Option<String>,
    pub count: u32,
    pub interval: Duration,
    /// IPv4 TTL / IPv6 hop limit; must be > 1 to cross a router.
    pub ttl: u32,
    pub run_id: u64,
    pub size: usize,
}

impl SendOptions {
    /// `count` datagrams of 100 octets to `group:port` from `source` out of `eth0`, one every
    /// 10 ms with TTL / hop limit 16: the flow the lab's tests send through a chain of routers.
    pub fn stream(group: IpAddr, port: u16, source: Option<IpAddr>, count: u32, run_id: u64) -> Self {
        SendOptions {
            group,
            port,
            source,
            iface: Some("eth0".into()),
            count,
            interval: Duration::from_millis(10),
            ttl: 16,
            run_id,
            size: 100,
        }
    }
}

/// What the sender did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendReport {
    pub run_id: u64,
    pub group: IpAddr,
    pub sent: u32,
    pub errors: u32,
    pub last_error: Option<String>,
    pub elapsed_ms: u128,
}

/// Options of the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecvOptions {
    pub group: IpAddr,
    pub port: u16,
    /// The source for an SSM join; `None` joins ASM.
    pub source: Option<IpAddr>,
    pub iface: Option<String>,
    /// Hard deadline for the whole run.
    pub timeout: Duration,
    /// Stop this long after the last datagram once one arrived.
    pub idle: Option<Duration>,
    /// Count only datagrams of this run (others are reported as foreign).
    pub run_id: Option<u64>,
}

/// What the receiver saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecvReport {
    pub group: IpAddr,
    pub source: Option<IpAddr>,
    pub run_id: Option<u64>,
    /// How many datagrams the sender announced (from the payload).
    pub expected: Option<u32>,
    pub received: u64,
    pub unique: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Datagrams that were not lab datagrams of this run.
    pub foreign: u64,
    pub senders: Vec<IpAddr>,
    /// Milliseconds from the join to the first datagram.
    pub first_ms: Option<u128>,
    pub elapsed_ms: u128,
    /// Why the receiver stopped: `complete`, `idle` or `timeout`.
    pub stopped: String,
}

fn ifindex(name: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(name).map_err(|e| Error::io(format!("interface {name}"), e.into()))
}

fn iface_v4(name: &str) -> Result<Ipv4Addr> {
    let addrs = nix::ifaddrs::getifaddrs().map_err(|e| Error::io("getifaddrs", e.into()))?;
    addrs
        .filter(|a| a.interface_name == name)
        .find_map(|a| a.address.and_then(|s| s.as_sockaddr_in().map(|sin| sin.ip())))
        .ok_or_else(|| Error::Invalid(format!("interface {name} has no IPv4 address")))
}

fn io_err(context: &str) -> impl FnOnce(io::Error) -> Error + '_ {
    move |e| Error::io(context, e)
}

/// Sends `count` datagrams to the group, one every `interval`.
pub fn send(options: &SendOptions) -> Result<SendReport> {
    if !options.group.is_multicast() {
        return Err(Error::Invalid(format!("{} is not a multicast group", options.group)));
    }
    let domain = if options.group.is_ipv6() { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(io_err("socket"))?;
    if let Some(iface) = &options.iface {
        socket.bind_device(Some(iface.as_bytes())).map_err(io_err("SO_BINDTODEVICE"))?;
    }
    match options.group {
        IpAddr::V4(_) => {
            socket.set_multicast_ttl_v4(options.ttl).map_err(io_err("IP_MULTICAST_TTL"))?;
            socket.set_multicast_loop_v4(false).map_err(io_err("IP_MULTICAST_LOOP"))?;
            let interface = match (&options.source, &options.iface) {
                (Some(IpAddr::V4(source)), _) => Some(*source),
                (_, Some(iface)) => Some(iface_v4(iface)?),
                _ => None,
            };
            if let Some(interface) = interface {
                socket.set_multicast_if_v4(&interface).map_err(io_err("IP_MULTICAST_IF"))?;
            }
        }
        IpAddr::V6(_) => {
            socket.set_multicast_hops_v6(options.ttl).map_err(io_err("IPV6_MULTICAST_HOPS"))?;
            socket.set_multicast_loop_v6(false).map_err(io_err("IPV6_MULTICAST_LOOP"))?;
            if let Some(iface) = &options.iface {
                socket.set_multicast_if_v6(ifindex(iface)?).map_err(io_err("IPV6_MULTICAST_IF"))?;
            }
        }
    }
    if let Some(source) = options.source {
        socket.bind(&SocketAddr::new(source, 0).into()).map_err(io_err("bind source"))?;
    }
    let destination: socket2::SockAddr = SocketAddr::new(options.group, options.port).into();
    let started = Instant::now();
    let mut report = SendReport {
        run_id: options.run_id,
        group: options.group,
        sent: 0,
        errors: 0,
        last_error: None,
        elapsed_ms: 0,
    };
    for seq in 0..options.count {
        let payload = Payload { run_id: options.run_id, seq, count: options.count }.encode(options.size);
        match socket.send_to(&payload, &destination) {
            Ok(_) => report.sent += 1,
            Err(e) => {
                report.errors += 1;
                report.last_error = Some(e.to_string());
            }
        }
        // Pace against the start time so that the rate does not drift.
        let next = started + options.interval.saturating_mul(seq.saturating_add(1));
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
    }
    report.elapsed_ms = started.elapsed().as_millis();
    Ok(report)
}

fn join(options: &RecvOptions) -> Result<UdpSocket> {
    let domain = if options.group.is_ipv6() { Domain::IPV6 } else { Domain::IPV4 };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(io_err("socket"))?;
    socket.set_reuse_address(true).map_err(io_err("SO_REUSEADDR"))?;
    socket.bind(&SocketAddr::new(options.group, options.port).into()).map_err(io_err("bind group"))?;
    match (options.group, options.source) {
        (IpAddr::V4(group), None) => {
            let interface = match &options.iface {
                Some(iface) => InterfaceIndexOrAddress::Index(ifindex(iface)?),
                None => InterfaceIndexOrAddress::Address(Ipv4Addr::UNSPECIFIED),
            };
            socket.join_multicast_v4_n(&group, &interface).map_err(io_err("IP_ADD_MEMBERSHIP"))?;
        }
        (IpAddr::V4(group), Some(IpAddr::V4(source))) => {
            let interface = match &options.iface {
                Some(iface) => iface_v4(iface)?,
                None => Ipv4Addr::UNSPECIFIED,
            };
            socket.join_ssm_v4(&source, &group, &interface).map_err(io_err("IP_ADD_SOURCE_MEMBERSHIP"))?;
        }
        (IpAddr::V6(group), None) => {
            let index = options.iface.as_deref().map(ifindex).transpose()?.unwrap_or(0);
            socket.join_multicast_v6(&group, index).map_err(io_err("IPV6_JOIN_GROUP"))?;
        }
        (IpAddr::V6(group), Some(IpAddr::V6(source))) => {
            let index = options.iface.as_deref().map(ifindex).transpose()?.unwrap_or(0);
            hato_kernel::socket::join_source_group(socket.as_fd(), index, group.into(), source.into())
                .map_err(io_err("MCAST_JOIN_SOURCE_GROUP"))?;
        }
        (_, Some(source)) => {
            return Err(Error::Invalid(format!(
                "source {source} and group {} differ in family",
                options.group
            )))
        }
    }
    Ok(socket.into())
}

/// Joins, announces the join on stderr, receives until complete, idle or the deadline, and reports.
pub fn receive(options: &RecvOptions) -> Result<RecvReport> {
    if !options.group.is_multicast() {
        return Err(Error::Invalid(format!("{} is not a multicast group", options.group)));
    }
    let socket = join(options)?;
    socket.set_read_timeout(Some(Duration::from_millis(50))).map_err(io_err("SO_RCVTIMEO"))?;
    eprintln!("{JOINED_MARKER} {} source {:?}", options.group, options.source);
    let _ = io::stderr().flush();

    let started = Instant::now();
    let deadline = started + options.timeout;
    let mut tracker = SequenceTracker::default();
    let mut run_id = options.run_id;
    let mut expected = None;
    let mut foreign = 0u64;
    let mut senders = BTreeSet::new();
    let mut first_ms = None;
    let mut last_packet: Option<Instant> = None;
    let mut buffer = vec![0u8; 65_536];
    let stopped = loop {
        let now = Instant::now();
        if now >= deadline {
            break "timeout";
        }
        if let (Some(idle), Some(last)) = (options.idle, last_packet) {
            if now.duration_since(last) >= idle {
                break "idle";
            }
        }
        if expected.is_some_and(|count: u32| tracker.unique() >= u64::from(count)) {
            break "complete";
        }
        let (length, from) = match socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("recv", e)),
        };
        let payload = buffer.get(..length).and_then(Payload::decode);
        match payload {
            Some(p) if run_id.map_or(true, |id| id == p.run_id) => {
                run_id = Some(p.run_id);
                expected = Some(p.count);
                first_ms.get_or_insert_with(|| started.elapsed().as_millis());
                last_packet = Some(Instant::now());
                senders.insert(from.ip());
                tracker.record(p.seq);
            }
            _ => foreign += 1,
        }
    };
    Ok(RecvReport {
        group: options.group,
        source: options.source,
        run_id,
        expected,
        received: tracker.received(),
        unique: tracker.unique(),
        lost: tracker.lost(expected),
        duplicates: tracker.duplicates(),
        out_of_order: tracker.out_of_order(),
        foreign,
        senders: senders.into_iter().collect(),
        first_ms,
        elapsed_ms: started.elapsed().as_millis(),
        stopped: stopped.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip_and_rejects_foreign_bytes() {
        let payload = Payload { run_id: 0x0102_0304_0506_0708, seq: 7, count: 100 };
        let bytes = payload.encode(64);
        assert_eq!(bytes.len(), 64);
        assert_eq!(Payload::decode(&bytes), Some(payload));
        assert_eq!(payload.encode(0).len(), HEADER_LEN);
        for cut in 0..HEADER_LEN {
            assert_eq!(Payload::decode(bytes.get(..cut).unwrap()), None, "cut at {cut}");
        }
        let mut wrong = bytes.clone();
        wrong[0] ^= 1;
        assert_eq!(Payload::decode(&wrong), None);
    }

    #[test]
    fn tracker_counts_loss_duplicates_and_reordering() {
        let mut tracker = SequenceTracker::default();
        for seq in [0, 1, 3, 2, 3, 5] {
            tracker.record(seq);
        }
        assert_eq!(tracker.received(), 6);
        assert_eq!(tracker.unique(), 5);
        assert_eq!(tracker.duplicates(), 1);
        assert_eq!(tracker.out_of_order(), 1);
        assert_eq!(tracker.lost(Some(8)), 3);
        assert_eq!(tracker.lost(None), 1);
        assert_eq!(SequenceTracker::default().lost(None), 0);
    }
}
