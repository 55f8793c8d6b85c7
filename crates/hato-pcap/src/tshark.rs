//! An independent second opinion on capture files: run Wireshark's `tshark` and collect, per packet,
//! its expert information (malformed packets, protocol errors) and every failed checksum of the IPv4
//! header, IGMP (and DVMRP inside it), ICMPv6 (MLD) and PIM.
//!
//! The command (checked against tshark 4.0.17):
//!
//! ```text
//! tshark -n -r FILE -o ip.check_checksum:TRUE -T fields -E header=n -E separator=/t -E quote=n
//!        -E occurrence=a -E aggregator=<0x1f> -e frame.number -e frame.protocols -e _ws.col.Protocol
//!        -e _ws.col.Info -e _ws.expert.severity -e _ws.expert.group -e _ws.expert.message
//!        -e _ws.malformed -e ip.checksum.status -e igmp.checksum.status -e icmpv6.checksum.status
//!        -e pim.bad_checksum -e dvmrp.checksum.status
//! ```
//!
//! It runs with `WIRESHARK_CONFIG_DIR` pointing to a directory that does not exist, so that no personal
//! preferences apply. What it relies on:
//! - The IPv4 header checksum is only verified with `-o ip.check_checksum:TRUE` (default FALSE; the
//!   status field is then 2, "unverified"). IGMP, ICMPv6, PIM and DVMRP checksums are always verified
//!   and have no preference. UDP and TCP checksums are deliberately left unverified: captures on veth
//!   see offloaded, not yet filled checksums.
//! - A bad checksum is an expert item of group Checksum: severity Error for IPv4, IGMP and PIM, but
//!   Warning for ICMPv6. Checksum status fields: 0 bad, 1 good, 2 unverified; PIM has no status field,
//!   only the `pim.bad_checksum` expert field, present when the checksum is wrong.
//! - A dissector exception adds `_ws.malformed` (printed as `[Malformed Packet: PIM]`) and an expert
//!   item of severity Error, group Malformed, "Malformed Packet (Exception occurred)".
//! - Expert severities and groups print as numbers (`tshark -G values`): severity Comment 0x100000,
//!   Chat 0x200000, Note 0x400000, Warning 0x600000, Error 0x800000; groups are multiples of 0x1000000.
//! - `-E occurrence=a` with an aggregator joins repeated fields (a PIM Register's inner IP header, several
//!   expert items); 0x1f (ASCII unit separator) does not appear in tshark's field text.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Separates the values of a field that occurs several times in one packet.
const AGGREGATOR: char = '\u{1f}';
/// The fields asked of tshark, in output order.
const FIELDS: [&str; 13] = [
    "frame.number",
    "frame.protocols",
    "_ws.col.Protocol",
    "_ws.col.Info",
    "_ws.expert.severity",
    "_ws.expert.group",
    "_ws.expert.message",
    "_ws.malformed",
    "ip.checksum.status",
    "igmp.checksum.status",
    "icmpv6.checksum.status",
    "pim.bad_checksum",
    "dvmrp.checksum.status",
];
/// The longest a tshark run may take before it is killed.
const TIMEOUT: Duration = Duration::from_secs(300);
/// A configuration directory that does not exist, so tshark runs with its defaults: a personal profile
/// with disabled protocols or Decode As rules could otherwise hide problems.
const NO_PERSONAL_CONFIG: &str = "/nonexistent/hato-tshark-defaults";
/// How often a running tshark is polled for its exit.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// The arguments given to `tshark` to check `capture` (see the module documentation).
pub fn tshark_args(capture: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["-n", "-r"].iter().map(OsString::from).collect();
    args.push(capture.as_os_str().to_owned());
    for arg in ["-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "header=n", "-E", "separator=/t"] {
        args.push(arg.into());
    }
    for arg in ["-E", "quote=n", "-E", "occurrence=a", "-E"] {
        args.push(arg.into());
    }
    args.push(format!("aggregator={AGGREGATOR}").into());
    for field in FIELDS {
        args.push("-e".into());
        args.push(field.into());
    }
    args
}

/// Runs `tshark` (from `PATH`) over a capture file and reports what it found in every packet.
pub fn check_with_tshark(capture: &Path) -> Result<TsharkReport, TsharkError> {
    check_with_program(Path::new("tshark"), capture)
}

/// Like [`check_with_tshark`] with an explicit tshark executable.
pub fn check_with_program(tshark: &Path, capture: &Path) -> Result<TsharkReport, TsharkError> {
    let mut child = Command::new(tshark)
        .args(tshark_args(capture))
        .env("WIRESHARK_CONFIG_DIR", NO_PERSONAL_CONFIG)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => TsharkError::NotInstalled,
            _ => TsharkError::Io(error),
        })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(TsharkError::Io)? {
            break status;
        }
        if Instant::now() >= deadline {
            // Killing fails only if it already exited; either way it is reaped next.
            let _ = child.kill();
            let _ = child.wait();
            return Err(TsharkError::TimedOut);
        }
        thread::sleep(POLL_INTERVAL);
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default()).into_owned();
    if !status.success() {
        return Err(TsharkError::Failed { status, stderr });
    }
    parse_output(&String::from_utf8_lossy(&stdout))
}

