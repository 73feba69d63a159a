//! TCP checks against a listener that is closed mid-test.

use std::time::Duration;

use faultline_probe::{run, Check};
use tokio::net::TcpListener;

#[tokio::test]
async fn passes_while_listening_then_is_refused_once_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut check = Check::tcp("db", addr.to_string());
    check.timeout = Duration::from_secs(5);

    let result = run(&check).await;
    assert!(result.ok, "{result:?}");
    assert_eq!((result.status_code, result.error.as_deref(), result.tls_days_left), (None, None, None));

    drop(listener);
    let result = run(&check).await;
    assert!(!result.ok);
    assert_eq!(result.error.as_deref(), Some("connection refused"));
}

#[tokio::test]
async fn names_are_resolved() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let check = Check::tcp("db", format!("localhost:{}", listener.local_addr().unwrap().port()));
    assert!(run(&check).await.ok);
}
