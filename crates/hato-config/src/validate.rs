//! Loading and validation: TOML text → [`Config`], or errors that name the file, line and column.
//!
//! Syntax errors, unknown keys and type errors come from the TOML decoder with a byte span.
//! Range checks and cross-checks run on the typed model and report a [`Path`]
//! (`pim.static-rp[1].groups[0]`), which [`load`] locates in the source by walking the spanned
//! TOML document.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::model::{Boundary, Bounded, CandidateBsr, CandidateRp, Config, Family, Interface, SptSwitch};

/// One step of a path into the configuration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Where in the configuration a problem is: a TOML key path.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<Segment>);

impl Path {
    /// The path of a top-level key.
    pub fn root(key: &str) -> Path {
        Path::default().key(key)
    }

    /// This path extended by a key; `_` in Rust field names become `-`.
    pub fn key(&self, key: &str) -> Path {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.replace('_', "-")));
        path
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Path {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A validation problem, not yet located in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: Path,
    /// The offending value as text, when there is one.
    pub value: Option<String>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {}: {}", self.path, value, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

fn problem(path: Path, value: impl fmt::Display, message: impl Into<String>) -> Problem {
    Problem { path, value: Some(value.to_string()), message: message.into() }
}

/// Records a problem when `value` is set and outside `lo..=hi`.
pub(crate) fn check_range<T: Bounded>(
    value: &T,
    lo: T::Inner,
    hi: T::Inner,
    unit: &str,
    path: Path,
    out: &mut Vec<Problem>,
) {
    if let Some(value) = value.value() {
        if value < lo || value > hi {
            let unit = if unit.is_empty() { String::new() } else { format!(" {unit}") };
            out.push(problem(path, value, format!("must be {lo}..={hi}{unit}")));
        }
    }
}

/// A located configuration error: `hato.toml:12:17: pim.hello-period = 2: must be 5..=3600 seconds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based line and column (in characters); `None` when the problem concerns a default
    /// that the file does not spell out.
    pub line_col: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{}:{}: {}", self.file, line, col, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Every error of one configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, error) in self.0.iter().enumerate() {
            if position > 0 {
                writeln!(f)?;
            }
            error.fmt(f)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Parses and validates a configuration; `file` names it in the errors.
pub fn load(file: &str, text: &str) -> Result<Config, ConfigErrors> {
    let config: Config = toml::from_str(text).map_err(|error| {
        let line_col = error.span().map(|span| line_col(text, span.start));
        let message = error.message().trim_end().replace('\n', " ");
        ConfigErrors(vec![ConfigError { file: file.to_string(), line_col, message }])
    })?;
    let problems = config.validate();
    if problems.is_empty() {
        return Ok(config);
    }
    let document = DeTable::parse(text).ok();
    let errors = problems
        .into_iter()
        .map(|problem| ConfigError {
            file: file.to_string(),
            line_col: document
                .as_ref()
                .and_then(|document| locate(document, &problem.path))
                .map(|offset| line_col(text, offset)),
            message: problem.to_string(),
        })
        .collect();
    Err(ConfigErrors(errors))
}

/// 1-based line and character column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let col = before.get(line_start..).map_or(0, |rest| rest.chars().count()) + 1;
    (line, col)
}

/// The byte offset of the value at `path`, or of the deepest ancestor the file spells out.
fn locate(document: &Spanned<DeTable<'_>>, path: &Path) -> Option<usize> {
    let mut best: Option<usize> = None;
    let mut table: Option<&DeTable<'_>> = Some(document.get_ref());
    let mut value: Option<&Spanned<DeValue<'_>>> = None;
    for segment in &path.0 {
        let next = match segment {
            Segment::Key(key) => table.and_then(|table| {
                table.iter().find(|(name, _)| name.get_ref().as_ref() == key.as_str()).map(|(_, v)| v)
            }),
            Segment::Index(index) => {
                value.and_then(|value| value.get_ref().as_array()).and_then(|array| array.get(*index))
            }
        };
        let Some(next) = next else { break };
        let span = next.span();
        if span.start < span.end {
            best = Some(span.start);
        }
        value = Some(next);
        table = next.get_ref().as_table();
    }
    best
}

fn family_of(net: &IpNet) -> Family {
    match net {
        IpNet::V4(_) => Family::Ipv4,
        IpNet::V6(_) => Family::Ipv6,
    }
}

