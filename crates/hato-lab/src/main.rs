//! `hato-lab`: multicast traffic inside lab namespaces (`send`, `recv`) and removal of leftover
//! namespaces (`cleanup`). Run `send` / `recv` with `ip netns exec <ns> hato-lab ...`.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use hato_lab::traffic::{self, RecvOptions, SendOptions};

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
    /// Delete every namespace whose name starts with the prefix, killing what runs inside.
    Cleanup {
        #[arg(long)]
        prefix: String,
    },
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
