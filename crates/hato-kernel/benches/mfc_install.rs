//! Installs 100,000 (S,G) entries in a fresh namespace, IPv4 and IPv6, through `KernelPlane` (in
//! its calls, then with its writer thread) and through a bare loop of `setsockopt(MRT_ADD_MFC)`,
//! and reads them back with one counter dump.
//! Prints entries per second and the worst time of a 1,000-entry chunk (what a caller that
//! installs in chunks between other work waits at most). Needs root.
//!
//! `cargo bench -p hato-kernel --bench mfc_install`

#[path = "../tests/support/lab.rs"]
mod lab;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use hato_core::{Afi, ForwardingPlane, IfIndex, MfcEntry, MfcOifs, SgKey, Vif, VifId, VifKind, V4, V6};
use hato_kernel::{sys, KernelPlane, MrtFamily, PlaneConfig};
use lab::{in_ns, is_root, Lab};

const ENTRIES: u32 = 100_000;
const CHUNK: usize = 1_000;

trait BenchFamily: MrtFamily {
    fn bench_key(i: u32) -> SgKey<Self>;
    /// The bare kernel call for entry `i`: parent VIF 0, outgoing VIF 1.
    fn bare_add(fd: std::os::fd::BorrowedFd<'_>, i: u32) -> std::io::Result<()>;
}

impl BenchFamily for V4 {
    fn bench_key(i: u32) -> SgKey<V4> {
        let [_, b, c, d] = i.to_be_bytes();
        SgKey::sg(Ipv4Addr::new(198, 18, 0, 1 + b), Ipv4Addr::new(239, 1, c, d))
    }
    fn bare_add(fd: std::os::fd::BorrowedFd<'_>, i: u32) -> std::io::Result<()> {
        let key = Self::bench_key(i);
        let mut ttls = [0u8; sys::MAXVIFS];
        ttls[1] = 1;
        let ctl = sys::MfcCtl {
            origin: libc::in_addr {
                s_addr: u32::from_ne_bytes(key.source.unwrap_or(V4::UNSPECIFIED).octets()),
            },
            mcastgrp: libc::in_addr { s_addr: u32::from_ne_bytes(key.group.octets()) },
            parent: 0,
            ttls,
            pkt_cnt: 0,
            byte_cnt: 0,
            wrong_if: 0,
            expire: 0,
        };
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_ADD_MFC, &ctl)
    }
}

fn sin6(addr: Ipv6Addr) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr { s6_addr: addr.octets() },
        sin6_scope_id: 0,
    }
}

impl BenchFamily for V6 {
    fn bench_key(i: u32) -> SgKey<V6> {
        let source = Ipv6Addr::new(0xfd00, 1, 0, 0, 0, 0, 0, 2 + (i >> 16) as u16);
        SgKey::sg(source, Ipv6Addr::new(0xff3e, 0, 0, 0, 0, 1, (i >> 16) as u16, i as u16))
    }
    fn bare_add(fd: std::os::fd::BorrowedFd<'_>, i: u32) -> std::io::Result<()> {
        let key = Self::bench_key(i);
        let ctl = sys::Mf6cCtl {
            origin: sin6(key.source.unwrap_or(V6::UNSPECIFIED)),
            mcastgrp: sin6(key.group),
            parent: 0,
            ifset: [0b10, 0, 0, 0, 0, 0, 0, 0],
        };
        sys::setsockopt(fd, Self::LEVEL, sys::MRT_ADD_MFC, &ctl)
    }
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn flush_entries<A: MrtFamily>(plane: &KernelPlane<A>) {
    sys::setsockopt(
        plane.as_fd(),
        A::LEVEL,
        sys::MRT_FLUSH,
        &(sys::MRT_FLUSH_MFC | sys::MRT_FLUSH_MFC_STATIC),
    )
    .expect("flush entries");
}

fn run<A: BenchFamily>(name: &str) {
    let lab = Lab::router_only();
    let (mut plane, a0, a1) = in_ns(&lab.router, || {
        let plane = KernelPlane::<A>::open(PlaneConfig::default()).expect("open plane");
        (plane, sys::if_nametoindex("a0").unwrap(), sys::if_nametoindex("a1").unwrap())
    });
    for (id, ifindex) in [(0, a0), (1, a1)] {
        plane
            .add_vif(&Vif { id: VifId(id), kind: VifKind::Interface(IfIndex(ifindex)), ttl_threshold: 1 })
            .unwrap();
    }

    // Bare loop: the floor.
    let start = Instant::now();
    for i in 0..ENTRIES {
        A::bare_add(plane.as_fd(), i).expect("bare MRT_ADD_MFC");
    }
    let bare = start.elapsed();
    flush_entries(&plane);

    // KernelPlane, from typed entries built beforehand, in chunks.
    let entries: Vec<MfcEntry<A>> = (0..ENTRIES)
        .map(|i| MfcEntry { key: A::bench_key(i), iif: VifId(0), oifs: MfcOifs::from([(VifId(1), 1)]) })
        .collect();
    let mut worst_chunk = Duration::ZERO;
    let start = Instant::now();
    for chunk in entries.chunks(CHUNK) {
        let chunk_start = Instant::now();
        for entry in chunk {
            plane.set_mfc(entry).expect("set_mfc");
        }
        worst_chunk = worst_chunk.max(chunk_start.elapsed());
    }
    let typed = start.elapsed();

    let start = Instant::now();
    let counters = plane.counters().expect("dump");
    let dump = start.elapsed();
    assert_eq!(counters.len(), entries.len(), "dump lists every entry");
    flush_entries(&plane);

    // KernelPlane with its writer thread: what the caller spends, and when all is applied.
    plane.start_writer().expect("writer thread");
    let start = Instant::now();
    for chunk in entries.chunks(CHUNK) {
        for entry in chunk {
            plane.set_mfc(entry).expect("set_mfc");
        }
        plane.submit();
    }
    let queued = start.elapsed();
    let last = entries.last().expect("entries").key;
    assert!(plane.entry_counters(last).expect("lookup").is_some(), "applied by the barrier");
    let deferred = start.elapsed();
    assert!(plane.take_failures().is_empty());

    let start = Instant::now();
    for entry in &entries {
        plane.del_mfc(entry.key).expect("del_mfc");
    }
    assert!(plane.entry_counters(last).expect("lookup").is_none(), "removed by the barrier");
    let delete = start.elapsed();

    let n = entries.len();
    println!(
        "{name}: {n} entries | bare MRT_ADD_MFC loop {:.0}/s ({:.0} ms) | KernelPlane::set_mfc {:.0}/s ({:.0} ms, \
         worst {CHUNK}-entry chunk {:.2} ms) | one counter dump {:.0} ms | with the writer thread: queued in \
         {:.0} ms, applied after {:.0} ms | del_mfc {:.0}/s",
        per_second(n, bare),
        bare.as_secs_f64() * 1e3,
        per_second(n, typed),
        typed.as_secs_f64() * 1e3,
        worst_chunk.as_secs_f64() * 1e3,
        dump.as_secs_f64() * 1e3,
        queued.as_secs_f64() * 1e3,
        deferred.as_secs_f64() * 1e3,
        per_second(n, delete),
    );
    drop(plane);
    drop(lab);
}

fn main() {
    if !is_root() {
        println!("SKIPPED: the benchmark needs root for its namespace");
        return;
    }
    run::<V4>("IPv4");
    run::<V6>("IPv6");
}
