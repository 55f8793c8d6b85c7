//! [`Net`]: nodes, segments, the event queue and what the kernel and hatod's shell would do with
//! each router's outputs.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hato_config::{Config, ConfigDiff};
use hato_control::{MrouteEntryView, Request, Response};
use hato_core::{Afi, Duration, ForwardingPlane, IfIndex, Instant, SgKey, VifKind, V4, V6};
use hato_gmp::GmpFamily;
use hato_router::{Input, LinkInfo, Output, ProtocolPacket, RouteChange, RouteNexthop, Router, SocketKind};
use hato_sim::{Arrival, SimConfig, SimPacket, SimPlane};
use hato_wire::checksum::ChecksumContext;
use hato_wire::gmp::RecordType;
use hato_wire::ip::{Ipv4Header, Ipv6Header};
use hato_wire::packet::ControlMessage;
use hato_wire::pim::PimMessage;
use ipnet::{Ipv4Net, Ipv6Net};

use crate::host::{self, Host, Membership, Reception, Record};
use crate::rng::{SplitMix64, TraceDigest};

/// A full router over simulated planes.
pub type SimRouter = Router<SimPlane<V4>, SimPlane<V6>>;

/// `RTPROT_STATIC`: the protocol the network's unicast routes carry.
const RTPROT_STATIC: u8 = 4;
/// The metric of every unicast route; a changed route replaces the old one (same key).
const ROUTE_METRIC: u32 = 20;
/// How often each router reads its planes' counters, as hatod does.
const COUNTERS_INTERVAL: Duration = Duration::from_secs(1);
/// The UDP port of data streams.
const DATA_PORT: u16 = 5001;
/// The TTL / hop limit data streams start with.
const DATA_TTL: u8 = 64;
/// Most routers a unicast packet crosses before it is dropped.
const MAX_UNICAST_HOPS: u32 = 32;
/// Most upcall rounds one router input may cause.
const MAX_SETTLE_ROUNDS: usize = 10_000;
/// Most events and timer rounds one call of [`Net::run_until`] runs.
const MAX_STEPS_PER_RUN: u64 = 5_000_000;
/// Trace lines kept for failure messages.
const TRACE_TAIL: usize = 400;
/// Interval of a state-change report's retransmission (RFC 3376 §8.11).
const UNSOLICITED_REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// A node (router or host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(usize);

/// A link or LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentId(usize);

/// A data stream a host sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId(usize);

/// A multicast data packet of either family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPacket {
    V4(SimPacket<V4>),
    V6(SimPacket<V6>),
}

impl DataPacket {
    /// A numbered UDP datagram from `source` to `group` (both of one family).
    fn numbered(source: IpAddr, group: IpAddr, seq: u32) -> Option<Self> {
        let data = seq.to_be_bytes();
        match (source, group) {
            (IpAddr::V4(s), IpAddr::V4(g)) => {
                Some(DataPacket::V4(SimPacket::udp(s, g, DATA_TTL, DATA_PORT, &data)))
            }
            (IpAddr::V6(s), IpAddr::V6(g)) => {
                Some(DataPacket::V6(SimPacket::udp(s, g, DATA_TTL, DATA_PORT, &data)))
            }
            _ => None,
        }
    }

    /// A whole IP packet (a Register's inner packet, a decapsulated copy the router forwards).
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        match bytes.first()? >> 4 {
            4 => {
                let (header, payload) = Ipv4Header::parse(bytes).ok()?;
                Some(DataPacket::V4(SimPacket {
                    source: header.src,
                    group: header.dst,
                    ttl: header.ttl,
                    protocol: header.protocol,
                    payload: payload.to_vec(),
                }))
            }
            6 => {
                let (header, payload) = Ipv6Header::parse(bytes).ok()?;
                Some(DataPacket::V6(SimPacket {
                    source: header.src,
                    group: header.dst,
                    ttl: header.hop_limit,
                    protocol: header.protocol,
                    payload: payload.to_vec(),
                }))
            }
            _ => None,
        }
    }

    pub fn source(&self) -> IpAddr {
        match self {
            DataPacket::V4(p) => p.source.into(),
            DataPacket::V6(p) => p.source.into(),
        }
    }

    pub fn group(&self) -> IpAddr {
        match self {
            DataPacket::V4(p) => p.group.into(),
            DataPacket::V6(p) => p.group.into(),
        }
    }

    /// The sequence number a stream put after the UDP header.
    pub fn seq(&self) -> Option<u32> {
        let payload = match self {
            DataPacket::V4(p) => &p.payload,
            DataPacket::V6(p) => &p.payload,
        };
        let bytes: [u8; 4] = payload.get(8..12)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }
}

impl fmt::Display for DataPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataPacket::V4(p) => write!(f, "data {p}")?,
            DataPacket::V6(p) => write!(f, "data {p}")?,
        }
        if let Some(seq) = self.seq() {
            write!(f, " seq {seq}")?;
        }
        Ok(())
    }
}

/// What travels on a segment.
#[derive(Debug, Clone)]
enum Frame {
    /// A protocol message (the IP payload) and its addresses.
    Control {
        socket: SocketKind,
        source: IpAddr,
        destination: IpAddr,
        payload: Vec<u8>,
    },
    Data(DataPacket),
}

/// One installed forwarding entry, with interface names for VIFs ("register" for the register VIF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfcView {
    pub iif: String,
    pub oifs: Vec<String>,
    pub packets: u64,
    pub wrong_if: u64,
}

#[derive(Debug, Clone)]
struct Interface {
    ifindex: IfIndex,
    /// The segment's name.
    name: String,
    segment: SegmentId,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
    link_local: Ipv6Addr,
    up: bool,
}

#[derive(Debug)]
struct Segment {
    name: String,
    v4: Ipv4Net,
    v6: Ipv6Net,
    ports: Vec<(NodeId, IfIndex)>,
}

