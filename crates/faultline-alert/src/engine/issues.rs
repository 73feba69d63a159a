//! Issue rules: `new_group` and `regression` fire at once on their fact;
//! `group_frequency` fires when an issue's window holds enough events or
//! users.
//!
//! New-issue and regression alerts resolve when the issue is resolved
//! ([`Fact::GroupResolved`]) or after the rule's `resolve_after` (default
//! 1h) without an event of the issue: "it stopped happening" is the end of
//! that news. Frequency alerts resolve when the window falls below the
//! rule's count, checked on every tick as the window slides.

use faultline_model::UnixNanos;

use super::duration::nanos;
use super::facts::{Fact, Issue, IssueEvent};
use super::glob::Globs;
use super::lifecycle::{Content, Outbox};
use super::rules::{IssueFilter, Rule, RuleKind};
use super::state::EngineState;
use super::subject::{issue_key, Subject};
use super::text;
use super::windows::{RuleWindows, MAX_USERS};

fn pattern_matches(globs: &Globs, pattern: Option<&String>, value: Option<&str>) -> bool {
    match pattern {
        None => true,
        Some(pattern) => value.is_some_and(|v| globs.matches(pattern, v)),
    }
}

pub(crate) fn filter_matches(globs: &Globs, filter: Option<&IssueFilter>, issue: &Issue) -> bool {
    let Some(f) = filter else {
        return true;
    };
    pattern_matches(globs, f.service.as_ref(), Some(&issue.service))
        && pattern_matches(globs, f.environment.as_ref(), issue.environment.as_deref())
        && pattern_matches(globs, f.exception_type.as_ref(), issue.exception_type.as_deref())
        // Spans say `error`, logs `ERROR`: levels compare case-insensitively.
        && f.level.as_ref().is_none_or(|p| globs.matches_lowercase(p, &issue.level))
}

fn context_lines(issue: &Issue) -> String {
    let mut lines = Vec::new();
    if !issue.culprit.is_empty() {
        lines.push(format!("culprit: {}", issue.culprit));
    }
    if let Some(environment) = &issue.environment {
        lines.push(format!("environment: {environment}"));
    }
    lines.push(format!("level: {}", issue.level));
    lines.join("\n")
}

fn news_content(kind: RuleKind, issue: &Issue) -> Content {
    let (title, lead) = match kind {
        RuleKind::Regression => (
            format!("Regression in {}: {}", issue.service, issue.title),
            "A resolved issue is happening again.\n",
        ),
        _ => (format!("New issue in {}: {}", issue.service, issue.title), ""),
    };
    Content { title, summary: format!("{lead}{}", context_lines(issue)), value: None, threshold: None }
}

pub(crate) fn on_fact(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    fact: &Fact,
    now: UnixNanos,
    out: &mut Outbox,
) {
    match fact {
        Fact::NewGroup(event) => {
            raise_news(rules, globs, state, RuleKind::NewGroup, event, now, out);
            on_event(rules, globs, state, event, now, out);
        }
        Fact::Regression(event) => {
            raise_news(rules, globs, state, RuleKind::Regression, event, now, out);
            on_event(rules, globs, state, event, now, out);
        }
        Fact::GroupEvent(event) => on_event(rules, globs, state, event, now, out),
        Fact::GroupResolved { group_id, .. } => {
            let key = issue_key(*group_id);
            for rule in rules.iter().filter(|r| r.kind().is_issue_kind()) {
                state.alerts.annotate(rule.id(), &key, "The issue was resolved.");
                state.alerts.clear(rule.id(), &key, None, now, out);
                if let Some(windows) = state.windows.get_mut(rule.id()) {
                    windows.groups.remove(group_id);
                }
            }
        }
    }
}

fn raise_news(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    kind: RuleKind,
    event: &IssueEvent,
    now: UnixNanos,
    out: &mut Outbox,
) {
    let subject = Subject::issue(&event.issue);
    for rule in rules.iter().filter(|r| r.kind() == kind && filter_matches(globs, r.filter(), &event.issue)) {
        // The start is the event's time, so a fact replayed after a crash
        // gives the same notification id and receivers drop the duplicate.
        let content = news_content(kind, &event.issue);
        state.alerts.raise(rule, &subject, rule.single_severity(), content, event.at, now, out);
    }
}

