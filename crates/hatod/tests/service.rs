//! hatod as a service, on the real kernel in namespaces (`sender - r1 - receiver`): a Unix datagram
//! socket stands in for systemd's `$NOTIFY_SOCKET` and receives READY / RELOADING / STOPPING; as
//! `global.user = "nobody"` the daemon keeps exactly CAP_NET_ADMIN and CAP_NET_RAW and still
//! forwards and reloads; `hatoctl debug netlink on|off` switches that subsystem's log at run time. Requires
//! root.

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hato_control::{DebugRequest, DebugSubsystem, Request};
use hato_lab::harness::{receive, recv_options, require_root, send, send_options};
use hato_lab::poll::{poll_until, wait_kernel_sg, Probe};
use hato_lab::router::{hatod, RouterConfig, StaticMroute};
use hato_lab::{Lab, LabOptions, Topology};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(20);
/// CAP_NET_ADMIN (12) and CAP_NET_RAW (13), as `/proc/PID/status` prints capability sets.
const NET_ADMIN_AND_RAW: &str = "0000000000003000";

fn chain() -> Lab {
    require_root();
    let options =
        LabOptions { hatod_binary: Some(env!("CARGO_BIN_EXE_hatod").into()), ..LabOptions::default() };
    Lab::start_with(Topology::chain(1).unwrap(), options).unwrap()
}

/// systemd's side of `$NOTIFY_SOCKET`: a datagram socket anyone may write to, as systemd's is.
struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Manager {
    fn bind(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        Manager { socket, path }
    }

    /// The next message, within `DEADLINE`.
    fn next(&self) -> String {
        let deadline = Instant::now() + DEADLINE;
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        self.socket.set_read_timeout(Some(left)).unwrap();
        let mut buffer = [0u8; 1024];
        let n = self.socket.recv(&mut buffer).expect("no notification from hatod in time");
        String::from_utf8_lossy(&buffer[..n]).into_owned()
    }
}

/// One `/proc/PID/status` field.
fn status_field(pid: u32, field: &str) -> String {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

/// One `/proc/PID/task/TID/status` field of every thread of `pid`, with the thread's name.
fn thread_fields(pid: u32, field: &str) -> Vec<(String, String)> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let mut fields: Vec<(String, String)> = tasks
        .map(|task| {
            let text = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
            let value = |name: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(&format!("{name}:")))
                    .map(|v| v.trim().to_string())
                    .unwrap_or_default()
            };
            (value("Name"), value(field))
        })
        .collect();
    fields.sort();
    fields
}

fn hatoctl_json(socket: &Path, request: &Request) -> Value {
    let outcome = hatoctl::control::execute(socket, request, true);
    assert_eq!(outcome.code, 0, "{outcome:?}");
    serde_json::from_str(&outcome.stdout).unwrap()
}

fn debug(socket: &Path, subsystems: Vec<DebugSubsystem>, enable: bool) -> Value {
    hatoctl_json(socket, &Request::Debug(DebugRequest { subsystems, enable }))
}

/// Streams `count` datagrams from the sender to `group` and returns how many the receiver got.
fn forwarded(lab: &Lab, source: IpAddr, group: IpAddr, run_id: u64, count: u32) -> u64 {
    let receiver = receive(lab, "receiver", recv_options(group, None, run_id));
    let sent = send(lab, "sender", send_options(source, group, run_id, count, Duration::from_millis(5)));
    assert_eq!(sent.join().unwrap().sent, count);
    receiver.join().unwrap().unique
}

fn flow(lab: &Lab, group: &str) -> StaticMroute {
    StaticMroute {
        from: "eth0".into(),
        source: Some(lab.addr("sender", "sender-r1", false).unwrap()),
        group: group.parse().unwrap(),
        to: vec!["eth1".into()],
    }
}

/// The lab's configuration for r1 with `global.user = "nobody"`.
fn as_nobody(lab: &Lab, config: &RouterConfig) -> String {
    hatod::config_text(lab, "r1", config).replacen("[global]\n", "[global]\nuser = \"nobody\"\n", 1)
}

fn wait_log(log: &Path, what: &str, needle: &str) -> String {
    poll_until(what, DEADLINE, Duration::from_millis(20), || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            Probe::Done(text)
        } else {
            Probe::Pending(text)
        }
    })
    .unwrap()
}

