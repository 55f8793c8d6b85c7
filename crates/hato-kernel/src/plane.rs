//! [`KernelPlane`]: the Linux multicast forwarding cache of one table, programmed through its
//! routing socket, as a [`ForwardingPlane`] for IPv4 and IPv6 alike.
//!
//! After [`KernelPlane::start_writer`], entry changes are deferred: `set_mfc` / `del_mfc` check
//! the entry and queue its `MRT_ADD_MFC` / `MRT_DEL_MFC` request, and a [`Writer`] thread applies
//! the requests in order on a clone of the routing socket's descriptor (the kernel checks the
//! socket, not the descriptor), so that the caller's protocol work and the kernel's ~1 µs per
//! entry overlap. Every other operation waits until the queued requests are applied. A failed
//! request comes back from [`ForwardingPlane::take_failures`]; the kernel refuses an
//! `MRT_ADD_MFC` only when it would create the entry (a replacement is updated in place), so a
//! failed install leaves no entry for its key.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hato_core::{
    ForwardingPlane, LateFailure, MfcChange, MfcCounters, MfcEntry, SgKey, Upcall, Vif, VifId, V4,
};
use rustc_hash::FxHashSet;

use crate::family::MrtFamily;
use crate::mroute_dump::{self, DumpError, DumpProgress};
use crate::sys;
use crate::writer::{Queued, Writer};

/// How long a counter dump may take before it is abandoned.
const DUMP_DEADLINE: Duration = Duration::from_secs(10);
/// Largest message read from either socket (an upcall with a whole 64 KiB packet fits).
const RECV_BUFFER_LEN: usize = 70_000;

/// Which kernel operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Open,
    Table(u32),
    Init,
    Assert,
    Pim,
    AddVif(VifId),
    DelVif(VifId),
    SetMfc,
    DelMfc,
    Flush,
    Dump,
    Recv,
}

/// A failed kernel operation.
#[derive(Debug)]
pub struct Error {
    pub op: Op,
    pub source: io::Error,
}

impl Error {
    fn new(op: Op) -> impl FnOnce(io::Error) -> Error {
        move |source| Error { op, source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.op, self.source)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// How to open a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneConfig {
    /// The table id; `None` for the family's default table (IPv4 253, IPv6 254).
    pub table: Option<u32>,
    /// `MRT_ASSERT`: WRONGVIF upcalls (rate-limited to one per entry every 3 s).
    pub assert: bool,
    /// `MRT_PIM`: PIM mode, WHOLEPKT upcalls for the register VIF and WRONGVIF for any VIF.
    pub pim: bool,
    /// With `pim`, a WRVIFWHOLE upcall (the whole packet) after each WRONGVIF upcall.
    pub wrong_vif_whole: bool,
}

impl Default for PlaneConfig {
    fn default() -> Self {
        PlaneConfig { table: None, assert: true, pim: false, wrong_vif_whole: false }
    }
}

/// A message read from the routing socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<A: hato_core::Afi> {
    /// A kernel upcall.
    Upcall(Upcall<A>),
    /// IPv4: an IGMP packet, from its IP header on, that arrived on the same socket. (IPv6 blocks
    /// ICMPv6 on the routing socket, so none arrive there.)
    Packet(Vec<u8>),
    /// An upcall of a type this code does not know.
    Unrecognised(Vec<u8>),
}

/// One kernel multicast routing table, owned for the life of the value (dropping it flushes
/// the table).
#[derive(Debug)]
pub struct KernelPlane<A: MrtFamily> {
    mrt: OwnedFd,
    rtnl: OwnedFd,
    /// The table id, `None` when the kernel has a single table for the family.
    table: Option<u32>,
    seq: u32,
    buf: Vec<u8>,
    /// The entries this plane installed, for reading a big table's counters entry by entry;
    /// kept by whichever thread applies the changes.
    installed: Arc<Mutex<FxHashSet<SgKey<A>>>>,
    /// Applies entry changes once started ([`KernelPlane::start_writer`]).
    writer: Option<Writer<MfcRequest<A>>>,
    family: PhantomData<A>,
}

