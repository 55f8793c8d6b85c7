//! `hatoctl dump`: the whole protocol state of each family in the layout of pim6sd's state dump
//! (`pim6stat`, `/var/run/pim6sd.dump`, seed 000): the Multicast Interface Table, the PIM
//! neighbours, the MLD queriers, the reported groups, the multicast routing table with its oif
//! bitmaps and timers (RFC 7761 §4.1 state), the RP-Set (RFC 5059) and the candidacies.
//!
//! IPv6 renders exactly in pim6sd's words; IPv4 uses the same layout with its headings marked
//! "(IPv4)" and IGMP / VIF in place of MLD / MIF. pim6sd's timer IDs (its callout queue) have no
//! counterpart in hato: the group and source columns show the seconds left instead.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// `hatoctl dump`
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpView {
    pub families: Vec<DumpFamilyView>,
}

/// The state of one address family.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpFamilyView {
    /// "ipv4" or "ipv6".
    pub family: String,
    pub interfaces: Vec<DumpInterfaceView>,
    pub neighbors: Vec<DumpNeighborView>,
    pub queriers: Vec<DumpQuerierView>,
    pub groups: Vec<DumpGroupView>,
    /// How many interface numbers the bitmaps and per-interface timers cover (highest + 1).
    pub mif_count: u16,
    /// (*,G) and (S,G) entries, each group's (*,G) first.
    pub routes: Vec<DumpRouteView>,
    /// The elected BSR.
    pub bsr: Option<DumpBsrView>,
    pub rp_set: Vec<DumpRpView>,
    /// This router's candidate BSR address and priority.
    pub candidate_bsr: Option<DumpBsrView>,
    /// The C-RP-Advertisements this router holds as BSR.
    pub candidate_rps: Vec<DumpCandidateRpView>,
}

/// One multicast interface (a VIF / MIF).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpInterfaceView {
    pub mif: u16,
    /// The interface name; pim6sd's "regist" for the register VIF.
    pub interface: String,
    pub addresses: Vec<DumpAddressView>,
    /// pim6sd's flag words, in its order: REGISTER DISABLED NOLISTENER DOWN DR PIM QRY NO-NBR.
    pub flags: Vec<String>,
    pub pim_hello_secs: u64,
    pub query_secs: u64,
    /// The IGMP / MLD versions whose hosts are served.
    pub versions: Vec<u8>,
}

/// One address of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpAddressView {
    /// `address/prefix-length`.
    pub address: String,
    /// The IPv6 scope zone (the interface index for link-local addresses), 0 otherwise.
    pub scope: u32,
}

/// One PIM neighbour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpNeighborView {
    pub mif: u16,
    pub interface: String,
    pub address: IpAddr,
    /// The Hello's address list.
    pub secondary: Vec<IpAddr>,
    /// Seconds until the neighbour expires.
    pub timer_secs: u64,
}

/// The querier of one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpQuerierView {
    pub mif: u16,
    pub interface: String,
    pub address: IpAddr,
    /// Seconds left: until this router's next general query, or until the other querier is
    /// considered gone.
    pub timer_secs: u64,
    /// How long ago the querier was last heard, where known.
    pub last_secs: Option<u64>,
}

/// One reported group on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpGroupView {
    pub mif: u16,
    pub interface: String,
    pub group: IpAddr,
    pub timer_secs: Option<u64>,
    /// The compatibility mode as a protocol version (MLD 1-2, IGMP 1-3).
    pub version: u8,
    /// "include" or "exclude".
    pub mode: String,
    /// The older-version host present timer.
    pub compat_secs: Option<u64>,
    pub sources: Vec<DumpSourceView>,
}

/// One source record of a reported group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpSourceView {
    pub source: IpAddr,
    pub timer_secs: Option<u64>,
}

