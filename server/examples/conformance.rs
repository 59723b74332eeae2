//! Conformance profile: the reference behaviours of socket.io's official v5 protocol test suite,
//! served by the same app builder as the real server, plus a `/harness` namespace that the
//! foundation's end-to-end tests drive (rooms, broadcasts with acks, volatile emits, refusals).
//!
//! Run: `cargo run --release --example conformance -- --port 0 [--parser msgpack] [--allow-eio3]`

use std::{process::ExitCode, time::Duration};

use futures_util::StreamExt;
use rmpv::Value;
use serde::Deserialize;
use serde_json::json;
use server::{Config, app, flow::Turn, serve, telemetry, wire::Args};
use socketioxide::{
    extract::{AckSender, Data, SocketRef, TryData},
    handler::ConnectHandler,
};

#[tokio::main]
async fn main() -> ExitCode {
    let env: Vec<(String, String)> = Vec::new();
    let defaults = [
        ("ping_interval_ms", json!(300)),
        ("ping_timeout_ms", json!(200)),
        ("connect_timeout_ms", json!(1000)),
        ("max_payload_bytes", json!(1_000_000)),
        ("cors_origin", json!(["*"])),
    ];
    let cfg = match Config::load_with_defaults(std::env::args_os(), &env, &defaults) {
        Ok(l) => l.config,
        Err(server::config::ConfigError::Cli(e)) => e.exit(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(cfg.server.log_format, &cfg.server.log_filter);

    let (layer, io) = app::socket_io_builder(&cfg).build_layer();
    io.ns("/", on_connect);
    io.ns("/custom", on_connect);
    io.ns("/harness", on_harness_connect.with(refuse_on_request));

    let readiness = app::Readiness::default();
    let router = app::router(
        &cfg,
        layer,
        readiness.clone(),
        Default::default(),
        axum::Router::new(),
    );
    let result = async {
        let listener = serve::bind(&cfg)?;
        let shutdown = serve::shutdown_signal()?;
        println!("{}", serve::listening_line(&cfg, listener.local_addr()?));
        serve::serve(&cfg, listener, router, io, readiness, shutdown).await?;
        anyhow::Ok(())
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The handshake's auth payload, or an empty object when the client sent none.
fn auth_or_empty(auth: Result<Value, impl std::fmt::Debug>) -> Value {
    auth.unwrap_or_else(|_| Value::Map(Vec::new()))
}

async fn on_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    socket.emit("auth", &auth_or_empty(auth)).ok();

    socket.on(
        "message",
        async |s: SocketRef, turn: Turn, Data(args): Data<Args<Value>>| {
            // Echo in arrival order, as Node's server does.
            turn.wait().await.ok();
            s.emit("message-back", &args).ok();
        },
    );
    socket.on(
        "message-with-ack",
        async |turn: Turn, Data(args): Data<Args<Value>>, ack: AckSender| {
            turn.wait().await.ok();
            ack.send(&args).ok();
        },
    );
    socket.on(
        "emit-with-ack",
        async |s: SocketRef, Data(args): Data<Args<Value>>| {
            let Ok(reply) = s.emit_with_ack::<_, Args<Value>>("emit-with-ack", &args) else {
                return;
            };
            if let Ok(answer) = reply.await {
                s.emit("emit-with-ack", &answer).ok();
            }
        },
    );
}

/// Refuses the connection with the text of `auth.refuse`, when present.
async fn refuse_on_request(TryData(auth): TryData<serde_json::Value>) -> Result<(), String> {
    match auth
        .ok()
        .as_ref()
        .and_then(|a| a.get("refuse"))
        .and_then(|r| r.as_str())
    {
        Some(reason) => Err(reason.to_owned()),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
struct RoomEmit {
    room: String,
    event: String,
    #[serde(default)]
    data: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Gather {
    room: String,
    timeout_ms: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ask {
    timeout_ms: u64,
    #[serde(default)]
    data: serde_json::Value,
}

#[derive(Deserialize)]
struct Volatile {
    count: u32,
}

fn ok() -> serde_json::Value {
    json!({ "ok": true })
}

async fn on_harness_connect(socket: SocketRef, TryData(auth): TryData<Value>) {
    socket.emit("auth", &auth_or_empty(auth)).ok();

    socket.on(
        "join",
        async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
            s.join(room);
            ack.send(&ok()).ok();
        },
    );
    socket.on(
        "leave",
        async |s: SocketRef, Data(room): Data<String>, ack: AckSender| {
            s.leave(room);
            ack.send(&ok()).ok();
        },
    );
    socket.on(
        "to",
        async |s: SocketRef, Data(m): Data<RoomEmit>, ack: AckSender| {
            s.to(m.room).emit(&m.event, &m.data).await.ok();
            ack.send(&ok()).ok();
        },
    );
    socket.on(
        "except",
        async |s: SocketRef, Data(m): Data<RoomEmit>, ack: AckSender| {
            s.broadcast()
                .except(m.room)
                .emit(&m.event, &m.data)
                .await
                .ok();
            ack.send(&ok()).ok();
        },
    );
    socket.on("gather", async |s: SocketRef, Data(g): Data<Gather>, ack: AckSender| {
        let sent = s
            .within(g.room.clone())
            .timeout(Duration::from_millis(g.timeout_ms))
            .emit_with_ack::<_, serde_json::Value>("question", &g.room)
            .await;
        let Ok(stream) = sent else {
            ack.send(&json!({ "ok": false, "error": { "code": "internal", "message": "emit failed" } }))
                .ok();
            return;
        };
        let results: Vec<_> = stream.collect().await;
        let answers: Vec<_> = results.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
        let timeouts = results.len() - answers.len();
        ack.send(&json!({ "ok": true, "answers": answers, "timeouts": timeouts })).ok();
    });
    socket.on("ask", async |s: SocketRef, Data(a): Data<Ask>, ack: AckSender| {
        let reply = s
            .timeout(Duration::from_millis(a.timeout_ms))
            .emit_with_ack::<_, serde_json::Value>("question", &a.data);
        let answer = match reply {
            Ok(pending) => pending.await,
            Err(_) => {
                ack.send(&json!({ "ok": false, "error": { "code": "closed", "message": "socket closed" } }))
                    .ok();
                return;
            }
        };
        let reply = match answer {
            Ok(answer) => json!({ "ok": true, "answer": answer }),
            Err(e) => json!({ "ok": false, "error": { "code": "timeout", "message": e.to_string() } }),
        };
        ack.send(&reply).ok();
    });
    socket.on(
        "volatile",
        async |s: SocketRef, Data(v): Data<Volatile>, ack: AckSender| {
            for i in 0..v.count {
                s.volatile().emit("tick", &i).ok();
            }
            ack.send(&ok()).ok();
        },
    );
}