fn addr_family(addr: &IpAddr) -> Family {
    match addr {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    }
}

/// Whether a prefix lies wholly inside the multicast range of its family.
pub fn is_multicast_range(net: &IpNet) -> bool {
    match net {
        IpNet::V4(net) => net.prefix_len() >= 4 && net.network().is_multicast(),
        IpNet::V6(net) => net.prefix_len() >= 8 && net.network().is_multicast(),
    }
}

fn is_unicast(addr: &IpAddr) -> bool {
    !addr.is_multicast() && !addr.is_unspecified()
}

fn check_groups(path: Path, groups: &IpNet, out: &mut Vec<Problem>) {
    if !is_multicast_range(groups) {
        out.push(problem(path, groups, "not a multicast group range (224.0.0.0/4, ff00::/8)"));
    }
}

fn check_boundaries(path: &Path, boundaries: &[Boundary], named: &[String], out: &mut Vec<Problem>) {
    for (index, boundary) in boundaries.iter().enumerate() {
        match boundary {
            Boundary::Range(range) => check_groups(path.index(index), range, out),
            Boundary::Named(name) if !named.contains(name) => {
                out.push(problem(path.index(index), name, "no [[dvmrp.boundary]] has this name"));
            }
            Boundary::Named(_) => {}
        }
    }
}

