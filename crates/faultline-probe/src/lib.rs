//! Active checks: Faultline probes targets itself so that uptime is known
//! even when no traffic flows.
//!
//! - [`Check`] is one configured check (HTTP(S), TCP connect or TLS
//!   certificate expiry), read from the `[[checks]]` tables of the config
//!   file or from the API, always validated ([`Check::validate`]).
//! - [`run`] performs one check and answers a [`CheckResult`]; it never
//!   panics and never returns an error: a failure is a result with
//!   `ok == false` and a human-readable `error`.
//! - [`Scheduler`] runs every check at its interval, concurrently and
//!   bounded, and sends each result to a channel the caller owns.
//! - [`uptime`], [`incidents`] and [`StateTracker`] turn a check's results
//!   into the figures the API shows and the transitions alerting needs.
//!
//! Storing results and serving them is the server's job, not this crate's.

mod address;
mod config;
mod describe;
mod duration;
mod error;
mod http;
mod incident;
mod result;
mod run;
mod scheduler;
mod state;
mod status;
mod tcp;
mod tls;
mod uptime;

pub use address::AddressError;
pub use config::{
    validate_all, Check, CheckKind, HttpProbe, Probe, TcpProbe, TlsProbe, DEFAULT_INTERVAL,
    DEFAULT_MIN_DAYS_LEFT, DEFAULT_TIMEOUT, MIN_INTERVAL,
};
pub use error::ConfigError;
pub use incident::{incidents, Incident};
pub use result::CheckResult;
pub use run::run;
pub use scheduler::{Scheduler, SchedulerOptions, Upsert};
pub use state::{CheckState, StateTracker, Transition};
pub use status::{StatusSpec, StatusSpecError};
pub use uptime::{uptime, uptime_summary, UptimeSummary};
