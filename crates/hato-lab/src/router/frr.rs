//! FRRouting as a lab router: zebra, staticd and pimd in the node's namespace with a private
//! pathspace (`-N <netns>`: sockets under `/var/run/frr/<netns>/`), configs generated from the
//! topology (every interface with `ip pim` and `ip igmp`, the loopback with `ip pim`, static RPs),
//! and `vtysh -N <netns>` for queries. Static routes already in the kernel are imported by zebra, so
//! RPF works without an IGP. Debian's FRR 8.4.4 has no pim6d: IPv4 only. It learns RP-Sets from
//! Bootstrap messages but can be neither candidate BSR nor candidate RP, so a configuration asking
//! for either is refused.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{wait_pidfile, RouterConfig, RouterHandle, RouterKind};
use crate::error::{Error, Result};
use crate::exec;
use crate::lab::Lab;

/// Where FRR's daemons live on Debian.
pub const FRR_LIBEXEC: &str = "/usr/lib/frr";

/// How long a daemon may take to write its PID file.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// The socket directory of a pathspace.
pub fn pathspace_dir(name: &str) -> PathBuf {
    Path::new("/var/run/frr").join(name)
}

/// The `pimd.conf` for `node`: every interface (and `lo`) with PIM and IGMP, then the static RPs.
pub fn pimd_config(lab: &Lab, node: &str, config: &RouterConfig, log: &Path) -> String {
    let mut text =
        format!("hostname {node}\nlog file {} informational\nlog timestamp precision 3\n!\n", log.display());
    text.push_str("interface lo\n ip pim\n!\n");
    for (segment, iface) in lab.topology().interfaces_of(node) {
        let _ = writeln!(text, "interface {iface}\n ip pim\n ip igmp");
        if config.refuse_bootstrap_on.contains(&segment.name) {
            text.push_str(" no ip pim bsm\n");
        }
        if let Some(version) = config.igmp_version {
            let _ = writeln!(text, " ip igmp version {version}");
        }
        text.push_str("!\n");
    }
    for rp in &config.static_rps {
        let _ = writeln!(text, "ip pim rp {} {}", rp.rp, rp.groups);
    }
    text.push_str(&config.extra);
    text
}

fn daemon_config(node: &str, log: &Path) -> String {
    format!("hostname {node}\nlog file {} informational\nlog timestamp precision 3\n", log.display())
}

/// Starts zebra, staticd and pimd on `node`.
pub(crate) fn start(lab: &mut Lab, node: &str, config: &RouterConfig) -> Result<RouterHandle> {
    if config.candidate_bsr.is_some() || config.candidate_rp.is_some() {
        return Err(Error::Invalid(format!(
            "{node}: FRR 8.4 can be neither a candidate BSR nor a candidate RP"
        )));
    }
    let netns = lab.netns(node);
    let dir = lab.node_dir(node)?.join("frr");
    fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let run_dir = pathspace_dir(&netns);
    fs::create_dir_all(&run_dir).map_err(|e| Error::io(format!("create {}", run_dir.display()), e))?;
    lab.own_dir(run_dir.clone());

    let mut handle = RouterHandle {
        kind: RouterKind::Frr,
        node: node.to_string(),
        netns: netns.clone(),
        pids: Vec::new(),
        logs: Vec::new(),
        configs: Vec::new(),
        frr_pathspace: Some(netns.clone()),
        control_socket: None,
    };
    let mut files = Vec::new();
    for daemon in ["zebra", "staticd", "pimd"] {
        let log = dir.join(format!("{daemon}.log"));
        let conf = dir.join(format!("{daemon}.conf"));
        let text = match daemon {
            "pimd" => pimd_config(lab, node, config, &log),
            _ => daemon_config(node, &log),
        };
        fs::write(&conf, text).map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
        files.push((daemon, conf, log));
    }
    // The daemons drop privileges to frr:frr and must write their logs, PID files and sockets.
    let owned = [dir.to_string_lossy().into_owned(), run_dir.to_string_lossy().into_owned()];
    exec::run(None, &["chown", "-R", "frr:frr", &owned[0], &owned[1]])?;
    for ancestor in dir.ancestors().skip(1).take_while(|p| p.starts_with(lab.workdir())) {
        exec::run(None, &["chmod", "a+rx", &ancestor.to_string_lossy()])?;
    }

    for (daemon, conf, log) in files {
        let pidfile = run_dir.join(format!("{daemon}.pid"));
        let binary = format!("{FRR_LIBEXEC}/{daemon}");
        let conf_arg = conf.to_string_lossy().into_owned();
        let pid_arg = pidfile.to_string_lossy().into_owned();
        let argv = [&binary, "-d", "-N", &netns, "-f", &conf_arg, "-i", &pid_arg, "-u", "frr", "-g", "frr"];
        let output = exec::run_unchecked(Some(&netns), &argv, START_TIMEOUT)?;
        if !output.status.success() {
            return Err(Error::Command {
                command: format!("{daemon} in {netns}"),
                status: output.status.to_string(),
                stderr: format!("{}{}", output.stdout, output.stderr),
            });
        }
        let pid = wait_pidfile(&pidfile, START_TIMEOUT)?;
        lab.track_daemon(node, daemon, pid, log.clone());
        handle.pids.push(pid);
        handle.logs.push(log);
        handle.configs.push(conf);
    }
    Ok(handle)
}

/// Runs `vtysh -N <pathspace> -c <command>` in the router's namespace.
pub fn vtysh(lab: &Lab, node: &str, command: &str) -> Result<String> {
    let handle = lab
        .router(node)
        .filter(|r| r.kind == RouterKind::Frr)
        .ok_or_else(|| Error::Invalid(format!("{node} does not run FRR")))?;
    let pathspace = handle.frr_pathspace.clone().unwrap_or_else(|| handle.netns.clone());
    lab.exec(node, &["vtysh", "-N", &pathspace, "-c", command])
}

/// Runs a vtysh `show ... json` command and parses its output.
pub fn vtysh_json(lab: &Lab, node: &str, command: &str) -> Result<Value> {
    let text = vtysh(lab, node, command)?;
    serde_json::from_str(&text).map_err(|e| Error::parse(format!("`{command}` on {node}"), e))
}
