//! A TLS server whose certificate expires when a test says, for the
//! certificate checks and alerts.

use std::sync::Arc;

/// A TLS server for `localhost` whose certificate expires in `days` days.
pub fn tls_server(runtime: &tokio::runtime::Runtime, days: i64) -> u16 {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let now = time::OffsetDateTime::now_utc();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(days);
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
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let port = listener.local_addr().unwrap().port();
    runtime.spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    port
}

/// A certificate authority made for one test: it issues server
/// certificates for `localhost` and client certificates, in PEM files as
/// an operator would have them.
pub struct TestCa {
    params: rcgen::CertificateParams,
    key: rcgen::KeyPair,
    /// The CA certificate, PEM: what clients (or the server) trust.
    pub pem: String,
}

/// A certificate the CA issued, with its key.
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    /// The certificate, DER: what a peer sees in the handshake.
    pub der: Vec<u8>,
}

impl Issued {
    /// Certificate and key in one PEM text, as reqwest's `Identity` takes them.
    pub fn identity_pem(&self) -> String {
        format!("{}{}", self.cert_pem, self.key_pem)
    }

    /// Writes `<name>.crt` and `<name>.key` into `dir`; their paths.
    pub fn write(&self, dir: &std::path::Path, name: &str) -> (String, String) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        (cert.to_str().unwrap().to_string(), key.to_str().unwrap().to_string())
    }
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).unwrap();
        let pem = pem("CERTIFICATE", cert.der());
        TestCa { params, key, pem }
    }

    /// Writes the CA certificate to `dir/<name>`; its path.
    pub fn write(&self, dir: &std::path::Path, name: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).unwrap();
        path.to_str().unwrap().to_string()
    }

    /// A server certificate for `localhost` and 127.0.0.1, named
    /// `common_name`, with `serial`: two of them tell reloads apart.
    pub fn server(&self, common_name: &str, serial: u64) -> Issued {
        let mut params =
            rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params, common_name, serial)
    }

    /// A client certificate named `common_name`.
    pub fn client(&self, common_name: &str) -> Issued {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params, common_name, 7)
    }

    fn issue(&self, mut params: rcgen::CertificateParams, common_name: &str, serial: u64) -> Issued {
        params.distinguished_name.push(rcgen::DnType::CommonName, common_name);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        let key = rcgen::KeyPair::generate().unwrap();
        let issuer = rcgen::Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        Issued {
            cert_pem: pem("CERTIFICATE", cert.der()),
            key_pem: pem("PRIVATE KEY", &key.serialize_der()),
            der: cert.der().to_vec(),
        }
    }
}

/// DER in a PEM block (rcgen's own PEM output is behind a feature this
/// package does not enable).
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = text.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// What a TLS client trusting `ca_pem` sees on `127.0.0.1:port` (as
/// `localhost`): the server's leaf certificate (DER) and the negotiated
/// ALPN protocol; an error when the handshake fails.
pub fn handshake(port: u16, ca_pem: &str, alpn: &[&[u8]]) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    socket.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut socket).map_err(|e| e.to_string())?;
    }
    let leaf = connection.peer_certificates().and_then(|c| c.first()).ok_or("no peer certificate")?;
    Ok((leaf.to_vec(), connection.alpn_protocol().map(<[u8]>::to_vec)))
}
