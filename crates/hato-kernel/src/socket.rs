//! Raw protocol sockets for IGMP (sending), PIM over IPv4 and IPv6 (IP protocol 103) and MLD (raw
//! ICMPv6): non-blocking, per-interface group membership, and per-packet interface, source and
//! Router Alert chosen through ancillary data.
//!
//! What the RFCs ask of the IP layer, and how it is met:
//! - IGMPv2/v3 messages carry TTL 1 and the IPv4 Router Alert option (RFC 2236 §2, RFC 3376 §4,
//!   RFC 2113): `IP_MULTICAST_TTL` 1 and an `IP_RETOPTS` control message on every send (Linux
//!   accepts per-packet IP options that way, `ip_cmsg_send`).
//! - MLD messages carry hop limit 1, a link-local source and a Hop-by-Hop Router Alert with value 0
//!   (RFC 2710 §3, RFC 3810 §5, RFC 2711): `IPV6_MULTICAST_HOPS` 1 and an `IPV6_HOPOPTS` control
//!   message on every send.
//! - PIM link-local messages go to ALL-PIM-ROUTERS with TTL / hop limit 1 (RFC 7761 §4.9); PIM over
//!   IPv6 computes its checksum over a pseudo-header (RFC 7761 §4.9), so the caller's codec fills it
//!   and should pass the source it used; the kernel is not asked to (`IPV6_CHECKSUM` would also
//!   cover a Register's data, which the checksum must not).
//!
//! Receiving: IPv4 raw sockets deliver the IP header, from which TTL and the Router Alert option
//! are read; the arriving interface and header destination come from `IP_PKTINFO`. IPv6 raw sockets
//! deliver only the payload; interface and destination come from `IPV6_PKTINFO`, the hop limit from
//! `IPV6_HOPLIMIT`, and the Router Alert from the Hop-by-Hop options control message when the
//! socket has `IPV6_RECVHOPOPTS` set (neither socket2 nor nix wraps that option, so it belongs to
//! the kernel ABI module; until then IPv6 reports the Router Alert as unknown).
//!
//! The MLD socket only sees ICMPv6 types 130, 131, 132 and 143 (RFC 2710 §3, RFC 3810 §5): a
//! classic BPF program on the socket drops the rest in the kernel, which does what the
//! `ICMP6_FILTER` option would without an unsafe `setsockopt`.
//!
//! Multicast loopback is off everywhere: a router must not hear its own Hellos and Queries.

use std::io::{self, IoSlice, IoSliceMut};
use std::marker::PhantomData;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::ops::Range;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use hato_core::{AddressFamily, Afi, IfIndex, V4, V6};
use nix::sys::socket::{recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage};
use socket2::{
    Domain, InterfaceIndexOrAddress, MsgHdr, Protocol as RawProtocol, SockAddr, SockFilter, Socket, Type,
};

/// IP protocol numbers (IANA).
const IPPROTO_IGMP: i32 = 2;
const IPPROTO_PIM: i32 = 103;
const IPPROTO_ICMPV6: i32 = 58;