#[derive(Debug)]
struct RouterNode {
    config: Config,
    /// Built when the network starts.
    router: Option<SimRouter>,
    /// Groups the router's protocol sockets joined, per interface.
    joined: BTreeSet<(SocketKind, IpAddr, IfIndex)>,
    /// The network's unicast routes: next-hop router per segment not attached.
    routes: BTreeMap<SegmentId, NodeId>,
}

#[derive(Debug)]
enum Role {
    Router(Box<RouterNode>),
    Host(Host),
}

#[derive(Debug)]
struct Node {
    name: String,
    interfaces: Vec<Interface>,
    role: Role,
}

impl Node {
    fn interface(&self, ifindex: IfIndex) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.ifindex == ifindex)
    }

    fn on_segment(&self, segment: SegmentId) -> Option<&Interface> {
        self.interfaces.iter().find(|i| i.segment == segment)
    }

    fn owns(&self, addr: IpAddr) -> bool {
        self.interfaces
            .iter()
            .any(|i| addr == IpAddr::V4(i.v4) || addr == IpAddr::V6(i.v6) || addr == IpAddr::V6(i.link_local))
    }
}

#[derive(Debug)]
struct Stream {
    host: NodeId,
    source: IpAddr,
    group: IpAddr,
    interval: Duration,
    count: u32,
    sent: u32,
    stopped: bool,
}

#[derive(Debug)]
enum Event {
    Deliver { node: NodeId, ifindex: IfIndex, frame: Frame },
    Counters { node: NodeId },
    StreamSend { stream: StreamId },
    HostReport { node: NodeId, records: Vec<Record> },
}

#[derive(Debug)]
struct Scheduled {
    at: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// The simulated network; see the crate documentation.
#[derive(Debug)]
pub struct Net {
    seed: u64,
    rng: SplitMix64,
    now: Instant,
    started: bool,
    link_delay: Duration,
    next_seq: u64,
    queue: BinaryHeap<Reverse<Scheduled>>,
    nodes: Vec<Node>,
    segments: Vec<Segment>,
    streams: Vec<Stream>,
    digest: TraceDigest,
    tail: VecDeque<String>,
    /// Control messages sent, by node and kind (`pim-register`, `igmp-v3-report`, ...).
    sent: BTreeMap<(NodeId, String), u64>,
    /// Data packets put on each segment, by (segment, source, group).
    data_frames: BTreeMap<(SegmentId, IpAddr, IpAddr), u64>,
}

impl Net {
    /// An empty network whose randomness comes from `seed`; links delay 1 ms.
    pub fn new(seed: u64) -> Self {
        Net {
            seed,
            rng: SplitMix64::new(seed),
            now: Instant::ZERO,
            started: false,
            link_delay: Duration::from_millis(1),
            next_seq: 0,
            queue: BinaryHeap::new(),
            nodes: Vec::new(),
            segments: Vec::new(),
            streams: Vec::new(),
            digest: TraceDigest::default(),
            tail: VecDeque::new(),
            sent: BTreeMap::new(),
            data_frames: BTreeMap::new(),
        }
    }

    /// Sets the delay of every link and LAN.
    pub fn set_link_delay(&mut self, delay: Duration) {
        self.link_delay = delay;
    }

    /// Adds a router with the configuration `toml` (hatod's format); panics on an invalid one.
    pub fn add_router(&mut self, name: &str, toml: &str) -> NodeId {
        let config = parse_config(name, toml);
        let role = Role::Router(Box::new(RouterNode {
            config,
            router: None,
            joined: BTreeSet::new(),
            routes: BTreeMap::new(),
        }));
        self.add_node(name, role)
    }

    /// Adds a host.
    pub fn add_host(&mut self, name: &str) -> NodeId {
        self.add_node(name, Role::Host(Host::default()))
    }

    fn add_node(&mut self, name: &str, role: Role) -> NodeId {
        assert!(!self.started, "nodes are added before the network starts");
        assert!(self.nodes.len() < 250, "at most 250 nodes");
        self.nodes.push(Node { name: name.to_string(), interfaces: Vec::new(), role });
        NodeId(self.nodes.len() - 1)
    }

    /// Connects `nodes` by a segment called `name` (also the name of each node's interface on it):
    /// a point-to-point link for two nodes, a LAN for more.
    pub fn connect(&mut self, name: &str, nodes: &[NodeId]) -> SegmentId {
        assert!(!self.started, "segments are added before the network starts");
        let id = SegmentId(self.segments.len());
        let number = u8::try_from(id.0 + 1).expect("at most 255 segments");
        let v4 = Ipv4Net::new(Ipv4Addr::new(198, 18, number, 0), 24).expect("valid prefix");
        let v6 =
            Ipv6Net::new(Ipv6Addr::new(0xfd00, 0, 0, number.into(), 0, 0, 0, 0), 64).expect("valid prefix");
        let mut ports = Vec::new();
        for &node in nodes {
            let host = u8::try_from(node.0 + 1).expect("at most 250 nodes");
            let entry = &mut self.nodes[node.0];
            let ifindex = IfIndex(u32::try_from(entry.interfaces.len()).unwrap_or(u32::MAX) + 2);
            entry.interfaces.push(Interface {
                ifindex,
                name: name.to_string(),
                segment: id,
                v4: Ipv4Addr::new(198, 18, number, host),
                v6: Ipv6Addr::new(0xfd00, 0, 0, number.into(), 0, 0, 0, host.into()),
                link_local: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, number.into(), host.into()),
                up: true,
            });
            ports.push((node, ifindex));
        }
        self.segments.push(Segment { name: name.to_string(), v4, v6, ports });
        id
    }

    /// Brings `node`'s interface on `segment` up or down (a link event to a router once started).
    pub fn set_link(&mut self, node: NodeId, segment: SegmentId, up: bool) {
        let interface = self.nodes[node.0]
            .interfaces
            .iter_mut()
            .find(|i| i.segment == segment)
            .expect("the node is on the segment");
        interface.up = up;
        let link = link_info(interface);
        self.trace(format!("{} {} link {} {}", self.now_ms(), self.nodes[node.0].name, link.name, up));
        if self.started && self.is_router(node) {
            self.router_input(node, Input::Link(link));
        }
    }

