//! Writing a configuration back as TOML: plain ([`render`]) or with a comment above every
//! section and key saying what it is, its range and its default ([`render_commented`]).

use crate::model::{Config, FieldDoc, GmpSettings, Pim};

/// The configuration as TOML, every value explicit.
pub fn render(config: &Config) -> String {
    toml::to_string(config).unwrap_or_default()
}

/// Docs of the sections.
const SECTIONS: &[(&str, &str)] = &[
    ("global", "Daemon-wide settings."),
    ("rpf", "RPF lookups: which table answers, periodic re-check, damping after unicast changes."),
    (
        "rpf.backoff",
        "Delay before recomputing RPF after a unicast change; doubles under a storm up to max-ms.",
    ),
    ("gmp", "IGMP (RFC 3376) / MLD (RFC 3810) defaults for every interface."),
    ("pim", "PIM; the per-interface keys here are defaults that [[interface]] may override."),
    ("pim.spt", "SPT switch policy for a group range."),
    ("pim.static-rp", "A statically configured RP for group ranges."),
    ("pim.candidate-bsr", "This router as candidate BSR (RFC 5059)."),
    ("pim.candidate-rp", "This router as candidate RP (RFC 5059)."),
    ("dvmrp", "DVMRP (as mrouted runs it)."),
    ("dvmrp.boundary", "A named administrative boundary."),
    ("interface", "One interface, by name or by a local address; unset keys inherit the globals."),
    ("interface.gmp", "IGMP / MLD overrides for this interface."),
    ("interface.pim", "PIM overrides for this interface."),
    ("interface.dvmrp", "DVMRP settings of this interface."),
    ("tunnel", "A DVMRP IP-in-IP tunnel."),
    ("mroute", "A static mroute: where RPF expects traffic from a source range (ip mroute)."),
    ("static-flow", "A flow forwarded as configured, without a routing protocol (smcroute's mroute)."),
];

/// Docs of the keys that are not in a settings table.
const KEYS: &[(&str, &str, &str)] = &[
    ("global", "router-id", "Router id (IPv4); unset = the highest interface address."),
    ("global", "log-level", "error, warn, info, debug or trace."),
    ("global", "ipv4", "Run IPv4 multicast routing (IGMP, PIM, DVMRP)."),
    ("global", "ipv6", "Run IPv6 multicast routing (MLD, PIM)."),
    ("global", "runtime-dir", "Directory of the control socket and pid file."),
    ("global", "user", "User to become once the sockets are open; unset = stay."),
    ("global", "auto-interfaces", "Also run on multicast-capable interfaces no [[interface]] names."),
    ("rpf", "lookup-mode", "urib-only, mrib-only, mrib-then-urib, lower-distance or longer-prefix."),
    ("rpf", "interval", "Periodic RPF re-check, seconds; 0 = off. 0..=3600."),
    ("rpf.backoff", "enabled", "false = recompute at every change."),
    ("rpf.backoff", "initial-ms", "1..=60000 milliseconds."),
    ("rpf.backoff", "max-ms", "1..=600000 milliseconds, not below initial-ms."),
    ("pim.spt", "switch", "immediate, threshold or never."),
    ("pim.spt", "threshold-kbps", "Switch when the group's rate exceeds this."),
    ("pim.static-rp", "priority", "Lower is preferred against learned RPs."),
    ("pim.candidate-bsr", "priority", "Higher wins."),
    ("pim.candidate-bsr", "hash-mask-length", "Unset = 30 (IPv4) / 126 (IPv6)."),
    ("pim.candidate-bsr", "scope-zone", "An admin scope zone's range instead of the global zone."),
    ("pim.candidate-rp", "priority", "Lower wins; 192 by default."),
    ("pim.candidate-rp", "groups", "Advertised group ranges; empty = all."),
    ("dvmrp", "enabled", "Run DVMRP."),
    ("dvmrp", "cache-lifetime", "Forwarding cache entry lifetime. 300..=86400 seconds."),
    ("dvmrp", "pruning", "Send prunes."),
    ("interface", "name", "The interface's name."),
    ("interface", "address", "A local address of the interface, instead of its name."),
    ("interface", "enabled", "false = no VIF and no protocol here."),
    ("interface", "boundaries", "Group ranges or [[dvmrp.boundary]] names not forwarded across."),
    ("interface", "ttl-threshold", "Minimum TTL to forward out. 1..=255; unset = 1."),
    ("interface", "rate-limit-kbps", "Rate limit out of the interface; unset or 0 = none."),
    ("interface", "altnet", "Extra subnets whose sources count as directly attached."),
    ("interface.dvmrp", "metric", "Route metric. 1..=31."),
    ("tunnel", "metric", "1..=31."),
    ("tunnel", "threshold", "1..=255."),
    ("tunnel", "rate-limit-kbps", "0 = no limit."),
];

fn field_doc(fields: &[FieldDoc], key: &str) -> Option<String> {
    let field = fields.iter().find(|field| field.key.replace('_', "-") == key)?;
    // Booleans carry the range false..=true, which says nothing.
    if field.range.is_empty() || field.range.starts_with("false") {
        Some(field.doc.trim().to_string())
    } else {
        Some(format!("{} {}.", field.doc.trim(), field.range.trim()))
    }
}

fn key_doc(section: &str, key: &str) -> Option<String> {
    match section {
        "gmp" | "interface.gmp" => field_doc(GmpSettings::FIELDS, key),
        "pim" | "interface.pim" => field_doc(Pim::FIELDS, key),
        _ => None,
    }
    .or_else(|| KEYS.iter().find(|(s, k, _)| *s == section && *k == key).map(|(_, _, doc)| doc.to_string()))
}

/// The configuration as TOML with a comment for every section and key.
pub fn render_commented(config: &Config) -> String {
    let plain = render(config);
    let mut out = String::new();
    let mut section = String::new();
    for line in plain.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(|c| c == '[' || c == ']').to_string();
            if let Some((_, doc)) = SECTIONS.iter().find(|(name, _)| *name == section) {
                if !out.is_empty() && !out.ends_with("\n\n") {
                    out.push('\n');
                }
                out.push_str(&format!("# {doc}\n"));
            }
        } else if let Some((key, _)) = trimmed.split_once(" = ") {
            if let Some(doc) = key_doc(&section, key) {
                out.push_str(&format!("# {doc}\n"));
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
