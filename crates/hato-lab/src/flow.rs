//! Traffic between lab nodes: the lab runs its own binary (`hato-lab send|recv`) inside a node's
//! namespace and reads back the JSON report.

use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::exec;
use crate::lab::Lab;
use crate::poll::{poll_until, Probe};
use crate::traffic::{RecvOptions, RecvReport, SendOptions, SendReport, JOINED_MARKER};

/// How long a receiver may take to open its socket and join.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A receiver running in the background.
#[derive(Debug, Clone)]
pub struct ReceiverHandle {
    pub node: String,
    pub pid: u32,
    pub log: PathBuf,
    pub timeout: Duration,
}

impl SendOptions {
    /// The `hato-lab send` arguments for these options.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "send".to_string(),
            "--group".into(),
            self.group.to_string(),
            "--port".into(),
            self.port.to_string(),
            "--count".into(),
            self.count.to_string(),
            "--interval-ms".into(),
            self.interval.as_millis().to_string(),
            "--ttl".into(),
            self.ttl.to_string(),
            "--run-id".into(),
            self.run_id.to_string(),
            "--size".into(),
            self.size.to_string(),
        ];
        if let Some(source) = self.source {
            args.extend(["--source".into(), source.to_string()]);
        }
        if let Some(iface) = &self.iface {
            args.extend(["--iface".into(), iface.clone()]);
        }
        args
    }
}

impl RecvOptions {
    /// The `hato-lab recv` arguments for these options.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "recv".to_string(),
            "--group".into(),
            self.group.to_string(),
            "--port".into(),
            self.port.to_string(),
            "--timeout-ms".into(),
            self.timeout.as_millis().to_string(),
        ];
        if let Some(source) = self.source {
            args.extend(["--source".into(), source.to_string()]);
        }
        if let Some(iface) = &self.iface {
            args.extend(["--iface".into(), iface.clone()]);
        }
        if let Some(idle) = self.idle {
            args.extend(["--idle-ms".into(), idle.as_millis().to_string()]);
        }
        if let Some(run_id) = self.run_id {
            args.extend(["--run-id".into(), run_id.to_string()]);
        }
        args
    }
}

/// The last line of `text` that is a JSON object, parsed.
fn last_json<T: DeserializeOwned>(text: &str, context: &str) -> Result<T> {
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or_else(|| Error::parse(context, format!("no JSON line in output:\n{text}")))?;
    serde_json::from_str(line).map_err(|e| Error::parse(context, format!("{e}: {line}")))
}

impl Lab {
    /// Starts a receiver on `node` and returns once it has joined.
    pub fn start_receiver(&mut self, node: &str, options: &RecvOptions) -> Result<ReceiverHandle> {
        let binary = self.traffic_binary()?.to_string_lossy().into_owned();
        let mut argv = vec![binary];
        argv.extend(options.to_args());
        // One log per receiver, even for repeated joins of the same group.
        let name = format!("recv-{}-{}", options.group, self.processes().len()).replace(':', "_");
        let pid = self.spawn(node, &name, &argv)?;
        let log = self.node_dir(node)?.join(format!("{name}.log"));
        let what = format!("receiver on {node} joins {}", options.group);
        poll_until(&what, JOIN_TIMEOUT, Duration::from_millis(10), || {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.lines().any(|l| l.starts_with(JOINED_MARKER)) {
                Probe::Done(())
            } else if let Ok(Some(_)) = self.try_wait(pid) {
                // Exited before joining: the check below reports its output.
                Probe::Done(())
            } else {
                Probe::Pending(text)
            }
        })
        .map_err(|e| Error::Timeout { what: e.to_string(), after_ms: JOIN_TIMEOUT.as_millis() })?;
        if let Ok(Some(status)) = self.try_wait(pid) {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if !text.lines().any(|l| l.starts_with(JOINED_MARKER)) {
                return Err(Error::Command {
                    command: argv.join(" "),
                    status: status.to_string(),
                    stderr: text,
                });
            }
        }
        Ok(ReceiverHandle { node: node.to_string(), pid, log, timeout: options.timeout })
    }

    /// Waits for a receiver to finish (its own deadline plus a margin) and returns its report.
    pub fn finish_receiver(&mut self, receiver: &ReceiverHandle) -> Result<RecvReport> {
        let margin = receiver.timeout + Duration::from_secs(5);
        let what = format!("receiver on {} exits", receiver.node);
        let status =
            poll_until(&what, margin, Duration::from_millis(20), || match self.try_wait(receiver.pid) {
                Ok(Some(status)) => Probe::Done(status),
                Ok(None) => Probe::Pending("running".into()),
                Err(e) => Probe::Pending(e.to_string()),
            })
            .map_err(|e| Error::Timeout { what: e.to_string(), after_ms: margin.as_millis() })?;
        let text = fs::read_to_string(&receiver.log).map_err(|e| Error::io("read receiver log", e))?;
        if !status.success() {
            return Err(Error::Command { command: what, status: status.to_string(), stderr: text });
        }
        last_json(&text, "receiver report")
    }

    /// Runs a sender on `node` to completion and returns its report.
    pub fn send(&self, node: &str, options: &SendOptions) -> Result<SendReport> {
        let binary = self.traffic_binary()?.to_string_lossy().into_owned();
        let mut argv = vec![binary];
        argv.extend(options.to_args());
        let budget = options.interval.saturating_mul(options.count) + Duration::from_secs(10);
        let output = exec::run_unchecked(Some(&self.netns(node)), &argv, budget)?;
        if !output.status.success() {
            return Err(Error::Command {
                command: argv.join(" "),
                status: output.status.to_string(),
                stderr: output.stderr,
            });
        }
        last_json(&output.stdout, "sender report")
    }
}