    /// Makes `via` (a router sharing a segment with `node`) the next hop of `node` towards
    /// `segment` in both families, in place of the shortest path; once the network runs, the
    /// router gets the route event at once.
    pub fn set_route(&mut self, node: NodeId, segment: SegmentId, via: NodeId) {
        self.router_node_mut(node).routes.insert(segment, via);
        self.trace(format!(
            "{} {} route {} via {}",
            self.now_ms(),
            self.name(node),
            self.segments[segment.0].name,
            self.name(via)
        ));
        if self.started {
            for change in self.route_changes(node, segment) {
                self.router_input(node, Input::Route(change));
            }
        }
    }

    /// Replaces `node`'s configuration. Before the network starts this is the configuration the
    /// router starts with; afterwards it is applied as `hatod` reloads: validated whole, then
    /// applied as a diff from the running one.
    pub fn apply_config(&mut self, node: NodeId, toml: &str) {
        let name = self.name(node).to_string();
        let new = parse_config(&name, toml);
        let now = self.now;
        let mut out = Vec::new();
        {
            let router_node = self.router_node_mut(node);
            let diff = ConfigDiff::between(&router_node.config, &new);
            router_node.config = new.clone();
            let Some(router) = router_node.router.as_mut() else { return };
            router.apply_config(now, &new, &diff, &mut out);
        }
        self.trace(format!("{} {name} configuration applied", self.now_ms()));
        self.settle(node, out);
    }

    /// The host joins `group` for any source (IGMPv3 / MLDv2 TO_EX({})).
    pub fn join(&mut self, host: NodeId, group: IpAddr) {
        self.host_mut(host).memberships.insert(group, Membership::AnySource);
        let record = Record { kind: RecordType::ChangeToExclude, group, sources: Vec::new() };
        self.state_change(host, record);
    }

    /// The host joins `group` for `source` only (ALLOW({S}), RFC 4604).
    pub fn join_source(&mut self, host: NodeId, group: IpAddr, source: IpAddr) {
        let membership = self
            .host_mut(host)
            .memberships
            .entry(group)
            .or_insert_with(|| Membership::Sources(BTreeSet::new()));
        if let Membership::Sources(sources) = membership {
            sources.insert(source);
        }
        let record = Record { kind: RecordType::AllowNewSources, group, sources: vec![source] };
        self.state_change(host, record);
    }

    /// The host leaves `group` (TO_IN({}) for any source, BLOCK(sources) for source-specific).
    pub fn leave(&mut self, host: NodeId, group: IpAddr) {
        let record = match self.host_mut(host).memberships.remove(&group) {
            Some(Membership::Sources(sources)) => {
                Record { kind: RecordType::BlockOldSources, group, sources: sources.into_iter().collect() }
            }
            Some(Membership::AnySource) | None => {
                Record { kind: RecordType::ChangeToInclude, group, sources: Vec::new() }
            }
        };
        self.state_change(host, record);
    }

    /// A state-change report now and its retransmission (Robustness Variable 2).
    fn state_change(&mut self, host: NodeId, record: Record) {
        self.trace(format!(
            "{} {} state change {:?} {}",
            self.now_ms(),
            self.name(host),
            record.kind,
            record.group
        ));
        let now = self.now;
        self.schedule(now, Event::HostReport { node: host, records: vec![record.clone()] });
        self.schedule(
            now + UNSOLICITED_REPORT_INTERVAL,
            Event::HostReport { node: host, records: vec![record] },
        );
    }

    /// `host` sends `count` numbered packets to `group`, one every `interval`, from its address of
    /// the group's family, starting now.
    pub fn start_stream(&mut self, host: NodeId, group: IpAddr, interval: Duration, count: u32) -> StreamId {
        let interface = self.nodes[host.0].interfaces.first().expect("the host is connected");
        let source = match group {
            IpAddr::V4(_) => IpAddr::V4(interface.v4),
            IpAddr::V6(_) => IpAddr::V6(interface.v6),
        };
        let id = StreamId(self.streams.len());
        self.streams.push(Stream { host, source, group, interval, count, sent: 0, stopped: false });
        let now = self.now;
        self.schedule(now, Event::StreamSend { stream: id });
        id
    }

    /// Stops a stream.
    pub fn stop_stream(&mut self, stream: StreamId) {
        self.streams[stream.0].stopped = true;
    }

    /// Packets a stream has sent; the next one carries this sequence number.
    pub fn sent(&self, stream: StreamId) -> u32 {
        self.streams[stream.0].sent
    }

    /// What `host` received of (`source`, `group`).
    pub fn reception(&self, host: NodeId, source: IpAddr, group: IpAddr) -> Reception {
        match &self.nodes[host.0].role {
            Role::Host(h) => h.received.get(&(source, group)).cloned().unwrap_or_default(),
            Role::Router(_) => panic!("{} is not a host", self.name(host)),
        }
    }

    pub fn now(&self) -> Instant {
        self.now
    }

    /// The segment called `name`.
    pub fn segment(&self, name: &str) -> SegmentId {
        SegmentId(self.segments.iter().position(|s| s.name == name).expect("a segment of that name"))
    }

    pub fn name(&self, node: NodeId) -> &str {
        &self.nodes[node.0].name
    }

    /// `node`'s IPv4 address on `segment`.
    pub fn addr4(&self, node: NodeId, segment: SegmentId) -> IpAddr {
        IpAddr::V4(self.nodes[node.0].on_segment(segment).expect("the node is on the segment").v4)
    }

    /// `node`'s global IPv6 address on `segment`.
    pub fn addr6(&self, node: NodeId, segment: SegmentId) -> IpAddr {
        IpAddr::V6(self.nodes[node.0].on_segment(segment).expect("the node is on the segment").v6)
    }

