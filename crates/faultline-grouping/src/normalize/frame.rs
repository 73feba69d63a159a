//! A parsed frame's raw parts turned into a normalized [`Frame`].

use crate::in_app::is_in_app;
use crate::normalize::path::{module_from_path, normalize_path};
use crate::normalize::symbol;
use crate::stacktrace::{Frame, Language};

/// A frame's parts exactly as a parser found them, before normalization.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// Class, package or module path as printed, when the format names one.
    pub module: Option<&'a str>,
    /// Function or method as printed.
    pub function: Option<&'a str>,
    /// File path or URL as printed.
    pub file: Option<&'a str>,
    pub line: Option<u32>,
}

/// Normalizes a raw frame for `language` (see the module docs of
/// [`crate::normalize`]) and decides whether it is in-app, which is judged
/// on the raw parts because install locations are what normalization strips.
///
/// Languages whose frames name no module (Python, Ruby, JavaScript, PHP
/// functions) get one from the normalized file: `app/orders.py` → `app.orders`.
pub fn normalize_frame(language: Language, raw: &RawFrame<'_>) -> Frame {
    let file = raw.file.map(normalize_path).filter(|path| !path.is_empty());
    let module = raw
        .module
        .and_then(|name| symbol::module(language, name))
        .or_else(|| file.as_deref().and_then(|path| module_for_file(language, path)));
    Frame {
        function: raw.function.and_then(|name| symbol::function(language, name)),
        module,
        file,
        line: raw.line,
        in_app: is_in_app(language, raw),
    }
}

/// The module a file stands for in languages that name modules by file.
fn module_for_file(language: Language, path: &str) -> Option<String> {
    match language {
        Language::Python => Some(module_from_path(path, ".py")),
        Language::Ruby => Some(path.strip_suffix(".rb").unwrap_or(path).to_string()),
        Language::JavaScript | Language::Php => Some(path.to_string()),
        Language::Java | Language::Go | Language::DotNet | Language::Rust => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_frames_get_modules_from_files() {
        let frame = normalize_frame(
            Language::Python,
            &RawFrame {
                function: Some("parse_quantity"),
                file: Some("/srv/app/orders.py"),
                line: Some(42),
                ..RawFrame::default()
            },
        );
        assert_eq!(frame.module.as_deref(), Some("app.orders"));
        assert_eq!(frame.function.as_deref(), Some("parse_quantity"));
        assert_eq!(frame.file.as_deref(), Some("app/orders.py"));
        assert_eq!(frame.line, Some(42));
        assert!(frame.in_app);
        assert_eq!(frame.grouping_key(), "app.orders|parse_quantity");
    }

    #[test]
    fn line_numbers_never_reach_the_grouping_key() {
        let at = |line| RawFrame {
            module: Some("com.acme.OrderService"),
            function: Some("load"),
            file: Some("OrderService.java"),
            line: Some(line),
        };
        let a = normalize_frame(Language::Java, &at(10));
        let b = normalize_frame(Language::Java, &at(99));
        assert_eq!(a.grouping_key(), b.grouping_key());
        assert_eq!(a.grouping_key(), "com.acme.OrderService|load");
    }
}
