//! `hatoctl`: the operator's command-line tool for hato.

mod decode;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "hatoctl", version, about = "Command-line tool for the hato multicast routing suite")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Decode { file, json } => decode::run(&file, json),
    }
}
