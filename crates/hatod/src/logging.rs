//! Logging: where it goes, how much of it, and switching subsystems on and off at run time.
//!
//! `-d LEVEL` follows mrouted's debug levels: 0 warnings and errors only; 1 also what mrouted sends
//! to syslog (notices: interfaces, VIFs, reloads); 2 also important events (entries installed
//! and removed, upcalls, joins); 3 also every packet in and out. `-d` alone is 2; without `-d` the
//! configuration's `global.log-level` applies. Unlike mrouted, level 0 does not detach from the
//! terminal: hatod always stays in the foreground, as service managers expect.
//!
//! The log goes to standard error, or to the journal when `--log journald` says so or, with the
//! default `--log auto`, when systemd connected standard error to the journal (`$JOURNAL_STREAM`
//! names the device and inode of standard error).
//!
//! Each [`DebugSubsystem`] logs under its own target (`hato::igmp`, …). The filter is a
//! `tracing_subscriber::reload` layer: `hatoctl debug pim on` adds `hato::pim=trace` to the base
//! level, `off` takes it out again. The subscriber is process-global, so its reload handle is too.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, OnceLock};

use clap::ValueEnum;
use hato_control::{DebugRequest, DebugSubsystem, DebugView, Response};
use hato_router::{Event, Input, Output, SocketKind};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

pub const IGMP: &str = "hato::igmp";
pub const MLD: &str = "hato::mld";
pub const PIM: &str = "hato::pim";
pub const RPF: &str = "hato::rpf";
pub const MROUTE: &str = "hato::mroute";
pub const KERNEL: &str = "hato::kernel";
pub const NETLINK: &str = "hato::netlink";
pub const CONTROL: &str = "hato::control";
pub const CONFIG: &str = "hato::config";

/// The tracing target of a subsystem.
pub fn target(subsystem: DebugSubsystem) -> &'static str {
    match subsystem {
        DebugSubsystem::Igmp => IGMP,
        DebugSubsystem::Mld => MLD,
        DebugSubsystem::Pim => PIM,
        DebugSubsystem::Rpf => RPF,
        DebugSubsystem::Mroute => MROUTE,
        DebugSubsystem::Kernel => KERNEL,
        DebugSubsystem::Netlink => NETLINK,
        DebugSubsystem::Control => CONTROL,
        DebugSubsystem::Config => CONFIG,
    }
}