/// IPv4 Router Alert option, value 0 "examine packet" (RFC 2113 §2.1).
const IPV4_ROUTER_ALERT: [u8; 4] = [0x94, 0x04, 0x00, 0x00];
/// IPv4 option type of the Router Alert (copied flag set, class 0, number 20).
const IPV4_OPT_ROUTER_ALERT: u8 = 0x94;
/// A Hop-by-Hop Options header holding Router Alert value 0 "MLD" (RFC 2711 §2.1) and a PadN to
/// fill the 8 octets; the kernel fills in the next-header octet.
const IPV6_HBH_ROUTER_ALERT_MLD: [u8; 8] = [0, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
/// IPv6 option type of the Router Alert (RFC 2711 §2.1).
const IPV6_OPT_ROUTER_ALERT: u8 = 0x05;

/// Receive buffer of the protocol sockets (the kernel doubles it for bookkeeping). A Join/Prune
/// period's refresh from ten neighbours joining 100,000 (S,G) is about 1,000 datagrams of ~850
/// octets arriving at once, ~2.3 MB of socket buffer; the default (~200 KiB) drops nine tenths of
/// them.
pub const PROTOCOL_RECEIVE_BUFFER: usize = 4 << 20;

/// The ICMPv6 types of MLD: Query, v1 Report, v1 Done, v2 Report.
pub const MLD_ICMPV6_TYPES: [u8; 4] = [130, 131, 132, 143];

/// Which protocol a socket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// IGMP over IPv4, sent with the Router Alert option.
    Igmp,
    /// PIM (IP protocol 103) over IPv4 or IPv6.
    Pim,
    /// MLD over ICMPv6, sent with a Hop-by-Hop Router Alert.
    Mld,
    /// Whole IP packets, header included (`IPPROTO_RAW`, which implies `IP_HDRINCL` for IPv4
    /// and, since Linux 4.5, `IPV6_HDRINCL` for IPv6): the RP forwarding what it decapsulated.
    RawIp,
}

/// A packet's arrival details; the packet's bytes are in the buffer passed to
/// [`ProtocolSocket::recv`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received<A: Afi> {
    /// Interface the packet arrived on.
    pub ifindex: IfIndex,
    pub source: A::Addr,
    /// The IP header's destination (a group, or our unicast address).
    pub destination: A::Addr,
    /// TTL (IPv4) or hop limit (IPv6) as received.
    pub hop_limit: Option<u8>,
    /// Whether the IP header carried a Router Alert; `None` where the kernel did not tell.
    pub router_alert: Option<bool>,
    /// Where the protocol message lies in the buffer (after the IPv4 header; all of it for IPv6).
    pub payload: Range<usize>,
}

/// A raw socket for one protocol of family `A`. Non-blocking; register its fd for readability.
#[derive(Debug)]
pub struct ProtocolSocket<A: Afi> {
    socket: Socket,
    protocol: Protocol,
    family: PhantomData<A>,
}

impl ProtocolSocket<V4> {
    /// An IGMP socket for sending and receiving, with the arrival interface of every message.
    ///
    /// Reports for groups this host has not joined (IGMPv1/v2 send them to the group itself) are
    /// not delivered locally: a multicast router's input path hands packets with a Router Alert to
    /// the sockets of the same protocol that set `IP_ROUTER_ALERT` (`ip_call_ra_chain` in
    /// net/ipv4/ip_input.c, which the MRT socket joins implicitly), so this socket sets it too; the
    /// MRT socket's copy, which has no interface, can then be ignored. Messages to link-local
    /// groups (IGMPv3 reports, leaves) arrive through the groups joined with
    /// [`Self::join_protocol_groups`] or [`Self::join`].
    pub fn igmp() -> io::Result<Self> {
        let socket = Self::open(Protocol::Igmp)?;
        crate::sys::setsockopt(socket.as_fd(), libc::IPPROTO_IP, libc::IP_ROUTER_ALERT, &1i32)?;
        Ok(socket)
    }
}

impl ProtocolSocket<V6> {
    /// An MLD socket: raw ICMPv6 filtered to the MLD types.
    pub fn mld() -> io::Result<Self> {
        let socket = Self::open(Protocol::Mld)?;
        socket.socket.attach_filter(&icmpv6_type_filter(&MLD_ICMPV6_TYPES))?;
        // Hand the Hop-by-Hop header to `recv`, which checks it for the Router Alert MLD requires.
        crate::sys::setsockopt(socket.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVHOPOPTS, &1i32)?;
        Ok(socket)
    }
}

impl<A: Afi> ProtocolSocket<A> {
    /// A PIM socket (IP protocol 103) of family `A`.
    pub fn pim() -> io::Result<Self> {
        Self::open(Protocol::Pim)
    }

    /// A socket that sends whole IP packets of family `A` as given (TTL / hop limit, source and
    /// checksum-covered fields untouched; the kernel fills the IPv4 header checksum); it receives
    /// nothing. See [`Self::send_packet`].
    pub fn raw_ip() -> io::Result<Self> {
        Self::open(Protocol::RawIp)
    }

