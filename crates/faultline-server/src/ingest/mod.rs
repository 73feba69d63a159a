//! Ingestion: the OTLP/gRPC and OTLP/HTTP receivers, and the one pipeline
//! both hand decoded exports to (extract, group, commit, then answer).

pub mod admission;
pub mod grpc_gate;
pub mod otlp_grpc;
pub mod otlp_http;
mod pipeline;
pub mod rate_limit;

pub use pipeline::{Accepted, IngestError, Pipeline};
