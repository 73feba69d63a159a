//! A real PostgreSQL for tests, from the machine's own packages (Debian's
//! `postgresql`; `scripts/test` installs it when `initdb` is missing).
//!
//! One server per test run: `initdb` and `pg_ctl` in a temporary directory
//! on a free port, as a non-root user when the tests run as root (initdb
//! refuses root), with `fsync` off. Under nextest, which runs every test in
//! a process of its own, the processes of one run share the server (its
//! directory is named after the nextest process); under `cargo test` the
//! test binary owns it. Each test gets a fresh database ([`database`]).
//!
//! The server speaks TLS too (`ssl=on`) with a certificate for
//! `localhost` and 127.0.0.1 signed by a CA made for the run
//! ([`Server::ca_file`]), so clients can test `sslmode=verify-full`.
//!
//! The server is never left running: a watchdog process started with it
//! waits for the owning process to end (however it ends, `kill -9`
//! included) and then stops the server and removes its directory.
//!
//! A benchmark that needs a server tuned like a production one (fsync on,
//! its own `shared_buffers`, ...) starts one of its own with [`dedicated`].

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The superuser the cluster is made with (`initdb -U`).
pub const SUPERUSER: &str = "faultline";

/// A running test server.
#[derive(Debug, Clone)]
pub struct Server {
    pub port: u16,
    pub bin: PathBuf,
    pub dir: PathBuf,
}

impl Server {
    /// The PEM CA certificate that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
}

/// A fresh, empty database on the shared test server.
#[derive(Debug, Clone)]
pub struct Database {
    pub name: String,
    pub port: u16,
}

impl Database {
    /// A `postgres://` URL for it (no TLS: the test server listens on loopback only).
    pub fn url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{}?sslmode=disable", self.port, self.name)
    }

    /// A URL connecting over TLS to `host` (`localhost` or 127.0.0.1 pass
    /// `verify-full`) with the given `sslmode` and, for `verify-full`, the run's CA.
    pub fn tls_url(&self, host: &str, sslmode: &str) -> String {
        let ca = server().ca_file();
        format!(
            "postgres://{SUPERUSER}@{host}:{}/{}?sslmode={sslmode}&sslrootcert={}",
            self.port,
            self.name,
            ca.display()
        )
    }
}

/// The shared server, started on first use.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start().unwrap_or_else(|e| panic!("cannot start the test PostgreSQL: {e}")))
}

/// A new database on the shared server.
pub fn database() -> Database {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!("t{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
    server().create_database(&name).unwrap_or_else(|e| panic!("{e}"))
}

/// The settings of the shared test server: speed over durability (a test
/// run's data is thrown away), room for many nodes' connection pools.
const TEST_SETTINGS: &[(&str, &str)] =
    &[("fsync", "off"), ("full_page_writes", "off"), ("max_connections", "300"), ("shared_buffers", "32MB")];

/// A server of this process's own (not shared with other test processes),
/// started with `settings` (`postgres -c name=value`, e.g. `fsync=on`,
/// `shared_buffers=512MB`) and otherwise PostgreSQL's defaults, which are
/// durable: `fsync`, `full_page_writes` and `synchronous_commit` on. For
/// benchmarks that must measure what a real server would do. Stopped and
/// removed, like the shared one, once this process ends.
pub fn dedicated(settings: &[(&str, &str)]) -> Result<Server, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let bin = bin_dir()?;
    let owner = std::process::id();
    let dir = std::env::temp_dir()
        .join(format!("faultline-pg-{owner}-dedicated-{}", NEXT.fetch_add(1, Ordering::SeqCst)));
    std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let port = init_and_start(&bin, &dir, owner, settings)?;
    Ok(Server { port, bin, dir })
}

impl Server {
    /// Creates the (new, empty) database `name`.
    pub fn create_database(&self, name: &str) -> Result<Database, String> {
        self.query("postgres", &format!("CREATE DATABASE {name}"))?;
        Ok(Database { name: name.to_string(), port: self.port })
    }

