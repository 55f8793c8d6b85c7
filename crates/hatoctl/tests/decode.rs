//! `hatoctl decode` over the captures of other routers: every control packet decodes (or fails for
//! the documented reason), with per-type counts taken independently from tshark 4.0.17's dissection.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn capture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures").join(name)
}

struct Run {
    code: i32,
    lines: Vec<Value>,
}

fn decode_json(name: &str) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_hatoctl"))
        .arg("decode")
        .arg("--json")
        .arg(capture(name))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    Run { code: output.status.code().unwrap(), lines }
}

fn counts(value: &Value) -> BTreeMap<String, u64> {
    value.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect()
}

fn expect(name: &str, kinds: &[(&str, u64)], failures: &[(&str, u64)]) {
    let run = decode_json(name);
    let summary = &run.lines.last().unwrap()["summary"];
    let want_kinds: BTreeMap<String, u64> = kinds.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    let want_failures: BTreeMap<String, u64> = failures.iter().map(|(k, n)| (k.to_string(), *n)).collect();
    assert_eq!(counts(&summary["kinds"]), want_kinds, "{name}: message counts");
    assert_eq!(counts(&summary["failures"]), want_failures, "{name}: failures");
    assert_eq!(run.code, if failures.is_empty() { 0 } else { 1 }, "{name}: exit code");
    let per_line = run.lines.len() - 1;
    assert_eq!(per_line as u64, want_kinds.values().sum::<u64>() + want_failures.values().sum::<u64>());
}

#[test]
fn frr_pim_sm_and_igmp() {
    expect(
        "frr-pimsm-igmp.pcap",
        &[
            ("igmp-v3-query", 14),
            ("igmp-v3-report", 19),
            ("mld-v2-report", 10),
            ("pim-assert", 2),
            ("pim-hello", 3),
            ("pim-join-prune", 7),
        ],
        &[],
    );
}

#[test]
fn frr_pim_sm_ipv6_and_mld() {
    expect("frr-pimsm6-mld.pcap", &[("mld-v2-query", 4), ("mld-v2-report", 13), ("pim6-join-prune", 3)], &[]);
}

#[test]
fn mrouted_dvmrp_and_mtrace() {
    expect(
        "mrouted-dvmrp-lan.pcapng",
        &[
            ("dvmrp-ask-neighbors2", 2),
            ("dvmrp-graft", 1),
            ("dvmrp-graft-ack", 1),
            ("dvmrp-neighbors2", 2),
            ("dvmrp-probe", 30),
            ("dvmrp-prune", 2),
            ("dvmrp-report", 12),
            ("igmp-v3-query", 9),
            ("igmp-v3-report", 9),
            ("mtrace-query", 10),
            ("mtrace-response", 6),
        ],
        &[],
    );
}

#[test]
fn pim6sd_register_bootstrap_and_mld() {
    expect(
        "pim6sd-pimsm6.pcapng",
        &[
            ("mld-v2-query", 2),
            ("mld-v2-report", 11),
            ("pim6-bootstrap", 2),
            ("pim6-hello", 4),
            ("pim6-join-prune", 2),
            ("pim6-register", 98),
            ("pim6-register-stop", 21),
        ],
        &[],
    );
}

#[test]
fn troglobit_pimd_lan_assert() {
    expect(
        "pimd-pimsm-lan-assert.pcap",
        &[
            ("igmp-v3-query", 5),
            ("igmp-v3-report", 8),
            ("pim-assert", 9),
            ("pim-hello", 3),
            ("pim-join-prune", 2),
        ],
        &[],
    );
}

#[test]
fn pimd_dense_with_ip_options() {
    expect(
        "pimdd-pimdm-lan.pcapng",
        &[
            ("igmp-v3-query", 4),
            ("igmp-v3-report", 15),
            ("pim-assert", 3),
            ("pim-graft", 1),
            ("pim-graft-ack", 1),
            ("pim-hello", 15),
            ("pim-join-prune", 2),
        ],
        &[],
    );
}

#[test]
fn pim_dm_python_with_its_bad_pimv6_checksums() {
    expect(
        "pimdm-py-pimdm-igmpv2.pcap",
        &[
            ("igmp-leave", 1),
            ("igmp-v2-query", 2),
            ("igmp-v2-report", 2),
            ("igmp-v3-report", 1),
            ("mld-v1-report", 5),
            ("mld-v2-report", 1),
            ("pim-graft", 1),
            ("pim-graft-ack", 1),
            ("pim-hello", 4),
            ("pim-join-prune", 2),
        ],
        &[("pim6: bad-checksum", 3)],
    );
    expect("pimdm-py-pimv6-bad-checksums.pcap", &[("pim-hello", 2)], &[("pim6: bad-checksum", 6)]);
}

#[test]
fn text_output_ends_with_the_summary() {
    let output = Command::new(env!("CARGO_BIN_EXE_hatoctl"))
        .arg("decode")
        .arg(capture("pimd-pimsm-lan-assert.pcap"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("-- 27 frames, 27 control packets, 0 failed to decode"), "{text}");
    assert!(text.lines().any(|l| l.contains("pim-assert") && l.trim_end().ends_with(" 9")), "{text}");
}

#[test]
fn unreadable_and_damaged_files_exit_2() {
    let missing =
        Command::new(env!("CARGO_BIN_EXE_hatoctl")).args(["decode", "/nonexistent/x.pcap"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let dir = std::env::temp_dir().join(format!("hatoctl-decode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let damaged = dir.join("damaged.pcap");
    let bytes = std::fs::read(capture("frr-pimsm-igmp.pcap")).unwrap();
    std::fs::write(&damaged, &bytes[..bytes.len() - 3]).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_hatoctl")).arg("decode").arg(&damaged).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(run.status.code(), Some(2));
}
