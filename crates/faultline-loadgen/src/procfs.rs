//! Memory of a process from `/proc/<pid>/status` (Linux): the server's peak
//! and current resident set, which `VmHWM` and `VmRSS` report without any
//! cooperation from the server.

use serde::Serialize;

/// Resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Memory {
    /// `VmHWM`: the peak resident set since the process started.
    pub peak_rss: u64,
    /// `VmRSS`: the resident set now.
    pub rss: u64,
}

/// `pid`'s resident memory; `None` where `/proc` is not there or the
/// process is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// `VmHWM` and `VmRSS` lines (`VmHWM:\t  123456 kB`) of a status file.
fn parse_status(status: &str) -> Option<Memory> {
    let kib = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let value = line[name.len()..].trim_start_matches(':').split_whitespace().next()?;
        value.parse::<u64>().ok().map(|k| k * 1024)
    };
    Some(Memory { peak_rss: kib("VmHWM")?, rss: kib("VmRSS")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_peak_and_current_rss_in_bytes() {
        let status = "Name:\tfaultline\nVmPeak:\t 900 kB\nVmHWM:\t  2048 kB\nVmRSS:\t    1024 kB\n";
        assert_eq!(parse_status(status), Some(Memory { peak_rss: 2048 * 1024, rss: 1024 * 1024 }));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let m = memory(std::process::id()).expect("own status");
        assert!(m.peak_rss >= m.rss && m.rss > 0);
    }
}
