//! The kernel ABI: the one module of hato with `unsafe` code. It holds the `#[repr(C)]` structures
//! of `<linux/mroute.h>` and `<linux/mroute6.h>` with compile-time size checks, and thin safe
//! wrappers around the few system calls hato needs (socket, setsockopt, recv, send, setns,
//! if_nametoindex). Everything above it is safe code.
//!
//! DOC: how the Linux multicast routing API behaves (verified in namespaces on Linux 6.x):
//!
//! - A table is owned by one socket: a raw IGMP socket for IPv4, a raw ICMPv6 socket for IPv6,
//!   on which `MRT_INIT` / `MRT6_INIT` succeeds once per table (`EADDRINUSE` for a second owner).
//!   The IPv4 socket also receives every IGMP packet the host gets, interleaved with the upcalls;
//!   an upcall has 0 where an IP header has its protocol field. The IPv6 socket receives ICMPv6
//!   per the usual raw-socket rules, which a filter can block without losing upcalls (the kernel
//!   queues them on the socket directly); an upcall starts with a 0 octet, no ICMPv6 type does.
//! - `MRT_TABLE` / `MRT6_TABLE` (a `u32` table id) selects a non-default table and must come
//!   before `MRT_INIT`. The default table is 253 (`RT_TABLE_DEFAULT`) for IPv4 but 254
//!   (`RT6_TABLE_DFLT` = `RT_TABLE_MAIN`) for IPv6: an IPv6 socket that selects 253 gets a table
//!   no rule leads to, and sees no traffic. A kernel without multiple tables for the family
//!   refuses `MRT_TABLE` with `ENOPROTOOPT`.
//! - `MRT_ASSERT` turns on WRONGVIF upcalls, rate-limited by the kernel to one per entry every 3 s;
//!   without PIM mode the arrival VIF must also be an outgoing VIF of the entry. `MRT_PIM` turns
//!   on PIM mode (WRONGVIF for any VIF, WHOLEPKT for packets sent to the register VIF); set to 4
//!   (`IGMPMSG_WRVIFWHOLE`) instead of 1 it sends WRVIFWHOLE instead of WRONGVIF.
//! - VIFs are numbered by the caller, at most 32 per table (`MAXVIFS`, `MAXMIFS`) register VIF
//!   included. IPv4 names the interface by index with `VIFF_USE_IFINDEX`; IPv6 MIFs always do,
//!   in a 16-bit field. The register VIF (`VIFF_REGISTER`, `MIFF_REGISTER`) creates the `pimreg`
//!   / `pim6reg` device (`pimreg<table>` outside the default table).
//! - An MFC entry maps (S,G) to a parent VIF and a TTL per VIF: 0 and 255 both mean "not an
//!   outgoing VIF". IPv6 entries carry a bit set of outgoing MIFs instead of TTLs. (*,G) entries
//!   have the unspecified address as origin.
//! - IGMP packets reach the routing socket only for groups some socket of the host has joined on
//!   the arrival interface: the IGMP router must join 224.0.0.22 (IGMPv3 reports) and 224.0.0.2
//!   (leaves) itself; the kernel does not for a VIF.
//! - There is no netlink write path for the MFC; `RTM_GETROUTE` dumps of `RTNL_FAMILY_IPMR` /
//!   `RTNL_FAMILY_IP6MR` list every entry of every table with `RTA_MFC_STATS` counters.
//! - Closing the owning socket (`MRT_DONE` implicitly) flushes the table's entries and VIFs.
//! - A packet without an entry raises NOCACHE and is queued (a few per (S,G), for about 10 s);
//!   installing the entry in that time forwards the queued packets.

#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// `MRT_BASE`: option numbers shared by `MRT_*` and `MRT6_*`.
pub const MRT_INIT: libc::c_int = 200;
pub const MRT_ADD_VIF: libc::c_int = 202;
pub const MRT_DEL_VIF: libc::c_int = 203;
pub const MRT_ADD_MFC: libc::c_int = 204;
pub const MRT_DEL_MFC: libc::c_int = 205;
pub const MRT_ASSERT: libc::c_int = 207;
pub const MRT_PIM: libc::c_int = 208;
pub const MRT_TABLE: libc::c_int = 209;
pub const MRT_FLUSH: libc::c_int = 212;

/// `MRT_FLUSH` flags: entries and VIFs, both the ones added by this socket and static ones.
pub const MRT_FLUSH_MFC: libc::c_int = 1;
pub const MRT_FLUSH_MFC_STATIC: libc::c_int = 2;
pub const MRT_FLUSH_VIFS: libc::c_int = 4;
pub const MRT_FLUSH_VIFS_STATIC: libc::c_int = 8;

/// `vifctl.vifc_flags`.
pub const VIFF_REGISTER: u8 = 0x4;
pub const VIFF_USE_IFINDEX: u8 = 0x8;
/// `mif6ctl.mif6c_flags`.
pub const MIFF_REGISTER: u8 = 0x1;

