//! Group membership on the real kernel, with real Linux hosts and against other queriers.
//!
//! (a) A host namespace on hatod's LAN, forced to IGMPv1, v2, v3 (`force_igmp_version`) or
//! MLDv1, v2 (`force_mld_version`), joins with ordinary sockets (`IP_ADD_MEMBERSHIP`,
//! `IPV6_JOIN_GROUP`, `MCAST_JOIN_SOURCE_GROUP`); `hatoctl show igmp|mld groups --json` shows the
//! group in the host's compatibility mode (RFC 3376 §7.3.2, RFC 3810 §8.3.2), and after the socket
//! closes the group goes after the last member queries (RFC 2236 §3, RFC 3376 §6.4.2, RFC 2710
//! §4, RFC 3810 §7.4.2), which a capture on the host's link shows, or for IGMPv1, which has no
//! leave, when its group timer runs out (RFC 3376 §7.3.2).
//! (b) A host in EXCLUDE {S1} (`MCAST_BLOCK_SOURCE` after an any-source join) is shown as EXCLUDE
//! with S1 blocked, and hatod, DR and RP for two senders behind it, forwards S2's traffic onto the
//! host's link but not S1's (RFC 7761 §4.1.6 `pim_exclude`), for IPv4 and IPv6.
//! (c) Querier election (RFC 3376 §6.6.2, RFC 3810 §7.6.2) between two hatod (IPv4 and IPv6) and
//! between hatod and FRR's pimd (IPv4), with hatod the lower and the higher address: the router
//! with the lower address queries, the other reports the querier and stops querying (seen in a
//! capture on the LAN), and when the querier stops the other takes over after the Other Querier
//! Present Interval.
//! (d) hatod configured for IGMPv2 / MLDv1 turns hosts that follow the querier to that version
//! (RFC 3376 §7.2.1, RFC 3810 §8.2.1), and their Leave / Done is answered as in (a).
//!
//! Timers are shortened so that everything runs in seconds. Requires root.

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hato_control::Request;
use hato_lab::harness::{in_node, require_root};
use hato_lab::matrix::Scenario;
use hato_lab::poll::{kernel_mroutes, poll_until, Probe};
use hato_lab::router::frr;
use hato_lab::router::StaticRp;
use hato_lab::topology::Prefix;
use hato_lab::traffic::{self, SendOptions};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags};
use nix::sys::time::TimeSpec;
use serde_json::Value;
use socket2::{Domain, Protocol, Socket, Type};

const DEADLINE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(20);
const PORT: u16 = 5002;

/// hatod's IGMP / MLD timers in every lab: Query Interval 2 s, Query Response Interval 1 s,
/// Robustness 2, Last Member Query Interval 200 ms, Last Member Query Count 2.
const GMP_TIMERS: &str = "[gmp]\nquery-interval = 2\nquery-response-interval-ms = 1000\nrobustness = 2\n\
                          last-member-query-interval-ms = 200\nlast-member-query-count = 2\n";
/// Group Membership Interval: RV × QI + QRI (RFC 3376 §8.4).
const GMI: Duration = Duration::from_millis(5000);
/// Last Member Query Count (RFC 3376 §8.9).
const LMQC: usize = 2;
/// Last Member Query Time: LMQC × LMQI (RFC 3376 §8.10).
const LMQT: Duration = Duration::from_millis(400);
/// Other Querier Present Interval: RV × QI + QRI / 2 (RFC 3376 §8.5).
const OQPI: Duration = Duration::from_millis(4500);
/// What a timing may exceed its protocol value by: control-socket polls, scheduling on a loaded
/// machine, the host's report retransmission.
const SLACK: Duration = Duration::from_millis(1000);

fn options() -> LabOptions {
    LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() }
}

fn hatoctl_json(lab: &Lab, node: &str, request: &Request) -> Value {
    let socket = lab.router(node).and_then(|r| r.control_socket.clone()).unwrap();
    let outcome = hatoctl::control::execute(&socket, request, true);
    assert_eq!(outcome.code, 0, "{node}: {request:?}: {}", outcome.stdout);
    serde_json::from_str(&outcome.stdout).unwrap_or(Value::Null)
}

fn groups_request(v6: bool) -> Request {
    if v6 {
        Request::ShowMldGroups
    } else {
        Request::ShowIgmpGroups
    }
}

/// The interface `iface` of a `show igmp|mld groups --json` answer.
fn interface_view<'a>(json: &'a Value, iface: &str) -> Option<&'a Value> {
    json["interfaces"].as_array()?.iter().find(|i| i["interface"] == iface)
}

/// The group `group` on `iface` of a `show igmp|mld groups --json` answer.
fn group_view(json: &Value, iface: &str, group: IpAddr) -> Option<Value> {
    let groups = interface_view(json, iface)?["groups"].as_array()?;
    groups.iter().find(|g| g["group"] == group.to_string()).cloned()
}