    /// Runs `sql` in `database` as the superuser; its rows as `psql -tA`
    /// prints them (one per line, columns separated by `|`).
    pub fn query(&self, database: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", SUPERUSER, "-d", database])
            .args(["-q", "-tA", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .output()
            .map_err(|e| format!("psql: {e}"))?;
        if !out.status.success() {
            return Err(format!("psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// The postmaster's process id (its backends are its children).
    pub fn postmaster_pid(&self) -> Result<u32, String> {
        let path = self.dir.join("data/postmaster.pid");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        text.lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("{}: no process id on its first line", path.display()))
    }
}

/// The directory with `initdb`, `pg_ctl` and `psql`: where `initdb` is on
/// the PATH, else the newest `/usr/lib/postgresql/*/bin`.
pub fn bin_dir() -> Result<PathBuf, String> {
    let on_path =
        std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>());
    for dir in on_path {
        let initdb = dir.join("initdb");
        if initdb.exists() {
            // Debian links initdb into /usr/local/bin or wraps it: the real directory has postgres too.
            let real = std::fs::canonicalize(&initdb).map_err(|e| e.to_string())?;
            if let Some(parent) = real.parent().filter(|p| p.join("postgres").exists()) {
                return Ok(parent.to_path_buf());
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| "no initdb on the PATH and no /usr/lib/postgresql: install postgresql".to_string())?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| "no PostgreSQL in /usr/lib/postgresql".into())
}

/// The process whose end stops the server: nextest's own (all tests of
/// the run share one server) or this test binary.
fn owner_pid() -> u32 {
    if std::env::var_os("NEXTEST_RUN_ID").is_some() {
        std::os::unix::process::parent_id()
    } else {
        std::process::id()
    }
}

fn start() -> Result<Server, String> {
    let bin = bin_dir()?;
    let owner = owner_pid();
    let dir = std::env::temp_dir().join(format!("faultline-pg-{owner}"));
    let ready = dir.join("port");
    // Whoever makes the directory starts the server; the others wait for it.
    match std::fs::create_dir(&dir) {
        Ok(()) => {
            let port = init_and_start(&bin, &dir, owner, TEST_SETTINGS)?;
            std::fs::write(dir.join("port.tmp"), port.to_string()).map_err(|e| e.to_string())?;
            std::fs::rename(dir.join("port.tmp"), &ready).map_err(|e| e.to_string())?;
            Ok(Server { port, bin, dir })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                if let Ok(text) = std::fs::read_to_string(&ready) {
                    let port = text.trim().parse().map_err(|e| format!("{}: {e}", ready.display()))?;
                    return Ok(Server { port, bin, dir });
                }
                if Instant::now() > deadline {
                    return Err(format!("{} never became ready", dir.display()));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

/// The user the server runs as: ourselves, or when we are root (initdb
/// refuses root) Debian's `postgres` user, else `nobody`.
fn run_as() -> Option<String> {
    let root = Command::new("id").arg("-u").output().ok().is_some_and(|o| o.stdout.trim_ascii() == b"0");
    if !root {
        return None;
    }
    let exists = |user: &str| {
        Command::new("id")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Some(if exists("postgres") { "postgres" } else { "nobody" }.to_string())
}

fn command(user: Option<&str>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut c = Command::new("runuser");
            c.args(["-u", user, "--"]).arg(program);
            c
        }
        None => Command::new(program),
    }
}

fn run(mut c: Command, what: &str) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn init_and_start(bin: &Path, dir: &Path, owner: u32, settings: &[(&str, &str)]) -> Result<u16, String> {
    let user = run_as();
    let data = dir.join("data");
    if let Some(user) = &user {
        run(
            {
                let mut c = Command::new("chown");
                c.arg(user).arg(dir);
                c
            },
            "chown",
        )?;
    }
    write_certificates(dir)?;
    if let Some(user) = &user {
        let mut chown = Command::new("chown");
        chown.arg(user).arg(dir.join("server.crt")).arg(dir.join("server.key"));
        run(chown, "chown")?;
    }
    let mut initdb = command(user.as_deref(), &bin.join("initdb"));
    initdb
        .args(["--no-sync", "--auth=trust", "--encoding=UTF8", "--locale=C", "-U", SUPERUSER, "-D"])
        .arg(&data);
    run(initdb, "initdb")?;
    watchdog(owner, dir)?;
    // A port taken between probing and binding makes pg_ctl fail: try a few.
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port()?;
        let mut options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={dir} \
             -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            dir = dir.display()
        );
        for (name, value) in settings {
            options.push_str(&format!(" -c {name}={value}"));
        }
        let mut pg_ctl = command(user.as_deref(), &bin.join("pg_ctl"));
        pg_ctl
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .args(["-l"])
            .arg(dir.join("log"))
            .args(["-o", &options, "start"]);
        match run(pg_ctl, "pg_ctl start") {
            Ok(()) => return Ok(port),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// A CA (`ca.pem`) and the server's certificate and key signed by it.
fn write_certificates(dir: &Path) -> Result<(), String> {
    let e = |e: rcgen::Error| e.to_string();
    let ca_key = rcgen::KeyPair::generate().map_err(e)?;
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name.push(rcgen::DnType::CommonName, "faultline test CA");
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let key = rcgen::KeyPair::generate().map_err(e)?;
    let mut leaf =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).map_err(e)?;
    leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    leaf.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let cert = leaf.signed_by(&key, &issuer).map_err(e)?;
    let write =
        |name: &str, text: String| std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"));
    write("ca.pem", ca_cert.pem())?;
    write("server.crt", cert.pem())?;
    write("server.key", key.serialize_pem())?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600))
        .map_err(|e| e.to_string())
}

/// A shell that outlives us: once `owner` is gone it stops the server
/// (immediate shutdown, as root or as its user) and deletes the directory.
fn watchdog(owner: u32, dir: &Path) -> Result<(), String> {
    let script = format!(
        "while kill -0 {owner} 2>/dev/null; do sleep 0.5; done; \
         pid=$(head -n 1 '{dir}/data/postmaster.pid' 2>/dev/null); \
         [ -n \"$pid\" ] && kill -QUIT \"$pid\" 2>/dev/null; \
         for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 \"$pid\" 2>/dev/null || break; sleep 0.5; done; \
         rm -rf '{dir}'",
        dir = dir.display()
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("watchdog: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn two_databases_on_one_server() {
        let a = super::database();
        let b = super::database();
        assert_ne!(a.name, b.name);
        assert_eq!(a.port, b.port);
        let out = std::process::Command::new(super::server().bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &a.port.to_string(), "-U", super::SUPERUSER, "-d", &a.name])
            .args(["-tAc", "SELECT 40 + 2"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    }

    #[test]
    fn a_dedicated_server_is_durable_and_takes_its_settings() {
        let server = super::dedicated(&[("shared_buffers", "48MB"), ("max_connections", "40")]).unwrap();
        assert_ne!(server.dir, super::server().dir);
        let db = server.create_database("tuned").unwrap();
        let show = |name: &str| server.query(&db.name, &format!("SHOW {name}")).unwrap();
        assert_eq!(show("fsync"), "on");
        assert_eq!(show("synchronous_commit"), "on");
        assert_eq!(show("full_page_writes"), "on");
        assert_eq!(show("shared_buffers"), "48MB");
        assert_eq!(show("max_connections"), "40");
        assert!(server.postmaster_pid().unwrap() > 1);
        // The shared test server keeps its fast, non-durable settings.
        assert_eq!(super::server().query("postgres", "SHOW fsync").unwrap(), "off");
    }
}
