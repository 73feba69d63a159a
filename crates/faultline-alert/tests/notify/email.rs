//! The email channel against a real SMTP server (aiosmtpd).

use std::path::PathBuf;
use std::time::Duration;

use faultline_alert::notify::{render_email, ChannelConfig, DeliveryError, DeliveryPolicy, EmailTls};
use faultline_alert::Notification;
use serde_json::Value;

use crate::smtp_server::{SmtpOptions, SmtpServer, TestPki, TlsMode};
use crate::support::{channel, deliver_recording, fast_policy, one_alert};

fn email_config(server: &SmtpServer, tls: EmailTls) -> ChannelConfig {
    ChannelConfig::Email {
        smtp_host: "localhost".into(),
        smtp_port: server.port,
        tls,
        username: None,
        password: None,
        from: "Faultline <alerts@faultline.test>".into(),
        to: vec!["oncall@example.test".into(), "Ops Team <ops@example.test>".into()],
        ca_file: None,
    }
}

fn with_auth(mut config: ChannelConfig, user: &str, pass: &str) -> ChannelConfig {
    if let ChannelConfig::Email { username, password, .. } = &mut config {
        *username = Some(user.into());
        *password = Some(pass.into());
    }
    config
}

fn with_ca(mut config: ChannelConfig, ca: PathBuf) -> ChannelConfig {
    if let ChannelConfig::Email { ca_file, .. } = &mut config {
        *ca_file = Some(ca);
    }
    config
}

fn part<'a>(message: &'a Value, content_type: &str) -> &'a str {
    let parts = message["parts"].as_array().unwrap();
    let part = parts
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type}: {message:#}"));
    assert_eq!(part["charset"], "utf-8");
    part["body"].as_str().unwrap()
}

/// What the server received is what `render_email` made, as a mail client parses it.
fn assert_is_rendered(message: &Value, n: &Notification) {
    let (subject, text, html) = render_email(n);
    assert_eq!(message["subject"], subject.as_str());
    assert_eq!(message["content_type"], "multipart/alternative");
    assert_eq!(message["parts"].as_array().unwrap().len(), 2);
    assert_eq!(part(message, "text/plain").replace("\r\n", "\n"), text);
    assert_eq!(part(message, "text/html").replace("\r\n", "\n"), html);
}

#[tokio::test]
async fn plain_smtp_delivers_a_multipart_message_to_every_recipient() {
    let server = SmtpServer::start(&SmtpOptions::default(), None);
    let mut n = one_alert();
    n.alerts[0].title = "KeyError: 'émail' in <checkout>".into();
    let (result, attempts) =
        deliver_recording(&channel(email_config(&server, EmailTls::None)), &n, &fast_policy(3)).await;
    result.unwrap();
    assert_eq!(attempts.len(), 1);
    assert!(attempts[0].ok);
    assert_eq!(attempts[0].status_code, Some(250));

    let message = server.next_message();
    assert_is_rendered(&message, &n);
    assert_eq!(message["subject"], "[Faultline] [FIRING] KeyError: 'émail' in <checkout>");
    assert!(part(&message, "text/html").contains("KeyError: &#39;émail&#39; in &lt;checkout&gt;"));
    assert_eq!(message["mail_from"], "alerts@faultline.test");
    assert_eq!(message["rcpt_tos"], serde_json::json!(["oncall@example.test", "ops@example.test"]));
    assert_eq!(message["from"], "Faultline <alerts@faultline.test>");
    assert_eq!(message["to"], "oncall@example.test, Ops Team <ops@example.test>");
    assert_eq!(message["message_id"], "<n-0001.ch-1@faultline>");
    assert_ne!(message["date"], "None");
    assert_eq!(message["tls"], false);
    assert_eq!(message["authenticated_as"], Value::Null);
}

#[tokio::test]
async fn authenticates_when_credentials_are_configured() {
    let server =
        SmtpServer::start(&SmtpOptions { auth: Some(("faultline", "pa55")), ..Default::default() }, None);
    let config = with_auth(email_config(&server, EmailTls::None), "faultline", "pa55");
    deliver_recording(&channel(config), &one_alert(), &fast_policy(1)).await.0.unwrap();
    assert_eq!(server.next_message()["authenticated_as"], "faultline");
}

#[tokio::test]
async fn wrong_credentials_are_not_retried() {
    let server =
        SmtpServer::start(&SmtpOptions { auth: Some(("faultline", "pa55")), ..Default::default() }, None);
    let config = with_auth(email_config(&server, EmailTls::None), "faultline", "wrong");
    let (result, attempts) = deliver_recording(&channel(config), &one_alert(), &fast_policy(3)).await;
    assert!(matches!(result, Err(DeliveryError::Rejected { attempts: 1, .. })), "{result:?}");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status_code, Some(535));
    assert!(attempts[0].error.as_deref().unwrap().starts_with("permanent error (535)"), "{attempts:?}");
    server.assert_no_message();
}

