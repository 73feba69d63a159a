//! File paths and URLs as they appear in frames, made stable across hosts,
//! releases and builds.

use std::sync::LazyLock;

use regex::Regex;

/// Path segments after which the rest is a library's own path: whatever
/// precedes them is where the library happened to be installed. The last
/// occurrence wins (`node_modules` can nest).
const LIBRARY_MARKERS: [&str; 6] =
    ["/site-packages/", "/dist-packages/", "/node_modules/", "/pkg/mod/", "/vendor/", "/gems/"];

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("path patterns are valid")
}

/// `scheme://host` of a URL (`https://cdn.example.com`, `webpack://app`).
static URL_PREFIX: LazyLock<Regex> = LazyLock::new(|| regex(r"^[a-zA-Z][\w+.-]*://[^/]*"));
/// Install locations that need a pattern: Python's standard library
/// (`/usr/lib/python3.11/`), the Rust toolchain's sources
/// (`/rustc/<commit>/library/`), cargo's registry and git checkouts
/// (`~/.cargo/registry/src/index.crates.io-6f17d22bba15001f/`).
static INSTALL_LOCATION: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"/lib/python\d+(?:\.\d+)*/|^/rustc/[0-9a-f]+/(?:library/)?|/\.cargo/registry/src/[^/]+/|/\.cargo/git/checkouts/[^/]+/[^/]+/",
    )
});
/// Version numbers ending a directory name: `foo-1.2.3/`, `foo-1.2.3-beta.1/`,
/// Go's `pq@v1.10.9/`, npm's `@1.2.3/`. File names keep theirs (`app-1.2.js`
/// could be meant), bundle hashes are handled separately.
static VERSION: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?:[-@]v?\d+(?:\.\d+)+(?:[-+.][0-9A-Za-z.]+)?|@v\d+[0-9A-Za-z.+-]*)/"));
/// Content hashes in bundle names: `main.3f2a1b.js`, `index-BxYz12Ab.js`,
/// `chunk.5c7e.min.js`, `vendors~main.8e1c.chunk.js`.
static BUNDLE_HASH: LazyLock<Regex> = LazyLock::new(|| {
    regex(r"[.-]([0-9A-Za-z_]{6,32})((?:\.chunk|\.bundle|\.min)*\.(?:m?js|cjs|css|wasm|map))$")
});

/// Normalizes a frame's file path so the same source file gives the same
/// text on every host and release:
/// - `\` becomes `/`; URL scheme and host, query and fragment go;
/// - a library's path starts after its install location (`site-packages/`,
///   `node_modules/`, Go's module cache, cargo's registry, `vendor/`, ...);
/// - version numbers leave path segments (`requests-2.31.0` → `requests`,
///   `pq@v1.10.9` → `pq`, `python3.11` → `python`);
/// - content hashes leave bundle names (`main.3f2a1b.js` → `main.js`);
/// - any other absolute path keeps its last two segments, because the
///   deployment root (`/srv/`, `/home/alice/src/`, `C:\build\`) differs
///   between hosts while the file and its directory do not.
pub fn normalize_path(path: &str) -> String {
    let slashed = path.trim().replace('\\', "/");
    let (without_url, was_url) = strip_url(&slashed);
    let (rest, in_library) = strip_install_location(&without_url);
    let versionless = VERSION.replace_all(&rest, "/");
    let unhashed = strip_bundle_hash(&versionless);
    let relative = unhashed.trim_start_matches("./");
    if in_library || was_url || !is_absolute(relative) {
        return relative.trim_start_matches('/').to_string();
    }
    last_segments(relative, 2)
}

/// A Python-style dotted module name from a normalized path:
/// `app/orders.py` → `app.orders`, `app/__init__.py` → `app`.
/// Pseudo-files such as `<frozen importlib._bootstrap>` are kept as printed.
pub fn module_from_path(path: &str, extension: &str) -> String {
    if path.starts_with('<') {
        return path.to_string();
    }
    let stem = path.strip_suffix(extension).unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.trim_matches('/').replace('/', ".")
}

/// Drops a URL's scheme and host, query and fragment; tells whether it was
/// one. `file://` URLs are local paths and stay absolute.
fn strip_url(path: &str) -> (String, bool) {
    if let Some(local) = path.strip_prefix("file://") {
        return (local.to_string(), false);
    }
    match URL_PREFIX.find(path) {
        Some(prefix) => {
            let rest = path.get(prefix.end()..).unwrap_or_default();
            let rest = rest.split(['?', '#']).next().unwrap_or_default();
            (rest.trim_start_matches('/').to_string(), true)
        }
        None => (path.to_string(), false),
    }
}

