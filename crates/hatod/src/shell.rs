//! The daemon's shell: one thread, one `poll(2)` loop over the netlink watcher, the two routing
//! sockets (upcalls), the IGMP, MLD and PIM sockets, the control socket and its clients, and a
//! signalfd. Everything it
//! learns becomes a router input; everything the router asks for is carried out here.
//!
//! IGMP is read from a raw IGMP socket rather than the IPv4 routing socket, because only the
//! former says (`IP_PKTINFO`) on which interface a report arrived.
//!
//! Signals: HUP reloads the configuration (applied as a diff; a file with errors is refused as a
//! whole and the running configuration stays), INT / TERM shut down (PIM says goodbye, then the
//! router withdraws its entries and VIFs), USR1 / USR2 write the routing table / forwarding cache to the runtime
//! directory.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hato_config::{check_startup, default_config, Config, ConfigDiff};
use hato_control::{ReloadView, Request, Response, StatusView, SOCKET_NAME};
use std::net::IpAddr;

use hato_core::{Afi, IfIndex, Instant, V4, V6};
use hato_kernel::netlink::{NetlinkEvent, NetlinkWatcher, WatcherConfig};
use hato_kernel::socket::ProtocolSocket;
use hato_kernel::{KernelPlane, PlaneConfig, Received};
use hato_router::{describe_diff, Input, Output, ProtocolPacket, Router, SocketKind};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::control::ControlServer;
use crate::pacing::CounterPacing;
use crate::{dump, translate, Cli, DEFAULT_RUNTIME_DIR};

type KernelRouter = Router<KernelPlane<V4>, KernelPlane<V6>>;

/// How long the first netlink dump may take.
const STARTUP_DUMP_DEADLINE: Duration = Duration::from_secs(10);
/// Messages read from one socket per loop turn, so that no source starves the others.
const READS_PER_TURN: usize = 256;
/// The longest poll timeout.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// The shortest wait for a deadline still ahead: timers due within it fire together in one loop
/// turn. With 100,000 (S,G) Join and Expiry timers spread over a 60 s period a deadline falls
/// every half millisecond; waking for each costs more than the timers themselves. Protocol timers
/// count in seconds (RFC 7761 §4.11), so 10 ms late is nothing to them.
const TIMER_SLACK: Duration = Duration::from_millis(10);

/// How long to poll before a deadline `left` away: nothing when it is due (work is pending),
/// otherwise at least [`TIMER_SLACK`], in whole milliseconds rounded up (poll(2) counts
/// milliseconds; a wait rounded down to zero would spin until the deadline passes), and at most
/// [`MAX_WAIT`].
fn timer_wait(left: Duration) -> Duration {
    if left.is_zero() {
        return Duration::ZERO;
    }
    let millis = left.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(millis).unwrap_or(u64::MAX)).clamp(TIMER_SLACK, MAX_WAIT)
}

/// CPU time (user and system) of the calling thread: what a piece of work cost, however busy the
/// machine (zero if the clock cannot be read, which keeps the caller's pauses at their shortest).
fn thread_cpu_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, |t| {
        Duration::new(u64::try_from(t.tv_sec()).unwrap_or(0), u32::try_from(t.tv_nsec()).unwrap_or(0))
    })
}

/// Reads and validates a configuration file; the error names file and line.
pub fn read_config(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    hato_config::load(&path.display().to_string(), &text).map_err(|errors| errors.to_string())
}

/// The monotonic clock as router time.
#[derive(Debug)]
struct Clock(std::time::Instant);

impl Clock {
    fn now(&self) -> Instant {
        Instant::from_origin(self.0.elapsed())
    }
}

struct Daemon {
    clock: Clock,
    router: KernelRouter,
    netlink: NetlinkWatcher,
    igmp: Option<ProtocolSocket<V4>>,
    mld: Option<ProtocolSocket<V6>>,
    pim4: Option<ProtocolSocket<V4>>,
    pim6: Option<ProtocolSocket<V6>>,
    /// Whole-packet senders, for the data the RP decapsulates from Registers.
    raw4: Option<ProtocolSocket<V4>>,
    raw6: Option<ProtocolSocket<V6>>,
    control: ControlServer,
    signals: SignalFd,
    config_path: Option<PathBuf>,
    runtime_dir: PathBuf,
    counter_pacing: CounterPacing,
    recv_buffer: Vec<u8>,
    stop: bool,
}

