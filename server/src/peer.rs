//! Who is at the other end of a connection: the client's address, for logs and per-address
//! limits.
//!
//! Directly, it is the TCP peer. Behind a proxy every connection comes from the proxy, so with
//! `--trust-proxy` the address is the last entry of `X-Forwarded-For`: the one the proxy itself
//! appended (nginx's `$proxy_add_x_forwarded_for`). Entries before it were written by the client
//! and prove nothing, so they are never used. A header that is missing or unreadable falls back
//! to the TCP peer.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

/// The client's address: the last `X-Forwarded-For` entry when the proxy is trusted, else the
/// TCP peer (`None` when neither is known, as in tests that build requests by hand).
pub fn client_addr(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trust_proxy: bool,
) -> Option<IpAddr> {
    let forwarded = trust_proxy.then(|| last_forwarded(headers)).flatten();
    forwarded.or_else(|| peer.map(|p| p.ip()))
}

/// The last address of the last `X-Forwarded-For` header, if it is one.
fn last_forwarded(headers: &HeaderMap) -> Option<IpAddr> {
    let last = headers.get_all("x-forwarded-for").iter().next_back()?;
    let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
    parse_entry(entry)
}

/// An address as proxies write it: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]` or with a port.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().expect("a header value"));
        }
        h
    }

    const PEER: &str = "10.0.0.9:5000";

    fn peer() -> Option<SocketAddr> {
        PEER.parse().ok()
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn without_trust_the_header_is_ignored() {
        let h = headers(&["203.0.113.7"]);
        assert_eq!(client_addr(peer(), &h, false), ip("10.0.0.9"));
    }

    #[test]
    fn with_trust_the_entry_the_proxy_added_counts_not_what_the_client_wrote() {
        // The client sent "X-Forwarded-For: 1.1.1.1"; nginx appended the address it saw.
        let h = headers(&["1.1.1.1, 203.0.113.7"]);
        assert_eq!(client_addr(peer(), &h, true), ip("203.0.113.7"));
        let two = headers(&["1.1.1.1", "198.51.100.2"]);
        assert_eq!(client_addr(peer(), &two, true), ip("198.51.100.2"));
    }

    #[test]
    fn ipv6_and_ports_are_understood() {
        for (entry, want) in [
            ("2001:db8::1", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("203.0.113.7:8080", "203.0.113.7"),
        ] {
            assert_eq!(
                client_addr(peer(), &headers(&[entry]), true),
                ip(want),
                "{entry}"
            );
        }
    }

    #[test]
    fn a_missing_or_garbled_header_falls_back_to_the_peer() {
        assert_eq!(client_addr(peer(), &HeaderMap::new(), true), ip("10.0.0.9"));
        assert_eq!(
            client_addr(peer(), &headers(&["unknown"]), true),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_addr(peer(), &headers(&["1.2.3.4, "]), true),
            ip("10.0.0.9")
        );
        assert_eq!(client_addr(None, &HeaderMap::new(), true), None);
    }
}
