//! `faultline config check FILE` with the real binary: the same loading
//! and validation as `faultline serve --config FILE`, without binding a
//! port or opening the store.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use faultline_tests::{binary, TempDir};

fn check(file: &Path) -> Output {
    Command::new(binary())
        .args(["config", "check"])
        .arg(file)
        .env_remove("FAULTLINE_ADMIN_TOKEN")
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The README's configuration examples, combined as
/// `readme_configuration_examples_are_accepted` combines them (which starts
/// a server on them), with example hosts pointed at localhost.
fn readme_config() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let blocks: Vec<&str> = readme.split("```toml\n").skip(1).filter_map(|b| b.split("```").next()).collect();
    assert!(blocks.len() >= 5, "README has its TOML examples");
    let (top, rest): (Vec<&str>, Vec<&str>) = blocks.iter().partition(|b| b.starts_with("data_dir"));
    [top, rest]
        .concat()
        .join("\n")
        .replace("api.example.com", "localhost")
        .replace("db.internal", "localhost")
}

/// A good file is OK, and checking it binds nothing and creates nothing:
/// it passes while its API port is taken, and its data directory is not made.
#[test]
fn a_good_file_is_ok_without_binding_or_opening_storage() {
    let tmp = TempDir::new("faultline-config-check-ok");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let data_dir = tmp.path().join("never-created");
    let config = readme_config()
        .replacen(
            "data_dir = \"/var/lib/faultline\"",
            &format!("data_dir = {:?}", data_dir.to_str().unwrap()),
            1,
        )
        .replacen("api = \"127.0.0.1:8080\"", &format!("api = \"{}\"", taken.local_addr().unwrap()), 1);
    assert!(config.contains("never-created") && config.contains(&taken.local_addr().unwrap().to_string()));
    let path = tmp.path().join("faultline.toml");
    std::fs::write(&path, config).unwrap();
    let out = check(&path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("{}: OK", path.display()));
    assert!(!data_dir.exists(), "config check opened the store");
}

/// Bad values are refused with exit 1, naming the key and the file, with
/// the same words `serve` stops with.
#[test]
fn bad_files_are_refused_naming_what_is_wrong_as_serve_does() {
    let tmp = TempDir::new("faultline-config-check-bad");
    let cases: &[(&str, &str, &[&str])] = &[
        ("value.toml", "[limits]\nmax_string_len = 10\n", &["max_string_len must be at least 64"]),
        ("listen.toml", "[listen]\napi = \"nowhere\"\n", &["listen.api in", "listen.toml", "HOST:PORT"]),
        // Unknown keys stop `serve` (a typo is not ignored), so they fail the check too.
        ("unknown.toml", "[limits]\nmax_strng_len = 100\n", &["unknown field `max_strng_len`", "line 2"]),
        ("type.toml", "[limits]\nqueue_depth = \"lots\"\n", &["queue_depth", "line 2"]),
        (
            "rule.toml",
            "[[alerts.rules]]\nid = \"new\"\nkind = \"new_group\"\nchannels = [\"nope\"]\n",
            &["alert rule \"new\"", "\"nope\""],
        ),
        (
            "tls.toml",
            "[tls]\ncert = \"/nonexistent/server.crt\"\nkey = \"/nonexistent/server.key\"\n",
            &["/nonexistent/server.crt"],
        ),
    ];
    for (name, text, wanted) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = check(&path);
        let message = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {message}");
        assert!(out.stdout.is_empty(), "{name}: nothing on stdout");
        for w in *wanted {
            assert!(message.contains(w), "{name}: {w:?} not in {message}");
        }
        // `serve` with the same file stops with the same error. Free ports
        // for it, as flags, except where the listen address is the mistake
        // (a flag would win over it).
        let mut serve = Command::new(binary());
        serve
            .args(["serve", "--config"])
            .arg(&path)
            .args(["--data-dir", tmp.path().join("data").to_str().unwrap()]);
        if *name != "listen.toml" {
            serve.args([
                "--otlp-grpc-addr",
                "127.0.0.1:0",
                "--otlp-http-addr",
                "127.0.0.1:0",
                "--api-addr",
                "127.0.0.1:0",
            ]);
        }
        let serve = serve.env_remove("FAULTLINE_ADMIN_TOKEN").output().unwrap();
        assert!(!serve.status.success(), "{name}: serve accepted it");
        let serve_error = stderr(&serve);
        let check_error = message.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(serve_error.contains(check_error), "{name}: serve said {serve_error}\ncheck said {message}");
    }
}

#[test]
fn a_missing_file_exits_2() {
    let tmp = TempDir::new("faultline-config-check-missing");
    let path = tmp.path().join("absent.toml");
    let out = check(&path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("absent.toml"), "{}", stderr(&out));
}
