//! `faultline serve`: opens storage, binds the three listeners, serves
//! until SIGTERM or Ctrl-C, then drains in-flight exports (for at most
//! `shutdown_timeout`) and flushes.

use std::future::IntoFuture;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context;
use faultline_grouping::Grouper;
use faultline_store::{Storage, StorageOptions};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::alerting::Alerting;
use crate::auth::Auth;
use crate::checks::Checks;
use crate::config::{Config, ServeArgs};
use crate::http::Api;
use crate::ingest::admission::AdmissionLimits;
use crate::ingest::sentry_projects::SentryProjects;
use crate::ingest::{otlp_grpc, otlp_http, sentry_http, Pipeline};
use crate::metrics::Metrics;
use crate::tls::{ServerTls, TlsIncoming};

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    init_logging()?;
    let config = Config::load(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(serve(config, shutdown_signal(), None));
    // Connections cut off at the shutdown deadline may still hold a
    // decoding thread; the process does not wait long for them (storage is
    // already flushed and closed, so nothing they do is acknowledged).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    served
}

/// Where a started server listens: the bound addresses (a port 0 in the
/// configuration is the port the system picked).
#[derive(Debug, Clone, Copy)]
pub struct Listening {
    pub otlp_grpc: std::net::SocketAddr,
    pub otlp_http: std::net::SocketAddr,
    pub api: std::net::SocketAddr,
}