impl Config {
    /// Every range violation and cross-check failure, in file order of the sections.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        self.check_global(&mut out);
        self.gmp.check_ranges(&Path::root("gmp"), &mut out);
        self.check_gmp_consistency(&Path::root("gmp"), &self.gmp, &mut out);
        self.check_pim(&mut out);
        self.check_dvmrp(&mut out);
        self.check_interfaces(&mut out);
        self.check_tunnels(&mut out);
        self.check_mroutes(&mut out);
        self.check_static_flows(&mut out);
        out
    }

    fn check_global(&self, out: &mut Vec<Problem>) {
        let rpf = Path::root("rpf");
        check_range(&self.rpf.interval, 0, 3600, "seconds", rpf.key("interval"), out);
        let backoff = rpf.key("backoff");
        check_range(&self.rpf.backoff.initial_ms, 1, 60000, "milliseconds", backoff.key("initial-ms"), out);
        check_range(&self.rpf.backoff.max_ms, 1, 600000, "milliseconds", backoff.key("max-ms"), out);
        if self.rpf.backoff.max_ms < self.rpf.backoff.initial_ms {
            out.push(problem(
                backoff.key("max-ms"),
                self.rpf.backoff.max_ms,
                format!("must not be below initial-ms ({})", self.rpf.backoff.initial_ms),
            ));
        }
        if !self.global.ipv4 && !self.global.ipv6 {
            out.push(problem(
                Path::root("global").key("ipv6"),
                false,
                "ipv4 and ipv6 are both off: nothing to route",
            ));
        }
        if self.global.runtime_dir.is_empty() || !self.global.runtime_dir.starts_with('/') {
            out.push(problem(
                Path::root("global").key("runtime-dir"),
                format!("{:?}", self.global.runtime_dir),
                "must be an absolute path",
            ));
        }
        if let Some(user) = &self.global.user {
            if user.is_empty() || user.contains(['/', ':', '\n']) {
                out.push(problem(
                    Path::root("global").key("user"),
                    format!("{user:?}"),
                    "must be a user name or id",
                ));
            }
        }
    }

    fn check_gmp_consistency(&self, path: &Path, gmp: &crate::GmpSettings, out: &mut Vec<Problem>) {
        // RFC 3376 §8.3: the Query Response Interval must be less than the Query Interval.
        if u64::from(gmp.query_response_interval_ms) >= u64::from(gmp.query_interval) * 1000 {
            out.push(problem(
                path.key("query-response-interval-ms"),
                gmp.query_response_interval_ms,
                format!("must be less than query-interval ({} s)", gmp.query_interval),
            ));
        }
    }

    fn check_pim(&self, out: &mut Vec<Problem>) {
        let pim = &self.pim;
        let path = Path::root("pim");
        pim.check_ranges(&path, out);
        if pim.data_timeout != 0 && !(60..=43200).contains(&pim.data_timeout) {
            out.push(problem(
                path.key("data-timeout"),
                pim.data_timeout,
                "must be 0 (forever) or 60..=43200 seconds",
            ));
        }
        for (index, range) in pim.ssm_ranges.iter().enumerate() {
            check_groups(path.key("ssm-ranges").index(index), range, out);
        }
        for (index, rule) in pim.spt.iter().enumerate() {
            let rule_path = path.key("spt").index(index);
            check_groups(rule_path.key("groups"), &rule.groups, out);
            if rule.switch == SptSwitch::Threshold {
                check_range(&rule.threshold_kbps, 1, 100000000, "kbps", rule_path.key("threshold-kbps"), out);
            }
        }
        for (index, rp) in pim.static_rp.iter().enumerate() {
            let rp_path = path.key("static-rp").index(index);
            if !is_unicast(&rp.address) {
                out.push(problem(rp_path.key("address"), rp.address, "an RP address must be unicast"));
            }
            if rp.groups.is_empty() {
                out.push(Problem {
                    path: rp_path.key("groups"),
                    value: None,
                    message: "must name at least one group range".into(),
                });
            }
            for (group_index, groups) in rp.groups.iter().enumerate() {
                let group_path = rp_path.key("groups").index(group_index);
                check_groups(group_path.clone(), groups, out);
                if family_of(groups) != addr_family(&rp.address) {
                    out.push(problem(group_path.clone(), groups, "not of the RP address's family"));
                }
                // A range wider than an SSM range (224.0.0.0/4) is normal: SSM groups never use
                // the RP. A range inside an SSM range would never be used at all.
                if let Some(ssm) = pim.ssm_ranges.iter().find(|ssm| ssm.contains(groups)) {
                    out.push(problem(
                        group_path,
                        groups,
                        format!("lies inside the SSM range {ssm}, where no RP is used (RFC 4607 §2)"),
                    ));
                }
            }
        }
        let mut bsr_families = BTreeMap::new();
        for (index, bsr) in pim.candidate_bsr.iter().enumerate() {
            let bsr_path = path.key("candidate-bsr").index(index);
            let family = candidate_family(bsr.address, bsr.family, &bsr_path, out);
            if let Some(previous) = bsr_families.insert((family, bsr.scope_zone), index) {
                out.push(problem(
                    bsr_path.clone(),
                    family,
                    match bsr.scope_zone {
                        None => format!(
                            "a second candidate BSR of this family (first: candidate-bsr[{previous}])"
                        ),
                        Some(zone) => format!(
                            "a second candidate BSR of this family for scope zone {zone} \
                             (first: candidate-bsr[{previous}])"
                        ),
                    },
                ));
            }
            self.check_candidate_bsr(bsr, family, &bsr_path, out);
        }
        let mut rp_families = BTreeMap::new();
        for (index, crp) in pim.candidate_rp.iter().enumerate() {
            let crp_path = path.key("candidate-rp").index(index);
            let family = candidate_family(crp.address, crp.family, &crp_path, out);
            if let Some(previous) = rp_families.insert(family, index) {
                out.push(problem(
                    crp_path.clone(),
                    family,
                    format!("a second candidate RP of this family (first: candidate-rp[{previous}])"),
                ));
            }
            self.check_candidate_rp(crp, family, &crp_path, out);
        }
    }

    fn check_candidate_bsr(&self, bsr: &CandidateBsr, family: Family, path: &Path, out: &mut Vec<Problem>) {
        let max = if family == Family::Ipv4 { 32 } else { 128 };
        check_range(&bsr.hash_mask_length, 0, max, "bits", path.key("hash-mask-length"), out);
        check_candidate_source(bsr.address, bsr.interface.as_deref(), path, out);
        if let Some(zone) = &bsr.scope_zone {
            check_groups(path.key("scope-zone"), zone, out);
            if family_of(zone) != family {
                out.push(problem(path.key("scope-zone"), zone, "not of the candidate's family"));
            }
        }
    }

    fn check_candidate_rp(&self, crp: &CandidateRp, family: Family, path: &Path, out: &mut Vec<Problem>) {
        check_candidate_source(crp.address, crp.interface.as_deref(), path, out);
        for (index, groups) in crp.groups.iter().enumerate() {
            let group_path = path.key("groups").index(index);
            check_groups(group_path.clone(), groups, out);
            if family_of(groups) != family {
                out.push(problem(group_path.clone(), groups, "not of the candidate's family"));
            }
            if let Some(ssm) = self.pim.ssm_ranges.iter().find(|ssm| ssm.contains(groups)) {
                out.push(problem(
                    group_path,
                    groups,
                    format!("lies inside the SSM range {ssm}, where no RP is used (RFC 4607 §2)"),
                ));
            }
        }
    }

    fn check_dvmrp(&self, out: &mut Vec<Problem>) {
        let path = Path::root("dvmrp");
        check_range(&self.dvmrp.cache_lifetime, 300, 86400, "seconds", path.key("cache-lifetime"), out);
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, boundary) in self.dvmrp.boundary.iter().enumerate() {
            let boundary_path = path.key("boundary").index(index);
            check_groups(boundary_path.key("groups"), &boundary.groups, out);
            if let Some(first) = names.insert(boundary.name.as_str(), index) {
                out.push(problem(
                    boundary_path.key("name"),
                    &boundary.name,
                    format!("duplicate boundary name (first: dvmrp.boundary[{first}])"),
                ));
            }
        }
    }

    fn boundary_names(&self) -> Vec<String> {
        self.dvmrp.boundary.iter().map(|boundary| boundary.name.clone()).collect()
    }

    fn check_interfaces(&self, out: &mut Vec<Problem>) {
        let named = self.boundary_names();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (index, interface) in self.interface.iter().enumerate() {
            let path = Path::root("interface").index(index);
            self.check_interface(interface, &path, &named, out);
            let key = interface.key();
            if key.is_empty() {
                continue;
            }
            if let Some(first) = seen.insert(key.clone(), index) {
                let field = if interface.name.is_some() { "name" } else { "address" };
                out.push(problem(
                    path.key(field),
                    format!("{key:?}"),
                    format!("duplicate interface (first: interface[{first}])"),
                ));
            }
        }
    }

    fn check_interface(&self, interface: &Interface, path: &Path, named: &[String], out: &mut Vec<Problem>) {
        match (&interface.name, &interface.address) {
            (None, None) => out.push(Problem {
                path: path.clone(),
                value: None,
                message: "needs a name or an address".into(),
            }),
            (Some(_), Some(address)) => {
                out.push(problem(path.key("address"), address, "set name or address, not both"))
            }
            (Some(name), None) if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) => {
                out.push(problem(path.key("name"), format!("{name:?}"), "not a Linux interface name"))
            }
            (None, Some(address)) if !is_unicast(address) => {
                out.push(problem(path.key("address"), address, "must be a unicast address"))
            }
            _ => {}
        }
        check_boundaries(&path.key("boundaries"), &interface.boundaries, named, out);
        interface.gmp.check_ranges(&path.key("gmp"), out);
        self.check_gmp_consistency(&path.key("gmp"), &self.gmp.with_overrides(&interface.gmp), out);
        interface.pim.check_ranges(&path.key("pim"), out);
        check_range(&interface.ttl_threshold, 1, 255, "", path.key("ttl-threshold"), out);
        check_range(&interface.rate_limit_kbps, 0, 100000000, "kbps", path.key("rate-limit-kbps"), out);
        check_range(&interface.dvmrp.metric, 1, 31, "", path.key("dvmrp").key("metric"), out);
        for (index, altnet) in interface.altnet.iter().enumerate() {
            if is_multicast_range(altnet) || altnet.network().is_multicast() {
                out.push(problem(path.key("altnet").index(index), altnet, "must be a unicast subnet"));
            }
        }
    }

    fn check_tunnels(&self, out: &mut Vec<Problem>) {
        let named = self.boundary_names();
        let mut seen: BTreeMap<(IpAddr, IpAddr), usize> = BTreeMap::new();
        for (index, tunnel) in self.tunnel.iter().enumerate() {
            let path = Path::root("tunnel").index(index);
            check_tunnel_end(&path.key("local"), tunnel.local, out);
            check_tunnel_end(&path.key("remote"), tunnel.remote, out);
            check_range(&tunnel.metric, 1, 31, "", path.key("metric"), out);
            check_range(&tunnel.threshold, 1, 255, "", path.key("threshold"), out);
            check_range(&tunnel.rate_limit_kbps, 0, 100000000, "kbps", path.key("rate-limit-kbps"), out);
            check_boundaries(&path.key("boundaries"), &tunnel.boundaries, &named, out);
            if !self.dvmrp.enabled {
                out.push(problem(
                    path.key("remote"),
                    tunnel.remote,
                    "tunnels carry DVMRP: set dvmrp.enabled = true",
                ));
            }
            if let Some(first) = seen.insert((tunnel.local, tunnel.remote), index) {
                out.push(problem(
                    path.key("remote"),
                    tunnel.remote,
                    format!("duplicate tunnel (first: tunnel[{first}])"),
                ));
            }
        }
    }
}

