//! What the demo shop looks like: four services in four languages, their
//! routes and latencies, the ways each one fails, and the story told over
//! the releases (a flaky endpoint, a bug that comes back, a slower search).
//! Data only; `traffic` turns it into spans and log records.

use super::stacks::{Frame, Language};

/// One instrumented service.
pub struct Service {
    pub name: &'static str,
    pub language: Language,
    /// `service.version` is `{release_prefix}.{release index}`.
    pub release_prefix: &'static str,
    pub routes: &'static [Route],
    /// Outer frames every request of the service goes through (framework).
    pub framework: &'static [(&'static str, &'static str)],
    /// Application modules (file or class) and functions the failures are
    /// made of: failure kind `k` raises in `functions[k % len]`.
    pub modules: &'static [&'static str],
    pub functions: &'static [&'static str],
    /// Exception types and messages (with `{n}` for a number that varies).
    pub errors: &'static [(&'static str, &'static str)],
    /// Error log lines the service writes now and then (no exception).
    pub logs: &'static [&'static str],
}

/// One route: HTTP method, `http.route`, median latency and requests per second.
pub struct Route {
    pub method: &'static str,
    pub route: &'static str,
    pub median_ms: f64,
    pub per_second: f64,
}

pub const SERVICES: &[Service] = &[
    Service {
        name: "checkout",
        language: Language::Python,
        release_prefix: "3.8",
        routes: &[
            Route { method: "POST", route: "/cart/items", median_ms: 45.0, per_second: 3.0 },
            Route { method: "GET", route: "/cart", median_ms: 20.0, per_second: 4.0 },
            Route { method: "POST", route: "/checkout", median_ms: 180.0, per_second: 1.5 },
        ],
        framework: &[
            ("/usr/lib/python3.12/site-packages/flask/app.py", "full_dispatch_request"),
            ("/usr/lib/python3.12/site-packages/flask/app.py", "dispatch_request"),
        ],
        modules: &[
            "/srv/checkout/cart/views.py",
            "/srv/checkout/cart/pricing.py",
            "/srv/checkout/orders/service.py",
            "/srv/checkout/discounts/rules.py",
        ],
        functions: &[
            "add_item",
            "price_of",
            "apply_coupon",
            "load_cart",
            "reserve_stock",
            "compute_tax",
            "merge_guest_cart",
            "validate_address",
            "split_shipment",
        ],
        errors: &[
            ("KeyError", "'sku_{n}'"),
            ("ValueError", "invalid quantity {n}"),
            ("ZeroDivisionError", "division by zero"),
            ("TypeError", "unsupported operand type(s) for +: 'Decimal' and 'float'"),
            (
                "requests.exceptions.ConnectionError",
                "HTTPConnectionPool(host='inventory', port=8080): Max retries exceeded ({n})",
            ),
        ],
        logs: &[
            "payment provider answered 502, retrying (attempt {n}/3)",
            "cart {n} could not be saved: lock wait timeout exceeded",
        ],
    },
    Service {
        name: "payments",
        language: Language::Java,
        release_prefix: "2.14",
        routes: &[
            Route { method: "POST", route: "/charges", median_ms: 320.0, per_second: 1.5 },
            Route { method: "POST", route: "/refunds", median_ms: 150.0, per_second: 0.5 },
            Route { method: "GET", route: "/charges/{id}", median_ms: 25.0, per_second: 2.0 },
        ],
        framework: &[
            ("org.springframework.web.servlet.FrameworkServlet", "service"),
            ("org.springframework.web.servlet.DispatcherServlet", "doDispatch"),
        ],
        modules: &[
            "com.shop.payments.ChargeController",
            "com.shop.payments.AcquirerClient",
            "com.shop.payments.RefundService",
            "com.shop.payments.ledger.LedgerWriter",
        ],
        functions: &[
            "create",
            "authorize",
            "capture",
            "refund",
            "lookupCard",
            "writeEntry",
            "convertCurrency",
            "verify3ds",
            "settle",
        ],
        errors: &[
            ("java.lang.IllegalStateException", "charge {n} already captured"),
            ("java.lang.NullPointerException", "Cannot invoke \"Card.getToken()\" because \"card\" is null"),
            ("com.shop.payments.AcquirerException", "acquirer declined with code {n}"),
            ("java.util.concurrent.TimeoutException", "no answer from acquirer after {n} ms"),
            (
                "org.springframework.dao.DataIntegrityViolationException",
                "duplicate key value violates unique constraint \"charges_idempotency_key\"",
            ),
        ],
        logs: &["acquirer webhook {n} rejected: signature mismatch", "settlement batch {n} is late"],
    },
    Service {
        name: "frontend",
        language: Language::Node,
        release_prefix: "5.2",
        routes: &[
            Route { method: "GET", route: "/", median_ms: 60.0, per_second: 5.0 },
            Route { method: "GET", route: "/products/{id}", median_ms: 35.0, per_second: 4.0 },
            Route { method: "GET", route: "/search", median_ms: 90.0, per_second: 2.0 },
        ],
        framework: &[
            ("/app/node_modules/express/lib/router/layer.js", "Layer.handle [as handle_request]"),
            ("/app/node_modules/express/lib/router/route.js", "next"),
        ],
        modules: &[
            "/app/src/routes/products.js",
            "/app/src/routes/search.js",
            "/app/src/lib/render.js",
            "/app/src/clients/catalog.js",
        ],
        functions: &[
            "renderProduct",
            "runSearch",
            "formatPrice",
            "fetchRecommendations",
            "buildBreadcrumbs",
            "loadSession",
            "resolveImage",
            "translate",
            "paginate",
        ],
        errors: &[
            ("TypeError", "Cannot read properties of undefined (reading 'price')"),
            ("RangeError", "Invalid array length"),
            ("FetchError", "request to http://catalog:8080/items/{n} failed, reason: socket hang up"),
            ("SyntaxError", "Unexpected token < in JSON at position {n}"),
            ("Error", "template 'product-{n}' not found"),
        ],
        logs: &["SSR render took {n} ms, over budget", "session store unavailable, serving anonymous page"],
    },
    Service {
        name: "inventory",
        language: Language::Go,
        release_prefix: "1.9",
        routes: &[
            Route { method: "POST", route: "/reservations", median_ms: 15.0, per_second: 3.0 },
            Route { method: "GET", route: "/stock/{sku}", median_ms: 5.0, per_second: 4.0 },
        ],
        framework: &[
            ("/usr/local/go/src/net/http/server.go", "net/http.HandlerFunc.ServeHTTP"),
            (
                "/go/pkg/mod/github.com/go-chi/chi/v5@v5.0.12/mux.go",
                "github.com/go-chi/chi/v5.(*Mux).routeHTTP",
            ),
        ],
        modules: &[
            "/src/inventory/api/handlers.go",
            "/src/inventory/store/ledger.go",
            "/src/inventory/store/cache.go",
            "/src/inventory/sync/supplier.go",
        ],
        functions: &[
            "main.(*API).Reserve",
            "store.(*Ledger).Take",
            "store.(*Cache).Get",
            "sync.(*Supplier).Pull",
            "main.(*API).Stock",
            "store.(*Ledger).Release",
            "store.decodeRow",
            "sync.parseFeed",
            "main.(*API).Bulk",
        ],
        errors: &[
            ("runtime.boundsError", "runtime error: index out of range [{n}] with length {n}"),
            ("runtime.Error", "invalid memory address or nil pointer dereference"),
            ("*net.OpError", "dial tcp 10.0.3.{n}:5432: connect: connection refused"),
            ("*errors.errorString", "sql: no rows in result set"),
            ("context.deadlineExceededError", "context deadline exceeded"),
        ],
        logs: &[
            "supplier feed {n} skipped: checksum mismatch",
            "reservation {n} expired before confirmation",
        ],
    },
];

