//! `hatoctl --generate`: the manual page is clean roff and the bash completion parses.

use std::io::Write;
use std::process::{Command, Stdio};

fn generate(what: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_hatoctl")).args(["--generate", what]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `argv` with `input` on standard input; its status and standard error.
fn check(argv: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn manual_page_renders_without_warnings() {
    let page = generate("man");
    assert!(page.contains(".TH hatoctl 8") && page.contains("\\fBhatoctl show mroute\\fR"), "{page}");
    if std::path::Path::new("/usr/bin/groff").exists() {
        let (ok, stderr) = check(&["groff", "-man", "-Tutf8", "-ww", "-z"], &page);
        assert!(ok && stderr.is_empty(), "{stderr}");
    }
}

#[test]
fn completions_are_generated_and_bash_parses_its_script() {
    let bash = generate("bash");
    assert!(bash.contains("complete") && bash.contains("--socket"), "{bash}");
    let (ok, stderr) = check(&["bash", "-n"], &bash);
    assert!(ok, "{stderr}");
    assert!(generate("zsh").starts_with("#compdef hatoctl"));
    assert!(generate("fish").contains("complete -c hatoctl"));
}

#[test]
fn generate_takes_no_other_arguments() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_hatoctl")).args(["--generate", "man", "status"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn without_a_command_the_help_is_shown() {
    let output = Command::new(env!("CARGO_BIN_EXE_hatoctl")).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: hatoctl"), "{output:?}");
}