impl Config {
    fn check_mroutes(&self, out: &mut Vec<Problem>) {
        for (index, mroute) in self.mroute.iter().enumerate() {
            let path = Path::root("mroute").index(index);
            if mroute.source.network().is_multicast() {
                out.push(problem(path.key("source"), mroute.source, "must be a unicast source range"));
            }
            match (&mroute.via, &mroute.interface) {
                (None, None) => out.push(Problem {
                    path: path.clone(),
                    value: None,
                    message: "needs `via` (an RPF neighbour) or `interface`".into(),
                }),
                (Some(via), _) if !is_unicast(via) => {
                    out.push(problem(path.key("via"), via, "must be a unicast address"))
                }
                (Some(via), _) if addr_family(via) != family_of(&mroute.source) => {
                    out.push(problem(path.key("via"), via, "not the family of source"))
                }
                _ => {}
            }
            if let Some(name) = &mroute.interface {
                check_interface_name(&path.key("interface"), name, out);
            }
            check_range(&mroute.distance, 1, 255, "", path.key("distance"), out);
        }
    }

    fn check_static_flows(&self, out: &mut Vec<Problem>) {
        let mut seen: BTreeMap<(Option<IpAddr>, IpAddr), usize> = BTreeMap::new();
        for (index, flow) in self.static_flow.iter().enumerate() {
            let path = Path::root("static-flow").index(index);
            if !flow.group.is_multicast() {
                out.push(problem(path.key("group"), flow.group, "not a multicast group"));
            }
            if let Some(source) = flow.source {
                if !is_unicast(&source) {
                    out.push(problem(path.key("source"), source, "must be a unicast address"));
                } else if addr_family(&source) != addr_family(&flow.group) {
                    out.push(problem(path.key("source"), source, "not the family of group"));
                }
            }
            check_interface_name(&path.key("input"), &flow.input, out);
            if flow.outputs.is_empty() {
                out.push(problem(path.key("outputs"), "[]", "needs at least one interface"));
            }
            for (position, output) in flow.outputs.iter().enumerate() {
                check_interface_name(&path.key("outputs").index(position), output, out);
                if output == &flow.input {
                    out.push(problem(
                        path.key("outputs").index(position),
                        format!("{output:?}"),
                        "the input interface cannot also be an output",
                    ));
                }
            }
            if let Some(first) = seen.insert((flow.source, flow.group), index) {
                out.push(problem(
                    path.key("group"),
                    flow.group,
                    format!("duplicate flow (first: static-flow[{first}])"),
                ));
            }
        }
    }
}

