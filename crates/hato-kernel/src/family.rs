//! What differs between the IPv4 (`<linux/mroute.h>`) and IPv6 (`<linux/mroute6.h>`) multicast
//! routing APIs: socket type, option level, structure layouts and upcall format. Everything else
//! in [`crate::KernelPlane`] is one code path over [`MrtFamily`].

use std::fmt::Debug;
use std::io;
use std::os::fd::BorrowedFd;

use hato_core::{Afi, MfcCounters, MfcEntry, SgKey, Vif, VifId, VifKind, V4, V6};
use hato_wire::upcall::{igmpmsg_is_upcall, mrt6msg_is_upcall, IgmpMsgRepr, Mrt6MsgRepr};

use crate::sys;
use crate::Received;

/// The per-family half of the kernel's multicast routing API.
pub trait MrtFamily: Afi {
    /// Socket domain of the routing socket.
    const DOMAIN: libc::c_int;
    /// Raw socket protocol of the routing socket (IGMP / ICMPv6).
    const PROTOCOL: libc::c_int;
    /// `setsockopt` level of the `MRT_*` / `MRT6_*` options.
    const LEVEL: libc::c_int;
    /// rtnetlink family of the table dump.
    const RTNL_FAMILY: u8;
    /// The table the kernel's default rule points to.
    const DEFAULT_TABLE: u32;

