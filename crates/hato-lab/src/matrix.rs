//! The interop matrix: every interop scenario records which peers took part and whether it passed, so
//! a run ends with one table of results instead of a scroll of test names.
//!
//! A test holds a [`Scenario`] guard for its whole body; when the guard drops it appends one JSON line
//! (`passed` is false while the thread unwinds from a failed assertion) to the file named by
//! `$HATO_INTEROP_MATRIX`. Without that variable nothing is written. `hato-lab matrix FILE` (and
//! [`render`]) prints the file as a table; `.ci/run` calls it at the end of the test run.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The environment variable naming the file that scenario results are appended to.
pub const MATRIX_ENV: &str = "HATO_INTEROP_MATRIX";

/// One line of the matrix file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioResult {
    /// What was shown, e.g. "PIM-SM chain, RP on hatod, IPv4 ASM".
    pub scenario: String,
    /// The routers in their positions, e.g. ["frr", "hatod", "frr"].
    pub peers: Vec<String>,
    pub passed: bool,
    /// Wall time of the scenario in milliseconds.
    pub millis: u64,
}

/// Records a scenario's outcome when dropped; see the module documentation.
#[derive(Debug)]
pub struct Scenario {
    scenario: String,
    peers: Vec<String>,
    started: Instant,
}

impl Scenario {
    /// Starts recording `scenario` with `peers` in their positions.
    pub fn new(scenario: impl Into<String>, peers: &[&str]) -> Self {
        Scenario {
            scenario: scenario.into(),
            peers: peers.iter().map(|p| p.to_string()).collect(),
            started: Instant::now(),
        }
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let Some(path) = std::env::var_os(MATRIX_ENV) else { return };
        let result = ScenarioResult {
            scenario: std::mem::take(&mut self.scenario),
            peers: std::mem::take(&mut self.peers),
            passed: !std::thread::panicking(),
            millis: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        };
        let Ok(mut line) = serde_json::to_string(&result) else { return };
        line.push('\n');
        // One write per line on an O_APPEND file: concurrent test threads do not interleave.
        let written = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(line.as_bytes()));
        if let Err(error) = written {
            eprintln!("interop matrix: cannot append to {}: {error}", Path::new(&path).display());
        }
    }
}

/// Parses a matrix file; lines that do not parse are reported as errors with their line number.
pub fn parse(text: &str) -> Result<Vec<ScenarioResult>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line).map_err(|error| format!("line {}: {error}", index + 1))
        })
        .collect()
}

/// Renders results as a table sorted by scenario then peers, with a closing count line.
pub fn render(results: &[ScenarioResult]) -> String {
    let mut rows: Vec<[String; 4]> = results
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.peers.join(" - "),
                if r.passed { "pass" } else { "FAIL" }.to_string(),
                format!("{:.1} s", r.millis as f64 / 1000.0),
            ]
        })
        .collect();
    rows.sort();
    let header = ["scenario", "peers", "result", "time"].map(str::to_string);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> =
            row.iter().zip(widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    let failed = results.iter().filter(|r| !r.passed).count();
    let _ = writeln!(
        out,
        "interop: {} scenarios, {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(scenario: &str, peers: &[&str], passed: bool) -> ScenarioResult {
        ScenarioResult {
            scenario: scenario.into(),
            peers: peers.iter().map(|p| p.to_string()).collect(),
            passed,
            millis: 1500,
        }
    }

    #[test]
    fn renders_sorted_rows_and_counts_failures() {
        let table =
            render(&[result("b scenario", &["frr", "hatod"], false), result("a scenario", &["hatod"], true)]);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("scenario"), "{table}");
        assert!(lines[1].starts_with("a scenario") && lines[1].contains("pass"), "{table}");
        assert!(lines[2].contains("frr - hatod") && lines[2].contains("FAIL"), "{table}");
        assert_eq!(lines[3], "interop: 2 scenarios, 1 passed, 1 failed");
    }

    #[test]
    fn parse_round_trips_and_names_the_bad_line() {
        let good = serde_json::to_string(&result("s", &["pimd"], true)).unwrap();
        assert_eq!(parse(&format!("{good}\n\n")).unwrap(), vec![result("s", &["pimd"], true)]);
        let error = parse(&format!("{good}\nnot json\n")).unwrap_err();
        assert!(error.starts_with("line 2:"), "{error}");
    }
}
