//! Whether a frame is the application's own code.
//!
//! Grouping prefers in-app frames: the same bug reached through a different
//! framework version or middleware stack should stay one issue, and the
//! culprit should point at code the user can change. Without configuration
//! we recognize what is *not* in-app: standard libraries, installed
//! dependencies and runtimes, by install location or by well-known package
//! prefixes. Everything else counts as the application's.

use crate::normalize::RawFrame;
use crate::stacktrace::Language;

/// Install locations of dependencies in any language.
const DEPENDENCY_PATHS: [&str; 11] = [
    "/site-packages/",
    "/dist-packages/",
    "/node_modules/",
    "/pkg/mod/",
    "/vendor/",
    "/gems/",
    "/.cargo/registry/",
    "/.cargo/git/",
    "/.rustup/",
    "/rustc/",
    "/usr/lib/jvm/",
];

/// Package prefixes of the JVM's runtime and its most common frameworks.
const JAVA_LIBRARIES: [&str; 40] = [
    "java.",
    "javax.",
    "jakarta.",
    "sun.",
    "com.sun.",
    "jdk.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "groovy.",
    "org.codehaus.groovy.",
    "clojure.",
    "org.springframework.",
    "org.apache.",
    "org.hibernate.",
    "org.eclipse.",
    "org.glassfish.",
    "org.jboss.",
    "org.junit.",
    "org.slf4j.",
    "org.postgresql.",
    "org.h2.",
    "org.gradle.",
    "io.netty.",
    "io.grpc.",
    "io.opentelemetry.",
    "io.micrometer.",
    "io.undertow.",
    "io.vertx.",
    "io.quarkus.",
    "io.micronaut.",
    "io.reactivex.",
    "reactor.",
    "okhttp3.",
    "okio.",
    "retrofit2.",
    "com.fasterxml.",
    "com.zaxxer.",
    "com.mysql.",
    "ch.qos.",
];

/// Namespace prefixes of .NET's runtime and its most common libraries.
const DOTNET_LIBRARIES: [&str; 14] = [
    "System.",
    "Microsoft.",
    "Newtonsoft.",
    "Npgsql.",
    "Grpc.",
    "Polly.",
    "Serilog.",
    "NLog.",
    "Castle.",
    "Autofac.",
    "MediatR.",
    "Dapper.",
    "StackExchange.",
    "Swashbuckle.",
];

/// Crates of Rust's standard library, runtime and common async stack.
const RUST_LIBRARIES: [&str; 23] = [
    "std::",
    "core::",
    "alloc::",
    "__rustc::",
    "panic_unwind::",
    "panic_abort::",
    "backtrace::",
    "tokio::",
    "tokio_util::",
    "hyper::",
    "hyper_util::",
    "h2::",
    "tower::",
    "tower_http::",
    "axum::",
    "axum_core::",
    "tonic::",
    "futures::",
    "futures_util::",
    "futures_core::",
    "tracing::",
    "anyhow::",
    "actix_rt::",
];

/// Unqualified Rust/C runtime symbols that appear around every panic.
const RUST_RUNTIME_SYMBOLS: [&str; 11] = [
    "rust_begin_unwind",
    "rust_panic",
    "__rust_start_panic",
    "__rust_try",
    "__rust_begin_short_backtrace",
    "_start",
    "__libc_start_main",
    "__libc_start_call_main",
    "start_thread",
    "clone3",
    "main",
];

/// Top-level packages of Go's standard library; their import paths have no
/// dot in the first segment, unlike `github.com/...`.
const GO_STDLIB: [&str; 38] = [
    "archive",
    "bufio",
    "bytes",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "reflect",
    "regexp",
    "runtime",
    "slices",
    "sort",
    "strconv",
    "strings",
    "sync",
];

/// More of Go's standard library (split for line length).
const GO_STDLIB_MORE: [&str; 7] = ["syscall", "testing", "text", "time", "unicode", "unique", "unsafe"];

/// Decides from a frame's raw parts whether it is the application's code.
pub(crate) fn is_in_app(language: Language, raw: &RawFrame<'_>) -> bool {
    let file = raw.file.map(|f| f.replace('\\', "/"));
    if file.as_deref().is_some_and(is_dependency_path) {
        return false;
    }
    let module = raw.module.unwrap_or("");
    let function = raw.function.unwrap_or("");
    match language {
        Language::Python => file.as_deref().is_some_and(is_python_app_file),
        Language::Java => !starts_with_any(module, &JAVA_LIBRARIES),
        Language::JavaScript => file.as_deref().is_some_and(is_javascript_app_file),
        Language::Go => !module.is_empty() && !is_go_stdlib(module),
        Language::DotNet => {
            !module.is_empty() && !starts_with_any(module, &DOTNET_LIBRARIES) && module != "System"
        }
        Language::Ruby => file.as_deref().is_some_and(is_ruby_app_file),
        Language::Php => file.is_some(),
        Language::Rust => is_rust_app(module, function),
    }
}

fn is_dependency_path(file: &str) -> bool {
    let probe = format!("/{}", file.trim_start_matches('/'));
    DEPENDENCY_PATHS.iter().any(|marker| probe.contains(marker))
}

fn starts_with_any(name: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|prefix| name.starts_with(prefix))
}