/// Reads a child's output to its end on a thread, so neither pipe can fill up and block tshark.
fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error leaves what was read so far; the exit status tells the rest.
            let _ = pipe.read_to_end(&mut bytes);
        }
        bytes
    })
}

/// Why tshark could not give a report.
#[derive(Debug)]
pub enum TsharkError {
    /// No `tshark` executable was found.
    NotInstalled,
    /// Starting or waiting for tshark failed.
    Io(io::Error),
    /// tshark exited with an error, for example on a file it cannot read.
    Failed { status: ExitStatus, stderr: String },
    /// tshark ran longer than its time limit and was killed.
    TimedOut,
    /// A line of tshark's output does not have the requested fields.
    BadOutput { line: String },
}

impl fmt::Display for TsharkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsharkError::NotInstalled => write!(f, "tshark not installed (no `tshark` in PATH)"),
            TsharkError::Io(error) => write!(f, "running tshark: {error}"),
            TsharkError::Failed { status, stderr } => {
                write!(f, "tshark failed ({status}): {}", stderr.trim())
            }
            TsharkError::TimedOut => write!(f, "tshark ran longer than {} s", TIMEOUT.as_secs()),
            TsharkError::BadOutput { line } => write!(f, "unexpected tshark output line {line:?}"),
        }
    }
}

impl std::error::Error for TsharkError {}

/// What tshark found in a capture: one entry per packet, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TsharkReport {
    pub packets: Vec<TsharkPacket>,
}

impl TsharkReport {
    /// The packets with a problem.
    pub fn problem_packets(&self) -> impl Iterator<Item = &TsharkPacket> {
        self.packets.iter().filter(|packet| !packet.is_clean())
    }

    /// Whether no packet has a problem.
    pub fn is_clean(&self) -> bool {
        self.problem_packets().next().is_none()
    }
}

impl fmt::Display for TsharkReport {
    /// One line per packet with a problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for packet in self.problem_packets() {
            writeln!(f, "{packet}")?;
        }
        Ok(())
    }
}

/// What tshark found in one packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TsharkPacket {
    /// The 1-based frame number.
    pub frame: u64,
    /// The dissector chain, e.g. `eth:ethertype:ip:pim`.
    pub protocols: String,
    /// The Protocol and Info columns.
    pub summary: String,
    /// Every expert item, of any severity.
    pub expert: Vec<ExpertInfo>,
    /// A dissector hit the end of the data or an impossible value.
    pub malformed: bool,
    /// The layers whose checksum failed.
    pub bad_checksums: Vec<ChecksumLayer>,
}

impl TsharkPacket {
    /// The expert items of severity Warning or Error.
    pub fn problems(&self) -> impl Iterator<Item = &ExpertInfo> {
        self.expert.iter().filter(|item| item.severity.is_problem())
    }

    /// Neither malformed, nor a bad checksum, nor a warning or error.
    pub fn is_clean(&self) -> bool {
        !self.malformed && self.bad_checksums.is_empty() && self.problems().next().is_none()
    }
}

impl fmt::Display for TsharkPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame {} [{}] {}", self.frame, self.protocols, self.summary)?;
        if self.malformed {
            write!(f, "; malformed")?;
        }
        for layer in &self.bad_checksums {
            write!(f, "; bad {layer} checksum")?;
        }
        for item in &self.expert {
            write!(f, "; {item}")?;
        }
        Ok(())
    }
}

/// One expert information item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpertInfo {
    pub severity: Severity,
    pub group: ExpertGroup,
    pub message: String,
}

impl fmt::Display for ExpertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/{:?}: {}", self.severity, self.group, self.message)
    }
}

/// The severity of an expert item (Wireshark `PI_SEVERITY_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Comment,
    Chat,
    Note,
    Warning,
    Error,
    Unknown(u32),
}

impl Severity {
    fn from_value(value: u32) -> Self {
        match value {
            0x0010_0000 => Severity::Comment,
            0x0020_0000 => Severity::Chat,
            0x0040_0000 => Severity::Note,
            0x0060_0000 => Severity::Warning,
            0x0080_0000 => Severity::Error,
            other => Severity::Unknown(other),
        }
    }

    /// Warning, Error, or a severity this table does not know (treated as serious).
    pub fn is_problem(self) -> bool {
        matches!(self, Severity::Warning | Severity::Error | Severity::Unknown(_))
    }
}

