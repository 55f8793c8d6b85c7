//! A running lab: one network namespace per node (and per switched segment), veth pairs, bridges,
//! addresses, forwarding sysctls and static routes built from a [`Topology`]; the processes started in
//! it; and the guard that removes everything again.
//!
//! Every name carries a per-run prefix (`hl<pid><random>`), so parallel runs never collide and
//! `hato-lab cleanup --prefix` finds leftovers. Interfaces are created directly inside their
//! namespaces (`ip -n A link add ... peer ... netns B`), never in the host's namespace. Dropping the
//! [`Lab`] (also while a test panics) kills every process it started, by PID, then every process still
//! inside one of its namespaces, then deletes the namespaces; while panicking it prints the tail of
//! every log and keeps the work directory.
//!
//! Opt-in captures ([`Lab::capture_links`], before any router starts) record every segment with
//! `dumpcap`; [`Lab::check_captures`] stops them and has tshark check what hatod sent (see
//! [`crate::capture`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::capture::{self, CaptureVerdict, LinkCapture, CAPTURING_MARKER};
use crate::error::{Error, Result};
use crate::exec::{self, display_argv};
use crate::poll::{poll_until, Probe};
use crate::router::{RouterConfig, RouterHandle, RouterKind};
use crate::topology::{Role, Topology};

/// How long stopped processes get to exit after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// How long `dumpcap` may take to open its interfaces.
const CAPTURE_START_TIMEOUT: Duration = Duration::from_secs(10);

/// Lines of each log shown in a failure report.
const REPORT_TAIL_LINES: usize = 40;

/// Options for [`Lab::start`].
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// The `hato-lab` binary used for `send` / `recv` (tests pass `env!("CARGO_BIN_EXE_hato-lab")`).
    /// Defaults to `$HATO_LAB_BIN`, then to a `hato-lab` next to (or one level above) the current
    /// executable.
    pub traffic_binary: Option<PathBuf>,
    /// Keep the work directory (configs, logs) after a successful run too; also set by the
    /// environment variable `HATO_LAB_KEEP=1`.
    pub keep_workdir: bool,
    /// The `hatod` binary for [`RouterKind::Hatod`] (hatod's tests pass
    /// `env!("CARGO_BIN_EXE_hatod")`); defaults to `$HATO_HATOD_BIN`.
    pub hatod_binary: Option<PathBuf>,
}

/// A process started in a lab node.
#[derive(Debug)]
pub struct Process {
    pub name: String,
    pub node: String,
    pub pid: u32,
    pub log: PathBuf,
    /// Present when the lab is the parent (not for daemons that detach).
    child: Option<Child>,
}

/// A lab built from a topology; see the module documentation.
#[derive(Debug)]
pub struct Lab {
    prefix: String,
    topology: Topology,
    workdir: PathBuf,
    keep_workdir: bool,
    traffic_binary: Option<PathBuf>,
    hatod_binary: Option<PathBuf>,
    namespaces: Vec<String>,
    processes: Vec<Process>,
    routers: Vec<RouterHandle>,
    /// Running link captures ([`Lab::capture_links`]).
    captures: Vec<LinkCapture>,
    /// Directories outside the work directory that belong to this run (FRR pathspaces).
    owned_dirs: Vec<PathBuf>,
    torn_down: bool,
}

/// A fresh per-run prefix: `hl`, the low digits of the PID and a few random hex digits; short enough
/// that `<prefix>-<node>` stays readable and bridge ports fit in 15 characters.
pub fn unique_prefix() -> String {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let mut mixed = u64::from(nanos) ^ (u64::from(std::process::id()) << 20) ^ (call << 40);
    mixed = mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    format!("hl{}{:04x}", std::process::id() % 100_000, (mixed >> 48) & 0xffff)
}

impl Lab {
    /// Builds `topology` with default options.
    pub fn start(topology: Topology) -> Result<Self> {
        Self::start_with(topology, LabOptions::default())
    }