/// Python's stdlib lives in `lib/pythonX.Y/`; `<frozen ...>` is importlib.
fn is_python_app_file(file: &str) -> bool {
    !(file.starts_with("<frozen ") || file.contains("/lib/python") || file.contains("/Lib/"))
}

/// Node's internals are `node:...`/`internal/...`; `<anonymous>` and
/// `native` are built-ins without source.
fn is_javascript_app_file(file: &str) -> bool {
    !(file.starts_with("node:")
        || file.starts_with("internal/")
        || file.starts_with('<')
        || file == "native"
        || file.starts_with("[native code]")
        || file.contains("webpack/bootstrap"))
}

/// Builtins such as `panic` have no package and count as the runtime.
fn is_go_stdlib(package: &str) -> bool {
    let first = package.split('/').next().unwrap_or(package);
    GO_STDLIB.contains(&first) || GO_STDLIB_MORE.contains(&first)
}

/// `<internal:kernel>` is Ruby's core; `lib/ruby/3.2.0/` its stdlib.
fn is_ruby_app_file(file: &str) -> bool {
    !(file.starts_with("<internal:") || file.contains("/lib/ruby/") || file.contains("/rubygems/"))
}

fn is_rust_app(module: &str, function: &str) -> bool {
    if module.is_empty() {
        return !function.is_empty()
            && !RUST_RUNTIME_SYMBOLS.contains(&function)
            && !function.starts_with("__")
            && !function.starts_with('<');
    }
    let module = module.trim_start_matches('<');
    !starts_with_any(module, &RUST_LIBRARIES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(language: Language, path: &str) -> bool {
        is_in_app(language, &RawFrame { file: Some(path), function: Some("f"), ..RawFrame::default() })
    }

    fn module(language: Language, name: &str) -> bool {
        is_in_app(language, &RawFrame { module: Some(name), function: Some("f"), ..RawFrame::default() })
    }

    #[test]
    fn python() {
        assert!(file(Language::Python, "/srv/app/orders.py"));
        assert!(!file(Language::Python, "/venv/lib/python3.11/site-packages/django/core/base.py"));
        assert!(!file(Language::Python, "/usr/lib/python3.11/json/decoder.py"));
        assert!(!file(Language::Python, "<frozen importlib._bootstrap>"));
        assert!(!file(Language::Python, r"C:\Python311\Lib\json\decoder.py"));
    }

    #[test]
    fn java() {
        assert!(module(Language::Java, "com.acme.orders.OrderService"));
        assert!(!module(Language::Java, "java.util.Optional"));
        assert!(!module(Language::Java, "jdk.internal.reflect.DirectMethodHandleAccessor"));
        assert!(!module(Language::Java, "sun.reflect.NativeMethodAccessorImpl"));
        assert!(!module(Language::Java, "org.springframework.web.servlet.DispatcherServlet"));
    }

    #[test]
    fn javascript() {
        assert!(file(Language::JavaScript, "/srv/app/src/users.js"));
        assert!(file(Language::JavaScript, "https://shop.example.com/static/js/main.3f2a1b.js"));
        assert!(!file(Language::JavaScript, "/srv/app/node_modules/express/lib/router/index.js"));
        assert!(!file(Language::JavaScript, "node:internal/process/task_queues"));
        assert!(!file(Language::JavaScript, "<anonymous>"));
        assert!(!is_in_app(Language::JavaScript, &RawFrame::default()));
    }

    #[test]
    fn go() {
        assert!(module(Language::Go, "main"));
        assert!(module(Language::Go, "github.com/acme/shop/internal/orders"));
        assert!(!module(Language::Go, "runtime"));
        assert!(!module(Language::Go, "net/http"));
        assert!(!is_in_app(Language::Go, &RawFrame { function: Some("panic"), ..RawFrame::default() }));
        assert!(!is_in_app(
            Language::Go,
            &RawFrame {
                module: Some("github.com/lib/pq"),
                file: Some("/root/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go"),
                ..RawFrame::default()
            }
        ));
    }

    #[test]
    fn dotnet_ruby_php_rust() {
        assert!(module(Language::DotNet, "Acme.Orders.OrderService"));
        assert!(!module(Language::DotNet, "System.Runtime.CompilerServices.TaskAwaiter"));
        assert!(!module(Language::DotNet, "Microsoft.AspNetCore.Mvc.Infrastructure.ActionMethodExecutor"));
        assert!(file(Language::Ruby, "/app/app/models/order.rb"));
        assert!(!file(Language::Ruby, "/usr/local/bundle/gems/activerecord-7.1.3/lib/active_record/base.rb"));
        assert!(!file(Language::Ruby, "<internal:kernel>"));
        assert!(file(Language::Php, "/var/www/html/src/OrderService.php"));
        assert!(!file(Language::Php, "/var/www/html/vendor/symfony/http-kernel/HttpKernel.php"));
        assert!(module(Language::Rust, "myapp::orders"));
        assert!(!module(Language::Rust, "core::panicking"));
        assert!(!module(Language::Rust, "tokio::runtime::task"));
        assert!(!is_in_app(
            Language::Rust,
            &RawFrame { function: Some("rust_begin_unwind"), ..RawFrame::default() }
        ));
        assert!(!is_in_app(Language::Rust, &RawFrame { function: Some("main"), ..RawFrame::default() }));
    }
}