/// Polls `show igmp|mld groups --json` on `node` until `predicate` holds.
fn wait_groups(lab: &Lab, node: &str, v6: bool, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
    poll_until(&format!("{node}: {what}"), DEADLINE, POLL, || {
        let json = hatoctl_json(lab, node, &groups_request(v6));
        if predicate(&json) {
            Probe::Done(json)
        } else {
            Probe::Pending(json.to_string())
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()))
}

fn ifindex_in_node(lab: &Lab, node: &str, iface: &'static str) -> u32 {
    in_node(lab, node, move || nix::net::if_::if_nametoindex(iface).unwrap()).join().unwrap()
}

/// A UDP socket of a host, opened inside the host's namespace and bound to [`PORT`]; its
/// memberships are the host's (RFC 3376 §3, RFC 3810 §4): closing it leaves.
struct HostSocket {
    socket: Socket,
    ifindex: u32,
}

impl HostSocket {
    fn open(lab: &Lab, node: &str, v6: bool) -> Self {
        let ifindex = ifindex_in_node(lab, node, "eth0");
        let socket = in_node(lab, node, move || {
            let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
            let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).unwrap();
            socket.set_reuse_address(true).unwrap();
            let any: IpAddr = if v6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
            socket.bind(&SocketAddr::new(any, PORT).into()).unwrap();
            socket.set_nonblocking(true).unwrap();
            socket
        })
        .join()
        .unwrap();
        HostSocket { socket, ifindex }
    }

    /// Any-source join: `IP_ADD_MEMBERSHIP` (ip_mreqn) / `IPV6_JOIN_GROUP`.
    fn join(&self, group: IpAddr) {
        match group {
            IpAddr::V4(g) => self
                .socket
                .join_multicast_v4_n(&g, &socket2::InterfaceIndexOrAddress::Index(self.ifindex))
                .unwrap(),
            IpAddr::V6(g) => self.socket.join_multicast_v6(&g, self.ifindex).unwrap(),
        }
    }

    /// Source-specific join: `MCAST_JOIN_SOURCE_GROUP` (INCLUDE {source}).
    fn join_source(&self, group: IpAddr, source: IpAddr) {
        hato_kernel::socket::join_source_group(self.socket.as_fd(), self.ifindex, group, source).unwrap();
    }

    /// `MCAST_BLOCK_SOURCE` after an any-source join (EXCLUDE {source}).
    fn block(&self, group: IpAddr, source: IpAddr) {
        hato_kernel::socket::block_source(self.socket.as_fd(), self.ifindex, group, source).unwrap();
    }

    /// The sources of the datagrams waiting on the socket.
    fn drain_sources(&self) -> Vec<IpAddr> {
        let mut sources = Vec::new();
        let mut buffer = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while let Ok((_, from)) = self.socket.recv_from(&mut buffer) {
            if let Some(from) = from.as_socket() {
                sources.push(from.ip());
            }
            if sources.len() > 100_000 {
                break;
            }
        }
        sources
    }
}

/// What a captured packet is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An IGMP or MLD query; `group` is unspecified for a general query.
    Query {
        group: IpAddr,
        sources: u16,
    },
    /// An IGMP or MLD report, leave or done.
    Membership,
    Udp {
        port: u16,
    },
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Captured {
    at: Instant,
    source: IpAddr,
    kind: Kind,
}

impl Captured {
    fn is_general_query(&self) -> bool {
        matches!(self.kind, Kind::Query { group, .. } if group.is_unspecified())
    }
}

fn octets<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn udp_kind(payload: &[u8]) -> Option<Kind> {
    Some(Kind::Udp { port: u16::from_be_bytes(octets(payload, 2)?) })
}

