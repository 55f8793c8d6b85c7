//! Network namespaces for the kernel tests: uniquely named per run, deleted by a guard even when a
//! test panics, entered by a dedicated thread (`setns`) so that sockets are opened inside them.

#![allow(dead_code)] // each test binary uses its own subset

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hato_core::IfIndex;
use nix::sched::{setns, CloneFlags};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace that exists for the life of the value.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates `hato-<pid>-<random>-<n>-<tag>` with loopback up and IPv6 DAD off (so link-local
    /// addresses are usable at once).
    pub fn new(tag: &str) -> Netns {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("hato-{}-{:05x}-{n}-{tag}", std::process::id(), nanos & 0xfffff);
        run("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip("link set lo up");
        ns.exec(&["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
        ns
    }

    /// Runs `ip -n <ns> <args>` and asserts success.
    pub fn ip(&self, args: &str) -> String {
        let mut argv = vec!["-n", self.name.as_str()];
        argv.extend(args.split_whitespace());
        run("ip", &argv)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, command: &[&str]) -> String {
        let mut argv = vec!["netns", "exec", self.name.as_str()];
        argv.extend_from_slice(command);
        run("ip", &argv)
    }

    /// The ifindex of a link in this namespace.
    pub fn ifindex(&self, link: &str) -> IfIndex {
        let out = self.ip(&format!("-o link show dev {link}"));
        let index = out.split(':').next().and_then(|s| s.trim().parse().ok());
        IfIndex(index.unwrap_or_else(|| panic!("no ifindex for {link} in {out:?}")))
    }

    /// The IPv6 link-local address of a link.
    pub fn link_local(&self, link: &str) -> std::net::Ipv6Addr {
        let out = self.ip(&format!("-o -6 addr show dev {link} scope link"));
        let addr =
            out.split_whitespace().skip_while(|w| *w != "inet6").nth(1).and_then(|a| a.split('/').next());
        addr.and_then(|a| a.parse().ok()).unwrap_or_else(|| panic!("no link-local on {link}: {out:?}"))
    }

    /// Runs `f` on a thread that has entered this namespace; sockets it opens stay in it.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let file = File::open(&path).expect("open namespace");
                    setns(&file, CloneFlags::CLONE_NEWNET).expect("setns");
                    f()
                })
                .join()
                .expect("namespace thread panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Runs a command and returns its stdout; panics with its stderr on failure.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Waits until `fd` is readable or the deadline passes; returns false on timeout.
pub fn wait_readable(fd: &impl std::os::fd::AsFd, deadline: Instant) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let left = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(200));
    let millis = u16::try_from(left.as_millis()).unwrap_or(200);
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::from(millis)), Ok(n) if n > 0)
}

/// Whether this process can create namespaces (root); tests skip loudly otherwise.
pub fn have_root() -> bool {
    let root = nix::unistd::Uid::effective().is_root();
    if !root {
        eprintln!("skipped: needs root for network namespaces");
    }
    root
}