    /// Sends a whole IP packet out of `ifindex` to the destination in its header.
    pub fn send_packet(&self, packet: &[u8], ifindex: IfIndex) -> io::Result<usize> {
        let destination = match A::FAMILY {
            AddressFamily::Ipv4 => packet.get(16..20),
            AddressFamily::Ipv6 => packet.get(24..40),
        }
        .and_then(A::addr_from_octets)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP packet of this family"))?;
        self.send(packet, destination, Some(ifindex), None)
    }

    fn open(protocol: Protocol) -> io::Result<Self> {
        let raw = match protocol {
            Protocol::Igmp => IPPROTO_IGMP,
            Protocol::Pim => IPPROTO_PIM,
            Protocol::Mld => IPPROTO_ICMPV6,
            Protocol::RawIp => libc::IPPROTO_RAW,
        };
        let (domain, v6) = match A::FAMILY {
            AddressFamily::Ipv4 => (Domain::IPV4, false),
            AddressFamily::Ipv6 => (Domain::IPV6, true),
        };
        let socket = Socket::new(domain, Type::RAW.cloexec(), Some(RawProtocol::from(raw)))?;
        socket.set_nonblocking(true)?;
        if protocol != Protocol::RawIp {
            // SO_RCVBUFFORCE passes net.core.rmem_max but needs CAP_NET_ADMIN; without it the
            // capped SO_RCVBUF is the best available.
            match setsockopt(&socket, sockopt::RcvBufForce, &PROTOCOL_RECEIVE_BUFFER) {
                Err(nix::errno::Errno::EPERM) => socket.set_recv_buffer_size(PROTOCOL_RECEIVE_BUFFER)?,
                other => other?,
            }
        }
        // PIM joins exactly the groups it needs per socket; MLD must hear MLDv1 Reports, which go to
        // the reported group itself (RFC 2710 §4), so it keeps receiving every group.
        let all_groups = !matches!(protocol, Protocol::Pim | Protocol::RawIp);
        if v6 {
            socket.set_multicast_loop_v6(false)?;
            socket.set_multicast_hops_v6(1)?;
            socket.set_multicast_all_v6(all_groups)?;
            socket.set_recv_hoplimit_v6(true)?;
            setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)?;
        } else {
            socket.set_multicast_loop_v4(false)?;
            socket.set_multicast_ttl_v4(1)?;
            socket.set_multicast_all_v4(all_groups)?;
            setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)?;
        }
        Ok(ProtocolSocket { socket, protocol, family: PhantomData })
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Joins `group` on the interface (`IP_ADD_MEMBERSHIP` with an ifindex, `IPV6_JOIN_GROUP`).
    pub fn join(&self, group: A::Addr, ifindex: IfIndex) -> io::Result<()> {
        match group.into() {
            IpAddr::V4(g) => self.socket.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex.0)),
            IpAddr::V6(g) => self.socket.join_multicast_v6(&g, ifindex.0),
        }
    }

    /// Leaves `group` on the interface.
    pub fn leave(&self, group: A::Addr, ifindex: IfIndex) -> io::Result<()> {
        match group.into() {
            IpAddr::V4(g) => self.socket.leave_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex.0)),
            IpAddr::V6(g) => self.socket.leave_multicast_v6(&g, ifindex.0),
        }
    }

    /// Joins the groups this protocol listens to on an interface: ALL-PIM-ROUTERS (224.0.0.13,
    /// ff02::d) for PIM; for MLD ff02::16 (MLDv2 Reports) and ff02::2 (MLDv1 Done); for IGMP
    /// 224.0.0.22 and 224.0.0.2 (the same, for the MRT socket's benefit).
    pub fn join_protocol_groups(&self, ifindex: IfIndex) -> io::Result<()> {
        for group in self.protocol_groups() {
            self.join(group, ifindex)?;
        }
        Ok(())
    }

    /// Leaves what [`Self::join_protocol_groups`] joined.
    pub fn leave_protocol_groups(&self, ifindex: IfIndex) -> io::Result<()> {
        for group in self.protocol_groups() {
            self.leave(group, ifindex)?;
        }
        Ok(())
    }

    fn protocol_groups(&self) -> Vec<A::Addr> {
        match self.protocol {
            Protocol::Pim => vec![A::ALL_PIM_ROUTERS],
            Protocol::Igmp | Protocol::Mld => vec![A::ALL_V3_ROUTERS, A::ALL_ROUTERS],
            Protocol::RawIp => Vec::new(),
        }
    }

    /// Restricts the socket to one interface (`SO_BINDTODEVICE`), or lifts the restriction.
    pub fn bind_to_device(&self, name: Option<&str>) -> io::Result<()> {
        self.socket.bind_device(name.map(str::as_bytes))
    }

    /// Sends one protocol message (the IP payload) to `destination`, out of `ifindex` when given
    /// (required for link-local groups), from `source` when given (otherwise the kernel picks).
    pub fn send(
        &self,
        payload: &[u8],
        destination: A::Addr,
        ifindex: Option<IfIndex>,
        source: Option<A::Addr>,
    ) -> io::Result<usize> {
        let mut control = Vec::new();
        let address = match (destination.into(), source.map(Into::into)) {
            (IpAddr::V4(dst), src) => {
                let src = match src {
                    Some(IpAddr::V4(s)) => Some(s),
                    _ => None,
                };
                if ifindex.is_some() || src.is_some() {
                    push_cmsg(&mut control, libc::IPPROTO_IP, libc::IP_PKTINFO, &in_pktinfo(ifindex, src));
                }
                if self.protocol == Protocol::Igmp {
                    push_cmsg(&mut control, libc::IPPROTO_IP, libc::IP_RETOPTS, &IPV4_ROUTER_ALERT);
                }
                SockAddr::from(SocketAddr::V4(SocketAddrV4::new(dst, 0)))
            }
            (IpAddr::V6(dst), src) => {
                let src = match src {
                    Some(IpAddr::V6(s)) => Some(s),
                    _ => None,
                };
                if ifindex.is_some() || src.is_some() {
                    push_cmsg(
                        &mut control,
                        libc::IPPROTO_IPV6,
                        libc::IPV6_PKTINFO,
                        &in6_pktinfo(ifindex, src),
                    );
                }
                if self.protocol == Protocol::Mld {
                    push_cmsg(
                        &mut control,
                        libc::IPPROTO_IPV6,
                        libc::IPV6_HOPOPTS,
                        &IPV6_HBH_ROUTER_ALERT_MLD,
                    );
                }
                let scope = if V6::is_link_local_unicast(dst) || dst.is_multicast() {
                    ifindex.map_or(0, |i| i.0)
                } else {
                    0
                };
                SockAddr::from(SocketAddr::V6(SocketAddrV6::new(dst, 0, 0, scope)))
            }
        };
        let buffers = [IoSlice::new(payload)];
        let mut message = MsgHdr::new().with_addr(&address).with_buffers(&buffers);
        if !control.is_empty() {
            message = message.with_control(&control);
        }
        self.socket.sendmsg(&message, 0)
    }

    /// Receives one packet into `buf`; `Ok(None)` when nothing is queued. A packet whose arrival
    /// details are incomplete (no packet info, truncated control data, a malformed IPv4 header) is
    /// dropped and also reported as `Ok(None)`; the fd stays readable if more are queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<Received<A>>> {
        let mut control = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, [u8; 256]);
        let (len, from, info) = {
            let mut iov = [IoSliceMut::new(buf)];
            let received = match recvmsg::<SockaddrStorage>(
                self.socket.as_raw_fd(),
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(r) => r,
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let from = received.address.and_then(|a| sockaddr_ip(&a));
            let mut info = AncillaryInfo::default();
            // Truncated control data (`MSG_CTRUNC`) leaves the details incomplete: drop the packet.
            let Ok(cmsgs) = received.cmsgs() else { return Ok(None) };
            for cmsg in cmsgs {
                info.absorb(cmsg);
            }
            (received.bytes, from, info)
        };
        let Some(data) = buf.get(..len) else { return Ok(None) };
        let (Some(from), Some(ifindex), Some(to)) = (from, info.ifindex, info.destination) else {
            return Ok(None);
        };
        let (Some(source), Some(destination)) = (A::from_ip(from), A::from_ip(to)) else { return Ok(None) };
        let received = match A::FAMILY {
            AddressFamily::Ipv4 => {
                let Some(header) = Ipv4HeaderInfo::parse(data) else { return Ok(None) };
                Received {
                    ifindex,
                    source,
                    destination,
                    hop_limit: Some(header.ttl),
                    router_alert: Some(header.router_alert),
                    payload: header.header_len..len,
                }
            }
            AddressFamily::Ipv6 => Received {
                ifindex,
                source,
                destination,
                hop_limit: info.hop_limit,
                router_alert: info.router_alert,
                payload: 0..len,
            },
        };
        Ok(Some(received))
    }
}

