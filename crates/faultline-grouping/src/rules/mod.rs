//! Server-side fingerprint rules, configured under `[grouping]`.
//!
//! The built-in algorithm cannot know that every `ConnectionError` from the
//! database layer is one problem for the team, or that one message means
//! two different problems in two routes. Rules let the operator say so, as
//! Sentry's fingerprint rules do: each rule has matchers (all must match)
//! and a fingerprint to assign; the first matching rule wins.
//!
//! Rules come after the SDK's own `error.fingerprint` attribute (the code
//! knows best) and before the built-in chain. A rule's fingerprint has the
//! method `custom`, is scoped by `service.name` like every fingerprint and
//! is hashed with the same digest, so an SDK attribute and a rule that give
//! the same elements give the same group.
//!
//! Everything that can be wrong in a rule (no matcher, empty fingerprint,
//! unknown placeholder, bad glob) is found by [`GroupingConfig::validate`]
//! when the server starts, never while grouping an event.

mod facts;
mod template;

use std::collections::BTreeMap;
use std::sync::Arc;

use faultline_model::{ErrorEvent, Glob};
use serde::Deserialize;

use crate::limits::{truncate, MAX_CUSTOM_PART_BYTES};
use crate::stacktrace::Trace;
use crate::variant::{Method, Variant};
use facts::Facts;
// One glob syntax for grouping rules and alert filters, defined in the model.
pub use faultline_model::GlobError;
use template::{known_placeholders, Placeholder, Template, TemplateError};

/// The `[grouping]` section of the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupingConfig {
    /// Tried in order; the first rule whose matchers all match applies.
    pub rules: Vec<FingerprintRule>,
}

/// One `[[grouping.rules]]` entry: matchers (glob patterns, all of which
/// must match) and what to set when they do. A matcher left out matches
/// anything; a matcher on something the event lacks does not match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintRule {
    /// `type`: the event's exception type or any type in its exception chain.
    #[serde(rename = "type")]
    pub exception_type: Option<String>,
    /// The raw message (before parameterization), of the event or of any
    /// exception in its chain.
    pub message: Option<String>,
    /// `service.name`.
    pub service: Option<String>,
    /// The function of any frame of the parsed stack trace.
    pub function: Option<String>,
    /// The module of any frame of the parsed stack trace (its file when the
    /// runtime prints no module).
    pub module: Option<String>,
    /// Attribute name → pattern for its value; the event's own attribute
    /// is looked up first, then the resource's.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Elements hashed into the fingerprint; may use placeholders such as
    /// `{{ default }}` (the fingerprint the event would otherwise get).
    pub fingerprint: Vec<String>,
    /// Replaces the issue title when given.
    pub title: Option<String>,
}

/// A configuration mistake, naming the rule by its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error(
        "grouping rule {rule}: the rule has no matcher; give at least one of `type`, `message`, \
         `service`, `function`, `module` or `attributes` (use service = \"*\" to match every event)"
    )]
    NoMatcher { rule: usize },
    #[error(
        "grouping rule {rule}: `fingerprint` is empty; give at least one element, \
         e.g. [\"my-issue\"] or [\"{{{{ default }}}}\", \"my-split\"]"
    )]
    EmptyFingerprint { rule: usize },
    #[error("grouping rule {rule}: fingerprint element {index} is an empty string")]
    EmptyElement { rule: usize, index: usize },
    #[error(
        "grouping rule {rule}: unknown placeholder `{{{{ {name} }}}}` in fingerprint element {element:?}; \
         known placeholders: {}",
        known_placeholders()
    )]
    UnknownPlaceholder { rule: usize, element: String, name: String },
    #[error("grouping rule {rule}: fingerprint element {element:?} opens `{{{{` without a closing `}}}}`")]
    UnclosedPlaceholder { rule: usize, element: String },
    #[error("grouping rule {rule}: bad pattern for `{field}` ({pattern:?}): {reason}")]
    BadGlob { rule: usize, field: String, pattern: String, reason: GlobError },
    #[error("grouping rule {rule}: `title` is empty; leave it out to keep the usual title")]
    EmptyTitle { rule: usize },
}

impl GroupingConfig {
    /// Checks every rule, reporting the first mistake; the server calls it
    /// (through [`crate::Grouper::with_config`]) before accepting traffic.
    pub fn validate(&self) -> Result<(), RuleError> {
        Rules::compile(self).map(drop)
    }
}

/// The compiled rules a [`crate::Grouper`] holds; cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    rules: Arc<Vec<CompiledRule>>,
}

/// What the first matching rule decided.
pub(crate) struct RuleMatch<'r> {
    pub(crate) variant: Variant,
    pub(crate) title: Option<&'r str>,
}

impl Rules {
    /// Validates and compiles every rule once, so grouping never parses.
    pub(crate) fn compile(config: &GroupingConfig) -> Result<Rules, RuleError> {
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| CompiledRule::new(index + 1, rule))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rules { rules: Arc::new(rules) })
    }

    /// The first rule matching the event, applied; `default` is the
    /// variant the event gets without rules (for `{{ default }}`).
    pub(crate) fn apply(
        &self,
        event: &ErrorEvent,
        trace: &Trace,
        default: &Variant,
    ) -> Option<RuleMatch<'_>> {
        let facts = Facts { event, trace };
        let rule = self.rules.iter().find(|rule| rule.matches(facts))?;
        Some(RuleMatch { variant: rule.variant(facts, default), title: rule.title.as_deref() })
    }
}

/// A rule with its patterns and templates parsed.
#[derive(Debug, Clone)]
struct CompiledRule {
    exception_type: Option<Glob>,
    message: Option<Glob>,
    service: Option<Glob>,
    function: Option<Glob>,
    module: Option<Glob>,
    attributes: Vec<(String, Glob)>,
    fingerprint: Vec<Template>,
    title: Option<String>,
}

