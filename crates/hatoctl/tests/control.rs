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
