//! Importers: the configuration files of mrouted, pimd and pim6sd → a native [`Config`] plus
//! a warning, with its line, for every statement or option that hato cannot map.
//!
//! All three formats are free-form word lists: mrouted and pimd separate statements by their
//! leading keyword (newlines are not significant), pim6sd ends each statement with `;`. A `#`
//! starts a comment to the end of the line. The importers never fail: what they do not
//! understand becomes a warning, and the result is a configuration to review, then validate.

mod mrouted;
mod pim6sd;
mod pimd;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{CandidateBsr, CandidateRp, Config, Family, Interface, SptRule, SptSwitch};
use crate::render::render_commented;

pub use mrouted::import_mrouted;
pub use pim6sd::import_pim6sd;
pub use pimd::import_pimd;

/// A statement or option the importer could not map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportWarning {
    /// 1-based line of the source file.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// The result of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Imported {
    pub config: Config,
    pub warnings: Vec<ImportWarning>,
}

impl Imported {
    /// Commented native TOML, headed by the warnings as comments.
    pub fn to_toml(&self, source_name: &str) -> String {
        let mut out = format!("# Imported from {source_name} by hato.\n");
        if self.warnings.is_empty() {
            out.push_str("# Every statement was mapped.\n");
        } else {
            out.push_str("# Not mapped:\n");
            for warning in &self.warnings {
                out.push_str(&format!("#   {warning}\n"));
            }
        }
        out.push('\n');
        out.push_str(&render_commented(&self.config));
        out
    }
}

/// A word of the source and its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub text: String,
    pub line: usize,
}

/// Splits a source into words, dropping `#` comments; `;` is a word of its own when
/// `semicolons` is set.
pub(crate) fn tokenize(text: &str, semicolons: bool) -> Vec<Token> {
    let mut tokens = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let spaced = if semicolons { code.replace(';', " ; ") } else { code.to_string() };
        tokens
            .extend(spaced.split_whitespace().map(|word| Token { text: word.to_string(), line: index + 1 }));
    }
    tokens
}

/// A statement: its keyword, then its words.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub keyword: Token,
    pub args: Vec<Token>,
}

/// Groups words into statements, each starting at a word for which `is_keyword` holds.
pub(crate) fn split_by_keyword(tokens: Vec<Token>, is_keyword: impl Fn(&str) -> bool) -> Vec<Statement> {
    let mut statements: Vec<Statement> = Vec::new();
    for token in tokens {
        match statements.last_mut() {
            Some(statement) if !is_keyword(&token.text) => statement.args.push(token),
            _ => statements.push(Statement { keyword: token, args: Vec::new() }),
        }
    }
    statements
}

/// Groups words into statements ended by `;` (a missing last `;` is tolerated).
pub(crate) fn split_by_semicolon(tokens: Vec<Token>) -> Vec<Statement> {
    let mut statements = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for token in tokens {
        if token.text == ";" {
            let mut words = std::mem::take(&mut current).into_iter();
            if let Some(keyword) = words.next() {
                statements.push(Statement { keyword, args: words.collect() });
            }
        } else {
            current.push(token);
        }
    }
    let mut words = current.into_iter();
    if let Some(keyword) = words.next() {
        statements.push(Statement { keyword, args: words.collect() });
    }
    statements
}

/// A cursor over a statement's words that records warnings.
pub(crate) struct Args<'a> {
    words: &'a [Token],
    position: usize,
    line: usize,
    pub warnings: &'a mut Vec<ImportWarning>,
}

impl<'a> Args<'a> {
    pub fn new(statement: &'a Statement, warnings: &'a mut Vec<ImportWarning>) -> Self {
        Args { words: &statement.args, position: 0, line: statement.keyword.line, warnings }
    }