/// `MRT_PIM` value that asks for WRVIFWHOLE instead of WRONGVIF upcalls.
pub const IGMPMSG_WRVIFWHOLE: libc::c_int = 4;

/// Maximum VIFs / MIFs per table.
pub const MAXVIFS: usize = 32;

/// rtnetlink families of the multicast routing tables.
pub const RTNL_FAMILY_IPMR: u8 = 128;
pub const RTNL_FAMILY_IP6MR: u8 = 129;
/// The default IPv4 multicast routing table.
pub const RT_TABLE_DEFAULT: u32 = 253;
/// The default IPv6 multicast routing table (`RT6_TABLE_DFLT` is the main table).
pub const RT_TABLE_MAIN: u32 = 254;

/// `ICMP6_FILTER` socket option (level `IPPROTO_ICMPV6`).
const ICMP6_FILTER: libc::c_int = 1;

/// `struct vifctl`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VifCtl {
    pub vifi: u16,
    pub flags: u8,
    pub threshold: u8,
    pub rate_limit: u32,
    /// `vifc_lcl_addr` (network order) or, with `VIFF_USE_IFINDEX`, `vifc_lcl_ifindex`.
    pub lcl_addr_or_ifindex: u32,
    pub rmt_addr: libc::in_addr,
}

/// `struct mfcctl`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct MfcCtl {
    pub origin: libc::in_addr,
    pub mcastgrp: libc::in_addr,
    pub parent: u16,
    pub ttls: [u8; MAXVIFS],
    pub pkt_cnt: u32,
    pub byte_cnt: u32,
    pub wrong_if: u32,
    pub expire: i32,
}

/// `struct mif6ctl`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Mif6Ctl {
    pub mifi: u16,
    pub flags: u8,
    pub threshold: u8,
    pub pifi: u16,
    pub rate_limit: u32,
}

/// `struct mf6cctl`; `ifset` is `struct if_set`, a bit per MIF (bit n of word n / 32).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Mf6cCtl {
    pub origin: libc::sockaddr_in6,
    pub mcastgrp: libc::sockaddr_in6,
    pub parent: u16,
    pub ifset: [u32; 8],
}

/// `struct icmp6_filter`: a set bit blocks that ICMPv6 type.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Icmp6Filter {
    pub data: [u32; 8],
}

#[cfg(target_pointer_width = "64")]
/// A socket address as `struct sockaddr_storage` holds it (128 octets, 8-aligned).
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockaddrStorage(pub [u8; 128]);

impl SockaddrStorage {
    /// `struct sockaddr_in` / `struct sockaddr_in6` (port 0) in the first octets.
    pub fn from_ip(addr: std::net::IpAddr) -> Self {
        let mut bytes = [0u8; 128];
        match addr {
            std::net::IpAddr::V4(a) => {
                bytes[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
                bytes[4..8].copy_from_slice(&a.octets());
            }
            std::net::IpAddr::V6(a) => {
                bytes[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
                bytes[8..24].copy_from_slice(&a.octets());
            }
        }
        SockaddrStorage(bytes)
    }
}

/// `struct group_source_req` (RFC 3678 §5.2.1), the argument of `MCAST_JOIN_SOURCE_GROUP` and
/// `MCAST_LEAVE_SOURCE_GROUP`: a source-specific join for either family.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSourceReq {
    pub interface: u32,
    pub group: SockaddrStorage,
    pub source: SockaddrStorage,
}

/// `SIOCGETSGCNT` (`SIOCPROTOPRIVATE + 1`): the counters of one IPv4 (S,G) entry, looked up in
/// the table of the socket (the default table for a socket that never set `MRT_TABLE`).
pub const SIOCGETSGCNT: libc::c_ulong = 0x89e1;

/// `struct sioc_sg_req` (linux/mroute.h), the argument of [`SIOCGETSGCNT`]. The counters are
/// `unsigned long`: 64 bits on the targets hato builds for (the size assertion below fails the
/// build elsewhere).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SiocSgReq {
    pub src: libc::in_addr,
    pub grp: libc::in_addr,
    pub pktcnt: u64,
    pub bytecnt: u64,
    pub wrong_if: u64,
}

/// `struct sioc_sg_req6` (linux/mroute6.h), the argument of `SIOCGETSGCNT_IN6` (the same
/// number as [`SIOCGETSGCNT`], on an ICMPv6 raw socket).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SiocSgReq6 {
    pub src: libc::sockaddr_in6,
    pub grp: libc::sockaddr_in6,
    pub pktcnt: u64,
    pub bytecnt: u64,
    pub wrong_if: u64,
}

impl SiocSgReq {
    /// A request for (`src`, `grp`), counters zero.
    pub fn new(src: libc::in_addr, grp: libc::in_addr) -> Self {
        SiocSgReq { src, grp, pktcnt: 0, bytecnt: 0, wrong_if: 0 }
    }
}