/// The group of an expert item (Wireshark `PI_GROUP_MASK` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpertGroup {
    Checksum,
    Sequence,
    Response,
    Request,
    Undecoded,
    Reassemble,
    Malformed,
    Debug,
    Protocol,
    Security,
    Comment,
    Decryption,
    Assumption,
    Deprecated,
    Unknown(u32),
}

impl ExpertGroup {
    fn from_value(value: u32) -> Self {
        match value >> 24 {
            0x01 => ExpertGroup::Checksum,
            0x02 => ExpertGroup::Sequence,
            0x03 => ExpertGroup::Response,
            0x04 => ExpertGroup::Request,
            0x05 => ExpertGroup::Undecoded,
            0x06 => ExpertGroup::Reassemble,
            0x07 => ExpertGroup::Malformed,
            0x08 => ExpertGroup::Debug,
            0x09 => ExpertGroup::Protocol,
            0x0a => ExpertGroup::Security,
            0x0b => ExpertGroup::Comment,
            0x0c => ExpertGroup::Decryption,
            0x0d => ExpertGroup::Assumption,
            0x0e => ExpertGroup::Deprecated,
            _ => ExpertGroup::Unknown(value),
        }
    }
}

/// A layer whose checksum tshark verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecksumLayer {
    Ipv4Header,
    Igmp,
    Icmpv6,
    Pim,
    Dvmrp,
}

impl fmt::Display for ChecksumLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChecksumLayer::Ipv4Header => "IPv4 header",
            ChecksumLayer::Igmp => "IGMP",
            ChecksumLayer::Icmpv6 => "ICMPv6",
            ChecksumLayer::Pim => "PIM",
            ChecksumLayer::Dvmrp => "DVMRP",
        })
    }
}

/// Parses tshark's `-T fields` output for [`FIELDS`].
fn parse_output(output: &str) -> Result<TsharkReport, TsharkError> {
    let packets = output.lines().filter(|line| !line.is_empty()).map(parse_line).collect::<Result<_, _>>()?;
    Ok(TsharkReport { packets })
}

fn parse_line(line: &str) -> Result<TsharkPacket, TsharkError> {
    let bad_output = || TsharkError::BadOutput { line: line.to_owned() };
    let fields: Vec<&str> = line.split('\t').collect();
    let [frame, protocols, protocol, info, severities, groups, messages, malformed, ip, igmp, icmpv6, pim, dvmrp] =
        fields[..]
    else {
        return Err(bad_output());
    };
    let frame = frame.parse().map_err(|_| bad_output())?;
    let numbers = |field: &str| -> Result<Vec<u32>, TsharkError> {
        values(field).map(|value| value.parse().map_err(|_| bad_output())).collect()
    };
    let severities = numbers(severities)?;
    let groups = numbers(groups)?;
    let messages: Vec<&str> = values(messages).collect();
    if severities.len() != groups.len() || groups.len() != messages.len() {
        return Err(bad_output());
    }
    let expert = severities
        .iter()
        .zip(&groups)
        .zip(&messages)
        .map(|((&severity, &group), message)| ExpertInfo {
            severity: Severity::from_value(severity),
            group: ExpertGroup::from_value(group),
            message: (*message).to_owned(),
        })
        .collect();
    // Status 0 is "bad"; PIM only has a field that is present when the checksum is bad.
    let status_bad = |field: &str| values(field).any(|value| value == "0");
    let bad_checksums = [
        (ChecksumLayer::Ipv4Header, status_bad(ip)),
        (ChecksumLayer::Igmp, status_bad(igmp)),
        (ChecksumLayer::Icmpv6, status_bad(icmpv6)),
        (ChecksumLayer::Pim, !pim.is_empty()),
        (ChecksumLayer::Dvmrp, status_bad(dvmrp)),
    ]
    .into_iter()
    .filter_map(|(layer, bad)| bad.then_some(layer))
    .collect();
    Ok(TsharkPacket {
        frame,
        protocols: protocols.to_owned(),
        summary: format!("{protocol} {info}"),
        expert,
        malformed: !malformed.is_empty(),
        bad_checksums,
    })
}