fn check_interface_name(path: &Path, name: &str, out: &mut Vec<Problem>) {
    if name.is_empty() || name.len() > 15 || name.contains(['/', ' ']) {
        out.push(problem(path.clone(), format!("{name:?}"), "not a Linux interface name"));
    }
}

fn candidate_family(
    address: Option<IpAddr>,
    family: Option<Family>,
    path: &Path,
    out: &mut Vec<Problem>,
) -> Family {
    match (address, family) {
        (Some(address), Some(family)) if addr_family(&address) != family => {
            out.push(problem(path.key("family"), family, "not the family of address"));
            family
        }
        (Some(address), _) => addr_family(&address),
        (None, family) => family.unwrap_or(Family::Ipv4),
    }
}

fn check_tunnel_end(path: &Path, address: IpAddr, out: &mut Vec<Problem>) {
    if !address.is_ipv4() {
        out.push(problem(path.clone(), address, "DVMRP tunnels are IPv4 only"));
    } else if !is_unicast(&address) {
        out.push(problem(path.clone(), address, "must be a unicast address"));
    }
}

fn check_candidate_source(
    address: Option<IpAddr>,
    interface: Option<&str>,
    path: &Path,
    out: &mut Vec<Problem>,
) {
    if let Some(address) = address {
        if !is_unicast(&address) {
            out.push(problem(path.key("address"), address, "must be a unicast address"));
        }
        if interface.is_some() {
            out.push(problem(
                path.key("interface"),
                interface.unwrap_or_default(),
                "set address or interface, not both",
            ));
        }
    }
}
