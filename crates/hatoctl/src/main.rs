//! `hatoctl`: the operator's command-line tool for hato: decode captures, and query or steer a
//! running `hatod` over its control socket.

mod decode;
mod manual;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser;
use clap::{CommandFactory, Parser, Subcommand};
use hato_control::{DebugRequest, DebugSubsystem, Request};
use hatoctl::control;

/// The control socket of a hatod running with the default runtime directory.
const DEFAULT_SOCKET: &str = "/run/hato/hatod.sock";

#[derive(Debug, Parser)]
#[command(name = "hatoctl", version, about = "Command-line tool for the hato multicast routing suite")]
#[command(arg_required_else_help = true)]
struct Cli {
    /// hatod's control socket.
    #[arg(short = 's', long = "socket", global = true, default_value = DEFAULT_SOCKET)]
    socket: PathBuf,
    /// Write the manual page or a shell completion script to standard output and exit.
    #[arg(long = "generate", value_name = "WHAT", value_enum, exclusive = true)]
    generate: Option<hato_manual::Artifact>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every IGMP, MLD, PIM, DVMRP and mtrace packet of a pcap or pcapng capture, then a count per
    /// message type. Exits 1 if any of those packets failed to decode, 2 if the file cannot be read.
    Decode {
        /// The capture file (pcap or pcapng; the format is detected from its contents).
        file: PathBuf,
        /// One JSON object per line instead of text; the last line is the summary.
        #[arg(long)]
        json: bool,
    },
    /// Show hatod's state. Exits 1 when hatod answers an error, 3 when it is not running.
    Show {
        #[command(subcommand)]
        what: Show,
        /// The view as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Every family's whole state in pim6sd's dump layout: interfaces, PIM neighbours, queriers,
    /// reported groups, the routing table with its interface bitmaps and timers, the RP-Set and
    /// the candidate BSR / RPs.
    Dump {
        /// The answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// hatod's version, uptime and table sizes.
    Status {
        /// The answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make hatod re-read its configuration (as SIGHUP does); a configuration with errors is
    /// refused and the running one stays (exit 1).
    Reload {
        /// The answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Log everything of a subsystem (packets included) whatever hatod's debug level, or stop;
    /// without arguments, show what is switched on.
    Debug {
        /// The subsystem, or `all`.
        #[arg(requires = "state", value_parser = subsystem_parser())]
        subsystem: Option<Subsystems>,
        #[arg(value_enum)]
        state: Option<OnOff>,
        /// The answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OnOff {
    On,
    Off,
}

/// The subsystems `debug` names: one, or `all`.
#[derive(Debug, Clone)]
struct Subsystems(Vec<DebugSubsystem>);

/// Accepts (and completes) the subsystem names and `all`.
fn subsystem_parser() -> impl TypedValueParser<Value = Subsystems> {
    let names = DebugSubsystem::ALL.iter().map(|s| s.name()).chain(["all"]);
    clap::builder::PossibleValuesParser::new(names).try_map(|name| {
        if name == "all" {
            Ok(Subsystems(DebugSubsystem::ALL.to_vec()))
        } else {
            name.parse().map(|s| Subsystems(vec![s]))
        }
    })
}

#[derive(Debug, Subcommand)]
enum Show {
    /// Interfaces, their state, addresses and VIF numbers.
    Interfaces,
    /// Where multicast from ADDR is expected to arrive, and why.
    Rpf { address: IpAddr },
    /// Multicast routes, optionally of one source and / or group.
    Mroute { first: Option<IpAddr>, second: Option<IpAddr> },
    /// Packet, upcall, decode-failure and forwarding-plane counters.
    Counters,
    /// IGMP state.
    Igmp {
        #[command(subcommand)]
        what: GroupsOnly,
    },
    /// MLD state.
    Mld {
        #[command(subcommand)]
        what: GroupsOnly,
    },
    /// PIM state.
    Pim {
        #[command(subcommand)]
        what: ShowPim,
    },
}

#[derive(Debug, Subcommand)]
enum GroupsOnly {
    /// Groups and sources per interface, with querier state.
    Groups,
}

#[derive(Debug, Subcommand)]
enum ShowPim {
    /// PIM neighbours per interface.
    #[command(alias = "neighbours")]
    Neighbors,
    /// Interfaces running PIM, their DR and neighbour counts.
    Interfaces,
    /// Downstream Join/Prune state.
    Join,
    /// Upstream (*,G) and (S,G) state: RPF neighbour, SPT bit, register state.
    Upstream,
    /// Assert winners and losers per interface and (S,G) or (*,G).
    Assert,
    /// The RP of GROUP and why it was chosen.
    Rp { group: IpAddr },
    /// Static RPs and the BSR-learned RP-Set.
    RpSet,
    /// Bootstrap router state.
    Bsr,
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
    // `arg_required_else_help` leaves no other way to get here without a command.
    let Some(command) = cli.command else { return ExitCode::from(2) };
    let (request, json) = match command {
        Command::Decode { file, json } => return decode::run(&file, json),
        Command::Show { what, json } => {
            let request = match what {
                Show::Interfaces => Request::ShowInterfaces,
                Show::Rpf { address } => Request::ShowRpf { address },
                Show::Mroute { first, second } => control::mroute_request(first, second),
                Show::Counters => Request::ShowCounters,
                Show::Igmp { what: GroupsOnly::Groups } => Request::ShowIgmpGroups,
                Show::Mld { what: GroupsOnly::Groups } => Request::ShowMldGroups,
                Show::Pim { what } => match what {
                    ShowPim::Neighbors => Request::ShowPimNeighbors,
                    ShowPim::Interfaces => Request::ShowPimInterfaces,
                    ShowPim::Join => Request::ShowPimJoin,
                    ShowPim::Upstream => Request::ShowPimUpstream,
                    ShowPim::Assert => Request::ShowPimAssert,
                    ShowPim::Rp { group } => Request::ShowPimRp { group },
                    ShowPim::RpSet => Request::ShowPimRpSet,
                    ShowPim::Bsr => Request::ShowPimBsr,
                },
            };
            (request, json)
        }
        Command::Dump { json } => (Request::Dump, json),
        Command::Status { json } => (Request::Status, json),
        Command::Reload { json } => (Request::Reload, json),
        Command::Debug { subsystem, state, json } => {
            let request = DebugRequest {
                subsystems: subsystem.map(|s| s.0).unwrap_or_default(),
                enable: state == Some(OnOff::On),
            };
            (Request::Debug(request), json)
        }
    };
    control::execute(&cli.socket, &request, json).finish()
}