/// The values of a possibly repeated field; none for an empty field.
fn values(field: &str) -> impl Iterator<Item = &str> {
    field.split(AGGREGATOR).filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds an output line from the field values, joining repeated values with the aggregator.
    fn line(fields: [&[&str]; 13]) -> String {
        fields.map(|values| values.join(&AGGREGATOR.to_string())).join("\t")
    }

    #[test]
    fn arguments_ask_for_every_field_in_order() {
        let args = tshark_args(Path::new("/tmp/x.pcap"));
        let args: Vec<&str> = args.iter().map(|arg| arg.to_str().unwrap()).collect();
        assert_eq!(args[..5], ["-n", "-r", "/tmp/x.pcap", "-o", "ip.check_checksum:TRUE"]);
        let fields: Vec<&str> = args.windows(2).filter(|pair| pair[0] == "-e").map(|pair| pair[1]).collect();
        assert_eq!(fields, FIELDS);
        assert!(args.contains(&"aggregator=\u{1f}"));
    }

    #[test]
    fn parses_clean_and_faulty_packets() {
        let clean = line([
            &["1"],
            &["eth:ethertype:ip:igmp:igmp"],
            &["IGMPv3"],
            &["Membership Query"],
            &[],
            &[],
            &[],
            &[],
            &["1"],
            &["1"],
            &[],
            &[],
            &[],
        ]);
        let faulty = line([
            &["2"],
            &["eth:ethertype:ip:pim"],
            &["PIMv2"],
            &["Hello[Malformed Packet]"],
            &["8388608", "8388608"],
            &["16777216", "117440512"],
            &["Bad checksum [should be 0xdffe]", "Malformed Packet (Exception occurred)"],
            &["[Malformed Packet: PIM]", "_ws.malformed"],
            &["1", "0"],
            &[],
            &[],
            &["1"],
            &[],
        ]);
        let warning = line([
            &["3"],
            &["eth:ethertype:ipv6:icmpv6"],
            &["ICMPv6"],
            &["Multicast Listener Query"],
            &["6291456"],
            &["16777216"],
            &["Bad checksum [should be 0x7c3f]"],
            &[],
            &[],
            &[],
            &["0"],
            &[],
            &[],
        ]);
        let note = line([
            &["4"],
            &["eth:ethertype:ip:igmp"],
            &["IGMPv2"],
            &["x"],
            &["4194304"],
            &["150994944"],
            &["a note"],
            &[],
            &["1"],
            &["1"],
            &[],
            &[],
            &[],
        ]);
        let report = parse_output(&format!("{clean}\n{faulty}\n{warning}\n{note}\n")).unwrap();
        assert_eq!(report.packets.len(), 4);
        assert!(report.packets[0].is_clean());
        assert_eq!(report.packets[0].summary, "IGMPv3 Membership Query");
        let faulty = &report.packets[1];
        assert!(faulty.malformed);
        assert_eq!(faulty.bad_checksums, [ChecksumLayer::Ipv4Header, ChecksumLayer::Pim]);
        assert_eq!(
            faulty.expert,
            [
                ExpertInfo {
                    severity: Severity::Error,
                    group: ExpertGroup::Checksum,
                    message: "Bad checksum [should be 0xdffe]".into()
                },
                ExpertInfo {
                    severity: Severity::Error,
                    group: ExpertGroup::Malformed,
                    message: "Malformed Packet (Exception occurred)".into()
                },
            ]
        );
        assert_eq!(report.packets[2].bad_checksums, [ChecksumLayer::Icmpv6]);
        assert_eq!(report.packets[2].expert[0].severity, Severity::Warning);
        // A note is kept but is not a problem.
        assert_eq!(report.packets[3].expert[0].group, ExpertGroup::Protocol);
        assert!(report.packets[3].is_clean());
        let flagged: Vec<u64> = report.problem_packets().map(|packet| packet.frame).collect();
        assert_eq!(flagged, [2, 3]);
        assert!(!report.is_clean());
        assert_eq!(
            report.to_string().lines().next().unwrap(),
            "frame 2 [eth:ethertype:ip:pim] PIMv2 Hello[Malformed Packet]; malformed; bad IPv4 header checksum; \
             bad PIM checksum; Error/Checksum: Bad checksum [should be 0xdffe]; Error/Malformed: Malformed Packet \
             (Exception occurred)"
        );
    }

    #[test]
    fn rejects_output_it_did_not_ask_for() {
        for bad in [
            "1\teth",
            "x\t\t\t\t\t\t\t\t\t\t\t\t",
            "1\t\t\t\t8388608\t\t\t\t\t\t\t\t",
            "1\t\t\t\tError\t16777216\tm\t\t\t\t\t\t",
        ] {
            assert!(matches!(parse_output(bad), Err(TsharkError::BadOutput { .. })), "{bad:?}");
        }
        assert_eq!(parse_output("").unwrap().packets, []);
    }

    #[test]
    fn unknown_severities_count_as_problems() {
        assert!(Severity::from_value(0x00a0_0000).is_problem());
        assert!(!Severity::from_value(0x0020_0000).is_problem());
        assert_eq!(ExpertGroup::from_value(0x0e00_0000), ExpertGroup::Deprecated);
        assert_eq!(ExpertGroup::from_value(0x2000_0000), ExpertGroup::Unknown(0x2000_0000));
    }
}