/// One routing entry with its interface bitmaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpRouteView {
    /// `None` for (*,G).
    pub source: Option<IpAddr>,
    pub group: IpAddr,
    pub rp: Option<IpAddr>,
    /// pim6sd's flag words: SPT WC RP REG IIF_REG NULL_OIF CACHE ASSERTED REG_SUPP SG PMBR.
    pub flags: Vec<String>,
    /// Interfaces with a downstream Join state.
    pub joined: Vec<u16>,
    /// Interfaces with a downstream Prune or PrunePending state.
    pub pruned: Vec<u16>,
    /// Interfaces with local members.
    pub leaves: Vec<u16>,
    /// Interfaces where this router lost an Assert.
    pub asserted: Vec<u16>,
    pub outgoing: Vec<u16>,
    pub incoming: Option<u16>,
    pub upstream: Option<IpAddr>,
    /// Keepalive (S,G) or expiry, seconds.
    pub entry_secs: u64,
    /// Join Timer.
    pub join_prune_secs: u64,
    /// Register-Stop Timer.
    pub register_stop_secs: u64,
    pub assert_secs: u64,
    /// Per interface number: seconds left on its downstream Expiry Timer.
    pub mif_timers: Vec<u64>,
}

/// A BSR (elected or candidate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpBsrView {
    pub address: IpAddr,
    pub priority: u8,
    /// Seconds left on the Bootstrap Timer.
    pub timeout_secs: u64,
}

/// One RP and one of its group ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpRpView {
    pub rp: IpAddr,
    /// The RPF neighbour towards the RP; `None` when the RP is this router.
    pub upstream: Option<IpAddr>,
    pub group_prefix: String,
    pub priority: u8,
    pub holdtime: u16,
    /// Seconds left.
    pub age_secs: u64,
}

/// One candidate RP known to the BSR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpCandidateRpView {
    pub rp: IpAddr,
    pub priority: u8,
    pub holdtime: u16,
    pub expires_secs: u64,
    pub groups: Vec<String>,
}

/// The words that differ between the families.
struct Labels {
    suffix: &'static str,
    gmp: &'static str,
    mif: &'static str,
}

impl DumpFamilyView {
    fn labels(&self) -> Labels {
        if self.family == "ipv4" {
            Labels { suffix: " (IPv4)", gmp: "IGMP", mif: "Vif" }
        } else {
            Labels { suffix: "", gmp: "MLD", mif: "Mif" }
        }
    }
}

/// A dashed banner `width` wide with `title` in the middle, as pim6sd draws its section rules.
fn banner(title: &str, width: usize) -> String {
    let dashes = width.saturating_sub(title.len());
    let left = dashes / 2;
    format!("{}{title}{}", "-".repeat(left), "-".repeat(dashes - left))
}

