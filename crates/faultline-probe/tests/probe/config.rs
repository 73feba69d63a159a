//! The `[[checks]]` shape: defaults, round trips and every refusal.

use std::time::Duration;

use faultline_probe::{validate_all, Check, CheckKind, ConfigError, Probe};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    checks: Vec<Check>,
}

fn parse(toml_text: &str) -> Result<Vec<Check>, String> {
    toml::from_str::<File>(toml_text).map(|f| f.checks).map_err(|e| e.to_string())
}

fn parse_err(toml_text: &str) -> String {
    parse(toml_text).expect_err("should be refused")
}

const EXAMPLE: &str = r#"
[[checks]]
id = "api-health"
kind = "http"
url = "https://api.example.com/healthz"
method = "GET"
expected_status = "200-299"
body_contains = "ok"
headers = { "Authorization" = "Bearer x" }
timeout = "5s"
interval = "30s"

[[checks]]
id = "db-port"
kind = "tcp"
address = "db.internal:5432"

[[checks]]
id = "api-cert"
kind = "tls"
address = "api.example.com:443"
min_days_left = 14
"#;

#[test]
fn the_documented_example_parses_with_defaults_filled_in() {
    let checks = parse(EXAMPLE).unwrap();
    validate_all(&checks).unwrap();
    assert_eq!(checks.len(), 3);

    let api = &checks[0];
    assert_eq!(
        (api.kind(), api.timeout, api.interval),
        (CheckKind::Http, Duration::from_secs(5), Duration::from_secs(30))
    );
    let Probe::Http(http) = &api.probe else { panic!("not http") };
    assert_eq!(http.expected_status.to_string(), "200-299");
    assert_eq!(http.body_contains.as_deref(), Some("ok"));
    assert_eq!(http.headers.get("Authorization").map(String::as_str), Some("Bearer x"));
    assert!(!http.tls_insecure);

    let db = &checks[1];
    assert_eq!(
        (db.kind(), db.timeout, db.interval),
        (CheckKind::Tcp, Duration::from_secs(10), Duration::from_secs(60))
    );

    let Probe::Tls(tls) = &checks[2].probe else { panic!("not tls") };
    assert_eq!((tls.min_days_left, tls.verify, tls.server_name.as_deref()), (14, false, None));
}

#[test]
fn http_defaults_are_get_and_200_to_399() {
    let checks = parse("[[checks]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://localhost/\"\n").unwrap();
    let Probe::Http(http) = &checks[0].probe else { panic!("not http") };
    assert_eq!(http.method, "GET");
    assert_eq!(http.expected_status.to_string(), "200-399");
    let tls = parse("[[checks]]\nid = \"c\"\nkind = \"tls\"\naddress = \"localhost:443\"\n").unwrap();
    let Probe::Tls(tls) = &tls[0].probe else { panic!("not tls") };
    assert_eq!(tls.min_days_left, 7);
}

#[test]
fn a_bare_integer_status_is_accepted() {
    let checks =
        parse("[[checks]]\nid = \"a\"\nkind = \"http\"\nurl = \"http://x/\"\nexpected_status = 204\n")
            .unwrap();
    let Probe::Http(http) = &checks[0].probe else { panic!("not http") };
    assert!(http.expected_status.contains(204) && !http.expected_status.contains(200));
}

#[test]
fn checks_round_trip_through_toml_and_json() {
    let checks = parse(EXAMPLE).unwrap();
    for check in &checks {
        let json = serde_json::to_string(check).unwrap();
        assert_eq!(&serde_json::from_str::<Check>(&json).unwrap(), check, "{json}");
    }
    let json = serde_json::to_value(&checks[0]).unwrap();
    assert_eq!(json["kind"], "http");
    assert_eq!(json["timeout"], "5s");
    assert_eq!(json["expected_status"], "200-299");
    // Fields of other kinds are not written out.
    assert!(json.get("address").is_none() && json.get("min_days_left").is_none());
}