    /// Builds `topology`: namespaces, links, addresses, sysctls and routes. On error everything
    /// created so far is removed again (by the guard).
    pub fn start_with(topology: Topology, options: LabOptions) -> Result<Self> {
        let prefix = unique_prefix();
        let workdir = std::env::temp_dir().join("hato-lab").join(&prefix);
        fs::create_dir_all(&workdir).map_err(|e| Error::io(format!("create {}", workdir.display()), e))?;
        let traffic_binary = options
            .traffic_binary
            .or_else(|| std::env::var_os("HATO_LAB_BIN").map(PathBuf::from))
            .or_else(default_traffic_binary);
        let mut lab = Lab {
            prefix,
            topology,
            workdir,
            keep_workdir: options.keep_workdir || std::env::var_os("HATO_LAB_KEEP").is_some_and(|v| v == "1"),
            traffic_binary,
            hatod_binary: options
                .hatod_binary
                .or_else(|| std::env::var_os("HATO_HATOD_BIN").map(PathBuf::from)),
            namespaces: Vec::new(),
            processes: Vec::new(),
            routers: Vec::new(),
            captures: Vec::new(),
            owned_dirs: Vec::new(),
            torn_down: false,
        };
        lab.build()?;
        Ok(lab)
    }

    /// The per-run prefix of every namespace name.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The topology this lab was built from.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The directory holding generated configs and logs.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The namespace of `node`.
    pub fn netns(&self, node: &str) -> String {
        format!("{}-{node}", self.prefix)
    }

    /// The namespaces this lab created (nodes and switches).
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The address of `node` on `segment` in the chosen family.
    pub fn addr(&self, node: &str, segment: &str, v6: bool) -> Result<IpAddr> {
        let n = self.node_checked(node)?;
        let s = self
            .topology
            .segments
            .iter()
            .find(|s| s.name == segment && s.members.iter().any(|m| m.node == node))
            .ok_or_else(|| Error::Invalid(format!("{node} is not on segment {segment}")))?;
        Ok(if v6 { self.topology.v6(n, s).into() } else { self.topology.v4(n, s).into() })
    }

    /// Runs `argv` inside `node`'s namespace and returns its stdout; fails on a non-zero exit.
    pub fn exec<S: AsRef<str>>(&self, node: &str, argv: &[S]) -> Result<String> {
        self.node_checked(node)?;
        exec::run(Some(&self.netns(node)), argv)
    }

    /// Runs `argv` in the network and mount namespaces of the router on `node` (`nsenter`), so that
    /// tools find a daemon's sockets in its private `/run` (e.g. `pimd -r`).
    pub fn exec_in_router<S: AsRef<str>>(&self, node: &str, argv: &[S]) -> Result<String> {
        let router = self.router(node).ok_or_else(|| Error::Invalid(format!("{node} runs no router")))?;
        let pid = router.pids.first().ok_or_else(|| Error::Invalid(format!("{node}: router without PID")))?;
        let target = pid.to_string();
        let mut full = vec!["nsenter", "--target", &target, "--mount", "--net", "--"];
        full.extend(argv.iter().map(AsRef::as_ref));
        exec::run(None, &full)
    }

    /// Starts `argv` in the background inside `node`'s namespace, with stdout and stderr in
    /// `<workdir>/<node>/<name>.log`; the process is killed at teardown. Returns its PID.
    pub fn spawn<S: AsRef<str>>(&mut self, node: &str, name: &str, argv: &[S]) -> Result<u32> {
        self.node_checked(node)?;
        let log = self.node_dir(node)?.join(format!("{name}.log"));
        self.spawn_in(&self.netns(node), node, name, argv, log)
    }

