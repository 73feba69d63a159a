//! TLS expiry checks against a server with a certificate made by rcgen.

use std::time::Duration;

use faultline_model::now_nanos;
use faultline_probe::{run, Check, Probe};

use crate::support::{SilentTarget, TlsTarget};

fn tls_check(address: String, edit: impl FnOnce(&mut faultline_probe::TlsProbe)) -> Check {
    let mut check = Check::tls("cert", address);
    check.timeout = Duration::from_secs(5);
    if let Probe::Tls(tls) = &mut check.probe {
        edit(tls);
    }
    check
}

#[tokio::test]
async fn reports_days_left_for_an_untrusted_certificate() {
    let target = TlsTarget::start(30).await;
    let result = run(&tls_check(target.address(), |_| {})).await;
    assert!(result.ok, "{result:?}");
    let days = result.tls_days_left.unwrap();
    // rcgen drops sub-second precision and a second or two pass.
    assert!((days - 30.0).abs() < 0.01, "{days}");
    let not_after = result.tls_not_after.unwrap();
    let expected = now_nanos() + 30 * 86_400 * 1_000_000_000;
    assert!((not_after - expected).abs() < 60 * 1_000_000_000, "{not_after} vs {expected}");
}

#[tokio::test]
async fn fails_when_fewer_days_are_left_than_required() {
    let target = TlsTarget::start(3).await;
    let result = run(&tls_check(target.address(), |t| t.min_days_left = 14)).await;
    assert!(!result.ok);
    // 3 days minus the seconds since the certificate was made: 2 whole days.
    assert_eq!(result.error.as_deref(), Some("certificate expires in 2 days (< 14)"));
    assert!((result.tls_days_left.unwrap() - 3.0).abs() < 0.01);

    let lenient = run(&tls_check(target.address(), |t| t.min_days_left = 2)).await;
    assert!(lenient.ok, "{lenient:?}");
}

#[tokio::test]
async fn an_expired_certificate_fails_with_how_long_ago() {
    let target = TlsTarget::start(-5).await;
    let result = run(&tls_check(target.address(), |t| t.min_days_left = 0)).await;
    assert!(!result.ok);
    assert_eq!(result.error.as_deref(), Some("certificate expired 5 days ago"));
    assert!(result.tls_days_left.unwrap() < -4.99);
}

#[tokio::test]
async fn verify_turns_on_normal_verification() {
    let target = TlsTarget::start(30).await;
    let result = run(&tls_check(target.address(), |t| t.verify = true)).await;
    assert!(!result.ok);
    assert_eq!(result.tls_days_left, None);
    let error = result.error.unwrap_or_default();
    assert!(error.starts_with("TLS error: invalid peer certificate"), "{error}");
}

#[tokio::test]
async fn server_name_overrides_the_host_part() {
    let target = TlsTarget::start(30).await;
    // Connect by IP but ask for (and, with verify, would check) "localhost".
    let result = run(&tls_check(format!("127.0.0.1:{}", target.addr.port()), |t| {
        t.server_name = Some("localhost".to_owned());
    }))
    .await;
    assert!(result.ok, "{result:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_the_handshake_times_out() {
    let silent = SilentTarget::start().await;
    let mut check = tls_check(silent.addr.to_string(), |_| {});
    check.timeout = Duration::from_millis(300);
    let result = run(&check).await;
    assert_eq!((result.ok, result.error.as_deref()), (false, Some("timed out after 300ms")));
}
