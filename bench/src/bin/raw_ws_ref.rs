//! Reference (c): a bare tokio-tungstenite WebSocket server that speaks just enough of the same
//! Engine.IO / Socket.IO framing for the echo and idle scenarios: it sends the open packet,
//! answers every namespace connect, and acknowledges `42<id>["event",args...]` with
//! `43<id>[args...]` by cutting the event name out of the text (no JSON parsing). It has no
//! rooms, no pings, no timers: the upper bound of what a WebSocket server can do per message.
//!
//! Run: `raw-ws-ref [--port N]` (0 picks a free port; the listening line shows which).

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::{Message, protocol::WebSocketConfig};

const OPEN: &str =
    r#"0{"sid":"raw","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true).ok();
        tokio::spawn(serve(stream));
    }
}

async fn serve(stream: TcpStream) {
    // The same read buffer as socketioxide's engine (tungstenite's default is 128 KiB).
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    if ws.send(Message::text(OPEN)).await.is_err() {
        return;
    }
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let reply = match text.as_bytes() {
            [b'4', b'0', rest @ ..] => {
                let nsp = std::str::from_utf8(rest)
                    .ok()
                    .and_then(|r| r.find(',').map(|i| &r[..=i]))
                    .filter(|n| n.starts_with('/'))
                    .unwrap_or("");
                Some(format!("40{nsp}{{\"sid\":\"raw\"}}"))
            }
            [b'4', b'2', ..] => ack_for(&text),
            _ => None,
        };
        if let Some(reply) = reply
            && ws.send(Message::text(reply)).await.is_err()
        {
            return;
        }
    }
}

/// `42<nsp,><id>["event",a,b]` → `43<nsp,><id>[a,b]`; `None` without an ack id.
fn ack_for(text: &str) -> Option<String> {
    let bracket = text.find('[')?;
    let head = &text[2..bracket];
    if !head.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let body = &text[bracket + 1..];
    // Skip the event name: a JSON string.
    let body = body.strip_prefix('"')?;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                end = Some(i);
                break;
            }
            _ => escaped = false,
        }
    }
    let rest = &body[end? + 1..];
    let args = rest.strip_prefix(',').unwrap_or(rest);
    Some(format!("43{head}[{args}"))
}

#[cfg(test)]
mod tests {
    use super::ack_for;

    #[test]
    fn acks_drop_the_event_name() {
        assert_eq!(
            ack_for(r#"421["message-with-ack",{"a":1},2]"#).as_deref(),
            Some(r#"431[{"a":1},2]"#)
        );
        assert_eq!(
            ack_for(r#"42/harness,3["e\"x"]"#).as_deref(),
            Some("43/harness,3[]")
        );
        assert_eq!(ack_for(r#"42["no-ack",1]"#), None);
    }
}