    /// Starts `argv` in the namespace `netns` with its output in `log`; `node` names it in reports.
    fn spawn_in<S: AsRef<str>>(
        &mut self,
        netns: &str,
        node: &str,
        name: &str,
        argv: &[S],
        log: PathBuf,
    ) -> Result<u32> {
        let out = fs::File::create(&log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let err = out.try_clone().map_err(|e| Error::io("clone log handle", e))?;
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns]).args(argv.iter().map(AsRef::as_ref));
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| Error::Spawn { command: display_argv(argv), source })?;
        let pid = child.id();
        self.processes.push(Process {
            name: name.to_string(),
            node: node.to_string(),
            pid,
            log,
            child: Some(child),
        });
        Ok(pid)
    }

    /// Registers a detached daemon (read from its PID file) so that teardown stops it.
    pub fn track_daemon(&mut self, node: &str, name: &str, pid: u32, log: PathBuf) {
        self.processes.push(Process { name: name.into(), node: node.into(), pid, log, child: None });
    }

    /// Registers a directory outside the work directory that teardown must remove.
    pub(crate) fn own_dir(&mut self, dir: PathBuf) {
        self.owned_dirs.push(dir);
    }

    /// The processes started so far.
    pub fn processes(&self) -> &[Process] {
        &self.processes
    }

    /// Whether the process `pid` started by this lab has exited; the exit status when it has and the
    /// lab is its parent.
    pub fn try_wait(&mut self, pid: u32) -> Result<Option<std::process::ExitStatus>> {
        let process = self
            .processes
            .iter_mut()
            .find(|p| p.pid == pid)
            .ok_or_else(|| Error::Invalid(format!("pid {pid} was not started by this lab")))?;
        match process.child.as_mut() {
            Some(child) => child.try_wait().map_err(|e| Error::io(format!("wait for {pid}"), e)),
            None => Ok(None),
        }
    }

    /// The per-node directory for configs and logs (created on demand, readable by daemons that
    /// drop privileges).
    pub fn node_dir(&self, node: &str) -> Result<PathBuf> {
        let dir = self.workdir.join(node);
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        Ok(dir)
    }

    /// The `hato-lab` binary used by the traffic helpers.
    pub fn traffic_binary(&self) -> Result<&Path> {
        self.traffic_binary.as_deref().filter(|p| p.exists()).ok_or_else(|| {
            Error::Invalid("no hato-lab binary: set LabOptions::traffic_binary or HATO_LAB_BIN".into())
        })
    }

    /// The `hatod` binary for [`RouterKind::Hatod`].
    pub fn hatod_binary(&self) -> Result<&Path> {
        self.hatod_binary.as_deref().filter(|p| p.exists()).ok_or_else(|| {
            Error::Invalid("no hatod binary: set LabOptions::hatod_binary or HATO_HATOD_BIN".into())
        })
    }

    /// Starts a router of `kind` on `node`, configured from the topology and `config`.
    pub fn start_router(&mut self, node: &str, kind: RouterKind, config: &RouterConfig) -> Result<()> {
        let n = self.node_checked(node)?;
        if n.role != Role::Router {
            return Err(Error::Invalid(format!("{node} is not a router")));
        }
        if self.routers.iter().any(|r| r.node == node) {
            return Err(Error::Invalid(format!("{node} already runs a router")));
        }
        let handle = kind.start(self, node, config)?;
        self.routers.push(handle);
        Ok(())
    }

    /// The router running on `node`.
    pub fn router(&self, node: &str) -> Option<&RouterHandle> {
        self.routers.iter().find(|r| r.node == node)
    }

    /// The routers started so far.
    pub fn routers(&self) -> &[RouterHandle] {
        &self.routers
    }

    /// A failure report: the last lines of every log of every process and router.
    pub fn report(&self) -> String {
        let mut logs: Vec<&Path> = self.processes.iter().map(|p| p.log.as_path()).collect();
        logs.extend(self.routers.iter().flat_map(|r| r.logs.iter().map(PathBuf::as_path)));
        logs.sort();
        logs.dedup();
        let mut report = format!("== hato-lab {} (work directory {})\n", self.prefix, self.workdir.display());
        for log in logs {
            let text = fs::read_to_string(log).unwrap_or_else(|e| format!("(unreadable: {e})\n"));
            let lines: Vec<&str> = text.lines().collect();
            let skip = lines.len().saturating_sub(REPORT_TAIL_LINES);
            let _ = writeln!(
                report,
                "-- {} (last {} of {} lines)",
                log.display(),
                lines.len() - skip,
                lines.len()
            );
            for line in lines.iter().skip(skip) {
                let _ = writeln!(report, "   {line}");
            }
        }
        report
    }

    /// Starts capturing every segment (see [`crate::capture`]): `dumpcap` on one end of each
    /// point-to-point link and on every bridge port of each switched segment, writing
    /// `<workdir>/captures/<segment>.pcapng`. Call it before starting routers; returns once every
    /// capture is open.
    pub fn capture_links(&mut self) -> Result<()> {
        if !self.routers.is_empty() || !self.captures.is_empty() {
            return Err(Error::Invalid("capture_links: call it once, before any router starts".into()));
        }
        let dir = self.workdir.join("captures");
        fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
        let topology = self.topology.clone();
        for segment in &topology.segments {
            let (netns, interfaces) = if segment.switched {
                let ports = segment
                    .members
                    .iter()
                    .map(|m| format!("p{}", topology.node(&m.node).map(|n| n.id).unwrap_or_default()))
                    .collect();
                (format!("{}-sw{}", self.prefix, segment.index), ports)
            } else {
                let end = segment.members.first().ok_or_else(|| Error::Invalid(segment.name.clone()))?;
                (self.netns(&end.node), vec![end.iface.clone()])
            };
            let file = dir.join(format!("{}.pcapng", segment.name));
            let log = dir.join(format!("{}.log", segment.name));
            let argv = capture::dumpcap_argv(&interfaces, &file);
            let name = format!("dumpcap-{}", segment.name);
            let pid = self.spawn_in(&netns, &netns, &name, &argv, log.clone())?;
            self.captures.push(LinkCapture { segment: segment.name.clone(), netns, interfaces, file, pid });
            let what = format!("dumpcap on segment {} opens", segment.name);
            poll_until(&what, CAPTURE_START_TIMEOUT, Duration::from_millis(10), || {
                let text = fs::read_to_string(&log).unwrap_or_default();
                match self.try_wait(pid) {
                    Ok(Some(status)) => Probe::Done(Err(Error::Command {
                        command: display_argv(&argv),
                        status: status.to_string(),
                        stderr: text,
                    })),
                    _ if text.contains(CAPTURING_MARKER) => Probe::Done(Ok(())),
                    _ => Probe::Pending(text),
                }
            })
            .map_err(|e| Error::Timeout {
                what: e.to_string(),
                after_ms: CAPTURE_START_TIMEOUT.as_millis(),
            })??;
        }
        Ok(())
    }

    /// The running captures.
    pub fn captures(&self) -> &[LinkCapture] {
        &self.captures
    }

    /// Every address (link-local ones included) of the nodes whose router is one of `kinds`.
    pub fn router_addresses(&self, kinds: &[RouterKind]) -> Result<BTreeSet<IpAddr>> {
        let mut addresses = BTreeSet::new();
        for router in self.routers.iter().filter(|r| kinds.contains(&r.kind)) {
            let text = self.exec(&router.node, &["ip", "-j", "addr", "show"])?;
            let json: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::parse("ip -j addr show", e))?;
            let locals = json
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|link| link["addr_info"].as_array().into_iter().flatten())
                .filter_map(|info| info["local"].as_str()?.parse::<IpAddr>().ok());
            addresses.extend(locals);
        }
        Ok(addresses)
    }

    /// Stops the captures and checks the protocol packets the hatod routers sent with tshark (see
    /// [`crate::capture`]): the verdict lists every one tshark finds malformed, with a bad checksum,
    /// or with a warning. Call it at the end of a test, while the routers still run.
    pub fn check_captures(&mut self) -> Result<CaptureVerdict> {
        self.check_captures_of(&[RouterKind::Hatod])
    }

    /// Like [`Lab::check_captures`] for the packets of the routers of `kinds`.
    pub fn check_captures_of(&mut self, kinds: &[RouterKind]) -> Result<CaptureVerdict> {
        if self.captures.is_empty() {
            return Err(Error::Invalid("check_captures: no captures (call capture_links first)".into()));
        }
        let sources = self.router_addresses(kinds)?;
        let pids: Vec<u32> = self.captures.iter().map(|c| c.pid).collect();
        stop_processes(self.processes.iter_mut().filter(|p| pids.contains(&p.pid)).collect());
        let mut checks = Vec::new();
        for capture in &self.captures {
            checks.push(capture::check_capture(&capture.file, &sources)?);
        }
        Ok(CaptureVerdict { sources, captures: checks })
    }

    /// Stops every process and removes every namespace; returns what could not be cleaned up.
    /// Idempotent; also run by `Drop`.
    pub fn teardown(&mut self) -> Vec<String> {
        if self.torn_down {
            return Vec::new();
        }
        self.torn_down = true;
        let mut problems = Vec::new();
        stop_processes(self.processes.iter_mut().collect());
        for ns in self.namespaces.iter().rev() {
            if let Err(e) = remove_namespace(ns) {
                problems.push(e.to_string());
            }
        }
        for dir in &self.owned_dirs {
            if let Err(e) = fs::remove_dir_all(dir) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    problems.push(format!("remove {}: {e}", dir.display()));
                }
            }
        }
        if !self.keep_workdir && !thread::panicking() {
            let _ = fs::remove_dir_all(&self.workdir);
        }
        problems
    }

    fn node_checked(&self, node: &str) -> Result<&crate::topology::Node> {
        self.topology.node(node).ok_or_else(|| Error::Invalid(format!("unknown node {node}")))
    }

    fn add_namespace(&mut self, ns: &str) -> Result<()> {
        exec::run(None, &["ip", "netns", "add", ns])?;
        self.namespaces.push(ns.to_string());
        exec::run(None, &["ip", "-n", ns, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        let topology = self.topology.clone();
        for node in &topology.nodes {
            let ns = self.netns(&node.name);
            self.add_namespace(&ns)?;
            let mut sysctls = vec![
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ];
            if node.role == Role::Router {
                sysctls.extend([
                    "net.ipv4.ip_forward=1",
                    "net.ipv6.conf.all.forwarding=1",
                    "net.ipv6.conf.default.forwarding=1",
                ]);
            }
            let mut argv = vec!["sysctl", "-q", "-w"];
            argv.extend(sysctls);
            exec::run(Some(&ns), &argv)?;
            if node.role == Role::Router {
                let v4 = format!("{}/32", topology.loopback_v4(node));
                let v6 = format!("{}/128", topology.loopback_v6(node));
                exec::run(None, &["ip", "-n", &ns, "addr", "add", &v4, "dev", "lo"])?;
                exec::run(None, &["ip", "-n", &ns, "-6", "addr", "add", &v6, "dev", "lo", "nodad"])?;
            }
        }
        for segment in &topology.segments {
            if segment.switched {
                let switch = format!("{}-sw{}", self.prefix, segment.index);
                self.add_namespace(&switch)?;
                exec::run(
                    None,
                    &["ip", "-n", &switch, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"],
                )?;
                exec::run(None, &["ip", "-n", &switch, "link", "set", "br0", "up"])?;
                for member in &segment.members {
                    let id = topology.node(&member.node).map(|n| n.id).unwrap_or_default();
                    let port = format!("p{id}");
                    let ns = self.netns(&member.node);
                    exec::run(
                        None,
                        &[
                            "ip",
                            "-n",
                            &ns,
                            "link",
                            "add",
                            &member.iface,
                            "type",
                            "veth",
                            "peer",
                            "name",
                            &port,
                            "netns",
                            &switch,
                        ],
                    )?;
                    exec::run(None, &["ip", "-n", &switch, "link", "set", &port, "master", "br0", "up"])?;
                }
            } else if let [a, b] = segment.members.as_slice() {
                let (ns_a, ns_b) = (self.netns(&a.node), self.netns(&b.node));
                exec::run(
                    None,
                    &[
                        "ip", "-n", &ns_a, "link", "add", &a.iface, "type", "veth", "peer", "name", &b.iface,
                        "netns", &ns_b,
                    ],
                )?;
            } else {
                return Err(Error::Invalid(format!(
                    "point-to-point segment {} needs two members",
                    segment.name
                )));
            }
            for member in &segment.members {
                let node = topology.node(&member.node).ok_or_else(|| Error::Invalid(member.node.clone()))?;
                let ns = self.netns(&member.node);
                let v4 = format!("{}/24", topology.v4(node, segment));
                let v6 = format!("{}/64", topology.v6(node, segment));
                exec::run(None, &["ip", "-n", &ns, "addr", "add", &v4, "dev", &member.iface])?;
                exec::run(None, &["ip", "-n", &ns, "-6", "addr", "add", &v6, "dev", &member.iface, "nodad"])?;
                exec::run(None, &["ip", "-n", &ns, "link", "set", &member.iface, "up"])?;
            }
        }
        for node in &topology.nodes {
            let ns = self.netns(&node.name);
            for route in topology.routes(&node.name)? {
                let family = if route.dest.addr.is_ipv6() { "-6" } else { "-4" };
                exec::run(
                    None,
                    &[
                        "ip",
                        "-n",
                        &ns,
                        family,
                        "route",
                        "add",
                        &route.dest.to_string(),
                        "via",
                        &route.via.to_string(),
                        "dev",
                        &route.dev,
                        "metric",
                        &route.metric.to_string(),
                    ],
                )?;
            }
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.report());
        }
        for problem in self.teardown() {
            eprintln!("hato-lab teardown: {problem}");
        }
    }
}

fn default_traffic_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("hato-lab"), dir.parent()?.join("hato-lab")].into_iter().find(|p| p.is_file())
}

