//! The frame that locates a failure: the application's own function
//! nearest the raise site of the root cause.
//!
//! Grouping (version 2) identifies a bug by its exception type and this one
//! frame, and the culprit names it. Frames further out say how the failure
//! was *reached* (which handler, job or command called it), not *what*
//! failed, so they stay out of the fingerprint: one bug reached from four
//! entry points is one issue. Two functions failing the same way, or a
//! library call failing in two of the application's functions, are still
//! two issues, because the located frames differ.
//!
//! The price: every caller of a helper that raises for them (a `must(err)`,
//! a `fail(msg)`, a shared HTTP wrapper) lands in one issue, where version
//! 1 split it by the callers up to five frames out (and by entry point
//! too). Fingerprint rules (`{{ default }}` plus a `function` matcher) split
//! such a helper's issue again.
//!
//! The frames are read as parsed; what this module adds is judgement that
//! needs the whole trace, not one line:
//! - a root cause raised and caught inside a library has no application
//!   frame of its own (.NET prints an inner exception's frames only down to
//!   where it was caught; Python's chained exceptions likewise), so its
//!   frames are continued by those of the exceptions wrapping it;
//! - Ruby prints a C-implemented method (`Hash#fetch`, `Integer()`) at the
//!   file and line of the Ruby code calling it, which makes it look in-app;
//! - PHP prints every frame at its *caller's* file and line, so an internal
//!   function (`json_decode`) called from the application looks in-app,
//!   and an application callback called from an internal one (`array_map`,
//!   `call_user_func`) does not;
//! - V8 prefixes a function with its receiver's type, `Object.` for a
//!   CommonJS export or object literal and `Module.` for an ES module
//!   namespace, so one function is named after how its caller reached it.

use crate::stacktrace::{Exception, Frame, Language, Trace};

/// The root cause, then each exception wrapping it, up to the first that
/// runs application code: their frames, in this order, lead from the raise
/// site to the application.
fn located_exceptions(trace: &Trace) -> Vec<&Exception> {
    let Some(root) = trace.chain.iter().rposition(|e| !e.frames.is_empty()) else {
        return Vec::new();
    };
    let mut located = Vec::new();
    for exception in trace.chain.iter().take(root + 1).rev() {
        located.push(exception);
        if (0..exception.frames.len()).any(|at| is_app_code(trace, exception, at)) {
            break;
        }
    }
    located
}

/// The frame that locates the failure: the first frame of the
/// [`located_exceptions`] that runs the application's own code, else the
/// first frame with a name at all.
pub(crate) fn culprit_frame(trace: &Trace) -> Option<&Frame> {
    let located = located_exceptions(trace);
    let named = |f: &Frame| f.function.is_some() || f.module.is_some() || f.file.is_some();
    let own = located.iter().find_map(|exception| {
        let frames = &exception.frames;
        frames.iter().enumerate().find(|(at, f)| named(f) && is_app_code(trace, exception, *at))
    });
    own.map(|(_, frame)| frame).or_else(|| located.iter().flat_map(|e| e.frames.iter()).find(|f| named(f)))
}

/// Whether frame `at` of `exception` runs the application's own code: its
/// in-app flag, corrected where a runtime prints a frame at its caller's
/// location (see the module docs).
fn is_app_code(trace: &Trace, exception: &Exception, at: usize) -> bool {
    let in_app = exception.frames.get(at).is_some_and(|f| f.in_app);
    match trace.language {
        Some(Language::Ruby) => in_app && !is_ruby_c_call(&exception.frames, at),
        Some(Language::Php) => is_php_app_code(exception, at),
        _ => in_app,
    }
}

/// What the fingerprint hashes for the culprit frame: module (or file)
/// and function, with the V8 receiver dropped.
pub(crate) fn grouping_key(trace: &Trace, frame: &Frame) -> String {
    let key = frame.grouping_key();
    if trace.language != Some(Language::JavaScript) {
        return key;
    }
    match key.split_once('|') {
        Some((module, function)) => format!("{module}|{}", without_v8_receiver(function)),
        None => key,
    }
}

/// `Object.parse` → `parse`, `Module.parse` → `parse`; `Object` alone (a
/// module's top-level code) and real class names (`Svc.load`) stay.
fn without_v8_receiver(function: &str) -> &str {
    ["Object.", "Module."]
        .iter()
        .find_map(|receiver| function.strip_prefix(receiver))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(function)
}

/// Whether Ruby frame `at` is a C method: printed at the same file and line
/// as the next frame (its caller) under a different name. Recursion repeats
/// file, line *and* name, so it is not mistaken for one.
fn is_ruby_c_call(frames: &[Frame], at: usize) -> bool {
    match (frames.get(at), frames.get(at + 1)) {
        (Some(frame), Some(caller)) => {
            frame.line.is_some()
                && frame.file.is_some()
                && frame.file == caller.file
                && frame.line == caller.line
                && frame.function != caller.function
        }
        _ => false,
    }
}

