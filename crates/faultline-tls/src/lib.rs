//! The rustls client configurations of every outgoing TLS connection:
//! verifying against the webpki roots (HTTP and TLS checks, alert channels),
//! and accepting any certificate (checks with `tls_insecure`); and, in
//! [`server`], the server configurations of Faultline's own listeners.
//!
//! A crate of its own because both `faultline-probe` and `faultline-alert`
//! need it and neither depends on the other, and `faultline-model` does no
//! I/O. Built once (loading the roots is the costly part) and shared. The ring
//! provider is named explicitly instead of relying on a process-wide
//! default, so nothing depends on which crypto features other crates in
//! the binary happen to enable.

pub mod server;

use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// Whether the server's certificate chain and name are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    WebpkiRoots,
    AnyCertificate,
}

/// Why a configuration could not be built (only possible if the crypto
/// provider were inconsistent).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsError {
    #[error("TLS setup failed: {0}")]
    Setup(#[source] rustls::Error),
}

/// The shared configuration for `trust`, or why it could not be built.
pub fn client_config(trust: Trust) -> Result<Arc<ClientConfig>, TlsError> {
    static VERIFYING: OnceLock<Result<Arc<ClientConfig>, TlsError>> = OnceLock::new();
    static ACCEPTING: OnceLock<Result<Arc<ClientConfig>, TlsError>> = OnceLock::new();
    let cell = match trust {
        Trust::WebpkiRoots => &VERIFYING,
        Trust::AnyCertificate => &ACCEPTING,
    };
    cell.get_or_init(|| build(trust).map(Arc::new)).clone()
}

/// A configuration verifying against the webpki roots and the PEM CA
/// certificates in `extra_ca` (a private CA, e.g. the one that signed
/// Faultline's own certificate). Built on every call: for clients made
/// once, such as a command's.
pub fn client_config_trusting(extra_ca: &[u8]) -> Result<ClientConfig, ClientCaError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(extra_ca) {
        let cert = cert.map_err(|e| ClientCaError::Pem(e.to_string()))?;
        roots.add(cert).map_err(|e| ClientCaError::Pem(e.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(ClientCaError::Pem("no CERTIFICATE block".to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientCaError::Setup(TlsError::Setup(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Why [`client_config_trusting`] failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientCaError {
    #[error("not a usable PEM CA certificate: {0}")]
    Pem(String),
    #[error(transparent)]
    Setup(TlsError),
}

fn build(trust: Trust) -> Result<ClientConfig, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?;
    let config = match trust {
        Trust::WebpkiRoots => {
            let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::AnyCertificate => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Skips chain and name verification but still checks the handshake
/// signatures, so the peer must hold the key of the certificate it shows:
/// the certificate we read the expiry from is really the server's.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
