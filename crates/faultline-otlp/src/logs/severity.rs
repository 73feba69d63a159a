//! Log severities mapped onto the one level vocabulary events are stored
//! with ([`Level`]), so that every runtime's error logs read `error`.

use faultline_model::Level;

/// The level of a log record: from its severity number when it has one (the
/// number is what the OTel data model defines; texts differ per runtime),
/// else from its severity text; `None` when neither says anything known.
pub(crate) fn level(number: i32, text: &str) -> Option<Level> {
    from_number(number).or_else(|| from_text(text))
}

/// The OTel data model's severity ranges. Numbers above 24 are outside the
/// model but can only mean "worse than fatal"; 0 and below mean unspecified.
fn from_number(number: i32) -> Option<Level> {
    Some(match number {
        1..=4 => Level::Trace,
        5..=8 => Level::Debug,
        9..=12 => Level::Info,
        13..=16 => Level::Warning,
        17..=20 => Level::Error,
        21.. => Level::Fatal,
        _ => return None,
    })
}

/// Severity texts of common logging libraries, matched without regard to
/// case: syslog's names, Java's (`SEVERE`, `FINE`), Python's (`CRITICAL`),
/// Go's (`panic`), .NET's (`Verbose`, `Information`), and the OTel short
/// names with their digit (`WARN2`, `ERROR3`).
fn from_text(text: &str) -> Option<Level> {
    let word = text.trim().trim_end_matches(|c: char| c.is_ascii_digit()).to_ascii_lowercase();
    Some(match word.as_str() {
        "fatal" | "critical" | "crit" | "alert" | "emerg" | "emergency" | "panic" | "dpanic" => Level::Fatal,
        "error" | "err" | "severe" => Level::Error,
        "warn" | "warning" => Level::Warning,
        "info" | "information" | "informational" | "notice" | "config" => Level::Info,
        "debug" | "fine" | "finer" => Level::Debug,
        "trace" | "finest" | "verbose" => Level::Trace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_decides_when_set() {
        assert_eq!(level(17, "SEVERE"), Some(Level::Error));
        assert_eq!(level(18, ""), Some(Level::Error));
        assert_eq!(level(21, "CRITICAL"), Some(Level::Fatal));
        assert_eq!(level(30, ""), Some(Level::Fatal));
        assert_eq!(level(13, "ERROR"), Some(Level::Warning), "the number wins over the text");
        assert_eq!(level(1, ""), Some(Level::Trace));
        assert_eq!(level(9, ""), Some(Level::Info));
    }

    #[test]
    fn the_text_decides_when_the_number_is_unset() {
        for (text, want) in [
            ("ERROR", Level::Error),
            ("error", Level::Error),
            ("err", Level::Error),
            ("SEVERE", Level::Error),
            (" Error ", Level::Error),
            ("ERROR2", Level::Error),
            ("CRITICAL", Level::Fatal),
            ("FATAL", Level::Fatal),
            ("panic", Level::Fatal),
            ("emerg", Level::Fatal),
            ("WARN", Level::Warning),
            ("WARNING", Level::Warning),
            ("Information", Level::Info),
            ("notice", Level::Info),
            ("FINE", Level::Debug),
            ("Verbose", Level::Trace),
        ] {
            assert_eq!(level(0, text), Some(want), "{text:?}");
        }
        assert_eq!(level(0, ""), None);
        assert_eq!(level(0, "loud"), None);
        assert_eq!(level(-3, "error"), Some(Level::Error), "an invalid number is no number");
    }
}