impl<A: Afi> AsRawFd for ProtocolSocket<A> {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

impl<A: Afi> AsFd for ProtocolSocket<A> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// What the control messages of one received packet said.
#[derive(Debug, Default)]
struct AncillaryInfo {
    ifindex: Option<IfIndex>,
    destination: Option<IpAddr>,
    hop_limit: Option<u8>,
    router_alert: Option<bool>,
}

impl AncillaryInfo {
    fn absorb(&mut self, cmsg: ControlMessageOwned) {
        match cmsg {
            ControlMessageOwned::Ipv4PacketInfo(info) => {
                self.ifindex = u32::try_from(info.ipi_ifindex).ok().map(IfIndex);
                self.destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
            }
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                self.ifindex = Some(IfIndex(info.ipi6_ifindex));
                self.destination = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
            }
            ControlMessageOwned::Ipv6HopLimit(hops) => self.hop_limit = u8::try_from(hops).ok(),
            ControlMessageOwned::Unknown(unknown)
                if unknown.cmsg_header.cmsg_level == libc::IPPROTO_IPV6
                    && unknown.cmsg_header.cmsg_type == libc::IPV6_HOPOPTS =>
            {
                self.router_alert = Some(hop_by_hop_has_router_alert(&unknown.data_bytes));
            }
            _ => {}
        }
    }
}

