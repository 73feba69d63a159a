//! CPU time of a process from `/proc/<pid>/stat` (Linux): the generator's
//! own, to show it is not the bottleneck, and optionally the server's, a
//! fairer figure than wall time on a busy machine.

use std::time::Duration;

/// Clock ticks per second of `utime`/`stime`: `USER_HZ`, 100 on every
/// mainstream Linux architecture (reading `sysconf` would need `unsafe`).
const USER_HZ: u64 = 100;

/// User + system CPU time of `pid` (this process when `None`); `None` where
/// `/proc` is not there.
pub fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_string(),
    };
    parse_stat(&std::fs::read_to_string(path).ok()?)
}

/// User + system CPU time of the calling thread, for timing work done on
/// one thread while others of the process run (or idle).
pub fn thread_cpu_time() -> Option<Duration> {
    parse_stat(&std::fs::read_to_string("/proc/thread-self/stat").ok()?)
}

/// Fields 14 and 15 (utime, stime) of a stat line. The command name (field
/// 2) may hold spaces and parentheses, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_after_the_command_name() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_stat(line), Some(Duration::from_secs(3)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_and_thread_have_a_cpu_time() {
        assert!(cpu_time(None).is_some());
        assert!(thread_cpu_time().is_some());
    }
}