/// Distinct failure kinds per service: the long tail (each its own issue).
pub const KINDS_PER_SERVICE: usize = 18;
/// Kinds in the first release; each later release brings one more.
pub const FIRST_RELEASE_KINDS: usize = 10;

/// Releases in the seeded history (one per hour, oldest first); the live
/// run continues from release `HISTORY_RELEASES`.
pub const HISTORY_RELEASES: u32 = 3;

/// The flaky endpoint: intermittent 503s in bursts.
pub const FLAKY_SERVICE: &str = "payments";
pub const FLAKY_ROUTE: &str = "/charges";

/// The bug that comes back: present in the first live release, fixed in
/// the next one (and then marked resolved through the API), back in the
/// one after.
pub const REGRESSION_SERVICE: &str = "inventory";
pub const REGRESSION_TYPE: &str = "*ledger.MismatchError";
pub const REGRESSION_MESSAGE: &str = "ledger out of sync for sku {n}: reserved 3, on hand 2";

/// The search that gets slower from the second live release on.
pub const SLOW_SERVICE: &str = "frontend";
pub const SLOW_ROUTE: &str = "/search";

/// Failure kind `kind` of `service`: its exception, message and frames,
/// with line numbers that move a little from one release to the next.
pub fn failure_frames(service: &Service, kind: usize, release: u32) -> Vec<Frame> {
    let mut frames: Vec<Frame> = service
        .framework
        .iter()
        .enumerate()
        .map(|(i, (module, function))| Frame {
            module: (*module).to_string(),
            function: (*function).to_string(),
            line: 880 + 17 * i as u32,
        })
        .collect();
    // Two application frames: a caller and the function that raised.
    let functions = service.functions;
    let raised = kind % functions.len();
    let caller = (kind / functions.len() + raised + 1) % functions.len();
    for (depth, f) in [caller, raised].into_iter().enumerate() {
        let module = service.modules[(f + depth) % service.modules.len()];
        frames.push(Frame {
            module: module.to_string(),
            function: functions[f].to_string(),
            line: 20 + (f as u32 * 37 + depth as u32 * 11) % 300 + release * 3,
        });
    }
    frames
}

