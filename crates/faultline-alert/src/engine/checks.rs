//! Check rules: `check_down` after `consecutive` failures in a row,
//! resolved by the next success; `cert_expiry` at `days` (warning) and
//! `critical_days` (critical) left, resolved once the certificate has more
//! than `days` left again (renewed).

use faultline_model::UnixNanos;

use super::facts::CheckStatus;
use super::glob::Globs;
use super::lifecycle::{Content, Outbox};
use super::rules::{Rule, RuleKind};
use super::state::EngineState;
use super::subject::Subject;
use super::text;
use crate::alert::Severity;

pub(crate) fn on_status(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    status: &CheckStatus,
    now: UnixNanos,
    out: &mut Outbox,
) {
    let subject = Subject::check(&status.check_id);
    let id = &status.check_id;
    for rule in rules {
        if !rule.kind().is_check_kind() || !rule.check_pattern().is_none_or(|p| globs.matches(p, id)) {
            continue;
        }
        match rule.kind() {
            RuleKind::CheckDown => {
                let failures = status.consecutive_failures;
                let needed = rule.consecutive();
                let error = status.last_error.as_deref().unwrap_or("no error recorded");
                if failures >= needed {
                    let content = Content {
                        title: format!("Check {id} is down"),
                        summary: format!(
                            "{failures} failed runs in a row (alerting at {needed}).\nLast error: {error}"
                        ),
                        value: Some(f64::from(failures)),
                        threshold: Some(f64::from(needed)),
                    };
                    state.alerts.raise(rule, &subject, rule.single_severity(), content, now, now, out);
                } else if failures == 0 {
                    let content = Content {
                        title: format!("Check {id} is up again"),
                        summary: "The last run succeeded.".into(),
                        value: Some(0.0),
                        threshold: Some(f64::from(needed)),
                    };
                    state.alerts.clear(rule.id(), &subject.key, Some(content), now, out);
                } else if let Some(tracked) = state.alerts.get_mut(rule.id(), &subject.key) {
                    // Still failing, fewer times than needed (the rule was
                    // changed): down until a run succeeds.
                    tracked.last_seen = now;
                }
            }
            RuleKind::CertExpiry => {
                let Some(days) = status.tls_days_left.filter(|d| d.is_finite()) else {
                    continue;
                };
                let (warning, critical) = (rule.cert_days(), rule.cert_critical_days());
                let level = if days <= critical {
                    Some((Severity::Critical, critical))
                } else if days <= warning {
                    Some((Severity::Warning, warning))
                } else {
                    None
                };
                let summary = format!(
                    "The TLS certificate checked by {id} {}.\nWarning at {warning} days left, critical at {critical}.",
                    text::days_left(days)
                );
                match level {
                    Some((severity, threshold)) => {
                        let content = Content {
                            title: format!("TLS certificate of {id} {}", text::days_left(days)),
                            summary,
                            value: Some(days),
                            threshold: Some(threshold),
                        };
                        state.alerts.raise(rule, &subject, severity, content, now, now, out);
                    }
                    None => {
                        let content = Content {
                            title: format!("TLS certificate of {id} renewed"),
                            summary,
                            value: Some(days),
                            threshold: Some(warning),
                        };
                        state.alerts.clear(rule.id(), &subject.key, Some(content), now, out);
                    }
                }
            }
            _ => {}
        }
    }
}
