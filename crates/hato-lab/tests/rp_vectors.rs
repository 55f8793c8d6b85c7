//! RP selection against independent implementations (RFC 7761 §4.7.1-§4.7.2, RFC 5059): a LAN of
//! troglobit pimd 2.3.2 candidate RPs, one of them also the candidate BSR, advertises overlapping
//! group ranges; a pimd router and an FRR 8.4.4 router on the same LAN learn the RP-Set from the
//! Bootstrap messages (FRR 8.4 can be neither C-BSR nor C-RP), and each is asked which RP it chose
//! for every group a host behind it joins: pimd through the RP column of its (*,G) entries
//! (`pimd -r`), FRR through the RPF address of its (*,G) upstreams (the RPs are its LAN neighbours)
//! and the hash values of `show ip pim bsrp-info`.
//!
//! The cases live in `crates/hato-pim/tests/data/rp_vectors_*.txt` (the RP-Set, the groups, and the
//! recorded choice of hato, FRR and pimd for each group); the lab checks that both peers still
//! choose what was recorded and that hato's [`RpMapping::decide`] gives the recorded RFC answer.
//! hato-pim's own `rp_vectors` test explains every difference without the lab. Run with
//! `HATO_RECORD_RP_VECTORS=1` to rewrite the recorded columns from what the peers do.
//!
//! Convergence: the C-RPs advertise every 10 s; the whole RP-Set reached FRR 10-20 s after start
//! in our runs and a case takes about 40 s, bounded by the deadlines below.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use hato_core::{Afi, V4};
use hato_lab::poll::{poll_until, Probe};
use hato_lab::router::{frr, pimd, CandidateBsr, CandidateRp};
use hato_lab::topology::Prefix;
use hato_lab::{Lab, LabOptions, RouterConfig, RouterKind, Topology};
use hato_pim::rp::{RpMapping, RpSet, RpSetEntry};
use serde_json::Value;

/// Until both observers hold the whole RP-Set.
const RP_SET_DEADLINE: Duration = Duration::from_secs(150);
/// Until both observers have a (*,G) entry for every joined group.
const JOIN_DEADLINE: Duration = Duration::from_secs(90);

/// The lab's segment of the candidate RPs: router `rN` is 198.18.0.N on it.
const CORE: &str = "core";

/// One candidate RP of a case.
#[derive(Debug, Clone)]
struct CandidateLine {
    address: Ipv4Addr,
    priority: u8,
    groups: Vec<String>,
}

/// One case file.
#[derive(Debug)]
struct Case {
    path: PathBuf,
    text: String,
    bsr: Ipv4Addr,
    hash_mask_len: u8,
    rps: Vec<CandidateLine>,
    groups: Vec<Ipv4Addr>,
}

/// group -> chosen RP.
type Choices = BTreeMap<Ipv4Addr, Ipv4Addr>;

/// What the peers chose.
#[derive(Debug)]
struct Observed {
    frr: Choices,
    pimd: Choices,
    /// (range, RP) -> FRR's hash value.
    frr_hash: BTreeMap<(String, Ipv4Addr), u64>,
}

fn parse_case(name: &str) -> Case {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../hato-pim/tests/data").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut case = Case {
        path,
        text: text.clone(),
        bsr: Ipv4Addr::UNSPECIFIED,
        hash_mask_len: 0,
        rps: vec![],
        groups: vec![],
    };
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields[..] {
            ["bsr", bsr, "hash-mask", mask] => {
                case.bsr = bsr.parse().unwrap();
                case.hash_mask_len = mask.parse().unwrap();
            }
            ["rp", address, "priority", priority, "groups", ref groups @ ..] => {
                case.rps.push(CandidateLine {
                    address: address.parse().unwrap(),
                    priority: priority.parse().unwrap(),
                    groups: groups.iter().map(|g| g.to_string()).collect(),
                })
            }
            ["group", group, ..] => case.groups.push(group.parse().unwrap()),
            ["frr-hash", ..] => {}
            _ => panic!("{}: bad line {line:?}", case.path.display()),
        }
    }
    case
}

fn lab_prefix(text: &str) -> Prefix {
    let (addr, len) = text.split_once('/').expect("a prefix");
    Prefix { addr: addr.parse().unwrap(), len: len.parse().unwrap() }
}

/// `rN` for the N-th candidate RP, then the two observers and a host behind each.
fn topology(case: &Case) -> Topology {
    let mut t = Topology::new();
    let routers: Vec<String> = (1..=case.rps.len()).map(|i| format!("r{i}")).collect();
    for r in &routers {
        t.router(r).unwrap();
    }
    for name in ["pimdobs", "frrobs"] {
        t.router(name).unwrap();
    }
    t.host("pimdhost").unwrap();
    t.host("frrhost").unwrap();
    let mut lan: Vec<&str> = routers.iter().map(String::as_str).collect();
    lan.extend(["pimdobs", "frrobs"]);
    t.lan(CORE, &lan, 1).unwrap();
    t.link("pimdobs", "pimdhost", 1).unwrap();
    t.link("frrobs", "frrhost", 1).unwrap();
    t
}

