//! Ingestion: the OTLP/gRPC and OTLP/HTTP receivers, the Sentry endpoints,
//! and the one pipeline all hand decoded exports to (extract, group,
//! commit, then answer).

pub mod admission;
pub mod grpc_gate;
pub mod otlp_grpc;
pub mod otlp_http;
mod pipeline;
pub mod rate_limit;
pub mod sentry_dedup;
pub mod sentry_http;
pub mod sentry_projects;

pub use pipeline::{Accepted, IngestError, Pipeline};
