//! How figures read in alert titles and summaries.

use std::time::Duration;

use super::facts::Endpoint;

/// `0.05` as `5%`, `0.0123` as `1.23%`.
pub(crate) fn percent(fraction: f64) -> String {
    let text = format!("{:.2}", fraction * 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}%")
}

pub(crate) fn millis(ms: f64) -> String {
    format!("{ms:.0} ms")
}

pub(crate) fn duration(d: Duration) -> String {
    super::duration::format(d)
}

/// `checkout /pay (prod)`, `checkout`.
pub(crate) fn endpoint(e: &Endpoint) -> String {
    let mut text = e.service.clone();
    if let Some(route) = &e.route {
        text.push(' ');
        text.push_str(route);
    }
    if let Some(environment) = &e.environment {
        text.push_str(&format!(" ({environment})"));
    }
    text
}

/// `0.5` days as `12 hours`, `3.2` as `3 days`, negative as `expired`.
pub(crate) fn days_left(days: f64) -> String {
    if days < 0.0 {
        let ago = -days;
        return if ago < 1.0 { "expired today".into() } else { format!("expired {ago:.0} days ago") };
    }
    if days < 1.0 {
        return format!("expires in {:.0} hours", days * 24.0);
    }
    format!("expires in {days:.0} days")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.0123), "1.23%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(millis(912.4), "912 ms");
        assert_eq!(days_left(13.6), "expires in 14 days");
        assert_eq!(days_left(-2.0), "expired 2 days ago");
    }
}
