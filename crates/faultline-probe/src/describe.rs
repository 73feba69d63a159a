//! Turns I/O, TLS and HTTP-client errors into the short phrases a person
//! expects on a status page ("connection refused"), instead of the nested
//! chains the libraries produce ("error sending request for url (...):
//! client error (Connect): tcp connect error: Connection refused (os error 111)").

use std::error::Error;
use std::io;

pub(crate) fn io_error(error: &io::Error) -> String {
    // TLS failures arrive as I/O errors wrapping a rustls error, sometimes
    // under another I/O error (hyper-rustls).
    let mut inner: Option<&(dyn Error + 'static)> = error.get_ref().map(|e| e as &(dyn Error + 'static));
    while let Some(e) = inner {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_error(tls);
        }
        inner = match e.downcast_ref::<io::Error>() {
            Some(io) => io.get_ref().map(|e| e as &(dyn Error + 'static)),
            None => e.source(),
        };
    }
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset by peer".to_owned(),
        io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        io::ErrorKind::TimedOut => "connection timed out".to_owned(),
        io::ErrorKind::HostUnreachable => "host unreachable".to_owned(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".to_owned(),
        io::ErrorKind::UnexpectedEof => "connection closed by peer".to_owned(),
        _ => without_os_code(&error.to_string()),
    }
}

pub(crate) fn tls_error(error: &rustls::Error) -> String {
    format!("TLS error: {error}")
}

/// The most specific description found in an error's source chain.
pub(crate) fn chain(error: &(dyn Error + 'static)) -> String {
    let mut current: Option<&(dyn Error + 'static)> = Some(error);
    let mut deepest = error;
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return io_error(io);
        }
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return tls_error(tls);
        }
        deepest = e;
        current = e.source();
    }
    without_os_code(&deepest.to_string())
}

/// "Connection refused (os error 111)" -> "Connection refused": the number
/// differs between systems and helps nobody reading a status page.
fn without_os_code(text: &str) -> String {
    match text.find(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text.to_owned(),
    }
}
