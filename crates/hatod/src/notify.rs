//! The service manager's readiness protocol (sd_notify(3)) without a C library: newline-separated
//! `KEY=VALUE` assignments in one datagram to the Unix socket named by `$NOTIFY_SOCKET` (a path, or
//! an abstract name written with a leading `@`). Without the variable every call does nothing,
//! so hatod behaves the same outside systemd.
//!
//! hatod reports `READY=1` once its sockets are open and its privileges dropped, `RELOADING=1`
//! with `MONOTONIC_USEC` when a reload starts and `READY=1` when it ends (as `Type=notify-reload`
//! expects; harmless under `Type=notify`), `STOPPING=1` on shutdown, and a one-line `STATUS=`.
//! Failures to notify are logged and otherwise ignored: the manager's timeout reports them.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::LazyLock;

/// The variable naming the socket.
const NOTIFY_SOCKET: &str = "NOTIFY_SOCKET";

/// A connection to the service manager, or none.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
}

impl Notifier {
    /// The notifier for `$NOTIFY_SOCKET`; silent when it is unset, empty or unusable (the last
    /// logged).
    pub fn from_env() -> Self {
        match std::env::var_os(NOTIFY_SOCKET) {
            Some(name) if !name.is_empty() => Notifier::to(&name.to_string_lossy()).unwrap_or_else(|e| {
                tracing::warn!("{NOTIFY_SOCKET}={}: {e}", name.to_string_lossy());
                Notifier { target: None }
            }),
            _ => Notifier { target: None },
        }
    }

    /// A notifier sending to `name`: a socket path, or `@name` for an abstract socket.
    pub fn to(name: &str) -> io::Result<Self> {
        let address = match name.strip_prefix('@') {
            Some(abstract_name) => SocketAddr::from_abstract_name(abstract_name.as_bytes())?,
            None if name.starts_with('/') => SocketAddr::from_pathname(name)?,
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "neither a path nor an @abstract name",
                ))
            }
        };
        let socket = UnixDatagram::unbound()?;
        Ok(Notifier { target: Some((socket, address)) })
    }

    /// Sends `assignments` (`KEY=VALUE` lines) as one datagram.
    pub fn send(&self, assignments: &str) -> io::Result<()> {
        let Some((socket, address)) = &self.target else { return Ok(()) };
        socket.send_to_addr(assignments.as_bytes(), address).map(|_| ())
    }

    /// `READY=1` and a status line.
    pub fn ready(&self, status: &str) -> io::Result<()> {
        self.send(&format!("READY=1\nSTATUS={}", one_line(status)))
    }

    /// `RELOADING=1` with the monotonic time the reload started at.
    pub fn reloading(&self) -> io::Result<()> {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}\nSTATUS=reloading", monotonic_usec()?))
    }

    /// `STOPPING=1`.
    pub fn stopping(&self) -> io::Result<()> {
        self.send("STOPPING=1\nSTATUS=stopping")
    }
}

/// `CLOCK_MONOTONIC` in microseconds, the clock the service manager compares with.
fn monotonic_usec() -> io::Result<u64> {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_err(io::Error::from)?;
    let seconds = u64::try_from(now.tv_sec()).unwrap_or_default();
    let micros = u64::try_from(now.tv_nsec() / 1000).unwrap_or_default();
    Ok(seconds.saturating_mul(1_000_000).saturating_add(micros))
}

/// A status is one line: later lines would be read as further assignments.
fn one_line(status: &str) -> String {
    status.replace(['\n', '\r'], " ")
}

/// The process's notifier, read from the environment on first use.
static NOTIFIER: LazyLock<Notifier> = LazyLock::new(Notifier::from_env);

fn report(what: &str, result: io::Result<()>) {
    if let Err(e) = result {
        tracing::warn!("{NOTIFY_SOCKET}: cannot report {what}: {e}");
    }
}

/// Tells the service manager that hatod is up.
pub fn ready(status: &str) {
    report("readiness", NOTIFIER.ready(status));
}

/// Tells the service manager that hatod is shutting down.
pub fn stopping() {
    report("stopping", NOTIFIER.stopping());
}

/// A reload in progress: reports `RELOADING=1` when made and `READY=1` when dropped, however the
/// reload ends.
#[derive(Debug)]
#[must_use = "the reload ends when the guard is dropped"]
pub struct Reloading(());

impl Reloading {
    pub fn begin() -> Self {
        report("reloading", NOTIFIER.reloading());
        Reloading(())
    }
}

impl Drop for Reloading {
    fn drop(&mut self) {
        report("the end of a reload", NOTIFIER.send("READY=1\nSTATUS=running"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn receive(socket: &UnixDatagram) -> String {
        let mut buffer = [0u8; 512];
        let n = socket.recv(&mut buffer).unwrap();
        String::from_utf8(buffer[..n].to_vec()).unwrap()
    }

    fn listener(address: &SocketAddr) -> UnixDatagram {
        let socket = UnixDatagram::bind_addr(address).unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        socket
    }

    #[test]
    fn path_socket_receives_each_message() {
        let dir = std::env::temp_dir().join(format!("hatod-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.sock");
        let _ = std::fs::remove_file(&path);
        let manager = listener(&SocketAddr::from_pathname(&path).unwrap());
        let notifier = Notifier::to(path.to_str().unwrap()).unwrap();
        assert!(notifier.target.is_some());

        notifier.ready("running\non 2 VIFs").unwrap();
        assert_eq!(receive(&manager), "READY=1\nSTATUS=running on 2 VIFs");
        let before = monotonic_usec().unwrap();
        notifier.reloading().unwrap();
        let message = receive(&manager);
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "RELOADING=1");
        let usec: u64 = lines[1].strip_prefix("MONOTONIC_USEC=").unwrap().parse().unwrap();
        assert!(usec >= before && usec < before + 5_000_000, "{usec} vs {before}");
        notifier.stopping().unwrap();
        assert_eq!(receive(&manager), "STOPPING=1\nSTATUS=stopping");
        notifier.send("STATUS=idle").unwrap();
        assert_eq!(receive(&manager), "STATUS=idle");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn abstract_socket_names_start_with_at() {
        let name = format!("hatod-notify-test-{}", std::process::id());
        let manager = listener(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap());
        let notifier = Notifier::to(&format!("@{name}")).unwrap();
        notifier.ready("up").unwrap();
        assert_eq!(receive(&manager), "READY=1\nSTATUS=up");
    }

    #[test]
    fn without_a_socket_nothing_is_sent() {
        let notifier = Notifier { target: None };
        notifier.ready("up").unwrap();
        notifier.stopping().unwrap();
        assert!(Notifier::to("relative/name").is_err());
    }
}