/// Logs to stderr, filtered by `FAULTLINE_LOG` (default `info`); colour
/// only on a terminal and never with `NO_COLOR` set.
pub(crate) fn init_logging() -> anyhow::Result<()> {
    let filter = match std::env::var("FAULTLINE_LOG") {
        Ok(text) if !text.trim().is_empty() => {
            tracing_subscriber::EnvFilter::builder().parse(&text).map_err(|e| {
                anyhow::anyhow!(
                    "invalid FAULTLINE_LOG {text:?} ({e}); expected a level such as `info` or `debug`, \
                     or directives like `info,faultline_store=debug`"
                )
            })?
        }
        _ => tracing_subscriber::EnvFilter::new("info"),
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = std::io::stderr().is_terminal() && !no_color;
    // FAULTLINE_LOG_SPANS=1 logs each span as it closes with its busy and
    // idle time: where an export's or a request's time went.
    let spans = match std::env::var("FAULTLINE_LOG_SPANS").as_deref() {
        Ok("1") | Ok("true") => tracing_subscriber::fmt::format::FmtSpan::CLOSE,
        _ => tracing_subscriber::fmt::format::FmtSpan::NONE,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_span_events(spans)
        .with_writer(std::io::stderr)
        .init();
    Ok(())
}

/// Serves `config` until `shutdown` completes, then drains and flushes.
/// `ready_tx` gets the bound addresses once every listener accepts (what
/// `faultline demo` waits for before sending its traffic).
pub async fn serve(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
    ready_tx: Option<tokio::sync::oneshot::Sender<Listening>>,
) -> anyhow::Result<()> {
    let options = StorageOptions {
        queue_depth: config.queue_depth,
        index_commit_interval: config.index_commit_interval,
        health: config.health.clone(),
        sync: config.sync,
        cache_bytes: config.cache_bytes,
        max_new_groups_per_service_per_hour: config.max_new_groups_per_service_per_hour,
        retention: config.retention.clone(),
    };
    let storage = match config.store_url.clone() {
        // Node-local files (this node's search index) still go in data_dir.
        Some(url) => {
            let pg = faultline_store_postgres::PgOptions {
                index_dir: Some(config.data_dir.join("pg-index")),
                ..Default::default()
            };
            tokio::task::spawn_blocking(move || faultline_store_postgres::open_storage(&url, options, pg))
                .await?
                .map_err(|e| anyhow::Error::new(e).context("cannot open the PostgreSQL store"))?
        }
        None => open_embedded(&config, options).await?,
    };
    let storage = Arc::new(storage);
    let auth = open_auth(&config, storage.clone())?;
    let metrics = Arc::new(Metrics::default());
    let checks =
        Checks::start(storage.clone(), config.checks.clone()).context("cannot start the active checks")?;
    let alerting = Alerting::start(storage.clone(), checks.clone(), config.alerts.clone())
        .context("cannot start alerting")?;
    let pipeline = Arc::new(
        Pipeline::new(
            storage.clone(),
            metrics.clone(),
            config.limits.clone(),
            Grouper::with_config(config.grouping.clone())?,
            alerting.clone(),
            AdmissionLimits {
                max_inflight_bytes: config.max_inflight_bytes,
                max_queue_wait: config.max_queue_wait,
            },
        )
        .with_rate_limits(config.rate_limits),
    );
    let ready = Arc::new(AtomicBool::new(false));

    let grpc = bind(config.otlp_grpc_addr, GRPC).await?;
    let http = bind(config.otlp_http_addr, HTTP).await?;
    let api_listener = bind(config.api_addr, API).await?;
    let listening = Listening {
        otlp_grpc: grpc.local_addr()?,
        otlp_http: http.local_addr()?,
        api: api_listener.local_addr()?,
    };

    let (stop_tx, stop_rx) = watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    };
    let tls = open_tls(&config)?;
    let acceptor = |what: &str| tls.as_ref().and_then(|tls| tls.acceptor(what));
    let grpc_task = match acceptor(GRPC) {
        None => tokio::spawn(otlp_grpc::serve(
            tokio_stream::wrappers::TcpListenerStream::new(grpc),
            pipeline.clone(),
            config.max_request_bytes,
            auth.clone(),
            stopped(),
        )),
        Some(acceptor) => tokio::spawn(otlp_grpc::serve(
            TlsIncoming::start(grpc, acceptor)?.into_stream(),
            pipeline.clone(),
            config.max_request_bytes,
            auth.clone(),
            stopped(),
        )),
    };
    // Sentry SDKs authenticate with their project key, not an ingest
    // token: their routes are merged after the OTLP routes' token guard.
    let sentry_projects = Arc::new(SentryProjects::new(&config.sentry));
    let http_app = otlp_http::router(pipeline.clone(), config.max_request_bytes, auth.clone())
        .merge(sentry_http::router(pipeline.clone(), config.max_request_bytes, sentry_projects));
    let http_task = serve_http(http, acceptor(HTTP), http_app, stopped())?;
    let api_tls = acceptor(API);
    let api_app = api_router(Api {
        storage: storage.clone(),
        checks: checks.clone(),
        alerting: alerting.clone(),
        metrics,
        ready: ready.clone(),
        ui: Arc::new(config.ui.clone()),
        grouper: Arc::new(Grouper::with_config(config.grouping.clone())?),
        auth,
        secure_cookies: api_tls.is_some(),
    });
    let api_task = serve_http(api_listener, api_tls, api_app, stopped())?;
    if let Some(tls) = tls {
        tls.reload_on_sighup().context("cannot listen for SIGHUP (TLS certificate reload)")?;
    }
    ready.store(true, Ordering::SeqCst);
    tracing::info!("faultline is ready");
    if let Some(tx) = ready_tx {
        // The receiver may be gone (the demo failing early): nothing to tell then.
        let _ = tx.send(listening);
    }

    shutdown.await;
    tracing::info!(timeout = ?config.shutdown_timeout, "shutting down: draining in-flight exports");
    ready.store(false, Ordering::SeqCst);
    let _ = stop_tx.send(true);
    let (mut grpc_task, mut http_task, mut api_task) = (grpc_task, http_task, api_task);
    let drain = async {
        (&mut grpc_task).await?.context("OTLP/gRPC server failed")?;
        (&mut http_task).await?.context("OTLP/HTTP server failed")?;
        (&mut api_task).await?.context("API server failed")?;
        anyhow::Ok(())
    };
    let drained = tokio::time::timeout(config.shutdown_timeout, drain).await;
    match drained {
        Ok(drained) => drained?,
        Err(_) => {
            // A client still sending (or a slow body) would otherwise hold
            // the exit forever. What it sent is not acknowledged: its
            // connection is cut and its exporter retries elsewhere or later.
            tracing::warn!(
                timeout = ?config.shutdown_timeout,
                "requests still open at the shutdown deadline are cut off unacknowledged"
            );
            for task in [grpc_task.abort_handle(), http_task.abort_handle(), api_task.abort_handle()] {
                task.abort();
            }
        }
    }
    alerting.shutdown().await;
    checks.shutdown().await;
    // Every acknowledged export is already durable; this finishes indexing.
    tokio::task::spawn_blocking(move || storage.shutdown()).await??;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The listeners' names, as logged and as TLS knows them.
const GRPC: &str = "OTLP/gRPC";
const HTTP: &str = "OTLP/HTTP";
const API: &str = "API";

/// Reads the certificate, key and client CA of the listeners that serve
/// TLS; an error names the file.
pub(crate) fn open_tls(config: &Config) -> anyhow::Result<Option<Arc<ServerTls>>> {
    let Some(settings) = &config.tls else {
        return Ok(None);
    };
    let listeners: Vec<_> = [
        (GRPC, crate::tls::OTLP_GRPC, settings.otlp_grpc),
        (HTTP, crate::tls::OTLP_HTTP, settings.otlp_http),
        (API, crate::tls::API, settings.api),
    ]
    .into_iter()
    .filter(|(_, _, on)| *on)
    .map(|(what, kind, _)| (what, kind))
    .collect();
    let tls =
        ServerTls::load(settings.files.clone(), &listeners).context("cannot set up TLS ([tls], --tls-*)")?;
    let names: Vec<&str> = listeners.iter().map(|(what, _)| *what).collect();
    match &settings.files.client_ca {
        Some(ca) => tracing::info!(
            "TLS on {} from {}; OTLP clients need a certificate signed by {}",
            names.join(", "),
            settings.files.cert.display(),
            ca.display()
        ),
        None => tracing::info!("TLS on {} from {}", names.join(", "), settings.files.cert.display()),
    }
    Ok(Some(Arc::new(tls)))
}

/// An axum app on `listener`, over TLS when it has an acceptor.
fn serve_http(
    listener: TcpListener,
    tls: Option<crate::tls::Acceptor>,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    Ok(match tls {
        None => tokio::spawn(axum::serve(listener, app).with_graceful_shutdown(shutdown).into_future()),
        Some(acceptor) => tokio::spawn(
            axum::serve(TlsIncoming::start(listener, acceptor)?, app)
                .with_graceful_shutdown(shutdown)
                .into_future(),
        ),
    })
}

/// The API listener's routes: the JSON API and the browser pages, behind
/// the token check.
fn api_router(api: Api) -> axum::Router {
    let guard = axum::middleware::from_fn_with_state(api.auth.clone(), crate::auth::middleware::api_guard);
    let secure = crate::ui::csrf::SecureCookies(api.secure_cookies);
    axum::Router::new()
        .merge(crate::http::routes())
        .merge(crate::ui::routes())
        .with_state(api)
        .layer(guard)
        // Outside the guard, so its refusal pages see it too.
        .layer(axum::Extension(secure))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Loads the tokens, and refuses to serve a listener other hosts can reach
/// without any token unless the operator said so.
fn open_auth(config: &Config, storage: Arc<Storage>) -> anyhow::Result<Arc<Auth>> {
    let exposed = config.exposed_listeners();
    let fail_closed = !exposed.is_empty() && !config.allow_unauthenticated;
    let auth = Auth::load(storage, config.admin_token.as_ref().map(|t| t.secret()), fail_closed)
        .context("cannot read the access tokens")?;
    if fail_closed && !auth.has_credentials() {
        let listeners: Vec<String> = exposed.iter().map(|(what, addr)| format!("{what} on {addr}")).collect();
        anyhow::bail!(
            "refusing to serve {} without authentication: no access token exists. Either set an admin \
             token (FAULTLINE_ADMIN_TOKEN or auth.admin_token, at least 32 characters, e.g. from \
             `openssl rand -hex 32`) and create tokens with `faultline token create`, or pass \
             --allow-unauthenticated to let anyone who can reach it in",
            listeners.join(", ")
        );
    }
    match (auth.required(), exposed.is_empty()) {
        (true, _) => tracing::info!("access tokens are required on every listener"),
        (false, true) => tracing::info!(
            "no access token exists: the loopback listeners are open until one is created (faultline token create)"
        ),
        (false, false) => tracing::warn!(
            "--allow-unauthenticated and no access token: anyone who can reach the listeners may send, read \
             and change everything (until a token is created)"
        ),
    }
    Ok(auth)
}

async fn bind(addr: std::net::SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    let listener =
        TcpListener::bind(addr).await.with_context(|| format!("cannot listen for {what} on {addr}"))?;
    tracing::info!("{what} listening on {}", listener.local_addr()?);
    Ok(listener)
}

/// Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

/// The embedded store in the data directory.
async fn open_embedded(config: &Config, options: StorageOptions) -> anyhow::Result<Storage> {
    let data_dir = config.data_dir.clone();
    let storage = tokio::task::spawn_blocking(move || Storage::open(&data_dir, options)).await?.map_err(
        |e| match e {
            // These already name the directory and what to do.
            faultline_store::Error::Locked(_)
            | faultline_store::Error::DataDirAccess { .. }
            | faultline_store::Error::NewerDataDir { .. } => anyhow::Error::new(e),
            other => anyhow::Error::new(other)
                .context(format!("cannot open storage in {}", config.data_dir.display())),
        },
    )?;
    Ok(storage)
}
