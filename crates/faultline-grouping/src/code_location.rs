//! Where an event without a stack trace was raised, from the `code.*`
//! attributes logging bridges and some instrumentations set on the record.
//!
//! Python's OTel logging handler sets `code.function.name`,
//! `code.file.path` and `code.line.number` (older releases: `code.function`,
//! `code.filepath`, `code.lineno`); Java bridges set `code.namespace` (the
//! class) and `code.function`.

use faultline_model::ErrorEvent;

use crate::normalize::{normalize_frame, normalize_path, RawFrame};
use crate::stacktrace::{Frame, Language};
use crate::variant::present;

/// Current semantic-convention names first, then the deprecated ones.
const FUNCTION: &[&str] = &["code.function.name", "code.function"];
const FILE: &[&str] = &["code.file.path", "code.filepath"];
/// Deprecated without a successor (the namespace joined the function name),
/// but still what older SDKs and Java bridges send.
const NAMESPACE: &str = "code.namespace";

/// The frame the event's `code.*` attributes describe, normalized like a
/// stack frame of its language, so `/srv/app/shop/handlers.py` reads
/// `shop.handlers` as it does in a Python traceback; `None` without a
/// function, namespace or file.
pub(crate) fn code_frame(event: &ErrorEvent) -> Option<Frame> {
    let raw = RawFrame {
        module: text(event, &[NAMESPACE]),
        function: text(event, FUNCTION),
        file: text(event, FILE),
        line: None,
    };
    if raw.module.is_none() && raw.function.is_none() && raw.file.is_none() {
        return None;
    }
    Some(match language(event, raw.file) {
        Some(language) => normalize_frame(language, &raw),
        None => Frame {
            function: raw.function.map(str::to_string),
            module: raw.module.map(str::to_string),
            file: raw.file.map(normalize_path).filter(|path| !path.is_empty()),
            line: None,
            in_app: true,
        },
    })
}

/// The first of `names` the event carries as non-blank text.
fn text<'e>(event: &'e ErrorEvent, names: &[&str]) -> Option<&'e str> {
    names.iter().find_map(|name| present(event.attribute_str(name)))
}

/// The SDK's language, else the one the file's extension names.
fn language(event: &ErrorEvent, file: Option<&str>) -> Option<Language> {
    event.sdk_language.as_deref().and_then(Language::from_hint).or_else(|| file.and_then(language_of_file))
}

fn language_of_file(path: &str) -> Option<Language> {
    let extension = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "py" => Language::Python,
        "java" | "kt" | "scala" | "groovy" | "clj" => Language::Java,
        "js" | "mjs" | "cjs" | "ts" | "jsx" | "tsx" => Language::JavaScript,
        "go" => Language::Go,
        "cs" | "fs" | "vb" => Language::DotNet,
        "rb" => Language::Ruby,
        "php" => Language::Php,
        "rs" => Language::Rust,
        _ => return None,
    })
}