/// Exception type and message template of failure kind `kind`.
pub fn failure_error(service: &Service, kind: usize) -> (&'static str, &'static str) {
    service.errors[kind % service.errors.len()]
}

/// How often kind `kind` happens relative to kind 0: a Zipf-like tail, so
/// a few issues are hot and most are rare.
pub fn kind_weight(kind: usize) -> f64 {
    1.0 / ((kind + 1) as f64).powf(1.2)
}

/// The kinds a release has: one more with each release (a deploy brings
/// a new issue).
pub fn kinds_in_release(release: u32) -> usize {
    (FIRST_RELEASE_KINDS + release as usize).min(KINDS_PER_SERVICE)
}

/// The kind `release` brought, if it brought one (the long tail is finite).
pub fn new_kind(release: u32) -> Option<usize> {
    let kinds = FIRST_RELEASE_KINDS + release as usize;
    (release > 0 && kinds <= KINDS_PER_SERVICE).then(|| kinds - 1)
}

/// `service.version` of a release of `service`.
pub fn version(service: &Service, release: u32) -> String {
    format!("{}.{}", service.release_prefix, release)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashSet;

    /// Every kind of a service has its own (type, raising function): each
    /// becomes its own issue rather than all falling into a few.
    #[test]
    fn failure_kinds_are_distinct() {
        for service in SERVICES {
            let kinds: HashSet<(&str, String)> = (0..KINDS_PER_SERVICE)
                .map(|k| {
                    let frames = failure_frames(service, k, 0);
                    let last = frames.last().map(|f| f.function.clone()).unwrap_or_default();
                    (failure_error(service, k).0, last)
                })
                .collect();
            assert_eq!(kinds.len(), KINDS_PER_SERVICE, "{}", service.name);
        }
    }
}