/// A queued `MRT_ADD_MFC` / `MRT_DEL_MFC`.
#[derive(Debug)]
struct MfcRequest<A: MrtFamily> {
    key: SgKey<A>,
    change: MfcChange,
    request: A::MfcCtl,
}

impl<A: MrtFamily> Clone for MfcRequest<A> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A: MrtFamily> Copy for MfcRequest<A> {}

impl<A: MrtFamily> Queued for MfcRequest<A> {
    type Key = SgKey<A>;

    fn key(&self) -> SgKey<A> {
        self.key
    }
}

/// Keeps the installed keys after an applied change: an install that succeeded adds its key;
/// a delete, or an install that failed (the kernel refuses only to create an entry), removes it.
fn note_outcome<A: MrtFamily>(
    installed: &Mutex<FxHashSet<SgKey<A>>>,
    request: &MfcRequest<A>,
    result: &io::Result<()>,
) {
    let mut installed = lock(installed);
    match (request.change, result) {
        (MfcChange::Set, Ok(())) => installed.insert(request.key),
        _ => installed.remove(&request.key),
    };
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The set is consistent at every unlock: nothing panics while holding the lock.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<A: MrtFamily> MfcRequest<A> {
    fn apply(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        let name = match self.change {
            MfcChange::Set => sys::MRT_ADD_MFC,
            MfcChange::Delete => sys::MRT_DEL_MFC,
        };
        sys::setsockopt(fd, A::LEVEL, name, &self.request)
    }
}

fn change_op(change: MfcChange) -> Op {
    match change {
        MfcChange::Set => Op::SetMfc,
        MfcChange::Delete => Op::DelMfc,
    }
}

/// From this many installed entries on, counters are read by one `SIOCGETSGCNT` lookup per
/// entry rather than by a netlink dump: the kernel's dump restarts its walk for every datagram
/// (`mr_table_dump`), so its cost grows with the square of the table (0.2-0.5 s for 100,000
/// entries), while lookups cost about a microsecond each. The two meet near this size.
const LOOKUP_READ_FROM: usize = 16_384;

/// Looks up single IPv4 (S,G) entries of the default table (`SIOCGETSGCNT`): a hash lookup per
/// entry where a dump walks the whole table (and, resumed per datagram, walks it again from the
/// start each time). Usable beside the daemon that owns the table.
#[derive(Debug)]
pub struct MfcProbe {
    socket: OwnedFd,
}

impl MfcProbe {
    /// A probe in the calling thread's network namespace (a raw socket that receives nothing).
    pub fn open() -> Result<Self, Error> {
        let socket =
            sys::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW).map_err(Error::new(Op::Open))?;
        Ok(MfcProbe { socket })
    }

    /// The counters of the resolved entry `key`, `None` when the table has none.
    pub fn counters(&self, key: SgKey<V4>) -> Result<Option<MfcCounters>, Error> {
        V4::sg_counters(self.socket.as_fd(), key).map_err(Error::new(Op::Dump))
    }
}