    /// The router of `node` (after the network started).
    pub fn router(&self, node: NodeId) -> &SimRouter {
        match &self.nodes[node.0].role {
            Role::Router(r) => r.router.as_ref().expect("the network has started"),
            Role::Host(_) => panic!("{} is not a router", self.name(node)),
        }
    }

    /// The installed entry of (`source`, `group`) in `node`'s plane (`source` `None`: (*,G)).
    pub fn mfc(&self, node: NodeId, source: Option<IpAddr>, group: IpAddr) -> Option<MfcView> {
        let router = self.router(node);
        let names = |ifindex: IfIndex| {
            self.nodes[node.0].interface(ifindex).map_or_else(|| ifindex.to_string(), |i| i.name.clone())
        };
        match group {
            IpAddr::V4(g) => {
                let key = match source {
                    Some(s) => SgKey::sg(V4::from_ip(s)?, g),
                    None => SgKey::star_g(g),
                };
                mfc_view(router.plane4()?, key, names)
            }
            IpAddr::V6(g) => {
                let key = match source {
                    Some(s) => SgKey::sg(V6::from_ip(s)?, g),
                    None => SgKey::star_g(g),
                };
                mfc_view(router.plane6()?, key, names)
            }
        }
    }

    /// The entry of (`source`, `group`) in `node`'s mroute table as `hatoctl show mroute` gives
    /// it: also (*,G) entries, which are never installed.
    pub fn mroute(&self, node: NodeId, source: Option<IpAddr>, group: IpAddr) -> Option<MrouteEntryView> {
        let request = Request::ShowMroute { source, group: Some(group) };
        match self.router(node).query(self.now, &request) {
            Response::Mroute(view) => view.entries.into_iter().find(|e| e.source == source),
            _ => None,
        }
    }

    /// Every installed entry of `node`, one line each, for failure messages.
    pub fn mfc_dump(&self, node: NodeId) -> String {
        let router = self.router(node);
        let mut lines = Vec::new();
        if let Some(plane) = router.plane4() {
            lines.extend(plane.installed().map(|(entry, counters)| format!("{entry} {counters:?}")));
        }
        if let Some(plane) = router.plane6() {
            lines.extend(plane.installed().map(|(entry, counters)| format!("{entry} {counters:?}")));
        }
        format!("{}: {}", self.name(node), lines.join("; "))
    }

    /// Control messages of `kind` (`pim-register`, `pim-null-register`, `pim-register-stop`,
    /// `pim-join-prune`, `igmp-v3-report`, ... as hato's counters name them) `node` has sent.
    pub fn sent_count(&self, node: NodeId, kind: &str) -> u64 {
        self.sent.get(&(node, kind.to_string())).copied().unwrap_or(0)
    }

    /// Data packets of (`source`, `group`) put on `segment` so far, by any node.
    pub fn data_frames(&self, segment: SegmentId, source: IpAddr, group: IpAddr) -> u64 {
        self.data_frames.get(&(segment, source, group)).copied().unwrap_or(0)
    }

    /// Control messages sent that do not decode, over every node.
    pub fn undecodable(&self) -> u64 {
        self.sent.iter().filter(|((_, kind), _)| kind.starts_with("undecodable")).map(|(_, n)| n).sum()
    }

    /// The digest of everything that happened so far.
    pub fn trace_hash(&self) -> u64 {
        self.digest.hash()
    }

    /// Lines in the trace so far.
    pub fn trace_len(&self) -> u64 {
        self.digest.lines()
    }

    /// The latest trace lines, for failure messages.
    pub fn trace_tail(&self, lines: usize) -> String {
        let skip = self.tail.len().saturating_sub(lines);
        self.tail.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        self.run_until(end);
    }

    /// Runs every event and timer due up to `end`, then sets the clock to `end`.
    pub fn run_until(&mut self, end: Instant) {
        self.start();
        for _ in 0..MAX_STEPS_PER_RUN {
            let queued = self.queue.peek().map(|Reverse(s)| s.at);
            let timer = self.next_timer();
            let next = match (queued, timer) {
                (Some(q), Some(t)) => Some(q.min(t)),
                (q, t) => q.or(t),
            };
            let Some(at) = next.filter(|at| *at <= end) else {
                self.now = self.now.max(end);
                return;
            };
            self.now = self.now.max(at);
            if timer == Some(at) {
                self.run_timers();
            } else if let Some(Reverse(scheduled)) = self.queue.pop() {
                self.dispatch(scheduled.event);
            }
        }
        panic!("the network did not reach {end:?} in {MAX_STEPS_PER_RUN} steps:\n{}", self.trace_tail(50));
    }

    /// Builds the routers and hands them their links, addresses and routes.
    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let routers: Vec<NodeId> = (0..self.nodes.len()).map(NodeId).filter(|n| self.is_router(*n)).collect();
        for &node in &routers {
            // Routes set before the start stay; shortest paths fill in the rest.
            let mut routes = self.shortest_paths(node);
            let router_node = self.router_node_mut(node);
            routes.append(&mut router_node.routes);
            router_node.routes = routes;
        }
        for &node in &routers {
            let seed = self.seed ^ (node.0 as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let ifindexes: Vec<IfIndex> = self.nodes[node.0].interfaces.iter().map(|i| i.ifindex).collect();
            let plane_config = SimConfig { assert: true, pim: true, wrong_vif_whole: false };
            let now = self.now;
            let router_node = self.router_node_mut(node);
            let config = router_node.config.clone();
            let plane4 =
                config.global.ipv4.then(|| SimPlane::<V4>::new(plane_config, ifindexes.iter().copied()));
            let plane6 =
                config.global.ipv6.then(|| SimPlane::<V6>::new(plane_config, ifindexes.iter().copied()));
            router_node.router = Some(Router::with_seed(now, config, plane4, plane6, seed));

            let interfaces = self.nodes[node.0].interfaces.clone();
            for interface in &interfaces {
                self.router_input(node, Input::Link(link_info(interface)));
            }
            for interface in &interfaces {
                let addresses = [
                    (IpAddr::V4(interface.v4), 24),
                    (IpAddr::V6(interface.link_local), 64),
                    (IpAddr::V6(interface.v6), 64),
                ];
                for (addr, prefix_len) in addresses {
                    let input = Input::Address { ifindex: interface.ifindex, addr, prefix_len, added: true };
                    self.router_input(node, input);
                }
            }
            self.router_input(node, Input::Synced);
            let segments: Vec<SegmentId> = self.router_node_mut(node).routes.keys().copied().collect();
            for segment in segments {
                for change in self.route_changes(node, segment) {
                    self.router_input(node, Input::Route(change));
                }
            }
            // Counter dumps start at different instants per router, as independent daemons do.
            let first = now + COUNTERS_INTERVAL + Duration::from_millis(node.0 as u64 * 7);
            self.schedule(first, Event::Counters { node });
        }
    }

