//! `hatoctl --generate man|bash|zsh|fish`: hatoctl(8) and the shell completions, from the command
//! line definition plus the sections below.

use std::process::ExitCode;

use clap::CommandFactory;
use hato_manual::{Artifact, Page, Paragraph, Section};

use crate::Cli;

const PAGE: Page = Page {
    section: "8",
    extra: &[
        Section {
            title: "EXIT STATUS",
            paragraphs: &[
                Paragraph::Item("0", "Success."),
                Paragraph::Item(
                    "1",
                    "hatod answered with an error, or decode found packets it could not decode.",
                ),
                Paragraph::Item("2", "Bad usage, or decode could not read the capture."),
                Paragraph::Item("3", "hatod is not running (its control socket does not answer)."),
            ],
        },
        Section {
            title: "FILES",
            paragraphs: &[Paragraph::Item(
                "/run/hato/hatod.sock",
                "hatod's control socket (change with -s).",
            )],
        },
        Section { title: "SEE ALSO", paragraphs: &[Paragraph::Text("hatod(8)")] },
    ],
};

/// Writes `artifact` to standard output.
pub fn generate(artifact: Artifact) -> ExitCode {
    hato_manual::print(artifact, Cli::command(), &PAGE, "hatoctl")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(artifact: Artifact) -> String {
        hato_manual::render(artifact, Cli::command(), &PAGE).unwrap()
    }

    #[test]
    fn manual_mentions_every_subcommand() {
        let page = render(Artifact::Man);
        assert!(page.contains(".TH hatoctl 8"), "{page}");
        let all = hato_manual::subcommand_paths(&Cli::command(), "hatoctl");
        assert!(all.len() >= 9, "{all:?}");
        for name in all {
            // roff escapes hyphens: `rp-set` is written `rp\-set`.
            let roff = name.replace('-', "\\-");
            assert!(page.contains(&format!("\\fB{roff}\\fR")), "{name} missing:\n{page}");
        }
        assert!(page.contains("pim") && page.contains(".SH \"EXIT STATUS\""), "{page}");
    }

    #[test]
    fn completions_offer_subcommands_and_subsystems() {
        for artifact in [Artifact::Bash, Artifact::Zsh, Artifact::Fish] {
            let script = render(artifact);
            for word in ["show", "mroute", "debug"] {
                assert!(script.contains(word), "{artifact:?} lacks {word}");
            }
            // clap_complete's fish script does not complete positional values.
            if artifact != Artifact::Fish {
                assert!(script.contains("netlink"), "{artifact:?} lacks the subsystems");
            }
        }
    }
}
