//! Engine.IO v4 / Socket.IO v5, written out by hand: the WebSocket transport (one Engine.IO
//! packet per WebSocket text frame) and the HTTP long-polling transport (packets joined by the
//! record separator `\x1e` in request and response bodies), with the bits of Socket.IO framing
//! the scenarios use:
//!
//! | text | meaning |
//! |---|---|
//! | `0{...}` | Engine.IO open (handshake), from the server |
//! | `2` / `3` | Engine.IO ping from the server / pong from the client |
//! | `40<nsp,>{auth}` | Socket.IO connect to a namespace (`40` alone for `/`) |
//! | `42<nsp,><id>["event",...]` | an event, asking for an ack when `<id>` is there |
//! | `43<nsp,><id>[...]` | an ack |

use std::{
    net::{IpAddr, SocketAddr},
    sync::OnceLock,
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpSocket, TcpStream},
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{Message, Utf8Bytes, protocol::WebSocketConfig},
};

/// Errors of the harness: anything boxed, with context in the text.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// Result of the harness.
pub type Result<T> = std::result::Result<T, Error>;

static START: OnceLock<Instant> = OnceLock::new();

/// Microseconds since the harness started: the clock carried in payloads.
pub fn now_us() -> u64 {
    let start = START.get_or_init(Instant::now);
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Starts the payload clock (call once, early).
pub fn start_clock() {
    let _ = now_us();
}

/// Connects a TCP socket from `src` (any port) to `addr`, with `TCP_NODELAY`. Several source
/// addresses in 127.0.0.0/8 multiply the ephemeral ports available towards one server port.
pub async fn tcp_connect(addr: SocketAddr, src: Option<IpAddr>) -> Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(ip) = src {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The source address for connection number `i`: 127.0.0.2 to 127.0.0.17 in turn.
pub fn source_ip(i: usize) -> IpAddr {
    let last = u8::try_from(2 + i % 16).unwrap_or(2);
    IpAddr::from([127, 0, 0, last])
}

/// A Socket.IO client on one namespace over a WebSocket.
pub struct WsClient {
    ws: WebSocketStream<TcpStream>,
    /// `""` for `/`, else `"/name,"`: what follows the packet type in every packet.
    pub nsp: &'static str,
}

/// Namespace prefix of `/harness` packets.
pub const HARNESS: &str = "/harness,";

impl WsClient {
    /// Opens the Engine.IO session over a WebSocket and connects to the namespace with `auth`
    /// (a JSON object, or none). Returns once the server's `40` arrived.
    pub async fn connect(
        addr: SocketAddr,
        src: Option<IpAddr>,
        nsp: &'static str,
        auth: Option<&str>,
    ) -> Result<Self> {
        let stream = tcp_connect(addr, src).await?;
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        // Small buffers: this process holds up to ~20,000 of these.
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, _) =
            tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
        let mut client = Self { ws, nsp };
        let open = client.recv().await?;
        if !open.starts_with('0') {
            return Err(format!("expected the open packet, got {:.80}", &*open).into());
        }
        client
            .send(format!("40{nsp}{}", auth.unwrap_or_default()))
            .await?;
        loop {
            let reply = client.recv().await?;
            if let Some(rest) = reply.strip_prefix("40") {
                if rest.starts_with(nsp) {
                    return Ok(client);
                }
            } else if reply.starts_with("44") {
                return Err(format!("connect refused: {:.200}", &*reply).into());
            }
        }
    }

    /// Sends one packet and flushes.
    pub async fn send(&mut self, text: String) -> Result<()> {
        self.ws.send(Message::text(text)).await?;
        Ok(())
    }

    /// Queues one packet without flushing.
    pub async fn feed(&mut self, text: String) -> Result<()> {
        self.ws.feed(Message::text(text)).await?;
        Ok(())
    }

    /// Flushes queued packets.
    pub async fn flush(&mut self) -> Result<()> {
        self.ws.flush().await?;
        Ok(())
    }

    /// The next packet that is not an Engine.IO ping (pings are answered with a pong here).
    pub async fn recv(&mut self) -> Result<Utf8Bytes> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    if &*t == "2" {
                        self.ws.send(Message::text("3")).await?;
                        continue;
                    }
                    return Ok(t);
                }
                Some(Ok(Message::Close(_))) | None => return Err("connection closed".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// An event asking for an ack: `42<nsp><id>[<event>,<args>]`; `args` is already JSON.
    pub fn event_with_ack(&self, id: u64, event: &str, args: &str) -> String {
        format!("42{}{id}[\"{event}\",{args}]", self.nsp)
    }

    /// Sends an event with an ack id and waits for that ack; returns the ack's text.
    pub async fn call(&mut self, id: u64, event: &str, args: &str) -> Result<Utf8Bytes> {
        let packet = self.event_with_ack(id, event, args);
        self.send(packet).await?;
        loop {
            let t = self.recv().await?;
            if ack_id(&t, self.nsp) == Some(id) {
                return Ok(t);
            }
        }
    }

    /// Closes the WebSocket politely (errors ignored).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// The id of an ack packet (`43<nsp><id>[...]`), if `text` is one.
pub fn ack_id(text: &str, nsp: &str) -> Option<u64> {
    let rest = text.strip_prefix("43")?.strip_prefix(nsp)?;
    let end = rest.find('[')?;
    rest[..end].parse().ok()
}

/// Whether `text` is an event packet of namespace `nsp` named `event`.
pub fn is_event(text: &str, nsp: &str, event: &str) -> bool {
    let Some(rest) = text.strip_prefix("42").and_then(|r| r.strip_prefix(nsp)) else {
        return false;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.strip_prefix("[\"")
        .and_then(|r| r.strip_prefix(event))
        .is_some_and(|r| r.starts_with('"'))
}

/// The stamp a payload carries: `~<send time in µs>_<sequence>~`.
pub fn stamp(ts: u64, seq: u64) -> String {
    format!("~{ts}_{seq}~")
}

/// Finds every stamp in `text` (a batch may carry several), calling `f(ts, seq)` for each.
pub fn for_each_stamp(text: &str, mut f: impl FnMut(u64, u64)) {
    let mut rest = text;
    while let Some(i) = rest.find('~') {
        rest = &rest[i + 1..];
        let Some(end) = rest.find('~') else { return };
        let inner = &rest[..end];
        if let Some((ts, seq)) = inner.split_once('_')
            && let (Ok(ts), Ok(seq)) = (ts.parse(), seq.parse())
        {
            f(ts, seq);
            rest = &rest[end + 1..];
        }
    }
}

/// Finds every `"seq":<n>` in `text` (a `message` carries one, a `messages` batch one per
/// message), calling `f(n)` for each. The texts the harness sends never contain that key.
pub fn for_each_seq(text: &str, mut f: impl FnMut(u64)) {
    const KEY: &str = "\"seq\":";
    let mut rest = text;
    while let Some(i) = rest.find(KEY) {
        rest = &rest[i + KEY.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if let Ok(n) = rest[..end].parse() {
            f(n);
        }
        rest = &rest[end..];
    }
}

/// Pads a JSON object with a `"p"` field so that it is `size` bytes long (at least its own).
pub fn padded_object(fields: &str, size: usize) -> String {
    let base = format!("{{{fields},\"p\":\"\"}}");
    let pad = size.saturating_sub(base.len());
    format!("{{{fields},\"p\":\"{}\"}}", "x".repeat(pad))
}

/// A minimal HTTP/1.1 client on one keep-alive connection, for the long-polling transport.
pub struct Http {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Http {
    /// Connects to `addr` from `src`.
    pub async fn connect(addr: SocketAddr, src: Option<IpAddr>) -> Result<Self> {
        let stream = tcp_connect(addr, src).await?;
        Ok(Self {
            stream: BufReader::with_capacity(16 * 1024, stream),
            host: addr.to_string(),
        })
    }

    /// Sends a request and reads the whole response: status and body. Understands
    /// `Content-Length` and chunked bodies.
    pub async fn request(&mut self, method: &str, path: &str, body: &str) -> Result<(u16, String)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(body.as_bytes());
        self.stream.get_mut().write_all(&out).await?;

        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut length = None;
        let mut chunked = false;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                return Err("connection closed in headers".into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let v = v.trim();
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse::<usize>().ok();
                } else if k.eq_ignore_ascii_case("transfer-encoding")
                    && v.eq_ignore_ascii_case("chunked")
                {
                    chunked = true;
                }
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                line.clear();
                self.stream.read_line(&mut line).await?;
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                    .map_err(|_| format!("bad chunk size {line:?}"))?;
                let start = body.len();
                body.resize(start + size + 2, 0);
                self.stream.read_exact(&mut body[start..]).await?;
                body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else if let Some(n) = length {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).await?;
        } else {
            return Err("response without length".into());
        }
        Ok((status, String::from_utf8(body)?))
    }
}

/// A Socket.IO client on `/` over HTTP long-polling (one keep-alive connection, used in turn:
/// a POST, then a GET that waits for what the server has).
pub struct PollClient {
    http: Http,
    path: String,
    /// A pong owed to the server, sent with the next POST.
    pong: bool,
}

impl PollClient {
    /// Handshakes and connects to `/`.
    pub async fn connect(addr: SocketAddr, src: Option<IpAddr>) -> Result<Self> {
        let mut http = Http::connect(addr, src).await?;
        let (status, open) = http
            .request("GET", "/socket.io/?EIO=4&transport=polling", "")
            .await?;
        if status != 200 || !open.starts_with('0') {
            return Err(format!("polling handshake: {status} {open:.100}").into());
        }
        let sid = json_str_field(&open, "sid").ok_or("no sid in the open packet")?;
        let mut client = Self {
            http,
            path: format!("/socket.io/?EIO=4&transport=polling&sid={sid}"),
            pong: false,
        };
        client.post("40").await?;
        loop {
            let packets = client.poll().await?;
            if packets.iter().any(|p| p.starts_with("40")) {
                return Ok(client);
            }
        }
    }

    /// POSTs packets (with a pending pong first).
    pub async fn post(&mut self, packets: &str) -> Result<()> {
        let body = if std::mem::take(&mut self.pong) {
            if packets.is_empty() {
                "3".to_owned()
            } else {
                format!("3\u{1e}{packets}")
            }
        } else {
            packets.to_owned()
        };
        let (status, text) = self.http.request("POST", &self.path, &body).await?;
        if status != 200 {
            return Err(format!("POST answered {status}: {text:.100}").into());
        }
        Ok(())
    }

    /// One long-poll GET: the packets it brought, pings removed (and a pong owed).
    pub async fn poll(&mut self) -> Result<Vec<String>> {
        let (status, text) = self.http.request("GET", &self.path, "").await?;
        if status != 200 {
            return Err(format!("GET answered {status}: {text:.100}").into());
        }
        let mut out = Vec::new();
        for p in text.split('\u{1e}') {
            if p == "2" {
                self.pong = true;
            } else if p == "1" {
                return Err("server closed the session".into());
            } else {
                out.push(p.to_owned());
            }
        }
        if self.pong {
            self.post("").await.ok();
        }
        Ok(out)
    }
}

/// The string value of `"field":"..."` in a flat JSON text (no escapes expected).
pub fn json_str_field(text: &str, field: &str) -> Option<String> {
    let key = format!("\"{field}\":\"");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}

/// Sleeps until `deadline` (returns at once when past).
pub async fn sleep_until(deadline: Instant) {
    tokio::time::sleep_until(deadline.into()).await;
}

/// Short pause helper.
pub async fn pause(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_ids_are_read_per_namespace() {
        assert_eq!(ack_id("4312[{\"ok\":true}]", ""), Some(12));
        assert_eq!(ack_id("43/harness,7[]", HARNESS), Some(7));
        assert_eq!(ack_id("43/harness,7[]", ""), None);
        assert_eq!(ack_id("4212[\"x\"]", ""), None);
    }

    #[test]
    fn events_are_recognised_by_name() {
        assert!(is_event("42[\"message\",{}]", "", "message"));
        assert!(!is_event("42[\"messages\",{}]", "", "message"));
        assert!(is_event("42/harness,[\"m\",1]", HARNESS, "m"));
        assert!(is_event("425[\"bot:delta\",{}]", "", "bot:delta"));
        assert!(!is_event("43[\"message\"]", "", "message"));
    }

    #[test]
    fn stamps_round_trip_even_in_batches() {
        let text = format!(
            "[{{\"text\":\"{} a\"}},{{\"text\":\"{} b~\"}}]",
            stamp(5, 1),
            stamp(9, 2)
        );
        let mut seen = Vec::new();
        for_each_stamp(&text, |ts, seq| seen.push((ts, seq)));
        assert_eq!(seen, vec![(5, 1), (9, 2)]);
    }

    #[test]
    fn seqs_are_found_in_messages_and_batches() {
        let mut seen = Vec::new();
        for_each_seq(
            r#"42["message",{"room":"r1","id":"m","seq":7,"lastSeq":9,"text":"~1_2~ x"}]"#,
            |n| seen.push(n),
        );
        for_each_seq(
            r#"42["messages",{"room":"r1","messages":[{"seq":8,"ts":1},{"seq":10}]}]"#,
            |n| seen.push(n),
        );
        assert_eq!(seen, vec![7, 8, 10]);
    }

    #[test]
    fn padded_objects_have_the_asked_size() {
        let o = padded_object("\"t\":\"~1_2~\"", 100);
        assert_eq!(o.len(), 100);
        let v: serde_json::Value = serde_json::from_str(&o).expect("valid JSON");
        assert_eq!(v["t"], "~1_2~");
    }

    #[test]
    fn string_fields_are_found() {
        let open = r#"0{"sid":"abc","upgrades":[]}"#;
        assert_eq!(json_str_field(open, "sid").as_deref(), Some("abc"));
        assert_eq!(json_str_field(open, "nope"), None);
    }
}
