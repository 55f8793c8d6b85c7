//! `hato-bench`: the kernel scale benchmark (see the library documentation). Needs root, FRR
//! installed for `--routers frr`, and a hatod binary (`--hatod`, `$HATO_HATOD_BIN`, or the one
//! next to this executable).
//!
//! `cargo build --release -p hatod -p hato-bench && target/release/hato-bench` runs the full
//! 100,000 (S,G); `--sg 1000 --steady-secs 5` is a quick smoke run.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hato_bench::{measure_kernel_floor, run, LoadAverage, Options, Report, Workload};
use hato_lab::RouterKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Router {
    Hatod,
    Frr,
}

#[derive(Debug, Parser)]
#[command(name = "hato-bench", about = "(S,G) joins through hatod and FRR with the real kernel MFC")]
struct Cli {
    /// (S,G) entries to join (up to 100 sources per group).
    #[arg(long, default_value_t = 100_000)]
    sg: u32,
    /// Downstream interfaces, each with one PIM neighbour.
    #[arg(long, default_value_t = 10)]
    interfaces: u32,
    /// Routers to measure, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Router::Hatod, Router::Frr])]
    routers: Vec<Router>,
    /// Seconds of steady state over which CPU is measured.
    #[arg(long, default_value_t = 60)]
    steady_secs: u64,
    /// Seconds every entry may take to be installed.
    #[arg(long, default_value_t = 300)]
    install_timeout_secs: u64,
    /// The hatod binary.
    #[arg(long)]
    hatod: Option<PathBuf>,
    /// Skip the bare kernel install loop.
    #[arg(long)]
    no_floor: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

fn default_hatod() -> Option<PathBuf> {
    std::env::var_os("HATO_HATOD_BIN").map(PathBuf::from).or_else(|| {
        let exe = std::env::current_exe().ok()?;
        Some(exe.parent()?.join("hatod")).filter(|p| p.is_file())
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let workload = match Workload::with_entries(cli.sg, cli.interfaces) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("hato-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        hatod_binary: cli.hatod.or_else(default_hatod),
        install_timeout: Duration::from_secs(cli.install_timeout_secs),
        steady: Duration::from_secs(cli.steady_secs),
        ..Options::default()
    };
    let load_before = LoadAverage::now();
    let kernel_floor = if cli.no_floor {
        None
    } else {
        match measure_kernel_floor(workload) {
            Ok(floor) => Some(floor),
            Err(e) => {
                eprintln!("hato-bench: kernel floor: {e}");
                None
            }
        }
    };
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for router in cli.routers {
        let kind = match router {
            Router::Hatod => RouterKind::Hatod,
            Router::Frr => RouterKind::Frr,
        };
        eprintln!("hato-bench: {} ...", hato_bench::router_name(kind));
        match run(kind, workload, &options) {
            Ok(m) => results.push(m),
            Err(e) => failures.push((hato_bench::router_name(kind).to_string(), e)),
        }
    }
    let report = Report {
        workload,
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        load_before,
        load_after: LoadAverage::now(),
        kernel_floor,
        results,
        failures,
    };
    if cli.json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("hato-bench: {e}"),
        }
    } else {
        print!("{report}");
    }
    if report.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