#[test]
fn notify_service_as_configured_user_keeps_two_capabilities_forwards_reloads_and_switches_debugging() {
    let mut lab = chain();
    let dir = hatod::runtime_dir(&lab, "r1").unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let conf = hatod::config_path(&lab, "r1").unwrap();
    let config = RouterConfig { static_mroutes: vec![flow(&lab, "239.1.1.1")], ..RouterConfig::default() };
    std::fs::write(&conf, as_nobody(&lab, &config)).unwrap();
    let manager = Manager::bind(&lab.node_dir("r1").unwrap());
    let socket = dir.join("hatod.sock");
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let argv = [
        "env".to_string(),
        format!("NOTIFY_SOCKET={}", path(&manager.path)),
        // Not this process's standard error: hatod must keep logging to it, not to the journal.
        "JOURNAL_STREAM=1:1".to_string(),
        env!("CARGO_BIN_EXE_hatod").to_string(),
        "-d".into(),
        "0".into(),
        "-f".into(),
        path(&conf),
        "-r".into(),
        path(&dir),
        "-s".into(),
        path(&socket),
    ];
    let pid = lab.spawn("r1", "hatod", &argv).unwrap();
    let log = lab.node_dir("r1").unwrap().join("hatod.log");

    // Ready only once the privileges are gone.
    let ready = manager.next();
    assert!(ready.starts_with("READY=1\nSTATUS=running"), "{ready}");
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(pid, set), NET_ADMIN_AND_RAW, "{set}");
        // Capabilities are per thread: the forwarding cache writers start after the drop.
        for (thread, value) in thread_fields(pid, set) {
            assert_eq!(value, NET_ADMIN_AND_RAW, "{set} of thread {thread}");
        }
    }
    assert!(
        thread_fields(pid, "CapEff").iter().any(|(thread, _)| thread == "hato-mfc-writer"),
        "the writer thread runs"
    );
    for set in ["CapInh", "CapAmb"] {
        assert_eq!(status_field(pid, set), "0000000000000000", "{set}");
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap().uid.to_string();
    let uids: Vec<String> = status_field(pid, "Uid").split_whitespace().map(String::from).collect();
    assert_eq!(uids, vec![nobody.clone(); 4]);
    assert_eq!(status_field(pid, "Groups"), status_field(pid, "Gid").split_whitespace().next().unwrap());

    // It forwards.
    let source = lab.addr("sender", "sender-r1", false).unwrap();
    let group: IpAddr = "239.1.1.1".parse().unwrap();
    wait_kernel_sg(&lab, "r1", source, group, DEADLINE).unwrap();
    assert!(forwarded(&lab, source, group, 1, 30) >= 25, "{}", lab.report());

    // It reloads, telling the manager when the reload starts and ends.
    let second = flow(&lab, "239.1.1.2");
    let config = RouterConfig { static_mroutes: vec![flow(&lab, "239.1.1.1"), second.clone()], ..config };
    std::fs::write(&conf, as_nobody(&lab, &config)).unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGHUP).unwrap();
    let reloading = manager.next();
    let lines: Vec<&str> = reloading.lines().collect();
    assert_eq!(lines.first(), Some(&"RELOADING=1"), "{reloading}");
    assert!(lines.get(1).is_some_and(|l| l.starts_with("MONOTONIC_USEC=")), "{reloading}");
    assert_eq!(manager.next(), "READY=1\nSTATUS=running");
    wait_kernel_sg(&lab, "r1", source, second.group, DEADLINE).unwrap();
    assert!(forwarded(&lab, source, second.group, 2, 30) >= 25, "{}", lab.report());
    assert_eq!(hatoctl_json(&socket, &Request::Status)["reloads"], 1);
    // A reload through the control socket is reported too.
    hatoctl_json(&socket, &Request::Reload);
    assert!(manager.next().starts_with("RELOADING=1\n"));
    assert_eq!(manager.next(), "READY=1\nSTATUS=running");

    // Netlink events are traced only while `debug netlink` is on.
    let state = debug(&socket, vec![], false);
    assert_eq!(state, serde_json::json!({ "level": "warn", "output": "stderr", "enabled": [] }));
    let state = debug(&socket, vec![DebugSubsystem::Netlink], true);
    assert_eq!(state["enabled"], serde_json::json!(["netlink"]));
    lab.exec("r1", &["ip", "addr", "add", "198.18.99.1/32", "dev", "lo"]).unwrap();
    wait_log(&log, "the address is traced", "hato::netlink: addr New if1 198.18.99.1/32");
    let state = debug(&socket, vec![DebugSubsystem::Netlink], false);
    assert_eq!(state["enabled"], serde_json::json!([]));
    lab.exec("r1", &["ip", "addr", "add", "198.18.99.2/32", "dev", "lo"]).unwrap();
    debug(&socket, DebugSubsystem::ALL.to_vec(), true);
    lab.exec("r1", &["ip", "addr", "add", "198.18.99.3/32", "dev", "lo"]).unwrap();
    let text = wait_log(&log, "the third address is traced", "198.18.99.3/32");
    assert!(!text.contains("198.18.99.2/32"), "{text}");
    // Router events follow the switch: an install is logged now, not the one made at level 0.
    let third = flow(&lab, "239.1.1.3");
    let flows = vec![flow(&lab, "239.1.1.1"), second.clone(), third.clone()];
    std::fs::write(&conf, as_nobody(&lab, &RouterConfig { static_mroutes: flows, ..config })).unwrap();
    hatoctl_json(&socket, &Request::Reload);
    assert!(manager.next().starts_with("RELOADING=1\n"));
    assert_eq!(manager.next(), "READY=1\nSTATUS=running");
    let installed = |group: IpAddr| format!("installed ({source}, {group})");
    let text = wait_log(&log, "the install is logged", &installed(third.group));
    assert!(!text.contains(&installed(second.group)), "{text}");

    // TERM: STOPPING=1, then the runtime files go (hatod, now nobody, owns the directory).
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    assert!(manager.next().starts_with("STOPPING=1"));
    let status = poll_until("hatod exits", DEADLINE, Duration::from_millis(20), || match lab.try_wait(pid) {
        Ok(Some(status)) => Probe::Done(status),
        other => Probe::Pending(format!("{other:?}")),
    })
    .unwrap();
    assert!(status.success(), "{status:?}\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    assert!(!socket.exists() && !dir.join("hatod.pid").exists());
}

