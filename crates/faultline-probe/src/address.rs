//! `host:port` addresses of TCP and TLS checks. Parsed by hand rather than
//! as `SocketAddr` because the host is usually a DNS name, resolved at each
//! run so that a DNS change is followed.

/// Splits `host:port` (`[v6]:port` for IPv6 literals) into its parts; the
/// host comes back without brackets.
pub(crate) fn split_host_port(address: &str) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("missing ']' after an IPv6 address")?;
        let port = after.strip_prefix(':').ok_or("expected host:port, e.g. db.internal:5432")?;
        (host, port)
    } else {
        let (host, port) = address.rsplit_once(':').ok_or("expected host:port, e.g. db.internal:5432")?;
        if host.contains(':') {
            return Err("write IPv6 addresses in brackets, e.g. [::1]:443".to_owned());
        }
        (host, port)
    };
    if host.is_empty() {
        return Err("the host is empty".to_owned());
    }
    if host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err("the host must be a name or an IP address".to_owned());
    }
    let port: u16 = port.parse().map_err(|_| format!("port {port:?} is not a number from 1 to 65535"))?;
    if port == 0 {
        return Err("port 0 cannot be connected to".to_owned());
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
