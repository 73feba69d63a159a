//! `host:port` addresses of TCP and TLS checks. Parsed by hand rather than
//! as `SocketAddr` because the host is usually a DNS name, resolved at each
//! run so that a DNS change is followed.

/// Why an address cannot be dialled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("missing ']' after an IPv6 address")]
    UnclosedBracket,
    #[error("expected host:port, e.g. db.internal:5432")]
    NoPort,
    #[error("write IPv6 addresses in brackets, e.g. [::1]:443")]
    UnbracketedIpv6,
    #[error("the host is empty")]
    EmptyHost,
    #[error("the host must be a name or an IP address")]
    BadHost,
    #[error("port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("port 0 cannot be connected to")]
    PortZero,
}

/// Splits `host:port` (`[v6]:port` for IPv6 literals) into its parts; the
/// host comes back without brackets.
pub(crate) fn split_host_port(address: &str) -> Result<(&str, u16), AddressError> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(AddressError::UnclosedBracket)?;
        let port = after.strip_prefix(':').ok_or(AddressError::NoPort)?;
        (host, port)
    } else {
        let (host, port) = address.rsplit_once(':').ok_or(AddressError::NoPort)?;
        if host.contains(':') {
            return Err(AddressError::UnbracketedIpv6);
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(AddressError::EmptyHost);
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(AddressError::BadHost);
    }
    let port: u16 = port.parse().map_err(|_| AddressError::BadPort(port.to_owned()))?;
    if port == 0 {
        return Err(AddressError::PortZero);
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::split_host_port;

    #[test]
    fn splits_names_v4_and_bracketed_v6() {
        assert_eq!(split_host_port("db.internal:5432"), Ok(("db.internal", 5432)));
        assert_eq!(split_host_port("127.0.0.1:80"), Ok(("127.0.0.1", 80)));
        assert_eq!(split_host_port("[::1]:443"), Ok(("::1", 443)));
    }

    #[test]
    fn refuses_what_cannot_be_dialled() {
        for bad in ["db.internal", ":80", "host:0", "host:http", "host:70000", "::1:443", "[::1]443", "a b:1"]
        {
            assert!(split_host_port(bad).is_err(), "{bad} should be refused");
        }
    }
}
