//! `faultline-loadgen`: a load generator for OTLP trace receivers.
//!
//! Payloads are encoded once per template and stamped with fresh ids and
//! times per export (`payload`), sent by one exporter per client over gRPC
//! or HTTP (`client`), retried like an OTel SDK (`run`), counted
//! (`stats`), and checked against the server's stored count (`verify`).

pub mod args;
pub mod client;
pub mod cpu;
pub mod decode;
pub mod payload;
pub mod procfs;
pub mod rng;
pub mod run;
pub mod stats;
pub mod verify;
pub mod zipf;

pub use args::{Args, Config};
pub use client::Protocol;
pub use run::{run, templates_for};
pub use stats::{Report, Verification};
pub use verify::verify;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Args(#[from] args::ArgsError),
    #[error(transparent)]
    Payload(#[from] payload::PayloadError),
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error(transparent)]
    Verify(#[from] verify::VerifyError),
    #[error("a client task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}