/// Classifies an IP packet (IPv4 or IPv6, as an `AF_PACKET` datagram socket delivers it).
fn classify(packet: &[u8]) -> Option<(IpAddr, Kind)> {
    match packet.first()? >> 4 {
        4 => {
            let header_len = usize::from(packet[0] & 0x0f) * 4;
            let source = Ipv4Addr::from(octets::<4>(packet, 12)?);
            let payload = packet.get(header_len..)?;
            let kind = match packet.get(9)? {
                2 => match payload.first()? {
                    0x11 => Kind::Query {
                        group: Ipv4Addr::from(octets::<4>(payload, 4)?).into(),
                        sources: octets(payload, 10).map_or(0, u16::from_be_bytes),
                    },
                    0x12 | 0x16 | 0x17 | 0x22 => Kind::Membership,
                    _ => Kind::Other,
                },
                17 => udp_kind(payload)?,
                _ => Kind::Other,
            };
            Some((source.into(), kind))
        }
        6 => {
            let source = Ipv6Addr::from(octets::<16>(packet, 8)?);
            let mut next = *packet.get(6)?;
            let mut offset = 40;
            if next == 0 {
                // Hop-by-Hop Options (MLD's Router Alert): next header, length in 8-octet units.
                next = *packet.get(offset)?;
                offset += (usize::from(*packet.get(offset + 1)?) + 1) * 8;
            }
            let payload = packet.get(offset..)?;
            let kind = match next {
                58 => match payload.first()? {
                    130 => Kind::Query {
                        group: Ipv6Addr::from(octets::<16>(payload, 8)?).into(),
                        sources: octets(payload, 26).map_or(0, u16::from_be_bytes),
                    },
                    131 | 132 | 143 => Kind::Membership,
                    _ => Kind::Other,
                },
                17 => udp_kind(payload)?,
                _ => Kind::Other,
            };
            Some((source.into(), kind))
        }
        _ => None,
    }
}

/// Every IP packet a node sends or receives, from an `AF_PACKET` socket in its namespace, with the
/// time it was seen; stops when dropped (and after two minutes at most).
struct Capture {
    packets: Arc<Mutex<Vec<Captured>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Capture {
    fn start(lab: &Lab, node: &str) -> Self {
        const ETH_P_ALL: u16 = 0x0003;
        let packets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (list, flag) = (packets.clone(), stop.clone());
        let thread = in_node(lab, node, move || {
            let protocol = Protocol::from(i32::from(ETH_P_ALL.to_be()));
            let socket = Socket::new(Domain::PACKET, Type::DGRAM, Some(protocol)).unwrap();
            socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            setsockopt(&socket, sockopt::ReceiveTimestampns, &true).unwrap();
            ready_tx.send(()).unwrap();
            let mut buffer = vec![0u8; 65536];
            let mut control = nix::cmsg_space!(TimeSpec);
            let deadline = Instant::now() + Duration::from_secs(120);
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let mut iov = [IoSliceMut::new(&mut buffer)];
                let received =
                    recvmsg::<()>(socket.as_raw_fd(), &mut iov, Some(&mut control), MsgFlags::empty());
                let Ok(message) = received else { continue };
                let len = message.bytes;
                let stamp = message.cmsgs().ok().and_then(|mut cmsgs| {
                    cmsgs.find_map(|c| match c {
                        ControlMessageOwned::ScmTimestampns(stamp) => Some(stamp),
                        _ => None,
                    })
                });
                if let Some((source, kind)) = classify(&buffer[..len]) {
                    list.lock().unwrap().push(Captured { at: arrival(stamp), source, kind });
                }
            }
        });
        ready_rx.recv_timeout(DEADLINE).expect("capture socket");
        Capture { packets, stop, thread: Some(thread) }
    }

    fn packets(&self) -> Vec<Captured> {
        self.packets.lock().unwrap().clone()
    }
}

