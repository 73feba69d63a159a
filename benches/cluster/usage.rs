//! Where the CPU went during a run, from `/proc` (Linux): the nodes', the
//! database's (the postmaster and all its backends, exited ones
//! included), this process's (the load generator runs in it) and the
//! whole machine's, so the rest is what other work took.

use std::time::Instant;

/// Clock ticks per second of `/proc` times (`USER_HZ`, 100 on mainstream Linux).
const USER_HZ: f64 = 100.0;

/// CPU seconds used so far, per party.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    at: Instant,
    nodes: f64,
    database: f64,
    bench: f64,
    machine_busy: f64,
}

/// CPU shares over an interval, in cores (CPU seconds per wall second).
#[derive(Debug, Clone, Copy)]
pub struct Cores {
    pub nodes: f64,
    pub database: f64,
    pub bench: f64,
    /// Everything else the machine ran meanwhile (other people's builds).
    pub other: f64,
    pub machine: f64,
}

impl Usage {
    /// Now, for the node processes `nodes` and the database whose
    /// postmaster is `postmaster` (none for the embedded engine).
    pub fn now(nodes: &[u32], postmaster: Option<u32>) -> Usage {
        let stats = all_stats();
        let nodes = nodes.iter().filter_map(|pid| stats.iter().find(|s| s.pid == *pid)).map(Stat::own).sum();
        let database = postmaster.map_or(0.0, |pm| {
            stats.iter().filter(|s| s.pid == pm || s.ppid == pm).map(|s| s.own() + s.reaped_children).sum()
        });
        let bench = stats.iter().find(|s| s.pid == std::process::id()).map_or(0.0, Stat::own);
        Usage { at: Instant::now(), nodes, database, bench, machine_busy: machine_busy() }
    }

    /// The shares from `self` to `later`.
    pub fn until(&self, later: &Usage) -> Cores {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let per_s = |a: f64, b: f64| (b - a).max(0.0) / wall;
        let nodes = per_s(self.nodes, later.nodes);
        let database = per_s(self.database, later.database);
        let bench = per_s(self.bench, later.bench);
        let machine = per_s(self.machine_busy, later.machine_busy);
        Cores { nodes, database, bench, other: (machine - nodes - database - bench).max(0.0), machine }
    }
}

/// The CPU fields of one `/proc/<pid>/stat`, in seconds.
struct Stat {
    pid: u32,
    ppid: u32,
    utime: f64,
    stime: f64,
    /// `cutime + cstime`: children that exited and were waited for
    /// (the postmaster's backends that ended during the run).
    reaped_children: f64,
}

impl Stat {
    fn own(&self) -> f64 {
        self.utime + self.stime
    }

    /// Fields after the command name (which may hold spaces and parentheses).
    fn parse(pid: u32, text: &str) -> Option<Stat> {
        let rest = &text[text.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Option<f64> { f.get(i)?.parse::<f64>().ok().map(|t| t / USER_HZ) };
        Some(Stat {
            pid,
            ppid: f.get(1)?.parse().ok()?,
            utime: ticks(11)?,
            stime: ticks(12)?,
            reaped_children: ticks(13)? + ticks(14)?,
        })
    }
}

fn all_stats() -> Vec<Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Stat::parse(pid, &std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?))
        .collect()
}

/// Busy CPU seconds of the whole machine since boot (`/proc/stat`: all
/// but idle and iowait).
fn machine_busy() -> f64 {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let ticks: Vec<f64> = line.split_whitespace().skip(1).filter_map(|t| t.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest times are inside user).
    let total: f64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    (total - idle) / USER_HZ
}
