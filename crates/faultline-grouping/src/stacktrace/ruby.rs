//! Ruby backtraces, as `Exception#full_message` (what OpenTelemetry's Ruby
//! SDK records) and Rails logs print them:
//!
//! ```text
//! /app/app/models/order.rb:12:in 'Order#total': undefined method 'price' for nil (NoMethodError)
//!     from /app/app/controllers/orders_controller.rb:8:in 'OrdersController#show'
//! ```
//!
//! Ruby 3.4 quotes labels with `'` and qualifies them with the class;
//! older versions use `` `label' `` without a class. Both read the same (see
//! [`crate::normalize`]). The raise site comes first. `full_message` prints
//! the `cause` after the main trace, starting with another
//! `file:line:in 'm': message (Type)` line: chain order is outermost first.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::{Exception, Language};

/// `[from ]file:line:in 'label'[: message (Type)]`, or a bare `file:line`.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:from\s+)?(?P<file><[^>]*>|(?:[A-Za-z]:)?[^:\s][^:]*?):(?P<line>\d+)(?::in [`'](?P<label>[^'`]*)')?(?::\s(?P<rest>.*))?$")
        .expect("valid pattern")
});
/// `message (Type)` closing the first line of an exception.
static MESSAGE_AND_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<msg>.*?)\s*\((?P<type>[A-Z][\w]*(?:::[A-Z]\w*)*)\)$").expect("valid pattern")
});

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut chain: Vec<Exception> = Vec::new();
    let mut current = Exception::default();
    for line in lines {
        let Some(caps) = FRAME.captures(line) else {
            continue;
        };
        let is_frame = caps.name("label").is_some() || line.trim_start().starts_with("from ");
        if !is_frame {
            continue;
        }
        if let Some(rest) = caps.name("rest") {
            if !current.frames.is_empty() {
                chain.push(std::mem::take(&mut current));
            }
            read_message(&mut current, rest.as_str());
        }
        let raw = RawFrame {
            module: None,
            function: caps.name("label").map(|m| m.as_str()),
            file: caps.name("file").map(|m| m.as_str()),
            line: caps.name("line").and_then(|m| m.as_str().parse().ok()),
        };
        current.frames.push(normalize_frame(Language::Ruby, &raw));
    }
    if !current.frames.is_empty() || current.exception_type.is_some() {
        chain.push(current);
    }
    chain
}

fn read_message(exception: &mut Exception, text: &str) {
    match MESSAGE_AND_TYPE.captures(text) {
        Some(caps) => {
            exception.exception_type = caps.name("type").map(|m| m.as_str().to_string());
            exception.message = caps.name("msg").map(|m| m.as_str().to_string());
        }
        None => exception.message = Some(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::lines::split;
    use crate::stacktrace::Frame;

    fn parse_text(text: &str) -> Vec<Exception> {
        parse(&split(text))
    }

    fn keys(exception: &Exception) -> Vec<String> {
        exception.frames.iter().map(Frame::grouping_key).collect()
    }

    #[test]
    fn ruby_3_4_full_message() {
        let text = "/app/app/models/order.rb:12:in 'Order#total': undefined method 'price' for nil (NoMethodError)
\tfrom /app/app/controllers/orders_controller.rb:8:in 'block (2 levels) in OrdersController#show'
\tfrom /usr/local/bundle/gems/actionpack-7.1.3/lib/action_controller/metal/basic_implicit_render.rb:6:in 'ActionController::BasicImplicitRender#send_action'
\tfrom <internal:kernel>:187:in 'Kernel#loop'
";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 1);
        let e = &chain[0];
        assert_eq!(e.exception_type.as_deref(), Some("NoMethodError"));
        assert_eq!(e.message.as_deref(), Some("undefined method 'price' for nil"));
        assert_eq!(
            keys(e),
            [
                "models/order|total",
                "controllers/orders_controller|block in show",
                "actionpack/lib/action_controller/metal/basic_implicit_render|send_action",
                "<internal:kernel>|loop",
            ]
        );
        let in_app: Vec<bool> = e.frames.iter().map(|f| f.in_app).collect();
        assert_eq!(in_app, [true, true, false, false]);
    }

    #[test]
    fn older_backtick_form_groups_like_3_4() {
        let old = "/app/app/models/order.rb:12:in `total': undefined method `price' for nil:NilClass (NoMethodError)
\tfrom /app/app/controllers/orders_controller.rb:8:in `block (2 levels) in show'";
        let new =
            "/app/app/models/order.rb:14:in 'Order#total': undefined method 'price' for nil (NoMethodError)
\tfrom /app/app/controllers/orders_controller.rb:9:in 'block (2 levels) in OrdersController#show'";
        assert_eq!(keys(&parse_text(old)[0]), keys(&parse_text(new)[0]));
    }

    #[test]
    fn plain_backtrace_lines_and_causes() {
        let text = "app/services/charge.rb:30:in `call': card declined (Payments::Declined)
app/jobs/charge_job.rb:5:in `perform'
app/services/gateway.rb:12:in `post': execution expired (Net::ReadTimeout)
app/services/charge.rb:28:in `call'";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].exception_type.as_deref(), Some("Payments::Declined"));
        assert_eq!(chain[1].exception_type.as_deref(), Some("Net::ReadTimeout"));
        assert_eq!(keys(&chain[1]), ["app/services/gateway|post", "app/services/charge|call"]);
    }

    #[test]
    fn prose_is_not_a_frame() {
        assert!(parse_text("Note: retry at 10:30").is_empty());
    }
}
