//! Active checks: their runs (for uptime and incidents) and the checks
//! created through the API.

use faultline_model::{CheckResult, UnixNanos};
use prost::Message;

use crate::backend::{Backend, Op};
use crate::records::{proto, FORMAT_VERSION};
use crate::{keys, Error, Result};

pub(crate) fn encode_result(r: &CheckResult) -> Vec<u8> {
    proto::CheckResultRecord {
        format_version: FORMAT_VERSION,
        ok: r.ok,
        latency_ms: r.latency_ms,
        status_code: r.status_code.map(u32::from),
        error: r.error.clone(),
        tls_days_left: r.tls_days_left,
        tls_not_after_unix_nano: r.tls_not_after,
    }
    .encode_to_vec()
}

pub(crate) fn decode_result(check_id: &str, at: UnixNanos, bytes: &[u8]) -> Result<CheckResult> {
    let r = proto::CheckResultRecord::decode(bytes)?;
    check_version(r.format_version)?;
    Ok(CheckResult {
        check_id: check_id.to_string(),
        at,
        ok: r.ok,
        latency_ms: r.latency_ms,
        status_code: r.status_code.and_then(|s| u16::try_from(s).ok()),
        error: r.error,
        tls_days_left: r.tls_days_left,
        tls_not_after: r.tls_not_after_unix_nano,
    })
}

pub(crate) fn encode_definition(id: &str, json: &str) -> Vec<u8> {
    proto::CheckDefinitionRecord {
        format_version: FORMAT_VERSION,
        id: id.to_string(),
        definition_json: json.to_string(),
    }
    .encode_to_vec()
}

pub(crate) fn decode_definition(bytes: &[u8]) -> Result<(String, String)> {
    let r = proto::CheckDefinitionRecord::decode(bytes)?;
    check_version(r.format_version)?;
    Ok((r.id, r.definition_json))
}

fn check_version(found: u32) -> Result<()> {
    if found == 0 || found > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { found, supported: FORMAT_VERSION });
    }
    Ok(())
}

/// A check's runs in `[from, to)`, oldest first.
pub(crate) fn results(
    backend: &dyn Backend,
    check_id: &str,
    from: UnixNanos,
    to: UnixNanos,
) -> Result<Vec<CheckResult>> {
    let mut out = Vec::new();
    let range = (keys::check_result(check_id, from), keys::check_result(check_id, to));
    for entry in backend.scan(&range.0, &range.1, false) {
        let (key, value) = entry?;
        if let Some((_, at)) = keys::parse_check_result(&key) {
            out.push(decode_result(check_id, at, &value)?);
        }
    }
    Ok(out)
}

/// Deletes of every run older than `cutoff`, check by check: each check's
/// runs are one key range, so this skips from one check to the next
/// instead of reading every run.
pub(crate) fn expire(backend: &dyn Backend, cutoff: UnixNanos, max_ops: usize) -> Result<Vec<Op>> {
    let mut ops = Vec::new();
    let mut next = vec![keys::CHECK_RESULT];
    let end = [keys::CHECK_RESULT + 1];
    while ops.len() < max_ops {
        let Some(first) = backend.scan(&next, &end, false).next() else { break };
        let Some((id, _)) = keys::parse_check_result(&first?.0) else { break };
        let old = (keys::check_result(&id, 0), keys::check_result(&id, cutoff));
        for entry in backend.scan(&old.0, &old.1, false).take(max_ops - ops.len()) {
            ops.push(Op::Delete(entry?.0));
        }
        next = keys::check_results_end(&id);
    }
    Ok(ops)
}