fn is_alive(pid: u32) -> bool {
    // A zombie has no further effect; count it as gone.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: Signal) {
    if let Ok(raw) = i32::try_from(pid) {
        let _ = kill(Pid::from_raw(raw), sig);
    }
}

/// SIGTERM to every process, a bounded wait, SIGKILL to survivors; children are reaped.
/// Processes that already exited and were reaped are left alone: their PID may be reused.
fn stop_processes(mut processes: Vec<&mut Process>) {
    processes.retain_mut(|process| match process.child.as_mut() {
        Some(child) => matches!(child.try_wait(), Ok(None)),
        None => true,
    });
    for process in processes.iter() {
        signal(process.pid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_GRACE;
    loop {
        let mut running = 0;
        for process in processes.iter_mut() {
            let alive = match process.child.as_mut() {
                Some(child) => matches!(child.try_wait(), Ok(None)),
                None => is_alive(process.pid),
            };
            running += usize::from(alive);
        }
        if running == 0 || Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    for process in processes.iter_mut() {
        match process.child.as_mut() {
            Some(child) => {
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = child.kill();
                    let _ = exec::wait_deadline(child, STOP_GRACE);
                }
            }
            None if is_alive(process.pid) => signal(process.pid, Signal::SIGKILL),
            None => {}
        }
    }
}

/// Kills whatever still runs inside `ns` (only processes of this lab can be there) and deletes it.
pub fn remove_namespace(ns: &str) -> Result<()> {
    let pids = exec::run(None, &["ip", "netns", "pids", ns]).unwrap_or_default();
    let pids: Vec<u32> = pids.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    for pid in &pids {
        signal(*pid, Signal::SIGKILL);
    }
    let deadline = Instant::now() + STOP_GRACE;
    while pids.iter().any(|p| is_alive(*p)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    exec::run(None, &["ip", "netns", "del", ns]).map(drop)
}

/// The namespaces whose name starts with `<prefix>-`.
pub fn namespaces_with_prefix(prefix: &str) -> Result<Vec<String>> {
    let listing = exec::run(None, &["ip", "netns", "list"])?;
    Ok(listing
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| name.starts_with(prefix))
        .map(String::from)
        .collect())
}

/// Removes every namespace whose name starts with `prefix` (and its FRR pathspace): the leftovers of
/// runs that could not clean up. Returns the names removed.
pub fn cleanup_prefix(prefix: &str) -> Result<Vec<String>> {
    if prefix.len() < 2 {
        return Err(Error::Invalid("refusing a prefix shorter than 2 characters".into()));
    }
    let mut removed = Vec::new();
    for ns in namespaces_with_prefix(prefix)? {
        remove_namespace(&ns)?;
        let _ = fs::remove_dir_all(crate::router::frr::pathspace_dir(&ns));
        removed.push(ns);
    }
    Ok(removed)
}
