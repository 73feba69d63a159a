//! Which runtime printed a trace: from the SDK's language, else by sniffing.

use std::sync::LazyLock;

use regex::Regex;

use crate::limits::SNIFF_LINES;

/// A stack-trace format, named for the runtime that prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    /// The JVM: Java, Kotlin, Scala, Groovy, Clojure.
    Java,
    /// V8 (Node, Chrome, Edge) and SpiderMonkey/JavaScriptCore (Firefox, Safari).
    JavaScript,
    Go,
    DotNet,
    Ruby,
    Php,
    Rust,
}

impl Language {
    /// Every language, in the order sniffing prefers on a tie: the formats
    /// with the most distinctive lines first.
    pub const ALL: [Language; 8] = [
        Language::Python,
        Language::Go,
        Language::Rust,
        Language::Java,
        Language::JavaScript,
        Language::DotNet,
        Language::Ruby,
        Language::Php,
    ];

    /// Maps a `telemetry.sdk.language` value (or a common alias) to a format.
    pub fn from_hint(hint: &str) -> Option<Language> {
        Some(match hint.trim().to_ascii_lowercase().as_str() {
            "python" | "py" => Language::Python,
            "java" | "kotlin" | "scala" | "groovy" | "clojure" | "jvm" => Language::Java,
            "nodejs" | "node" | "js" | "webjs" | "javascript" | "typescript" | "ts" => Language::JavaScript,
            "go" | "golang" => Language::Go,
            "dotnet" | ".net" | "csharp" | "c#" | "fsharp" => Language::DotNet,
            "ruby" | "rb" => Language::Ruby,
            "php" => Language::Php,
            "rust" => Language::Rust,
            _ => return None,
        })
    }

    /// The `telemetry.sdk.language` spelling of this format.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Java => "java",
            Language::JavaScript => "nodejs",
            Language::Go => "go",
            Language::DotNet => "dotnet",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::Rust => "rust",
        }
    }

    /// A line only this runtime prints (a frame or a header).
    fn signature(self) -> &'static Regex {
        match self {
            Language::Python => &PYTHON,
            Language::Java => &JAVA,
            Language::JavaScript => &JAVASCRIPT,
            Language::Go => &GO,
            Language::DotNet => &DOTNET,
            Language::Ruby => &RUBY,
            Language::Php => &PHP,
            Language::Rust => &RUST,
        }
    }
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("signature patterns are valid")
}

static PYTHON: LazyLock<Regex> =
    LazyLock::new(|| regex(r#"^Traceback \(most recent call last\):|^\s*File "[^"]*", line \d+"#));
static JAVA: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*at \S+\((?:[^()]*\.(?:java|kt|kts|scala|groovy|clj):\d+|Native Method|Unknown Source|<generated>)\)|^Caused by: [\w$.]+",
    )
});
static JAVASCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^\s*at (?:.+ \()?\S+:\d+:\d+\)?$|^\s*at .+ \((?:<anonymous>|native|index \d+)\)$|^[^\s@]*@\S+:\d+:\d+$",
    )
});
static GO: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"^goroutine \d+ \[|^\t\S.*\.go:\d+(?: \+0x[0-9a-f]+)?(?: fp=0x[0-9a-f]+ sp=0x[0-9a-f]+ pc=0x[0-9a-f]+)?$",
    )
});
static DOTNET: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^\s*at [^\s(]+\([^)]*\)(?: in .+:line \d+)?\s*$|--- End of (?:inner exception )?stack trace")
});
static RUBY: LazyLock<Regex> = LazyLock::new(|| regex(r"^\s*(?:from )?\S.*\.rb:\d+:in [`']"));
static PHP: LazyLock<Regex> =
    LazyLock::new(|| regex(r"^#\d+ (?:\S.*\(\d+\)|\[internal function\]): |^#\d+ \{main\}$"));
static RUST: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"^thread '.*'(?: \(\d+\))? panicked at |^\s*\d+: (?:0x[0-9a-f]+ - )?[\w<][\w:<>{}#, ]*::")
});

/// Guesses the format of a trace: the language whose signature lines are the
/// most numerous among the first `SNIFF_LINES` lines; ties go to the earlier
/// entry of [`Language::ALL`].
pub(crate) fn sniff(lines: &[&str]) -> Option<Language> {
    let mut best: Option<(Language, usize)> = None;
    for language in Language::ALL {
        let signature = language.signature();
        let hits = lines.iter().take(SNIFF_LINES).filter(|line| signature.is_match(line)).count();
        if hits > 0 && best.is_none_or(|(_, most)| hits > most) {
            best = Some((language, hits));
        }
    }
    best.map(|(language, _)| language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_map_to_formats() {
        assert_eq!(Language::from_hint("python"), Some(Language::Python));
        assert_eq!(Language::from_hint("webjs"), Some(Language::JavaScript));
        assert_eq!(Language::from_hint("NodeJS"), Some(Language::JavaScript));
        assert_eq!(Language::from_hint("dotnet"), Some(Language::DotNet));
        assert_eq!(Language::from_hint("erlang"), None);
        for language in Language::ALL {
            assert_eq!(Language::from_hint(language.as_str()), Some(language));
        }
    }

    #[test]
    fn sniffs_each_format() {
        let cases = [
            ("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>", Language::Python),
            ("java.lang.Error: x\n\tat a.B.c(B.java:1)", Language::Java),
            ("Error: x\n    at f (/a/b.js:1:2)", Language::JavaScript),
            ("f@http://x/a.js:1:2", Language::JavaScript),
            ("goroutine 1 [running]:\nmain.main()\n\t/a/main.go:5 +0x1d", Language::Go),
            ("System.Exception: x\n   at A.B.C() in /a/B.cs:line 3", Language::DotNet),
            ("a.rb:1:in `f': x (RuntimeError)", Language::Ruby),
            ("#0 /a/b.php(3): f()\n#1 {main}", Language::Php),
            ("thread 'main' panicked at src/main.rs:1:1:", Language::Rust),
        ];
        for (text, language) in cases {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(sniff(&lines), Some(language), "{text}");
        }
        assert_eq!(sniff(&["just some words"]), None);
    }
}
