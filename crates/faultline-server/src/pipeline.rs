//! The ingest path shared by both OTLP transports: extract error events,
//! group them, commit them, and only then report success.

use std::sync::Arc;

use faultline_grouping::Grouper;
use faultline_otlp::{Extraction, Limits};
use faultline_store::{Error as StoreError, Storage};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};

use crate::metrics::{Metrics, Refusal, Signal};

/// Why an export could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The commit queue is full: the client should back off and retry.
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the server is shutting down; retry later")]
    ShuttingDown,
    #[error("storage failed: {0}")]
    Storage(String),
}

/// What to tell the client about an accepted export.
#[derive(Debug, Default)]
pub struct Accepted {
    pub rejected: i64,
    pub error_message: String,
}

impl Accepted {
    /// The OTLP answer: `partial_success` only when something was rejected.
    pub fn trace_response(self) -> ExportTraceServiceResponse {
        let partial_success = (self.rejected > 0).then_some(ExportTracePartialSuccess {
            rejected_spans: self.rejected,
            error_message: self.error_message,
        });
        ExportTraceServiceResponse { partial_success }
    }

    pub fn logs_response(self) -> ExportLogsServiceResponse {
        let partial_success = (self.rejected > 0).then_some(ExportLogsPartialSuccess {
            rejected_log_records: self.rejected,
            error_message: self.error_message,
        });
        ExportLogsServiceResponse { partial_success }
    }
}

pub struct Pipeline {
    pub storage: Arc<Storage>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
    grouper: Grouper,
}

impl Pipeline {
    pub fn new(storage: Arc<Storage>, metrics: Arc<Metrics>, limits: Limits, grouper: Grouper) -> Pipeline {
        Pipeline { storage, metrics, limits, grouper }
    }

    /// Runs `extract` (CPU work, off the async threads), groups and commits
    /// the events, and answers once they are durable.
    pub async fn ingest<F>(self: &Arc<Self>, signal: Signal, extract: F) -> Result<Accepted, IngestError>
    where
        F: FnOnce(&Limits, i64) -> Extraction + Send + 'static,
    {
        let pipeline = self.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            let extraction = extract(&pipeline.limits, now_nanos());
            let batch: Vec<_> = extraction
                .events
                .into_iter()
                .map(|event| {
                    let grouping = pipeline.grouper.group(&event);
                    (event, grouping)
                })
                .collect();
            (batch, extraction.items, extraction.rejected, extraction.error_message)
        })
        .await
        .map_err(|e| self.refuse(IngestError::Storage(format!("extraction task failed: {e}"))))?;
        let (batch, items, rejected, error_message) = prepared;

        if !batch.is_empty() {
            let answer = self.storage.submit(batch).map_err(|e| self.refuse(store_error(e)))?;
            let committed = answer
                .await
                .map_err(|_| self.refuse(IngestError::ShuttingDown))?
                .map_err(|e| self.refuse(store_error(e)))?;
            let new_groups = committed.iter().filter(|c| c.new_group).count() as u64;
            let regressions = committed.iter().filter(|c| c.regression).count() as u64;
            self.metrics.committed(committed.len() as u64, new_groups, regressions);
        }
        self.metrics.export_accepted(signal, items, u64::try_from(rejected).unwrap_or(0));
        Ok(Accepted { rejected, error_message })
    }

    fn refuse(&self, e: IngestError) -> IngestError {
        let why = match e {
            IngestError::Busy | IngestError::ShuttingDown => Refusal::Busy,
            IngestError::Storage(_) => Refusal::Internal,
        };
        self.metrics.refused(why);
        if let IngestError::Storage(msg) = &e {
            tracing::error!(error = %msg, "export failed");
        }
        e
    }
}

fn store_error(e: StoreError) -> IngestError {
    match e {
        StoreError::QueueFull => IngestError::Busy,
        StoreError::ShuttingDown => IngestError::ShuttingDown,
        other => IngestError::Storage(other.to_string()),
    }
}

pub fn now_nanos() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}
