//! The project key a Sentry SDK authenticates with: the public key of its
//! DSN, sent as `X-Sentry-Auth: Sentry sentry_key=<key>, sentry_version=7,
//! ...` or, by browser SDKs, as the `sentry_key` query parameter.

/// Why no key could be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no Sentry key: send X-Sentry-Auth with sentry_key=<key> (the key of the DSN) or ?sentry_key=<key>"
    )]
    Missing,
}

/// The key from the `X-Sentry-Auth` header value, else from the query
/// string (`a=1&sentry_key=abc`). The header wins when both are present.
pub fn sentry_key<'a>(auth_header: Option<&'a str>, query: Option<&'a str>) -> Result<&'a str, AuthError> {
    auth_header
        .and_then(from_header)
        .or_else(|| query.and_then(from_query))
        .filter(|key| !key.is_empty())
        .ok_or(AuthError::Missing)
}

/// `Sentry sentry_key=abc, sentry_version=7`: comma-separated pairs after
/// an optional `Sentry ` scheme.
fn from_header(value: &str) -> Option<&str> {
    let value = value.trim();
    let pairs = value.strip_prefix("Sentry ").or_else(|| value.strip_prefix("sentry ")).unwrap_or(value);
    pairs.split(',').find_map(|pair| pair.trim().strip_prefix("sentry_key=")).map(str::trim)
}

fn from_query(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("sentry_key="))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_as_sentry_python_sends_it() {
        let header = "Sentry sentry_key=abc123, sentry_version=7, sentry_client=sentry.python/2.75.0";
        assert_eq!(sentry_key(Some(header), None), Ok("abc123"));
        assert_eq!(sentry_key(Some(header), Some("sentry_key=other")), Ok("abc123"), "the header wins");
    }

    #[test]
    fn reads_the_query_parameter() {
        assert_eq!(sentry_key(None, Some("sentry_version=7&sentry_key=k1")), Ok("k1"));
        assert_eq!(sentry_key(Some("Sentry sentry_version=7"), Some("sentry_key=k2")), Ok("k2"));
    }

    #[test]
    fn a_missing_or_empty_key_is_an_error() {
        assert_eq!(sentry_key(None, None), Err(AuthError::Missing));
        assert_eq!(sentry_key(Some("Sentry sentry_key="), Some("x=1")), Err(AuthError::Missing));
    }
}
