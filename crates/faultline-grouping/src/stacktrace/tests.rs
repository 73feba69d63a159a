//! Parser dispatch and hostile input, across languages.

use super::*;

const PYTHON: &str = r#"Traceback (most recent call last):
  File "/srv/app/orders.py", line 42, in parse_quantity
    return int(raw)
ValueError: invalid literal for int() with base 10: 'abc'
"#;

const JAVA: &str = "java.lang.IllegalStateException: boom
\tat com.acme.Svc.run(Svc.java:3)
";

#[test]
fn the_hint_picks_the_parser() {
    let trace = parse_trace(PYTHON, Some("python"));
    assert_eq!(trace.language, Some(Language::Python));
    assert_eq!(trace.chain.len(), 1);
}

#[test]
fn a_wrong_or_missing_hint_falls_back_to_sniffing() {
    for hint in [None, Some("java"), Some("erlang"), Some("")] {
        let trace = parse_trace(PYTHON, hint);
        assert_eq!(trace.language, Some(Language::Python), "{hint:?}");
        assert_eq!(parse(PYTHON, hint)[0].grouping_key(), "app.orders|parse_quantity");
    }
    assert_eq!(parse_trace(JAVA, Some("nodejs")).language, Some(Language::Java));
}

#[test]
fn parse_returns_the_root_cause_frames() {
    let text = "java.lang.RuntimeException: wrapper
\tat com.acme.Outer.call(Outer.java:1)
Caused by: java.io.IOException: root
\tat com.acme.Inner.read(Inner.java:2)
\t... 1 more
";
    let keys: Vec<String> = parse(text, Some("java")).iter().map(Frame::grouping_key).collect();
    assert_eq!(keys, ["com.acme.Inner|read", "com.acme.Outer|call"]);
}

#[test]
fn unreadable_text_gives_no_frames() {
    for text in ["", "   ", "\n\n\n", "connection reset by peer", "{\"json\": true}"] {
        assert!(parse(text, None).is_empty(), "{text:?}");
        assert!(parse(text, Some("python")).is_empty(), "{text:?}");
    }
}

/// Deterministic pseudo-random bytes (no test dependency needed).
fn garbage(len: usize, seed: u64) -> String {
    let mut state = seed;
    let bytes: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[test]
fn binary_garbage_never_panics() {
    for seed in 1..40u64 {
        let text = garbage(4096, seed);
        for hint in [
            None,
            Some("python"),
            Some("java"),
            Some("nodejs"),
            Some("go"),
            Some("dotnet"),
            Some("ruby"),
            Some("php"),
            Some("rust"),
        ] {
            let _ = parse_trace(&text, hint);
        }
    }
}

#[test]
fn megabytes_of_input_are_bounded() {
    let frame = "  File \"/srv/app/loop.py\", line 1, in spin\n";
    let text = format!("Traceback (most recent call last):\n{}", frame.repeat(200_000));
    let started = std::time::Instant::now();
    let trace = parse_trace(&text, Some("python"));
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(trace.chain[0].frames.len(), crate::limits::MAX_FRAMES);

    let one_line = "x".repeat(5 * 1024 * 1024);
    assert!(parse(&one_line, None).is_empty());
}

#[test]
fn every_parser_survives_every_language() {
    let samples = [
        PYTHON,
        JAVA,
        "Error: x\n    at f (/a.js:1:2)",
        "goroutine 1 [running]:\nmain.main()\n\t/a/main.go:1 +0x1",
    ];
    for sample in samples {
        for language in Language::ALL {
            let _ = parse_trace(sample, Some(language.as_str()));
        }
    }
}

#[test]
fn deeply_chained_python_is_bounded() {
    let block = "Traceback (most recent call last):\n  File \"/app/a.py\", line 1, in f\nValueError: x\n\nDuring handling of the above exception, another exception occurred:\n\n";
    let text = block.repeat(10_000);
    let trace = parse_trace(&text, None);
    assert_eq!(trace.chain.len(), crate::limits::MAX_CHAIN);
}
