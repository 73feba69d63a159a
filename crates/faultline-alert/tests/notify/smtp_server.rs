//! A real SMTP server for the email tests: aiosmtpd, run from
//! tests/smtp/server.py with the venv scripts/test installs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const INSTALL_HINT: &str = "crates/faultline-alert/tests/smtp/install.sh \
     (a venv with tests/smtp/requirements.txt; scripts/test runs it)";

#[derive(Default)]
pub struct SmtpOptions {
    pub tls: TlsMode,
    pub auth: Option<(&'static str, &'static str)>,
    /// Answer the first N DATA commands with 451.
    pub fail_data: u32,
    /// Answer every RCPT with 550.
    pub reject_rcpt: bool,
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    #[default]
    None,
    Starttls,
    Implicit,
}

/// A CA and a certificate for `localhost` signed by it, as PEM files.
pub struct TestPki {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl TestPki {
    pub fn create(name: &str) -> TestPki {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("notify-smtp").join(name);
        std::fs::create_dir_all(&dir).unwrap();

        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "Faultline test CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap()).unwrap();

        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca).unwrap();

        let pki = TestPki {
            ca_file: dir.join("ca.pem"),
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
        };
        std::fs::write(&pki.ca_file, ca.pem()).unwrap();
        std::fs::write(&pki.cert_file, cert.pem()).unwrap();
        std::fs::write(&pki.key_file, key.serialize_pem()).unwrap();
        pki
    }
}

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    // Held open: the server stops when its stdin closes.
    _stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
}

impl SmtpServer {
    pub fn start(options: &SmtpOptions, pki: Option<&TestPki>) -> SmtpServer {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = crate_dir.parent().and_then(Path::parent).unwrap();
        let python = workspace.join("target/alert-venv/bin/python");
        assert!(
            python.exists(),
            "{} does not exist: the email tests need the aiosmtpd SMTP server in target/alert-venv. \
             Install it with: {INSTALL_HINT}",
            python.display()
        );
        let script = crate_dir.join("tests/smtp/server.py");
        let mut command = Command::new(&python);
        command.arg(&script);
        match options.tls {
            TlsMode::None => {}
            TlsMode::Starttls => {
                command.arg("--starttls");
            }
            TlsMode::Implicit => {
                command.arg("--implicit-tls");
            }
        }
        if options.tls != TlsMode::None {
            let pki = pki.expect("a TLS mode needs a certificate");
            command.arg("--cert").arg(&pki.cert_file).arg("--key").arg(&pki.key_file);
        }
        if let Some((user, password)) = options.auth {
            command.arg("--auth").arg(format!("{user}:{password}"));
        }
        if options.fail_data > 0 {
            command.arg("--fail-data").arg(options.fail_data.to_string());
        }
        if options.reject_rcpt {
            command.arg("--reject-rcpt");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("starting {}: {e}. Install it with: {INSTALL_HINT}", python.display())
            });
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else { continue };
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let ready = match lines.recv_timeout(Duration::from_secs(20)) {
            Ok(ready) => ready,
            Err(_) => {
                let status = child.try_wait().ok().flatten();
                panic!(
                    "the SMTP server did not start (exit: {status:?}); is aiosmtpd installed? \
                     Install it with: {INSTALL_HINT}"
                )
            }
        };
        let port = ready["ready"].as_u64().expect("a ready line first") as u16;
        SmtpServer { port, child, _stdin: stdin, lines }
    }

    /// The next message the server accepted, as Python's email parser read it.
    pub fn next_message(&self) -> Value {
        let line =
            self.lines.recv_timeout(Duration::from_secs(10)).expect("the SMTP server received a message");
        line["message"].clone()
    }

    pub fn assert_no_message(&self) {
        if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            panic!("unexpected message: {line}");
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
