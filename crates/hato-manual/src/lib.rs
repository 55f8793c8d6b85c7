//! Manual pages and shell completions for `hatod` and `hatoctl`, generated from their clap
//! command lines so that they never drift from the code.
//!
//! The manual page is a single page per binary (the way ip(8) documents `ip link`, `ip route`, …):
//! clap_mangen's title, name, synopsis, description and options, then a COMMANDS section listing
//! every subcommand at every depth with its usage, description and arguments, then the binary's
//! own sections (signals, files, environment, …). Completions come from clap_complete. [`check`]
//! holds the checks both binaries' tests run on what they generate.

pub mod check;

use std::io::{self, Write};

use clap::{Arg, ArgAction, Command, ValueEnum};
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

/// What `--generate` writes to standard output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Artifact {
    /// The manual page (roff).
    Man,
    /// A bash completion script.
    Bash,
    /// A zsh completion script.
    Zsh,
    /// A fish completion script.
    Fish,
}

/// A paragraph of a hand-written manual section.
#[derive(Debug, Clone, Copy)]
pub enum Paragraph {
    /// Running text.
    Text(&'static str),
    /// A tagged paragraph: the term in bold, then its description indented.
    Item(&'static str, &'static str),
}

/// A hand-written manual section appended after the generated ones.
#[derive(Debug, Clone, Copy)]
pub struct Section {
    /// The heading, conventionally in capitals (`SIGNALS`, `FILES`).
    pub title: &'static str,
    pub paragraphs: &'static [Paragraph],
}

/// How a binary's manual page is filed.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// The manual section: `8` for system administration commands.
    pub section: &'static str,
    /// The sections after the generated ones.
    pub extra: &'static [Section],
}

/// Writes `artifact` for `command` (the binary's whole clap command line) to `out`.
pub fn generate(artifact: Artifact, command: Command, page: &Page, out: &mut dyn Write) -> io::Result<()> {
    let name = command.get_name().to_string();
    let mut command = command;
    match artifact {
        Artifact::Man => manual(command, page, out),
        Artifact::Bash => {
            clap_complete::generate(clap_complete::Shell::Bash, &mut command, name, out);
            Ok(())
        }
        Artifact::Zsh => {
            clap_complete::generate(clap_complete::Shell::Zsh, &mut command, name, out);
            Ok(())
        }
        Artifact::Fish => {
            clap_complete::generate(clap_complete::Shell::Fish, &mut command, name, out);
            Ok(())
        }
    }
}

/// The manual page: clap_mangen's generated sections, every subcommand, then `page.extra`.
fn manual(command: Command, page: &Page, out: &mut dyn Write) -> io::Result<()> {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let version = command.get_version().unwrap_or_default().to_string();
    let name = command.get_name().to_string();
    let man = Man::new(command.clone())
        .section(page.section)
        .source(format!("hato {version}"))
        .manual("hato manual");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if command.get_arguments().any(shown) {
        man.render_options_section(out)?;
    }
    let mut roff = Roff::new();
    if command.get_subcommands().any(|c| !c.is_hide_set()) {
        roff.control("SH", ["COMMANDS"]);
        for subcommand in command.get_subcommands().filter(|c| !c.is_hide_set()) {
            subcommand_entry(&mut roff, &name, subcommand);
        }
    }
    for section in page.extra {
        roff.control("SH", [section.title]);
        for paragraph in section.paragraphs {
            match paragraph {
                Paragraph::Text(text) => {
                    roff.control("PP", []).text([roman(*text)]);
                }
                Paragraph::Item(term, text) => {
                    roff.control("TP", []).text([bold(*term)]).text([roman(*text)]);
                }
            }
        }
    }
    out.write_all(roff.to_roff().as_bytes())?;
    if !version.is_empty() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// Whether an argument appears in the manual (help and version flags do not).
fn shown(arg: &Arg) -> bool {
    !arg.is_hide_set() && !matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
}

/// One subcommand as a tagged paragraph `parent name ARGS`, its description and arguments, then
/// its own subcommands.
fn subcommand_entry(roff: &mut Roff, parent: &str, command: &Command) {
    let path = format!("{parent} {}", command.get_name());
    let mut usage = vec![bold(path.clone())];
    for arg in command.get_positionals().filter(|a| shown(a)) {
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.as_str().to_string());
        usage.push(roman(" "));
        if arg.is_required_set() {
            usage.push(italic(value));
        } else {
            usage.push(roman("["));
            usage.push(italic(value));
            usage.push(roman("]"));
        }
    }
    if command.has_subcommands() {
        usage.push(roman(" "));
        usage.push(italic("COMMAND"));
    }
    roff.control("TP", []).text(usage);
    let about = command.get_long_about().or(command.get_about()).map(ToString::to_string).unwrap_or_default();
    roff.text([roman(about)]);
    // Global options are described once, at the top; undocumented positionals are in the usage.
    let arguments: Vec<(&Arg, String)> = command
        .get_arguments()
        .filter(|a| shown(a) && !a.is_global_set())
        .map(|a| (a, argument_help(a)))
        .filter(|(a, help)| !a.is_positional() || !help.is_empty())
        .collect();
    if !arguments.is_empty() {
        roff.control("RS", []);
        for (arg, help) in arguments {
            roff.control("TP", []).text(argument_label(arg)).text([roman(help)]);
        }
        roff.control("RE", []);
    }
    for subcommand in command.get_subcommands().filter(|c| !c.is_hide_set()) {
        subcommand_entry(roff, &path, subcommand);
    }
}