    /// The next hop towards every segment `from` is not on: the first router of a shortest path
    /// over routers (breadth first in segment and port order, so ties go the same way each run).
    fn shortest_paths(&self, from: NodeId) -> BTreeMap<SegmentId, NodeId> {
        let mut first_hop: BTreeMap<NodeId, (u32, NodeId)> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        first_hop.insert(from, (0, from));
        while let Some(at) = queue.pop_front() {
            let (distance, via) = first_hop[&at];
            for interface in &self.nodes[at.0].interfaces {
                for &(peer, _) in &self.segments[interface.segment.0].ports {
                    if !self.is_router(peer) || first_hop.contains_key(&peer) {
                        continue;
                    }
                    let hop = if at == from { peer } else { via };
                    first_hop.insert(peer, (distance + 1, hop));
                    queue.push_back(peer);
                }
            }
        }
        let mut routes = BTreeMap::new();
        for (index, segment) in self.segments.iter().enumerate() {
            if segment.ports.iter().any(|(node, _)| *node == from) {
                continue;
            }
            let best = segment
                .ports
                .iter()
                .filter_map(|(node, _)| first_hop.get(node).map(|(distance, via)| (*distance, *node, *via)))
                .min();
            if let Some((_, _, via)) = best {
                routes.insert(SegmentId(index), via);
            }
        }
        routes
    }

    /// The route events of `node`'s route towards `segment`, one per family.
    fn route_changes(&self, node: NodeId, segment: SegmentId) -> Vec<RouteChange> {
        let Role::Router(router_node) = &self.nodes[node.0].role else { return Vec::new() };
        let Some(&via) = router_node.routes.get(&segment) else { return Vec::new() };
        let Some((interface, gateway)) = self.shared_segment(node, via) else { return Vec::new() };
        let target = &self.segments[segment.0];
        let hop = |gateway: IpAddr| vec![RouteNexthop { ifindex: interface.ifindex, gateway: Some(gateway) }];
        vec![
            RouteChange {
                added: true,
                destination: IpAddr::V4(target.v4.network()),
                prefix_len: target.v4.prefix_len(),
                nexthops: hop(IpAddr::V4(gateway.v4)),
                metric: ROUTE_METRIC,
                protocol: RTPROT_STATIC,
            },
            RouteChange {
                added: true,
                destination: IpAddr::V6(target.v6.network()),
                prefix_len: target.v6.prefix_len(),
                nexthops: hop(IpAddr::V6(gateway.v6)),
                metric: ROUTE_METRIC,
                protocol: RTPROT_STATIC,
            },
        ]
    }

    /// `node`'s interface on a segment it shares with `peer`, and `peer`'s interface there.
    fn shared_segment(&self, node: NodeId, peer: NodeId) -> Option<(&Interface, &Interface)> {
        self.nodes[node.0]
            .interfaces
            .iter()
            .find_map(|mine| self.nodes[peer.0].on_segment(mine.segment).map(|theirs| (mine, theirs)))
    }

    /// When the earliest router timer is due (never before now).
    fn next_timer(&self) -> Option<Instant> {
        self.nodes
            .iter()
            .filter_map(|node| match &node.role {
                Role::Router(r) => r.router.as_ref().and_then(Router::poll_at),
                Role::Host(_) => None,
            })
            .min()
            .map(|at| at.max(self.now))
    }

    /// Runs the timers of every router that has one due, in node order.
    fn run_timers(&mut self) {
        let now = self.now;
        for index in 0..self.nodes.len() {
            let node = NodeId(index);
            let Role::Router(router_node) = &mut self.nodes[index].role else { continue };
            let Some(router) = router_node.router.as_mut() else { continue };
            if router.poll_at().map_or(true, |at| at > now) {
                continue;
            }
            let mut out = Vec::new();
            router.on_timeout(now, &mut out);
            self.settle(node, out);
        }
    }

