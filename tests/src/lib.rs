//! The end-to-end harness: starts the real `faultline` binary on free
//! ports with its own data directory, waits until it is ready, and talks
//! to it over real sockets.
#![allow(clippy::unwrap_used)]

pub mod api;
pub mod browser;
pub mod demo;
pub mod otlp;
pub mod receiver;
pub mod rust_sdk;
pub mod sdk_app;
pub mod smtp;
pub mod soak;
pub mod tls;
pub mod tmpfs;
pub mod web;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The workspace's root directory (where README.md and target/ are).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf()
}

/// The `faultline` binary of this workspace. This package cannot depend on
/// a binary, so `cargo test -p faultline-tests` alone would not rebuild it:
/// it is rebuilt here when missing or older than any source file.
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>/faultline
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join("faultline");
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let workspace = workspace();
    let newest = ["crates", "proto"].iter().filter_map(|d| newest_file(&workspace.join(d))).max();
    if built.is_none() || newest > built {
        // Build in the profile of the running test or bench (target/<profile>/).
        let profile = profile_dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
        let profile_flag: Vec<String> = match profile {
            "debug" => Vec::new(),
            "release" => vec!["--release".into()],
            other => vec!["--profile".into(), other.into()],
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "faultline-server", "--bin", "faultline"])
            .args(&profile_flag)
            .current_dir(workspace)
            .status()
            .unwrap();
        assert!(status.success(), "building faultline failed");
    }
    bin
}

/// The latest modification time of the files under `dir`.
fn newest_file(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let time =
            if path.is_dir() { newest_file(&path) } else { entry.metadata().and_then(|m| m.modified()).ok() };
        newest = newest.max(time);
    }
    newest
}

/// Polls `done` until it holds; fails with `what()` after `timeout`.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool, what: impl Fn() -> String) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{}", what());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running faultline server.
pub struct Server {
    child: Option<Child>,
    pub data_dir: PathBuf,
    pub grpc_port: u16,
    pub http_port: u16,
    pub api_port: u16,
    extra_args: Vec<String>,
    /// `https` when the server was started with TLS on every listener.
    scheme: &'static str,
    /// The client of the API helpers (trusting the test CA over TLS).
    client: reqwest::blocking::Client,
    _tmp: TempDir,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra `faultline serve` flags.
    pub fn start_with(extra: &[&str]) -> Server {
        Server::start_inner(None, extra, None)
    }

    /// Starts with extra flags that turn TLS on for every listener; the
    /// API helpers then speak HTTPS, trusting the PEM CA `ca_pem` (the
    /// certificate must be for `localhost`).
    pub fn start_tls(extra: &[&str], ca_pem: &str) -> Server {
        Server::start_inner(None, extra, Some(ca_pem))
    }

    /// Starts over the given data directory (a fresh one when `None`).
    pub fn start_in(data_dir: Option<PathBuf>, extra: &[&str]) -> Server {
        Server::start_inner(data_dir, extra, None)
    }

    fn start_inner(data_dir: Option<PathBuf>, extra: &[&str], ca_pem: Option<&str>) -> Server {
        let (scheme, client) = match ca_pem {
            None => ("http", reqwest::blocking::Client::new()),
            Some(pem) => {
                let ca = reqwest::Certificate::from_pem(pem.as_bytes()).unwrap();
                ("https", reqwest::blocking::Client::builder().add_root_certificate(ca).build().unwrap())
            }
        };
        let tmp = TempDir::new("faultline-e2e");
        let mut server = Server {
            child: None,
            data_dir: data_dir.unwrap_or_else(|| tmp.path().join("data")),
            grpc_port: free_port(),
            http_port: free_port(),
            api_port: free_port(),
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            scheme,
            client,
            _tmp: tmp,
        };
        // A port free when picked can be taken by another test before the
        // server binds it; a fresh server then simply gets new ports.
        for _ in 0..4 {
            if server.try_spawn() {
                return server;
            }
            eprintln!("faultline exited before it was ready; retrying on other ports");
            server.grpc_port = free_port();
            server.http_port = free_port();
            server.api_port = free_port();
        }
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        assert!(self.try_spawn(), "faultline exited before it was ready");
    }

    /// Starts the binary and waits until it is ready; false if it exited first.
    fn try_spawn(&mut self) -> bool {
        let child = Command::new(binary())
            .arg("serve")
            .args(["--otlp-grpc-addr", &format!("127.0.0.1:{}", self.grpc_port)])
            .args(["--otlp-http-addr", &format!("127.0.0.1:{}", self.http_port)])
            .args(["--api-addr", &format!("127.0.0.1:{}", self.api_port)])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env("FAULTLINE_LOG", std::env::var("FAULTLINE_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.client.get(self.api_url("/readyz")).send() {
                if r.status().is_success() {
                    return true;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                eprintln!("faultline exited before it was ready: {status}");
                self.child = None;
                return false;
            }
            assert!(Instant::now() < deadline, "faultline did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The host in URLs: `localhost` over TLS, the name test certificates carry.
    fn host(&self) -> &'static str {
        if self.scheme == "https" {
            "localhost"
        } else {
            "127.0.0.1"
        }
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("{}://{}:{}{path}", self.scheme, self.host(), self.api_port)
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host(), self.grpc_port)
    }

    pub fn http_url(&self, path: &str) -> String {
        format!("{}://{}:{}{path}", self.scheme, self.host(), self.http_port)
    }

    /// The client the API helpers use (it trusts the test CA over TLS).
    pub fn client(&self) -> &reqwest::blocking::Client {
        &self.client
    }

    /// GET a JSON API path; panics on a non-2xx answer.
    pub fn get(&self, path: &str) -> Value {
        let response = self.client.get(self.api_url(path)).send().unwrap();
        let status = response.status();
        let body: Value = response.json().unwrap();
        assert!(status.is_success(), "GET {path} -> {status}: {body}");
        body
    }

    /// GET returning status and body, for error cases.
    pub fn get_raw(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.api_url(path)).send().unwrap();
        let status = response.status().as_u16();
        (status, response.json().unwrap_or(Value::Null))
    }

    /// Polls `path` until `check` accepts the body (events become
    /// searchable within the index commit interval).
    pub fn wait_for(&self, path: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = self.get(path);
            if check(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "timed out waiting on {path}; last answer: {body}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// All groups, newest first.
    pub fn groups(&self) -> Vec<Value> {
        self.get("/api/v1/groups?limit=1000")["groups"].as_array().unwrap().clone()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for a clean exit and returns its status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -TERM failed");
        child.wait().unwrap()
    }

    /// SIGTERM, then waits up to `limit` for the exit; after that the
    /// process is killed with SIGKILL and `None` returned.
    pub fn terminate_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -TERM failed");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        None
    }

    /// Starts again on the same ports and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
