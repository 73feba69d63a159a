//! PHP traces, as `Throwable::getTraceAsString()` and uncaught-exception
//! output print them:
//!
//! ```text
//! PHP Fatal error:  Uncaught App\Exception\OrderNotFound: Order 42 not found in /var/www/html/src/OrderService.php:87
//! Stack trace:
//! #0 /var/www/html/src/Controller/OrderController.php(31): App\Service\OrderService->load(42)
//! #1 [internal function]: App\Controller\OrderController->show(Object(Symfony\Component\HttpFoundation\Request))
//! #2 {main}
//!   thrown in /var/www/html/src/OrderService.php on line 87
//! ```
//!
//! Frame `#0` names the innermost function (the one that threw). Each frame
//! pairs the function *called* with the place it was called *from*, so an
//! internal function (`json_decode`) sits at an application file; the
//! header's `in File.php:12` is kept as [`Exception::raised_at`] so
//! grouping can tell the two apart (see `crate::locate`). With a
//! `previous` exception, `Throwable::__toString()` prints the previous one
//! first and each wrapper after it as `Next Type: message`: the printed
//! order is root cause first and is reversed into chain order.

use std::sync::LazyLock;

use regex::Regex;

use crate::normalize::{normalize_frame, RawFrame};
use crate::stacktrace::{Exception, Frame, Language};

/// `#N file(line): call(args)` or `#N [internal function]: call(args)`.
static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*#\d+ (?:(?P<file>.+?)\((?P<line>\d+)\)|\[internal function\]): (?P<call>.+)$")
        .expect("valid pattern")
});
/// `[PHP Fatal error:  Uncaught ][Next ]Type: message[ in file:line]`.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:PHP )?(?:Fatal error:\s+)?(?:Uncaught )?(?P<next>Next )?(?P<type>[A-Za-z_\\][\w\\]*): (?P<msg>.*?)(?: in (?P<file>\S+):(?P<line>\d+))?$")
        .expect("valid pattern")
});
static CLOSURE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{closure[^}]*\}").expect("valid pattern"));

pub(crate) fn parse(lines: &[&str]) -> Vec<Exception> {
    let mut printed: Vec<Exception> = Vec::new();
    let mut current = Exception::default();
    for line in lines {
        if let Some(frame) = parse_frame(line) {
            current.frames.push(frame);
        } else if let Some(caps) = HEADER.captures(line.trim_end()) {
            let is_next = caps.name("next").is_some();
            if is_next || !current.frames.is_empty() || current.exception_type.is_some() {
                printed.push(std::mem::take(&mut current));
            }
            current.exception_type = caps.name("type").map(|m| m.as_str().to_string());
            current.message = caps.name("msg").map(|m| m.as_str().to_string());
            current.raised_at = raised_at(&caps);
        }
    }
    printed.push(current);
    printed.retain(|e| !e.frames.is_empty() || e.exception_type.is_some());
    printed.reverse();
    printed
}

/// Where the header says the exception was thrown. For an exception thrown
/// inside an internal function (`json_decode`, `DateTime::__construct`)
/// that is the function's call site, since it has no PHP code of its own.
fn raised_at(caps: &regex::Captures<'_>) -> Option<Frame> {
    let raw = RawFrame {
        file: Some(caps.name("file")?.as_str()),
        line: caps.name("line").and_then(|m| m.as_str().parse().ok()),
        ..RawFrame::default()
    };
    Some(normalize_frame(Language::Php, &raw))
}

fn parse_frame(line: &str) -> Option<Frame> {
    let caps = FRAME.captures(line)?;
    let call = caps.name("call")?.as_str();
    let call = CLOSURE.replace_all(call, "{closure}");
    let name = call.split('(').next().unwrap_or_default();
    let (class, function) = match name.split_once("->").or_else(|| name.split_once("::")) {
        Some((class, function)) => (Some(class), function),
        None => (None, name),
    };
    let raw = RawFrame {
        module: class,
        function: Some(function),
        file: caps.name("file").map(|m| m.as_str()),
        line: caps.name("line").and_then(|m| m.as_str().parse().ok()),
    };
    Some(normalize_frame(Language::Php, &raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stacktrace::lines::split;

    fn parse_text(text: &str) -> Vec<Exception> {
        parse(&split(text))
    }

    fn keys(exception: &Exception) -> Vec<String> {
        exception.frames.iter().map(Frame::grouping_key).collect()
    }

    #[test]
    fn uncaught_exception() {
        let text = r"PHP Fatal error:  Uncaught App\Exception\OrderNotFound: Order 42 not found in /var/www/html/src/Service/OrderService.php:87
Stack trace:
#0 /var/www/html/src/Controller/OrderController.php(31): App\Service\OrderService->load(42)
#1 [internal function]: App\Controller\OrderController->show(Object(Symfony\Component\HttpFoundation\Request))
#2 /var/www/html/vendor/symfony/http-kernel/HttpKernel.php(181): call_user_func_array(Array, Array)
#3 /var/www/html/src/routes.php(12): {closure:App\Kernel::boot():40}(Object(App\Request))
#4 /var/www/html/public/index.php(20): Symfony\Component\HttpKernel\Kernel::handle(Object(Symfony\Component\HttpFoundation\Request))
#5 {main}
  thrown in /var/www/html/src/Service/OrderService.php on line 87";
        let chain = parse_text(text);
        assert_eq!(chain.len(), 1);
        let e = &chain[0];
        assert_eq!(e.exception_type.as_deref(), Some(r"App\Exception\OrderNotFound"));
        assert_eq!(e.message.as_deref(), Some("Order 42 not found"));
        assert_eq!(
            keys(e),
            [
                r"App\Service\OrderService|load",
                r"App\Controller\OrderController|show",
                "symfony/http-kernel/HttpKernel.php|call_user_func_array",
                "src/routes.php|{closure}",
                r"Symfony\Component\HttpKernel\Kernel|handle",
            ]
        );
        let in_app: Vec<bool> = e.frames.iter().map(|f| f.in_app).collect();
        assert_eq!(in_app, [true, false, false, true, true]);
    }

    #[test]
    fn previous_exceptions_are_root_cause_last() {
        let text = r"PDOException: SQLSTATE[HY000] [2002] Connection refused in /app/src/Db.php:14
Stack trace:
#0 /app/src/Db.php(14): PDO->__construct('mysql:host=db', 'app', Object(SensitiveParameterValue))
#1 /app/src/Repo.php(9): App\Db->connect()
#2 {main}

Next App\RepositoryException: cannot load orders in /app/src/Repo.php:11
Stack trace:
#0 /app/public/index.php(5): App\Repo->all()
#1 {main}";
        let chain = parse_text(text);
        let types: Vec<_> = chain.iter().map(|e| e.exception_type.as_deref().unwrap_or("")).collect();
        assert_eq!(types, [r"App\RepositoryException", "PDOException"]);
        assert_eq!(keys(&chain[1]), ["PDO|__construct", r"App\Db|connect"]);
    }
}
