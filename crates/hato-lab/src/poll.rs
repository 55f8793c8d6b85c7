//! Assertions that wait: poll an observation until a condition holds or a deadline passes, and keep
//! the last observation for the failure report. Helpers for the kernel MFC (`ip -j mroute show`),
//! FRR (`vtysh ... json`) and any command that prints JSON (hatoctl will plug in here).

use std::fmt;
use std::net::IpAddr;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::lab::Lab;
use crate::router::frr;

/// The default pause between two observations.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What one probe found.
#[derive(Debug)]
pub enum Probe<T> {
    /// The condition holds; polling stops with this value.
    Done(T),
    /// Not yet; the text describes what was seen.
    Pending(String),
}

/// A condition that did not hold before its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollTimeout {
    pub what: String,
    pub attempts: u32,
    pub elapsed: Duration,
    /// The last observation, for the report.
    pub last: String,
}

impl fmt::Display for PollTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: not reached after {:.1} s ({} attempts); last observation:\n{}",
            self.what,
            self.elapsed.as_secs_f64(),
            self.attempts,
            self.last
        )
    }
}

impl std::error::Error for PollTimeout {}

/// Calls `probe` every `interval` until it returns [`Probe::Done`] or `timeout` passes. At least one
/// attempt is made; the number of attempts is bounded by `timeout / interval + 1`.
pub fn poll_until<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl FnMut() -> Probe<T>,
) -> Result<T, PollTimeout> {
    let started = Instant::now();
    let deadline = started + timeout;
    let max_attempts = u32::try_from(timeout.as_millis() / interval.as_millis().max(1)).unwrap_or(u32::MAX);
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let last = match probe() {
            Probe::Done(value) => return Ok(value),
            Probe::Pending(last) => last,
        };
        let now = Instant::now();
        if now >= deadline || attempts > max_attempts {
            return Err(PollTimeout { what: what.to_string(), attempts, elapsed: now - started, last });
        }
        thread::sleep(interval.min(deadline - now));
    }
}

/// Runs `argv` in `node` until its stdout parses as JSON satisfying `predicate`; returns that JSON.
pub fn poll_json<S: AsRef<str>>(
    lab: &Lab,
    node: &str,
    argv: &[S],
    timeout: Duration,
    predicate: impl Fn(&Value) -> bool,
) -> Result<Value, PollTimeout> {
    let what = format!("{node}: `{}`", crate::exec::display_argv(argv));
    poll_until(&what, timeout, POLL_INTERVAL, || json_probe(lab.exec(node, argv), &predicate))
}

fn json_probe(output: Result<String>, predicate: &impl Fn(&Value) -> bool) -> Probe<Value> {
    let text = match output {
        Ok(text) => text,
        Err(e) => return Probe::Pending(e.to_string()),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(value) if predicate(&value) => Probe::Done(value),
        Ok(_) => Probe::Pending(text),
        Err(e) => Probe::Pending(format!("not JSON ({e}): {text}")),
    }
}

/// One entry of the kernel multicast forwarding cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelMroute {
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    pub iif: Option<String>,
    pub oifs: Vec<String>,
}

/// Parses `ip -j mroute show` output (iproute2 6.1: `src`, `dst`, `iif`, `multipath: [{oif}]`, `state`).
pub fn parse_kernel_mroutes(json: &Value) -> Result<Vec<KernelMroute>> {
    let entries = json.as_array().ok_or_else(|| Error::parse("ip -j mroute", "not an array"))?;
    let mut routes = Vec::with_capacity(entries.len());
    for entry in entries {
        let address =
            |key: &str| entry.get(key).and_then(Value::as_str).and_then(|s| s.parse::<IpAddr>().ok());
        let Some(group) = address("dst") else {
            return Err(Error::parse("ip -j mroute", format!("entry without group: {entry}")));
        };
        let oifs = entry
            .get("multipath")
            .and_then(Value::as_array)
            .map(|hops| {
                hops.iter().filter_map(|h| h.get("oif").and_then(Value::as_str)).map(String::from).collect()
            })
            .unwrap_or_default();
        routes.push(KernelMroute {
            source: address("src"),
            group,
            iif: entry.get("iif").and_then(Value::as_str).map(String::from),
            oifs,
        });
    }
    Ok(routes)
}

/// The kernel MFC of `node` for one family (`ip [-6] -j mroute show`).
pub fn kernel_mroutes(lab: &Lab, node: &str, v6: bool) -> Result<Vec<KernelMroute>> {
    let family = if v6 { "-6" } else { "-4" };
    let text = lab.exec(node, &["ip", family, "-j", "mroute", "show"])?;
    // iproute2 prints nothing at all for an empty table.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let json = serde_json::from_str(&text).map_err(|e| Error::parse("ip -j mroute", e))?;
    parse_kernel_mroutes(&json)
}

