//! A socket as the Admin UI sees it: its handshake with every secret redacted, who the chat
//! took it for, its rooms; and the small translations the package makes (reasons, dates).
//!
//! Redacted (replaced by `[redacted]`, the key kept so the UI shows that one was sent): the
//! `token` of `auth`; the headers `authorization`, `proxy-authorization`, `cookie` and any
//! header whose name holds `token`, `secret`, `password`, `api-key` or `session`; query
//! parameters whose names hold `token`, `secret`, `password`, `passwd`, `key`, `auth` or
//! `session`, also in `url`.

use std::net::SocketAddr;

use axum::{
    extract::{ConnectInfo, Query},
    http::{HeaderMap, request::Parts},
};
use serde_json::{Map, Value, json};
use socketioxide::{TransportType, adapter::Adapter, extract::SocketRef, socket::DisconnectReason};

use crate::{
    chat::{
        Conn,
        watch::{REDACTED, ShownAuth},
    },
    peer::client_addr,
    wire::admin::{Handshake, SerializedSocket},
};

/// What the handshake of a socket is shown with.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Client addresses come from a trusted proxy's `X-Forwarded-For`.
    pub trust_proxy: bool,
    /// The server speaks TLS.
    pub secure: bool,
}

/// The socket as `all_sockets` and `socket_connected` carry it; `issued` is when it connected.
pub fn serialize<A: Adapter>(s: &SocketRef<A>, cx: Context, issued: i64) -> SerializedSocket {
    let parts = s.req_parts();
    let data = match s.extensions.get::<std::sync::Arc<Conn>>() {
        Some(conn) => json!({
            "userId": conn.identity.user_id,
            "name": conn.identity.name,
            "guest": conn.identity.guest,
        }),
        None => json!({}),
    };
    let auth = s
        .extensions
        .get::<ShownAuth>()
        .map_or_else(|| json!({}), |a| a.0);
    let id = s.id.to_string();
    SerializedSocket {
        client_id: id.chars().take(12).collect(),
        id,
        transport: transport_name(s.transport_type()),
        nsp: s.ns().to_owned(),
        data,
        handshake: handshake(parts, cx, issued, auth),
        rooms: s.rooms().into_iter().map(|r| r.to_string()).collect(),
    }
}

/// The handshake of a request, redacted.
fn handshake(parts: &Parts, cx: Context, issued: i64, auth: Value) -> Handshake {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let address = client_addr(peer, &parts.headers, cx.trust_proxy)
        .map_or_else(String::new, |a| a.to_string());
    let query = query_of(&parts.uri);
    let url = match parts.uri.query() {
        None => parts.uri.path().to_owned(),
        Some(_) => {
            let pairs: Vec<String> = query
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect();
            format!("{}?{}", parts.uri.path(), pairs.join("&"))
        }
    };
    Handshake {
        address,
        headers: headers_of(&parts.headers),
        query,
        issued,
        time: iso8601(issued),
        secure: cx.secure,
        url,
        xdomain: parts.headers.contains_key(axum::http::header::ORIGIN),
        auth,
    }
}

/// Headers by name, several values joined by `, `, credentials redacted.
pub fn headers_of(headers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in headers.keys() {
        let key = name.as_str();
        let value = if secret_header(key) {
            REDACTED.to_owned()
        } else {
            headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.insert(key.to_owned(), value.into());
    }
    out
}

/// Query parameters by name (the last of repeated ones), secrets redacted.
pub fn query_of(uri: &axum::http::Uri) -> Map<String, Value> {
    let pairs = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    pairs
        .into_iter()
        .map(|(k, v)| {
            let v = if secret_param(&k) {
                REDACTED.to_owned()
            } else {
                v
            };
            (k, Value::from(v))
        })
        .collect()
}

fn secret_header(name: &str) -> bool {
    matches!(name, "authorization" | "proxy-authorization" | "cookie")
        || ["token", "secret", "password", "api-key", "session"]
            .iter()
            .any(|w| name.contains(w))
}

fn secret_param(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token", "secret", "password", "passwd", "key", "auth", "session",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// The transport as the package names it.
pub fn transport_name(t: TransportType) -> &'static str {
    match t {
        TransportType::Polling => "polling",
        TransportType::Websocket => "websocket",
    }
}

/// A disconnection's reason as Node's socket.io words it (what the UI shows).
pub fn reason_name(reason: DisconnectReason) -> &'static str {
    use DisconnectReason::*;
    match reason {
        TransportClose => "transport close",
        MultipleHttpPollingError | PacketParsingError => "parse error",
        TransportError => "transport error",
        HeartbeatTimeout => "ping timeout",
        ClientNSDisconnect => "client namespace disconnect",
        ServerNSDisconnect => "server namespace disconnect",
        ClosingServer => "server shutting down",
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`, what a JavaScript `Date` becomes
/// in JSON.
pub fn iso8601(ms: i64) -> String {
    let (days, ms_of_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (year, month, day) = crate::clock::civil_from_days(days);
    let (h, m, s, milli) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderValue, Uri};

    #[test]
    fn credentials_in_headers_are_redacted_and_the_rest_is_shown() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer abc.def"));
        h.insert("cookie", HeaderValue::from_static("sid=1"));
        h.insert("x-auth-token", HeaderValue::from_static("t0k"));
        h.insert("user-agent", HeaderValue::from_static("node"));
        h.append("accept", HeaderValue::from_static("a"));
        h.append("accept", HeaderValue::from_static("b"));
        let shown = headers_of(&h);
        assert_eq!(shown["authorization"], REDACTED);
        assert_eq!(shown["cookie"], REDACTED);
        assert_eq!(shown["x-auth-token"], REDACTED);
        assert_eq!(shown["user-agent"], "node");
        assert_eq!(shown["accept"], "a, b");
        assert!(!Value::Object(shown).to_string().contains("abc.def"));
    }

    #[test]
    fn secrets_in_the_query_are_redacted_in_the_query_and_the_url() {
        let uri: Uri = "/socket.io/?EIO=4&transport=polling&token=s3cret&apiKey=k&t=x"
            .parse()
            .expect("uri");
        let q = query_of(&uri);
        assert_eq!(q["EIO"], "4");
        assert_eq!(q["transport"], "polling");
        assert_eq!(q["token"], REDACTED);
        assert_eq!(q["apiKey"], REDACTED);
        let parts = axum::http::Request::builder()
            .uri(uri)
            .body(())
            .expect("request")
            .into_parts()
            .0;
        let cx = Context {
            trust_proxy: false,
            secure: false,
        };
        let shown = handshake(&parts, cx, 0, json!({}));
        assert!(shown.url.starts_with("/socket.io/?EIO=4"));
        assert!(!shown.url.contains("s3cret"), "{}", shown.url);
        assert_eq!(shown.time, "1970-01-01T00:00:00.000Z");
        assert!(!shown.xdomain);
    }

    #[test]
    fn dates_are_written_as_javascript_writes_them() {
        assert_eq!(iso8601(1_798_953_902_123), "2027-01-03T05:25:02.123Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn reasons_are_worded_as_nodes() {
        assert_eq!(
            reason_name(DisconnectReason::ServerNSDisconnect),
            "server namespace disconnect"
        );
        assert_eq!(
            reason_name(DisconnectReason::HeartbeatTimeout),
            "ping timeout"
        );
    }
}
