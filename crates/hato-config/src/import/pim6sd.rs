//! KAME pim6sd's `pim6sd.conf` (its yacc grammar: statements ended by `;`) → native
//! configuration running IPv6 PIM-SM with MLD.

use std::net::IpAddr;
use std::str::FromStr;

use super::{split_by_semicolon, tokenize, Args, ImportWarning, Imported};
use crate::model::{Config, Family, Interface, LogLevel, StaticRp};

/// Imports a `pim6sd.conf`: IPv6 only.
pub fn import_pim6sd(text: &str) -> Imported {
    let mut config = Config::default();
    config.global.ipv4 = false;
    let mut warnings = Vec::new();
    let mut group_prefixes = Vec::new();
    for statement in &split_by_semicolon(tokenize(text, true)) {
        let keyword = statement.keyword.text.as_str();
        let mut args = Args::new(statement, &mut warnings);
        match keyword {
            "log" => log(&mut args, &mut config),
            "reverselookup" => {
                args.next();
                args.warn("reverselookup: hato never resolves names in its output; not mapped");
            }
            "default_phyint_status" => match args.next() {
                Some("enable") => config.global.auto_interfaces = true,
                Some("disable") => config.global.auto_interfaces = false,
                other => args.warn(format!("default_phyint_status: {:?}; ignored", other.unwrap_or(""))),
            },
            "phyint" => phyint(&mut args, &mut config),
            "cand_rp" => {
                let mut crp = args.candidate_rp(CANDIDATE_OPTIONS, Some(Family::Ipv6));
                while let Some(word) = args.next() {
                    match word {
                        "priority" => args.set_number("priority", &mut crp.priority),
                        "time" => args.set_number("cand_rp time", &mut config.pim.c_rp_adv_period),
                        other => args.warn(format!("cand_rp: unknown option {other:?}; ignored")),
                    }
                }
                config.pim.candidate_rp.push(crp);
            }
            "cand_bootstrap_router" => {
                let mut bsr = args.candidate_bsr(CANDIDATE_OPTIONS, Some(Family::Ipv6));
                while let Some(word) = args.next() {
                    match word {
                        "priority" => args.set_number("priority", &mut bsr.priority),
                        "time" => {
                            args.set_number("cand_bootstrap_router time", &mut config.pim.bootstrap_period)
                        }
                        "masklen" => bsr.hash_mask_length = args.number("masklen"),
                        other => {
                            args.warn(format!("cand_bootstrap_router: unknown option {other:?}; ignored"))
                        }
                    }
                }
                config.pim.candidate_bsr.push(bsr);
            }
            "static_rp" => static_rp(&mut args, &mut config),
            "group_prefix" => {
                // Group prefixes belong to the C-RP wherever they appear in the file.
                if let Some(prefix) = args.prefix("group_prefix", None) {
                    group_prefixes.push((prefix, statement.keyword.line));
                }
            }
            "switch_data_threshold" => args.switch_data_threshold(keyword, "ff00::/8", &mut config),
            "switch_register_threshold" => args.switch_register_threshold(keyword),
            "default_source_metric"
            | "default_metric"
            | "default_source_preference"
            | "default_preference" => {
                args.next();
                args.warn(format!(
                    "{keyword}: hato takes Assert preference and metric from the RIB; not mapped"
                ));
            }
            "hello_period" => {
                if let Some((period, holdtime)) = period_and_holdtime(&mut args, keyword) {
                    config.pim.hello_period = period;
                    config.pim.hello_holdtime = holdtime;
                }
            }
            "join_prune_period" => {
                if let Some((period, holdtime)) = period_and_holdtime(&mut args, keyword) {
                    config.pim.join_prune_period = period;
                    config.pim.join_prune_holdtime = holdtime;
                }
            }
            "granularity" => {
                args.next();
                args.warn("granularity: hato's timers fire at their deadlines, not on a tick; not mapped");
            }
            "data_timeout" => args.set_number("data_timeout", &mut config.pim.data_timeout),
            "register_suppression_timeout" => {
                args.set_number("register_suppression_timeout", &mut config.pim.register_suppression);
                if args.peek().is_some() {
                    args.next();
                    args.warn("register_suppression_timeout: the coefficient is not mapped (RFC 7761 §4.11 jitters ±50%)");
                }
            }
            "probe_time" => args.set_number("probe_time", &mut config.pim.probe_time),
            "assert_timeout" => args.set_number("assert_timeout", &mut config.pim.assert_timeout),
            other => args.unknown_statement(other),
        }
        args.rest_unmapped(keyword);
    }
    match config.pim.candidate_rp.last_mut() {
        Some(crp) => crp.groups.extend(group_prefixes.into_iter().map(|(prefix, _)| prefix)),
        None => warnings.extend(group_prefixes.into_iter().map(|(prefix, line)| ImportWarning {
            line,
            message: format!("group_prefix {prefix}: no cand_rp advertises it; ignored"),
        })),
    }
    Imported { config, warnings }
}