/// FRR's RP-Set: (range, RP) -> (priority, hash).
fn frr_rp_set(json: &Value) -> BTreeMap<(String, Ipv4Addr), (u64, u64)> {
    let mut set = BTreeMap::new();
    for (range, rps) in json.as_object().into_iter().flatten().filter(|(k, _)| k.contains('/')) {
        for entry in rps.as_object().into_iter().flatten().filter_map(|(_, v)| v.as_object()) {
            let address = entry.get("Rp Address").and_then(Value::as_str).and_then(|a| a.parse().ok());
            let priority = entry.get("Rp Priority").and_then(Value::as_u64);
            let hash = entry.get("Hash Val").and_then(Value::as_u64);
            if let (Some(address), Some(priority), Some(hash)) = (address, priority, hash) {
                set.insert((range.clone(), address), (priority, hash));
            }
        }
    }
    set
}

/// Every hash mask length in FRR's `show ip pim bsm-database json` (the stored Bootstrap
/// messages).
fn frr_hash_mask_lens(json: &Value, found: &mut Vec<u64>) {
    match json {
        Value::Object(map) => {
            for (key, value) in map {
                match value.as_u64() {
                    Some(len) if key.starts_with("Hashmask") => found.push(len),
                    _ => frr_hash_mask_lens(value, found),
                }
            }
        }
        Value::Array(values) => values.iter().for_each(|v| frr_hash_mask_lens(v, found)),
        _ => {}
    }
}

/// The RP column of pimd's (*,G) entries (`INADDR_ANY  <group>  <rp>  WC RP`).
fn pimd_rps(text: &str) -> Choices {
    text.lines()
        .filter_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
            ["INADDR_ANY", group, rp, ..] => Some((group.parse().ok()?, rp.parse().ok()?)),
            _ => None,
        })
        .collect()
}

/// The RPF address of FRR's (*,G) upstreams.
fn frr_rps(json: &Value) -> Choices {
    json.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(group, sources)| {
            let rpf = sources.get("*")?.get("rpfAddress")?.as_str()?.parse().ok()?;
            Some((group.parse().ok()?, rpf))
        })
        .collect()
}

/// A host process that joins every group (one socket each: Linux allows 20 memberships per
/// socket) and stays until the lab stops it.
fn join_all(lab: &mut Lab, host: &str, groups: &[Ipv4Addr]) {
    let script = "import socket, sys, time\n\
                  held = []\n\
                  for g in sys.argv[1:]:\n\
                  \x20   s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
                  \x20   s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton(g) + socket.inet_aton('0.0.0.0'))\n\
                  \x20   held.append(s)\n\
                  time.sleep(600)\n";
    let mut argv = vec!["python3".to_string(), "-c".into(), script.into()];
    argv.extend(groups.iter().map(ToString::to_string));
    lab.spawn(host, "join", &argv).unwrap();
}

/// hato's answer (RFC 7761 §4.7.1 with the `rfc4601` algorithm) for every group of the case.
fn hato_choices(case: &Case) -> Choices {
    let mut set = RpSet::<V4> { bsr: Some(case.bsr), hash_mask_len: case.hash_mask_len, ..RpSet::new() };
    for rp in &case.rps {
        for range in &rp.groups {
            let range: <V4 as Afi>::Prefix = range.parse().unwrap();
            set.insert(range, RpSetEntry { address: rp.address, priority: rp.priority, holdtime: 25 });
        }
    }
    let mut mapping = RpMapping::<V4>::default();
    mapping.set_rp_set(set, &mut Vec::new());
    case.groups.iter().map(|&g| (g, mapping.decide(g).unwrap_or_else(|e| panic!("{g}: {e}")).rp)).collect()
}

