//! `hatoctl decode`: walks a capture, dissects every IP packet with `hato_wire::packet`, prints each
//! control packet (text or JSON lines) and a summary of counts per message type and per failure.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;

use hato_pcap::{read_all, Network};
use hato_wire::packet::{dissect_ipv4, dissect_ipv6, ControlPacket, DissectError};
use serde::Serialize;

/// One line of output: a decoded control packet or a failure.
#[derive(Debug, Serialize)]
struct Line<'a> {
    frame: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp_ns: Option<u64>,
    #[serde(flatten)]
    outcome: Outcome<'a>,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Outcome<'a> {
    Decoded {
        kind: String,
        #[serde(flatten)]
        packet: &'a ControlPacket,
    },
    Failed {
        error: &'a DissectError,
    },
}

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Decoded { packet, .. } => write!(f, "{:>6} {}", self.frame, packet),
            Outcome::Failed { error } => write!(f, "{:>6} decode error: {}", self.frame, error),
        }
    }
}

/// Counts over the whole capture.
#[derive(Debug, Default, Serialize)]
struct Summary {
    frames: usize,
    control_packets: usize,
    failed: usize,
    /// Decoded messages per type (`pim-hello`, `igmp-v3-report`, ...).
    kinds: BTreeMap<String, usize>,
    /// Failures per `protocol: error`.
    failures: BTreeMap<String, usize>,
    /// Why the capture could not be read to its end, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    capture_error: Option<String>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "-- {} frames, {} control packets, {} failed to decode",
            self.frames,
            self.control_packets + self.failed,
            self.failed
        )?;
        for (kind, count) in &self.kinds {
            writeln!(f, "   {kind:<28} {count:>6}")?;
        }
        for (failure, count) in &self.failures {
            writeln!(f, "   failed {failure:<21} {count:>6}")?;
        }
        if let Some(error) = &self.capture_error {
            writeln!(f, "   capture error: {error}")?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct SummaryLine<'a> {
    summary: &'a Summary,
}

pub fn run(path: &Path, json: bool) -> ExitCode {
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("hatoctl: cannot read {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    let (frames, capture_error) = read_all(&data);
    let mut summary = Summary { frames: frames.len(), ..Summary::default() };
    summary.capture_error = capture_error.map(|e| e.to_string());
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for (index, frame) in frames.iter().enumerate() {
        let dissected = match frame.network() {
            Ok(Network::Ipv4(packet)) => dissect_ipv4(packet),
            Ok(Network::Ipv6(packet)) => dissect_ipv6(packet),
            Ok(Network::Other { .. }) | Err(_) => continue,
        };
        let outcome = match &dissected {
            Ok(None) => continue,
            Ok(Some(packet)) => {
                let kind = packet.message.kind();
                summary.control_packets += 1;
                *summary.kinds.entry(kind.clone()).or_default() += 1;
                Outcome::Decoded { kind, packet }
            }
            Err(error) => {
                summary.failed += 1;
                *summary.failures.entry(error.to_string()).or_default() += 1;
                Outcome::Failed { error }
            }
        };
        let line = Line { frame: index + 1, timestamp_ns: frame.timestamp_ns, outcome };
        if emit(&mut out, &line, json).is_err() {
            return ExitCode::from(2);
        }
    }
    let written = if json {
        emit(&mut out, &SummaryLine { summary: &summary }, true)
    } else {
        write!(out, "{summary}")
    };
    if written.and_then(|()| out.flush()).is_err() {
        return ExitCode::from(2);
    }
    if summary.capture_error.is_some() {
        ExitCode::from(2)
    } else if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn emit<T: Serialize + fmt::Display>(out: &mut impl Write, value: &T, json: bool) -> io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, value).map_err(io::Error::other)?;
        writeln!(out)
    } else {
        writeln!(out, "{value}")
    }
}

impl fmt::Display for SummaryLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.summary.fmt(f)
    }
}
