//! `packaging/systemd/hatod.service`: the settings hatod relies on are there, and systemd (where
//! `systemd-analyze` is installed) reads the unit without a complaint.

use std::path::Path;
use std::process::Command;

fn unit() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/systemd/hatod.service");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn unit_declares_what_hatod_relies_on() {
    let unit = unit();
    let lines: Vec<&str> = unit.lines().collect();
    for expected in [
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK AF_PACKET",
        "RuntimeDirectory=hato",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
    ] {
        assert!(lines.contains(&expected), "{expected} missing");
    }
    // hatod opens raw sockets, joins groups and routes the host's own interfaces.
    let settings: Vec<&str> = lines.iter().copied().filter(|l| !l.starts_with('#')).collect();
    for forbidden in ["PrivateNetwork=", "IPAddressDeny=", "SystemCallFilter=~@privileged"] {
        assert!(!settings.iter().any(|l| l.starts_with(forbidden)), "{forbidden}");
    }
}

#[test]
fn systemd_reads_the_unit_without_complaint() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else { return };
    if !probe.status.success() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("hatod-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hatod.service");
    std::fs::write(&path, unit().replace("/usr/sbin/hatod", env!("CARGO_BIN_EXE_hatod"))).unwrap();
    let output = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&path).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "{stderr}");
}
