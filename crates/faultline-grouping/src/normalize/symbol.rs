//! Function, class and module names made stable: generated and anonymous
//! parts that a compiler numbers (lambdas, closures, anonymous classes,
//! proxies, async state machines, symbol hashes) lose their numbers, so a
//! new lambda elsewhere in the file does not split an issue.

use std::sync::LazyLock;

use regex::Regex;

use crate::stacktrace::Language;

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("symbol patterns are valid")
}

/// Cleans a function name for its language; `None` when nothing stable is left.
pub(crate) fn function(language: Language, name: &str) -> Option<String> {
    let name = name.trim();
    let cleaned = match language {
        Language::Java => java_method(name),
        Language::JavaScript => javascript_function(name),
        Language::Go => go_function(name),
        Language::Ruby => ruby_method(name),
        Language::Php => php_function(name),
        Language::Python | Language::DotNet | Language::Rust => name.to_string(),
    };
    let cleaned = cleaned.trim();
    (!cleaned.is_empty()).then(|| cleaned.to_string())
}

/// Cleans a module, class or package name for its language.
pub(crate) fn module(language: Language, name: &str) -> Option<String> {
    let name = name.trim();
    let cleaned = match language {
        Language::Java => java_class(name),
        Language::Go => strip_brackets(name, '[', ']'),
        Language::Php => php_class(name),
        _ => name.to_string(),
    };
    (!cleaned.is_empty()).then_some(cleaned)
}

static JAVA_GENERATED: LazyLock<Regex> = LazyLock::new(|| regex(r"(\$\$[A-Za-z_]+)(?:\$+[0-9A-Za-z_]*)*"));
static JAVA_NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    regex(
        r"(GeneratedMethodAccessor|GeneratedConstructorAccessor|GeneratedSerializationConstructorAccessor|\$Proxy|\.proxy)\d+",
    )
});

/// `lambda$main$0` → `lambda$main`, `access$000` → `access`.
fn java_method(name: &str) -> String {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    trimmed.strip_suffix('$').unwrap_or(name).to_string()
}

/// `Foo$$Lambda$14/0x0000000800066840` → `Foo$$Lambda`,
/// `Svc$$EnhancerBySpringCGLIB$$5f3a2b1c` → `Svc$$EnhancerBySpringCGLIB`,
/// `Main$1` → `Main`, `Main$1Local` → `Main$Local`, `jdk.proxy2.$Proxy45` →
/// `jdk.proxy.$Proxy`.
fn java_class(name: &str) -> String {
    let without_address = name.split('/').next().unwrap_or(name);
    let generated = JAVA_GENERATED.replace_all(without_address, "$1");
    let numbered = JAVA_NUMBERED.replace_all(&generated, "$1");
    numbered
        .split('$')
        .filter(|part| part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()))
        .map(|part| part.trim_start_matches(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("$")
}

static JS_ALIAS: LazyLock<Regex> = LazyLock::new(|| regex(r"\s*\[as [^\]]*\]$"));

/// `Object.<anonymous>` → `Object`, `Router.handle [as handle_request]` →
/// `Router.handle`, Firefox's `render/<` → `render`, `<anonymous>` → nothing.
fn javascript_function(name: &str) -> String {
    let name = name.trim_start_matches("async ").trim_start_matches("new ");
    let name = JS_ALIAS.replace(name, "");
    let name = name.split("/<").next().unwrap_or_default();
    let name = name.replace("<anonymous>", "").replace("<computed>", "");
    name.trim_end_matches('.').trim_start_matches('.').to_string()
}

static GO_NUMBERED: LazyLock<Regex> = LazyLock::new(|| regex(r"\.(func|gowrap|deferwrap)\d+|\.\d+\b"));

/// `(*Server).handle.func2.1` → `(*Server).handle.func`,
/// `Map[...]` → `Map`.
fn go_function(name: &str) -> String {
    let name = strip_brackets(name, '[', ']');
    GO_NUMBERED
        .replace_all(&name, |caps: &regex::Captures<'_>| match caps.get(1) {
            Some(kind) => format!(".{}", kind.as_str()),
            None => String::new(),
        })
        .into_owned()
}

static RUBY_LEVELS: LazyLock<Regex> = LazyLock::new(|| regex(r"block \(\d+ levels\) in "));
static RUBY_OWNER: LazyLock<Regex> = LazyLock::new(|| regex(r"(^|\s)[A-Z][\w]*(?:::[A-Z]\w*)*(?:#|\.)"));

