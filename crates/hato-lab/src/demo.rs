//! `hato-lab demo`: three hatod routers in a chain (`sender - r1 - r2 - r3 - receiver`, static RP
//! on r2) forward an ASM and an SSM flow in each family; the demo prints every router's
//! `show mroute`, what each receiver got, and removes the lab.
//!
//! hatod is taken from `$HATO_HATOD_BIN`, else built with the profile of this binary when the
//! demo runs under `cargo run` (which sets `$CARGO`), else taken from next to this binary.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hato_control::{Request, Response};

use crate::error::{Error, Result};
use crate::poll::{poll_until, Probe};
use crate::router::StaticRp;
use crate::topology::Prefix;
use crate::traffic::{RecvOptions, RecvReport, SendOptions};
use crate::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

const ROUTERS: [&str; 3] = ["r1", "r2", "r3"];
const DEADLINE: Duration = Duration::from_secs(30);
/// Datagrams per flow, and their spacing: 500 over one second.
const COUNT: u32 = 500;
const INTERVAL: Duration = Duration::from_millis(2);

/// One flow of the demo.
#[derive(Debug, Clone, Copy)]
struct Flow {
    name: &'static str,
    group: &'static str,
    ssm: bool,
}

const FLOWS: [Flow; 4] = [
    Flow { name: "IPv4 ASM (IGMPv3, RP r2)", group: "239.1.1.1", ssm: false },
    Flow { name: "IPv4 SSM (IGMPv3 source-specific)", group: "232.1.1.1", ssm: true },
    Flow { name: "IPv6 ASM (MLDv2, RP r2)", group: "ff0e::1:1", ssm: false },
    Flow { name: "IPv6 SSM (MLDv2 source-specific)", group: "ff3e::1:1", ssm: true },
];

/// Asks a hatod over its control socket.
pub fn query(socket: &Path, request: &Request) -> Result<Response> {
    let context = format!("control socket {}", socket.display());
    let mut stream = UnixStream::connect(socket).map_err(|e| Error::io(&context, e))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| Error::io(&context, e))?;
    stream.write_all(hato_control::encode_line(request).as_bytes()).map_err(|e| Error::io(&context, e))?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| Error::io(&context, e))?;
    hato_control::decode_line(&line).map_err(|e| Error::parse(&context, e.to_string()))
}

/// The hatod binary to run.
fn hatod_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("HATO_HATOD_BIN") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if let Some(cargo) = std::env::var_os("CARGO") {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut argv =
            vec![cargo.to_string_lossy().into_owned(), "build".into(), "-p".into(), "hatod".into()];
        match dir.file_name().and_then(|n| n.to_str()) {
            Some("release") => argv.push("--release".into()),
            Some("debug") | None => {}
            Some(profile) => argv.extend(["--profile".into(), profile.to_string()]),
        }
        eprintln!("building hatod: {}", argv.join(" "));
        let status = std::process::Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&workspace)
            .status()
            .map_err(|e| Error::io("cargo build -p hatod", e))?;
        if !status.success() {
            return Err(Error::Invalid(format!("`{}` failed: {status}", argv.join(" "))));
        }
    }
    let hatod = dir.join("hatod");
    if hatod.exists() {
        Ok(hatod)
    } else {
        Err(Error::Invalid(format!(
            "no hatod next to {}: build it first (cargo build --release -p hatod) or set HATO_HATOD_BIN",
            exe.display()
        )))
    }
}

fn control_socket(lab: &Lab, node: &str) -> Result<PathBuf> {
    lab.router(node)
        .and_then(|r| r.control_socket.clone())
        .ok_or_else(|| Error::Invalid(format!("{node} runs no hatod")))
}

/// Polls `request` on `node` until `done` holds for the response.
fn wait_for(
    lab: &Lab,
    node: &str,
    request: &Request,
    what: &str,
    done: impl Fn(&Response) -> bool,
) -> Result<()> {
    let socket = control_socket(lab, node)?;
    poll_until(&format!("{node}: {what}"), DEADLINE, Duration::from_millis(20), || {
        match query(&socket, request) {
            Ok(response) if done(&response) => Probe::Done(()),
            Ok(response) => Probe::Pending(response.to_string()),
            Err(e) => Probe::Pending(e.to_string()),
        }
    })
    .map_err(|e| Error::Timeout { what: e.to_string(), after_ms: DEADLINE.as_millis() })
}

