//! Running external commands with a deadline: every call is bounded in time, and a command that
//! overruns is killed. Namespaced commands go through `ip netns exec`.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// The deadline used for short configuration commands (`ip`, `sysctl`, `vtysh`).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);

/// How often a running child is checked while waiting for it.
const WAIT_STEP: Duration = Duration::from_millis(5);

/// What a finished command printed.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Renders an argument vector for messages.
pub fn display_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter().map(|a| a.as_ref()).collect::<Vec<_>>().join(" ")
}

/// Runs `argv` (in namespace `netns` when given) and returns its output whatever the exit status;
/// kills it after `timeout`.
pub fn run_unchecked<S: AsRef<str>>(netns: Option<&str>, argv: &[S], timeout: Duration) -> Result<Output> {
    let full = namespaced(netns, argv);
    let shown = display_argv(&full);
    let (program, args) = full.split_first().ok_or_else(|| Error::Invalid("empty command".into()))?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Spawn { command: shown.clone(), source })?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = wait_deadline(&mut child, timeout).ok_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        Error::Timeout { what: shown.clone(), after_ms: timeout.as_millis() }
    })?;
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Runs `argv` (in namespace `netns` when given) and fails unless it exits with status 0.
pub fn run<S: AsRef<str>>(netns: Option<&str>, argv: &[S]) -> Result<String> {
    let output = run_unchecked(netns, argv, COMMAND_TIMEOUT)?;
    if output.status.success() {
        Ok(output.stdout)
    } else {
        Err(Error::Command {
            command: display_argv(&namespaced(netns, argv)),
            status: output.status.to_string(),
            stderr: output.stderr,
        })
    }
}

/// Waits for `child` until `timeout`; `None` when it is still running.
pub fn wait_deadline(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(WAIT_STEP),
            Ok(None) | Err(_) => return None,
        }
    }
}

fn namespaced<S: AsRef<str>>(netns: Option<&str>, argv: &[S]) -> Vec<String> {
    let mut full = Vec::with_capacity(argv.len() + 4);
    if let Some(ns) = netns {
        full.extend(["ip", "netns", "exec", ns].map(String::from));
    }
    full.extend(argv.iter().map(|a| a.as_ref().to_string()));
    full
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    })
}