/// `block (2 levels) in Order#total` → `block in total`. Ruby 3.4 prefixes
/// methods with their class (`Order#total`), earlier versions do not;
/// dropping it keeps groups stable across a Ruby upgrade (the module comes
/// from the file anyway).
fn ruby_method(name: &str) -> String {
    let name = RUBY_LEVELS.replace_all(name, "block in ");
    RUBY_OWNER.replace_all(&name, "$1").into_owned()
}

static PHP_CLOSURE: LazyLock<Regex> = LazyLock::new(|| regex(r"\{closure[^}]*\}"));

/// PHP 8.4's `{closure:App\Foo::bar():12}` → `{closure}`.
fn php_function(name: &str) -> String {
    PHP_CLOSURE.replace_all(name, "{closure}").into_owned()
}

/// `class@anonymous%0/app/src/Foo.php:12$0` → `class@anonymous`.
fn php_class(name: &str) -> String {
    match name.find("@anonymous") {
        Some(at) => name.get(..at + "@anonymous".len()).unwrap_or(name).to_string(),
        None => name.to_string(),
    }
}

static DOTNET_ASYNC: LazyLock<Regex> = LazyLock::new(|| regex(r"\.<([^<>]+)>d__\d+\.MoveNext$"));
static DOTNET_DISPLAY_CLASS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"\.<>c(?:__DisplayClass[\d_]+)?(?:`\d+)?\."));
static DOTNET_LAMBDA: LazyLock<Regex> = LazyLock::new(|| regex(r"<([^<>]+)>b__[\w]+"));
static DOTNET_LOCAL_FN: LazyLock<Regex> = LazyLock::new(|| regex(r"<([^<>]+)>g__([^|]+)\|[\w]+"));
static DOTNET_MAIN: LazyLock<Regex> = LazyLock::new(|| regex(r"<(Main)>\$"));
static DOTNET_ARITY: LazyLock<Regex> = LazyLock::new(|| regex(r"`\d+"));
static DOTNET_DYNAMIC: LazyLock<Regex> = LazyLock::new(|| regex(r"^(lambda_method|DynamicMethod)\d+$"));

/// Splits a .NET frame symbol into type and method, rewriting what the C#
/// compiler generates: `Svc.<LoadAsync>d__5.MoveNext` → (`Svc`, `LoadAsync`),
/// `Ctl.<>c.<Get>b__3_0` → (`Ctl`, `lambda$Get`),
/// `Program.<Main>g__Local|0_0` → (`Program.Main`, `Local`),
/// `List`1.Add[T]` → (`List`, `Add`).
pub(crate) fn split_dotnet_symbol(symbol: &str) -> (Option<String>, Option<String>) {
    let symbol = strip_brackets(symbol.trim(), '[', ']').replace('+', ".");
    let symbol = DOTNET_ASYNC.replace(&symbol, ".$1");
    let symbol = DOTNET_DISPLAY_CLASS.replace_all(&symbol, ".");
    let symbol = DOTNET_LOCAL_FN.replace_all(&symbol, "$1.$2");
    let symbol = DOTNET_LAMBDA.replace_all(&symbol, "lambda$$$1");
    let symbol = DOTNET_MAIN.replace_all(&symbol, "$1");
    let symbol = DOTNET_ARITY.replace_all(&symbol, "");
    let symbol = DOTNET_DYNAMIC.replace(&symbol, "$1");
    split_last(&symbol, ".")
}

static RUST_HASH: LazyLock<Regex> = LazyLock::new(|| regex(r"::h[0-9a-f]{16}$"));
static RUST_GENERATED: LazyLock<Regex> =
    LazyLock::new(|| regex(r"::\{\{?(?:closure|constant|vtable\.shim|async_fn|async_block|shim)[^}]*\}\}?"));

