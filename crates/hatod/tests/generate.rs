//! `hatod --generate`: the manual page is clean roff and the bash completion parses.

use std::path::Path;

use hato_manual::check::{self, Expected};

const EXPECTED: Expected = Expected {
    program: "hatod",
    section: "8",
    page_mentions: "\\fBhatod import\\fR",
    bash_mentions: "--check-config",
};

fn hatod() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_hatod"))
}

#[test]
fn manual_page_renders_without_warnings() {
    check::manual_page(hatod(), &EXPECTED);
}

#[test]
fn completions_are_generated_and_bash_parses_its_script() {
    check::completions(hatod(), &EXPECTED);
}

#[test]
fn generate_takes_no_other_arguments() {
    let output = check::run(hatod(), &["--generate", "man", "-d", "2"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}

#[test]
fn generate_takes_no_command() {
    let output = check::run(hatod(), &["--generate", "man", "import", "mrouted", "/dev/null"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
}
