//! The ingest path shared by both OTLP transports: extract error events,
//! group them, commit them, and only then report success.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use faultline_alert::engine::IssueEvent;
use faultline_grouping::Grouper;
use faultline_model::now_nanos;
use faultline_model::{HealthBucket, HealthKey};
use faultline_otlp::{Extraction, Limits, MetricsHealth};
use faultline_store::HealthBatch;
use faultline_store::{Error as StoreError, Storage};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceResponse,
};

use super::admission::{AdmissionLimits, Admitted, Gate, Overload, QueueState};
use super::rate_limit::{Limited, RateLimiter, RateLimits, TokenRef};
use crate::alerting::{issue_event, Alerting};
use tracing::Instrument;

use crate::metrics::{Metrics, Refusal, Signal};

/// Why an export could not be accepted.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The commit queue is full: the client should back off and retry.
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the server is shutting down; retry later")]
    ShuttingDown,
    /// Storage could not write the export (a full disk, an I/O error):
    /// nothing of it was stored, and a retry may succeed once it can.
    #[error("storage cannot write; retry later: {0}")]
    Unwritable(String),
    #[error("storage failed: {0}")]
    Storage(String),
    /// Over a fair-use rate: retry after the time it says.
    #[error("{0}")]
    RateLimited(Limited),
    /// Admitted, but waited too long for its turn to be extracted.
    #[error("{0}")]
    Overloaded(Overload),
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
    /// Previous cumulative histogram points, to turn them into deltas.
    metrics_health: Mutex<MetricsHealth>,
    alerting: Arc<Alerting>,
    /// When each service last sent request spans. Its duration histograms
    /// are then skipped: the spans already count those requests.
    span_services: Mutex<HashMap<String, i64>>,
    /// Exports admitted and not yet answered, checked before decoding.
    gate: Arc<Gate>,
    /// Error events per second per service and per token (`rate_limit.rs`).
    rate_limiter: RateLimiter,
}

/// One endpoint's requests in one minute of an export, from its spans
/// (`faultline_otlp::span_buckets` with the store's minutes).
pub type SpanBucket = (HealthKey, u64, HealthBucket);

/// How long after its last request span a service's histograms stay ignored.
const SPANS_PREFERRED_FOR_NANOS: i64 = 10 * 60 * 1_000_000_000;

impl Pipeline {
    pub fn new(
        storage: Arc<Storage>,
        metrics: Arc<Metrics>,
        limits: Limits,
        grouper: Grouper,
        alerting: Arc<Alerting>,
        admission: AdmissionLimits,
    ) -> Pipeline {
        let metrics_health = Mutex::new(MetricsHealth::new(now_nanos()));
        Pipeline {
            storage,
            metrics,
            limits,
            grouper,
            metrics_health,
            alerting,
            span_services: Mutex::default(),
            gate: Gate::new(admission),
            rate_limiter: RateLimiter::default(),
        }
    }

    /// Sets the fair-use rates (unlimited unless called).
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Pipeline {
        self.rate_limiter = RateLimiter::new(limits);
        self
    }

    /// Lets an export in, or refuses it (counted) before anything of it is
    /// decoded. `bytes` is its size as far as known before the body is
    /// read. Hold the answer until the export is answered.
    pub fn admit(&self, bytes: u64) -> Result<Admitted, Overload> {
        let queue =
            QueueState { full: self.storage.queue_full(), oldest_wait: self.storage.oldest_queued_wait() };
        self.gate.admit(bytes, queue).inspect_err(|why| {
            self.metrics.refused(match why {
                Overload::QueueFull => Refusal::Busy,
                Overload::QueueWait(_) => Refusal::QueueWait,
                Overload::InflightBytes => Refusal::InflightBytes,
                Overload::ExtractionWait(_) => Refusal::ExtractionWait,
            })
        })
    }

    /// Request bytes of the exports admitted and not yet answered.
    pub fn inflight_bytes(&self) -> u64 {
        self.gate.inflight_bytes()
    }

    /// Runs `extract` (CPU work, off the async threads), groups the events,
    /// commits them with the export's health figures, and answers once all
    /// of it is durable.
    #[tracing::instrument(level = "debug", skip_all, fields(signal = signal.as_str(), events, items))]
    pub async fn ingest<F>(
        self: &Arc<Self>,
        signal: Signal,
        token: Option<TokenRef>,
        extract: F,
    ) -> Result<Accepted, IngestError>
    where
        F: FnOnce(&Limits, i64) -> (Extraction, Vec<SpanBucket>) + Send + 'static,
    {
        let slot =
            self.gate.extraction_slot().await.map_err(|why| self.refuse(IngestError::Overloaded(why)))?;
        let pipeline = self.clone();
        let span = tracing::debug_span!("extract_and_group");
        let prepared = tokio::task::spawn_blocking(move || {
            let _span = span.entered();
            let _slot = slot; // held until the events are encoded and queued
            let (mut extraction, requests) = extract(&pipeline.limits, now_nanos());
            pipeline.fair_use(token.as_ref(), &mut extraction)?;
            let batch: Vec<_> = extraction
                .events
                .into_iter()
                .map(|event| {
                    let grouping = pipeline.grouper.group(&event);
                    (event, grouping)
                })
                .collect();
            pipeline.metrics.count_requests(requests.iter().map(|(key, _, bucket)| (key, bucket)));
            pipeline.note_span_services(&requests);
            // Keys are distinct (endpoint, minute) pairs: moved, not merged.
            let health: HealthBatch =
                requests.into_iter().map(|(key, minute, bucket)| ((key, minute), bucket)).collect();
            let issues: Vec<IssueEvent> = batch.iter().map(|(e, g)| issue_event(e, g)).collect();
            let events = batch.len();
            // Submitted here, off the async threads: the store encodes and
            // compresses the events on the submitting thread, so the one
            // committer thread does not.
            let submitted =
                (!batch.is_empty() || !health.is_empty()).then(|| pipeline.storage.submit(batch, health));
            Ok((submitted, events, issues, extraction.items, extraction.rejected, extraction.error_message))
        })
        .await
        .map_err(|e| self.refuse(IngestError::Storage(format!("extraction task failed: {e}"))))?
        .map_err(|e| self.refuse(e))?;
        let (submitted, events, issues, items, rejected, error_message) = prepared;
        tracing::Span::current().record("events", events).record("items", items);

        if let Some(submitted) = submitted {
            let answer = submitted.map_err(|e| self.refuse(store_error(e)))?;
            let committed = answer
                .instrument(tracing::debug_span!("commit"))
                .await
                .map_err(|_| self.refuse(IngestError::ShuttingDown))?
                .map_err(|e| self.refuse(store_error(e)))?;
            let new_groups = committed.iter().filter(|c| c.new_group).count() as u64;
            let regressions = committed.iter().filter(|c| c.regression).count() as u64;
            self.metrics.committed(committed.len() as u64, new_groups, regressions);
            let facts: Vec<_> = issues.into_iter().zip(committed.iter()).collect();
            self.alerting.on_committed(&facts);
        }
        self.metrics.export_accepted(signal, items, u64::try_from(rejected).unwrap_or(0));
        Ok(Accepted { rejected, error_message })
    }