fn observe(case: &Case) -> Observed {
    assert!(nix::unistd::geteuid().is_root(), "the namespace lab needs root");
    let mut lab = Lab::start_with(topology(case), LabOptions::default()).unwrap();
    let report = |lab: &Lab, e: &dyn std::fmt::Display| format!("{e}\n{}", lab.report());
    for (i, rp) in case.rps.iter().enumerate() {
        let router = format!("r{}", i + 1);
        assert_eq!(
            lab.addr(&router, CORE, false).unwrap(),
            IpAddr::V4(rp.address),
            "the addressing plan moved"
        );
        let config = RouterConfig {
            candidate_rp: Some(CandidateRp {
                address: rp.address.into(),
                priority: rp.priority,
                interval_secs: 10,
                groups: rp.groups.iter().map(|g| lab_prefix(g)).collect(),
            }),
            candidate_bsr: (rp.address == case.bsr)
                .then_some(CandidateBsr { address: case.bsr.into(), priority: 5 }),
            ..RouterConfig::default()
        };
        lab.start_router(&router, RouterKind::Pimd, &config).unwrap();
    }
    lab.start_router("pimdobs", RouterKind::Pimd, &RouterConfig::default()).unwrap();
    lab.start_router("frrobs", RouterKind::Frr, &RouterConfig::default()).unwrap();

    // The whole RP-Set must be known before the joins: pimd 2.3.2 does not remap every group
    // when candidates arrive later (its own TODO in add_rp_grp_entry).
    let expected: BTreeMap<(String, Ipv4Addr), u64> = case
        .rps
        .iter()
        .flat_map(|rp| rp.groups.iter().map(move |g| ((g.clone(), rp.address), u64::from(rp.priority))))
        .collect();
    let frr_set = |lab: &Lab| {
        frr::vtysh_json(lab, "frrobs", "show ip pim bsrp-info json").map(|json| frr_rp_set(&json))
    };
    let complete = |set: &BTreeMap<(String, Ipv4Addr), (u64, u64)>| {
        set.iter().map(|(k, (priority, _))| (k.clone(), *priority)).collect::<BTreeMap<_, _>>() == expected
    };
    let whole_set = |lab: &Lab| match frr_set(lab) {
        Ok(set) if complete(&set) => Probe::Done(set),
        other => Probe::Pending(format!("{other:?}")),
    };
    let frr_hash = poll_until("FRR learns the whole RP-Set", RP_SET_DEADLINE, Duration::from_secs(1), || {
        whole_set(&lab)
    })
    .unwrap_or_else(|e| panic!("{}", report(&lab, &e)));
    // The mask length the BSR announced, as FRR stored it.
    let mut masks = Vec::new();
    frr_hash_mask_lens(
        &frr::vtysh_json(&lab, "frrobs", "show ip pim bsm-database json").unwrap(),
        &mut masks,
    );
    assert!(
        !masks.is_empty() && masks.iter().all(|&m| m == u64::from(case.hash_mask_len)),
        "hash masks {masks:?}"
    );

    join_all(&mut lab, "pimdhost", &case.groups);
    join_all(&mut lab, "frrhost", &case.groups);
    let pimd_binary = pimd::binary().unwrap();
    let pimd_binary = pimd_binary.to_str().unwrap();
    let read = |lab: &Lab| -> Result<(Choices, Choices), String> {
        let pimd = pimd_rps(&lab.exec_in_router("pimdobs", &[pimd_binary, "-r"]).map_err(|e| e.to_string())?);
        let frr =
            frr_rps(&frr::vtysh_json(lab, "frrobs", "show ip pim upstream json").map_err(|e| e.to_string())?);
        Ok((pimd, frr))
    };
    let all = |m: &Choices| case.groups.iter().all(|g| m.contains_key(g));
    // A complete reading of both observers (`pimd -r` under load sometimes prints no table).
    let complete_read = |what: &str| {
        poll_until(what, JOIN_DEADLINE, Duration::from_secs(1), || match read(&lab) {
            Ok((pimd, frr)) if all(&pimd) && all(&frr) => Probe::Done((pimd, frr)),
            other => Probe::Pending(format!("{other:?}")),
        })
        .unwrap_or_else(|e| panic!("{}", report(&lab, &e)))
    };
    let (pimd_choice, frr_choice) = complete_read("both observers join every group");
    // The RP-Set did not move while the groups were joined, and neither did the choices.
    let after = frr_set(&lab).unwrap();
    assert!(complete(&after), "FRR's RP-Set changed: {after:?}");
    assert_eq!(
        complete_read("a second complete reading"),
        (pimd_choice.clone(), frr_choice.clone()),
        "choices changed"
    );
    Observed {
        frr: frr_choice.into_iter().filter(|(g, _)| case.groups.contains(g)).collect(),
        pimd: pimd_choice.into_iter().filter(|(g, _)| case.groups.contains(g)).collect(),
        frr_hash: frr_hash.into_iter().map(|(k, (_, hash))| (k, hash)).collect(),
    }
}

/// The case file with the `group` and `frr-hash` lines rewritten from `observed`.
fn recorded_text(case: &Case, hato: &Choices, observed: &Observed) -> String {
    let mut text = String::new();
    for line in case.text.lines().filter(|l| !l.starts_with("group ") && !l.starts_with("frr-hash ")) {
        let _ = writeln!(text, "{line}");
    }
    for ((range, rp), hash) in &observed.frr_hash {
        let _ = writeln!(text, "frr-hash {range} {rp} {hash}");
    }
    for g in &case.groups {
        let _ = writeln!(text, "group {g} rfc {} frr {} pimd {}", hato[g], observed.frr[g], observed.pimd[g]);
    }
    text
}

fn run_case(name: &str) {
    let case = parse_case(name);
    let hato = hato_choices(&case);
    let observed = observe(&case);
    let text = recorded_text(&case, &hato, &observed);
    if std::env::var_os("HATO_RECORD_RP_VECTORS").is_some_and(|v| v == "1") {
        std::fs::write(&case.path, &text).unwrap();
        eprintln!("recorded {}", case.path.display());
        return;
    }
    // Comments stay as they are; every recorded choice and hash must be what the peers and hato
    // do now.
    let data = |t: &str| t.lines().filter(|l| !l.starts_with('#')).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        data(&case.text),
        data(&text),
        "{name}: the peers or hato no longer match the recorded vectors"
    );
}

#[test]
fn equal_priorities() {
    run_case("rp_vectors_equal.txt");
}

#[test]
fn different_priorities() {
    run_case("rp_vectors_priority.txt");
}
