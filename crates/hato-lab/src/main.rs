//! `hato-lab`: multicast traffic inside lab namespaces (`send`, `recv`), a lab for manual
//! exploration (`up`), the hatod demo (`demo`), the interop matrix table (`matrix`) and removal of leftover namespaces (`cleanup`). Run `send` / `recv` with `ip netns exec <ns> hato-lab ...`.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use hato_lab::traffic::{self, RecvOptions, SendOptions};
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};

#[derive(Debug, Parser)]
#[command(name = "hato-lab", about = "Namespace lab helpers for hato")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send numbered UDP datagrams to a multicast group and print a JSON report.
    Send {
        #[arg(long)]
        group: IpAddr,
        #[arg(long, default_value_t = 5001)]
        port: u16,
        /// Source address to bind.
        #[arg(long)]
        source: Option<IpAddr>,
        /// Outgoing interface.
        #[arg(long)]
        iface: Option<String>,
        #[arg(long, default_value_t = 100)]
        count: u32,
        #[arg(long, default_value_t = 10)]
        interval_ms: u64,
        /// TTL / hop limit (must be > 1 to cross routers).
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=255))]
        ttl: u32,
        #[arg(long, default_value_t = 1)]
        run_id: u64,
        /// Datagram payload size in bytes.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(24..=8192))]
        size: u64,
    },
    /// Join a group (ASM, or SSM with --source), count datagrams and print a JSON report.
    Recv {
        #[arg(long)]
        group: IpAddr,
        #[arg(long, default_value_t = 5001)]
        port: u16,
        /// Source for an SSM join.
        #[arg(long)]
        source: Option<IpAddr>,
        #[arg(long)]
        iface: Option<String>,
        /// Give up after this many milliseconds.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Stop this many milliseconds after the last datagram.
        #[arg(long)]
        idle_ms: Option<u64>,
        /// Count only datagrams of this run.
        #[arg(long)]
        run_id: Option<u64>,
    },
    /// Build a topology (optionally with routers) for manual exploration; tear it down after
    /// --hold-secs or when stdin reaches a newline or its end. Interrupted runs leave namespaces
    /// behind: remove them with `cleanup --prefix <prefix>`.
    Up {
        #[arg(value_enum)]
        topology: TopologyName,
        /// Routers in a chain.
        #[arg(long, default_value_t = 3)]
        routers: usize,
        /// Start this router implementation on every router node.
        #[arg(long, value_enum)]
        router: Option<Peer>,
        /// The static RP (a router node; default: the middle router by number).
        #[arg(long)]
        rp: Option<String>,
        #[arg(long, default_value_t = 600)]
        hold_secs: u64,
    },
    /// Three hatod routers in a chain forward IPv4 and IPv6, ASM and SSM flows; prints each
    /// router's `show mroute` and what the receivers got, then removes the lab. Needs root:
    /// `sudo cargo run --release -p hato-lab -- demo` (builds hatod with the same profile).
    Demo,
    /// Print an interop matrix file (written by the interop tests when `$HATO_INTEROP_MATRIX` names
    /// it) as a table; exits non-zero when a scenario failed.
    Matrix { file: std::path::PathBuf },
    /// Delete every namespace whose name starts with the prefix, killing what runs inside.
    Cleanup {
        #[arg(long)]
        prefix: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TopologyName {
    Chain,
    SharedLan,
    Diamond,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Peer {
    Frr,
    Pimd,
    Smcroute,
}

impl From<Peer> for RouterKind {
    fn from(peer: Peer) -> Self {
        match peer {
            Peer::Frr => RouterKind::Frr,
            Peer::Pimd => RouterKind::Pimd,
            Peer::Smcroute => RouterKind::Smcroute,
        }
    }
}

fn up(
    name: TopologyName,
    routers: usize,
    router: Option<Peer>,
    rp: Option<String>,
    hold: Duration,
) -> Result<String, Box<dyn std::error::Error>> {
    let topology = match name {
        TopologyName::Chain => Topology::chain(routers)?,
        TopologyName::SharedLan => Topology::shared_lan()?,
        TopologyName::Diamond => Topology::diamond()?,
    };
    let options =
        LabOptions { traffic_binary: std::env::current_exe().ok(), keep_workdir: true, hatod_binary: None };
    let mut lab = Lab::start_with(topology, options)?;
    let router_nodes: Vec<String> = lab.topology().routers().map(|r| r.name.clone()).collect();
    if let Some(peer) = router {
        let rp_node =
            rp.unwrap_or_else(|| router_nodes.get(router_nodes.len() / 2).cloned().unwrap_or_default());
        let config = RouterConfig::with_rp(lab.topology().primary_addr(&rp_node, false)?);
        for node in &router_nodes {
            lab.start_router(node, peer.into(), &config)?;
        }
    }
    let summary = serde_json::json!({
        "prefix": lab.prefix(),
        "namespaces": lab.namespaces(),
        "workdir": lab.workdir(),
        "topology": lab.topology(),
    });
    println!("{summary}");
    let (done, wait) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(hold);
    let problems = lab.teardown();
    Ok(serde_json::to_string(&serde_json::json!({ "torn_down": lab.prefix(), "problems": problems }))?)
}

fn run(command: Command) -> Result<String, Box<dyn std::error::Error>> {
    match command {
        Command::Send { group, port, source, iface, count, interval_ms, ttl, run_id, size } => {
            let options = SendOptions {
                group,
                port,
                source,
                iface,
                count,
                interval: Duration::from_millis(interval_ms),
                ttl,
                run_id,
                size: usize::try_from(size)?,
            };
            Ok(serde_json::to_string(&traffic::send(&options)?)?)
        }
        Command::Recv { group, port, source, iface, timeout_ms, idle_ms, run_id } => {
            let options = RecvOptions {
                group,
                port,
                source,
                iface,
                timeout: Duration::from_millis(timeout_ms),
                idle: idle_ms.map(Duration::from_millis),
                run_id,
            };
            Ok(serde_json::to_string(&traffic::receive(&options)?)?)
        }
        Command::Up { topology, routers, router, rp, hold_secs } => {
            up(topology, routers, router, rp, Duration::from_secs(hold_secs))
        }
        Command::Demo => hato_lab::demo::run().map_err(Into::into),
        Command::Matrix { file } => {
            let results = hato_lab::matrix::parse(&std::fs::read_to_string(&file)?)?;
            let table = hato_lab::matrix::render(&results);
            if results.iter().any(|r| !r.passed) {
                return Err(format!("a scenario failed\n{table}").into());
            }
            Ok(table.trim_end().to_string())
        }
        Command::Cleanup { prefix } => Ok(serde_json::to_string(&hato_lab::cleanup_prefix(&prefix)?)?),
    }
}

fn main() -> ExitCode {
    match run(Cli::parse().command) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("hato-lab: {e}");
            ExitCode::FAILURE
        }
    }
}
