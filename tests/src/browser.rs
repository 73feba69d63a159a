//! A small synchronous W3C WebDriver client for the browser tests: it
//! starts Debian's `chromedriver` on a free port, opens one headless
//! Chromium session with a fresh profile, and offers what a test needs to
//! drive pages (find, click, type, select, run a script, read the console,
//! save screenshots). It knows no page of Faultline: tests bring their own
//! selectors.
//!
//! Every call panics with context on failure, as test assertions do; the
//! `*_now` and `text_of` helpers answer without panicking, for polling.
//! Dropping the browser closes the session and kills chromedriver, also
//! when the test panicked.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::{free_port, TempDir};

/// The Debian packages' paths; `scripts/test` installs them when missing.
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long `find`, `find_all` and `wait_until` wait unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// WebDriver key codes for `type_text`.
pub mod keys {
    pub const ENTER: &str = "\u{e007}";
    pub const TAB: &str = "\u{e004}";
    pub const ESCAPE: &str = "\u{e00c}";
    pub const BACKSPACE: &str = "\u{e003}";
}

/// The key under which WebDriver returns and accepts element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A failed WebDriver command: the transport failed, or the driver
/// answered with an error (`no such element`, `javascript error`, …).
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

impl Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

/// One entry of the browser's console log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO`, `DEBUG`.
    pub level: String,
    /// `javascript` (uncaught errors), `console-api`, `network`, `security`, …
    pub source: String,
    pub message: String,
}

/// A headless Chromium session driven through chromedriver.
pub struct Browser {
    http: reqwest::blocking::Client,
    driver_url: String,
    session: String,
    driver: Child,
    screenshots: PathBuf,
    timeout: Duration,
    // Removed after the session (and so Chromium) is gone.
    _profile: TempDir,
}

