//! `hatoctl --generate`: the manual page is clean roff and the bash completion parses.

use std::path::Path;

use hato_manual::check::{self, Expected};

const EXPECTED: Expected = Expected {
    program: "hatoctl",
    section: "8",
    page_mentions: "\\fBhatoctl show mroute\\fR",
    bash_mentions: "--socket",
};

fn hatoctl() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hatoctl"))
}

#[test]
fn manual_page_renders_without_warnings() {
    check::manual_page(hatoctl(), &EXPECTED);
}

#[test]
fn completions_are_generated_and_bash_parses_its_script() {
    check::completions(hatoctl(), &EXPECTED);
}

#[test]
fn generate_takes_no_other_arguments() {
    let output = check::run(hatoctl(), &["--generate", "man", "status"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn without_a_command_the_help_is_shown() {
    let output = check::run(hatoctl(), &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("Usage: hatoctl"), "{output:?}");
}
