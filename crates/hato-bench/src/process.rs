//! What `/proc` says about the daemons under test: resident memory (`VmRSS` of
//! `/proc/PID/status`) and CPU time (`utime + stime` of `/proc/PID/stat`, all threads).

use std::fs;
use std::io;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// Resident set size of `pid` in bytes.
pub fn rss_bytes(pid: u32) -> io::Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("no VmRSS for {pid}")))
}

/// The sum of [`rss_bytes`] over `pids`.
pub fn total_rss(pids: &[u32]) -> io::Result<u64> {
    pids.iter().map(|&p| rss_bytes(p)).sum()
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, 100 if that fails).
fn clock_ticks_per_second() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t| *t > 0)
            .unwrap_or(100)
    })
}

/// CPU time (user + system, all threads) spent by `pid` so far.
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which may itself hold spaces and parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `state` is field 3 of stat(5), so utime (14) and stime (15) are at 11 and 12 here.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (Some(utime), Some(stime)) = (tick(11), tick(12)) else {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("malformed /proc/{pid}/stat")));
    };
    let ticks = utime + stime;
    let per_second = clock_ticks_per_second();
    Ok(Duration::from_secs(ticks / per_second)
        + Duration::from_nanos((ticks % per_second) * 1_000_000_000 / per_second))
}

/// The sum of [`cpu_time`] over `pids`.
pub fn total_cpu(pids: &[u32]) -> io::Result<Duration> {
    pids.iter().map(|&p| cpu_time(p)).sum()
}

/// Drops counted on the raw sockets of protocol `protocol` in the calling namespace's
/// `/proc/net/raw` text (last column), summed.
pub fn raw_socket_drops(proc_net_raw: &str, protocol: u8) -> u64 {
    proc_net_raw
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is `ADDR:PORT` where a raw socket's "port" is its protocol, in hex.
            let port = fields.get(1)?.rsplit_once(':')?.1;
            (u8::from_str_radix(port, 16).ok()? == protocol).then(|| fields.last()?.parse::<u64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_has_memory_and_cpu() {
        let me = std::process::id();
        assert!(rss_bytes(me).unwrap() > 0);
        let spin: u64 = (0..2_000_000u64).fold(0, |a, b| a.wrapping_add(b * b));
        assert!(spin > 0);
        assert!(cpu_time(me).is_ok());
    }

    #[test]
    fn raw_drops_are_summed_per_protocol() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
           6: 00000000:0067 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 17\n\
           7: 00000000:0067 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 3\n\
           2: 00000000:0002 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000 5\n";
        assert_eq!(raw_socket_drops(text, 103), 20);
        assert_eq!(raw_socket_drops(text, 2), 5);
        assert_eq!(raw_socket_drops(text, 17), 0);
    }
}