/// Reads netlink until the first complete dump; returns its events.
fn initial_dump(netlink: &mut NetlinkWatcher) -> Result<Vec<NetlinkEvent>, String> {
    let deadline = std::time::Instant::now() + STARTUP_DUMP_DEADLINE;
    let mut events = Vec::new();
    while !events.contains(&NetlinkEvent::Synced) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err("netlink: the initial dump did not complete".into());
        }
        let mut fds = [PollFd::new(netlink.as_fd(), PollFlags::POLLIN)];
        let timeout = PollTimeout::try_from(left.min(MAX_WAIT)).unwrap_or(PollTimeout::ZERO);
        poll(&mut fds, timeout).map_err(|e| format!("poll: {e}"))?;
        netlink.poll(&mut events).map_err(|e| format!("netlink: {e}"))?;
    }
    Ok(events)
}

/// Starts the daemon and runs it until INT / TERM.
pub fn run(cli: &Cli, file_config: Option<Config>) -> Result<(), String> {
    let clock = Clock(std::time::Instant::now());
    let mut mask = SigSet::empty();
    for signal in [Signal::SIGHUP, Signal::SIGINT, Signal::SIGTERM, Signal::SIGUSR1, Signal::SIGUSR2] {
        mask.add(signal);
    }
    mask.thread_block().map_err(|e| format!("blocking signals: {e}"))?;
    let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;

    let mut netlink = NetlinkWatcher::open(&WatcherConfig::default()).map_err(|e| format!("netlink: {e}"))?;
    let events = initial_dump(&mut netlink)?;
    let system = translate::system_interfaces(&events);
    let config = file_config.unwrap_or_else(|| default_config(&system));
    let plan = check_startup(&config, &system).map_err(|e| e.to_string())?;
    for warning in &plan.warnings {
        tracing::warn!("{warning}");
    }

    let runtime_dir = cli.runtime_dir.clone().unwrap_or_else(|| {
        let configured = PathBuf::from(&config.global.runtime_dir);
        if configured.as_os_str().is_empty() {
            PathBuf::from(DEFAULT_RUNTIME_DIR)
        } else {
            configured
        }
    });
    std::fs::create_dir_all(&runtime_dir)
        .map_err(|e| format!("cannot create {}: {e}", runtime_dir.display()))?;
    let socket_path = cli.socket.clone().unwrap_or_else(|| runtime_dir.join(SOCKET_NAME));
    let control = ControlServer::bind(&socket_path)
        .map_err(|e| format!("control socket {}: {e}", socket_path.display()))?;

    // MRT_PIM: WHOLEPKT upcalls for the register VIF and WRONGVIF upcalls on every VIF.
    let plane_config = PlaneConfig { pim: true, ..PlaneConfig::default() };
    let plane4 = config
        .global
        .ipv4
        .then(|| KernelPlane::<V4>::open(plane_config))
        .transpose()
        .map_err(|e| format!("IPv4 multicast routing table: {e}"))?;
    let plane6 = config
        .global
        .ipv6
        .then(|| KernelPlane::<V6>::open(plane_config))
        .transpose()
        .map_err(|e| format!("IPv6 multicast routing table: {e}"))?;
    let igmp = config
        .global
        .ipv4
        .then(ProtocolSocket::<V4>::igmp)
        .transpose()
        .map_err(|e| format!("IGMP socket: {e}"))?;
    let mld = config
        .global
        .ipv6
        .then(ProtocolSocket::<V6>::mld)
        .transpose()
        .map_err(|e| format!("MLD socket: {e}"))?;
    let v4 = config.global.ipv4;
    let v6 = config.global.ipv6;
    let pim4 = v4.then(ProtocolSocket::<V4>::pim).transpose().map_err(|e| format!("PIM socket: {e}"))?;
    let pim6 = v6.then(ProtocolSocket::<V6>::pim).transpose().map_err(|e| format!("PIM6 socket: {e}"))?;
    let raw4 =
        v4.then(ProtocolSocket::<V4>::raw_ip).transpose().map_err(|e| format!("raw IPv4 socket: {e}"))?;
    let raw6 =
        v6.then(ProtocolSocket::<V6>::raw_ip).transpose().map_err(|e| format!("raw IPv6 socket: {e}"))?;

    let now = clock.now();
    let mut router = Router::with_seed(now, config, plane4, plane6, random_seed());
    router.set_log_level(crate::logging::router_level());
    let mut daemon = Daemon {
        clock,
        router,
        netlink,
        igmp,
        mld,
        pim4,
        pim6,
        raw4,
        raw6,
        control,
        signals,
        config_path: cli.config.clone(),
        runtime_dir: runtime_dir.clone(),
        counter_pacing: CounterPacing::new(now),
        recv_buffer: vec![0; 65_536],
        stop: false,
    };
    for event in &events {
        daemon.netlink_event(event);
    }
    let user = cli.user.clone().or_else(|| daemon.router.config().global.user.clone());
    let privileges = crate::privileges::drop_privileges(user.as_deref(), &runtime_dir)?;
    tracing::info!("running with {privileges}");
    // After the privileges went, as capabilities are per thread; the writer threads inherit the
    // blocked signals, so that signals still reach only the signalfd.
    if let Some(plane) = daemon.router.plane4_mut() {
        plane.start_writer().map_err(|e| format!("IPv4 forwarding cache writer: {e}"))?;
    }
    if let Some(plane) = daemon.router.plane6_mut() {
        plane.start_writer().map_err(|e| format!("IPv6 forwarding cache writer: {e}"))?;
    }
    let pidfile = cli.pidfile.clone().unwrap_or_else(|| runtime_dir.join("hatod.pid"));
    std::fs::write(&pidfile, format!("{}\n", std::process::id()))
        .map_err(|e| format!("cannot write {}: {e}", pidfile.display()))?;
    tracing::info!(
        "hatod {} started: {} VIFs planned, control socket {}",
        env!("CARGO_PKG_VERSION"),
        plan.vifs.len(),
        socket_path.display()
    );
    crate::notify::ready(&format!("running: {} VIFs planned", plan.vifs.len()));
    let result = daemon.run();
    crate::notify::stopping();
    let mut out = Vec::new();
    daemon.router.shutdown(daemon.clock.now(), &mut out);
    daemon.carry_out(out);
    let _ = std::fs::remove_file(&pidfile);
    tracing::info!("hatod stopped");
    result
}