/// An argument's help, then its possible values.
fn argument_help(arg: &Arg) -> String {
    let mut help = arg.get_long_help().or(arg.get_help()).map(ToString::to_string).unwrap_or_default();
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        if !help.is_empty() && !help.ends_with('.') {
            help.push('.');
        }
        if !help.is_empty() {
            help.push(' ');
        }
        help.push_str(&format!("One of: {}.", values.join(", ")));
    }
    help
}

/// `-s, --socket SOCKET` or `ADDRESS`.
fn argument_label(arg: &Arg) -> Vec<clap_mangen::roff::Inline> {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map_or_else(|| arg.get_id().as_str().to_uppercase(), |v| v.as_str().to_string());
    if arg.is_positional() {
        return vec![italic(value)];
    }
    let mut label = Vec::new();
    if let Some(short) = arg.get_short() {
        label.push(bold(format!("-{short}")));
    }
    if let Some(long) = arg.get_long() {
        if !label.is_empty() {
            label.push(roman(", "));
        }
        label.push(bold(format!("--{long}")));
    }
    if arg.get_action().takes_values() {
        label.push(roman(" "));
        label.push(italic(value));
    }
    label
}

/// Writes `artifact` for `command` to standard output; on failure prints `program: error` and exits 1.
pub fn print(artifact: Artifact, command: Command, page: &Page, program: &str) -> std::process::ExitCode {
    let mut out = Vec::new();
    match generate(artifact, command, page, &mut out).and_then(|()| io::stdout().write_all(&out)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

/// `artifact` for `command` as a string (for tests).
pub fn render(artifact: Artifact, command: Command, page: &Page) -> io::Result<String> {
    let mut out = Vec::new();
    generate(artifact, command, page, &mut out)?;
    String::from_utf8(out).map_err(io::Error::other)
}

/// Every subcommand path of `command` at every depth, each prefixed by `program` (`hatoctl show
/// mroute` ...), in definition order.
pub fn subcommand_paths(command: &Command, program: &str) -> Vec<String> {
    fn walk(command: &Command, path: &str, all: &mut Vec<String>) {
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            all.push(name.clone());
            walk(sub, &name, all);
        }
    }
    let mut all = Vec::new();
    walk(command, program, &mut all);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Command {
        Command::new("toyd")
            .version("1.2.3")
            .about("A toy daemon")
            .arg(Arg::new("config").short('f').long("config").value_name("CONFIG").help("The file."))
            .subcommand(
                Command::new("show")
                    .about("Shows things.")
                    .subcommand(Command::new("routes").about("The routes.").arg(Arg::new("address")))
                    .subcommand(Command::new("secret").hide(true)),
            )
    }

    const PAGE: Page = Page {
        section: "8",
        extra: &[Section { title: "SIGNALS", paragraphs: &[Paragraph::Item("HUP", "Reloads.")] }],
    };

    fn render(artifact: Artifact) -> String {
        let mut out = Vec::new();
        generate(artifact, toy(), &PAGE, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn manual_lists_nested_subcommands_and_extra_sections() {
        let page = render(Artifact::Man);
        assert!(page.contains(".TH toyd 8"), "{page}");
        assert!(page.contains("\\fBtoyd show\\fR"), "{page}");
        assert!(page.contains("\\fBtoyd show routes\\fR [\\fIADDRESS\\fR]"), "{page}");
        assert!(page.contains("The routes."), "{page}");
        assert!(page.contains(".SH SIGNALS") && page.contains("Reloads."), "{page}");
        assert!(page.contains("\\-\\-config"), "{page}");
        assert!(!page.contains("secret"), "{page}");
        assert!(page.contains("v1.2.3"), "{page}");
    }

    #[test]
    fn completions_name_the_subcommands() {
        for artifact in [Artifact::Bash, Artifact::Zsh, Artifact::Fish] {
            let script = render(artifact);
            assert!(script.contains("toyd") && script.contains("routes"), "{artifact:?}: {script}");
        }
    }
}
