//! Stack-trace text as events carry it: every runtime's parser (chosen by
//! the SDK language hint), language sniffing, and the grouping of the
//! parsed trace.

use std::sync::LazyLock;

use faultline_grouping::stacktrace::{parse, parse_trace, Language};
use faultline_grouping::{Grouper, GroupingConfig};
use faultline_model::{ErrorEvent, EventSource};

/// The first byte picks the `telemetry.sdk.language` hint: one of the
/// eight runtimes, none (sniffing only) or one no parser knows.
fn hint(selector: u8) -> Option<&'static str> {
    match usize::from(selector) % (Language::ALL.len() + 2) {
        i if i < Language::ALL.len() => Some(Language::ALL[i].as_str()),
        i if i == Language::ALL.len() => None,
        _ => Some("cobol"),
    }
}

/// Rules that look at frames, so grouping runs rule matching over
/// whatever the parsers made of the input, not only the built-in chain.
const RULES: &str = r#"
[[rules]]
function = "*retry*"
module = "*db*"
fingerprint = ["database", "{{ default }}"]

[[rules]]
type = "*Error"
message = "*timed out*"
fingerprint = ["{{ type }}", "timeouts"]
title = "Timeouts"
"#;

static GROUPER: LazyLock<Grouper> = LazyLock::new(|| {
    let config: GroupingConfig = toml::from_str(RULES).expect("the fuzz target's rules parse");
    Grouper::with_config(config).expect("the fuzz target's rules compile")
});

/// First byte: the language hint; the rest: the trace text (lossily
/// UTF-8, as attribute strings always are).
pub fn stacktrace(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else { return };
    let hint = hint(selector);
    let text = String::from_utf8_lossy(text);
    let trace = parse_trace(&text, hint);
    drop(parse(&text, hint));
    let root = trace.root_cause();
    let mut event = ErrorEvent::blank("fuzz", EventSource::SpanException, 0);
    event.sdk_language = hint.map(str::to_string);
    event.exception_type = root.and_then(|e| e.exception_type.clone());
    event.message = root.and_then(|e| e.message.clone());
    event.stacktrace = Some(text.into_owned());
    drop(GROUPER.group(&event));
}
