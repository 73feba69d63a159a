//! Ordering releases (`service.version`), for "resolve in the next
//! release": an event from a later release reopens the issue, one from the
//! release it was resolved in (or an older one) does not.
//!
//! Releases are compared the way people read versions: runs of digits as
//! numbers, the rest as text, so `1.10.0` follows `1.9.2` and `v2` follows
//! `v1`. A pre-release (`1.2.0-rc.1`) comes before its release (`1.2.0`).
//! Releases that are not versions at all (git hashes, build ids) cannot be
//! ordered: any other one counts as later, since a deploy that was already
//! running when the issue was resolved sends the release it was resolved in.

use std::cmp::Ordering;

/// Whether `candidate` is a later release than `current`.
pub fn is_later_release(candidate: &str, current: &str) -> bool {
    let (a, b) = (candidate.trim(), current.trim());
    if a == b {
        return false;
    }
    if looks_like_version(a) && looks_like_version(b) {
        compare_versions(a, b) == Ordering::Greater
    } else {
        true
    }
}

/// A version is digits and dots (after an optional `v`), then perhaps a
/// pre-release or build label after `-` or `+`: `1.4.2`, `v2`,
/// `2026.01.15`, `1.2.0-rc.1`. A git hash is not one, even when it starts
/// with a digit.
fn looks_like_version(text: &str) -> bool {
    let rest = text.strip_prefix(['v', 'V']).unwrap_or(text);
    let core = rest.split(['-', '+']).next().unwrap_or("");
    core.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && core.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Version order: numeric runs by value, text runs by bytes; a version that
/// continues with `-` (a pre-release) sorts before the one it extends.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let a = a.strip_prefix(['v', 'V']).unwrap_or(a);
    let b = b.strip_prefix(['v', 'V']).unwrap_or(b);
    let (mut left, mut right) = (chunks(a), chunks(b));
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (Some(x), None) => return if x.starts_with('-') { Ordering::Less } else { Ordering::Greater },
            (None, Some(y)) => return if y.starts_with('-') { Ordering::Greater } else { Ordering::Less },
            (Some(x), Some(y)) => {
                let order = compare_chunk(x, y);
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

fn compare_chunk(x: &str, y: &str) -> Ordering {
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if numeric(x) && numeric(y) {
        let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
        x.len().cmp(&y.len()).then_with(|| x.cmp(y))
    } else {
        x.cmp(y)
    }
}

/// Maximal runs of digits and of non-digits.
fn chunks(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest.find(|c: char| c.is_ascii_digit() != digit).unwrap_or(rest.len());
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_numerically() {
        assert!(is_later_release("1.10.0", "1.9.2"));
        assert!(!is_later_release("1.9.2", "1.10.0"));
        assert!(is_later_release("v2", "v1"));
        assert!(is_later_release("2.0.0", "v1.4"));
        assert!(!is_later_release("1.2.0", "1.2.0"));
        assert!(!is_later_release("1.2.0", " 1.2.0 "));
        assert!(is_later_release("1.2.1", "1.2.0"));
        assert!(!is_later_release("1.1.9", "1.2.0"));
    }

    #[test]
    fn pre_releases_come_before_their_release() {
        assert!(is_later_release("1.2.0", "1.2.0-rc.1"));
        assert!(!is_later_release("1.2.0-rc.1", "1.2.0"));
        assert!(is_later_release("1.2.0-rc.2", "1.2.0-rc.1"));
        assert!(is_later_release("1.2.0.1", "1.2.0"));
    }

    #[test]
    fn releases_that_are_not_versions_are_later_when_different() {
        let a = "9f2c1e7d5b3a4c6e8f0a1b2c3d4e5f6a7b8c9d0e";
        let b = "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b";
        assert!(is_later_release(a, b));
        assert!(is_later_release(b, a));
        assert!(!is_later_release(a, a));
        assert!(is_later_release("blue", "green"));
        assert!(is_later_release("1.0.0", "build-77"));
    }

    #[test]
    fn leading_zeros_do_not_change_the_order() {
        assert_eq!(compare_versions("1.02", "1.2"), Ordering::Equal);
        assert_eq!(compare_versions("2026.01.15", "2026.1.9"), Ordering::Greater);
    }
}