impl<A: MrtFamily> KernelPlane<A> {
    /// Opens the routing socket and takes ownership of the table, in the calling thread's network
    /// namespace.
    pub fn open(config: PlaneConfig) -> Result<Self, Error> {
        let mrt = sys::socket(A::DOMAIN, libc::SOCK_RAW | libc::SOCK_NONBLOCK, A::PROTOCOL)
            .map_err(Error::new(Op::Open))?;
        let fd = mrt.as_fd();
        // MRT_TABLE must precede MRT_INIT. Without multiple-table support (ENOPROTOOPT) there is
        // one table.
        let wanted = config.table.unwrap_or(A::DEFAULT_TABLE);
        let table = match sys::setsockopt(fd, A::LEVEL, sys::MRT_TABLE, &wanted) {
            Ok(()) => Some(wanted),
            Err(e) if config.table.is_none() && e.raw_os_error() == Some(libc::ENOPROTOOPT) => None,
            Err(e) => return Err(Error { op: Op::Table(wanted), source: e }),
        };
        sys::setsockopt(fd, A::LEVEL, sys::MRT_INIT, &1).map_err(Error::new(Op::Init))?;
        A::prepare_socket(fd).map_err(Error::new(Op::Init))?;
        if config.assert {
            sys::setsockopt(fd, A::LEVEL, sys::MRT_ASSERT, &1).map_err(Error::new(Op::Assert))?;
        }
        if config.pim {
            let mode = if config.wrong_vif_whole { sys::IGMPMSG_WRVIFWHOLE } else { 1 };
            sys::setsockopt(fd, A::LEVEL, sys::MRT_PIM, &mode).map_err(Error::new(Op::Pim))?;
        }
        let rtnl = sys::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)
            .map_err(Error::new(Op::Open))?;
        sys::set_recv_timeout(rtnl.as_fd(), Duration::from_secs(2)).map_err(Error::new(Op::Open))?;
        Ok(KernelPlane {
            mrt,
            rtnl,
            table,
            seq: 0,
            buf: vec![0; RECV_BUFFER_LEN],
            installed: Arc::default(),
            writer: None,
            family: PhantomData,
        })
    }

    /// From now on, entry changes are applied by a thread of their own and their failures
    /// reported later (see the module documentation); until then each is applied in its call.
    /// The thread has the capabilities and user of the calling thread at this point: a daemon
    /// that drops privileges (per thread, capset(2)) starts the writer afterwards.
    pub fn start_writer(&mut self) -> Result<(), Error> {
        if self.writer.is_some() {
            return Ok(());
        }
        let fd = self.mrt.try_clone().map_err(Error::new(Op::Open))?;
        let installed = Arc::clone(&self.installed);
        let apply = move |request: &MfcRequest<A>| {
            let result = request.apply(fd.as_fd());
            note_outcome(&installed, request, &result);
            result
        };
        self.writer = Some(Writer::spawn("hato-mfc-writer", apply).map_err(Error::new(Op::Open))?);
        Ok(())
    }

    /// Waits until every queued entry change is applied.
    fn wait_applied(&mut self) {
        if let Some(writer) = &mut self.writer {
            writer.wait_applied();
        }
    }

    /// Applies an entry change now, or queues it for the writer thread.
    fn change(&mut self, request: MfcRequest<A>) -> Result<(), Error> {
        match &mut self.writer {
            Some(writer) => {
                writer.push(request);
                Ok(())
            }
            None => {
                let result = request.apply(self.mrt.as_fd());
                note_outcome(&self.installed, &request, &result);
                result.map_err(Error::new(change_op(request.change)))
            }
        }
    }

    /// The table this plane owns; `None` when the kernel has a single table for the family.
    pub fn table(&self) -> Option<u32> {
        self.table
    }

    /// Reads one message from the routing socket without blocking; `None` when there is none.
    /// Poll [`AsFd::as_fd`] for readability to know when to call it.
    pub fn recv(&mut self) -> Result<Option<Received<A>>, Error> {
        let n =
            sys::recv(self.mrt.as_fd(), &mut self.buf, libc::MSG_DONTWAIT).map_err(Error::new(Op::Recv))?;
        Ok(n.map(|n| A::classify(self.buf.get(..n).unwrap_or(&[]))))
    }

    fn dump(&mut self) -> Result<BTreeMap<SgKey<A>, MfcCounters>, Error> {
        let dump_err = |e: DumpError| {
            let source = match e {
                DumpError::Kernel(errno) => io::Error::from_raw_os_error(errno.saturating_neg()),
                DumpError::Malformed => io::Error::new(io::ErrorKind::InvalidData, "malformed dump"),
            };
            Error { op: Op::Dump, source }
        };
        self.seq = self.seq.wrapping_add(1);
        let request = mroute_dump::request(A::RTNL_FAMILY, self.seq);
        sys::send(self.rtnl.as_fd(), &request).map_err(Error::new(Op::Dump))?;
        let mut out = BTreeMap::new();
        let deadline = Instant::now() + DUMP_DEADLINE;
        while Instant::now() < deadline {
            let n = sys::recv(self.rtnl.as_fd(), &mut self.buf, 0)
                .map_err(Error::new(Op::Dump))?
                .ok_or_else(|| Error { op: Op::Dump, source: io::ErrorKind::TimedOut.into() })?;
            let datagram = self.buf.get(..n).unwrap_or(&[]);
            match mroute_dump::parse_datagram::<A>(datagram, self.seq, self.table, &mut out)
                .map_err(dump_err)?
            {
                DumpProgress::Done => return Ok(out),
                DumpProgress::More => {}
            }
        }
        Err(Error { op: Op::Dump, source: io::ErrorKind::TimedOut.into() })
    }
}

