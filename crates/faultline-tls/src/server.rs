//! The rustls server configurations of Faultline's own listeners: a
//! certificate chain and key from PEM files, and optionally a CA whose
//! client certificates the OTLP listeners require.
//!
//! Files are read into [`ServerIdentity`] once per (re)load, and every
//! listener's [`ServerConfig`] is built from it, so a reload either
//! replaces them all or, on any error, none.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// Where the server's certificate, key and (optional) client CA are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerTlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA certificates; when set, clients of the listeners that ask
    /// for it must present a certificate signed by one of them.
    pub client_ca: Option<PathBuf>,
}

/// Why the files did not make a usable configuration. Every variant names
/// the file, so the log says which one to fix.
#[derive(Debug, thiserror::Error)]
pub enum ServerTlsError {
    #[error("cannot read the {what} {path}: {source}")]
    Read { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the {what} {path} is not valid PEM: {message}")]
    Pem { what: &'static str, path: PathBuf, message: String },
    #[error("the {what} {path} holds no {expected}")]
    Missing { what: &'static str, path: PathBuf, expected: &'static str },
    #[error("the certificate {cert} and the key {key} do not go together: {source}")]
    Certificate { cert: PathBuf, key: PathBuf, source: rustls::Error },
    #[error("the client CA {path} cannot verify client certificates: {message}")]
    ClientCa { path: PathBuf, message: String },
    #[error("TLS setup failed: {0}")]
    Setup(#[source] rustls::Error),
}

/// The parsed contents of [`ServerTlsFiles`].
#[derive(Debug)]
pub struct ServerIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    cert_path: PathBuf,
    key_path: PathBuf,
    client_roots: Option<(Arc<RootCertStore>, PathBuf)>,
}

/// What one listener asks of its TLS.
#[derive(Debug, Clone, Copy)]
pub struct ListenerTls<'a> {
    /// ALPN protocols offered, most wanted first (`h2` for gRPC: clients
    /// such as grpc-go refuse a TLS connection that did not negotiate it).
    pub alpn: &'a [&'a [u8]],
    /// Whether a client certificate signed by the client CA is required
    /// (only when the files name a client CA).
    pub verify_clients: bool,
}

impl ServerIdentity {
    /// Reads and parses the files; nothing is built yet.
    pub fn load(files: &ServerTlsFiles) -> Result<ServerIdentity, ServerTlsError> {
        let chain = read_certificates("certificate", &files.cert)?;
        let key = read_key(&files.key)?;
        let client_roots = match &files.client_ca {
            Some(path) => Some((Arc::new(read_roots(path)?), path.clone())),
            None => None,
        };
        Ok(ServerIdentity {
            chain,
            key,
            cert_path: files.cert.clone(),
            key_path: files.key.clone(),
            client_roots,
        })
    }

    /// The leaf certificate, DER-encoded (what a client sees first).
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.chain.first()
    }

    /// Whether a client CA was given.
    pub fn verifies_clients(&self) -> bool {
        self.client_roots.is_some()
    }

    /// One listener's configuration; fails if the key does not match the
    /// certificate.
    pub fn server_config(&self, listener: ListenerTls<'_>) -> Result<Arc<ServerConfig>, ServerTlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(ServerTlsError::Setup)?;
        let builder = match (&self.client_roots, listener.verify_clients) {
            (Some((roots, path)), true) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(roots.clone(), provider).build().map_err(
                        |e| ServerTlsError::ClientCa { path: path.clone(), message: e.to_string() },
                    )?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config =
            builder.with_single_cert(self.chain.clone(), self.key.clone_key()).map_err(|source| {
                ServerTlsError::Certificate {
                    cert: self.cert_path.clone(),
                    key: self.key_path.clone(),
                    source,
                }
            })?;
        config.alpn_protocols = listener.alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ServerTlsError> {
    std::fs::read(path).map_err(|source| ServerTlsError::Read { what, path: path.to_path_buf(), source })
}

fn read_certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, ServerTlsError> {
    let bytes = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ServerTlsError::Pem { what, path: path.to_path_buf(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(ServerTlsError::Missing {
            what,
            path: path.to_path_buf(),
            expected: "CERTIFICATE block",
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, ServerTlsError> {
    let what = "key";
    let bytes = read(what, path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            ServerTlsError::Missing { what, path: path.to_path_buf(), expected: "PRIVATE KEY block" }
        }
        other => ServerTlsError::Pem { what, path: path.to_path_buf(), message: other.to_string() },
    })
}

fn read_roots(path: &Path) -> Result<RootCertStore, ServerTlsError> {
    let what = "client CA";
    let mut roots = RootCertStore::empty();
    for cert in read_certificates(what, path)? {
        roots
            .add(cert)
            .map_err(|e| ServerTlsError::ClientCa { path: path.to_path_buf(), message: e.to_string() })?;
    }
    Ok(roots)
}