    fn schedule(&mut self, at: Instant, event: Event) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Reverse(Scheduled { at, seq, event }));
    }

    fn dispatch(&mut self, event: Event) {
        match event {
            Event::Deliver { node, ifindex, frame } => self.deliver(node, ifindex, frame),
            Event::Counters { node } => {
                let now = self.now;
                let mut out = Vec::new();
                let router = self.router_mut(node);
                if let Some(dump) = router.plane4_mut().and_then(|p| ForwardingPlane::counters(p).ok()) {
                    router.handle(now, Input::Counters4(dump), &mut out);
                }
                if let Some(dump) = router.plane6_mut().and_then(|p| ForwardingPlane::counters(p).ok()) {
                    router.handle(now, Input::Counters6(dump), &mut out);
                }
                self.settle(node, out);
                self.schedule(now + COUNTERS_INTERVAL, Event::Counters { node });
            }
            Event::StreamSend { stream } => self.stream_send(stream),
            Event::HostReport { node, records } => self.host_report(node, &records),
        }
    }

    fn stream_send(&mut self, id: StreamId) {
        let stream = &mut self.streams[id.0];
        if stream.stopped || stream.sent >= stream.count {
            return;
        }
        let (host, seq, interval) = (stream.host, stream.sent, stream.interval);
        stream.sent += 1;
        let more = stream.sent < stream.count;
        let Some(packet) = DataPacket::numbered(stream.source, stream.group, seq) else { return };
        let ifindex = self.nodes[host.0].interfaces[0].ifindex;
        self.trace(format!("{} {} > {packet}", self.now_ms(), self.name(host)));
        self.transmit(host, ifindex, &Frame::Data(packet));
        if more {
            let at = self.now + interval;
            self.schedule(at, Event::StreamSend { stream: id });
        }
    }

    /// A host sends an IGMPv3 / MLDv2 report of `records` (one family per call).
    fn host_report(&mut self, node: NodeId, records: &[Record]) {
        let interface = self.nodes[node.0].interfaces[0].clone();
        let Some(first) = records.first() else { return };
        let (socket, source, destination, payload) = match first.group {
            IpAddr::V4(_) => (
                SocketKind::Igmp,
                IpAddr::V4(interface.v4),
                IpAddr::V4(V4::ALL_V3_ROUTERS),
                host::report_payload::<V4>(records, interface.v4),
            ),
            IpAddr::V6(_) => (
                SocketKind::Mld,
                IpAddr::V6(interface.link_local),
                IpAddr::V6(V6::ALL_V3_ROUTERS),
                host::report_payload::<V6>(records, interface.link_local),
            ),
        };
        let Some(payload) = payload else { return };
        self.send_control(node, interface.ifindex, socket, source, destination, payload);
    }

    /// A frame arrives at `node` on `ifindex`.
    fn deliver(&mut self, node: NodeId, ifindex: IfIndex, frame: Frame) {
        let Some(interface) = self.nodes[node.0].interface(ifindex) else { return };
        if !interface.up {
            return;
        }
        let summary = match &frame {
            Frame::Control { socket, source, destination, payload } => {
                format!(
                    "{} from {source} to {destination}",
                    control_kind(*socket, *source, *destination, payload)
                )
            }
            Frame::Data(packet) => packet.to_string(),
        };
        self.trace(format!("{} {}/{} < {summary}", self.now_ms(), self.name(node), interface.name));
        if self.is_router(node) {
            self.router_receive(node, ifindex, frame);
        } else {
            self.host_receive(node, frame);
        }
    }

    fn router_receive(&mut self, node: NodeId, ifindex: IfIndex, frame: Frame) {
        match frame {
            Frame::Control { socket, source, destination, payload } => {
                let multicast = destination.is_multicast();
                let wanted = match socket {
                    SocketKind::Igmp | SocketKind::Mld => true,
                    SocketKind::Pim4 | SocketKind::Pim6 => {
                        !multicast || self.router_node(node).joined.contains(&(socket, destination, ifindex))
                    }
                };
                if !wanted {
                    return;
                }
                if !multicast {
                    self.decapsulate_register(node, socket, source, destination, &payload);
                }
                let gmp = matches!(socket, SocketKind::Igmp | SocketKind::Mld);
                let packet = ProtocolPacket {
                    socket,
                    ifindex: Some(ifindex),
                    source,
                    destination,
                    hop_limit: Some(1),
                    router_alert: gmp.then_some(true),
                    payload,
                };
                self.router_input(node, Input::Packet(packet));
            }
            Frame::Data(packet) => {
                self.inject(node, Arrival::Interface(ifindex), packet);
                self.settle(node, Vec::new());
            }
        }
    }

    /// The kernel at an RP decapsulates a data Register itself: the inner packet re-enters on the
    /// register VIF (`pim_rcv`), while the PIM socket still gets the Register.
    fn decapsulate_register(
        &mut self,
        node: NodeId,
        socket: SocketKind,
        source: IpAddr,
        destination: IpAddr,
        payload: &[u8],
    ) {
        let register = match (socket, source, destination) {
            (SocketKind::Pim4, _, _) => match PimMessage::<V4>::parse(payload, ChecksumContext::Plain) {
                Ok(PimMessage::Register(register)) => register,
                _ => return,
            },
            (SocketKind::Pim6, IpAddr::V6(src), IpAddr::V6(dst)) => {
                match PimMessage::<V6>::parse(payload, ChecksumContext::Ipv6 { src, dst }) {
                    Ok(PimMessage::Register(register)) => register,
                    _ => return,
                }
            }
            _ => return,
        };
        if register.null_register {
            return;
        }
        let Some(inner) = DataPacket::parse(&register.packet) else { return };
        self.inject(node, Arrival::Vif(hato_router::REGISTER_VIF), inner);
    }

    /// A data packet enters `node`'s plane of its family at `arrival`; the copies go out.
    fn inject(&mut self, node: NodeId, arrival: Arrival, packet: DataPacket) {
        let now = self.now;
        let router = self.router_mut(node);
        let copies: Vec<(IfIndex, DataPacket)> = match packet {
            DataPacket::V4(p) => router.plane4_mut().map_or_else(Vec::new, |plane| {
                let copies = plane.inject(now, arrival, p).copies.into_iter();
                copies.map(|c| (c.interface, DataPacket::V4(c.packet))).collect()
            }),
            DataPacket::V6(p) => router.plane6_mut().map_or_else(Vec::new, |plane| {
                let copies = plane.inject(now, arrival, p).copies.into_iter();
                copies.map(|c| (c.interface, DataPacket::V6(c.packet))).collect()
            }),
        };
        for (oif, copy) in copies {
            self.transmit(node, oif, &Frame::Data(copy));
        }
    }

    fn host_receive(&mut self, node: NodeId, frame: Frame) {
        let now = self.now;
        match frame {
            Frame::Data(packet) => {
                let (source, group) = (packet.source(), packet.group());
                let host = self.host_mut(node);
                let wanted = host.memberships.get(&group).is_some_and(|m| m.accepts(source));
                if let (true, Some(seq)) = (wanted, packet.seq()) {
                    host.received.entry((source, group)).or_default().record(seq, now);
                }
            }
            Frame::Control { socket, source, destination, payload } => {
                let query = match (socket, source, destination) {
                    (SocketKind::Igmp, IpAddr::V4(src), IpAddr::V4(dst)) => {
                        V4::parse(&payload, src, dst).ok().flatten().and_then(|m| host::query(&m))
                    }
                    (SocketKind::Mld, IpAddr::V6(src), IpAddr::V6(dst)) => {
                        V6::parse(&payload, src, dst).ok().flatten().and_then(|m| host::query(&m))
                    }
                    _ => None,
                };
                let Some((group, max_resp)) = query else { return };
                let v4 = source.is_ipv4();
                let records: Vec<Record> = self
                    .host_mut(node)
                    .memberships
                    .iter()
                    .filter(|(g, _)| g.is_ipv4() == v4 && group.map_or(true, |asked| asked == **g))
                    .map(|(g, membership)| membership.current_state(*g))
                    .collect();
                if records.is_empty() {
                    return;
                }
                let max_ms = u64::try_from(max_resp.as_millis()).unwrap_or(u64::MAX);
                let delay = Duration::from_millis(self.rng.below(max_ms));
                self.schedule(now + delay, Event::HostReport { node, records });
            }
        }
    }

    /// Hands `input` to `node`'s router and carries out what follows.
    fn router_input(&mut self, node: NodeId, input: Input) {
        let now = self.now;
        let mut out = Vec::new();
        self.router_mut(node).handle(now, input, &mut out);
        self.settle(node, out);
    }

    /// Carries out `out`, then hands the router the upcalls and transmits the queued packets its
    /// planes released, until nothing is left.
    fn settle(&mut self, node: NodeId, mut out: Vec<Output>) {
        let now = self.now;
        for _ in 0..MAX_SETTLE_ROUNDS {
            self.carry_out(node, std::mem::take(&mut out));
            let router = self.router_mut(node);
            let mut released: Vec<(IfIndex, DataPacket)> = Vec::new();
            if let Some(plane) = router.plane4_mut() {
                released.extend(
                    plane.take_released().into_iter().map(|c| (c.interface, DataPacket::V4(c.packet))),
                );
            }
            if let Some(plane) = router.plane6_mut() {
                released.extend(
                    plane.take_released().into_iter().map(|c| (c.interface, DataPacket::V6(c.packet))),
                );
            }
            let upcall = match router.plane4_mut().and_then(SimPlane::recv) {
                Some(upcall) => Some(Input::Upcall4(upcall)),
                None => router.plane6_mut().and_then(SimPlane::recv).map(Input::Upcall6),
            };
            for (oif, copy) in released {
                self.transmit(node, oif, &Frame::Data(copy));
            }
            let Some(upcall) = upcall else { return };
            let line = match &upcall {
                Input::Upcall4(u) => u.to_string(),
                Input::Upcall6(u) => u.to_string(),
                _ => String::new(),
            };
            self.trace(format!("{} {} {line}", self.now_ms(), self.name(node)));
            self.router_mut(node).handle(now, upcall, &mut out);
        }
        panic!("{} did not settle:\n{}", self.name(node), self.trace_tail(50));
    }

    /// What hatod's shell does with the router's outputs.
    fn carry_out(&mut self, node: NodeId, outputs: Vec<Output>) {
        for output in outputs {
            match output {
                Output::Send { socket, ifindex, source, destination, payload } => {
                    let Some(interface) = self.nodes[node.0].interface(ifindex) else { continue };
                    let source = source.unwrap_or(match destination {
                        IpAddr::V4(_) => IpAddr::V4(interface.v4),
                        IpAddr::V6(_) => IpAddr::V6(interface.link_local),
                    });
                    self.send_control(node, ifindex, socket, source, destination, payload);
                }
                Output::Join { socket, group, ifindex } => {
                    self.router_node_mut(node).joined.insert((socket, group, ifindex));
                }
                Output::Leave { socket, group, ifindex } => {
                    self.router_node_mut(node).joined.remove(&(socket, group, ifindex));
                }
                Output::Forward { key, oifs, packet } => {
                    let Some(packet) = DataPacket::parse(&packet) else { continue };
                    self.trace(format!("{} {} forwards decapsulated {key}", self.now_ms(), self.name(node)));
                    for oif in oifs {
                        self.transmit(node, oif, &Frame::Data(packet.clone()));
                    }
                }
                Output::Log(event) => self.trace(format!("{} {}: {event}", self.now_ms(), self.name(node))),
            }
        }
    }

    /// Sends a control message: on the segment for multicast, along the routes for unicast.
    fn send_control(
        &mut self,
        node: NodeId,
        ifindex: IfIndex,
        socket: SocketKind,
        source: IpAddr,
        destination: IpAddr,
        payload: Vec<u8>,
    ) {
        let kind = control_kind(socket, source, destination, &payload);
        *self.sent.entry((node, kind.clone())).or_default() += 1;
        let interface = self.nodes[node.0].interface(ifindex).map_or_else(String::new, |i| i.name.clone());
        self.trace(format!(
            "{} {}/{interface} > {kind} from {source} to {destination}",
            self.now_ms(),
            self.name(node)
        ));
        let frame = Frame::Control { socket, source, destination, payload };
        if destination.is_multicast() {
            self.transmit(node, ifindex, &frame);
            return;
        }
        match self.unicast_path(node, destination) {
            Some((to, to_ifindex, hops)) => {
                let at = self.now + self.link_delay * hops;
                self.schedule(at, Event::Deliver { node: to, ifindex: to_ifindex, frame });
            }
            None => self.trace(format!("{} {} no route to {destination}", self.now_ms(), self.name(node))),
        }
    }

    /// Where a unicast packet from `from` to `destination` arrives: the owner, its interface and
    /// the number of links crossed; `None` without a route or past [`MAX_UNICAST_HOPS`].
    fn unicast_path(&self, from: NodeId, destination: IpAddr) -> Option<(NodeId, IfIndex, u32)> {
        let mut at = from;
        for hops in 1..=MAX_UNICAST_HOPS {
            let (segment, _) = self.segments.iter().enumerate().find(|(_, s)| contains(s, destination))?;
            let segment = SegmentId(segment);
            let next = match self.nodes[at.0].on_segment(segment) {
                Some(_) => {
                    let &(owner, ifindex) = self.segments[segment.0]
                        .ports
                        .iter()
                        .find(|(node, _)| self.nodes[node.0].owns(destination))?;
                    return Some((owner, ifindex, hops));
                }
                None => match &self.nodes[at.0].role {
                    Role::Router(r) => *r.routes.get(&segment)?,
                    Role::Host(_) => return None,
                },
            };
            at = next;
        }
        None
    }

    /// Puts `frame` on the segment of `node`'s `ifindex`, for every other node there.
    fn transmit(&mut self, node: NodeId, ifindex: IfIndex, frame: &Frame) {
        let Some(interface) = self.nodes[node.0].interface(ifindex) else { return };
        if !interface.up {
            return;
        }
        if let Frame::Data(packet) = frame {
            let key = (interface.segment, packet.source(), packet.group());
            *self.data_frames.entry(key).or_default() += 1;
        }
        let at = self.now + self.link_delay;
        let peers: Vec<(NodeId, IfIndex)> = self.segments[interface.segment.0]
            .ports
            .iter()
            .copied()
            .filter(|&(peer, _)| peer != node)
            .collect();
        for (peer, peer_ifindex) in peers {
            self.schedule(at, Event::Deliver { node: peer, ifindex: peer_ifindex, frame: frame.clone() });
        }
    }

    fn trace(&mut self, line: String) {
        self.digest.add(&line);
        if self.tail.len() == TRACE_TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    fn now_ms(&self) -> String {
        let since = self.now.since_origin();
        format!("{}.{:03}", since.as_secs(), since.subsec_millis())
    }

    fn is_router(&self, node: NodeId) -> bool {
        matches!(self.nodes[node.0].role, Role::Router(_))
    }

    fn router_node(&self, node: NodeId) -> &RouterNode {
        match &self.nodes[node.0].role {
            Role::Router(r) => r,
            Role::Host(_) => panic!("{} is not a router", self.nodes[node.0].name),
        }
    }

    fn router_node_mut(&mut self, node: NodeId) -> &mut RouterNode {
        let Node { name, role, .. } = &mut self.nodes[node.0];
        match role {
            Role::Router(r) => r,
            Role::Host(_) => panic!("{name} is not a router"),
        }
    }

    fn router_mut(&mut self, node: NodeId) -> &mut SimRouter {
        self.router_node_mut(node).router.as_mut().expect("the network has started")
    }

    fn host_mut(&mut self, node: NodeId) -> &mut Host {
        let Node { name, role, .. } = &mut self.nodes[node.0];
        match role {
            Role::Host(h) => h,
            Role::Router(_) => panic!("{name} is not a host"),
        }
    }
}

