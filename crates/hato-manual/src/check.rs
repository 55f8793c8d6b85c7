//! Checks of what a binary's `--generate` prints, shared by the tests of `hatod` and `hatoctl`: the
//! manual page is filed as expected and renders in groff without a warning, and every completion
//! script names the binary (bash's also parses with `bash -n`). They panic on failure, as tests do.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What a binary's generated artifacts must contain.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// The binary's name, as in `.TH hatod 8` and `#compdef hatod`.
    pub program: &'static str,
    /// The manual section.
    pub section: &'static str,
    /// Text the manual page holds (a subcommand heading, say).
    pub page_mentions: &'static str,
    /// Text the bash completion holds (an option, say).
    pub bash_mentions: &'static str,
}

/// Runs `binary` with `args`; its output, whatever the exit status.
pub fn run(binary: &Path, args: &[&str]) -> Output {
    Command::new(binary).args(args).output().unwrap_or_else(|e| panic!("{}: {e}", binary.display()))
}

/// `binary --generate what`, which must succeed.
pub fn generated(binary: &Path, what: &str) -> String {
    let output = run(binary, &["--generate", what]);
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap_or_else(|e| panic!("--generate {what}: {e}"))
}

/// Runs `argv` with `input` on standard input; its success and standard error.
fn filter(argv: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    }
    let output = child.wait_with_output().unwrap_or_else(|e| panic!("{}: {e}", argv[0]));
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// The manual page has its title line and `expected.page_mentions`, and `groff -man -ww` renders it
/// without a word on standard error (when groff is installed).
pub fn manual_page(binary: &Path, expected: &Expected) {
    let page = generated(binary, "man");
    let title = format!(".TH {} {}", expected.program, expected.section);
    assert!(page.contains(&title) && page.contains(expected.page_mentions), "{page}");
    if Path::new("/usr/bin/groff").exists() {
        let (ok, stderr) = filter(&["groff", "-man", "-Tutf8", "-ww", "-z"], &page);
        assert!(ok && stderr.is_empty(), "{stderr}");
    }
}

/// The bash completion holds `expected.bash_mentions` and parses with `bash -n`; the zsh and fish
/// ones name the binary.
pub fn completions(binary: &Path, expected: &Expected) {
    let bash = generated(binary, "bash");
    assert!(bash.contains("complete") && bash.contains(expected.bash_mentions), "{bash}");
    let (ok, stderr) = filter(&["bash", "-n"], &bash);
    assert!(ok, "{stderr}");
    assert!(generated(binary, "zsh").starts_with(&format!("#compdef {}", expected.program)));
    assert!(generated(binary, "fish").contains(&format!("complete -c {}", expected.program)));
}