/// Whether the function of PHP frame `at` is the application's own code,
/// judged by where that code runs rather than by the file the frame prints
/// (where it was called from). A function runs where it made the call above it
/// (frame `at - 1`), or for `#0` at the raise site; when that call was made
/// from `[internal function]`, or `#0`'s raise site is its own call site (a
/// PHP function throws from a line of its own), the function is internal
/// (`array_map`, `json_decode`). Without a raise site, `#0` keeps the
/// parser's judgement.
fn is_php_app_code(exception: &Exception, at: usize) -> bool {
    let Some(frame) = exception.frames.get(at) else {
        return false;
    };
    let runs_at = match at.checked_sub(1) {
        Some(above) => exception.frames.get(above),
        None => match &exception.raised_at {
            Some(raised) if raised.file == frame.file && raised.line == frame.line => return false,
            Some(raised) => Some(raised),
            None => return frame.in_app,
        },
    };
    runs_at.is_some_and(|place| place.file.is_some() && place.in_app)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::parse_trace;

    fn culprit_key(text: &str, language: &str) -> String {
        let trace = parse_trace(text, Some(language));
        culprit_frame(&trace).map(|f| grouping_key(&trace, f)).unwrap_or_default()
    }

    #[test]
    fn library_root_causes_continue_into_their_wrappers() {
        let text = "System.Text.Json.JsonException: bad
 ---> System.Text.Json.JsonReaderException: bad
   at System.Text.Json.ThrowHelper.ThrowJsonReaderException(Utf8JsonReader& json)
   at System.Text.Json.Utf8JsonReader.Read()
   --- End of inner exception stack trace ---
   at System.Text.Json.JsonSerializer.Deserialize[TValue](String json)
   at Acme.Orders.OrderPayload.Parse(String raw) in /src/Acme/Orders/OrderPayload.cs:line 17
   at Acme.Api.OrdersController.Create() in /src/Acme/Api/OrdersController.cs:line 35";
        assert_eq!(culprit_key(text, "dotnet"), "Acme.Orders.OrderPayload|Parse");
    }

    #[test]
    fn ruby_c_methods_are_not_the_culprit() {
        let text = "/app/lib/shop/inventory.rb:6:in `fetch': key not found: \"SKU-9\" (KeyError)
\tfrom /app/lib/shop/inventory.rb:6:in `reserve'
\tfrom /app/lib/shop/orders.rb:29:in `place_order'";
        assert_eq!(culprit_key(text, "ruby"), "shop/inventory|reserve");
        let recursion = "/app/lib/shop/catalog.rb:11:in `path': stack level too deep (SystemStackError)
\tfrom /app/lib/shop/catalog.rb:11:in `path'
\tfrom /app/lib/shop/catalog.rb:11:in `path'";
        assert_eq!(culprit_key(recursion, "ruby"), "shop/catalog|path");
    }

    #[test]
    fn php_internal_functions_are_not_the_culprit() {
        let at = |raised: &str| {
            format!(
                "JsonException: Syntax error in {raised}
Stack trace:
#0 /app/src/Orders.php(17): json_decode()
#1 /app/src/Api.php(24): App\\Orders::parseOrderPayload()
#2 {{main}}"
            )
        };
        assert_eq!(culprit_key(&at("/app/src/Orders.php:17"), "php"), "App\\Orders|parseOrderPayload");
        let thrown_by_php = at("/app/src/Orders.php:40");
        assert_eq!(
            culprit_key(&thrown_by_php, "php"),
            "src/Orders.php|json_decode",
            "a user function of that name"
        );
        let callback = "Exception: x in /app/src/Jobs.php:30
Stack trace:
#0 [internal function]: App\\Jobs->sync()
#1 /app/src/Jobs.php(19): array_map()
#2 /app/src/Cli.php(5): App\\Jobs->nightlySync()
#3 {main}";
        assert_eq!(culprit_key(callback, "php"), "App\\Jobs|sync", "a callback runs application code");
        let vendor = "RuntimeException: x in /app/vendor/acme/lib/src/Client.php:30
Stack trace:
#0 /app/src/Payments.php(12): Acme\\Lib\\Client->send()
#1 /app/src/Api.php(5): App\\Payments->charge()
#2 {main}";
        assert_eq!(culprit_key(vendor, "php"), "App\\Payments|charge", "a vendor method called from src/");
    }

    #[test]
    fn v8_receivers_do_not_name_the_function() {
        let via_exports = "SyntaxError: x\n    at JSON.parse (<anonymous>)\n    at Object.parseOrder (/srv/app/src/orders.js:13:22)";
        let destructured = "SyntaxError: x\n    at JSON.parse (<anonymous>)\n    at parseOrder (/srv/app/src/orders.js:13:22)";
        let esm = "SyntaxError: x\n    at JSON.parse (<anonymous>)\n    at Module.parseOrder (file:///srv/app/src/orders.js:13:22)";
        assert_eq!(culprit_key(via_exports, "nodejs"), "src/orders.js|parseOrder");
        assert_eq!(culprit_key(destructured, "nodejs"), "src/orders.js|parseOrder");
        assert_eq!(culprit_key(esm, "nodejs"), "src/orders.js|parseOrder");
        let class = "Error: x\n    at Svc.load (/srv/app/src/svc.js:3:49)";
        assert_eq!(culprit_key(class, "nodejs"), "src/svc.js|Svc.load");
    }
}