#[test]
fn as_root_only_the_two_capabilities_remain_and_a_missing_journal_is_an_error() {
    let mut lab = chain();
    let dir = hatod::runtime_dir(&lab, "r1").unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let conf = hatod::config_path(&lab, "r1").unwrap();
    std::fs::write(&conf, hatod::config_text(&lab, "r1", &RouterConfig::default())).unwrap();
    let hatod = env!("CARGO_BIN_EXE_hatod");
    let (conf, dir) = (conf.to_str().unwrap(), dir.to_str().unwrap());

    if !Path::new("/run/systemd/journal/socket").exists() {
        let output = hato_lab::exec::run_unchecked(
            Some(&lab.netns("r1")),
            &[hatod, "--log", "journald", "-f", conf, "-r", dir],
            DEADLINE,
        )
        .unwrap();
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert!(output.stderr.contains("cannot log to the journal"), "{output:?}");
    }

    let pidfile = Path::new(dir).join("hatod.pid");
    // `--user` takes a numeric id too; root stays root, with the two capabilities only.
    let pid = lab.spawn("r1", "hatod", &[hatod, "-d", "1", "--user", "0", "-f", conf, "-r", dir]).unwrap();
    poll_until("PID file", DEADLINE, Duration::from_millis(20), || {
        if pidfile.exists() {
            Probe::Done(())
        } else {
            Probe::Pending(format!("{:?}", lab.try_wait(pid)))
        }
    })
    .unwrap();
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(pid, set), NET_ADMIN_AND_RAW, "{set}");
    }
    assert_eq!(status_field(pid, "CapInh"), "0000000000000000");
    assert!(status_field(pid, "Uid").starts_with("0\t"));
    let log = lab.node_dir("r1").unwrap().join("hatod.log");
    wait_log(
        &log,
        "the privileges are logged",
        "running with capabilities CAP_NET_ADMIN,CAP_NET_RAW, user root (0:0)",
    );
}

/// As the systemd unit starts it: an unprivileged user whose only capabilities are the two ambient
/// ones (setpriv(1) does what `DynamicUser=`, `AmbientCapabilities=` and `CapabilityBoundingSet=`
/// do), with a runtime directory of its own.
#[test]
fn started_as_the_unit_does_with_ambient_capabilities() {
    if !Path::new("/usr/bin/setpriv").exists() {
        return;
    }
    let mut lab = chain();
    let dir = hatod::runtime_dir(&lab, "r1").unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    std::os::unix::fs::chown(&dir, Some(nobody.uid.as_raw()), Some(nobody.gid.as_raw())).unwrap();
    let conf = hatod::config_path(&lab, "r1").unwrap();
    let config = RouterConfig { static_mroutes: vec![flow(&lab, "239.1.1.1")], ..RouterConfig::default() };
    std::fs::write(&conf, hatod::config_text(&lab, "r1", &config)).unwrap();
    let manager = Manager::bind(&lab.node_dir("r1").unwrap());
    let path = |p: &Path| p.to_str().unwrap().to_string();
    let argv = [
        "env".to_string(),
        format!("NOTIFY_SOCKET={}", path(&manager.path)),
        "setpriv".into(),
        format!("--reuid={}", nobody.uid),
        format!("--regid={}", nobody.gid),
        "--clear-groups".into(),
        "--inh-caps=-all,+net_admin,+net_raw".into(),
        "--ambient-caps=+net_admin,+net_raw".into(),
        "--bounding-set=-all,+net_admin,+net_raw".into(),
        env!("CARGO_BIN_EXE_hatod").to_string(),
        "-f".into(),
        path(&conf),
        "-r".into(),
        path(&dir),
    ];
    let pid = lab.spawn("r1", "hatod", &argv).unwrap();
    let ready = manager.next();
    assert!(
        ready.starts_with("READY=1"),
        "{ready}\n{}",
        std::fs::read_to_string(lab.node_dir("r1").unwrap().join("hatod.log")).unwrap_or_default()
    );
    for set in ["CapEff", "CapPrm", "CapBnd"] {
        assert_eq!(status_field(pid, set), NET_ADMIN_AND_RAW, "{set}");
    }
    assert_eq!(status_field(pid, "CapAmb"), "0000000000000000");
    let source = lab.addr("sender", "sender-r1", false).unwrap();
    let group: IpAddr = "239.1.1.1".parse().unwrap();
    wait_kernel_sg(&lab, "r1", source, group, DEADLINE).unwrap();
    assert!(forwarded(&lab, source, group, 3, 30) >= 25, "{}", lab.report());
}
