//! The lab itself on the real kernel: every topology builds, every node reaches every subnet in
//! both families, the diamond carries its worse path as a second route, teardown removes everything
//! even when a test panics, and `hato-lab cleanup --prefix` removes leftovers. Requires root.

use std::net::IpAddr;
use std::process::Command;

use std::time::Duration;

use hato_lab::lab::namespaces_with_prefix;
use hato_lab::poll::poll_json;
use hato_lab::{Lab, LabOptions, Topology};

fn start(topology: Topology) -> Lab {
    assert!(nix::unistd::geteuid().is_root(), "the namespace lab needs root");
    let options = LabOptions {
        traffic_binary: Some(env!("CARGO_BIN_EXE_hato-lab").into()),
        keep_workdir: false,
        hatod_binary: None,
    };
    Lab::start_with(topology, options).unwrap()
}

/// Pings every address of every segment from `from`, in both families.
fn assert_reaches_everything(lab: &Lab, from: &str) {
    let topology = lab.topology().clone();
    for segment in &topology.segments {
        for member in &segment.members {
            for v6 in [false, true] {
                let addr: IpAddr = lab.addr(&member.node, &segment.name, v6).unwrap();
                let family = if v6 { "-6" } else { "-4" };
                lab.exec(from, &["ping", family, "-c", "1", "-W", "2", &addr.to_string()])
                    .unwrap_or_else(|e| panic!("{from} cannot reach {} ({addr}): {e}", member.node));
            }
        }
    }
}

#[test]
fn shared_lan_is_fully_reachable() {
    let lab = start(Topology::shared_lan().unwrap());
    assert_eq!(lab.namespaces().len(), 5 + 2, "five nodes and two switches");
    assert_reaches_everything(&lab, "sender");
    assert_reaches_everything(&lab, "receiver");
}

#[test]
fn diamond_has_both_paths_with_the_worse_one_as_backup() {
    let lab = start(Topology::diamond().unwrap());
    assert_reaches_everything(&lab, "sender");
    let routes = lab.exec("r1", &["ip", "-j", "route", "show", "198.18.5.0/24"]).unwrap();
    let routes: serde_json::Value = serde_json::from_str(&routes).unwrap();
    let hops: Vec<(String, u64)> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["dev"].as_str().unwrap().to_string(), r["metric"].as_u64().unwrap()))
        .collect();
    assert_eq!(hops, vec![("eth1".to_string(), 2), ("eth2".to_string(), 20)]);
    // The generic JSON poller, as hatoctl queries will use it.
    let links = poll_json(&lab, "r4", &["ip", "-j", "link", "show", "up"], Duration::from_secs(5), |json| {
        json.as_array().is_some_and(|links| links.len() == 4)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(links[1]["ifname"], "eth0");
    let trace = lab.exec("sender", &["ip", "route", "get", "198.18.5.6"]).unwrap();
    assert!(trace.contains("via 198.18.0.2"), "{trace}");
}

#[test]
fn teardown_survives_a_panicking_test() {
    let prefix = std::thread::spawn(|| {
        let lab = start(Topology::chain(1).unwrap());
        let prefix = lab.prefix().to_string();
        let mut lab = lab;
        lab.spawn("r1", "sleeper", &["sleep", "300"]).unwrap();
        std::panic::panic_any(prefix);
    })
    .join()
    .unwrap_err()
    .downcast::<String>()
    .unwrap();
    assert_eq!(namespaces_with_prefix(&prefix).unwrap(), Vec::<String>::new());
    // A panicking run keeps its work directory for inspection; this one was deliberate.
    std::fs::remove_dir_all(std::env::temp_dir().join("hato-lab").join(prefix.as_str())).unwrap();
}

#[test]
fn cleanup_subcommand_removes_leftovers() {
    assert!(nix::unistd::geteuid().is_root(), "the namespace lab needs root");
    let prefix = hato_lab::lab::unique_prefix();
    let ns = format!("{prefix}-left");
    let status = Command::new("ip").args(["netns", "add", &ns]).status().unwrap();
    assert!(status.success());
    let mut sleeper = Command::new("ip").args(["netns", "exec", &ns, "sleep", "300"]).spawn().unwrap();
    // Cleanup can only find the process once `ip netns exec` has entered the namespace.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while Command::new("ip").args(["netns", "pids", &ns]).output().unwrap().stdout.is_empty() {
        if std::time::Instant::now() > deadline {
            let _ = sleeper.kill();
            panic!("the process never entered {ns}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output =
        Command::new(env!("CARGO_BIN_EXE_hato-lab")).args(["cleanup", "--prefix", &prefix]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let removed: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(removed, vec![ns.clone()]);
    assert_eq!(namespaces_with_prefix(&prefix).unwrap(), Vec::<String>::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = sleeper.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = sleeper.kill();
            panic!("cleanup left the process in {ns} running");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(!status.success(), "the process inside was killed");
}
