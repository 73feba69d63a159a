//! A real SMTP server for the email alert tests: aiosmtpd, run from
//! `crates/faultline-alert/tests/smtp/server.py` with the venv scripts/test
//! installs (`target/alert-venv`). Plain SMTP; the TLS modes are covered by
//! the channel's own tests.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub struct SmtpServer {
    pub port: u16,
    child: Child,
    // Held open: the server stops when its stdin closes.
    _stdin: ChildStdin,
    lines: mpsc::Receiver<Value>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let workspace =
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf();
        let python = workspace.join("target/alert-venv/bin/python");
        assert!(
            python.exists(),
            "no SMTP test server: run crates/faultline-alert/tests/smtp/install.sh (scripts/test does)"
        );
        let mut child = Command::new(python)
            .arg(workspace.join("crates/faultline-alert/tests/smtp/server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the SMTP server: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let ready = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("SMTP server not ready: {e}"));
        let port =
            ready["ready"].as_u64().and_then(|p| u16::try_from(p).ok()).unwrap_or_else(|| panic!("{ready}"));
        SmtpServer { port, child, _stdin: stdin, lines }
    }

    /// The next message the server accepted (subject, from, to, parts…).
    pub fn next_message(&self, timeout: Duration) -> Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.lines.recv_timeout(left).unwrap_or_else(|_| panic!("no mail within {timeout:?}"));
            if line.get("message").is_some() {
                return line["message"].clone();
            }
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