impl<A: MrtFamily> AsFd for KernelPlane<A> {
    /// The routing socket, to poll for upcalls.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.mrt.as_fd()
    }
}

impl<A: MrtFamily> ForwardingPlane<A> for KernelPlane<A> {
    type Error = Error;

    fn add_vif(&mut self, vif: &Vif) -> Result<(), Error> {
        self.wait_applied();
        A::add_vif(self.mrt.as_fd(), vif).map_err(Error::new(Op::AddVif(vif.id)))
    }

    fn del_vif(&mut self, id: VifId) -> Result<(), Error> {
        self.wait_applied();
        A::del_vif(self.mrt.as_fd(), id).map_err(Error::new(Op::DelVif(id)))
    }

    fn set_mfc(&mut self, entry: &MfcEntry<A>) -> Result<(), Error> {
        let request = A::add_mfc_request(entry).map_err(Error::new(Op::SetMfc))?;
        self.change(MfcRequest { key: entry.key, change: MfcChange::Set, request })
    }

    fn del_mfc(&mut self, key: SgKey<A>) -> Result<(), Error> {
        self.change(MfcRequest { key, change: MfcChange::Delete, request: A::del_mfc_request(key) })
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.wait_applied();
        let all =
            sys::MRT_FLUSH_MFC | sys::MRT_FLUSH_MFC_STATIC | sys::MRT_FLUSH_VIFS | sys::MRT_FLUSH_VIFS_STATIC;
        lock(&self.installed).clear();
        sys::setsockopt(self.mrt.as_fd(), A::LEVEL, sys::MRT_FLUSH, &all).map_err(Error::new(Op::Flush))
    }

    /// A dump for a small table, one lookup per installed entry for a big one
    /// ([`LOOKUP_READ_FROM`]).
    fn counters(&mut self) -> Result<BTreeMap<SgKey<A>, MfcCounters>, Error> {
        self.wait_applied();
        let installed: Vec<SgKey<A>> = lock(&self.installed).iter().copied().collect();
        if installed.len() < LOOKUP_READ_FROM {
            return self.dump();
        }
        let mut out = BTreeMap::new();
        for key in &installed {
            if let Some(counters) = A::sg_counters(self.mrt.as_fd(), *key).map_err(Error::new(Op::Dump))? {
                out.insert(*key, counters);
            }
        }
        Ok(out)
    }

    fn entry_counters(&mut self, key: SgKey<A>) -> Result<Option<MfcCounters>, Error> {
        self.wait_applied();
        A::sg_counters(self.mrt.as_fd(), key).map_err(Error::new(Op::Dump))
    }

    fn submit(&mut self) {
        if let Some(writer) = &mut self.writer {
            writer.submit();
        }
    }

    fn take_failures(&mut self) -> Vec<LateFailure<A, Error>> {
        let Some(writer) = &mut self.writer else { return Vec::new() };
        writer
            .take_failures()
            .into_iter()
            .map(|(request, source)| LateFailure {
                key: request.key,
                change: request.change,
                error: Error { op: change_op(request.change), source },
            })
            .collect()
    }
}
