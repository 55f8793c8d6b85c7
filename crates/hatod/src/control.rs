//! The control socket: a Unix stream listener and its clients, each sending one JSON request per
//! line and reading one JSON response per line (see `hato_control`).

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hato_control::{decode_line, encode_line, Request, Response, MAX_REQUEST_LEN};

/// Clients served at once; more are refused.
const MAX_CLIENTS: usize = 32;
/// How long writing one response may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug)]
struct Client {
    id: u64,
    stream: UnixStream,
    buffer: Vec<u8>,
    closed: bool,
}

/// The listener and its clients.
#[derive(Debug)]
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
    clients: Vec<Client>,
    next_id: u64,
}

impl ControlServer {
    /// Binds `path`, replacing a stale socket left by a previous run (refusing if a daemon
    /// answers there).
    pub fn bind(path: &Path) -> io::Result<Self> {
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{} is in use: is another hatod running?", path.display()),
            ));
        }
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(ControlServer { listener, path: path.to_path_buf(), clients: Vec::new(), next_id: 0 })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// The clients' fds, in the order [`ControlServer::take_requests`] expects readiness.
    pub fn client_fds(&self) -> Vec<BorrowedFd<'_>> {
        self.clients.iter().map(|c| c.stream.as_fd()).collect()
    }

    /// Accepts every pending connection.
    pub fn accept(&mut self) {
        for _ in 0..MAX_CLIENTS {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if self.clients.len() >= MAX_CLIENTS || stream.set_nonblocking(true).is_err() {
                        tracing::warn!(target: crate::logging::CONTROL, "connection refused ({} clients)", self.clients.len());
                        continue;
                    }
                    self.next_id += 1;
                    self.clients.push(Client { id: self.next_id, stream, buffer: Vec::new(), closed: false });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(target: crate::logging::CONTROL, "accept failed: {e}");
                    break;
                }
            }
        }
    }

    /// Reads from the clients marked ready; returns the complete request lines by client id
    /// (`Err` with a message for lines that are not requests).
    pub fn take_requests(&mut self, ready: &[bool]) -> Vec<(u64, Result<Request, String>)> {
        let mut requests = Vec::new();
        for (client, _) in self.clients.iter_mut().zip(ready).filter(|(_, ready)| **ready) {
            let mut chunk = [0u8; 4096];
            loop {
                match client.stream.read(&mut chunk) {
                    Ok(0) => {
                        client.closed = true;
                        break;
                    }
                    Ok(n) => client.buffer.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => {
                        client.closed = true;
                        break;
                    }
                }
                if client.buffer.len() > MAX_REQUEST_LEN {
                    break;
                }
            }
            while let Some(newline) = client.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = client.buffer.drain(..=newline).collect();
                let text = String::from_utf8_lossy(&line);
                if text.trim().is_empty() {
                    continue;
                }
                let request = decode_line::<Request>(&text).map_err(|e| format!("not a request: {e}"));
                requests.push((client.id, request));
            }
            if client.buffer.len() > MAX_REQUEST_LEN {
                requests.push((client.id, Err(format!("request longer than {MAX_REQUEST_LEN} bytes"))));
                client.closed = true;
            }
        }
        requests
    }

    /// Writes a response to client `id`.
    pub fn respond(&mut self, id: u64, response: &Response) {
        let Some(client) = self.clients.iter_mut().find(|c| c.id == id) else { return };
        let line = encode_line(response);
        let written = client
            .stream
            .set_nonblocking(false)
            .and_then(|()| client.stream.set_write_timeout(Some(WRITE_TIMEOUT)))
            .and_then(|()| client.stream.write_all(line.as_bytes()))
            .and_then(|()| client.stream.set_nonblocking(true));
        if let Err(e) = written {
            tracing::debug!(target: crate::logging::CONTROL, "client {id} write failed: {e}");
            client.closed = true;
        }
    }

    /// Drops the clients that hung up or failed.
    pub fn reap(&mut self) {
        self.clients.retain(|c| !c.closed);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
