//! troglobit pimd's `pimd.conf` (pimd.conf(5), 2.x, with the older underscore spellings it
//! still accepts) → native configuration.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::{interface_named, set_threshold, split_by_keyword, tokenize, Args, Imported};
use crate::model::{Boundary, Config, SptSwitch, StaticRp};

const KEYWORDS: &[&str] = &[
    "default-route-distance",
    "default_source_preference",
    "default-route-metric",
    "default_source_metric",
    "hello-interval",
    "hello_period",
    "igmp-query-interval",
    "default_igmp_query_interval",
    "igmp-querier-timeout",
    "default_igmp_querier_timeout",
    "disable-vifs",
    "no",
    "phyint",
    "bsr-candidate",
    "cand_bootstrap_router",
    "rp-candidate",
    "cand_rp",
    "group-prefix",
    "group_prefix",
    "rp-address",
    "rp_address",
    "spt-threshold",
    "spt_threshold",
    "switch_data_threshold",
    "switch_register_threshold",
];

/// Imports a `pimd.conf`: IPv4 PIM-SM on every interface unless told otherwise.
pub fn import_pimd(text: &str) -> Imported {
    let mut config = Config::default();
    config.global.ipv6 = false;
    let mut warnings = Vec::new();
    let statements = split_by_keyword(tokenize(text, false), |word| KEYWORDS.contains(&word));
    for statement in &statements {
        let keyword = statement.keyword.text.as_str();
        let mut args = Args::new(statement, &mut warnings);
        match keyword {
            "default-route-distance"
            | "default_source_preference"
            | "default-route-metric"
            | "default_source_metric" => {
                args.next();
                args.warn(format!(
                    "{keyword}: hato takes the Assert metric preference and metric from the RIB (RFC 7761 §4.6.1); not mapped"
                ));
                args.rest_unmapped(keyword);
            }
            "hello-interval" | "hello_period" => {
                args.set_number("hello-interval", &mut config.pim.hello_period);
                args.rest_unmapped(keyword);
            }
            "igmp-query-interval" | "default_igmp_query_interval" => {
                args.set_number("igmp-query-interval", &mut config.gmp.query_interval);
                args.rest_unmapped(keyword);
            }
            "igmp-querier-timeout" | "default_igmp_querier_timeout" => {
                args.next();
                args.warn(
                    "igmp-querier-timeout: hato derives the Other Querier Present Interval from robustness, query interval and query response interval (RFC 3376 §8.5); not mapped",
                );
                args.rest_unmapped(keyword);
            }
            "disable-vifs" => config.global.auto_interfaces = false,
            "no" => match args.next() {
                Some("phyint") => config.global.auto_interfaces = false,
                other => args.warn(format!("no {}: unknown statement; ignored", other.unwrap_or(""))),
            },
            "phyint" => phyint(&mut args, &mut config),
            "bsr-candidate" | "cand_bootstrap_router" => {
                let mut bsr = args.candidate_bsr(CANDIDATE_OPTIONS, None);
                while let Some(word) = args.next() {
                    match word {
                        "priority" => args.set_number("priority", &mut bsr.priority),
                        other => args.warn(format!("{keyword}: unknown option {other:?}; ignored")),
                    }
                }
                config.pim.candidate_bsr.push(bsr);
            }
            "rp-candidate" | "cand_rp" => {
                // pimd advertises every 30 s and with priority 0 unless told otherwise.
                config.pim.c_rp_adv_period = 30;
                let mut crp = args.candidate_rp(CANDIDATE_OPTIONS, None);
                while let Some(word) = args.next() {
                    match word {
                        "priority" => args.set_number("priority", &mut crp.priority),
                        "time" | "interval" => {
                            args.set_number("rp-candidate time", &mut config.pim.c_rp_adv_period)
                        }
                        "group-prefix" | "group_prefix" => {
                            crp.groups.extend(args.prefix("group-prefix", Some(16)))
                        }
                        other => args.warn(format!("{keyword}: unknown option {other:?}; ignored")),
                    }
                }
                config.pim.candidate_rp.push(crp);
            }
            "group-prefix" | "group_prefix" => {
                let prefix = args.prefix("group-prefix", Some(16));
                match config.pim.candidate_rp.last_mut() {
                    Some(crp) => crp.groups.extend(prefix),
                    None => args.warn("group-prefix: no rp-candidate before it; ignored"),
                }
                args.rest_unmapped(keyword);
            }
            "rp-address" | "rp_address" => rp_address(&mut args, &mut config),
            "spt-threshold" | "spt_threshold" => spt_threshold(&mut args, &mut config),
            "switch_data_threshold" => args.switch_data_threshold(keyword, "224.0.0.0/4", &mut config),
            "switch_register_threshold" => args.switch_register_threshold(keyword),
            other => args.unknown_statement(other),
        }
    }
    Imported { config, warnings }
}

