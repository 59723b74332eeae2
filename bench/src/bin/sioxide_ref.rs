//! Reference (b): a bare socketioxide server with the library's defaults (`SocketIo::new_layer`,
//! no options set) behind axum, doing the same work as the conformance profile for the echo,
//! idle, polling and fan-out scenarios:
//!
//! - `/`: `message-with-ack` acknowledges with its argument;
//! - `/harness`: `join` (room name) puts the socket in the room and acks `{ok:true}`; `to`
//!   (`{room, event, data}`) emits `event` with `data` to the room but the sender, then acks.
//!
//! TCP_NODELAY is set on accepted sockets, as the chat server and Node's `http` server do.
//!
//! Run: `sioxide-ref [--port N]` (0 picks a free port; the listening line shows which).

use axum::serve::{Listener, ListenerExt};
use serde::Deserialize;
use serde_json::{Value, json};
use socketioxide::{
    SocketIo,
    extract::{AckSender, Data, SocketRef},
};

#[derive(Deserialize)]
struct RoomEmit {
    room: String,
    event: String,
    #[serde(default)]
    data: Value,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        }
    }

    let (layer, io) = SocketIo::new_layer();
    io.ns("/", async |s: SocketRef| {
        s.on(
            "message-with-ack",
            async |Data(v): Data<Value>, ack: AckSender| {
                ack.send(&v).ok();
            },
        );
    });
    io.ns("/harness", async |s: SocketRef| {
        s.on(
            "join",
            async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
                s.join(room);
                ack.send(&json!({ "ok": true })).ok();
            },
        );
        s.on(
            "to",
            async |s: SocketRef, Data(m): Data<RoomEmit>, ack: AckSender| {
                s.to(m.room).emit(&m.event, &m.data).await.ok();
                ack.send(&json!({ "ok": true })).ok();
            },
        );
    });

    let app = axum::Router::new().layer(layer);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            tcp.set_nodelay(true).ok();
        });
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await
}
