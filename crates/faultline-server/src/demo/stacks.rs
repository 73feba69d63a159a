//! Stack traces as each runtime prints them, for the demo's error events:
//! a Python traceback, a Java exception with `Caused by`, a Node.js V8
//! stack and a Go panic. Templates, not recordings: the frames come from
//! the scenario so that every failure kind is its own issue, and line
//! numbers move with the release the way they do after a real deploy.

/// The runtime whose format a trace is printed in; also the service's
/// `telemetry.sdk.language`, which picks the server's parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Java,
    Node,
    Go,
}

impl Language {
    /// The `telemetry.sdk.language` value an OpenTelemetry SDK sends.
    pub fn sdk_name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Java => "java",
            Language::Node => "nodejs",
            Language::Go => "go",
        }
    }
}

/// One frame, innermost last: the application's module (a file path for
/// Python, Node and Go; a class for Java) and function.
#[derive(Debug, Clone)]
pub struct Frame {
    pub module: String,
    pub function: String,
    pub line: u32,
}

/// An exception and the frames that led to it, outermost first.
#[derive(Debug, Clone)]
pub struct Trace<'a> {
    pub language: Language,
    pub exception_type: &'a str,
    pub message: &'a str,
    pub frames: &'a [Frame],
    /// Java only: the exception that caused this one (type, message).
    pub cause: Option<(&'a str, &'a str)>,
}

impl Trace<'_> {
    /// The text a runtime prints for this exception (`exception.stacktrace`).
    pub fn render(&self) -> String {
        match self.language {
            Language::Python => self.python(),
            Language::Java => self.java(),
            Language::Node => self.node(),
            Language::Go => self.go(),
        }
    }

    fn python(&self) -> String {
        let mut out = String::from("Traceback (most recent call last):\n");
        for frame in self.frames {
            out.push_str(&format!(
                "  File \"{}\", line {}, in {}\n    {}\n",
                frame.module,
                frame.line,
                frame.function,
                python_source_line(&frame.function)
            ));
        }
        out.push_str(&format!("{}: {}\n", self.exception_type, self.message));
        out
    }

    fn java(&self) -> String {
        let mut out = format!("{}: {}\n", self.exception_type, self.message);
        // Java prints the innermost frame first.
        for frame in self.frames.iter().rev() {
            let file = frame.module.rsplit('.').next().unwrap_or(&frame.module);
            out.push_str(&format!(
                "\tat {}.{}({}.java:{})\n",
                frame.module, frame.function, file, frame.line
            ));
        }
        if let Some((cause_type, cause_message)) = self.cause {
            out.push_str(&format!("Caused by: {cause_type}: {cause_message}\n"));
            out.push_str("\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)\n");
            out.push_str("\tat java.base/java.net.Socket$SocketInputStream.read(Socket.java:1099)\n");
            out.push_str("\t... 12 more\n");
        }
        out
    }

    fn node(&self) -> String {
        let mut out = format!("{}: {}\n", self.exception_type, self.message);
        for (i, frame) in self.frames.iter().rev().enumerate() {
            let column = 5 + (frame.line % 23);
            let prefix = if i > 0 && frame.module.contains("node_modules") { "" } else { "async " };
            let prefix = if i == 0 { "" } else { prefix };
            out.push_str(&format!(
                "    at {prefix}{} ({}:{}:{column})\n",
                frame.function, frame.module, frame.line
            ));
        }
        out
    }

    fn go(&self) -> String {
        let mut out = format!(
            "panic: {}: {}\n\ngoroutine {} [running]:\n",
            self.exception_type,
            self.message,
            17 + self.frames.len() * 3
        );
        for frame in self.frames.iter().rev() {
            out.push_str(&format!(
                "{}(...)\n\t{}:{} +0x{:x}\n",
                frame.function,
                frame.module,
                frame.line,
                0x1d + frame.line * 7
            ));
        }
        out
    }
}

/// A plausible source line under a Python frame (tracebacks quote the code).
fn python_source_line(function: &str) -> String {
    format!("return self._{function}(request, **kwargs)")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use faultline_grouping::stacktrace::parse;

    fn frames() -> Vec<Frame> {
        vec![
            Frame { module: "/srv/app/views.py".into(), function: "add_item".into(), line: 57 },
            Frame { module: "/srv/app/pricing.py".into(), function: "price_of".into(), line: 23 },
        ]
    }

    /// Each template parses into frames with the server's own parser for
    /// its language: the demo's issues have real culprits.
    #[test]
    fn every_language_parses_with_its_frames() {
        let cases = [
            (Language::Python, frames()),
            (
                Language::Java,
                vec![
                    Frame {
                        module: "com.shop.payments.ChargeController".into(),
                        function: "create".into(),
                        line: 61,
                    },
                    Frame {
                        module: "com.shop.payments.AcquirerClient".into(),
                        function: "authorize".into(),
                        line: 142,
                    },
                ],
            ),
            (
                Language::Node,
                vec![
                    Frame {
                        module: "/app/src/routes/cart.js".into(),
                        function: "renderCart".into(),
                        line: 42,
                    },
                    Frame { module: "/app/src/lib/price.js".into(), function: "formatPrice".into(), line: 9 },
                ],
            ),
            (
                Language::Go,
                vec![
                    Frame {
                        module: "/src/inventory/api/handlers.go".into(),
                        function: "main.(*API).Reserve".into(),
                        line: 88,
                    },
                    Frame {
                        module: "/src/inventory/store/ledger.go".into(),
                        function: "store.(*Ledger).Take".into(),
                        line: 131,
                    },
                ],
            ),
        ];
        for (language, frames) in cases {
            let trace = Trace {
                language,
                exception_type: "SomeError",
                message: "went wrong",
                frames: &frames,
                cause: (language == Language::Java)
                    .then_some(("java.net.SocketTimeoutException", "Read timed out")),
            };
            let text = trace.render();
            let parsed = parse(&text, Some(language.sdk_name()));
            assert!(parsed.len() >= 2, "{language:?}: {text}\n{parsed:?}");
            let innermost = frames.last().unwrap();
            assert!(
                parsed.iter().any(|f| f
                    .function
                    .as_deref()
                    .is_some_and(|n| n.contains(innermost.function.rsplit('.').next().unwrap()))),
                "{language:?}: {text}\n{parsed:?}"
            );
        }
    }
}
