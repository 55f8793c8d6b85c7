//! The one error type of every decoder and encoder. Each variant is a counter in the daemon: a bad
//! packet is counted and logged (rate-limited) by its kind, never a panic.

use std::fmt;

use serde::Serialize;

/// Why a packet could not be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Error {
    /// The buffer ends before the message (or a field it announces) does.
    Truncated,
    /// The checksum does not verify.
    BadChecksum,
    /// A version field holds a version this codec does not speak.
    BadVersion,
    /// A length or count field disagrees with the data.
    BadLength,
    /// An encoded address names the wrong or an unknown address family / encoding type.
    BadAddressFamily,
    /// A field holds a value the specification forbids.
    Malformed,
    /// The output buffer is too small for the message (emit side only).
    BufferTooSmall,
}

impl Error {
    /// A short stable name, used as a counter label.
    pub fn as_str(self) -> &'static str {
        match self {
            Error::Truncated => "truncated",
            Error::BadChecksum => "bad-checksum",
            Error::BadVersion => "bad-version",
            Error::BadLength => "bad-length",
            Error::BadAddressFamily => "bad-address-family",
            Error::Malformed => "malformed",
            Error::BufferTooSmall => "buffer-too-small",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}

/// The result of a codec operation.
pub type Result<T> = std::result::Result<T, Error>;
