//! A three-namespace lab for kernel tests: sender — router — receiver, joined by veth pairs, with
//! addresses from 198.18.0.0/15 and fd00::/8. Namespaces carry a unique per-run prefix and are
//! deleted when the [`Lab`] is dropped, on panic too.

#![allow(dead_code)]

use std::fs::File;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hato_kernel::sys;

/// Whether the tests run as root (needed for namespaces).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("spawn");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Polls until `dev` in `ns` is operationally up: until then its queue discards packets.
fn wait_oper_up(ns: &str, dev: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let out = Command::new("ip").args(["-n", ns, "-o", "link", "show", dev]).output().expect("spawn");
        if String::from_utf8_lossy(&out.stdout).contains("state UP") {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{dev} in {ns} did not come up");
}

/// Runs `f` in a fresh thread that has entered namespace `ns`; sockets it opens stay in `ns`.
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("open netns");
        sys::enter_netns(file.as_fd()).expect("setns");
        f()
    })
    .join()
    .expect("namespace thread panicked")
}

/// The namespaces of one run.
#[derive(Debug)]
pub struct Lab {
    pub sender: String,
    pub router: String,
    pub receiver: String,
    /// Only the router namespace, for benchmarks.
    router_only: bool,
}

/// `hato-<pid>-<n><random>`: unique across processes and across labs of one process.
fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("hato-{}-{n}{:04}", std::process::id(), nanos % 10_000)
}

impl Lab {
    /// One namespace with loopback up and a veth pair a0 — a1 inside it.
    pub fn router_only() -> Lab {
        let p = unique_prefix();
        let lab = Lab {
            sender: String::new(),
            router: format!("{p}-r"),
            receiver: String::new(),
            router_only: true,
        };
        run(&["ip", "netns", "add", &lab.router]);
        run(&["ip", "-n", &lab.router, "link", "set", "lo", "up"]);
        run(&["ip", "-n", &lab.router, "link", "add", "a0", "type", "veth", "peer", "name", "a1"]);
        for dev in ["a0", "a1"] {
            run(&["ip", "-n", &lab.router, "link", "set", dev, "up"]);
        }
        lab
    }

    /// sender (s0) — (r0) router (r1) — (c0) receiver.
    pub fn chain() -> Lab {
        let p = unique_prefix();
        let lab = Lab {
            sender: format!("{p}-s"),
            router: format!("{p}-r"),
            receiver: format!("{p}-c"),
            router_only: false,
        };
        for ns in [&lab.sender, &lab.router, &lab.receiver] {
            run(&["ip", "netns", "add", ns]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        run(&[
            "ip",
            "-n",
            &lab.sender,
            "link",
            "add",
            "s0",
            "type",
            "veth",
            "peer",
            "name",
            "r0",
            "netns",
            &lab.router,
        ]);
        run(&[
            "ip",
            "-n",
            &lab.receiver,
            "link",
            "add",
            "c0",
            "type",
            "veth",
            "peer",
            "name",
            "r1",
            "netns",
            &lab.router,
        ]);
        let conf = [
            (&lab.sender, "s0", "198.18.1.2/24", "fd00:1::2/64"),
            (&lab.router, "r0", "198.18.1.1/24", "fd00:1::1/64"),
            (&lab.router, "r1", "198.18.2.1/24", "fd00:2::1/64"),
            (&lab.receiver, "c0", "198.18.2.2/24", "fd00:2::2/64"),
        ];
        for (ns, dev, v4, v6) in conf {
            run(&["ip", "-n", ns, "addr", "add", v4, "dev", dev]);
            run(&["ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        run(&["ip", "-n", &lab.sender, "route", "add", "default", "via", "198.18.1.1"]);
        run(&["ip", "-n", &lab.sender, "-6", "route", "add", "default", "via", "fd00:1::1"]);
        run(&["ip", "-n", &lab.receiver, "route", "add", "default", "via", "198.18.2.1"]);
        run(&["ip", "-n", &lab.receiver, "-6", "route", "add", "default", "via", "fd00:2::1"]);
        for ns in [&lab.sender, &lab.router, &lab.receiver] {
            for key in ["net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"] {
                run(&["ip", "netns", "exec", ns, "sysctl", "-qw", key]);
            }
        }
        for key in ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] {
            run(&["ip", "netns", "exec", &lab.router, "sysctl", "-qw", key]);
        }
        for (ns, dev, _, _) in conf {
            wait_oper_up(ns, dev);
        }
        lab
    }

    fn names(&self) -> Vec<&String> {
        if self.router_only {
            vec![&self.router]
        } else {
            vec![&self.sender, &self.router, &self.receiver]
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in self.names() {
            // Best effort: a namespace that failed to appear is simply absent.
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
