//! `hatod --generate man|bash|zsh|fish`: hatod(8) and the shell completions, from the command line
//! definition plus the sections below.

use std::process::ExitCode;

use clap::CommandFactory;
use hato_manual::{Artifact, Page, Paragraph, Section};

use crate::Cli;

const PAGE: Page = Page {
    section: "8",
    extra: &[
        Section {
            title: "DEBUG LEVELS",
            paragraphs: &[
                Paragraph::Text(
                    "The levels of mrouted(8). Unlike mrouted, hatod never detaches from the terminal, \
                     at level 0 or without -d: it stays in the foreground and service managers supervise it.",
                ),
                Paragraph::Item("0", "Warnings and errors only."),
                Paragraph::Item("1", "Also notices: interfaces, VIFs, reloads, start and stop."),
                Paragraph::Item(
                    "2",
                    "Also important events: entries installed and removed, upcalls, group joins.",
                ),
                Paragraph::Item("3", "Also every protocol packet received and sent."),
                Paragraph::Text(
                    "hatoctl debug SUBSYSTEM on logs everything of one subsystem (igmp, mld, pim, rpf, \
                     mroute, kernel, netlink, control, config) whatever the level; off restores the level.",
                ),
            ],
        },
        Section {
            title: "SIGNALS",
            paragraphs: &[
                Paragraph::Item(
                    "HUP",
                    "Re-read the configuration file and apply the difference; a file with errors is \
                     refused as a whole and the running configuration stays.",
                ),
                Paragraph::Item(
                    "INT, TERM",
                    "Shut down: withdraw every forwarding cache entry and VIF, then exit.",
                ),
                Paragraph::Item("USR1", "Write the routing table to hatod.dump in the runtime directory."),
                Paragraph::Item(
                    "USR2",
                    "Write the forwarding cache to hatod.cache in the runtime directory.",
                ),
            ],
        },
        Section {
            title: "PRIVILEGES",
            paragraphs: &[Paragraph::Text(
                "Once its sockets are open, hatod keeps only CAP_NET_ADMIN and CAP_NET_RAW in its \
                 bounding, permitted and effective sets and empties the inheritable and ambient sets. \
                 With --user it also becomes that user, keeping the two capabilities; the runtime \
                 directory is handed to the user.",
            )],
        },
        Section {
            title: "FILES",
            paragraphs: &[
                Paragraph::Item("/etc/hato/hato.toml", "The configuration file the systemd unit names."),
                Paragraph::Item("/run/hato/hatod.sock", "The control socket hatoctl(8) talks to."),
                Paragraph::Item("/run/hato/hatod.pid", "The process id."),
                Paragraph::Item("/run/hato/hatod.dump, /run/hato/hatod.cache", "Written on USR1 and USR2."),
            ],
        },
        Section {
            title: "ENVIRONMENT",
            paragraphs: &[
                Paragraph::Item(
                    "NOTIFY_SOCKET",
                    "Where to report readiness, reloads and shutdown (sd_notify(3)); a path, or an \
                     abstract socket name starting with @.",
                ),
                Paragraph::Item(
                    "JOURNAL_STREAM",
                    "With --log auto, log to the journal when standard error is the stream it names.",
                ),
            ],
        },
        Section {
            title: "SEE ALSO",
            paragraphs: &[Paragraph::Text("hatoctl(8), mrouted(8), pimd(8), systemd.service(5)")],
        },
    ],
};

/// Writes `artifact` to standard output.
pub fn generate(artifact: Artifact) -> ExitCode {
    hato_manual::print(artifact, Cli::command(), &PAGE, "hatod")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(artifact: Artifact) -> String {
        hato_manual::render(artifact, Cli::command(), &PAGE).unwrap()
    }

    #[test]
    fn manual_mentions_every_subcommand_and_option() {
        let page = render(Artifact::Man);
        assert!(page.starts_with(".ie") || page.contains(".TH hatod 8"), "{page}");
        let all = hato_manual::subcommand_paths(&Cli::command(), "hatod");
        assert!(!all.is_empty());
        for name in all {
            // roff escapes hyphens: `rp-set` is written `rp\-set`.
            let roff = name.replace('-', "\\-");
            assert!(page.contains(&format!("\\fB{roff}\\fR")), "{name} missing:\n{page}");
        }
        for arg in Cli::command().get_arguments().filter_map(|a| a.get_long()) {
            if arg != "help" && arg != "version" {
                assert!(page.contains(&format!("\\-\\-{}", arg.replace('-', "\\-"))), "--{arg} missing");
            }
        }
        assert!(page.contains(".SH SIGNALS") && page.contains("NOTIFY_SOCKET"));
    }

    #[test]
    fn completions_cover_the_subcommands() {
        for artifact in [Artifact::Bash, Artifact::Zsh, Artifact::Fish] {
            let script = render(artifact);
            assert!(script.contains("import") && script.contains("check-config"), "{artifact:?}");
        }
    }
}