impl SiocSgReq6 {
    /// A request for (`src`, `grp`), counters zero.
    pub fn new(src: libc::sockaddr_in6, grp: libc::sockaddr_in6) -> Self {
        SiocSgReq6 { src, grp, pktcnt: 0, bytecnt: 0, wrong_if: 0 }
    }
}

const _: () = {
    assert!(size_of::<SiocSgReq>() == 8 + 3 * size_of::<libc::c_ulong>());
    assert!(size_of::<SiocSgReq6>() == 56 + 3 * size_of::<libc::c_ulong>());
    assert!(size_of::<GroupSourceReq>() == 264);
    assert!(size_of::<GroupSourceReq>() == size_of::<libc::group_source_req>());
    assert!(size_of::<VifCtl>() == 16);
    assert!(size_of::<MfcCtl>() == 60);
    assert!(size_of::<Mif6Ctl>() == 12);
    assert!(size_of::<Mf6cCtl>() == 92);
    assert!(size_of::<Icmp6Filter>() == 32);
};

mod sealed {
    pub trait Sealed {}
}

/// Plain-old-data types that may be handed to `setsockopt` by reference: `#[repr(C)]`, no
/// pointers, no padding the kernel would misread.
pub trait SockOptValue: sealed::Sealed + Copy {}

macro_rules! sockopt_values {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl SockOptValue for $t {}
    )*};
}
sockopt_values!(libc::c_int, u32, u16, VifCtl, MfcCtl, Mif6Ctl, Mf6cCtl, Icmp6Filter, GroupSourceReq);

fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

fn cvt_size(ret: libc::ssize_t) -> io::Result<usize> {
    usize::try_from(ret).map_err(|_| io::Error::last_os_error())
}

/// Opens a socket (close-on-exec).
pub fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers; a non-negative result is a fresh descriptor we own.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) })?;
    // SAFETY: `fd` is open and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `setsockopt(fd, level, name, &value, sizeof value)`.
pub fn setsockopt<T: SockOptValue>(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `value` points to `len` readable bytes of a plain-old-data type (SockOptValue).
    cvt(unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), len) })?;
    Ok(())
}

/// Sets `SO_RCVTIMEO`, so that blocking receives give up after `timeout`.
pub fn set_recv_timeout(fd: BorrowedFd<'_>, timeout: Duration) -> io::Result<()> {
    let tv = libc::timeval {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_usec: libc::suseconds_t::from(timeout.subsec_micros()),
    };
    let len =
        libc::socklen_t::try_from(size_of::<libc::timeval>()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `tv` is a valid timeval of `len` bytes.
    cvt(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            len,
        )
    })?;
    Ok(())
}

/// Blocks every ICMPv6 type on a raw ICMPv6 socket (upcalls still arrive).
pub fn block_all_icmpv6(fd: BorrowedFd<'_>) -> io::Result<()> {
    setsockopt(fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &Icmp6Filter { data: [u32::MAX; 8] })
}

/// `recv(fd, buf, flags)`: `Ok(None)` when a non-blocking receive finds nothing (or a receive
/// timeout expires).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: libc::c_int) -> io::Result<Option<usize>> {
    // SAFETY: `buf` is writable for `buf.len()` bytes.
    let ret = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) };
    match cvt_size(ret) {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(e) => Err(e),
    }
}

/// `send(fd, buf, 0)`; returns the octets sent.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for `buf.len()` bytes.
    cvt_size(unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) })
}

/// Moves the calling thread into the network namespace `ns` (an open `/run/netns/NAME` or
/// `/proc/PID/ns/net`). Sockets opened afterwards belong to it, whichever thread uses them.
pub fn enter_netns(ns: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: setns(2) takes no pointers.
    cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })?;
    Ok(())
}

/// `ioctl(SIOCGETSGCNT)` on a raw IPv4 socket: fills `req`'s counters for its (source, group);
/// `EADDRNOTAVAIL` when the table has no such resolved entry. A hash lookup, no table walk.
pub fn get_sg_count(fd: BorrowedFd<'_>, req: &mut SiocSgReq) -> io::Result<()> {
    // SAFETY: `req` is a valid, exclusively borrowed `struct sioc_sg_req` for the whole call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGETSGCNT as _, req as *mut SiocSgReq) })?;
    Ok(())
}

/// `ioctl(SIOCGETSGCNT_IN6)` on a raw ICMPv6 socket: [`get_sg_count`] for IPv6.
pub fn get_sg_count6(fd: BorrowedFd<'_>, req: &mut SiocSgReq6) -> io::Result<()> {
    // SAFETY: `req` is a valid, exclusively borrowed `struct sioc_sg_req6` for the whole call.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGETSGCNT as _, req as *mut SiocSgReq6) })?;
    Ok(())
}

/// The index of the interface `name` in the calling thread's network namespace.
pub fn if_nametoindex(name: &str) -> io::Result<u32> {
    let name = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: `name` is a NUL-terminated string that outlives the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(io::Error::last_os_error()),
        index => Ok(index),
    }
}
