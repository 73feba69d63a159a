//! Local targets for the checks: an HTTP server whose answer can be
//! switched, a TCP listener that never answers, a closed port, and a TLS
//! server with a freshly generated certificate.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use axum::Router;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The answer the HTTP target gives, and what it last received.
#[derive(Default)]
pub struct Answer {
    pub status: AtomicU16,
    pub body: Mutex<String>,
    pub last_token: Mutex<Option<String>>,
}

pub struct HttpTarget {
    pub addr: SocketAddr,
    pub answer: Arc<Answer>,
    task: JoinHandle<()>,
}

impl HttpTarget {
    /// Answers `200 "status: ok"` on `/` until told otherwise; `/moved`
    /// redirects to `/`.
    pub async fn start() -> Self {
        let answer = Arc::new(Answer { status: AtomicU16::new(200), ..Answer::default() });
        *answer.body.lock().unwrap() = "status: ok".to_owned();
        let app = Router::new()
            .route("/", get(respond))
            .route("/moved", get(|| async { (StatusCode::FOUND, [("location", "/")], "") }))
            .with_state(answer.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, answer, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn set(&self, status: u16, body: &str) {
        self.answer.status.store(status, Ordering::SeqCst);
        *self.answer.body.lock().unwrap() = body.to_owned();
    }
}

impl Drop for HttpTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn respond(State(answer): State<Arc<Answer>>, headers: HeaderMap) -> (StatusCode, String) {
    let token = headers.get("x-probe-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
    *answer.last_token.lock().unwrap() = token;
    let status = StatusCode::from_u16(answer.status.load(Ordering::SeqCst)).unwrap();
    (status, answer.body.lock().unwrap().clone())
}

/// A port nothing listens on: bound, read and released.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// Accepts connections and never says a word: for timeouts.
pub struct SilentTarget {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SilentTarget {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Self { addr, task }
    }
}

impl Drop for SilentTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A TLS server for `localhost` with a self-signed certificate valid from
/// a day ago until `days_left` days from now (negative: already expired).
/// After the handshake it answers any request with `200 ok`, so it serves
/// HTTPS checks too.
pub struct TlsTarget {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsTarget {
    pub async fn start(days_left: i64) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.not_before = now - time::Duration::days(days_left.abs() + 1);
        params.not_after = now + time::Duration::days(days_left);
        let cert = params.self_signed(&key).unwrap();

        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let config =
            rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, private)
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_tls(acceptor.clone(), stream));
            }
        });
        Self { addr, task }
    }

    /// `localhost:port`, so the certificate's name matches.
    pub fn address(&self) -> String {
        format!("localhost:{}", self.addr.port())
    }
}

impl Drop for TlsTarget {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_tls(acceptor: tokio_rustls::TlsAcceptor, stream: TcpStream) {
    // A handshake the client aborts (untrusted certificate) is expected.
    let Ok(mut tls) = acceptor.accept(stream).await else { return };
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if tokio::time::timeout(Duration::from_secs(5), read).await != Ok(true) {
        return;
    }
    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").await;
    let _ = tls.shutdown().await;
}