/// Drops everything up to a library's install location; tells whether
/// the path was in one.
fn strip_install_location(path: &str) -> (String, bool) {
    let probe = format!("/{}", path.trim_start_matches('/'));
    let marker_end = LIBRARY_MARKERS
        .iter()
        .filter_map(|marker| probe.rfind(marker).map(|at| at + marker.len()))
        .chain(INSTALL_LOCATION.find_iter(&probe).map(|m| m.end()))
        .max();
    match marker_end.and_then(|end| probe.get(end..)) {
        Some(rest) => (rest.to_string(), true),
        None => (path.to_string(), false),
    }
}

fn strip_bundle_hash(path: &str) -> String {
    BUNDLE_HASH
        .replace(path, |caps: &regex::Captures<'_>| {
            let token = caps.get(1).map_or("", |m| m.as_str());
            let suffix = caps.get(2).map_or("", |m| m.as_str());
            if token.bytes().any(|b| b.is_ascii_digit()) {
                suffix.to_string()
            } else {
                caps.get(0).map_or("", |m| m.as_str()).to_string()
            }
        })
        .into_owned()
}

fn is_absolute(path: &str) -> bool {
    let bytes = path.as_bytes();
    path.starts_with('/')
        || path.starts_with('~')
        || (bytes.len() > 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/')
}

fn last_segments(path: &str, count: usize) -> String {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let start = segments.len().saturating_sub(count);
    segments.get(start..).unwrap_or_default().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_absolute_deployment_prefixes() {
        assert_eq!(normalize_path("/srv/app/orders.py"), "app/orders.py");
        assert_eq!(normalize_path("/home/alice/src/shop/app/orders.py"), "app/orders.py");
        assert_eq!(normalize_path(r"C:\build\Acme\Program.cs"), "Acme/Program.cs");
        assert_eq!(normalize_path("src/main.rs"), "src/main.rs");
        assert_eq!(normalize_path("./src/main.rs"), "src/main.rs");
    }

    #[test]
    fn strips_library_install_locations_and_versions() {
        assert_eq!(
            normalize_path("/usr/lib/python3.11/site-packages/requests-2.31.0/adapters.py"),
            "requests/adapters.py"
        );
        assert_eq!(
            normalize_path("/venv/lib/python3.12/site-packages/django/core/handlers/base.py"),
            "django/core/handlers/base.py"
        );
        assert_eq!(normalize_path("/usr/lib/python3.11/json/decoder.py"), "json/decoder.py");
        assert_eq!(
            normalize_path("/app/node_modules/express/lib/router/index.js"),
            "express/lib/router/index.js"
        );
        assert_eq!(
            normalize_path("/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go"),
            "github.com/lib/pq/conn.go"
        );
        assert_eq!(
            normalize_path("/usr/local/bundle/gems/rack-2.2.8/lib/rack/builder.rb"),
            "rack/lib/rack/builder.rb"
        );
        assert_eq!(
            normalize_path("/home/u/.cargo/registry/src/index.crates.io-6f17d22bba15001f/tokio-1.38.0/src/runtime/park.rs"),
            "tokio/src/runtime/park.rs"
        );
        assert_eq!(
            normalize_path("/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/panicking.rs"),
            "core/src/panicking.rs"
        );
    }

    #[test]
    fn strips_urls_and_bundle_hashes() {
        assert_eq!(
            normalize_path("https://shop.example.com/static/js/main.3f2a1b.js?v=12#x"),
            "static/js/main.js"
        );
        assert_eq!(normalize_path("http://localhost:3000/assets/index-BxYz12Ab.js"), "assets/index.js");
        assert_eq!(normalize_path("webpack://shop/./src/cart.js"), "src/cart.js");
        assert_eq!(normalize_path("file:///srv/app/server.mjs"), "app/server.mjs");
        assert_eq!(normalize_path("/srv/app/app-1.2.js"), "app/app-1.2.js");
        assert_eq!(normalize_path("/app/dist/vendors.min.js"), "dist/vendors.min.js");
    }

    #[test]
    fn derives_python_modules() {
        assert_eq!(module_from_path("app/orders.py", ".py"), "app.orders");
        assert_eq!(module_from_path("app/__init__.py", ".py"), "app");
        assert_eq!(module_from_path("<frozen runpy>", ".py"), "<frozen runpy>");
    }
}