/// TTL, header length and Router Alert of a received IPv4 header (RFC 791 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ipv4HeaderInfo {
    header_len: usize,
    ttl: u8,
    router_alert: bool,
}

impl Ipv4HeaderInfo {
    fn parse(packet: &[u8]) -> Option<Self> {
        let first = *packet.first()?;
        if first >> 4 != 4 {
            return None;
        }
        let header_len = usize::from(first & 0x0f) * 4;
        let header = packet.get(..header_len)?;
        let ttl = *header.get(8)?;
        let options = header.get(20..)?;
        Some(Ipv4HeaderInfo { header_len, ttl, router_alert: ipv4_options_have_router_alert(options) })
    }
}

/// Walks IPv4 options (RFC 791 §3.1: End, No-Op, then type-length-value).
fn ipv4_options_have_router_alert(options: &[u8]) -> bool {
    let mut at = 0usize;
    while let Some(&kind) = options.get(at) {
        match kind {
            0 => return false,
            1 => at += 1,
            IPV4_OPT_ROUTER_ALERT => return true,
            _ => match options.get(at + 1) {
                Some(&len) if len >= 2 => at += usize::from(len),
                _ => return false,
            },
        }
    }
    false
}

/// Walks a Hop-by-Hop Options header (RFC 8200 §4.2: Pad1, then type-length-value options after
/// the 2-octet header).
fn hop_by_hop_has_router_alert(header: &[u8]) -> bool {
    let mut at = 2usize;
    while let Some(&kind) = header.get(at) {
        match kind {
            0 => at += 1,
            IPV6_OPT_ROUTER_ALERT => return true,
            _ => match header.get(at + 1) {
                Some(&len) => at += 2 + usize::from(len),
                None => return false,
            },
        }
    }
    false
}