#[test]
fn refusals_name_the_check_and_the_problem() {
    let cases = [
        ("id = \"API\"\nkind = \"tcp\"\naddress = \"h:1\"", "check id \"API\" is invalid"),
        ("id = \"\"\nkind = \"tcp\"\naddress = \"h:1\"", "check id \"\" is invalid"),
        ("id = \"a\"\naddress = \"h:1\"", "`kind` is required"),
        ("id = \"a\"\nkind = \"udp\"\naddress = \"h:1\"", "unknown variant `udp`"),
        ("id = \"a\"\nkind = \"tcp\"\naddress = \"h:1\"\ncolour = \"red\"", "unknown field `colour`"),
        ("id = \"a\"\nkind = \"http\"", "http checks need `url`"),
        ("id = \"a\"\nkind = \"tcp\"", "tcp checks need `address`"),
        (
            "id = \"a\"\nkind = \"tcp\"\naddress = \"h:1\"\nurl = \"http://h/\"",
            "`url` does not apply to tcp checks",
        ),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nmin_days_left = 3",
            "`min_days_left` does not apply to http",
        ),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\naddress = \"h:1\"",
            "`address` does not apply to http",
        ),
        (
            "id = \"a\"\nkind = \"tls\"\naddress = \"h:1\"\nbody_contains = \"x\"",
            "`body_contains` does not apply to tls",
        ),
        (
            "id = \"a\"\nkind = \"tcp\"\naddress = \"h:1\"\ninterval = \"500ms\"",
            "interval 500ms is shorter than the minimum of 1s",
        ),
        (
            "id = \"a\"\nkind = \"tcp\"\naddress = \"h:1\"\ntimeout = \"0s\"",
            "timeout must be longer than zero",
        ),
        (
            "id = \"a\"\nkind = \"tcp\"\naddress = \"h:1\"\ntimeout = \"5 parsecs\"",
            "invalid duration \"5 parsecs\"",
        ),
        ("id = \"a\"\nkind = \"http\"\nurl = \"not a url\"", "invalid url \"not a url\""),
        ("id = \"a\"\nkind = \"http\"\nurl = \"ftp://h/\"", "scheme \"ftp\" is not http or https"),
        ("id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nmethod = \"get\"", "invalid method \"get\""),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nexpected_status = \"2xx\"",
            "invalid expected_status \"2xx\"",
        ),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nbody_contains = \"\"",
            "body_contains must not be empty",
        ),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nheaders = { \"bad name\" = \"x\" }",
            "invalid header \"bad name\"",
        ),
        (
            "id = \"a\"\nkind = \"http\"\nurl = \"http://h/\"\nheaders = { \"x\" = \"line\\nbreak\" }",
            "invalid header \"x\"",
        ),
        (
            "id = \"a\"\nkind = \"tcp\"\naddress = \"db.internal\"",
            "invalid address \"db.internal\": expected host:port",
        ),
        ("id = \"a\"\nkind = \"tcp\"\naddress = \"db:99999\"", "not a number from 1 to 65535"),
        (
            "id = \"a\"\nkind = \"tls\"\naddress = \"h:443\"\nserver_name = \"not a name!\"",
            "invalid server_name",
        ),
        ("id = \"a\"\nkind = \"tls\"\naddress = \"h:443\"\nmin_days_left = -1", "min_days_left"),
    ];
    for (body, expected) in cases {
        let err = parse_err(&format!("[[checks]]\n{body}\n"));
        assert!(err.contains(expected), "for:\n{body}\nexpected {expected:?} in:\n{err}");
    }
}

#[test]
fn duplicate_ids_are_refused_by_validate_all() {
    let checks = vec![Check::tcp("db", "h:1"), Check::tcp("web", "h:2"), Check::tcp("db", "h:3")];
    assert_eq!(validate_all(&checks), Err(ConfigError::DuplicateId { id: "db".to_owned() }));
}

#[test]
fn checks_built_in_code_are_validated_too() {
    let mut check = Check::http("api", "http://localhost/");
    assert_eq!(check.validate(), Ok(()));
    check.interval = Duration::from_millis(200);
    assert!(matches!(check.validate(), Err(ConfigError::IntervalTooShort { .. })));
    assert_eq!(
        Check::tls("cert", "[::1]:443").validate().map_err(|e| e.to_string()),
        Ok(()),
        "bracketed IPv6 addresses are fine"
    );
    let err = Check::tcp("db", "::1:5432").validate().unwrap_err().to_string();
    assert!(err.contains("brackets"), "{err}");
}
