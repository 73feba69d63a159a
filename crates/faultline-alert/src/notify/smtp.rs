//! The SMTP transport behind the email channel.

use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::channel::{load_ca_file, parse_mailbox, EmailTls};
use super::email::render_email;
use super::error::SenderError;
use super::outcome::Outcome;
use crate::Notification;

/// The email channel's settings, borrowed from its configuration.
pub(crate) struct SmtpSettings<'a> {
    pub host: &'a str,
    pub port: u16,
    pub tls: EmailTls,
    pub credentials: Option<(&'a str, &'a str)>,
    pub from: &'a str,
    pub to: &'a [String],
    pub ca_file: Option<&'a Path>,
}

/// One message, built once and sent on each attempt; a transport per
/// delivery, so no pooled connection outlives the runtime.
pub(crate) struct SmtpSender {
    prepared: Result<(AsyncSmtpTransport<Tokio1Executor>, Message), SenderError>,
}

impl SmtpSender {
    pub fn new(
        settings: &SmtpSettings<'_>,
        notification: &Notification,
        channel_id: &str,
        timeout: Duration,
    ) -> Self {
        let prepared = transport(settings, timeout)
            .and_then(|t| message(settings, notification, channel_id).map(|m| (t, m)));
        SmtpSender { prepared }
    }

    /// A message rendered elsewhere (reports), over the same transport.
    /// `message_id` is the left part of the Message-ID, stable across attempts.
    pub fn with_content(
        settings: &SmtpSettings<'_>,
        (subject, text, html): (String, String, String),
        message_id: &str,
        timeout: Duration,
    ) -> Self {
        let prepared = transport(settings, timeout)
            .and_then(|t| build_message(settings, subject, text, html, message_id).map(|m| (t, m)));
        SmtpSender { prepared }
    }

    pub async fn attempt(&self, timeout: Duration) -> Outcome {
        let (transport, message) = match &self.prepared {
            Ok(prepared) => prepared,
            Err(e) => return Outcome::permanent(None, e.to_string()),
        };
        // lettre's timeout bounds each read and write; this bounds the
        // whole exchange, as the policy's timeout promises.
        match tokio::time::timeout(timeout, transport.send(message.clone())).await {
            Err(_) => Outcome::transient(None, format!("timed out after {timeout:?}"), None),
            Ok(Ok(response)) => Outcome::ok(Some(u16::from(response.code()))),
            Ok(Err(e)) => judge(&e),
        }
    }
}

/// A 4xx reply, a dropped or refused connection, or a timeout may pass; a
/// 5xx reply (unknown recipient, bad credentials, relaying denied), a TLS
/// failure (certificate, or a TLS mode the port does not speak) or a
/// client-side refusal (no common AUTH mechanism) will not.
fn judge(error: &lettre::transport::smtp::Error) -> Outcome {
    let code = error.status().map(u16::from);
    let message = describe(error);
    if error.is_permanent() || error.is_tls() || error.is_client() || tls_failure(error) {
        Outcome::permanent(code, message)
    } else {
        Outcome::transient(code, message, None)
    }
}

/// lettre reports a failed handshake (an unknown CA, a wrong host name)
/// as a connection error; the rustls error inside tells it apart from a
/// refused or dropped connection. I/O errors hide a wrapped error from
/// `source()`, so they are opened with `get_ref()`.
fn tls_failure(error: &lettre::transport::smtp::Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(e) = current {
        if e.is::<rustls::Error>() {
            return true;
        }
        current = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

/// The error and its causes, each said once: lettre's layers repeat
/// themselves ("Connection error: Connection error: ...").
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source().and_then(|s| s.source());
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in text.split(": ") {
        if segments.last() != Some(&segment) {
            segments.push(segment);
        }
    }
    segments.join(": ")
}

fn transport(
    settings: &SmtpSettings<'_>,
    timeout: Duration,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, SenderError> {
    let tls = match settings.tls {
        EmailTls::None => Tls::None,
        mode => {
            // The certificate is checked against the configured host name.
            let mut parameters = TlsParameters::builder(settings.host.to_string());
            if let Some(path) = settings.ca_file {
                let certificates = load_ca_file(path)
                    .map_err(|reason| SenderError::CaFile { path: path.display().to_string(), reason })?;
                for der in certificates {
                    let certificate = Certificate::from_der(der.to_vec()).map_err(|source| {
                        SenderError::Certificate { path: path.display().to_string(), source }
                    })?;
                    parameters = parameters.add_root_certificate(certificate);
                }
            }
            let parameters = parameters.build_rustls().map_err(SenderError::SmtpTls)?;
            if mode == EmailTls::Tls {
                Tls::Wrapper(parameters)
            } else {
                Tls::Required(parameters)
            }
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(timeout));
    if let Some((username, password)) = settings.credentials {
        builder = builder.credentials(Credentials::new(username.to_string(), password.to_string()));
    }
    Ok(builder.build())
}

fn message(settings: &SmtpSettings<'_>, n: &Notification, channel_id: &str) -> Result<Message, SenderError> {
    let (subject, text, html) = render_email(n);
    build_message(settings, subject, text, html, &format!("{}.{}", id_part(&n.id), id_part(channel_id)))
}

fn build_message(
    settings: &SmtpSettings<'_>,
    subject: String,
    text: String,
    html: String,
    message_id: &str,
) -> Result<Message, SenderError> {
    let from: Mailbox = parse_mailbox("from", settings.from)?;
    let mut builder = Message::builder()
        .from(from)
        .subject(subject)
        // Stable across attempts: if an attempt's reply was lost after the
        // server took the message, the duplicate can be recognised.
        .message_id(Some(format!("<{message_id}@faultline>")))
        .user_agent(concat!("Faultline ", env!("CARGO_PKG_VERSION")).to_string());
    for address in settings.to {
        builder = builder.to(parse_mailbox("to", address)?);
    }
    builder.multipart(MultiPart::alternative_plain_html(text, html)).map_err(SenderError::Email)
}

/// Only what a Message-ID's dot-atom allows.
pub(crate) fn id_part(id: &str) -> String {
    let cleaned: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || "-_".contains(c) { c } else { '-' }).collect();
    if cleaned.is_empty() {
        "none".to_string()
    } else {
        cleaned
    }
}
