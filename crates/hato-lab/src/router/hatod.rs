//! hatod as a lab router: a TOML configuration naming every interface of the node (each runs
//! IGMP / MLD and PIM), with [`RouterConfig::static_rps`] as `[[pim.static-rp]]`s,
//! [`RouterConfig::igmp_version`] in `[gmp]`, [`RouterConfig::static_mroutes`] as
//! `[[static-flow]]`s, [`RouterConfig::candidate_bsr`] / [`RouterConfig::candidate_rp`] as
//! `[[pim.candidate-bsr]]` / `[[pim.candidate-rp]]` (the advertisement interval as `[pim]
//! c-rp-adv-period`, [`RouterConfig::bootstrap_period_secs`] as `bootstrap-period`),
//! [`RouterConfig::refuse_bootstrap_on`] as `accept-bootstrap = false` and [`RouterConfig::extra`]
//! appended verbatim, and the daemon started in the node's namespace with its runtime directory
//! (control socket, PID file, dumps) in the node's work directory. Unix sockets are not namespaced, so tests
//! reach the control socket directly.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use super::pimd::wait_started;
use super::{RouterConfig, RouterHandle, RouterKind};
use crate::error::{Error, Result};
use crate::lab::Lab;

/// The runtime directory of the hatod on `node`.
pub fn runtime_dir(lab: &Lab, node: &str) -> Result<PathBuf> {
    Ok(lab.node_dir(node)?.join("hatod"))
}

/// The configuration file of the hatod on `node`.
pub fn config_path(lab: &Lab, node: &str) -> Result<PathBuf> {
    Ok(runtime_dir(lab, node)?.join("hato.toml"))
}

/// The `hato.toml` for `node`.
pub fn config_text(lab: &Lab, node: &str, config: &RouterConfig) -> String {
    let mut text = String::from("[global]\nauto-interfaces = false\n\n");
    for (segment, iface) in lab.topology().interfaces_of(node) {
        let _ = writeln!(text, "[[interface]]\nname = \"{iface}\"\n");
        if config.refuse_bootstrap_on.contains(&segment.name) {
            text.push_str("[interface.pim]\naccept-bootstrap = false\n\n");
        }
    }
    if let Some(version) = config.igmp_version {
        let _ = writeln!(text, "[gmp]\nigmp-version = {version}\n");
    }
    let mut pim = String::new();
    if let Some(period) = config.bootstrap_period_secs {
        let _ = writeln!(pim, "bootstrap-period = {period}");
    }
    if let Some(rp) = &config.candidate_rp {
        let _ = writeln!(pim, "c-rp-adv-period = {}", rp.interval_secs);
    }
    if !pim.is_empty() {
        let _ = writeln!(text, "[pim]\n{pim}");
    }
    for rp in &config.static_rps {
        let _ = writeln!(
            text,
            "[[pim.static-rp]]\naddress = \"{}\"\ngroups = [\"{}/{}\"]\n",
            rp.rp, rp.groups.addr, rp.groups.len
        );
    }
    if let Some(bsr) = &config.candidate_bsr {
        let _ = writeln!(
            text,
            "[[pim.candidate-bsr]]\naddress = \"{}\"\npriority = {}\n",
            bsr.address, bsr.priority
        );
    }
    if let Some(rp) = &config.candidate_rp {
        let groups: Vec<String> = rp.groups.iter().map(|g| format!("\"{}/{}\"", g.addr, g.len)).collect();
        let _ = writeln!(
            text,
            "[[pim.candidate-rp]]\naddress = \"{}\"\npriority = {}\ngroups = [{}]\n",
            rp.address,
            rp.priority,
            groups.join(", ")
        );
    }
    for route in &config.static_mroutes {
        text.push_str("[[static-flow]]\n");
        if let Some(source) = route.source {
            let _ = writeln!(text, "source = \"{source}\"");
        }
        let outputs: Vec<String> = route.to.iter().map(|o| format!("\"{o}\"")).collect();
        let _ = writeln!(
            text,
            "group = \"{}\"\ninput = \"{}\"\noutputs = [{}]\n",
            route.group,
            route.from,
            outputs.join(", ")
        );
    }
    text.push_str(&config.extra);
    text
}

/// Starts hatod on `node`.
pub(crate) fn start(lab: &mut Lab, node: &str, config: &RouterConfig) -> Result<RouterHandle> {
    let binary = lab.hatod_binary()?.to_path_buf();
    let dir = runtime_dir(lab, node)?;
    fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let conf = config_path(lab, node)?;
    fs::write(&conf, config_text(lab, node, config))
        .map_err(|e| Error::io(format!("write {}", conf.display()), e))?;
    let socket = dir.join("hatod.sock");
    let pidfile = dir.join("hatod.pid");
    let _ = fs::remove_file(&pidfile);
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();
    let mut argv = vec![path(&binary), "-n".into()];
    if !config.quiet_logs {
        argv.extend(["-d".into(), "2".into()]);
    }
    argv.extend([
        "-f".into(),
        path(&conf),
        "-r".into(),
        path(&dir),
        "-s".into(),
        path(&socket),
        "-p".into(),
        path(&pidfile),
    ]);
    let pid = lab.spawn(node, "hatod", &argv)?;
    wait_started(lab, pid, &pidfile)?;
    Ok(RouterHandle {
        kind: RouterKind::Hatod,
        node: node.to_string(),
        netns: lab.netns(node),
        pids: vec![pid],
        logs: vec![lab.node_dir(node)?.join("hatod.log")],
        configs: vec![conf],
        frr_pathspace: None,
        control_socket: Some(socket),
    })
}