/// Counts an event: keeps new-issue and regression alerts of the issue
/// alive, and feeds frequency windows.
fn on_event(
    rules: &[Rule],
    globs: &Globs,
    state: &mut EngineState,
    event: &IssueEvent,
    now: UnixNanos,
    out: &mut Outbox,
) {
    let at = event.at.min(now);
    let key = issue_key(event.issue.group_id);
    for rule in rules {
        match rule {
            Rule::NewGroup(_) | Rule::Regression(_) => {
                if let Some(tracked) = state.alerts.get_mut(rule.id(), &key) {
                    tracked.last_seen = tracked.last_seen.max(at);
                }
            }
            Rule::GroupFrequency(frequency_rule) if filter_matches(globs, rule.filter(), &event.issue) => {
                let window = nanos(rule.window());
                let windows =
                    state.windows.entry(rule.id().to_string()).or_insert_with(|| RuleWindows::new(window));
                // Twice the threshold so the summary can say how far over it
                // is; see `windows` for why the most recent users suffice.
                let user_cap = frequency_rule
                    .distinct_users
                    .map_or(0, |n| usize::try_from(n.saturating_mul(2)).unwrap_or(MAX_USERS).min(MAX_USERS));
                windows.record(&event.issue, at, event.user.as_deref(), user_cap, now);
                // Only a rise is checked here; falling below is the tick's job
                // as the window slides.
                if let Some((content, true)) = frequency(rule, windows, event.issue.group_id, now) {
                    let subject = Subject::issue(&event.issue);
                    state.alerts.raise(rule, &subject, rule.single_severity(), content, now, now, out);
                }
            }
            _ => {}
        }
    }
}

/// The frequency alert content for one issue, and whether it is over the
/// rule's count; `None` when the rule has no window for the issue.
fn frequency(rule: &Rule, windows: &RuleWindows, group_id: u64, now: UnixNanos) -> Option<(Content, bool)> {
    let group = windows.groups.get(&group_id)?;
    let window = windows.window;
    let Rule::GroupFrequency(kind) = rule else {
        return None;
    };
    let (measured, limit, what) = match (kind.count, kind.distinct_users) {
        (Some(limit), _) => (group.count(now, window), limit, "events"),
        (None, Some(limit)) => (group.distinct_users(now, window), limit, "users affected"),
        (None, None) => return None,
    };
    let issue = &group.issue;
    let content = Content {
        title: format!("Frequent issue in {}: {}", issue.service, issue.title),
        summary: format!(
            "{measured} {what} in the last {} (alerting at {limit})\n{}",
            text::duration(rule.window()),
            context_lines(issue)
        ),
        value: Some(measured as f64),
        threshold: Some(limit as f64),
    };
    Some((content, measured >= limit))
}

/// Slides frequency windows and resolves what went quiet.
pub(crate) fn on_tick(rules: &[Rule], state: &mut EngineState, now: UnixNanos, out: &mut Outbox) {
    for rule in rules {
        match rule.kind() {
            RuleKind::NewGroup | RuleKind::Regression => {
                let quiet = nanos(rule.resolve_after());
                let gone_quiet: Vec<String> = state
                    .alerts
                    .by_rule
                    .get(rule.id())
                    .into_iter()
                    .flat_map(|alerts| alerts.iter())
                    .filter(|(_, t)| now.saturating_sub(t.last_seen) >= quiet)
                    .map(|(key, _)| key.clone())
                    .collect();
                let note = format!("No events for {}.", text::duration(rule.resolve_after()));
                for key in gone_quiet {
                    state.alerts.annotate(rule.id(), &key, &note);
                    state.alerts.clear(rule.id(), &key, None, now, out);
                }
            }
            RuleKind::GroupFrequency => slide(rule, state, now, out),
            _ => {}
        }
    }
}

fn slide(rule: &Rule, state: &mut EngineState, now: UnixNanos, out: &mut Outbox) {
    let empty = RuleWindows::new(nanos(rule.window()));
    if let Some(windows) = state.windows.get_mut(rule.id()) {
        windows.expire(now);
    }
    let windows = state.windows.get(rule.id()).unwrap_or(&empty);
    for (group_id, group) in &windows.groups {
        let Some((content, over)) = frequency(rule, windows, *group_id, now) else {
            continue;
        };
        let key = issue_key(*group_id);
        if over {
            state.alerts.raise(
                rule,
                &Subject::issue(&group.issue),
                rule.single_severity(),
                content,
                now,
                now,
                out,
            );
        } else {
            state.alerts.clear(rule.id(), &key, Some(content), now, out);
        }
    }
    // Alerts whose issue has no window left: nothing happened for a whole window.
    let orphaned: Vec<String> = state
        .alerts
        .by_rule
        .get(rule.id())
        .into_iter()
        .flat_map(|alerts| alerts.values())
        .filter(|t| t.alert.group_id.is_none_or(|id| !windows.groups.contains_key(&id)))
        .map(|t| t.alert.key.clone())
        .collect();
    for key in orphaned {
        let note = format!("No events in the last {}.", text::duration(rule.window()));
        state.alerts.annotate(rule.id(), &key, &note);
        state.alerts.clear(rule.id(), &key, None, now, out);
    }
}