impl CompiledRule {
    fn new(number: usize, rule: &FingerprintRule) -> Result<CompiledRule, RuleError> {
        let glob = |field: &str, pattern: &Option<String>| compile_glob(number, field, pattern.as_deref());
        let compiled = CompiledRule {
            exception_type: glob("type", &rule.exception_type)?,
            message: glob("message", &rule.message)?,
            service: glob("service", &rule.service)?,
            function: glob("function", &rule.function)?,
            module: glob("module", &rule.module)?,
            attributes: compile_attributes(number, &rule.attributes)?,
            fingerprint: compile_fingerprint(number, &rule.fingerprint)?,
            title: compile_title(number, rule.title.as_deref())?,
        };
        if !compiled.has_matcher() {
            return Err(RuleError::NoMatcher { rule: number });
        }
        Ok(compiled)
    }

    /// A rule without matchers would swallow every event; refused so that
    /// a half-written rule cannot merge all issues by accident.
    fn has_matcher(&self) -> bool {
        [&self.exception_type, &self.message, &self.service, &self.function, &self.module]
            .iter()
            .any(|glob| glob.is_some())
            || !self.attributes.is_empty()
    }

    /// All matchers must match; the cheap ones are tried first.
    fn matches(&self, facts: Facts<'_>) -> bool {
        matches_one(&self.service, facts.event.service.as_str())
            && matches_any(&self.exception_type, facts.types())
            && self.attributes_match(facts)
            && matches_any(&self.message, facts.messages())
            && matches_any(&self.function, facts.frames().filter_map(|f| f.function.as_deref()))
            && matches_any(
                &self.module,
                facts.frames().filter_map(|f| f.module.as_deref().or(f.file.as_deref())),
            )
    }

    fn attributes_match(&self, facts: Facts<'_>) -> bool {
        self.attributes
            .iter()
            .all(|(name, glob)| facts.attribute(name).is_some_and(|value| glob.is_match(&value)))
    }

    /// The rule's fingerprint elements with placeholders filled in; each
    /// element is capped like an SDK-given one.
    fn variant(&self, facts: Facts<'_>, default: &Variant) -> Variant {
        let components = self
            .fingerprint
            .iter()
            .map(|template| template.render(|placeholder| value(placeholder, facts, default)))
            .map(|element| truncate(&element, MAX_CUSTOM_PART_BYTES).to_string())
            .collect();
        Variant { method: Method::Custom, components }
    }
}

/// The text a placeholder stands for in this event; empty when the event
/// has nothing for it.
fn value(placeholder: Placeholder, facts: Facts<'_>, default: &Variant) -> String {
    match placeholder {
        Placeholder::Default => default.fingerprint(&facts.event.service),
        Placeholder::Type => facts.title_type().to_string(),
        Placeholder::Message => facts.parameterized_message(),
        Placeholder::Service => facts.event.service.clone(),
        Placeholder::Route => facts.route().to_string(),
        Placeholder::Function => facts.top_function().to_string(),
        Placeholder::Module => facts.top_module().to_string(),
    }
}

/// `None` (no matcher) matches anything.
fn matches_one(glob: &Option<Glob>, text: &str) -> bool {
    glob.as_ref().is_none_or(|glob| glob.is_match(text))
}

/// `None` matches anything; otherwise some candidate must match.
fn matches_any<'a>(glob: &Option<Glob>, mut candidates: impl Iterator<Item = &'a str>) -> bool {
    glob.as_ref().is_none_or(|glob| candidates.any(|text| glob.is_match(text)))
}

fn compile_glob(rule: usize, field: &str, pattern: Option<&str>) -> Result<Option<Glob>, RuleError> {
    pattern.map(|pattern| compile_pattern(rule, field, pattern)).transpose()
}

fn compile_pattern(rule: usize, field: &str, pattern: &str) -> Result<Glob, RuleError> {
    Glob::new(pattern).map_err(|reason| RuleError::BadGlob {
        rule,
        field: field.to_string(),
        pattern: pattern.to_string(),
        reason,
    })
}

fn compile_attributes(
    rule: usize,
    attributes: &BTreeMap<String, String>,
) -> Result<Vec<(String, Glob)>, RuleError> {
    attributes
        .iter()
        .map(|(name, pattern)| {
            Ok((name.clone(), compile_pattern(rule, &format!("attributes.{name:?}"), pattern)?))
        })
        .collect()
}

fn compile_fingerprint(rule: usize, elements: &[String]) -> Result<Vec<Template>, RuleError> {
    if elements.is_empty() {
        return Err(RuleError::EmptyFingerprint { rule });
    }
    elements
        .iter()
        .enumerate()
        .map(|(index, element)| {
            if element.trim().is_empty() {
                return Err(RuleError::EmptyElement { rule, index: index + 1 });
            }
            Template::parse(element).map_err(|error| template_error(rule, element, error))
        })
        .collect()
}

fn template_error(rule: usize, element: &str, error: TemplateError) -> RuleError {
    let element = element.to_string();
    match error {
        TemplateError::Unknown(name) => RuleError::UnknownPlaceholder { rule, element, name },
        TemplateError::Unclosed => RuleError::UnclosedPlaceholder { rule, element },
    }
}

fn compile_title(rule: usize, title: Option<&str>) -> Result<Option<String>, RuleError> {
    match title {
        Some(text) if text.trim().is_empty() => Err(RuleError::EmptyTitle { rule }),
        other => Ok(other.map(str::to_string)),
    }
}

#[cfg(test)]
mod tests;