    pub fn peek(&self) -> Option<&'a str> {
        self.words.get(self.position).map(|token| token.text.as_str())
    }

    pub fn next(&mut self) -> Option<&'a str> {
        let token = self.words.get(self.position)?;
        self.position += 1;
        self.line = token.line;
        Some(token.text.as_str())
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        self.warnings.push(ImportWarning { line: self.line, message: message.into() });
    }

    /// The next word as a number; warns (naming `what`) when missing or malformed.
    pub fn number<T: FromStr>(&mut self, what: &str) -> Option<T> {
        match self.next() {
            Some(word) => match word.parse() {
                Ok(value) => Some(value),
                Err(_) => {
                    self.warn(format!("{what}: {word:?} is not a number; ignored"));
                    None
                }
            },
            None => {
                self.warn(format!("{what}: value missing; ignored"));
                None
            }
        }
    }

    /// The next word as a number into `target`; `target` is left alone, with a warning, when the
    /// word is missing or malformed.
    pub fn set_number<T: FromStr>(&mut self, what: &str, target: &mut T) {
        if let Some(value) = self.number(what) {
            *target = value;
        }
    }

    /// A prefix written `net/len`, `net masklen len`, or `net` alone (then `default_len`).
    pub fn prefix(&mut self, what: &str, default_len: Option<u8>) -> Option<IpNet> {
        let word = match self.next() {
            Some(word) => word,
            None => {
                self.warn(format!("{what}: prefix missing; ignored"));
                return None;
            }
        };
        let parsed = if word.contains('/') {
            IpNet::from_str(word).ok()
        } else {
            let address = IpAddr::from_str(word).ok();
            let len = if self.peek() == Some("masklen") {
                self.next();
                self.number::<u8>("masklen")
            } else {
                default_len.or(match address {
                    Some(IpAddr::V4(_)) => Some(32),
                    _ => Some(128),
                })
            };
            address.zip(len).and_then(|(address, len)| IpNet::new(address, len).ok())
        };
        match parsed {
            Some(net) => Some(net.trunc()),
            None => {
                self.warn(format!("{what}: {word:?} is not a prefix; ignored"));
                None
            }
        }
    }

    /// Warns about and skips every word left.
    pub fn rest_unmapped(&mut self, statement: &str) {
        while let Some(word) = self.next() {
            self.warn(format!("{statement}: unknown option {word:?}; ignored"));
        }
    }

    /// Skips every word left without a warning (one was given for the statement).
    pub fn skip_rest(&mut self) {
        while self.next().is_some() {}
    }

    /// Warns about a statement the importer does not know and skips its words.
    pub fn unknown_statement(&mut self, keyword: &str) {
        self.warn(format!("unknown statement {keyword:?}; ignored"));
        self.skip_rest();
    }

    /// The interface a `phyint` statement names; warns when it is missing.
    pub fn phyint_target(&mut self) -> Option<&'a str> {
        let target = self.next();
        if target.is_none() {
            self.warn("phyint: interface missing; ignored");
        }
        target
    }

    /// The address or interface name a candidate BSR or RP statement may start with; neither
    /// when the next word is one of the statement's `options` or the statement ends.
    fn candidate_source(&mut self, options: &[&str]) -> (Option<IpAddr>, Option<String>) {
        match self.peek() {
            Some(word) if !options.contains(&word) => {
                self.next();
                match IpAddr::from_str(word) {
                    Ok(address) => (Some(address), None),
                    Err(_) => (None, Some(word.to_string())),
                }
            }
            _ => (None, None),
        }
    }

    /// A candidate RP at the address or interface the statement starts with, if any, with
    /// priority 0 and no groups yet.
    pub fn candidate_rp(&mut self, options: &[&str], family: Option<Family>) -> CandidateRp {
        let (address, interface) = self.candidate_source(options);
        CandidateRp { address, interface, family, priority: 0, groups: Vec::new() }
    }

    /// A candidate BSR at the address or interface the statement starts with, if any, with
    /// priority 0.
    pub fn candidate_bsr(&mut self, options: &[&str], family: Option<Family>) -> CandidateBsr {
        let (address, interface) = self.candidate_source(options);
        CandidateBsr { address, interface, family, priority: 0, hash_mask_length: None, scope_zone: None }
    }

    /// `switch_data_threshold rate <bits/s> interval <s>` of pimd (before 2.2) and pim6sd: sets the
    /// check interval, and for the family's whole range (`all_groups`) a threshold rule, or switching at
    /// the first packet for a zero or absent rate. The last statement wins, as in those daemons.
    pub fn switch_data_threshold(&mut self, keyword: &str, all_groups: &str, config: &mut Config) {
        let (rate, interval) = self.rate_and_interval(keyword);
        if let Some(interval) = interval {
            config.pim.spt_check_interval = interval;
        }
        match rate {
            Some(0) | None => {
                config.pim.spt.retain(|rule| rule.groups.to_string() != all_groups);
                config.pim.spt_switch = SptSwitch::Immediate;
            }
            Some(bits) => set_threshold(config, all_groups, bits.div_ceil(1000)),
        }
    }

    /// `switch_register_threshold rate <bits/s> interval <s>`: read, and not mapped.
    pub fn switch_register_threshold(&mut self, keyword: &str) {
        self.rate_and_interval(keyword);
        self.warn("switch_register_threshold: hato's RP joins the source tree at the first Register (RFC 7761 §4.2.1); not mapped");
    }

    /// The options `rate <bits/s> interval <s>` of the `switch_*_threshold` statements.
    fn rate_and_interval(&mut self, keyword: &str) -> (Option<u32>, Option<u32>) {
        let (mut rate, mut interval) = (None, None);
        while let Some(word) = self.next() {
            match word {
                "rate" => rate = self.number("rate"),
                "interval" => interval = self.number("interval"),
                other => self.warn(format!("{keyword}: unknown option {other:?}; ignored")),
            }
        }
        (rate, interval)
    }
}

/// Switches every group of `all_groups` (a family's whole multicast range) to the SPT at `kbps`. A
/// later statement replaces an earlier one, as the source daemons' parsers overwrite the setting.
pub(crate) fn set_threshold(config: &mut Config, all_groups: &str, kbps: u32) {
    let Ok(all) = IpNet::from_str(all_groups) else { return };
    config.pim.spt.retain(|rule| rule.groups != all);
    config.pim.spt.push(SptRule { groups: all, switch: SptSwitch::Threshold, threshold_kbps: kbps });
}

/// The `[[interface]]` a `phyint` statement names, by one of its addresses or by its name.
pub(crate) fn interface_named(target: &str) -> Interface {
    match IpAddr::from_str(target) {
        Ok(address) => Interface { address: Some(address), ..Interface::default() },
        Err(_) => Interface { name: Some(target.to_string()), ..Interface::default() },
    }
}
