//! Fingerprint elements of a rule: literal text with `{{ name }}`
//! placeholders, parsed once when the configuration is loaded so that an
//! unknown placeholder is a startup error, not a silently constant string.

use std::fmt;

/// A value taken from the event (or the default grouping) at grouping time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placeholder {
    /// The fingerprint the event would have had without rules.
    Default,
    /// The exception type.
    Type,
    /// The parameterized message (`User <num> not found`).
    Message,
    /// `service.name`.
    Service,
    /// `http.route`, else the span name.
    Route,
    /// Function of the top in-app frame of the root cause.
    Function,
    /// Module of the top in-app frame of the root cause.
    Module,
}

impl Placeholder {
    /// Every placeholder, in the order the docs and error messages list them.
    pub(crate) const ALL: [Placeholder; 7] = [
        Placeholder::Default,
        Placeholder::Type,
        Placeholder::Message,
        Placeholder::Service,
        Placeholder::Route,
        Placeholder::Function,
        Placeholder::Module,
    ];

    fn name(self) -> &'static str {
        match self {
            Placeholder::Default => "default",
            Placeholder::Type => "type",
            Placeholder::Message => "message",
            Placeholder::Service => "service",
            Placeholder::Route => "route",
            Placeholder::Function => "function",
            Placeholder::Module => "module",
        }
    }

    fn from_name(name: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{{{ {} }}}}", self.name())
    }
}

/// Why an element could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplateError {
    /// `{{ name }}` with a name that is not a placeholder.
    Unknown(String),
    /// `{{` without a closing `}}`.
    Unclosed,
}

/// One piece of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Value(Placeholder),
}

/// One fingerprint element: `"database-timeouts"`, `"{{ default }}"`,
/// `"db-{{ service }}"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses an element; whitespace inside the braces is optional.
    pub(crate) fn parse(element: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut rest = element;
        while let Some(open) = rest.find("{{") {
            let (text, after_open) = rest.split_at(open);
            push_text(&mut pieces, text);
            let inner = after_open.get(2..).unwrap_or_default();
            let close = inner.find("}}").ok_or(TemplateError::Unclosed)?;
            let (name, after_close) = inner.split_at(close);
            let name = name.trim();
            let placeholder =
                Placeholder::from_name(name).ok_or_else(|| TemplateError::Unknown(name.into()))?;
            pieces.push(Piece::Value(placeholder));
            rest = after_close.get(2..).unwrap_or_default();
        }
        push_text(&mut pieces, rest);
        Ok(Template { pieces })
    }

    /// The element with each placeholder replaced by `value(placeholder)`.
    pub(crate) fn render(&self, mut value: impl FnMut(Placeholder) -> String) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value(placeholder) => out.push_str(&value(*placeholder)),
            }
        }
        out
    }
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
}

/// `{{ default }}, {{ type }}, …` for error messages.
pub(crate) fn known_placeholders() -> String {
    Placeholder::ALL.iter().map(Placeholder::to_string).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn render(element: &str) -> String {
        Template::parse(element).unwrap().render(|p| format!("<{}>", p.name()))
    }

    #[test]
    fn literal_elements_render_as_themselves() {
        assert_eq!(render("database-timeouts"), "database-timeouts");
        assert_eq!(render("a } b { c"), "a } b { c");
    }

    #[test]
    fn placeholders_are_replaced_with_or_without_spaces() {
        assert_eq!(render("{{ default }}"), "<default>");
        assert_eq!(render("{{type}}"), "<type>");
        assert_eq!(render("db-{{  service }}-{{ route }}!"), "db-<service>-<route>!");
        for placeholder in Placeholder::ALL {
            assert_eq!(render(&placeholder.to_string()), format!("<{}>", placeholder.name()));
        }
    }

    #[test]
    fn unknown_and_unclosed_placeholders_are_errors() {
        assert_eq!(Template::parse("{{ fuction }}"), Err(TemplateError::Unknown("fuction".into())));
        assert_eq!(Template::parse("{{ Default }}"), Err(TemplateError::Unknown("Default".into())));
        assert_eq!(Template::parse("x-{{ type"), Err(TemplateError::Unclosed));
    }

    #[test]
    fn known_placeholders_lists_every_one() {
        assert_eq!(
            known_placeholders(),
            "{{ default }}, {{ type }}, {{ message }}, {{ service }}, {{ route }}, {{ function }}, {{ module }}"
        );
    }
}
