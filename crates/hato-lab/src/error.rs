//! The lab's error type: every failure names the command or the step that failed.

use std::fmt;
use std::io;

/// A failure while building a topology, starting a router, running traffic or polling.
#[derive(Debug)]
pub enum Error {
    /// A command could not be started (missing binary, bad path).
    Spawn { command: String, source: io::Error },
    /// A command exited unsuccessfully.
    Command { command: String, status: String, stderr: String },
    /// A command or a wait did not finish before its deadline.
    Timeout { what: String, after_ms: u128 },
    /// A file or socket operation failed.
    Io { context: String, source: io::Error },
    /// Output that should have been JSON (or a known shape) was not.
    Parse { context: String, detail: String },
    /// The request does not fit the topology or the options (unknown node, bad option).
    Invalid(String),
}

/// The lab's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    pub(crate) fn parse(context: impl Into<String>, detail: impl fmt::Display) -> Self {
        Error::Parse { context: context.into(), detail: detail.to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Spawn { command, source } => write!(f, "cannot start `{command}`: {source}"),
            Error::Command { command, status, stderr } => {
                write!(f, "`{command}` failed ({status}): {}", stderr.trim())
            }
            Error::Timeout { what, after_ms } => write!(f, "{what}: no result after {after_ms} ms"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::Parse { context, detail } => write!(f, "cannot parse {context}: {detail}"),
            Error::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Spawn { source, .. } | Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
