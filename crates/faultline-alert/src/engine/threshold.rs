//! Warning/critical levels with hysteresis, shared by error-rate and
//! latency rules.

use super::rules::Thresholds;
use crate::alert::Severity;

/// What a value means for an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Level {
    /// At or above a level: alert at this severity; the level crossed.
    Breach(Severity, f64),
    /// Below every level but a firing alert is not below `resolve` yet:
    /// keep firing at the lowest severity; the resolve level.
    Hold(Severity, f64),
    /// Resolve a firing alert, drop a pending one.
    Clear,
}

/// Where `value` stands. `firing` says whether the alert already fires:
/// only a firing alert is held between the resolve level and the lowest
/// alerting level, so a pending one that dips is dropped as Prometheus
/// does.
pub(crate) fn decide(value: f64, t: &Thresholds, firing: bool) -> Level {
    if let Some(critical) = t.critical.filter(|c| value >= *c) {
        return Level::Breach(Severity::Critical, critical);
    }
    if let Some(warning) = t.warning.filter(|w| value >= *w) {
        return Level::Breach(Severity::Warning, warning);
    }
    let lowest = if t.warning.is_some() { Severity::Warning } else { Severity::Critical };
    match t.resolve_level() {
        Some(resolve) if firing && value >= resolve => Level::Hold(lowest, resolve),
        _ => Level::Clear,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis() {
        let t = Thresholds { warning: Some(0.02), critical: Some(0.05), resolve: Some(0.01) };
        assert_eq!(decide(0.06, &t, false), Level::Breach(Severity::Critical, 0.05));
        assert_eq!(decide(0.03, &t, false), Level::Breach(Severity::Warning, 0.02));
        assert_eq!(decide(0.015, &t, false), Level::Clear);
        assert_eq!(decide(0.015, &t, true), Level::Hold(Severity::Warning, 0.01));
        assert_eq!(decide(0.005, &t, true), Level::Clear);
        let critical_only = Thresholds { warning: None, critical: Some(0.05), resolve: None };
        assert_eq!(decide(0.04, &critical_only, true), Level::Clear);
    }
}