/// Logs under a subsystem chosen at run time: tracing needs the target and level of each call
/// site as constants, so this expands to one call site per subsystem.
macro_rules! log_to {
    ($subsystem:expr, $level:ident, $($arg:tt)+) => {
        match $subsystem {
            DebugSubsystem::Igmp => tracing::event!(target: IGMP, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Mld => tracing::event!(target: MLD, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Pim => tracing::event!(target: PIM, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Rpf => tracing::event!(target: RPF, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Mroute => tracing::event!(target: MROUTE, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Kernel => tracing::event!(target: KERNEL, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Netlink => tracing::event!(target: NETLINK, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Control => tracing::event!(target: CONTROL, tracing::Level::$level, $($arg)+),
            DebugSubsystem::Config => tracing::event!(target: CONFIG, tracing::Level::$level, $($arg)+),
        }
    };
}

/// Where the log goes (`--log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogOutput {
    /// The journal when systemd connected standard error to it, else standard error.
    Auto,
    Stderr,
    Journald,
}

/// The level every subsystem logs at: `-d LEVEL` when given, else the configured one.
pub fn base_level(debug: Option<u8>, configured: hato_config::LogLevel) -> LevelFilter {
    match debug {
        Some(0) => LevelFilter::WARN,
        Some(1) => LevelFilter::INFO,
        Some(2) => LevelFilter::DEBUG,
        Some(_) => LevelFilter::TRACE,
        None => match configured {
            hato_config::LogLevel::Error => LevelFilter::ERROR,
            hato_config::LogLevel::Warn => LevelFilter::WARN,
            hato_config::LogLevel::Info => LevelFilter::INFO,
            hato_config::LogLevel::Debug => LevelFilter::DEBUG,
            hato_config::LogLevel::Trace => LevelFilter::TRACE,
        },
    }
}

/// The filter for the base level with `enabled` subsystems at trace level.
pub fn filter(base: LevelFilter, enabled: &BTreeSet<DebugSubsystem>) -> EnvFilter {
    let mut spec = base.to_string().to_lowercase();
    for subsystem in enabled {
        spec.push_str(&format!(",{}=trace", target(*subsystem)));
    }
    // The specification is built from constant targets and levels, which always parse.
    EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new(base.to_string()))
}

/// Whether systemd connected standard error to the journal: `$JOURNAL_STREAM` is
/// `DEVICE:INODE` of that stream (a child whose standard error was redirected inherits the
/// variable but not the stream).
fn stderr_is_journal() -> bool {
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else { return false };
    let Some((device, inode)) = stream.to_str().and_then(|s| s.split_once(':')) else { return false };
    let Ok(stderr) = std::io::stderr().as_fd().try_clone_to_owned() else { return false };
    let Ok(metadata) = std::fs::File::from(stderr).metadata() else { return false };
    device.parse() == Ok(metadata.dev()) && inode.parse() == Ok(metadata.ino())
}

/// The run-time side of the filter.
#[derive(Debug)]
struct FilterControl {
    handle: reload::Handle<EnvFilter, Registry>,
    base: LevelFilter,
    output: &'static str,
    enabled: BTreeSet<DebugSubsystem>,
}

static CONTROL_HANDLE: OnceLock<Mutex<FilterControl>> = OnceLock::new();

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(base: LevelFilter, output: LogOutput) -> Result<(), String> {
    let journal = match output {
        LogOutput::Stderr => None,
        LogOutput::Auto if !stderr_is_journal() => None,
        LogOutput::Auto | LogOutput::Journald => match tracing_journald::layer() {
            Ok(layer) => Some(layer.with_syslog_identifier("hatod".into())),
            Err(e) if output == LogOutput::Journald => return Err(format!("cannot log to the journal: {e}")),
            Err(e) => {
                eprintln!("hatod: cannot log to the journal ({e}), logging to standard error");
                None
            }
        },
    };
    let output_name = if journal.is_some() { "journald" } else { "stderr" };
    let colours = std::io::stderr().is_terminal();
    let stderr = journal
        .is_none()
        .then(|| tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(colours));
    let (filter_layer, handle) = reload::Layer::new(filter(base, &BTreeSet::new()));
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(stderr)
        .with(journal)
        .try_init()
        .map_err(|e| format!("logging: {e}"))?;
    let control = FilterControl { handle, base, output: output_name, enabled: BTreeSet::new() };
    CONTROL_HANDLE.set(Mutex::new(control)).map_err(|_| "logging initialised twice".to_string())
}

/// Answers `hatoctl debug`: switches the named subsystems and reports the state.
pub fn debug(request: &DebugRequest) -> Response {
    let Some(control) = CONTROL_HANDLE.get() else {
        return Response::error("logging is not initialised");
    };
    let Ok(mut control) = control.lock() else {
        return Response::error("logging control is unavailable");
    };
    if !request.subsystems.is_empty() {
        let mut enabled = control.enabled.clone();
        for subsystem in &request.subsystems {
            if request.enable {
                enabled.insert(*subsystem);
            } else {
                enabled.remove(subsystem);
            }
        }
        if let Err(e) = control.handle.reload(filter(control.base, &enabled)) {
            return Response::error(format!("cannot change the log filter: {e}"));
        }
        control.enabled = enabled;
        let names: Vec<&str> = request.subsystems.iter().map(|s| s.name()).collect();
        let state = if request.enable { "on" } else { "off" };
        tracing::info!(target: CONTROL, "debugging {} {state}", names.join(" "));
    }
    Response::Debug(DebugView {
        level: control.base.to_string().to_lowercase(),
        output: control.output.to_string(),
        enabled: control.enabled.iter().copied().collect(),
    })
}

/// The least important router events worth building: debug events while any subsystem is
/// switched on (each logs at trace level) or the base level shows them, else the base level's.
pub fn router_level() -> hato_router::Severity {
    use hato_router::Severity;
    let Some(Ok(control)) = CONTROL_HANDLE.get().map(Mutex::lock) else { return Severity::Debug };
    if !control.enabled.is_empty() {
        return Severity::Debug;
    }
    match control.base.into_level() {
        Some(tracing::Level::TRACE | tracing::Level::DEBUG) => Severity::Debug,
        Some(tracing::Level::INFO) => Severity::Info,
        Some(tracing::Level::WARN) => Severity::Warn,
        Some(tracing::Level::ERROR) | None => Severity::Error,
    }
}

/// The subsystem a router event belongs to.
fn event_subsystem(event: &Event) -> DebugSubsystem {
    match event {
        Event::InterfaceAdded { .. } | Event::InterfaceRemoved { .. } | Event::Resynced => {
            DebugSubsystem::Netlink
        }
        Event::VifAdded { .. }
        | Event::VifRemoved { .. }
        | Event::VifsExhausted { .. }
        | Event::PlaneFailed { .. } => DebugSubsystem::Kernel,
        Event::MfcInstalled { .. }
        | Event::MfcRemoved { .. }
        | Event::Unwanted { .. }
        | Event::FlowWaiting { .. }
        | Event::FlowSourceIdle { .. }
        | Event::MrouteWaiting { .. } => DebugSubsystem::Mroute,
        Event::RpfChanged { .. } => DebugSubsystem::Rpf,
        Event::ConfigApplied { .. } | Event::NeedsRestart { .. } => DebugSubsystem::Config,
        Event::Protocol { protocol, .. } => match protocol.as_str() {
            "IGMP" => DebugSubsystem::Igmp,
            "MLD" => DebugSubsystem::Mld,
            _ => DebugSubsystem::Pim,
        },
    }
}

/// Logs a router event at its severity under its subsystem.
pub fn router_event(event: &Event) {
    let subsystem = event_subsystem(event);
    match event.severity() {
        hato_router::Severity::Error => log_to!(subsystem, ERROR, "{event}"),
        hato_router::Severity::Warn => log_to!(subsystem, WARN, "{event}"),
        hato_router::Severity::Info => log_to!(subsystem, INFO, "{event}"),
        hato_router::Severity::Debug => log_to!(subsystem, DEBUG, "{event}"),
    }
}

fn socket_subsystem(socket: SocketKind) -> DebugSubsystem {
    match socket {
        SocketKind::Igmp => DebugSubsystem::Igmp,
        SocketKind::Mld => DebugSubsystem::Mld,
        SocketKind::Pim4 | SocketKind::Pim6 => DebugSubsystem::Pim,
    }
}

/// Traces a protocol packet going into the router (debug level 3).
pub fn input(input: &Input) {
    if let Input::Packet(packet) = input {
        // The arguments are evaluated only when the line is logged.
        log_to!(
            socket_subsystem(packet.socket),
            TRACE,
            "recv {} {} -> {} on {}: {} octets",
            packet.socket.label(),
            packet.source,
            packet.destination,
            packet.ifindex.map_or_else(|| "?".to_string(), |i| i.to_string()),
            packet.payload.len()
        );
    }
}

/// Traces a packet the router sends (debug level 3) and logs group joins and leaves (level 2).
pub fn output(output: &Output) {
    match output {
        Output::Send { socket, ifindex, source, destination, payload } => {
            log_to!(
                socket_subsystem(*socket),
                TRACE,
                "send {} {} -> {destination} on {ifindex}: {} octets",
                socket.label(),
                source.map_or_else(|| "*".to_string(), |s| s.to_string()),
                payload.len()
            );
        }
        Output::Join { socket, group, ifindex } => {
            log_to!(socket_subsystem(*socket), DEBUG, "join {group} on {ifindex}");
        }
        Output::Leave { socket, group, ifindex } => {
            log_to!(socket_subsystem(*socket), DEBUG, "leave {group} on {ifindex}");
        }
        Output::Forward { key, oifs, packet } => {
            log_to!(
                DebugSubsystem::Mroute,
                TRACE,
                "forward {key} decapsulated: {} octets on {oifs:?}",
                packet.len()
            );
        }
        // Logged by `router_event` as the shell carries it out.
        Output::Log(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_mrouted() {
        let configured = hato_config::LogLevel::Error;
        let levels: Vec<LevelFilter> = (0..=3).map(|d| base_level(Some(d), configured)).collect();
        assert_eq!(levels, [LevelFilter::WARN, LevelFilter::INFO, LevelFilter::DEBUG, LevelFilter::TRACE]);
        assert_eq!(base_level(None, configured), LevelFilter::ERROR);
    }

    #[test]
    fn enabled_subsystems_log_everything() {
        let enabled: BTreeSet<DebugSubsystem> = [DebugSubsystem::Pim, DebugSubsystem::Netlink].into();
        assert_eq!(
            filter(LevelFilter::WARN, &enabled).to_string(),
            "hato::netlink=trace,hato::pim=trace,warn"
        );
        for subsystem in DebugSubsystem::ALL {
            assert_eq!(target(subsystem), format!("hato::{}", subsystem.name()));
        }
    }
}