fn sockaddr_ip(addr: &SockaddrStorage) -> Option<IpAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(IpAddr::V4(v4.ip()));
    }
    addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
}

/// `struct in_pktinfo { int ipi_ifindex; struct in_addr ipi_spec_dst, ipi_addr; }`: the outgoing
/// interface and the source address to use.
fn in_pktinfo(ifindex: Option<IfIndex>, source: Option<Ipv4Addr>) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..4].copy_from_slice(&ifindex.map_or(0, |i| i.0).to_ne_bytes());
    out[4..8].copy_from_slice(&source.unwrap_or(Ipv4Addr::UNSPECIFIED).octets());
    out
}

/// `struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }`.
fn in6_pktinfo(ifindex: Option<IfIndex>, source: Option<Ipv6Addr>) -> [u8; 20] {
    let mut out = [0u8; 20];
    out[..16].copy_from_slice(&source.unwrap_or(Ipv6Addr::UNSPECIFIED).octets());
    out[16..].copy_from_slice(&ifindex.map_or(0, |i| i.0).to_ne_bytes());
    out
}

/// Appends one control message as `CMSG_SPACE` bytes: a `struct cmsghdr { size_t cmsg_len; int
/// cmsg_level; int cmsg_type; }` then the data, padded to the alignment of `size_t`.
fn push_cmsg(control: &mut Vec<u8>, level: i32, kind: i32, data: &[u8]) {
    const ALIGN: usize = std::mem::size_of::<usize>();
    let header_len = std::mem::size_of::<libc::cmsghdr>();
    let start = control.len();
    control.extend_from_slice(&(header_len + data.len()).to_ne_bytes());
    control.extend_from_slice(&level.to_ne_bytes());
    control.extend_from_slice(&kind.to_ne_bytes());
    control.resize(start + header_len, 0);
    control.extend_from_slice(data);
    control.resize(start + (header_len + data.len()).next_multiple_of(ALIGN), 0);
}

/// A classic BPF program accepting ICMPv6 messages whose type is one of `types` (a raw ICMPv6
/// socket's filter sees the packet from the ICMPv6 header on).
fn icmpv6_type_filter(types: &[u8]) -> Vec<SockFilter> {
    const LD_B_ABS: u16 = (libc::BPF_LD | libc::BPF_B | libc::BPF_ABS) as u16;
    const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    let count = types.len();
    let mut program = vec![SockFilter::new(LD_B_ABS, 0, 0, 0)];
    for (i, &kind) in types.iter().enumerate() {
        // On a match jump over the remaining comparisons and the drop, to the accept.
        let to_accept = u8::try_from(count - i).unwrap_or(u8::MAX);
        program.push(SockFilter::new(JEQ_K, to_accept, 0, u32::from(kind)));
    }
    program.push(SockFilter::new(RET_K, 0, 0, 0));
    program.push(SockFilter::new(RET_K, 0, 0, u32::MAX));
    program
}

/// Joins `group` for traffic from `source` only, on interface `ifindex`, with any socket of the
/// group's family (`MCAST_JOIN_SOURCE_GROUP`, RFC 3678 §5.2.1): what a receiver does for an SSM
/// channel (RFC 4607), in IPv6 as in IPv4.
pub fn join_source_group(
    socket: BorrowedFd<'_>,
    ifindex: u32,
    group: IpAddr,
    source: IpAddr,
) -> io::Result<()> {
    group_source_request(socket, libc::MCAST_JOIN_SOURCE_GROUP, ifindex, group, source)
}

/// Stops receiving `group` from `source` on a socket that joined the group for any source
/// (`MCAST_BLOCK_SOURCE`, RFC 3678 §5.2.2): the host's interface state becomes EXCLUDE mode with
/// `source` in its list (RFC 3376 §3.2, RFC 3810 §4.2).
pub fn block_source(socket: BorrowedFd<'_>, ifindex: u32, group: IpAddr, source: IpAddr) -> io::Result<()> {
    group_source_request(socket, libc::MCAST_BLOCK_SOURCE, ifindex, group, source)
}

