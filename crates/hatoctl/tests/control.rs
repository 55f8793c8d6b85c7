//! `hatoctl` against a stand-in daemon: text and JSON of the same view, exit codes for errors and
//! for a daemon that is not running.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::Command;

use hato_control::{decode_line, encode_line, Request, Response, StatusView};

fn socket_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("hatoctl-test-{}-{name}.sock", std::process::id()))
}

/// Serves one connection: checks the request, answers `response`.
fn serve_once(path: &PathBuf, expected: Request, response: Response) -> std::thread::JoinHandle<()> {
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path).unwrap();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line).unwrap();
        assert_eq!(decode_line::<Request>(&line).unwrap(), expected);
        (&stream).write_all(encode_line(&response).as_bytes()).unwrap();
    })
}

fn hatoctl(socket: &PathBuf, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_hatoctl")).arg("-s").arg(socket).args(args).output().unwrap()
}

#[test]
fn status_as_text_and_json() {
    let status =
        StatusView { version: "0.1.0".into(), pid: 42, ipv4: true, mroutes: 3, ..StatusView::default() };
    for json in [false, true] {
        let path = socket_path(if json { "status-json" } else { "status" });
        let server = serve_once(&path, Request::Status, Response::Status(status.clone()));
        let args: &[&str] = if json { &["status", "--json"] } else { &["status"] };
        let output = hatoctl(&path, args);
        server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(output.status.code(), Some(0));
        let stdout = String::from_utf8(output.stdout).unwrap();
        if json {
            let back: StatusView = serde_json::from_str(&stdout).unwrap();
            assert_eq!(back, status);
        } else {
            assert_eq!(stdout, status.to_string());
        }
    }
}

#[test]
fn mroute_arguments_pick_source_and_group() {
    let path = socket_path("mroute");
    let expected = Request::ShowMroute {
        source: Some("198.18.0.2".parse().unwrap()),
        group: Some("239.1.1.1".parse().unwrap()),
    };
    let server = serve_once(&path, expected, Response::error("no such entry"));
    let output = hatoctl(&path, &["show", "mroute", "239.1.1.1", "198.18.0.2"]);
    server.join().unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(output.status.code(), Some(1), "a daemon error exits 1");
    assert_eq!(String::from_utf8(output.stderr).unwrap(), "hatoctl: error: no such entry\n");
}

#[test]
fn no_daemon_is_a_clear_error() {
    let path = socket_path("absent");
    let output = hatoctl(&path, &["show", "interfaces"]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("hatoctl: hatod is not running (cannot connect to "), "{stderr}");
    let output = hatoctl(&path, &["show", "counters", "--json"]);
    assert_eq!(output.status.code(), Some(3));
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(value["error"].as_str().unwrap().contains("not running"));
}

#[test]
fn protocol_views_map_to_their_requests() {
    use hato_control::{PimNeighborView, PimNeighborsView, PimRpView};
    let neighbors = PimNeighborsView {
        neighbors: vec![PimNeighborView {
            interface: "eth1".into(),
            address: "198.18.1.2".parse().unwrap(),
            secondary: Vec::new(),
            uptime_secs: 61,
            expires_secs: Some(90),
            dr_priority: Some(1),
            generation_id: Some(0x1234),
        }],
    };
    let rp = PimRpView {
        group: "239.1.1.1".parse().unwrap(),
        rp: Some("198.18.1.1".parse().unwrap()),
        source: Some("static".into()),
        range: Some("224.0.0.0/4".into()),
        ssm: false,
        explanation: "239.1.1.1 rp 198.18.1.1 via static".into(),
    };
    let cases: Vec<(&[&str], Request, Response)> = vec![
        (&["show", "pim", "neighbors"], Request::ShowPimNeighbors, Response::PimNeighbors(neighbors.clone())),
        (
            &["show", "pim", "neighbours", "--json"],
            Request::ShowPimNeighbors,
            Response::PimNeighbors(neighbors),
        ),
        (
            &["show", "pim", "rp", "239.1.1.1"],
            Request::ShowPimRp { group: "239.1.1.1".parse().unwrap() },
            Response::PimRp(rp),
        ),
        (
            &["show", "igmp", "groups", "--json"],
            Request::ShowIgmpGroups,
            Response::Groups(Default::default()),
        ),
        (&["show", "mld", "groups"], Request::ShowMldGroups, Response::Groups(Default::default())),
        (&["show", "pim", "join"], Request::ShowPimJoin, Response::PimJoin(Default::default())),
        (&["show", "pim", "upstream"], Request::ShowPimUpstream, Response::PimUpstream(Default::default())),
        (&["show", "pim", "assert"], Request::ShowPimAssert, Response::PimAssert(Default::default())),
        (&["show", "pim", "rp-set"], Request::ShowPimRpSet, Response::PimRpSet(Default::default())),
        (&["show", "pim", "bsr"], Request::ShowPimBsr, Response::PimBsr(Default::default())),
        (&["dump"], Request::Dump, Response::Dump(Default::default())),
        (&["dump", "--json"], Request::Dump, Response::Dump(Default::default())),
        (
            &["show", "pim", "interfaces"],
            Request::ShowPimInterfaces,
            Response::PimInterfaces(Default::default()),
        ),
    ];
    for (i, (args, request, response)) in cases.into_iter().enumerate() {
        let path = socket_path(&format!("protocol-{i}"));
        let server = serve_once(&path, request, response.clone());
        let output = hatoctl(&path, args);
        server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        if args.contains(&"--json") {
            let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert!(json.is_object(), "{args:?}: {stdout}");
        } else {
            assert_eq!(stdout.trim_end(), response.to_string().trim_end(), "{args:?}");
        }
    }
}