#[tokio::test]
async fn starttls_upgrades_before_authenticating() {
    let pki = TestPki::create("starttls");
    let options =
        SmtpOptions { tls: TlsMode::Starttls, auth: Some(("faultline", "pa55")), ..Default::default() };
    let server = SmtpServer::start(&options, Some(&pki));
    let config = with_ca(
        with_auth(email_config(&server, EmailTls::Starttls), "faultline", "pa55"),
        pki.ca_file.clone(),
    );
    let n = one_alert();
    let (result, attempts) = deliver_recording(&channel(config), &n, &fast_policy(1)).await;
    result.unwrap_or_else(|e| panic!("{e}: {attempts:?}"));
    let message = server.next_message();
    assert_eq!(message["tls"], true);
    assert_eq!(message["authenticated_as"], "faultline");
    assert_is_rendered(&message, &n);
}

#[tokio::test]
async fn implicit_tls_from_the_first_byte() {
    let pki = TestPki::create("implicit");
    let server = SmtpServer::start(&SmtpOptions { tls: TlsMode::Implicit, ..Default::default() }, Some(&pki));
    let config = with_ca(email_config(&server, EmailTls::Tls), pki.ca_file.clone());
    let (result, attempts) = deliver_recording(&channel(config), &one_alert(), &fast_policy(1)).await;
    result.unwrap_or_else(|e| panic!("{e}: {attempts:?}"));
    assert_eq!(server.next_message()["tls"], true);
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_once() {
    let pki = TestPki::create("untrusted");
    let server = SmtpServer::start(&SmtpOptions { tls: TlsMode::Starttls, ..Default::default() }, Some(&pki));
    // No ca_file: the test CA is not among the webpki roots.
    let (result, attempts) =
        deliver_recording(&channel(email_config(&server, EmailTls::Starttls)), &one_alert(), &fast_policy(3))
            .await;
    assert!(matches!(result, Err(DeliveryError::Rejected { attempts: 1, .. })), "{result:?}");
    let error = attempts[0].error.as_deref().unwrap();
    assert_eq!(error, "Connection error: invalid peer certificate: UnknownIssuer");
    server.assert_no_message();
}

#[tokio::test]
async fn starttls_is_required_not_opportunistic() {
    // A server without STARTTLS: sending in clear instead would leak the message.
    let server = SmtpServer::start(&SmtpOptions::default(), None);
    let (result, attempts) =
        deliver_recording(&channel(email_config(&server, EmailTls::Starttls)), &one_alert(), &fast_policy(3))
            .await;
    assert!(matches!(result, Err(DeliveryError::Rejected { attempts: 1, .. })), "{result:?} {attempts:?}");
    server.assert_no_message();
}

#[tokio::test]
async fn a_transient_reply_is_retried() {
    let server = SmtpServer::start(&SmtpOptions { fail_data: 1, ..Default::default() }, None);
    let (result, attempts) =
        deliver_recording(&channel(email_config(&server, EmailTls::None)), &one_alert(), &fast_policy(3))
            .await;
    result.unwrap();
    let summary: Vec<_> = attempts.iter().map(|a| (a.attempt, a.ok, a.status_code)).collect();
    assert_eq!(summary, [(1, false, Some(451)), (2, true, Some(250))]);
    assert!(attempts[0].error.as_deref().unwrap().contains("try again later"), "{attempts:?}");
    server.next_message();
}

#[tokio::test]
async fn a_permanent_reply_is_not_retried() {
    let server = SmtpServer::start(&SmtpOptions { reject_rcpt: true, ..Default::default() }, None);
    let (result, attempts) =
        deliver_recording(&channel(email_config(&server, EmailTls::None)), &one_alert(), &fast_policy(3))
            .await;
    assert!(matches!(result, Err(DeliveryError::Rejected { attempts: 1, .. })), "{result:?}");
    assert_eq!(attempts[0].status_code, Some(550));
    server.assert_no_message();
}

#[tokio::test]
async fn a_refused_connection_is_retried() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = ChannelConfig::Email {
        smtp_host: "127.0.0.1".into(),
        smtp_port: port,
        tls: EmailTls::None,
        username: None,
        password: None,
        from: "a@faultline.test".into(),
        to: vec!["b@example.test".into()],
        ca_file: None,
    };
    let policy = DeliveryPolicy { timeout: Duration::from_secs(2), ..fast_policy(2) };
    let (result, attempts) = deliver_recording(&channel(config), &one_alert(), &policy).await;
    assert!(matches!(result, Err(DeliveryError::Exhausted { attempts: 2, .. })), "{result:?}");
    assert_eq!(attempts.len(), 2);
}
