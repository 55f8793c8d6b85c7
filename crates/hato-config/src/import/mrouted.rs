//! mrouted's `mrouted.conf` (the grammar of its manual page: `phyint`, `tunnel`,
//! `cache_lifetime`, `pruning`, `name`) → native configuration running DVMRP.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

use super::{interface_named, split_by_keyword, tokenize, Args, Imported};
use crate::model::{Boundary, Config, NamedBoundary, Tunnel};

const KEYWORDS: &[&str] = &["phyint", "tunnel", "cache_lifetime", "cache-lifetime", "pruning", "name"];

/// Imports an `mrouted.conf`: IPv4 DVMRP on every multicast-capable interface, PIM off.
pub fn import_mrouted(text: &str) -> Imported {
    let mut config = Config::default();
    config.global.ipv6 = false;
    config.pim.enabled = false;
    config.dvmrp.enabled = true;
    let mut warnings = Vec::new();
    let statements = split_by_keyword(tokenize(text, false), |word| KEYWORDS.contains(&word));
    for statement in &statements {
        let keyword = statement.keyword.text.as_str();
        let mut args = Args::new(statement, &mut warnings);
        match keyword {
            "phyint" => phyint(&mut args, &mut config),
            "tunnel" => tunnel(&mut args, &mut config),
            "cache_lifetime" | "cache-lifetime" => {
                args.set_number("cache_lifetime", &mut config.dvmrp.cache_lifetime);
                args.rest_unmapped(keyword);
            }
            "pruning" => {
                match args.next() {
                    Some("on") => config.dvmrp.pruning = true,
                    Some("off") => config.dvmrp.pruning = false,
                    other => args
                        .warn(format!("pruning: expected on or off, got {:?}; ignored", other.unwrap_or(""))),
                }
                args.rest_unmapped(keyword);
            }
            "name" => {
                let name = args.next().map(str::to_string);
                let groups = args.prefix("name", None);
                match (name, groups) {
                    (Some(name), Some(groups)) => config.dvmrp.boundary.push(NamedBoundary { name, groups }),
                    _ => args.warn("name: expected a boundary name and a scoped range; ignored"),
                }
                args.rest_unmapped(keyword);
            }
            other => args.unknown_statement(other),
        }
    }
    Imported { config, warnings }
}

/// `boundary (name | addr/len)`.
fn boundary(args: &mut Args<'_>) -> Option<Boundary> {
    let word = args.next()?;
    if word.contains('/') {
        match IpNet::from_str(word) {
            Ok(net) => Some(Boundary::Range(net.trunc())),
            Err(_) => {
                args.warn(format!("boundary: {word:?} is not a prefix; ignored"));
                None
            }
        }
    } else {
        Some(Boundary::Named(word.to_string()))
    }
}

fn phyint(args: &mut Args<'_>, config: &mut Config) {
    let Some(target) = args.phyint_target() else { return };
    let mut interface = interface_named(target);
    while let Some(word) = args.next() {
        match word {
            "disable" => interface.enabled = Some(false),
            "enable" => interface.enabled = Some(true),
            "metric" => args.set_number("metric", &mut interface.dvmrp.metric),
            "threshold" => interface.ttl_threshold = args.number("threshold"),
            "rate_limit" => interface.rate_limit_kbps = args.number("rate_limit"),
            "boundary" => interface.boundaries.extend(boundary(args)),
            "altnet" => interface.altnet.extend(args.prefix("altnet", None)),
            "igmpv1" => interface.gmp.igmp_version = Some(1),
            "igmpv2" => interface.gmp.igmp_version = Some(2),
            "igmpv3" => interface.gmp.igmp_version = Some(3),
            other => args.warn(format!("phyint {target}: unknown option {other:?}; ignored")),
        }
    }
    config.interface.push(interface);
}

fn tunnel(args: &mut Args<'_>, config: &mut Config) {
    let local = args.next().map(IpAddr::from_str);
    let remote = args.next().map(IpAddr::from_str);
    let (Some(Ok(local)), Some(Ok(remote))) = (local, remote) else {
        args.warn("tunnel: expected a local and a remote address; ignored");
        args.skip_rest();
        return;
    };
    let mut tunnel = Tunnel::new(local, remote);
    while let Some(word) = args.next() {
        match word {
            "metric" => args.set_number("metric", &mut tunnel.metric),
            "threshold" => args.set_number("threshold", &mut tunnel.threshold),
            "rate_limit" => args.set_number("rate_limit", &mut tunnel.rate_limit_kbps),
            "boundary" => tunnel.boundaries.extend(boundary(args)),
            "srcrt" | "sourceroute" => {
                args.warn("tunnel: source-routed tunnels are obsolete; using IP-in-IP");
            }
            other => args.warn(format!("tunnel {local} {remote}: unknown option {other:?}; ignored")),
        }
    }
    config.tunnel.push(tunnel);
}
