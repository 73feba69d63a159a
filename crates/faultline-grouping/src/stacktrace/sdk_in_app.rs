//! In-app flags an SDK sent beside the stack text: the application's own
//! word on which frames are its code, which overrides the detection by
//! path and package (see [`crate::in_app`]).
//!
//! Sentry SDKs flag every frame (`in_app`, from their `in_app_include` /
//! `in_app_exclude` options and project root); `faultline-sentry` renders
//! the frames as their runtime's stack text and lists the flags in the
//! event's [`IN_APP_ATTRIBUTE`] in the order the parsers produce frames:
//! chain outermost first, each exception's frames nearest the raise site
//! first, `null` for a frame without a flag. The flags are applied only
//! when the parsed trace has exactly that shape (an exception capped at
//! `MAX_FRAMES` counts as its first frames): text that parsed differently
//! than it was written keeps the detected flags rather than misplaced ones.

use faultline_model::ErrorEvent;
use serde_json::Value;

use crate::limits::MAX_FRAMES;
use crate::stacktrace::{parse_trace, Trace};

/// The attribute holding an event's explicit in-app flags.
pub const IN_APP_ATTRIBUTE: &str = "faultline.in_app";

/// The event's stack trace as grouping and the pages read it: parsed with
/// the SDK's language as the hint, with the SDK's in-app flags applied.
pub fn event_trace(event: &ErrorEvent) -> Trace {
    let mut trace = match event.stacktrace.as_deref() {
        Some(text) if !text.trim().is_empty() => parse_trace(text, event.sdk_language.as_deref()),
        _ => return Trace::default(),
    };
    if let Some(flags) = event.attributes.get(IN_APP_ATTRIBUTE) {
        apply_in_app(&mut trace, flags);
    }
    trace
}

/// Sets each frame's `in_app` from `flags` (see the module docs); returns
/// whether they were applied.
pub fn apply_in_app(trace: &mut Trace, flags: &Value) -> bool {
    let Some(per_exception) = flags.as_array() else {
        return false;
    };
    let fits = per_exception.len() == trace.chain.len()
        && per_exception.iter().zip(&trace.chain).all(|(flags, exception)| {
            let count = flags.as_array().map_or(usize::MAX, Vec::len);
            count == exception.frames.len() || (exception.frames.len() == MAX_FRAMES && count > MAX_FRAMES)
        });
    if !fits {
        return false;
    }
    for (flags, exception) in per_exception.iter().zip(&mut trace.chain) {
        let flags = flags.as_array().map_or(&[][..], Vec::as_slice);
        for (flag, frame) in flags.iter().zip(&mut exception.frames) {
            if let Some(in_app) = flag.as_bool() {
                frame.in_app = in_app;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NODE: &str = "Error: boom
    at parse (/srv/app/lib/parse.js:3:9)
    at handle (/srv/app/index.js:10:5)";

    #[test]
    fn flags_override_detection_when_the_shape_fits() {
        let mut trace = parse_trace(NODE, Some("nodejs"));
        assert!(trace.chain[0].frames.iter().all(|f| f.in_app), "detected as the application's");
        assert!(apply_in_app(&mut trace, &json!([[false, null]])));
        let flags: Vec<bool> = trace.chain[0].frames.iter().map(|f| f.in_app).collect();
        assert_eq!(flags, [false, true], "null keeps the detected flag");
    }

    #[test]
    fn flags_of_another_shape_are_ignored() {
        for flags in [json!([[false]]), json!([[false, false], []]), json!({"a": 1}), json!([["x", 1, 2]])] {
            let mut trace = parse_trace(NODE, Some("nodejs"));
            assert!(!apply_in_app(&mut trace, &flags), "{flags}");
            assert!(trace.chain[0].frames.iter().all(|f| f.in_app), "{flags}");
        }
    }
}