fn parse_config(name: &str, toml: &str) -> Config {
    match hato_config::load(&format!("{name}.toml"), toml) {
        Ok(config) => config,
        Err(errors) => panic!("configuration of {name}: {errors}"),
    }
}

fn link_info(interface: &Interface) -> LinkInfo {
    LinkInfo {
        ifindex: interface.ifindex,
        name: interface.name.clone(),
        up: interface.up,
        multicast: true,
        loopback: false,
        mtu: 1500,
    }
}

fn contains(segment: &Segment, addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => segment.v4.contains(&a),
        IpAddr::V6(a) => segment.v6.contains(&a),
    }
}

/// The installed entry `key` of `plane`, with interface names.
fn mfc_view<A: Afi>(
    plane: &SimPlane<A>,
    key: SgKey<A>,
    names: impl Fn(IfIndex) -> String,
) -> Option<MfcView> {
    let vif_name = |vif| match plane.vifs().find(|v| v.id == vif).map(|v| v.kind) {
        Some(VifKind::Interface(ifindex)) => names(ifindex),
        Some(VifKind::Register) => "register".to_string(),
        None => vif.to_string(),
    };
    let (entry, counters) = plane.installed().find(|(entry, _)| entry.key == key)?;
    Some(MfcView {
        iif: vif_name(entry.iif),
        oifs: entry.oifs.keys().map(|&vif| vif_name(vif)).collect(),
        packets: counters.packets,
        wrong_if: counters.wrong_if,
    })
}