/// `<period> [<coefficient>]`: the period, and the holdtime as the period times the coefficient
/// when one is given.
fn period_and_holdtime(args: &mut Args<'_>, keyword: &str) -> Option<(u32, Option<u32>)> {
    let period: Option<u32> = args.number(keyword);
    let coefficient: Option<f64> = args.peek().and_then(|_| args.number(&format!("{keyword} coefficient")));
    period.map(|period| (period, coefficient.map(|c| scaled(period, c))))
}

fn scaled(period: u32, coefficient: f64) -> u32 {
    let value = f64::from(period) * coefficient;
    if value.is_finite() && value >= 0.0 && value <= f64::from(u32::MAX) {
        value.round() as u32
    } else {
        u32::MAX
    }
}

/// `log` with pim6sd's debug categories: `all` maps to trace, any other set to debug.
fn log(args: &mut Args<'_>, config: &mut Config) {
    let mut categories = Vec::new();
    while let Some(word) = args.next() {
        categories.push(word);
    }
    if categories.contains(&"all") {
        config.global.log_level = LogLevel::Trace;
    } else if !categories.is_empty() {
        config.global.log_level = LogLevel::Debug;
        args.warn(format!(
            "log {}: hato logs by level, not by category; using log-level = \"debug\"",
            categories.join(" ")
        ));
    }
}

fn phyint(args: &mut Args<'_>, config: &mut Config) {
    let Some(name) = args.phyint_target() else { return };
    let mut interface = Interface { name: Some(name.to_string()), ..Interface::default() };
    while let Some(word) = args.next() {
        match word {
            "enable" => interface.enabled = Some(true),
            "disable" => interface.enabled = Some(false),
            "nolistener" => interface.gmp.enabled = Some(false),
            "preference" | "metric" => {
                args.next();
                args.warn(format!(
                    "phyint {name} {word}: hato takes Assert preference and metric from the RIB; not mapped"
                ));
            }
            "robustness" => interface.gmp.robustness = args.number("robustness"),
            "query_interval" => interface.gmp.query_interval = args.number("query_interval"),
            "query_response_interval" => {
                interface.gmp.query_response_interval_ms =
                    args.number::<u32>("query_response_interval").map(|s| s.saturating_mul(1000));
            }
            "llqi" => {
                interface.gmp.last_member_query_interval_ms =
                    args.number::<u32>("llqi").map(|s| s.saturating_mul(1000));
            }
            // `any`: MLDv2 routers serve MLDv1 listeners in compatibility mode (RFC 3810 §8).
            "mld_version" => match args.next() {
                Some("1") => interface.gmp.mld_version = Some(1),
                Some("2" | "any") => interface.gmp.mld_version = Some(2),
                other => args.warn(format!("phyint {name} mld_version {:?}; ignored", other.unwrap_or(""))),
            },
            other => args.warn(format!("phyint {name}: unknown option {other:?}; ignored")),
        }
    }
    config.interface.push(interface);
}

/// The options of pim6sd's `cand_rp` and `cand_bootstrap_router`.
const CANDIDATE_OPTIONS: &[&str] = &["priority", "time", "masklen"];

/// `static_rp <group>/<len> <rp> [priority N]`.
fn static_rp(args: &mut Args<'_>, config: &mut Config) {
    let groups = args.prefix("static_rp", None);
    let address = args.next().map(IpAddr::from_str);
    let mut priority = 0;
    if args.peek() == Some("priority") {
        args.next();
        priority = args.number("priority").unwrap_or(0);
    }
    match (groups, address) {
        (Some(groups), Some(Ok(address))) => {
            config.pim.static_rp.push(StaticRp { address, groups: vec![groups], priority });
        }
        _ => args.warn("static_rp: expected <group>/<len> <rp-address>; ignored"),
    }
}
