//! `hatod`: the hato multicast routing daemon.
//!
//! A thin single-threaded shell ([`shell`]) around the sans-IO [`hato_router::Router`]: it owns the
//! kernel's multicast routing sockets, the netlink watcher, the protocol sockets, the control
//! socket and a signalfd, and turns what they report into router inputs; only the writes to the
//! kernel's forwarding cache run on a thread of their own (`KernelPlane::start_writer`).
//! `hatod import` converts mrouted, pimd and pim6sd configurations to hato's TOML.

mod control;
mod dump;
mod pacing;
mod shell;
mod translate;

// Service integration: logging, manual pages, privileges, the service manager.
mod logging;
mod manual;
mod notify;
mod privileges;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// Where the runtime files live unless the configuration or `-r` says otherwise.
const DEFAULT_RUNTIME_DIR: &str = "/run/hato";

#[derive(Debug, Parser)]
#[command(name = "hatod", version, about = "The hato multicast routing daemon")]
pub struct Cli {
    /// Configuration file; without it, the embedded default over the system's interfaces.
    #[arg(short = 'f', long = "config", value_name = "CONFIG")]
    pub config: Option<PathBuf>,
    /// Control socket (default: <runtime-dir>/hatod.sock).
    #[arg(short = 's', long = "socket", value_name = "SOCKET")]
    pub socket: Option<PathBuf>,
    /// PID file (default: <runtime-dir>/hatod.pid).
    #[arg(short = 'p', long = "pidfile", value_name = "PIDFILE")]
    pub pidfile: Option<PathBuf>,
    /// Runtime directory for the socket, PID file and dumps (overrides `global.runtime-dir`).
    #[arg(short = 'r', long = "runtime-dir", value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
    /// Debug level as mrouted: 0 warnings, 1 notices, 2 events, 3 every packet; `-d` alone is 2.
    /// Without it the configuration's
    /// `global.log-level` applies.
    #[arg(short = 'd', long = "debug", value_name = "LEVEL", num_args = 0..=1, default_missing_value = "2",
          value_parser = clap::value_parser!(u8).range(0..=3))]
    pub debug: Option<u8>,
    /// Stay in the foreground (the only mode: service managers supervise hatod directly).
    #[arg(short = 'n', long = "foreground")]
    pub foreground: bool,
    /// Check the configuration file and exit: 0 valid, 1 invalid, 2 unreadable.
    #[arg(long = "check-config")]
    pub check_config: bool,
    /// Once the sockets are open, become USER (keeping CAP_NET_ADMIN and CAP_NET_RAW only).
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Where the log goes: `auto` is the journal when systemd connected standard error to it.
    #[arg(long = "log", value_name = "OUTPUT", value_enum, default_value_t = logging::LogOutput::Auto)]
    pub log: logging::LogOutput,
    /// Write the manual page or a shell completion script to standard output and exit.
    #[arg(long = "generate", value_name = "WHAT", value_enum, exclusive = true)]
    pub generate: Option<hato_manual::Artifact>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert another daemon's configuration to hato's TOML (stdout); warnings go to stderr.
    Import {
        #[arg(value_enum)]
        format: ImportFormat,
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportFormat {
    Mrouted,
    Pimd,
    Pim6sd,
}

fn import(format: ImportFormat, file: &std::path::Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("hatod: cannot read {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let imported = match format {
        ImportFormat::Mrouted => hato_config::import_mrouted(&text),
        ImportFormat::Pimd => hato_config::import_pimd(&text),
        ImportFormat::Pim6sd => hato_config::import_pim6sd(&text),
    };
    for warning in &imported.warnings {
        eprintln!("{}: {warning}", file.display());
    }
    print!("{}", imported.to_toml(&file.display().to_string()));
    ExitCode::SUCCESS
}

fn check_config(path: Option<&std::path::Path>) -> ExitCode {
    let Some(path) = path else {
        eprintln!("hatod: --check-config needs -f CONFIG");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("hatod: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    match hato_config::load(&path.display().to_string(), &text) {
        Ok(config) => {
            println!(
                "{}: valid ({} interfaces, {} static flows, {} static mroutes)",
                path.display(),
                config.interface.len(),
                config.static_flow.len(),
                config.mroute.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(artifact) = cli.generate {
        if cli.command.is_some() {
            let message = "--generate cannot be used with a command";
            Cli::command().error(clap::error::ErrorKind::ArgumentConflict, message).exit();
        }
        return manual::generate(artifact);
    }
    if let Some(Command::Import { format, file }) = &cli.command {
        return import(*format, file);
    }
    if cli.check_config {
        return check_config(cli.config.as_deref());
    }
    // The configured log level is known only after loading; errors before that go to stderr.
    let config = match cli.config.as_deref().map(shell::read_config).transpose() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("hatod: {message}");
            return ExitCode::from(1);
        }
    };
    let level = config.as_ref().map_or(hato_config::LogLevel::Info, |c| c.global.log_level);
    if let Err(message) = logging::init(logging::base_level(cli.debug, level), cli.log) {
        eprintln!("hatod: {message}");
        return ExitCode::from(1);
    }
    match shell::run(&cli, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("hatod: {message}");
            ExitCode::from(1)
        }
    }
}