/// One `struct group_source_req` socket option at the level of the addresses' family.
fn group_source_request(
    socket: BorrowedFd<'_>,
    name: libc::c_int,
    ifindex: u32,
    group: IpAddr,
    source: IpAddr,
) -> io::Result<()> {
    let level = match (group, source) {
        (IpAddr::V4(_), IpAddr::V4(_)) => libc::IPPROTO_IP,
        (IpAddr::V6(_), IpAddr::V6(_)) => libc::IPPROTO_IPV6,
        _ => return Err(io::Error::new(io::ErrorKind::InvalidInput, "group and source differ in family")),
    };
    let request = crate::sys::GroupSourceReq {
        interface: ifindex,
        group: crate::sys::SockaddrStorage::from_ip(group),
        source: crate::sys::SockaddrStorage::from_ip(source),
    };
    crate::sys::setsockopt(socket, level, name, &request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_with_router_alert() {
        let mut packet = vec![0x46, 0, 0, 32, 0, 0, 0, 0, 1, 2, 0, 0, 198, 18, 0, 1, 224, 0, 0, 22];
        packet.extend_from_slice(&IPV4_ROUTER_ALERT);
        packet.extend_from_slice(&[0x22, 0, 0, 0]);
        let info = Ipv4HeaderInfo::parse(&packet).unwrap();
        assert_eq!(info, Ipv4HeaderInfo { header_len: 24, ttl: 1, router_alert: true });
        for cut in 0..24 {
            assert_eq!(Ipv4HeaderInfo::parse(&packet[..cut]), None);
        }
        packet[0] = 0x45;
        assert!(!Ipv4HeaderInfo::parse(&packet).unwrap().router_alert);
        assert!(ipv4_options_have_router_alert(&[1, 1, 0x94, 4, 0, 0]));
        assert!(!ipv4_options_have_router_alert(&[7, 0]));
        assert!(!ipv4_options_have_router_alert(&[7, 3, 0, 0]));
    }

    #[test]
    fn hop_by_hop_router_alert() {
        assert!(hop_by_hop_has_router_alert(&IPV6_HBH_ROUTER_ALERT_MLD));
        assert!(hop_by_hop_has_router_alert(&[58, 0, 1, 0, 5, 2, 0, 0]));
        assert!(hop_by_hop_has_router_alert(&[58, 0, 0, 0, 5, 2, 0, 0]));
        assert!(!hop_by_hop_has_router_alert(&[58, 0, 1, 4, 0, 0, 0, 0]));
        assert!(!hop_by_hop_has_router_alert(&[58, 0, 1]));
    }

    #[test]
    fn control_message_layout() {
        let mut control = Vec::new();
        push_cmsg(&mut control, libc::IPPROTO_IP, libc::IP_RETOPTS, &IPV4_ROUTER_ALERT);
        let header = std::mem::size_of::<libc::cmsghdr>();
        assert_eq!(control.len(), (header + 4).next_multiple_of(std::mem::size_of::<usize>()));
        let len_bytes = std::mem::size_of::<usize>();
        assert_eq!(control[..len_bytes], (header + 4).to_ne_bytes()[..]);
        assert_eq!(control[header..header + 4], IPV4_ROUTER_ALERT);
        let pktinfo = in6_pktinfo(Some(IfIndex(3)), Some("fe80::1".parse().unwrap()));
        assert_eq!(pktinfo[0], 0xfe);
        assert_eq!(pktinfo[16..], 3u32.to_ne_bytes());
    }

    proptest::proptest! {
        #[test]
        fn header_parsers_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            if let Some(info) = Ipv4HeaderInfo::parse(&bytes) {
                proptest::prop_assert!(info.header_len >= 20 && info.header_len <= bytes.len());
            }
            hop_by_hop_has_router_alert(&bytes);
            ipv4_options_have_router_alert(&bytes);
        }
    }
}
