//! TLS on the server's own listeners: the current rustls configuration of
//! each listener, swapped whole on SIGHUP, and the accept loop that
//! hands axum and tonic connections whose handshake is done.
//!
//! A reload rebuilds every listener's configuration from the files and
//! swaps them only if all were built, so a bad new file leaves the old
//! certificate (and client CA) serving. Swapping the whole
//! `ServerConfig` rather than only the certificate also picks up a new
//! client CA. Connections already open keep the certificate they
//! started with.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use faultline_tls::server::{ListenerTls, ServerIdentity, ServerTlsError, ServerTlsFiles};
use rustls::ServerConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// A client that has not finished its handshake by then is dropped, so
/// idle or slow connections cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPT_BACKLOG: usize = 64;

/// gRPC needs HTTP/2, negotiated by ALPN; an OTLP client (the Collector,
/// grpc-go) refuses a TLS connection without it.
pub const OTLP_GRPC: ListenerTls<'static> = ListenerTls { alpn: &[b"h2"], verify_clients: true };
/// axum here speaks HTTP/1.1 only (its `http2` feature is off).
pub const OTLP_HTTP: ListenerTls<'static> = ListenerTls { alpn: &[b"http/1.1"], verify_clients: true };
/// Browsers and API clients do not carry client certificates: never asked.
pub const API: ListenerTls<'static> = ListenerTls { alpn: &[b"http/1.1"], verify_clients: false };

/// Which listeners serve TLS, with the files they serve it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub files: ServerTlsFiles,
    pub otlp_grpc: bool,
    pub otlp_http: bool,
    pub api: bool,
}

/// One listener's current configuration, replaced on reload.
#[derive(Clone)]
pub struct Acceptor {
    what: &'static str,
    kind: ListenerTls<'static>,
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl Acceptor {
    fn tokio_acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let config = self.current.read().unwrap_or_else(|p| p.into_inner()).clone();
        tokio_rustls::TlsAcceptor::from(config)
    }

    fn replace(&self, config: Arc<ServerConfig>) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = config;
    }
}

/// Every listener's acceptor and the files they are built from.
pub struct ServerTls {
    files: ServerTlsFiles,
    acceptors: Vec<Acceptor>,
}

impl ServerTls {
    /// Reads the files and builds the configuration of every listener in
    /// `listeners` (name and kind).
    pub fn load(
        files: ServerTlsFiles,
        listeners: &[(&'static str, ListenerTls<'static>)],
    ) -> Result<ServerTls, ServerTlsError> {
        let identity = ServerIdentity::load(&files)?;
        let acceptors = listeners
            .iter()
            .map(|&(what, kind)| {
                let config = identity.server_config(kind)?;
                Ok(Acceptor { what, kind, current: Arc::new(RwLock::new(config)) })
            })
            .collect::<Result<Vec<_>, ServerTlsError>>()?;
        Ok(ServerTls { files, acceptors })
    }

    /// The acceptor of the listener called `what`, if it serves TLS.
    pub fn acceptor(&self, what: &str) -> Option<Acceptor> {
        self.acceptors.iter().find(|a| a.what == what).cloned()
    }

    /// Reads the files again; every listener takes the new configuration,
    /// or, on any error, none does.
    pub fn reload(&self) -> Result<(), ServerTlsError> {
        let identity = ServerIdentity::load(&self.files)?;
        let configs =
            self.acceptors.iter().map(|a| identity.server_config(a.kind)).collect::<Result<Vec<_>, _>>()?;
        for (acceptor, config) in self.acceptors.iter().zip(configs) {
            acceptor.replace(config);
        }
        Ok(())
    }

    /// Reloads on every SIGHUP for as long as the server runs. Installed
    /// only with TLS on, so without it SIGHUP keeps its default meaning.
    pub fn reload_on_sighup(self: Arc<Self>) -> std::io::Result<()> {
        let mut hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let tls = self.clone();
                let reloaded = tokio::task::spawn_blocking(move || tls.reload()).await;
                match reloaded {
                    Ok(Ok(())) => tracing::info!(
                        cert = %self.files.cert.display(),
                        "SIGHUP: TLS certificate reloaded; new connections use it"
                    ),
                    Ok(Err(e)) => tracing::error!("SIGHUP: keeping the TLS certificate in use: {e}"),
                    Err(e) => tracing::error!("SIGHUP: TLS reload failed: {e}"),
                }
            }
        });
        Ok(())
    }
}

/// A listener's connections after their TLS handshake, accepted and
/// handshaken by a task of its own: one slow or failing client never
/// holds up the others, and a failed handshake is only logged.
pub struct TlsIncoming {
    connections: mpsc::Receiver<(TlsConnection, SocketAddr)>,
    local: SocketAddr,
}

impl TlsIncoming {
    /// Starts accepting on `listener`; stops when this is dropped.
    pub fn start(listener: TcpListener, acceptor: Acceptor) -> std::io::Result<TlsIncoming> {
        let local = listener.local_addr()?;
        let (sender, connections) = mpsc::channel(ACCEPT_BACKLOG);
        tokio::spawn(accept_loop(listener, acceptor, sender));
        Ok(TlsIncoming { connections, local })
    }

    /// The connections as tonic's `serve_with_incoming` takes them.
    pub fn into_stream(self) -> impl tokio_stream::Stream<Item = std::io::Result<TlsConnection>> {
        use tokio_stream::StreamExt;
        tokio_stream::wrappers::ReceiverStream::new(self.connections).map(|(connection, _)| Ok(connection))
    }
}

impl axum::serve::Listener for TlsIncoming {
    type Io = TlsConnection;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accept loop only ends once this is dropped; never here.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Acceptor,
    sender: mpsc::Sender<(TlsConnection, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            _ = sender.closed() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(handshake(stream, peer, acceptor.clone(), sender.clone()));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(listener = acceptor.what, error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Acceptor,
    sender: mpsc::Sender<(TlsConnection, SocketAddr)>,
) {
    let local = stream.local_addr().ok();
    let tls = acceptor.tokio_acceptor();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
        Ok(Ok(stream)) => {
            let connection = TlsConnection { stream, local, peer };
            let _ = sender.send((connection, peer)).await;
        }
        // Plain HTTP on a TLS port, an untrusted or missing client
        // certificate, scanners: the client's problem, not the server's.
        Ok(Err(e)) => tracing::debug!(listener = acceptor.what, %peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(listener = acceptor.what, %peer, "TLS handshake timed out"),
    }
}

/// A server-side TLS connection; its own type so that tonic can be told
/// its addresses (`Connected`) without tonic's TLS features.
pub struct TlsConnection {
    stream: TlsStream<TcpStream>,
    local: Option<SocketAddr>,
    peer: SocketAddr,
}

impl tonic::transport::server::Connected for TlsConnection {
    type ConnectInfo = tonic::transport::server::TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        tonic::transport::server::TcpConnectInfo { local_addr: self.local, remote_addr: Some(self.peer) }
    }
}

impl AsyncRead for TlsConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