impl Browser {
    /// Starts chromedriver and opens a session. Screenshots go under
    /// `target/screenshots/<test>/`, `<test>` being the running test's name.
    pub fn start() -> Browser {
        for path in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(path).exists(),
                "{path} is missing: run scripts/test (it installs Debian's chromium and chromium-driver) \
                 or, as root, apt-get install --no-install-recommends chromium chromium-driver"
            );
        }
        let profile = TempDir::new("faultline-chromium");
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(90))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client for chromedriver: {e}"));
        // A port free when picked can be taken before chromedriver binds
        // it; a new driver then gets another one.
        let mut last_error = String::new();
        for _ in 0..4 {
            let port = free_port();
            let log = profile.path().join(format!("chromedriver-{port}.log"));
            let mut driver = spawn_driver(port, &log);
            let driver_url = format!("http://127.0.0.1:{port}");
            match wait_driver_ready(&http, &driver_url, &mut driver) {
                Ok(()) => {
                    let session = match new_session(&http, &driver_url, profile.path()) {
                        Ok(session) => session,
                        Err(e) => {
                            kill_group(&mut driver);
                            panic!("chromedriver could not open a Chromium session: {e}\n{}", tail(&log));
                        }
                    };
                    let browser = Browser {
                        http,
                        driver_url,
                        session,
                        driver,
                        screenshots: screenshot_dir(),
                        timeout: DEFAULT_TIMEOUT,
                        _profile: profile,
                    };
                    browser.set_timeouts();
                    return browser;
                }
                Err(e) => {
                    kill_group(&mut driver);
                    last_error = format!("{e}\n{}", tail(&log));
                }
            }
        }
        panic!("chromedriver did not start: {last_error}");
    }

    /// How long `find`, `find_all` and `wait_until` wait from now on.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.session_cmd("POST", "/url", json!({ "url": url })).unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    pub fn back(&self) {
        self.session_cmd("POST", "/back", json!({})).unwrap_or_else(|e| panic!("back: {e}"));
    }

    pub fn refresh(&self) {
        self.session_cmd("POST", "/refresh", json!({})).unwrap_or_else(|e| panic!("refresh: {e}"));
    }

    pub fn current_url(&self) -> String {
        self.string("GET", "/url", "current url")
    }

    pub fn title(&self) -> String {
        self.string("GET", "/title", "title")
    }

    /// The page's HTML as the browser holds it now (after scripts ran).
    pub fn page_source(&self) -> String {
        self.string("GET", "/source", "page source")
    }

    /// The first element matching `css`, waiting until one exists.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.find_all(css).swap_remove(0)
    }

    /// Every element matching `css`, waiting until there is at least one.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        self.wait_for_elements(css, || self.find_all_now(css))
    }

    /// Every element matching `css` right now, possibly none (to assert
    /// that something is absent).
    pub fn find_all_now(&self, css: &str) -> Vec<Element<'_>> {
        self.locate("", css)
    }

    /// The visible text of the first element matching `css` now; `None`
    /// if there is none (or it went stale). Made for `wait_until`.
    pub fn text_of(&self, css: &str) -> Option<String> {
        let element = self.find_all_now(css).into_iter().next()?;
        element.try_text().ok()
    }

    /// Polls `done` until it holds; after the timeout saves a screenshot
    /// and fails with `what`.
    pub fn wait_until(&self, what: impl Display, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + self.timeout;
        while !done() {
            if Instant::now() >= deadline {
                let shot = self.failure_screenshot();
                panic!(
                    "timed out after {:?} waiting until {what} (at {}; {shot})",
                    self.timeout,
                    self.current_url()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `js` as a function body with `args` as `arguments`; returns
    /// what it returns (`null` for undefined). Elements can be passed with
    /// `Element::to_arg` and come back as `{ELEMENT_KEY: id}` objects.
    pub fn execute_script(&self, js: &str, args: Vec<Value>) -> Value {
        self.session_cmd("POST", "/execute/sync", json!({ "script": js, "args": args }))
            .unwrap_or_else(|e| panic!("script failed: {e}\nscript: {js}"))
    }

    /// Runs a Chrome DevTools Protocol command (chromedriver's extension),
    /// for what WebDriver lacks, like emulating the dark color scheme.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.session_cmd("POST", "/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .unwrap_or_else(|e| panic!("CDP {cmd}: {e}"))
    }

    /// Makes pages see `prefers-color-scheme: scheme` (`light` or `dark`).
    pub fn prefer_color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
        );
    }

    /// Saves the viewport as `target/screenshots/<test>/<name>.png`,
    /// prints and returns the path.
    pub fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.screenshot_png().unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.screenshots.join(format!("{}.png", file_part(name)));
        if let Err(e) = std::fs::create_dir_all(&self.screenshots).and_then(|()| std::fs::write(&path, png)) {
            panic!("writing {}: {e}", path.display());
        }
        println!("screenshot: {}", path.display());
        path
    }

    /// The console entries logged since the last call (the driver hands
    /// each entry out once).
    pub fn console_log(&self) -> Vec<LogEntry> {
        let entries = self
            .session_cmd("POST", "/se/log", json!({ "type": "browser" }))
            .unwrap_or_else(|e| panic!("reading the console log: {e}"));
        entries.as_array().map(|list| list.iter().map(log_entry).collect()).unwrap_or_default()
    }

    /// The SEVERE console entries since the last read other than failed
    /// requests (a missing favicon is not a script error): uncaught
    /// exceptions, `console.error`, blocked content.
    pub fn js_errors(&self) -> Vec<LogEntry> {
        self.console_log().into_iter().filter(|e| e.level == "SEVERE" && e.source != "network").collect()
    }

    fn wait_for_elements<'a>(
        &'a self,
        css: &str,
        mut found: impl FnMut() -> Vec<Element<'a>>,
    ) -> Vec<Element<'a>> {
        let deadline = Instant::now() + self.timeout;
        loop {
            let elements = found();
            if !elements.is_empty() {
                return elements;
            }
            if Instant::now() >= deadline {
                let shot = self.failure_screenshot();
                panic!(
                    "no element matches {css:?} after {:?} (at {}; {shot})",
                    self.timeout,
                    self.current_url()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Elements matching `css` under `parent` (an element path prefix, or
    /// "" for the document). The plural command answers an empty list
    /// rather than an error, so polling costs no error handling.
    fn locate(&self, parent: &str, css: &str) -> Vec<Element<'_>> {
        let found = self
            .session_cmd(
                "POST",
                &format!("{parent}/elements"),
                json!({ "using": "css selector", "value": css }),
            )
            .unwrap_or_else(|e| panic!("finding {css:?}: {e}"));
        found
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|r| r[ELEMENT_KEY].as_str())
                    .map(|id| Element { browser: self, id: id.to_string(), css: css.to_string() })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn screenshot_png(&self) -> Result<Vec<u8>, WebDriverError> {
        let encoded = self.session_cmd("GET", "/screenshot", Value::Null)?;
        decode_png(&encoded)
    }

    /// A screenshot for a failure message; never panics itself.
    fn failure_screenshot(&self) -> String {
        let path = self.screenshots.join("failure.png");
        match self.screenshot_png() {
            Ok(png)
                if std::fs::create_dir_all(&self.screenshots)
                    .and_then(|()| std::fs::write(&path, &png))
                    .is_ok() =>
            {
                format!("screenshot {}", path.display())
            }
            _ => "no screenshot".to_string(),
        }
    }

    fn set_timeouts(&self) {
        self.session_cmd("POST", "/timeouts", json!({ "pageLoad": 30_000, "script": 10_000, "implicit": 0 }))
            .unwrap_or_else(|e| panic!("setting timeouts: {e}"));
    }

    fn string(&self, method: &str, path: &str, what: &str) -> String {
        match self.session_cmd(method, path, Value::Null) {
            Ok(Value::String(s)) => s,
            Ok(other) => panic!("{what}: not a string: {other}"),
            Err(e) => panic!("{what}: {e}"),
        }
    }

    /// One command on this session: `path` is relative to `/session/{id}`.
    fn session_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, WebDriverError> {
        let url = format!("{}/session/{}{path}", self.driver_url, self.session);
        command(&self.http, method, &url, body)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Deleting the session quits Chromium; killing the driver's process
        // group then also ends a Chromium that did not quit.
        let url = format!("{}/session/{}", self.driver_url, self.session);
        let _ = command(&self.http, "DELETE", &url, Value::Null);
        kill_group(&mut self.driver);
    }
}

/// An element of the current page, found by `css`.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
    css: String,
}

impl<'a> Element<'a> {
    /// The rendered, visible text (what a user reads).
    pub fn text(&self) -> String {
        self.try_text().unwrap_or_else(|e| panic!("text of {:?}: {e}", self.css))
    }

    /// An HTML attribute; `None` when absent.
    pub fn attribute(&self, name: &str) -> Option<String> {
        match self.cmd("GET", &format!("/attribute/{name}"), Value::Null) {
            Ok(Value::String(s)) => Some(s),
            Ok(_) => None,
            Err(e) => panic!("attribute {name} of {:?}: {e}", self.css),
        }
    }

    /// A DOM property (`value`, `checked`, …) as JSON.
    pub fn property(&self, name: &str) -> Value {
        self.cmd("GET", &format!("/property/{name}"), Value::Null)
            .unwrap_or_else(|e| panic!("property {name} of {:?}: {e}", self.css))
    }

    pub fn is_displayed(&self) -> bool {
        self.cmd("GET", "/displayed", Value::Null)
            .unwrap_or_else(|e| panic!("is {:?} displayed: {e}", self.css))
            .as_bool()
            .unwrap_or(false)
    }

    pub fn click(&self) {
        self.cmd("POST", "/click", json!({})).unwrap_or_else(|e| panic!("click on {:?}: {e}", self.css));
    }

    /// Types `text` as key presses (see `keys` for Enter and the like).
    pub fn type_text(&self, text: &str) {
        self.cmd("POST", "/value", json!({ "text": text }))
            .unwrap_or_else(|e| panic!("typing into {:?}: {e}", self.css));
    }

    /// Empties an input or textarea.
    pub fn clear(&self) {
        self.cmd("POST", "/clear", json!({})).unwrap_or_else(|e| panic!("clearing {:?}: {e}", self.css));
    }

    /// In a `<select>`, picks the option whose value is `value` by
    /// clicking it, as a user would (so change events fire).
    pub fn select_by_value(&self, value: &str) {
        let css = format!("option[value=\"{}\"]", css_string(value));
        let option = self.find_all_now(&css).into_iter().next();
        let Some(option) = option else {
            panic!("{:?} has no option with value {value:?}", self.css);
        };
        option.click();
    }

    /// The first descendant matching `css`, waiting until one exists.
    pub fn find(&self, css: &str) -> Element<'a> {
        self.find_all(css).swap_remove(0)
    }

    /// Descendants matching `css`, waiting until there is at least one.
    pub fn find_all(&self, css: &str) -> Vec<Element<'a>> {
        self.browser.wait_for_elements(css, || self.find_all_now(css))
    }

    /// Descendants matching `css` right now, possibly none.
    pub fn find_all_now(&self, css: &str) -> Vec<Element<'a>> {
        self.browser.locate(&format!("/element/{}", self.id), css)
    }

    /// This element as an `execute_script` argument.
    pub fn to_arg(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn try_text(&self) -> Result<String, WebDriverError> {
        match self.cmd("GET", "/text", Value::Null)? {
            Value::String(s) => Ok(s),
            other => Err(WebDriverError { error: "unexpected answer".into(), message: other.to_string() }),
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, WebDriverError> {
        self.browser.session_cmd(method, &format!("/element/{}{path}", self.id), body)
    }
}

/// Sends one WebDriver command and unwraps its `value`.
fn command(
    http: &reqwest::blocking::Client,
    method: &str,
    url: &str,
    body: Value,
) -> Result<Value, WebDriverError> {
    let request = match method {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http.post(url).json(&body),
    };
    let transport = |e: reqwest::Error| WebDriverError { error: "transport".into(), message: e.to_string() };
    let response = request.send().map_err(transport)?;
    let ok = response.status().is_success();
    let answer: Value = response.json().map_err(transport)?;
    let value = answer.get("value").cloned().unwrap_or(Value::Null);
    if ok {
        return Ok(value);
    }
    Err(WebDriverError {
        error: value["error"].as_str().unwrap_or("unknown error").to_string(),
        message: value["message"].as_str().unwrap_or_default().to_string(),
    })
}

/// chromedriver in its own process group, so that dropping the browser can
/// end it together with any Chromium it started.
fn spawn_driver(port: u16, log: &Path) -> Child {
    use std::os::unix::process::CommandExt as _;
    Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {CHROMEDRIVER}: {e}"))
}

fn wait_driver_ready(http: &reqwest::blocking::Client, url: &str, driver: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(status) = command(http, "GET", &format!("{url}/status"), Value::Null) {
            if status["ready"] == true {
                return Ok(());
            }
        }
        if let Ok(Some(exit)) = driver.try_wait() {
            return Err(format!("chromedriver exited: {exit}"));
        }
        if Instant::now() >= deadline {
            return Err("chromedriver was not ready within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn new_session(
    http: &reqwest::blocking::Client,
    url: &str,
    profile: &Path,
) -> Result<String, WebDriverError> {
    let capabilities = json!({ "capabilities": { "alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": { "binary": CHROMIUM, "args": chromium_args(profile) },
        "goog:loggingPrefs": { "browser": "ALL" },
    }}});
    let answer = command(http, "POST", &format!("{url}/session"), capabilities)?;
    match answer["sessionId"].as_str() {
        Some(id) => Ok(id.to_string()),
        None => Err(WebDriverError { error: "no session id".into(), message: answer.to_string() }),
    }
}

/// Headless, a laptop-sized window, a fresh profile, and nothing that
/// reaches for the network on its own (the test machine has none).
fn chromium_args(profile: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "--headless=new",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--no-proxy-server",
        "--window-size=1366,900",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--user-data-dir={}", profile.join("profile").display()));
    // Chromium's sandbox refuses to run as root.
    if running_as_root() {
        args.push("--no-sandbox".into());
    }
    args
}

/// The effective user id is 0 (from /proc, to need no libc binding).
fn running_as_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// SIGKILL to the driver's process group, then reaps the driver.
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

/// `target/screenshots/<test>`: the running test's name is its thread's
/// (libtest and nextest name test threads after the test).
fn screenshot_dir() -> PathBuf {
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| PathBuf::from("target"));
    let thread = std::thread::current();
    let test = thread.name().filter(|n| *n != "main").unwrap_or("unnamed");
    target.join("screenshots").join(file_part(test))
}

/// `name` made safe as one path component.
fn file_part(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

/// `text` inside a double-quoted CSS string.
fn css_string(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn decode_png(encoded: &Value) -> Result<Vec<u8>, WebDriverError> {
    let text = encoded.as_str().unwrap_or_default();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| WebDriverError { error: "bad screenshot".into(), message: e.to_string() })
}

fn log_entry(entry: &Value) -> LogEntry {
    let field = |name: &str| entry[name].as_str().unwrap_or_default().to_string();
    LogEntry { level: field("level"), source: field("source"), message: field("message") }
}

/// The last lines of chromedriver's log, for failure messages.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    format!("chromedriver log ({}):\n{}", log.display(), lines[start..].join("\n"))
}