/// Runs one flow: the receiver joins, the join reaches the RP (ASM) or the first-hop router
/// (SSM), the sender sends; prints each router's `show mroute` for the group while the receiver is
/// still joined; returns the receiver's report and the number sent.
fn run_flow(lab: &mut Lab, flow: Flow, run_id: u64) -> Result<(u32, RecvReport)> {
    let group: IpAddr = flow.group.parse().map_err(|_| Error::Invalid(flow.group.into()))?;
    let source = lab.addr("sender", "sender-r1", group.is_ipv6())?;
    let receiver = lab.start_receiver(
        "receiver",
        &RecvOptions {
            group,
            port: 5001,
            source: flow.ssm.then_some(source),
            iface: Some("eth0".into()),
            timeout: DEADLINE,
            idle: Some(Duration::from_secs(1)),
            run_id: Some(run_id),
        },
    )?;
    let (node, kind) = if flow.ssm { ("r1", "(S,G)") } else { ("r2", "(*,G)") };
    wait_for(lab, node, &Request::ShowPimJoin, &format!("{kind} join for {group}"), |response| {
        matches!(response, Response::PimJoin(view)
            if view.states.iter().any(|s| s.group == group && s.kind == kind && s.state == "Join"))
    })?;
    let sent = lab.send(
        "sender",
        &SendOptions {
            group,
            port: 5001,
            source: Some(source),
            iface: Some("eth0".into()),
            count: COUNT,
            interval: INTERVAL,
            ttl: 16,
            run_id,
            size: 100,
        },
    )?;
    println!("==== {}: {} ====", flow.name, flow.group);
    for router in ROUTERS {
        let request = Request::ShowMroute { source: None, group: Some(group) };
        let response = query(&control_socket(lab, router)?, &request)?;
        let text = response.to_string();
        // The entries, without the table's title and flag legend.
        let entries = text.split_once("\n\n").map_or(text.as_str(), |(_, rest)| rest);
        println!("-- {router}: hatoctl show mroute {group}\n{}", entries.trim_end());
    }
    let report = lab.finish_receiver(&receiver)?;
    Ok((sent.sent, report))
}

/// The demo; returns the text it printed last (the summary).
pub fn run() -> Result<String> {
    let options = LabOptions {
        traffic_binary: std::env::current_exe().ok(),
        keep_workdir: false,
        hatod_binary: Some(hatod_binary()?),
    };
    let mut lab = Lab::start_with(Topology::chain(3)?, options)?;
    let result = demo(&mut lab);
    let problems = lab.teardown();
    if !problems.is_empty() {
        eprintln!("teardown: {}", problems.join("; "));
    }
    result
}

fn demo(lab: &mut Lab) -> Result<String> {
    let rp4 = lab.addr("r2", "r1-r2", false)?;
    let rp6 = lab.addr("r2", "r1-r2", true)?;
    let config = RouterConfig {
        static_rps: vec![
            StaticRp { rp: rp4, groups: Prefix { addr: "224.0.0.0".parse().unwrap_or(rp4), len: 4 } },
            StaticRp { rp: rp6, groups: Prefix { addr: "ff00::".parse().unwrap_or(rp6), len: 8 } },
        ],
        ..RouterConfig::default()
    };
    println!("lab {}: sender - r1 - r2 (RP {rp4}, {rp6}) - r3 - receiver, hatod on r1..r3", lab.prefix());
    for router in ROUTERS {
        lab.start_router(router, RouterKind::Hatod, &config)?;
    }
    for (router, expected) in [("r1", 2), ("r2", 4), ("r3", 2)] {
        wait_for(
            lab,
            router,
            &Request::ShowPimNeighbors,
            "PIM neighbours (both families)",
            |response| matches!(response, Response::PimNeighbors(view) if view.neighbors.len() == expected),
        )?;
    }
    println!("PIM neighbours up on every router\n");
    println!("Flags: J - PIM, F - registering, R - source tree (SPT), W - (*,G) (not installed: the kernel forwards per (S,G)), T - installed, P - no outgoing interface\n");
    let mut rows = Vec::new();
    for (run_id, flow) in (1u64..).zip(FLOWS) {
        let (sent, report) = run_flow(lab, flow, run_id)?;
        println!(
            "=> {} {}: sent {sent}, received {}, lost {}, duplicated {}, first after {} ms\n",
            flow.name,
            flow.group,
            report.unique,
            u64::from(sent).saturating_sub(report.unique),
            report.duplicates,
            report.first_ms.map_or_else(|| "-".into(), |ms| ms.to_string())
        );
        rows.push((flow, sent, report));
    }
    println!();
    let mut summary =
        String::from("flow                                 group        sent  received  lost  duplicated\n");
    for (flow, sent, report) in &rows {
        summary.push_str(&format!(
            "{:<36} {:<12} {sent:>4}  {:>8}  {:>4}  {:>10}\n",
            flow.name,
            flow.group,
            report.unique,
            u64::from(*sent).saturating_sub(report.unique),
            report.duplicates
        ));
    }
    let failed = rows
        .iter()
        .any(|(_, sent, report)| report.unique * 10 < u64::from(*sent) * 9 || report.duplicates > 0);
    if failed {
        return Err(Error::Invalid(format!("a flow lost more than 10 % or was duplicated:\n{summary}")));
    }
    Ok(summary)
}