/// What a polled fd is.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Netlink,
    Signals,
    Listener,
    Mrt4,
    Mrt6,
    Protocol(SocketKind),
    Client,
}

/// What the poll said is readable.
#[derive(Debug, Default)]
struct Ready {
    netlink: bool,
    mrt4: bool,
    mrt6: bool,
    protocols: Vec<SocketKind>,
    signals: bool,
    listener: bool,
    clients: Vec<bool>,
}

impl Daemon {
    fn run(&mut self) -> Result<(), String> {
        while !self.stop {
            let mut ready = self.wait()?;
            if ready.signals {
                self.signals();
            }
            if ready.netlink {
                self.read_netlink();
            }
            if ready.mrt4 {
                self.read_mrt4();
            }
            if ready.mrt6 {
                self.read_mrt6();
            }
            for kind in std::mem::take(&mut ready.protocols) {
                self.read_protocol(kind);
            }
            if ready.listener {
                self.control.accept();
            }
            if ready.clients.iter().any(|r| *r) {
                self.serve(&ready.clients);
            }
            self.timers();
        }
        Ok(())
    }

    /// Polls every fd until something is readable or the router's next deadline.
    fn wait(&mut self) -> Result<Ready, String> {
        let now = self.clock.now();
        let deadline =
            [self.router.poll_at(), Some(self.counter_pacing.deadline())].into_iter().flatten().min();
        let wait = deadline.map_or(MAX_WAIT, |at| timer_wait(at.saturating_since(now)));
        let mut slots: Vec<Slot> = vec![Slot::Netlink, Slot::Signals, Slot::Listener];
        let mut fds: Vec<PollFd<'_>> = vec![
            PollFd::new(self.netlink.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.signals.as_fd(), PollFlags::POLLIN),
            PollFd::new(self.control.listener_fd(), PollFlags::POLLIN),
        ];
        if let Some(plane) = self.router.plane4() {
            fds.push(PollFd::new(plane.as_fd(), PollFlags::POLLIN));
            slots.push(Slot::Mrt4);
        }
        if let Some(plane) = self.router.plane6() {
            fds.push(PollFd::new(plane.as_fd(), PollFlags::POLLIN));
            slots.push(Slot::Mrt6);
        }
        let protocol_fds = [
            (SocketKind::Igmp, self.igmp.as_ref().map(AsFd::as_fd)),
            (SocketKind::Mld, self.mld.as_ref().map(AsFd::as_fd)),
            (SocketKind::Pim4, self.pim4.as_ref().map(AsFd::as_fd)),
            (SocketKind::Pim6, self.pim6.as_ref().map(AsFd::as_fd)),
        ];
        for (kind, fd) in protocol_fds {
            if let Some(fd) = fd {
                fds.push(PollFd::new(fd, PollFlags::POLLIN));
                slots.push(Slot::Protocol(kind));
            }
        }
        for fd in self.control.client_fds() {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
            slots.push(Slot::Client);
        }
        let timeout = PollTimeout::try_from(wait.as_millis()).unwrap_or(PollTimeout::ZERO);
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(Ready::default()),
            Err(e) => return Err(format!("poll: {e}")),
        }
        let readable = |fd: &PollFd<'_>| {
            fd.revents()
                .is_some_and(|r| r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR))
        };
        let mut ready = Ready::default();
        for (fd, slot) in fds.iter().zip(&slots) {
            let on = readable(fd);
            match slot {
                Slot::Netlink => ready.netlink = on,
                Slot::Signals => ready.signals = on,
                Slot::Listener => ready.listener = on,
                Slot::Mrt4 => ready.mrt4 = on,
                Slot::Mrt6 => ready.mrt6 = on,
                Slot::Protocol(kind) => {
                    if on {
                        ready.protocols.push(*kind);
                    }
                }
                Slot::Client => ready.clients.push(on),
            }
        }
        Ok(ready)
    }

    fn handle(&mut self, input: Input) {
        crate::logging::input(&input);
        let mut out = Vec::new();
        self.router.handle(self.clock.now(), input, &mut out);
        self.carry_out(out);
    }

    fn carry_out(&mut self, out: Vec<Output>) {
        for output in out {
            crate::logging::output(&output);
            match output {
                Output::Log(event) => crate::logging::router_event(&event),
                Output::Join { socket, group, ifindex } => {
                    if let Some(Err(e)) = self.membership(socket, group, ifindex, true) {
                        tracing::warn!("join {group} on {ifindex} ({socket:?}): {e}");
                    }
                }
                Output::Leave { socket, group, ifindex } => {
                    if let Some(Err(e)) = self.membership(socket, group, ifindex, false) {
                        tracing::debug!("leave {group} on {ifindex} ({socket:?}): {e}");
                    }
                }
                Output::Send { socket, ifindex, source, destination, payload } => {
                    match self.send(socket, &payload, destination, ifindex, source) {
                        Some(Err(e)) => {
                            tracing::warn!("send to {destination} on {ifindex} ({socket:?}): {e}")
                        }
                        None => tracing::warn!("no {socket:?} socket to send to {destination}"),
                        Some(Ok(_)) => {}
                    }
                }
                Output::Forward { key, oifs, packet } => {
                    for ifindex in oifs {
                        let result = match packet.first().map(|b| b >> 4) {
                            Some(4) => self.raw4.as_ref().map(|s| s.send_packet(&packet, ifindex)),
                            Some(6) => self.raw6.as_ref().map(|s| s.send_packet(&packet, ifindex)),
                            _ => None,
                        };
                        if let Some(Err(e)) = result {
                            tracing::warn!("forward {key} on {ifindex}: {e}");
                        }
                    }
                }
            }
        }
    }

    /// Joins (`join`) or leaves `group` on `ifindex` with the socket of `kind`; `None` when there
    /// is no such socket or the group is of the other family.
    fn membership(
        &self,
        kind: SocketKind,
        group: IpAddr,
        ifindex: IfIndex,
        join: bool,
    ) -> Option<std::io::Result<()>> {
        fn op<A: Afi>(
            socket: &ProtocolSocket<A>,
            group: IpAddr,
            ifindex: IfIndex,
            join: bool,
        ) -> Option<std::io::Result<()>> {
            let group = A::from_ip(group)?;
            Some(if join { socket.join(group, ifindex) } else { socket.leave(group, ifindex) })
        }
        match kind {
            SocketKind::Igmp => op(self.igmp.as_ref()?, group, ifindex, join),
            SocketKind::Mld => op(self.mld.as_ref()?, group, ifindex, join),
            SocketKind::Pim4 => op(self.pim4.as_ref()?, group, ifindex, join),
            SocketKind::Pim6 => op(self.pim6.as_ref()?, group, ifindex, join),
        }
    }

    /// Sends one protocol message with the socket of `kind`.
    fn send(
        &self,
        kind: SocketKind,
        payload: &[u8],
        destination: IpAddr,
        ifindex: IfIndex,
        source: Option<IpAddr>,
    ) -> Option<std::io::Result<usize>> {
        fn op<A: Afi>(
            socket: &ProtocolSocket<A>,
            payload: &[u8],
            destination: IpAddr,
            ifindex: IfIndex,
            source: Option<IpAddr>,
        ) -> Option<std::io::Result<usize>> {
            let destination = A::from_ip(destination)?;
            Some(socket.send(payload, destination, Some(ifindex), source.and_then(A::from_ip)))
        }
        match kind {
            SocketKind::Igmp => op(self.igmp.as_ref()?, payload, destination, ifindex, source),
            SocketKind::Mld => op(self.mld.as_ref()?, payload, destination, ifindex, source),
            SocketKind::Pim4 => op(self.pim4.as_ref()?, payload, destination, ifindex, source),
            SocketKind::Pim6 => op(self.pim6.as_ref()?, payload, destination, ifindex, source),
        }
    }

    fn netlink_event(&mut self, event: &NetlinkEvent) {
        tracing::trace!(target: crate::logging::NETLINK, "{event}");
        if let Some(input) = translate::input(event) {
            self.handle(input);
        }
    }

    fn read_netlink(&mut self) {
        let mut events = Vec::new();
        if let Err(e) = self.netlink.poll(&mut events) {
            tracing::warn!("netlink: {e}");
        }
        for event in &events {
            self.netlink_event(event);
        }
    }

    fn read_mrt4(&mut self) {
        for _ in 0..READS_PER_TURN {
            let Some(plane) = self.router.plane4_mut() else { return };
            match plane.recv() {
                Ok(Some(Received::Upcall(upcall))) => {
                    tracing::debug!(target: crate::logging::MROUTE, "{upcall}");
                    self.handle(Input::Upcall4(upcall));
                }
                // IGMP is read with its arrival interface from the IGMP socket.
                Ok(Some(Received::Packet(_))) => {}
                Ok(Some(Received::Unrecognised(bytes))) => {
                    tracing::debug!(
                        "unrecognised message of {} octets on the IPv4 routing socket",
                        bytes.len()
                    );
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("IPv4 routing socket: {e}");
                    return;
                }
            }
        }
    }

    fn read_mrt6(&mut self) {
        for _ in 0..READS_PER_TURN {
            let Some(plane) = self.router.plane6_mut() else { return };
            match plane.recv() {
                Ok(Some(Received::Upcall(upcall))) => {
                    tracing::debug!(target: crate::logging::MROUTE, "{upcall}");
                    self.handle(Input::Upcall6(upcall));
                }
                Ok(Some(Received::Packet(_) | Received::Unrecognised(_))) => {}
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("IPv6 routing socket: {e}");
                    return;
                }
            }
        }
    }

    /// Reads the protocol socket of `kind`.
    fn read_protocol(&mut self, kind: SocketKind) {
        for _ in 0..READS_PER_TURN {
            let buffer = &mut self.recv_buffer;
            let received = match kind {
                SocketKind::Igmp => self.igmp.as_ref().map(|s| receive_packet(s, buffer, kind)),
                SocketKind::Mld => self.mld.as_ref().map(|s| receive_packet(s, buffer, kind)),
                SocketKind::Pim4 => self.pim4.as_ref().map(|s| receive_packet(s, buffer, kind)),
                SocketKind::Pim6 => self.pim6.as_ref().map(|s| receive_packet(s, buffer, kind)),
            };
            match received {
                None | Some(Ok(None)) => return,
                Some(Ok(Some(packet))) => self.handle(Input::Packet(packet)),
                Some(Err(e)) => {
                    tracing::warn!("{kind:?} socket: {e}");
                    return;
                }
            }
        }
    }

    fn signals(&mut self) {
        for _ in 0..16 {
            let info = match self.signals.read_signal() {
                Ok(Some(info)) => info,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!("signalfd: {e}");
                    return;
                }
            };
            match Signal::try_from(info.ssi_signo as i32) {
                Ok(Signal::SIGHUP) => {
                    if let Err(message) = self.reload() {
                        tracing::error!("reload refused, keeping the running configuration: {message}");
                    }
                }
                Ok(Signal::SIGINT | Signal::SIGTERM) => {
                    tracing::info!("shutting down");
                    self.stop = true;
                }
                Ok(Signal::SIGUSR1) => self.dump("hatod.dump", true),
                Ok(Signal::SIGUSR2) => self.dump("hatod.cache", false),
                Ok(other) => tracing::debug!("ignoring {other}"),
                Err(e) => tracing::debug!("unknown signal: {e}"),
            }
        }
    }

    /// Re-reads the configuration and applies the difference; nothing changes on error.
    fn reload(&mut self) -> Result<ReloadView, String> {
        let _reloading = crate::notify::Reloading::begin();
        let new = match &self.config_path {
            Some(path) => read_config(path)?,
            None => {
                let system: Vec<hato_config::SystemInterface> = self
                    .router
                    .interfaces()
                    .iter()
                    .map(|i| hato_config::SystemInterface {
                        name: i.link.name.clone(),
                        multicast: i.link.multicast,
                        loopback: i.link.loopback,
                        up: i.link.up,
                        addresses: i.address_list(),
                    })
                    .collect();
                default_config(&system)
            }
        };
        let diff = ConfigDiff::between(self.router.config(), &new);
        let mut out = Vec::new();
        self.router.apply_config(self.clock.now(), &new, &diff, &mut out);
        self.carry_out(out);
        Ok(ReloadView {
            config_file: self.config_path.as_ref().map(|p| p.display().to_string()),
            changes: describe_diff(&diff),
        })
    }

    /// Reads the forwarding caches' counters into the router.
    fn dump_counters(&mut self) {
        if let Some(plane) = self.router.plane4_mut() {
            match hato_core::ForwardingPlane::counters(plane) {
                Ok(counters) => self.handle(Input::Counters4(counters)),
                Err(e) => tracing::warn!("IPv4 counters: {e}"),
            }
        }
        if let Some(plane) = self.router.plane6_mut() {
            match hato_core::ForwardingPlane::counters(plane) {
                Ok(counters) => self.handle(Input::Counters6(counters)),
                Err(e) => tracing::warn!("IPv6 counters: {e}"),
            }
        }
    }

    fn timers(&mut self) {
        let now = self.clock.now();
        if self.counter_pacing.due(now, self.router.mfc_installs()) {
            let started = thread_cpu_time();
            self.dump_counters();
            let cost = thread_cpu_time().saturating_sub(started);
            self.counter_pacing.read(self.clock.now(), cost);
        }
        if self.router.poll_at().is_some_and(|at| at <= now) {
            let mut out = Vec::new();
            self.router.on_timeout(now, &mut out);
            self.carry_out(out);
        }
    }

    fn serve(&mut self, ready: &[bool]) {
        for (client, request) in self.control.take_requests(ready) {
            let response = match request {
                Ok(request) => self.answer(&request),
                Err(message) => Response::error(message),
            };
            self.control.respond(client, &response);
        }
        self.control.reap();
    }

    fn answer(&mut self, request: &Request) -> Response {
        tracing::debug!(target: crate::logging::CONTROL, "{request:?}");
        match request {
            Request::Reload => match self.reload() {
                Ok(view) => Response::Reloaded(view),
                Err(message) => {
                    tracing::error!("reload refused, keeping the running configuration: {message}");
                    Response::error(format!("reload refused, the running configuration stays: {message}"))
                }
            },
            Request::Status => match self.router.query(self.clock.now(), request) {
                Response::Status(view) => Response::Status(StatusView {
                    version: env!("CARGO_PKG_VERSION").to_string(),
                    pid: std::process::id(),
                    config_file: self.config_path.as_ref().map(|p| p.display().to_string()),
                    ..view
                }),
                other => other,
            },
            Request::ShowMroute { .. } | Request::ShowCounters | Request::Dump => {
                self.dump_counters();
                self.router.query(self.clock.now(), request)
            }
            Request::ShowInterfaces
            | Request::ShowRpf { .. }
            | Request::ShowIgmpGroups
            | Request::ShowMldGroups
            | Request::ShowPimNeighbors
            | Request::ShowPimInterfaces
            | Request::ShowPimJoin
            | Request::ShowPimUpstream
            | Request::ShowPimAssert
            | Request::ShowPimRp { .. }
            | Request::ShowPimRpSet
            | Request::ShowPimBsr => self.router.query(self.clock.now(), request),
            Request::Debug(request) => {
                let response = crate::logging::debug(request);
                self.router.set_log_level(crate::logging::router_level());
                response
            }
        }
    }

    fn dump(&mut self, name: &str, routing: bool) {
        self.dump_counters();
        let now = self.clock.now();
        let interfaces = match self.router.query(now, &Request::ShowInterfaces) {
            Response::Interfaces(view) => view,
            _ => return,
        };
        let mroutes = match self.router.query(now, &Request::ShowMroute { source: None, group: None }) {
            Response::Mroute(view) => view,
            _ => return,
        };
        let text = if routing {
            dump::routing_table(&interfaces, &mroutes)
        } else {
            dump::cache_table(&interfaces, &mroutes)
        };
        let path = self.runtime_dir.join(name);
        match std::fs::write(&path, text) {
            Ok(()) => tracing::info!("wrote {}", path.display()),
            Err(e) => tracing::warn!("cannot write {}: {e}", path.display()),
        }
    }
}