/// The moment the kernel timestamped a packet (`SO_TIMESTAMPNS`, wall clock) as an [`Instant`],
/// so that the capture thread's scheduling delays do not shift the times compared.
fn arrival(stamp: Option<TimeSpec>) -> Instant {
    let now = Instant::now();
    let Some(stamp) = stamp else { return now };
    let secs = u64::try_from(stamp.tv_sec()).unwrap_or(0);
    let nanos = u32::try_from(stamp.tv_nsec()).unwrap_or(0);
    let kernel = UNIX_EPOCH + Duration::new(secs, nanos);
    match SystemTime::now().duration_since(kernel) {
        Ok(age) => now.checked_sub(age).unwrap_or(now),
        Err(_) => now,
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn sysctl(lab: &Lab, node: &str, setting: &str) {
    lab.exec(node, &["sysctl", "-q", "-w", setting]).unwrap();
}

// ---------------------------------------------------------------------------------------------
// (a) and (b): membership from real hosts.

/// `s1`, `s2` and hatod `r1` on a source LAN, the host `h` on r1's other link; r1 is the RP for
/// every ASM group of both families. `gmp` is added to hatod's `[gmp]` table.
fn membership_lab(gmp: &str) -> Lab {
    require_root();
    let mut topology = Topology::new();
    topology.router("r1").unwrap();
    topology.host("s1").unwrap();
    topology.host("s2").unwrap();
    topology.host("h").unwrap();
    topology.lan("src", &["r1", "s1", "s2"], 1).unwrap();
    topology.link("r1", "h", 1).unwrap();
    let mut lab = Lab::start_with(topology, options()).unwrap();
    let rp4 = lab.addr("r1", "src", false).unwrap();
    let rp6 = lab.addr("r1", "src", true).unwrap();
    let config = RouterConfig {
        static_rps: vec![
            StaticRp { rp: rp4, groups: Prefix { addr: "224.0.0.0".parse().unwrap(), len: 4 } },
            StaticRp { rp: rp6, groups: Prefix { addr: "ff00::".parse().unwrap(), len: 8 } },
        ],
        extra: format!("{GMP_TIMERS}{gmp}"),
        ..RouterConfig::default()
    };
    lab.start_router("r1", RouterKind::Hatod, &config).unwrap();
    lab
}

/// How a group is expected to leave once the host's socket closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leave {
    /// A leave / done / state change, then the last member queries (IGMPv2/v3, MLDv1/v2).
    LastMemberQueries,
    /// No leave message: the group timer runs out (IGMPv1).
    GroupTimer,
}

/// One host version and one kind of join.
struct Case {
    /// `force_igmp_version` / `force_mld_version`; 0 lets the host follow the querier's version.
    force: u8,
    group: IpAddr,
    /// A source-specific join (INCLUDE {source}) instead of an any-source one.
    source: Option<IpAddr>,
    compatibility: &'static str,
    leave: Leave,
}

/// The host's link as r1 names it.
const R1_TO_HOST: &str = "eth1";

/// Joins as `case` says and checks hatod's view; returns the socket (still joined) and the view.
fn join_case(lab: &Lab, case: &Case) -> (HostSocket, Value) {
    let v6 = case.group.is_ipv6();
    let setting = if v6 {
        format!("net.ipv6.conf.eth0.force_mld_version={}", case.force)
    } else {
        format!("net.ipv4.conf.eth0.force_igmp_version={}", case.force)
    };
    sysctl(lab, "h", &setting);
    let socket = HostSocket::open(lab, "h", v6);
    match case.source {
        Some(source) => socket.join_source(case.group, source),
        None => socket.join(case.group),
    }
    let (mode, sources) = match case.source {
        Some(source) => ("include", vec![source.to_string()]),
        None => ("exclude", Vec::new()),
    };
    let what = format!("{} joined in {} ({mode} {sources:?})", case.group, case.compatibility);
    let json = wait_groups(lab, "r1", v6, &what, |json| {
        group_view(json, R1_TO_HOST, case.group).is_some_and(|g| {
            let listed: Vec<&str> = g["sources"].as_array().map_or(Vec::new(), |s| {
                s.iter().filter(|s| s["forwarded"] == true).filter_map(|s| s["source"].as_str()).collect()
            });
            g["compatibility"] == case.compatibility && g["mode"] == mode && listed == sources
        })
    });
    (socket, group_view(&json, R1_TO_HOST, case.group).unwrap())
}

/// Closes the socket and checks how and when the group goes; returns the time it took and the
/// number of group-specific queries r1 sent meanwhile.
fn leave_case(lab: &Lab, capture: &Capture, case: &Case, socket: HostSocket) -> (Duration, usize) {
    let v6 = case.group.is_ipv6();
    let r1 = if v6 {
        // MLD queries come from r1's link-local address.
        let json = hatoctl_json(lab, "r1", &groups_request(true));
        interface_view(&json, R1_TO_HOST).unwrap()["address"].as_str().unwrap().parse::<IpAddr>().unwrap()
    } else {
        lab.addr("r1", "r1-h", false).unwrap()
    };
    let sampled = Instant::now();
    let before = group_view(&hatoctl_json(lab, "r1", &groups_request(v6)), R1_TO_HOST, case.group)
        .unwrap_or_else(|| panic!("{} vanished before the socket closed", case.group));
    let closed = Instant::now();
    drop(socket);
    let what = format!("{} ({}) gone", case.group, case.compatibility);
    let gone_json =
        wait_groups(lab, "r1", v6, &what, |json| group_view(json, R1_TO_HOST, case.group).is_none());
    let gone = Instant::now();
    let took = gone - closed;
    let specific_queries = capture
        .packets()
        .iter()
        .filter(|p| p.at >= closed && p.at <= gone && p.source == r1)
        .filter(|p| matches!(p.kind, Kind::Query { group, .. } if group == case.group))
        .count();
    match case.leave {
        Leave::LastMemberQueries => {
            assert!(
                took >= LMQT.saturating_sub(Duration::from_millis(100)) && took <= LMQT + SLACK,
                "{}: gone {took:?} after the leave; expected the last member query time {LMQT:?} \
                 (the group membership interval is {GMI:?})\n{gone_json}",
                case.group
            );
            // RFC 2236 §3, RFC 2710 §4: a leave / done is answered by [Last Member Query
            // Count] group-specific queries. IGMPv3 and MLDv2 hosts repeat their state change
            // reports, which may add queries (RFC 3376 §6.6.3).
            if matches!(case.compatibility, "IGMPv2" | "MLDv1") {
                assert_eq!(specific_queries, LMQC, "{}: group-specific queries after the leave", case.group);
            }
            assert!(
                specific_queries >= 1,
                "{}: no group-specific query from r1 ({r1}) while it left\n{:#?}",
                case.group,
                capture.packets().iter().filter(|p| p.at >= closed).collect::<Vec<_>>()
            );
        }
        Leave::GroupTimer => {
            let remaining =
                Duration::from_millis(before["expires_ms"].as_u64().expect("a running group timer"));
            assert!(remaining <= GMI, "{}: group timer {remaining:?} above the GMI {GMI:?}", case.group);
            assert!(
                remaining > LMQT + SLACK,
                "{}: the group timer ({remaining:?}) must outlast a leave's query time to tell them apart",
                case.group
            );
            let earliest = sampled + remaining - Duration::from_millis(300);
            assert!(
                gone >= earliest && took <= remaining + SLACK,
                "{}: gone {took:?} after the close; its group timer had {remaining:?} left",
                case.group
            );
            assert_eq!(specific_queries, 0, "{}: IGMPv1 hosts cannot leave, yet r1 queried", case.group);
        }
    }
    (took, specific_queries)
}

/// Sends from s1 and s2 to `group` at once and counts what reaches the host's link (a capture)
/// and the host's socket.
fn send_from_both(lab: &Lab, capture: &Capture, socket: &HostSocket, group: IpAddr) -> [(usize, usize); 2] {
    const COUNT: u32 = 50;
    let started = Instant::now();
    let senders: Vec<JoinHandle<_>> = ["s1", "s2"]
        .into_iter()
        .enumerate()
        .map(|(i, node)| {
            let options = SendOptions {
                ttl: 8,
                size: 64,
                ..SendOptions::stream(group, PORT, None, COUNT, 7 + i as u64)
            };
            in_node(lab, node, move || traffic::send(&options))
        })
        .collect();
    for sender in senders {
        let report = sender.join().unwrap().unwrap();
        assert_eq!(report.sent, COUNT, "{report:?}");
    }
    let sources =
        [lab.addr("s1", "src", group.is_ipv6()).unwrap(), lab.addr("s2", "src", group.is_ipv6()).unwrap()];
    // Wait until S2's datagrams stop arriving (the last one crossed r1).
    let on_link = |source: IpAddr| {
        capture
            .packets()
            .iter()
            .filter(|p| p.at >= started && p.source == source && p.kind == Kind::Udp { port: PORT })
            .count()
    };
    let _ = poll_until("S2's datagrams on the host's link", Duration::from_secs(5), POLL, || {
        let seen = on_link(sources[1]);
        if seen >= COUNT as usize {
            Probe::Done(seen)
        } else {
            Probe::Pending(format!("{seen} of {COUNT}"))
        }
    });
    let received = socket.drain_sources();
    sources.map(|source| (on_link(source), received.iter().filter(|s| **s == source).count()))
}

fn membership(v6: bool) {
    let lab = membership_lab("");
    let capture = Capture::start(&lab, "h");
    let g = |text: &str| text.parse::<IpAddr>().unwrap();
    let s1 = lab.addr("s1", "src", v6).unwrap();
    let cases = if v6 {
        vec![
            Case {
                force: 1,
                group: g("ff0e::1:1"),
                source: None,
                compatibility: "MLDv1",
                leave: Leave::LastMemberQueries,
            },
            Case {
                force: 2,
                group: g("ff0e::1:2"),
                source: None,
                compatibility: "MLDv2",
                leave: Leave::LastMemberQueries,
            },
            Case {
                force: 2,
                group: g("ff3e::1:3"),
                source: Some(s1),
                compatibility: "MLDv2",
                leave: Leave::LastMemberQueries,
            },
        ]
    } else {
        vec![
            Case {
                force: 1,
                group: g("239.1.1.1"),
                source: None,
                compatibility: "IGMPv1",
                leave: Leave::GroupTimer,
            },
            Case {
                force: 2,
                group: g("239.1.1.2"),
                source: None,
                compatibility: "IGMPv2",
                leave: Leave::LastMemberQueries,
            },
            Case {
                force: 3,
                group: g("239.1.1.3"),
                source: None,
                compatibility: "IGMPv3",
                leave: Leave::LastMemberQueries,
            },
            Case {
                force: 3,
                group: g("232.1.1.3"),
                source: Some(s1),
                compatibility: "IGMPv3",
                leave: Leave::LastMemberQueries,
            },
        ]
    };
    for case in &cases {
        let (socket, view) = join_case(&lab, case);
        let (took, queries) = leave_case(&lab, &capture, case, socket);
        eprintln!(
            "{} {}: joined as {view}; gone {took:?} after the socket closed, \
             {queries} specific queries",
            case.compatibility, case.group
        );
    }

    // (b) EXCLUDE {S1} in the newest version.
    let newest = if v6 { "MLDv2" } else { "IGMPv3" };
    let case = Case {
        force: if v6 { 2 } else { 3 },
        group: g(if v6 { "ff0e::1:4" } else { "239.1.1.4" }),
        source: None,
        compatibility: newest,
        leave: Leave::LastMemberQueries,
    };
    let (socket, _) = join_case(&lab, &case);
    socket.block(case.group, s1);
    let json = wait_groups(&lab, "r1", v6, &format!("{} EXCLUDE with {s1} blocked", case.group), |json| {
        group_view(json, R1_TO_HOST, case.group).is_some_and(|g| {
            g["mode"] == "exclude"
                && g["sources"].as_array().is_some_and(|s| {
                    s.len() == 1 && s[0]["source"] == s1.to_string() && s[0]["forwarded"] == false
                })
        })
    });
    eprintln!("EXCLUDE: {}", group_view(&json, R1_TO_HOST, case.group).unwrap());
    let [(s1_link, s1_socket), (s2_link, s2_socket)] = send_from_both(&lab, &capture, &socket, case.group);
    eprintln!(
        "EXCLUDE {newest}: S1 {s1_link} on the link / {s1_socket} received, S2 {s2_link} / {s2_socket}"
    );
    let mroutes = kernel_mroutes(&lab, "r1", v6).unwrap();
    assert_eq!((s1_link, s1_socket), (0, 0), "S1's traffic reached the host's link\n{mroutes:#?}");
    assert!(
        s2_link >= 40 && s2_socket == s2_link,
        "S2: {s2_link} on the link, {s2_socket} received\n{mroutes:#?}"
    );
    let s2 = lab.addr("s2", "src", v6).unwrap();
    let entry = |source: IpAddr| mroutes.iter().find(|r| r.source == Some(source) && r.group == case.group);
    assert!(entry(s1).is_some_and(|r| r.oifs.is_empty()), "{mroutes:#?}");
    assert!(entry(s2).is_some_and(|r| r.oifs == [R1_TO_HOST]), "{mroutes:#?}");
    leave_case(&lab, &capture, &case, socket);
}

#[test]
fn igmp_membership_follows_linux_hosts() {
    let _scenario = Scenario::new("IGMPv1/v2/v3 membership and EXCLUDE forwarding", &["linux host", "hatod"]);
    membership(false);
}

#[test]
fn mld_membership_follows_linux_hosts() {
    let _scenario = Scenario::new("MLDv1/v2 membership and EXCLUDE forwarding", &["linux host", "hatod"]);
    membership(true);
}

// ---------------------------------------------------------------------------------------------
// (c) querier election.

/// Routers `ra` (lower addresses) and `rb` with the host `h` on a LAN, and a link between the
/// routers (hatod wants two interfaces). The routers' link-local addresses on the LAN are fixed
/// (fe80::1, fe80::2) so that the MLD election's order is known.
fn election_lab(kinds: [RouterKind; 2]) -> Lab {
    require_root();
    let mut topology = Topology::new();
    topology.router("ra").unwrap();
    topology.router("rb").unwrap();
    topology.host("h").unwrap();
    topology.lan("lan", &["ra", "rb", "h"], 1).unwrap();
    topology.link("ra", "rb", 1).unwrap();
    let mut lab = Lab::start_with(topology, options()).unwrap();
    for (node, link_local) in [("ra", "fe80::1/64"), ("rb", "fe80::2/64")] {
        lab.exec(node, &["ip", "-6", "addr", "flush", "dev", "eth0", "scope", "link"]).unwrap();
        lab.exec(node, &["ip", "-6", "addr", "add", link_local, "dev", "eth0", "nodad"]).unwrap();
    }
    for (node, kind) in ["ra", "rb"].into_iter().zip(kinds) {
        let extra = match kind {
            RouterKind::Hatod => GMP_TIMERS.to_string(),
            // FRR checks the query interval against the response time (in deciseconds) in force.
            _ => "interface eth0\n ip igmp query-max-response-time 10\n ip igmp query-interval 2\n!\n".into(),
        };
        lab.start_router(node, kind, &RouterConfig { extra, ..RouterConfig::default() }).unwrap();
    }
    lab
}

/// Who a router on the LAN says the querier is: (this router queries, the querier's address).
fn querier_state(lab: &Lab, node: &str, v6: bool) -> Option<(bool, IpAddr)> {
    match lab.router(node)?.kind {
        RouterKind::Hatod => {
            let json = hatoctl_json(lab, node, &groups_request(v6));
            let view = interface_view(&json, "eth0")?;
            Some((view["is_querier"].as_bool()?, view["querier"].as_str()?.parse().ok()?))
        }
        _ => {
            let json = frr::vtysh_json(lab, node, "show ip igmp interface json").ok()?;
            let view = json.get("eth0")?;
            // FRR 8.4 sets `"querier": true` only while it queries itself.
            let local = view["querier"] == true;
            Some((local, view["querierIp"].as_str()?.parse().ok()?))
        }
    }
}

fn lan_address(lab: &Lab, node: &str, v6: bool) -> IpAddr {
    if v6 {
        match node {
            "ra" => "fe80::1".parse().unwrap(),
            _ => "fe80::2".parse().unwrap(),
        }
    } else {
        lab.addr(node, "lan", false).unwrap()
    }
}

/// Waits until `winner` queries and `loser` names it as the querier.
fn wait_elected(lab: &Lab, winner: &str, loser: &str, v6: bool) {
    let expected = lan_address(lab, winner, v6);
    let what = format!("{winner} ({expected}) elected querier over {loser}");
    poll_until(&what, DEADLINE, POLL, || {
        let states = (querier_state(lab, winner, v6), querier_state(lab, loser, v6));
        match states {
            (Some((true, w)), Some((false, l))) if w == expected && l == expected => Probe::Done(()),
            other => Probe::Pending(format!("{winner}, {loser}: {other:?}")),
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
}

/// The general queries from `source` in the capture.
fn general_queries(capture: &Capture, source: IpAddr) -> Vec<Instant> {
    capture.packets().iter().filter(|p| p.source == source && p.is_general_query()).map(|p| p.at).collect()
}

/// After the election: for two query intervals only the winner's general queries reach the LAN.
/// The loser's are looked for after the winner's second query since the election was seen, in
/// capture order, so that a query the loser sent before it heard the winner cannot count.
fn only_winner_queries(lab: &Lab, capture: &Capture, winner: &str, loser: &str, v6: bool) {
    let (w, l) = (lan_address(lab, winner, v6), lan_address(lab, loser, v6));
    let since = Instant::now();
    let from_winner = |p: &Captured| p.source == w && p.is_general_query() && p.at > since;
    let packets = poll_until("three general queries from the querier", DEADLINE, POLL, || {
        let packets = capture.packets();
        let count = packets.iter().filter(|p| from_winner(p)).count();
        if count >= 3 {
            Probe::Done(packets)
        } else {
            Probe::Pending(format!("{count} from {w}"))
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
    let second = packets.iter().enumerate().filter(|(_, p)| from_winner(p)).nth(1).map(|(i, _)| i).unwrap();
    let from_loser = packets[second..].iter().filter(|p| p.source == l && p.is_general_query()).count();
    assert_eq!(from_loser, 0, "{loser} ({l}) still sends general queries after losing the election");
    assert_eq!(querier_state(lab, loser, v6).map(|s| s.0), Some(false), "{loser} claims to be the querier");
    // hatod shows the Other Querier Present timer while it listens, and none while it queries.
    for (node, listening) in [(winner, false), (loser, true)] {
        if lab.router(node).unwrap().kind != RouterKind::Hatod {
            continue;
        }
        let json = hatoctl_json(lab, node, &groups_request(v6));
        let timer = interface_view(&json, "eth0").unwrap()["other_querier_expires_ms"].as_u64();
        let plausible = timer.is_some_and(|ms| ms > 0 && Duration::from_millis(ms) <= OQPI);
        assert_eq!(plausible, listening, "{node}: other querier present timer {timer:?}\n{json}");
    }
}

/// Stops the router process on `node` that runs IGMP (hatod, or FRR's pimd), by PID.
fn stop_router(lab: &Lab, node: &str) {
    let name = match lab.router(node).unwrap().kind {
        RouterKind::Hatod => "hatod",
        _ => "pimd",
    };
    let process = lab.processes().iter().find(|p| p.node == node && p.name == name).unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(process.pid).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
}

/// With the querier gone, `loser` starts querying one Other Querier Present Interval after the
/// last query it heard. Returns that gap.
fn takes_over(
    lab: &Lab,
    capture: &Capture,
    winner: &str,
    loser: &str,
    v6: bool,
    stopped: Instant,
) -> Duration {
    let (w, l) = (lan_address(lab, winner, v6), lan_address(lab, loser, v6));
    let first =
        poll_until(&format!("{loser} ({l}) queries"), OQPI + DEADLINE, POLL, || {
            match general_queries(capture, l).into_iter().find(|t| *t > stopped) {
                Some(first) => Probe::Done(first),
                None => Probe::Pending(format!("{:?}", querier_state(lab, loser, v6))),
            }
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
    let last_heard = capture
        .packets()
        .iter()
        .filter(|p| p.source == w && matches!(p.kind, Kind::Query { .. }) && p.at <= stopped)
        .map(|p| p.at)
        .max()
        .expect("the querier's queries");
    let gap = first - last_heard;
    assert!(
        gap >= OQPI - Duration::from_millis(300) && gap <= OQPI + SLACK,
        "{loser} took over {gap:?} after the last query from {winner}; the Other Querier Present Interval is {OQPI:?}"
    );
    let state =
        poll_until(&format!("{loser} shows itself as querier"), DEADLINE, POLL, || {
            match querier_state(lab, loser, v6) {
                Some((true, q)) if q == l => Probe::Done(()),
                other => Probe::Pending(format!("{other:?}")),
            }
        });
    state.unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
    gap
}

#[test]
fn querier_election_between_hatods() {
    let _v4 = Scenario::new("IGMP querier election, hatod lower and higher", &["hatod", "hatod"]);
    let _v6 = Scenario::new("MLD querier election, hatod lower and higher", &["hatod", "hatod"]);
    let lab = election_lab([RouterKind::Hatod, RouterKind::Hatod]);
    let capture = Capture::start(&lab, "h");
    for v6 in [false, true] {
        wait_elected(&lab, "ra", "rb", v6);
    }
    for v6 in [false, true] {
        only_winner_queries(&lab, &capture, "ra", "rb", v6);
    }
    let stopped = Instant::now();
    stop_router(&lab, "ra");
    for v6 in [false, true] {
        let gap = takes_over(&lab, &capture, "ra", "rb", v6, stopped);
        eprintln!("{}: rb took over {gap:?} after ra's last query", if v6 { "MLD" } else { "IGMP" });
    }
}

/// hatod and FRR on one LAN: `hatod_lower` puts hatod on the lower address.
fn election_with_frr(hatod_lower: bool) {
    let kinds =
        if hatod_lower { [RouterKind::Hatod, RouterKind::Frr] } else { [RouterKind::Frr, RouterKind::Hatod] };
    let lab = election_lab(kinds);
    let capture = Capture::start(&lab, "h");
    wait_elected(&lab, "ra", "rb", false);
    let frr_node = if hatod_lower { "rb" } else { "ra" };
    let running = frr::vtysh(&lab, frr_node, "show running-config").unwrap();
    for line in [" ip igmp query-max-response-time 10", " ip igmp query-interval 2"] {
        assert!(running.contains(line), "FRR did not take `{line}`\n{running}");
    }
    only_winner_queries(&lab, &capture, "ra", "rb", false);
    let stopped = Instant::now();
    stop_router(&lab, "ra");
    let gap = takes_over(&lab, &capture, "ra", "rb", false, stopped);
    eprintln!("{:?} took over {gap:?} after the last query of {:?}", kinds[1], kinds[0]);
}

#[test]
fn igmp_querier_election_hatod_lower_than_frr() {
    let _scenario = Scenario::new("IGMP querier election, hatod lower", &["hatod", "frr"]);
    election_with_frr(true);
}

#[test]
fn igmp_querier_election_hatod_higher_than_frr() {
    let _scenario = Scenario::new("IGMP querier election, hatod higher", &["frr", "hatod"]);
    election_with_frr(false);
}

/// hatod querying with IGMPv2 / MLDv1 turns hosts that are free to choose (no forced version) to
/// that version (RFC 3376 §7.2.1, RFC 3810 §8.2.1): Linux accepts hatod's older queries, reports
/// in the older version and leaves with a Leave / Done.
#[test]
fn older_querier_versions_turn_linux_hosts_back() {
    let _scenario = Scenario::new("IGMPv2 / MLDv1 querier, Linux host follows", &["linux host", "hatod"]);
    let lab = membership_lab("igmp-version = 2\nmld-version = 1\n");
    let capture = Capture::start(&lab, "h");
    poll_until("the host saw an IGMPv2 querier", DEADLINE, POLL, || {
        let igmp = lab.exec("h", &["cat", "/proc/net/igmp"]).unwrap_or_default();
        match igmp.lines().find(|l| l.contains("eth0")) {
            Some(line) if line.split_whitespace().any(|w| w == "V2") => Probe::Done(()),
            _ => Probe::Pending(igmp),
        }
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.report()));
    for (group, compatibility) in [("239.2.2.2", "IGMPv2"), ("ff0e::2:2", "MLDv1")] {
        let case = Case {
            force: 0,
            group: group.parse().unwrap(),
            source: None,
            compatibility,
            leave: Leave::LastMemberQueries,
        };
        let (socket, _) = join_case(&lab, &case);
        let (took, queries) = leave_case(&lab, &capture, &case, socket);
        eprintln!(
            "{compatibility} querier: {group} gone {took:?} after the close, {queries} specific queries"
        );
    }
}