fn phyint(args: &mut Args<'_>, config: &mut Config) {
    let Some(target) = args.phyint_target() else { return };
    let mut interface = interface_named(target);
    while let Some(word) = args.next() {
        match word {
            "enable" => interface.enabled = Some(true),
            "disable" => interface.enabled = Some(false),
            "igmpv2" => interface.gmp.igmp_version = Some(2),
            "igmpv3" => interface.gmp.igmp_version = Some(3),
            "dr-priority" => interface.pim.dr_priority = args.number("dr-priority"),
            "ttl-threshold" | "threshold" => interface.ttl_threshold = args.number("ttl-threshold"),
            "distance" | "preference" | "metric" => {
                args.next();
                args.warn(format!(
                    "phyint {target} {word}: hato takes Assert preference and metric from the RIB; not mapped"
                ));
            }
            "altnet" => interface.altnet.extend(args.prefix("altnet", None)),
            "scoped" => interface.boundaries.extend(args.prefix("scoped", None).map(Boundary::Range)),
            other => args.warn(format!("phyint {target}: unknown option {other:?}; ignored")),
        }
    }
    config.interface.push(interface);
}

/// The options of pimd's candidate BSR and RP statements.
const CANDIDATE_OPTIONS: &[&str] = &["priority", "time", "interval", "group-prefix", "group_prefix"];

fn rp_address(args: &mut Args<'_>, config: &mut Config) {
    let Some(word) = args.next() else {
        args.warn("rp-address: address missing; ignored");
        return;
    };
    let Ok(address) = IpAddr::from_str(word) else {
        args.warn(format!("rp-address: {word:?} is not an address; ignored"));
        args.rest_unmapped("rp-address");
        return;
    };
    if address.is_multicast() {
        args.warn(format!("rp-address {address}: a multicast RP address is not supported; ignored"));
        args.rest_unmapped("rp-address");
        return;
    }
    // pimd's default range; its manual says 224.0.0.0/16, its code uses the whole 224.0.0.0/4.
    let groups = if args.peek().is_some() {
        args.prefix("rp-address group", Some(4))
    } else {
        IpNet::from_str("224.0.0.0/4").ok()
    };
    args.rest_unmapped("rp-address");
    // pimd announces static RPs with priority 1.
    config.pim.static_rp.push(StaticRp { address, groups: groups.into_iter().collect(), priority: 1 });
}

fn spt_threshold(args: &mut Args<'_>, config: &mut Config) {
    while let Some(word) = args.next() {
        match word {
            "infinity" => config.pim.spt_switch = SptSwitch::Never,
            "rate" => {
                if let Some(kbps) = args.number::<u32>("spt-threshold rate") {
                    set_threshold(config, "224.0.0.0/4", kbps);
                }
            }
            "packets" => match args.number::<u32>("spt-threshold packets") {
                Some(0) => config.pim.spt_switch = SptSwitch::Immediate,
                Some(packets) => {
                    config.pim.spt_switch = SptSwitch::Immediate;
                    args.warn(format!(
                        "spt-threshold packets {packets}: hato switches on a rate, not a packet count; switching at the first packet"
                    ));
                }
                None => {}
            },
            "interval" => args.set_number("spt-threshold interval", &mut config.pim.spt_check_interval),
            other => args.warn(format!("spt-threshold: unknown option {other:?}; ignored")),
        }
    }
}