/// Splits a Rust symbol into module path and function, dropping the
/// symbol hash (`::h1a2b…`), closures (`{{closure}}`, `{closure#0}`),
/// async bodies and generic arguments: `<app::Db as app::Store>::get` →
/// (`app::Db`, `get`), `app::orders::parse::{{closure}}` → (`app::orders`, `parse`).
pub(crate) fn split_rust_symbol(symbol: &str) -> (Option<String>, Option<String>) {
    let symbol = RUST_HASH.replace(symbol.trim(), "");
    let symbol = RUST_GENERATED.replace_all(&symbol, "");
    if let Some((self_type, rest)) = split_trait_impl(&symbol) {
        let function = rest.rsplit("::").next().map(str::to_string);
        return (Some(strip_brackets(&self_type, '<', '>')), function);
    }
    let symbol = strip_brackets(&symbol, '<', '>').replace("::::", "::");
    split_last(&symbol, "::")
}

/// `<A as B>::rest` → (`A`, `rest`); `<A>::rest` → (`A`, `rest`).
fn split_trait_impl(symbol: &str) -> Option<(String, String)> {
    let inner_end = matching_close(symbol, '<', '>')?;
    let inner = symbol.get(1..inner_end)?;
    let rest = symbol.get(inner_end + 1..)?.trim_start_matches("::");
    let self_type = inner.split(" as ").next().unwrap_or(inner);
    Some((self_type.to_string(), rest.to_string()))
}

/// Index of the bracket closing the one `symbol` starts with.
fn matching_close(symbol: &str, open: char, close: char) -> Option<usize> {
    if !symbol.starts_with(open) {
        return None;
    }
    let mut depth = 0usize;
    for (at, c) in symbol.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(at);
            }
        }
    }
    None
}