    /// A metrics export: `http.server.request.duration` histograms become
    /// health figures, committed before the export is acknowledged.
    pub async fn ingest_metrics(
        self: &Arc<Self>,
        req: ExportMetricsServiceRequest,
    ) -> Result<(), IngestError> {
        let points = metric_count(&req);
        let pipeline = self.clone();
        let health = tokio::task::spawn_blocking(move || {
            let buckets = pipeline.metrics_health.lock().unwrap_or_else(|p| p.into_inner()).buckets(&req);
            let recent_spans = pipeline.services_with_recent_spans();
            let mut health = HealthBatch::new();
            for (key, at, bucket) in
                buckets.into_iter().filter(|(k, _, _)| !recent_spans.contains(&k.service))
            {
                health.entry((key, faultline_store::health::minute_of(at))).or_default().merge(&bucket);
            }
            health
        })
        .await
        .map_err(|e| self.refuse(IngestError::Storage(format!("metrics task failed: {e}"))))?;
        if !health.is_empty() {
            let answer = self.storage.submit(Vec::new(), health).map_err(|e| self.refuse(store_error(e)))?;
            answer
                .await
                .map_err(|_| self.refuse(IngestError::ShuttingDown))?
                .map_err(|e| self.refuse(store_error(e)))?;
        }
        self.metrics.export_accepted(Signal::Metrics, points, 0);
        Ok(())
    }

    fn note_span_services(&self, requests: &[SpanBucket]) {
        if requests.is_empty() {
            return;
        }
        let now = now_nanos();
        let mut seen = self.span_services.lock().unwrap_or_else(|p| p.into_inner());
        for (key, _, _) in requests {
            if let Some(at) = seen.get_mut(&key.service) {
                *at = now;
            } else {
                seen.insert(key.service.clone(), now);
            }
        }
    }

    fn services_with_recent_spans(&self) -> HashSet<String> {
        let since = now_nanos() - SPANS_PREFERRED_FOR_NANOS;
        let mut seen = self.span_services.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, at| *at >= since);
        seen.keys().cloned().collect()
    }

    /// Fair use, between extraction and grouping: marks truncated fields
    /// and takes the events from the rate limits (or refuses the export).
    fn fair_use(&self, token: Option<&TokenRef>, extraction: &mut Extraction) -> Result<(), IngestError> {
        faultline_otlp::mark_truncated(&mut extraction.events);
        self.rate_limiter.take(token, &extraction.events).map_err(IngestError::RateLimited)
    }

    fn refuse(&self, e: IngestError) -> IngestError {
        let why = match &e {
            IngestError::Busy | IngestError::ShuttingDown => Refusal::Busy,
            IngestError::Overloaded(_) => Refusal::ExtractionWait,
            IngestError::Unwritable(_) => Refusal::Unwritable,
            IngestError::Storage(_) => Refusal::Internal,
            IngestError::RateLimited(limited) => {
                self.metrics.rate_limited(limited.over.kind(), &limited.events_by_service);
                Refusal::RateLimited
            }
        };
        self.metrics.refused(why);
        match &e {
            IngestError::Storage(msg) => tracing::error!(error = %msg, "export failed"),
            IngestError::Unwritable(msg) => {
                tracing::warn!(error = %msg, "export refused: storage cannot write")
            }
            _ => {}
        }
        e
    }
}

fn store_error(e: StoreError) -> IngestError {
    match e {
        StoreError::QueueFull => IngestError::Busy,
        StoreError::ShuttingDown => IngestError::ShuttingDown,
        // Nothing of the batch was written: the client may safely resend.
        StoreError::CommitFailed(why) => IngestError::Unwritable(why),
        other => IngestError::Storage(other.to_string()),
    }
}

/// Number of metrics in an export, for the received counter.
pub fn metric_count(req: &ExportMetricsServiceRequest) -> u64 {
    let count: usize =
        req.resource_metrics.iter().flat_map(|rm| &rm.scope_metrics).map(|sm| sm.metrics.len()).sum();
    count as u64
}
