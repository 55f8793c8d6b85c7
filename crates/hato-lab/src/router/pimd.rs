//! troglobit pimd (PIM-SM/SSM, IPv4) as a lab router. Debian's package conflicts with `frr`, so it is
//! unpacked ([`super::debpkg`]) instead of installed. pimd uses fixed paths under `/var/run`
//! (`pimd.pid`, `pimd.sock`), so each instance gets a private `/run`: a bind mount of its own directory,
//! made in a private mount namespace (`unshare -m`) inside `ip netns exec`. It runs in the foreground
//! (`-f`) so the lab owns its PID and its log is its stderr.
//!
//! Besides static RPs it can stand as candidate BSR and candidate RP ([`RouterConfig::candidate_bsr`],
//! [`RouterConfig::candidate_rp`]); with a 10 s advertisement interval a BSR-learned RP-Set reaches
//! the other routers of a LAN in about 10-20 s.
//!
//! pimd 2.3.2 installs static RPs only about 15 s after start and sends triggered Join/Prune from a 5 s
//! tick: tests against it need deadlines of tens of seconds.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{debpkg, RouterConfig, RouterHandle, RouterKind};
use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::poll::{poll_until, Probe};

/// How long a daemon may take to write its PID file.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The pimd binary, unpacked on first use.
pub fn binary() -> Result<PathBuf> {
    Ok(debpkg::unpacked("pimd")?.join("usr/sbin/pimd"))
}

/// The `pimd.conf` for `node`: every interface enabled, the static RPs, then the BSR and RP
/// candidacies (pimd 2.3.2 syntax: `group-prefix` lines follow their `rp-candidate`).
pub fn config_text(lab: &Lab, node: &str, config: &RouterConfig) -> String {
    let mut text = String::new();
    for (_, iface) in lab.topology().interfaces_of(node) {
        let version = match config.igmp_version {
            Some(2) => " igmpv2",
            Some(3) => " igmpv3",
            _ => "",
        };
        let _ = writeln!(text, "phyint {iface} enable{version}");
    }
    for rp in &config.static_rps {
        let _ = writeln!(text, "rp-address {} {}", rp.rp, rp.groups);
    }
    if let Some(bsr) = &config.candidate_bsr {
        let _ = writeln!(text, "bsr-candidate {} priority {}", bsr.address, bsr.priority);
    }
    if let Some(rp) = &config.candidate_rp {
        let _ =
            writeln!(text, "rp-candidate {} priority {} time {}", rp.address, rp.priority, rp.interval_secs);
        for groups in &rp.groups {
            let _ = writeln!(text, "    group-prefix {groups}");
        }
    }
    text.push_str(&config.extra);
    text
}

/// The shell command that gives the process a private `/run` and execs `argv` (the PID stays the same).
pub(crate) fn with_private_run(run_dir: &std::path::Path, argv: &[String]) -> Vec<String> {
    let quoted: Vec<String> = argv.iter().map(|a| format!("'{}'", a.replace('\'', r"'\''"))).collect();
    let script = format!("mount --bind '{}' /run && exec {}", run_dir.display(), quoted.join(" "));
    ["unshare", "-m", "--propagation", "private", "sh", "-c", &script].map(String::from).to_vec()
}

/// Waits until a daemon started with a private `/run` has written its PID file there; fails early
/// with its log when it exits instead.
pub(crate) fn wait_started(lab: &mut Lab, pid: u32, pidfile: &Path) -> Result<()> {
    let what = format!("PID file {}", pidfile.display());
    let outcome = poll_until(&what, START_TIMEOUT, Duration::from_millis(20), || {
        if pidfile.exists() {
            return Probe::Done(Ok(()));
        }
        match lab.try_wait(pid) {
            Ok(Some(status)) => Probe::Done(Err(status.to_string())),
            _ => Probe::Pending("no PID file yet".into()),
        }
    });
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(status)) => {
            let log = lab.processes().iter().find(|p| p.pid == pid).map(|p| p.log.clone());
            let output = log.and_then(|l| fs::read_to_string(l).ok()).unwrap_or_default();
            Err(Error::Command { command: what, status, stderr: output })
        }
        Err(timeout) => {
            Err(Error::Timeout { what: timeout.to_string(), after_ms: START_TIMEOUT.as_millis() })
        }
    }
}

/// Starts pimd on `node`.
pub(crate) fn start(lab: &mut Lab, node: &str, config: &RouterConfig) -> Result<RouterHandle> {
    let binary = binary()?;
    let dir = lab.node_dir(node)?.join("pimd");
    let run_dir = dir.join("run");
    fs::create_dir_all(&run_dir).map_err(|e| Error::io(format!("create {}", run_dir.display()), e))?;
    let conf = dir.join("pimd.conf");
    fs::write(&conf, config_text(lab, node, config))
        .map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
    let argv = [
        binary.to_string_lossy().into_owned(),
        "-f".into(),
        "-c".into(),
        conf.to_string_lossy().into_owned(),
        "-s".into(),
        "debug".into(),
        "--debug=pim_jp,pim_register,rp,kernel,igmp".into(),
    ];
    let pid = lab.spawn(node, "pimd", &with_private_run(&run_dir, &argv))?;
    wait_started(lab, pid, &run_dir.join("pimd.pid"))?;
    let log = lab.node_dir(node)?.join("pimd.log");
    Ok(RouterHandle {
        kind: RouterKind::Pimd,
        node: node.to_string(),
        netns: lab.netns(node),
        pids: vec![pid],
        logs: vec![log],
        configs: vec![conf],
        frr_pathspace: None,
        control_socket: None,
    })
}