    /// Family-specific socket setup after `MRT_INIT`.
    fn prepare_socket(fd: BorrowedFd<'_>) -> io::Result<()>;
    /// `MRT_ADD_VIF` / `MRT6_ADD_MIF`.
    fn add_vif(fd: BorrowedFd<'_>, vif: &Vif) -> io::Result<()>;
    /// `MRT_DEL_VIF` / `MRT6_DEL_MIF`.
    fn del_vif(fd: BorrowedFd<'_>, id: VifId) -> io::Result<()>;
    /// The argument of `MRT_ADD_MFC` / `MRT_DEL_MFC`: `struct mfcctl` / `struct mf6cctl`.
    type MfcCtl: sys::SockOptValue + Send + Debug + 'static;
    /// The `MRT_ADD_MFC` / `MRT6_ADD_MFC` request for `entry` (adds or replaces); refuses VIF
    /// numbers beyond the kernel's.
    fn add_mfc_request(entry: &MfcEntry<Self>) -> io::Result<Self::MfcCtl>;
    /// The `MRT_DEL_MFC` / `MRT6_DEL_MFC` request for `key`.
    fn del_mfc_request(key: SgKey<Self>) -> Self::MfcCtl;
    /// The counters of one resolved (S,G) entry in the socket's table (a hash lookup in the
    /// kernel); `None` when the table has no such entry.
    fn sg_counters(fd: BorrowedFd<'_>, key: SgKey<Self>) -> io::Result<Option<MfcCounters>>;
    /// Classifies one message read from the routing socket.
    fn classify(bytes: &[u8]) -> Received<Self>;
}

fn check_vif(id: VifId) -> io::Result<usize> {
    let index = usize::from(id.0);
    if index < sys::MAXVIFS {
        Ok(index)
    } else {
        Err(io::Error::new(io::ErrorKind::InvalidInput, format!("{id} is beyond the kernel's 32 VIFs")))
    }
}

/// The counters `[packets, bytes, wrong_if]` a lookup filled in, `None` for "no such entry".
fn looked_up(
    result: io::Result<()>,
    [packets, bytes, wrong_if]: [u64; 3],
) -> io::Result<Option<MfcCounters>> {
    match result {
        Ok(()) => Ok(Some(MfcCounters { packets, bytes, wrong_if })),
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The kernel reads a TTL threshold of 0 or 255 as "not an outgoing VIF".
fn clamp_threshold(ttl: u8) -> u8 {
    ttl.clamp(1, 254)
}

impl MrtFamily for V4 {
    const DOMAIN: libc::c_int = libc::AF_INET;
    const PROTOCOL: libc::c_int = libc::IPPROTO_IGMP;
    const LEVEL: libc::c_int = libc::IPPROTO_IP;
    const RTNL_FAMILY: u8 = sys::RTNL_FAMILY_IPMR;
    const DEFAULT_TABLE: u32 = sys::RT_TABLE_DEFAULT;

    fn prepare_socket(_fd: BorrowedFd<'_>) -> io::Result<()> {
        // IGMP packets are wanted: the router's IGMP querier reads them from this socket.
        Ok(())
    }

    fn add_vif(fd: BorrowedFd<'_>, vif: &Vif) -> io::Result<()> {
        check_vif(vif.id)?;
        let (flags, ifindex) = match vif.kind {
            VifKind::Interface(ifindex) => (sys::VIFF_USE_IFINDEX, ifindex.0),
            VifKind::Register => (sys::VIFF_REGISTER, 0),
        };
        let ctl = sys::VifCtl {
            vifi: vif.id.0,
            flags,
            threshold: vif.ttl_threshold,
            rate_limit: 0,
            lcl_addr_or_ifindex: ifindex,
            rmt_addr: libc::in_addr { s_addr: 0 },
        };
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_ADD_VIF, &ctl)
    }

    fn del_vif(fd: BorrowedFd<'_>, id: VifId) -> io::Result<()> {
        check_vif(id)?;
        let ctl = sys::VifCtl {
            vifi: id.0,
            flags: 0,
            threshold: 0,
            rate_limit: 0,
            lcl_addr_or_ifindex: 0,
            rmt_addr: libc::in_addr { s_addr: 0 },
        };
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_DEL_VIF, &ctl)
    }

    type MfcCtl = sys::MfcCtl;

    fn add_mfc_request(entry: &MfcEntry<V4>) -> io::Result<sys::MfcCtl> {
        let mut ctl = mfcctl(entry.key, check_vif(entry.iif)?);
        for (&oif, &ttl) in &entry.oifs {
            let slot = check_vif(oif)?;
            if let Some(t) = ctl.ttls.get_mut(slot) {
                *t = clamp_threshold(ttl);
            }
        }
        Ok(ctl)
    }

    fn del_mfc_request(key: SgKey<V4>) -> sys::MfcCtl {
        mfcctl(key, 0)
    }

    fn sg_counters(fd: BorrowedFd<'_>, key: SgKey<V4>) -> io::Result<Option<MfcCounters>> {
        let mut req = sys::SiocSgReq::new(in_addr(key.source.unwrap_or(V4::UNSPECIFIED)), in_addr(key.group));
        let result = sys::get_sg_count(fd, &mut req);
        looked_up(result, [req.pktcnt, req.bytecnt, req.wrong_if])
    }

    fn classify(bytes: &[u8]) -> Received<V4> {
        if !igmpmsg_is_upcall(bytes) {
            return Received::Packet(bytes.to_vec());
        }
        match IgmpMsgRepr::parse(bytes).ok().and_then(|m| m.to_upcall()) {
            Some(upcall) => Received::Upcall(upcall),
            None => Received::Unrecognised(bytes.to_vec()),
        }
    }
}

fn in_addr(addr: std::net::Ipv4Addr) -> libc::in_addr {
    libc::in_addr { s_addr: u32::from_ne_bytes(addr.octets()) }
}

fn mfcctl(key: SgKey<V4>, parent: usize) -> sys::MfcCtl {
    sys::MfcCtl {
        origin: in_addr(key.source.unwrap_or(V4::UNSPECIFIED)),
        mcastgrp: in_addr(key.group),
        parent: u16::try_from(parent).unwrap_or(0),
        ttls: [0; sys::MAXVIFS],
        pkt_cnt: 0,
        byte_cnt: 0,
        wrong_if: 0,
        expire: 0,
    }
}

impl MrtFamily for V6 {
    const DOMAIN: libc::c_int = libc::AF_INET6;
    const PROTOCOL: libc::c_int = libc::IPPROTO_ICMPV6;
    const LEVEL: libc::c_int = libc::IPPROTO_IPV6;
    const RTNL_FAMILY: u8 = sys::RTNL_FAMILY_IP6MR;
    const DEFAULT_TABLE: u32 = sys::RT_TABLE_MAIN;

    fn prepare_socket(fd: BorrowedFd<'_>) -> io::Result<()> {
        // MLD is read on its own socket; here only upcalls, which bypass the filter.
        sys::block_all_icmpv6(fd)
    }

    fn add_vif(fd: BorrowedFd<'_>, vif: &Vif) -> io::Result<()> {
        check_vif(vif.id)?;
        let (flags, pifi) = match vif.kind {
            VifKind::Interface(ifindex) => (
                0,
                u16::try_from(ifindex.0).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "MIFs hold 16-bit interface indexes")
                })?,
            ),
            VifKind::Register => (sys::MIFF_REGISTER, 0),
        };
        let ctl = sys::Mif6Ctl { mifi: vif.id.0, flags, threshold: vif.ttl_threshold, pifi, rate_limit: 0 };
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_ADD_VIF, &ctl)
    }

