//! What the database's backends were doing during a run: `pg_stat_activity`
//! sampled every `PERIOD` (through psql, a few ms of CPU each), counted by
//! state and wait event. A backend on CPU has no wait event ("CPU"); one
//! "idle in transaction" waits for its node between statements.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use faultline_pg_testing::Server;

const PERIOD: Duration = Duration::from_millis(250);

/// A running sampler; [`Sampler::finish`] stops it and returns the counts.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Waits>,
}

/// Backend-samples per "state / wait event", over `samples` samples.
#[derive(Debug, Default)]
pub struct Waits {
    pub samples: u64,
    pub by_kind: BTreeMap<String, u64>,
}

impl Sampler {
    pub fn start(server: &Server, database: &str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (server, database, flag) = (server.clone(), database.to_string(), stop.clone());
        let thread = std::thread::spawn(move || {
            let sql = format!(
                "SELECT state || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'CPU'), count(*) \
                 FROM pg_stat_activity WHERE datname = '{database}' AND backend_type = 'client backend' \
                 AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1"
            );
            let mut waits = Waits::default();
            while !flag.load(Ordering::Relaxed) {
                if let Ok(rows) = server.query("postgres", &sql) {
                    waits.samples += 1;
                    for row in rows.lines() {
                        if let Some((kind, n)) = row.rsplit_once('|') {
                            *waits.by_kind.entry(kind.to_string()).or_default() += n.parse().unwrap_or(0);
                        }
                    }
                }
                std::thread::sleep(PERIOD);
            }
            waits
        });
        Sampler { stop, thread }
    }

    pub fn finish(self) -> Waits {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

impl Waits {
    /// Busy backends on average, and the `top` kinds with their share of
    /// the backend-samples, e.g. `3.1 busy: active / CPU 40 %, ...`.
    pub fn summary(&self, top: usize) -> String {
        let total: u64 = self.by_kind.values().sum();
        if self.samples == 0 || total == 0 {
            return "no busy backend sampled".into();
        }
        let mut kinds: Vec<(&String, &u64)> = self.by_kind.iter().collect();
        kinds.sort_by(|a, b| b.1.cmp(a.1));
        let shares: Vec<String> = kinds
            .iter()
            .take(top)
            .map(|(k, n)| format!("{k} {:.0} %", **n as f64 * 100.0 / total as f64))
            .collect();
        format!("{:.1} busy backends on average: {}", total as f64 / self.samples as f64, shares.join(", "))
    }
}