/// `m:ss`
fn minutes(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// pim6sd's `sec2str`: `1d2h3m4s`, leading zero units left out.
fn sec2str(secs: u64) -> String {
    let (days, hours, mins, rest) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    if days > 0 {
        text.push_str(&format!("{days}d"));
    }
    if days > 0 || hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if days > 0 || hours > 0 || mins > 0 {
        text.push_str(&format!("{mins}m"));
    }
    text.push_str(&format!("{rest}s"));
    text
}

fn timer(secs: Option<u64>) -> String {
    secs.map_or_else(|| "-".to_string(), |s| s.to_string())
}

/// One letter per interface number: `letter` where listed, `.` elsewhere.
fn bitmap(count: u16, set: &[u16], letter: char) -> String {
    (0..count).map(|mif| if set.contains(&mif) { letter } else { '.' }).collect()
}

impl fmt::Display for DumpView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for family in &self.families {
            family.fmt(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for DumpFamilyView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.interface_table(f)?;
        self.neighbor_list(f)?;
        self.querier_list(f)?;
        self.group_list(f)?;
        self.routing_table(f)?;
        self.rp_set(f)?;
        self.candidates(f)
    }
}

impl DumpFamilyView {
    fn interface_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "Multicast Interface Table{}", l.suffix)?;
        writeln!(
            f,
            " {:<4} {:<6} {:<43} {:>5} {:<14}",
            l.mif, " PhyIF", "Local-Address/Prefixlen", "Scope", "Flags"
        )?;
        for i in &self.interfaces {
            let flags: String = i.flags.iter().map(|flag| format!(" {flag}")).collect();
            let mut addresses = i.addresses.iter();
            match addresses.next() {
                Some(first) => writeln!(
                    f,
                    "  {:<3} {:>6} {:<43} {:<5}{flags}",
                    i.mif, i.interface, first.address, first.scope
                )?,
                None => writeln!(f, "  {:<3} {:>6} {:<43} {:<5}{flags}", i.mif, i.interface, "", "")?,
            }
            for address in addresses {
                writeln!(f, "  {:3} {:6} {:<43} {:<5}", "", "", address.address, address.scope)?;
            }
            writeln!(
                f,
                "  {:3} {:6} Timers: PIM hello = {}, {} query = {}",
                "",
                "",
                minutes(i.pim_hello_secs),
                l.gmp,
                minutes(i.query_secs)
            )?;
            let versions: String = i.versions.iter().map(|v| format!("{v} ")).collect();
            writeln!(f, "  {:3} {:6} possible {} version = {versions}", "", "", l.gmp)?;
        }
        writeln!(f)
    }

    fn neighbor_list(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "PIM Neighbor List{}", l.suffix)?;
        writeln!(f, " {:<3} {:>6} {:<40} {:<5}", l.mif, "PhyIF", "Address", "Timer")?;
        let mut previous = None;
        for n in &self.neighbors {
            // pim6sd names the interface on its first neighbour only.
            if previous == Some(n.mif) {
                write!(f, " {:3} {:6}", "", "")?;
            } else {
                write!(f, " {:<3} {:>6}", n.mif, n.interface)?;
            }
            previous = Some(n.mif);
            writeln!(f, " {:<40} {:<5}", n.address.to_string(), n.timer_secs)?;
            for secondary in &n.secondary {
                writeln!(f, "{:16}{secondary}", "")?;
            }
        }
        writeln!(f)
    }

    fn querier_list(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "{} Querier List", l.gmp)?;
        writeln!(f, " {:<3} {:>6} {:<40} {:<5} {:>15}", l.mif, "PhyIF", "Address", "Timer", "Last")?;
        for q in &self.queriers {
            let last = q.last_secs.map_or_else(|| "-".to_string(), sec2str);
            writeln!(
                f,
                " {:<3} {:>6} {:<40} {:>5} {last:>15}",
                q.mif,
                q.interface,
                q.address.to_string(),
                q.timer_secs
            )?;
        }
        writeln!(f)
    }

    fn group_list(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "Reported {} Group", l.gmp)?;
        writeln!(
            f,
            " {:<3} {:>6} Group(Group-Timer,{}-ver(Filter-Mode,Compat-Timer))/Source(Timer)",
            l.mif, "PhyIF", l.gmp
        )?;
        for g in &self.groups {
            let mode = if g.mode == "exclude" { "EX" } else { "IN" };
            writeln!(
                f,
                " {:<3} {:>6} {} ({} (v{} {mode} {}))",
                g.mif,
                g.interface,
                g.group,
                timer(g.timer_secs),
                g.version,
                timer(g.compat_secs)
            )?;
            for s in &g.sources {
                writeln!(f, "{:14}{} ({})", "", s.source, timer(s.timer_secs))?;
            }
        }
        writeln!(f)
    }

    fn routing_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        let count = self.mif_count;
        writeln!(f, "Multicast Routing Table{}", l.suffix)?;
        writeln!(f, " {:<15} {:<15} {:<15} Flags", "Source", "Group", "RP-addr")?;
        for r in &self.routes {
            let (kind, source) = match r.source {
                Some(source) => ("(S,G)", source.to_string()),
                None => {
                    ("(*,G)", if self.family == "ipv4" { "INADDR_ANY" } else { "IN6ADDR_ANY" }.to_string())
                }
            };
            writeln!(f, "{}", banner(kind, 60))?;
            let rp = r.rp.map_or_else(|| "NULL".to_string(), |rp| rp.to_string());
            let flags: String = r.flags.iter().map(|flag| format!(" {flag}")).collect();
            writeln!(f, " {source:<15} {:<15} {rp:<15}{flags}", r.group.to_string())?;
            writeln!(f, "Joined   oifs: {:<20}", bitmap(count, &r.joined, 'j'))?;
            writeln!(f, "Pruned   oifs: {:<20}", bitmap(count, &r.pruned, 'p'))?;
            writeln!(f, "Leaves   oifs: {:<20}", bitmap(count, &r.leaves, 'l'))?;
            writeln!(f, "Asserted oifs: {:<20}", bitmap(count, &r.asserted, 'a'))?;
            writeln!(f, "Outgoing oifs: {:<20}", bitmap(count, &r.outgoing, 'o'))?;
            let incoming: Vec<u16> = r.incoming.into_iter().collect();
            writeln!(f, "Incoming     : {:<20}", bitmap(count, &incoming, 'I'))?;
            let upstream = r.upstream.map_or_else(|| "NONE".to_string(), |u| u.to_string());
            writeln!(f, "Upstream nbr: {upstream}")?;
            writeln!(f)?;
            writeln!(
                f,
                "TIMERS: Entry={} JP={} RS={} Assert={}",
                r.entry_secs, r.join_prune_secs, r.register_stop_secs, r.assert_secs
            )?;
            writeln!(f, "  {}   0   1   2   3   4   5   6   7   8   9", l.mif.to_uppercase())?;
            for (row, timers) in r.mif_timers.chunks(10).enumerate() {
                write!(f, " {row:>4}")?;
                for value in timers {
                    write!(f, " {value:>3}")?;
                }
                writeln!(f)?;
            }
        }
        // RFC 7761 dropped (*,*,RP) state: the section is always empty.
        writeln!(f, "{}", banner("(*,*,RP)", 60))?;
        let groups: BTreeSet<IpAddr> = self.routes.iter().map(|r| r.group).collect();
        let mirrors = self.routes.iter().filter(|r| r.flags.iter().any(|flag| flag == "CACHE")).count();
        writeln!(f, "Number of Groups: {}", groups.len())?;
        writeln!(f, "Number of Cache MIRRORs: {mirrors}")?;
        writeln!(f)
    }

    fn rp_set(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "{}", banner(&format!("RP-Set{}", l.suffix), 61))?;
        match &self.bsr {
            Some(bsr) => writeln!(
                f,
                "Current BSR address: {} Prio: {} Timeout: {}",
                bsr.address, bsr.priority, bsr.timeout_secs
            )?,
            None => writeln!(f, "Current BSR address: NONE")?,
        }
        writeln!(f, "{:<45} Prio Hold Age", "RP-address(Upstream)/Group prefix")?;
        let mut previous = None;
        for rp in &self.rp_set {
            if previous != Some(rp.rp) {
                let upstream = rp.upstream.map_or_else(|| "myself".to_string(), |u| u.to_string());
                writeln!(f, "{}({upstream})", rp.rp)?;
            }
            previous = Some(rp.rp);
            writeln!(
                f,
                "     {:<40} {:<4} {:<4} {:<3}",
                rp.group_prefix, rp.priority, rp.holdtime, rp.age_secs
            )?;
        }
        writeln!(f)
    }

    fn candidates(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = self.labels();
        writeln!(f, "{}", banner(&format!("Candidate BSR / RP{}", l.suffix), 61))?;
        match &self.candidate_bsr {
            Some(c) => writeln!(f, "Candidate BSR address: {} Prio: {}", c.address, c.priority)?,
            None => writeln!(f, "Candidate BSR address: NONE")?,
        }
        writeln!(f, "{:<40} Prio Hold Age Group prefixes", "Candidate RP (advertised to this BSR)")?;
        for c in &self.candidate_rps {
            writeln!(
                f,
                "{:<40} {:<4} {:<4} {:<3} {}",
                c.rp.to_string(),
                c.priority,
                c.holdtime,
                c.expires_secs,
                c.groups.join(" ")
            )?;
        }
        writeln!(f)
    }
}