    fn del_vif(fd: BorrowedFd<'_>, id: VifId) -> io::Result<()> {
        check_vif(id)?;
        // MRT6_DEL_MIF takes a bare mifi_t.
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_DEL_VIF, &id.0)
    }

    type MfcCtl = sys::Mf6cCtl;

    fn add_mfc_request(entry: &MfcEntry<V6>) -> io::Result<sys::Mf6cCtl> {
        let mut ctl = mf6cctl(entry.key, check_vif(entry.iif)?);
        for &oif in entry.oifs.keys() {
            let slot = check_vif(oif)?;
            if let Some(word) = ctl.ifset.get_mut(slot / 32) {
                *word |= 1 << (slot % 32);
            }
        }
        Ok(ctl)
    }

    fn del_mfc_request(key: SgKey<V6>) -> sys::Mf6cCtl {
        mf6cctl(key, 0)
    }

    fn sg_counters(fd: BorrowedFd<'_>, key: SgKey<V6>) -> io::Result<Option<MfcCounters>> {
        let mut req = sys::SiocSgReq6::new(
            sockaddr_in6(key.source.unwrap_or(V6::UNSPECIFIED)),
            sockaddr_in6(key.group),
        );
        let result = sys::get_sg_count6(fd, &mut req);
        looked_up(result, [req.pktcnt, req.bytecnt, req.wrong_if])
    }

    fn classify(bytes: &[u8]) -> Received<V6> {
        if !mrt6msg_is_upcall(bytes) {
            return Received::Packet(bytes.to_vec());
        }
        match Mrt6MsgRepr::parse(bytes).ok().and_then(|m| m.to_upcall()) {
            Some(upcall) => Received::Upcall(upcall),
            None => Received::Unrecognised(bytes.to_vec()),
        }
    }
}

fn sockaddr_in6(addr: std::net::Ipv6Addr) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr { s6_addr: addr.octets() },
        sin6_scope_id: 0,
    }
}

fn mf6cctl(key: SgKey<V6>, parent: usize) -> sys::Mf6cCtl {
    sys::Mf6cCtl {
        origin: sockaddr_in6(key.source.unwrap_or(V6::UNSPECIFIED)),
        mcastgrp: sockaddr_in6(key.group),
        parent: u16::try_from(parent).unwrap_or(0),
        ifset: [0; 8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hato_core::MfcOifs;
    use std::os::fd::AsFd;

    #[test]
    fn vifs_beyond_the_kernel_limit_are_refused_before_any_system_call() {
        let not_a_socket = std::fs::File::open("/dev/null").unwrap();
        let fd = not_a_socket.as_fd();
        let key = SgKey::<V4>::sg("198.18.0.1".parse().unwrap(), "239.0.0.1".parse().unwrap());
        let entry = MfcEntry { key, iif: VifId(0), oifs: MfcOifs::from([(VifId(32), 1)]) };
        assert_eq!(V4::add_mfc_request(&entry).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let vif = Vif { id: VifId(40), kind: VifKind::Register, ttl_threshold: 1 };
        assert_eq!(V6::add_vif(fd, &vif).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        let vif =
            Vif { id: VifId(1), kind: VifKind::Interface(hato_core::IfIndex(70_000)), ttl_threshold: 1 };
        assert_eq!(V6::add_vif(fd, &vif).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        // A valid request reaches the kernel, which refuses it on a file that is no socket.
        let request = V4::del_mfc_request(key);
        let refused = sys::setsockopt(fd, V4::LEVEL, sys::MRT_DEL_MFC, &request).unwrap_err();
        assert_eq!(refused.raw_os_error(), Some(libc::ENOTSOCK));
    }

    #[test]
    fn thresholds_stay_meaningful() {
        assert_eq!(clamp_threshold(0), 1);
        assert_eq!(clamp_threshold(1), 1);
        assert_eq!(clamp_threshold(255), 254);
    }

    #[test]
    fn classification() {
        let igmp_query =
            [0x46, 0xc0, 0, 0x20, 0, 0, 0x40, 0, 1, 2, 0, 0, 198, 18, 2, 1, 224, 0, 0, 1, 0x11, 0, 0, 0];
        assert_eq!(V4::classify(&igmp_query), Received::Packet(igmp_query.to_vec()));
        let mut unknown = [0u8; 20];
        unknown[8] = 9;
        assert_eq!(V4::classify(&unknown), Received::Unrecognised(unknown.to_vec()));
        let mut nocache = [0u8; 40];
        nocache[1] = 1;
        assert!(matches!(V6::classify(&nocache), Received::Upcall(hato_core::Upcall::NoCache { .. })));
    }
}
