//! The figures of a run and their rendering: one typed [`Report`] whose `Display` is the text
//! table and whose `Serialize` is the JSON form.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::Workload;

/// One router's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub router: String,
    /// (S,G) entries joined.
    pub entries: usize,
    /// Join/Prune messages carrying them (one round).
    pub join_messages: usize,
    /// Seconds the injectors took to send them.
    pub send_secs: f64,
    /// Entries in the kernel at the end of the install phase.
    pub installed: usize,
    /// Seconds from the first Join sent until a lookup found the last missing entry; `None`
    /// when the install timeout passed first.
    pub install_secs: Option<f64>,
    /// Seconds until a lookup last found an entry missing: the installs ended in between.
    pub install_secs_lower: f64,
    /// Resident memory (bytes) with the neighbours up and no (S,G) state.
    pub baseline_rss: u64,
    /// Resident memory (bytes) with every entry installed.
    pub loaded_rss: u64,
    /// Length of the steady-state window in seconds.
    pub steady_secs: f64,
    /// Join refresh rounds sent during the window.
    pub steady_join_refreshes: u32,
    /// CPU seconds (user + system) spent in the window.
    pub cpu_secs: f64,
    /// Entries still installed at the end of the window.
    pub steady_installed: usize,
    /// Datagrams dropped by the router's raw PIM sockets (receive buffer full).
    pub pim_socket_drops: u64,
}

impl Measurement {
    /// Entries per second of the install phase.
    pub fn install_rate(&self) -> Option<f64> {
        self.install_secs.filter(|s| *s > 0.0).map(|s| self.entries as f64 / s)
    }

    /// Resident bytes per (S,G) over the baseline.
    pub fn bytes_per_entry(&self) -> f64 {
        (self.loaded_rss as f64 - self.baseline_rss as f64) / self.entries.max(1) as f64
    }

    /// CPU share of one core at steady state, in percent.
    pub fn cpu_percent(&self) -> f64 {
        if self.steady_secs > 0.0 {
            100.0 * self.cpu_secs / self.steady_secs
        } else {
            0.0
        }
    }
}

/// The bare kernel install rate on this machine, for comparison.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct KernelFloor {
    pub entries: usize,
    pub secs: f64,
}

impl KernelFloor {
    pub fn rate(&self) -> f64 {
        self.entries as f64 / self.secs.max(f64::MIN_POSITIVE)
    }
}

/// `/proc/loadavg`: how busy the machine was.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

impl LoadAverage {
    /// The current load average (zeros if `/proc/loadavg` cannot be read).
    pub fn now() -> Self {
        let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().unwrap_or(0.0));
        LoadAverage {
            one: fields.next().unwrap_or(0.0),
            five: fields.next().unwrap_or(0.0),
            fifteen: fields.next().unwrap_or(0.0),
        }
    }
}

impl fmt::Display for LoadAverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} {:.2} {:.2}", self.one, self.five, self.fifteen)
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub workload: Workload,
    pub cpus: usize,
    pub load_before: LoadAverage,
    pub load_after: LoadAverage,
    pub kernel_floor: Option<KernelFloor>,
    pub results: Vec<Measurement>,
    /// Routers whose run failed, with the reason.
    pub failures: Vec<(String, String)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.workload;
        writeln!(
            f,
            "{} (S,G): {} groups x {} sources over {} downstream interfaces; {} CPUs, load average {} before, {} after",
            w.entries(),
            w.groups,
            w.sources,
            w.interfaces,
            self.cpus,
            self.load_before,
            self.load_after
        )?;
        if let Some(floor) = &self.kernel_floor {
            writeln!(
                f,
                "kernel floor (bare set_mfc loop): {:.0} entries/s ({:.0} ms for {})",
                floor.rate(),
                floor.secs * 1e3,
                floor.entries
            )?;
        }
        writeln!(
            f,
            "{:<18} {:>10} {:>13} {:>12} {:>9} {:>10} {:>8} {:>12} {:>6}",
            "router",
            "installed",
            "install (s)",
            "entries/s",
            "of floor",
            "bytes/SG",
            "CPU %",
            "steady left",
            "drops"
        )?;
        for m in &self.results {
            let install = m
                .install_secs
                .map_or_else(|| "timeout".to_string(), |s| format!("{:.2}-{:.2}", m.install_secs_lower, s));
            let rate = m.install_rate();
            let of_floor = match (rate, &self.kernel_floor) {
                (Some(r), Some(floor)) => format!("{:.0}%", 100.0 * r / floor.rate()),
                _ => "-".into(),
            };
            writeln!(
                f,
                "{:<18} {:>10} {:>13} {:>12} {:>9} {:>10.0} {:>8.3} {:>12} {:>6}",
                m.router,
                format!("{}/{}", m.installed, m.entries),
                install,
                rate.map_or_else(|| "-".into(), |r| format!("{r:.0}")),
                of_floor,
                m.bytes_per_entry(),
                m.cpu_percent(),
                m.steady_installed,
                m.pim_socket_drops
            )?;
        }
        for (router, reason) in &self.failures {
            writeln!(f, "{router}: FAILED: {reason}")?;
        }
        writeln!(
            f,
            "install: first Join sent until the last entry is in the kernel MFC (range: last lookup that missed one); \
             bytes/SG: RSS over the no-state baseline; CPU %: one core, over the steady window with \
             Hellos every 30 s and Join refreshes every 60 s"
        )
    }
}

/// Sends one request to hatod's control socket and reads the answer.
pub(crate) fn control_request(
    socket: &Path,
    request: &hato_control::Request,
) -> Result<hato_control::Response, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
    stream.write_all(hato_control::encode_line(request).as_bytes()).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(|e| e.to_string())?;
    hato_control::decode_line(&line).map_err(|e| e.to_string())
}