/// One packet from a protocol socket, as a router input; `Ok(None)` when none is queued.
fn receive_packet<A: Afi>(
    socket: &ProtocolSocket<A>,
    buffer: &mut [u8],
    kind: SocketKind,
) -> std::io::Result<Option<ProtocolPacket>> {
    let Some(received) = socket.recv(buffer)? else { return Ok(None) };
    let payload = buffer.get(received.payload.clone()).unwrap_or_default().to_vec();
    Ok(Some(ProtocolPacket {
        socket: kind,
        ifindex: Some(received.ifindex),
        source: received.source.into(),
        destination: received.destination.into(),
        hop_limit: received.hop_limit,
        router_alert: received.router_alert,
        payload,
    }))
}

/// A seed for the protocols' randomness (PIM Generation IDs must differ across restarts, RFC
/// 7761 §4.3.1): the wall clock and the process id.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(0));
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_waits_round_up_and_coalesce() {
        assert_eq!(timer_wait(Duration::ZERO), Duration::ZERO);
        assert_eq!(timer_wait(Duration::from_micros(600)), TIMER_SLACK);
        assert_eq!(timer_wait(Duration::from_micros(12_100)), Duration::from_millis(13));
        assert_eq!(timer_wait(Duration::from_secs(5)), MAX_WAIT);
    }
}