/// Waits until `node`'s kernel MFC holds (source, group) with at least one outgoing interface.
pub fn wait_kernel_sg(
    lab: &Lab,
    node: &str,
    source: IpAddr,
    group: IpAddr,
    timeout: Duration,
) -> Result<KernelMroute, PollTimeout> {
    let what = format!("{node}: kernel MFC entry ({source}, {group}) with an outgoing interface");
    poll_until(&what, timeout, POLL_INTERVAL, || match kernel_mroutes(lab, node, group.is_ipv6()) {
        Ok(routes) => {
            match routes.iter().find(|r| r.source == Some(source) && r.group == group && !r.oifs.is_empty()) {
                Some(route) => Probe::Done(route.clone()),
                None => Probe::Pending(format!("{routes:#?}")),
            }
        }
        Err(e) => Probe::Pending(e.to_string()),
    })
}

/// Waits until a vtysh `... json` command on FRR router `node` satisfies `predicate`.
pub fn wait_vtysh_json(
    lab: &Lab,
    node: &str,
    command: &str,
    timeout: Duration,
    predicate: impl Fn(&Value) -> bool,
) -> Result<Value, PollTimeout> {
    let what = format!("{node}: vtysh `{command}`");
    poll_until(&what, timeout, POLL_INTERVAL, || match frr::vtysh(lab, node, command) {
        Ok(text) => json_probe(Ok(text), &predicate),
        Err(e) => Probe::Pending(e.to_string()),
    })
}

/// Waits until FRR router `node` has at least `count` PIM neighbours (`show ip pim neighbor json`).
pub fn wait_frr_pim_neighbors(
    lab: &Lab,
    node: &str,
    count: usize,
    timeout: Duration,
) -> Result<Value, PollTimeout> {
    wait_vtysh_json(lab, node, "show ip pim neighbor json", timeout, |json| frr_neighbor_count(json) >= count)
}

/// Counts the neighbours in `show ip pim neighbor json` (`{iface: {neighbour: {...}}}`).
pub fn frr_neighbor_count(json: &Value) -> usize {
    json.as_object().map_or(0, |ifaces| ifaces.values().filter_map(Value::as_object).map(|n| n.len()).sum())
}

/// The (source, group) entry of FRR's `show ip mroute json` (`{group: {source: {...}}}`); the
/// source `*` for (*,G).
pub fn frr_mroute<'a>(json: &'a Value, source: &str, group: &str) -> Option<&'a Value> {
    json.get(group)?.get(source)
}

/// Waits until FRR router `node` lists (source, group) in `show ip mroute json`, installed in the
/// kernel (`installed` = 1) when `installed` is set.
pub fn wait_frr_mroute(
    lab: &Lab,
    node: &str,
    source: &str,
    group: &str,
    installed: bool,
    timeout: Duration,
) -> Result<Value, PollTimeout> {
    wait_vtysh_json(lab, node, "show ip mroute json", timeout, |json| {
        frr_mroute(json, source, group)
            .is_some_and(|entry| !installed || entry.get("installed").and_then(Value::as_i64) == Some(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_until_returns_value_or_last_observation() {
        let mut calls = 0;
        let value = poll_until("counts to 3", Duration::from_secs(5), Duration::from_millis(1), || {
            calls += 1;
            if calls == 3 {
                Probe::Done(calls)
            } else {
                Probe::Pending(format!("at {calls}"))
            }
        });
        assert_eq!(value, Ok(3));
        let failed = poll_until::<()>("never", Duration::from_millis(30), Duration::from_millis(10), || {
            Probe::Pending("still nothing".into())
        })
        .unwrap_err();
        assert_eq!(failed.last, "still nothing");
        assert!((2..=5).contains(&failed.attempts), "{failed}");
    }

    #[test]
    fn parses_ip_mroute_json() {
        let json: Value = serde_json::from_str(
            r#"[{"dst":"239.1.2.3","iif":"eth0","multipath":[{"oif":"eth1"}],"src":"198.18.0.1","state":"resolved"},
                {"dst":"239.1.2.4","iif":"unresolved","multipath":[],"src":"0.0.0.0","state":"unresolved"}]"#,
        )
        .unwrap();
        let routes = parse_kernel_mroutes(&json).unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0].oifs, vec!["eth1".to_string()]);
        assert_eq!(routes[0].source, Some("198.18.0.1".parse().unwrap()));
        assert!(routes[1].oifs.is_empty());
        assert!(parse_kernel_mroutes(&serde_json::json!({"no": "array"})).is_err());
    }

    #[test]
    fn counts_frr_neighbours() {
        let json =
            serde_json::json!({"eth0": {"198.18.1.3": {}}, "eth1": {"198.18.2.4": {}, "198.18.2.5": {}}});
        assert_eq!(frr_neighbor_count(&json), 3);
        assert_eq!(frr_neighbor_count(&serde_json::json!({})), 0);
    }
}