/// Removes every bracketed part, nested or not: `Map[K,V]` → `Map`.
/// An unbalanced closer is kept as text (`Vec<T>>` stays legible).
pub(crate) fn strip_brackets(text: &str, open: char, close: char) -> String {
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// Splits at the last separator into (owner, name); no separator: (None, name).
fn split_last(symbol: &str, separator: &str) -> (Option<String>, Option<String>) {
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match symbol.rsplit_once(separator) {
        Some((owner, name)) => (nonempty(owner), nonempty(name)),
        None => (None, nonempty(symbol)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(language: Language, name: &str) -> String {
        function(language, name).unwrap_or_default()
    }

    fn m(language: Language, name: &str) -> String {
        module(language, name).unwrap_or_default()
    }

    #[test]
    fn java_generated_names_lose_numbers() {
        assert_eq!(f(Language::Java, "lambda$process$0"), "lambda$process");
        assert_eq!(f(Language::Java, "lambda$static$12"), "lambda$static");
        assert_eq!(f(Language::Java, "<init>"), "<init>");
        assert_eq!(f(Language::Java, "md5"), "md5");
        assert_eq!(m(Language::Java, "com.acme.Main$1"), "com.acme.Main");
        assert_eq!(m(Language::Java, "com.acme.Main$1$2"), "com.acme.Main");
        assert_eq!(m(Language::Java, "com.acme.Main$1Local"), "com.acme.Main$Local");
        assert_eq!(m(Language::Java, "com.acme.Main$Inner"), "com.acme.Main$Inner");
        assert_eq!(m(Language::Java, "com.acme.Svc$$Lambda$14/0x0000000800066840"), "com.acme.Svc$$Lambda");
        assert_eq!(m(Language::Java, "com.acme.Svc$$Lambda/0x000001f8a1044c30"), "com.acme.Svc$$Lambda");
        assert_eq!(
            m(Language::Java, "com.acme.Svc$$EnhancerBySpringCGLIB$$5f3a2b1c"),
            "com.acme.Svc$$EnhancerBySpringCGLIB"
        );
        assert_eq!(m(Language::Java, "com.acme.Svc$$SpringCGLIB$$0"), "com.acme.Svc$$SpringCGLIB");
        assert_eq!(m(Language::Java, "jdk.proxy2.$Proxy45"), "jdk.proxy.$Proxy");
        assert_eq!(
            m(Language::Java, "jdk.internal.reflect.GeneratedMethodAccessor123"),
            "jdk.internal.reflect.GeneratedMethodAccessor"
        );
    }

    #[test]
    fn javascript_anonymous_names_go() {
        assert_eq!(f(Language::JavaScript, "Object.<anonymous>"), "Object");
        assert_eq!(f(Language::JavaScript, "<anonymous>"), "");
        assert_eq!(f(Language::JavaScript, "Router.handle [as handle_request]"), "Router.handle");
        assert_eq!(f(Language::JavaScript, "render/<"), "render");
        assert_eq!(f(Language::JavaScript, "App/</<"), "App");
        assert_eq!(f(Language::JavaScript, "async getUser"), "getUser");
    }

    #[test]
    fn go_closures_lose_numbers() {
        assert_eq!(f(Language::Go, "(*Server).handle.func2.1"), "(*Server).handle.func");
        assert_eq!(f(Language::Go, "main.func1"), "main.func");
        assert_eq!(f(Language::Go, "Map[...]"), "Map");
        assert_eq!(f(Language::Go, "(*Pool).Get.gowrap1"), "(*Pool).Get.gowrap");
    }

    #[test]
    fn ruby_blocks_and_owners_go() {
        assert_eq!(f(Language::Ruby, "block (2 levels) in Order#total"), "block in total");
        assert_eq!(f(Language::Ruby, "Order.find"), "find");
        assert_eq!(f(Language::Ruby, "Admin::OrdersController#show"), "show");
        assert_eq!(f(Language::Ruby, "<main>"), "<main>");
        assert_eq!(f(Language::Ruby, "block in <class:Order>"), "block in <class:Order>");
    }

    #[test]
    fn php_closures_and_anonymous_classes() {
        assert_eq!(f(Language::Php, "{closure:App\\Foo::bar():12}"), "{closure}");
        assert_eq!(m(Language::Php, "class@anonymous%0/app/src/Foo.php:12$0"), "class@anonymous");
    }

    #[test]
    fn dotnet_compiler_names_are_rewritten() {
        let s = |sym| split_dotnet_symbol(sym);
        assert_eq!(
            s("Acme.Orders.OrderService.<LoadAsync>d__5.MoveNext"),
            (Some("Acme.Orders.OrderService".into()), Some("LoadAsync".into()))
        );
        assert_eq!(
            s("Acme.Web.OrderController.<>c.<Get>b__3_0"),
            (Some("Acme.Web.OrderController".into()), Some("lambda$Get".into()))
        );
        assert_eq!(
            s("Acme.Web.OrderController.<>c__DisplayClass4_0.<Post>b__1"),
            (Some("Acme.Web.OrderController".into()), Some("lambda$Post".into()))
        );
        assert_eq!(
            s("Program.<Main>g__Validate|0_0"),
            (Some("Program.Main".into()), Some("Validate".into()))
        );
        assert_eq!(s("Program.<Main>$"), (Some("Program".into()), Some("Main".into())));
        assert_eq!(
            s("System.Collections.Generic.List`1.Add[T]"),
            (Some("System.Collections.Generic.List".into()), Some("Add".into()))
        );
        assert_eq!(s("Outer+Inner.Run"), (Some("Outer.Inner".into()), Some("Run".into())));
        assert_eq!(s("lambda_method12"), (None, Some("lambda_method".into())));
    }

    #[test]
    fn rust_hashes_closures_and_generics_go() {
        let s = |sym| split_rust_symbol(sym);
        assert_eq!(
            s("myapp::orders::parse_quantity::h1a2b3c4d5e6f7a8b"),
            (Some("myapp::orders".into()), Some("parse_quantity".into()))
        );
        assert_eq!(
            s("myapp::orders::parse::{{closure}}"),
            (Some("myapp::orders".into()), Some("parse".into()))
        );
        assert_eq!(s("myapp::run::{closure#0}::{closure#1}"), (Some("myapp".into()), Some("run".into())));
        assert_eq!(
            s("<myapp::db::Pg as myapp::Store>::get"),
            (Some("myapp::db::Pg".into()), Some("get".into()))
        );
        assert_eq!(
            s("core::ops::function::FnOnce::call_once"),
            (Some("core::ops::function::FnOnce".into()), Some("call_once".into()))
        );
        assert_eq!(s("alloc::vec::Vec<T,A>::push"), (Some("alloc::vec::Vec".into()), Some("push".into())));
        assert_eq!(s("rust_begin_unwind"), (None, Some("rust_begin_unwind".into())));
    }

    #[test]
    fn brackets_strip_even_when_nested_or_unbalanced() {
        assert_eq!(strip_brackets("a<b<c>>::d", '<', '>'), "a::d");
        assert_eq!(strip_brackets("a>b", '<', '>'), "a>b");
        assert_eq!(strip_brackets("<<<", '<', '>'), "");
    }
}