/// The counter name of a control message, as the router names what it receives; Null-Registers
/// apart. Messages that do not decode are named `undecodable: <error>`.
fn control_kind(socket: SocketKind, source: IpAddr, destination: IpAddr, payload: &[u8]) -> String {
    let v6 = match (source, destination) {
        (IpAddr::V6(src), IpAddr::V6(dst)) => Some((src, dst)),
        _ => None,
    };
    let message = match (socket, v6) {
        (SocketKind::Igmp, _) => hato_wire::igmp::IgmpRepr::parse(payload).map(ControlMessage::Igmp),
        (SocketKind::Pim4, _) => {
            PimMessage::<V4>::parse(payload, ChecksumContext::Plain).map(ControlMessage::Pim4)
        }
        (SocketKind::Mld, Some((src, dst))) => {
            hato_wire::mld::MldRepr::parse(payload, &src, &dst).map(ControlMessage::Mld)
        }
        (SocketKind::Pim6, Some((src, dst))) => {
            PimMessage::<V6>::parse(payload, ChecksumContext::Ipv6 { src, dst }).map(ControlMessage::Pim6)
        }
        (SocketKind::Mld | SocketKind::Pim6, None) => Err(hato_wire::Error::BadAddressFamily),
    };
    match message {
        Ok(ControlMessage::Pim4(PimMessage::Register(r))) if r.null_register => "pim-null-register".into(),
        Ok(ControlMessage::Pim6(PimMessage::Register(r))) if r.null_register => "pim6-null-register".into(),
        Ok(message) => message.kind(),
        Err(error) => format!("undecodable: {}", error.as_str()),
    }
}
