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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const GRPC: ListenerTls<'static> = ListenerTls { alpn: &[b"h2"], verify_clients: true };

    /// A scratch directory, removed when dropped.
    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let path = std::env::temp_dir().join(format!("faultline-tls-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A self-signed certificate for localhost and its key, PEM.
    fn self_signed() -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn files(cert: PathBuf, key: PathBuf, client_ca: Option<PathBuf>) -> ServerTlsFiles {
        ServerTlsFiles { cert, key, client_ca }
    }

    #[test]
    fn certificate_key_and_client_ca_make_a_configuration() {
        let dir = Dir::new("good");
        let (cert, key) = self_signed();
        let (cert_path, key_path) = (dir.write("c.pem", &cert), dir.write("k.pem", &key));
        let ca = dir.write("ca.pem", &self_signed().0);
        let identity = ServerIdentity::load(&files(cert_path, key_path, Some(ca))).unwrap();
        assert!(identity.verifies_clients());
        let config = identity.server_config(GRPC).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(identity.leaf().is_some());
    }

    #[test]
    fn every_error_names_its_file() {
        let dir = Dir::new("bad");
        let (cert, key) = self_signed();
        let (cert_path, key_path) = (dir.write("c.pem", &cert), dir.write("k.pem", &key));
        let other_key = dir.write("other.pem", &self_signed().1);
        let garbage = dir.write("garbage.pem", "not PEM at all");
        let missing = dir.0.join("missing.pem");
        let error = |f: ServerTlsFiles| match ServerIdentity::load(&f) {
            Err(e) => e.to_string(),
            Ok(identity) => identity.server_config(GRPC).unwrap_err().to_string(),
        };
        let e = error(files(missing.clone(), key_path.clone(), None));
        assert!(e.contains("cannot read the certificate") && e.contains("missing.pem"), "{e}");
        let e = error(files(garbage.clone(), key_path.clone(), None));
        assert!(e.contains("certificate") && e.contains("garbage.pem"), "{e}");
        let e = error(files(cert_path.clone(), garbage.clone(), None));
        assert!(e.contains("key") && e.contains("garbage.pem"), "{e}");
        let e = error(files(cert_path.clone(), other_key, None));
        assert!(e.contains("do not go together") && e.contains("other.pem") && e.contains("c.pem"), "{e}");
        let e = error(files(cert_path, key_path, Some(garbage)));
        assert!(e.contains("client CA") && e.contains("garbage.pem"), "{e}");
    }
}
