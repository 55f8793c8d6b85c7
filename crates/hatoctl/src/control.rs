//! `hatoctl show|status|reload`: one request to hatod over its control socket, the answer printed
//! as text or (`--json`) as the JSON of the same view.

use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use hato_control::{decode_line, encode_line, Request, Response};

/// How long hatod may take to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// Exit code when hatod answered with an error.
const EXIT_DAEMON_ERROR: u8 = 1;
/// Exit code when hatod cannot be reached.
const EXIT_NOT_RUNNING: u8 = 3;

/// The request for `show mroute [A] [B]`: a multicast address is the group, another the source.
pub fn mroute_request(first: Option<IpAddr>, second: Option<IpAddr>) -> Request {
    let (mut source, mut group) = (None, None);
    for address in [first, second].into_iter().flatten() {
        if address.is_multicast() {
            group = Some(address);
        } else {
            source = Some(address);
        }
    }
    Request::ShowMroute { source, group }
}

fn exchange(socket: &Path, request: &Request) -> Result<Response, String> {
    let mut stream = UnixStream::connect(socket)
        .map_err(|e| format!("hatod is not running (cannot connect to {}: {e})", socket.display()))?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(|e| e.to_string())?;
    stream.write_all(encode_line(request).as_bytes()).map_err(|e| format!("sending to hatod: {e}"))?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(|e| format!("reading hatod's answer: {e}"))?;
    if line.is_empty() {
        return Err("hatod closed the connection without answering".into());
    }
    decode_line(&line).map_err(|e| format!("hatod's answer is not understood: {e}"))
}

/// What a command prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Outcome {
    /// Prints the outcome and turns it into the process's exit code.
    pub fn finish(self) -> ExitCode {
        print!("{}", self.stdout);
        eprint!("{}", self.stderr);
        ExitCode::from(self.code)
    }
}

/// Sends `request` to the hatod listening on `socket` and renders the answer as text or JSON.
/// Exit codes: 0 success, 1 hatod answered an error, 3 hatod is not reachable.
pub fn execute(socket: &Path, request: &Request, json: bool) -> Outcome {
    let response = match exchange(socket, request) {
        Ok(response) => response,
        Err(message) => {
            return if json {
                Outcome {
                    stdout: format!("{}\n", serde_json::json!({ "error": message })),
                    stderr: String::new(),
                    code: EXIT_NOT_RUNNING,
                }
            } else {
                Outcome {
                    stdout: String::new(),
                    stderr: format!("hatoctl: {message}\n"),
                    code: EXIT_NOT_RUNNING,
                }
            };
        }
    };
    let failed = matches!(response, Response::Error { .. });
    let code = if failed { EXIT_DAEMON_ERROR } else { 0 };
    if json {
        let inner = match &response {
            Response::Error { message } => serde_json::json!({ "error": message }),
            _ => {
                let value = serde_json::to_value(&response).unwrap_or_default();
                value.get("value").cloned().unwrap_or(value)
            }
        };
        Outcome { stdout: format!("{inner}\n"), stderr: String::new(), code }
    } else if failed {
        Outcome { stdout: String::new(), stderr: format!("hatoctl: {response}\n"), code }
    } else {
        Outcome { stdout: response.to_string(), stderr: String::new(), code }
    }
}
