//! smcroute (static multicast routes, IPv4 and IPv6) as a lab router, unpacked from the Debian
//! package like pimd and run in the foreground with a private `/run`. Its configuration enables every
//! interface of the node and installs [`RouterConfig::static_mroutes`]; it runs no routing protocol.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use super::pimd::{wait_started, with_private_run};
use super::{debpkg, RouterConfig, RouterHandle, RouterKind};
use crate::error::{Error, Result};
use crate::lab::Lab;

/// The smcrouted binary, unpacked on first use.
pub fn binary() -> Result<PathBuf> {
    Ok(debpkg::unpacked("smcroute")?.join("usr/sbin/smcrouted"))
}

/// The `smcroute.conf` for `node`.
pub fn config_text(lab: &Lab, node: &str, config: &RouterConfig) -> String {
    let mut text = String::new();
    for (_, iface) in lab.topology().interfaces_of(node) {
        let _ = writeln!(text, "phyint {iface} enable");
    }
    for route in &config.static_mroutes {
        let source = route.source.map(|s| format!(" source {s}")).unwrap_or_default();
        let _ = writeln!(
            text,
            "mroute from {}{source} group {} to {}",
            route.from,
            route.group,
            route.to.join(" ")
        );
    }
    text.push_str(&config.extra);
    text
}

/// Starts smcrouted on `node`.
pub(crate) fn start(lab: &mut Lab, node: &str, config: &RouterConfig) -> Result<RouterHandle> {
    let binary = binary()?;
    let dir = lab.node_dir(node)?.join("smcroute");
    let run_dir = dir.join("run");
    fs::create_dir_all(&run_dir).map_err(|e| Error::io(format!("create {}", run_dir.display()), e))?;
    let conf = dir.join("smcroute.conf");
    fs::write(&conf, config_text(lab, node, config))
        .map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
    let argv = [
        binary.to_string_lossy().into_owned(),
        "-n".into(),
        "-N".into(),
        "-f".into(),
        conf.to_string_lossy().into_owned(),
        "-l".into(),
        "debug".into(),
    ];
    let pid = lab.spawn(node, "smcroute", &with_private_run(&run_dir, &argv))?;
    wait_started(lab, pid, &run_dir.join("smcroute.pid"))?;
    let log = lab.node_dir(node)?.join("smcroute.log");
    Ok(RouterHandle {
        kind: RouterKind::Smcroute,
        node: node.to_string(),
        netns: lab.netns(node),
        pids: vec![pid],
        logs: vec![log],
        configs: vec![conf],
        frr_pathspace: None,
        control_socket: None,
    })
}
