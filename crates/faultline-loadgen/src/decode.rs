//! The machine's limit for a payload: how many spans per CPU-second prost
//! alone decodes from the very bytes a run sends. A server cannot beat
//! decoding what it receives, so its spans per CPU-second are fairly told
//! as a share of this figure, measured on the same machine at the same time.

use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde::Serialize;

use crate::cpu::thread_cpu_time;
use crate::payload::Template;

/// What decoding the payloads cost.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DecodeRate {
    pub exports: u64,
    pub spans: u64,
    /// CPU time of the decoding thread (wall time where it cannot be read).
    pub cpu_s: f64,
    pub spans_per_cpu_s: f64,
}

/// Decodes `templates` round-robin on this thread for at least `min_time`
/// of CPU. One thread, like one of the server's decode workers; CPU time
/// rather than wall time, so other work on the machine does not count.
pub fn decode_rate(templates: &[Template], min_time: Duration) -> Result<DecodeRate, prost::DecodeError> {
    let spans_per_round: u64 = templates.iter().map(|t| t.spans).sum();
    let cpu_start = thread_cpu_time();
    let wall_start = Instant::now();
    let (mut exports, mut spans) = (0u64, 0u64);
    let mut used = Duration::ZERO;
    while used < min_time || exports == 0 {
        for template in templates {
            let request = ExportTraceServiceRequest::decode(template.bytes())?;
            // Keeps the decode from being optimized away.
            std::hint::black_box(&request);
        }
        exports += templates.len() as u64;
        spans += spans_per_round;
        used = match (cpu_start, thread_cpu_time()) {
            (Some(start), Some(now)) => now.saturating_sub(start),
            _ => wall_start.elapsed(),
        };
    }
    let cpu_s = used.as_secs_f64().max(1e-9);
    Ok(DecodeRate { exports, spans, cpu_s, spans_per_cpu_s: spans as f64 / cpu_s })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::PayloadSpec;
    use crate::rng::Rng;
    use crate::zipf::Zipf;

    #[test]
    fn decodes_every_template_and_counts_its_spans() {
        let spec = PayloadSpec {
            spans_per_export: 64,
            error_ratio: 0.2,
            services: 2,
            routes: 3,
            kinds: 5,
            zipf_exponent: 1.1,
            stack_depth: 4,
            span_attributes: 8,
            resource_attributes: 5,
            run_id: "lgtest".into(),
        };
        let zipf = Zipf::new(spec.kinds, spec.zipf_exponent);
        let mut rng = Rng::new(3);
        let templates: Vec<Template> =
            (0..2).map(|_| Template::build(&spec, &zipf, &mut rng).expect("template")).collect();
        let rate = decode_rate(&templates, Duration::from_millis(30)).expect("decodes");
        assert!(rate.exports >= 2 && rate.exports.is_multiple_of(2));
        assert_eq!(rate.spans, rate.exports * 64);
        assert!(rate.spans_per_cpu_s > 0.0);
    }
}
