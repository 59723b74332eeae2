//! Two chat instances in one process as two nodes of one cluster: one store (SQLite), one
//! in-memory bus, one presence table and one bot table, each node serving its own port. Clients
//! speak Socket.IO v5 over WebSocket to either node. A message written on one node reaches the
//! other's sockets in order, presence counts both, a bot reply started on one is seen and
//! cancelled from the other, and a user's tab on one node follows the rooms they gain and leave
//! on the other.

mod common;

use std::{collections::VecDeque, net::SocketAddr, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt, stream::BoxStream};
use serde_json::{Value, json};
use server::{
    Config,
    app::{self, Readiness},
    bot::backend::{Backend, BackendError, Chunk, Completion},
    chat::{Chat, Shared, auth::Tokens},
    serve,
    store::Store,
};
use tokio::{net::TcpStream, sync::oneshot};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message as Ws};

/// How long any one wait for the server may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

/// A model that says a little, then keeps thinking until it is stopped.
struct Thinking;

impl Backend for Thinking {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn model(&self) -> &str {
        "test"
    }

    fn complete(&self, _: Completion) -> BoxStream<'static, Result<Chunk, BackendError>> {
        futures_util::stream::once(async { Ok(Chunk::Text("Let me think".into())) })
            .chain(futures_util::stream::pending())
            .boxed()
    }
}

/// A node serving on its own port until `stop` is sent or dropped.
struct Node {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

async fn start(store: &Store, shared: &Shared, node: &str) -> Node {
    let cfg = Config::load_from(["server", "--port", "0"], &[])
        .expect("config")
        .config;
    let cuts = Arc::new(server::cut::Cuts::default());
    let chat = Chat::new(
        &cfg,
        store.clone(),
        Tokens::new(b"two-nodes-test-secret"),
        Arc::new(Thinking),
        cuts.clone(),
        (shared, node),
    );
    let (layer, io) = app::socket_io_builder(&cfg)
        .with_state(chat.clone())
        .build_layer();
    chat.register(&io);
    let readiness = Readiness::default();
    let router = app::router(&cfg, layer, readiness.clone(), cuts, axum::Router::new());
    let listener = serve::bind(&cfg).expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            drop(stopped.await);
        };
        serve::serve(&cfg, listener, router, io, readiness, shutdown).await
    });
    Node { addr, _stop: stop }
}

/// A Socket.IO v5 client over one WebSocket, as small as the test needs.
struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
    /// Events read while waiting for something else.
    events: VecDeque<(String, Value)>,
}

impl Client {
    /// Connects with `auth` (`{ name }` for a new guest, `{ token }` for a known user).
    async fn connect(node: &Node, auth: Value) -> (Self, Value) {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", node.addr);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("websocket");
        let mut client = Self {
            ws,
            next_ack: 0,
            events: VecDeque::new(),
        };
        let open = client.frame().await;
        assert!(open.starts_with('0'), "Engine.IO open: {open}");
        client.send(format!("40{auth}")).await;
        let connected = client.frame().await;
        assert!(
            connected.starts_with("40"),
            "Socket.IO connect: {connected}"
        );
        let session = client.event("session").await;
        (client, session)
    }

    async fn send(&mut self, frame: String) {
        self.ws.send(Ws::text(frame)).await.expect("send");
    }

    /// The next Socket.IO frame (answering pings on the way).
    async fn frame(&mut self) -> String {
        loop {
            let next = tokio::time::timeout(DEADLINE, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("connection open")
                .expect("a frame");
            match next {
                Ws::Text(t) if t.as_str() == "2" => self.send("3".into()).await,
                Ws::Text(t) => return t.as_str().to_owned(),
                _ => {}
            }
        }
    }

    /// Emits `event` and returns the `data` of its `{ ok: true }` answer.
    async fn call(&mut self, event: &str, payload: Value) -> Value {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send(format!("42{id}{}", json!([event, payload])))
            .await;
        let prefix = format!("43{id}");
        loop {
            let frame = self.frame().await;
            if let Some(rest) = frame.strip_prefix(&prefix) {
                let answer: Value = serde_json::from_str(rest).expect("ack json");
                assert_eq!(answer[0]["ok"], true, "{event} answered {answer}");
                return answer[0]["data"].clone();
            }
            self.keep(&frame);
        }
    }

    fn keep(&mut self, frame: &str) {
        if let Some(rest) = frame.strip_prefix("42")
            && let Ok(Value::Array(mut args)) = serde_json::from_str::<Value>(rest)
            && args.len() == 2
        {
            let data = args.pop().unwrap_or(Value::Null);
            let name = args.pop().and_then(|n| n.as_str().map(str::to_owned));
            self.events.push_back((name.unwrap_or_default(), data));
        }
    }

    /// The next `name` event (earlier ones of other names stay queued).
    async fn event(&mut self, name: &str) -> Value {
        loop {
            if let Some(i) = self.events.iter().position(|(n, _)| n == name) {
                return self.events.remove(i).map(|(_, v)| v).unwrap_or(Value::Null);
            }
            let frame = self.frame().await;
            self.keep(&frame);
        }
    }
}

#[tokio::test]
async fn two_nodes_on_one_store_and_bus_act_as_one_server() {
    let dir = common::TempDir::new("two-nodes");
    let store = common::file_store(&dir).await;
    store
        .upsert_user("bot", "Assistant", false, 0)
        .await
        .expect("bot user");
    let shared = Shared::default();
    let (a, b) = (
        start(&store, &shared, "a").await,
        start(&store, &shared, "b").await,
    );

    let (mut ada, session) = Client::connect(&a, json!({ "name": "Ada" })).await;
    let (mut ben, ben_session) = Client::connect(&b, json!({ "name": "Ben" })).await;
    ada.call("join", json!({ "room": "general" })).await;
    ben.call("join", json!({ "room": "general" })).await;

    // Written on node a, delivered on node b, in order.
    for n in 1..=5 {
        let text = format!("hello {n}");
        ada.call(
            "send",
            json!({ "room": "general", "text": text, "clientId": format!("c{n}") }),
        )
        .await;
    }
    for n in 1..=5 {
        let m = ben.event("message").await;
        assert_eq!(
            (m["seq"].as_i64(), m["text"].as_str()),
            (Some(n), Some(&*format!("hello {n}")))
        );
    }
    // An edit on node b reaches node a in order.
    assert_eq!(
        ben.call(
            "send",
            json!({ "room": "general", "text": "mine", "clientId": "b1" })
        )
        .await["seq"],
        6
    );
    let mine = loop {
        let m = ada.event("message").await;
        if m["seq"] == 6 {
            break m;
        }
    };
    ben.call(
        "edit",
        json!({ "room": "general", "id": mine["id"], "text": "mine, edited" }),
    )
    .await;
    let edited = ada.event("edited").await;
    assert_eq!(
        (edited["text"].as_str(), edited["rev"].as_i64()),
        (Some("mine, edited"), Some(7))
    );

    // Presence counts the users of both nodes.
    let online = ben.call("presence", json!({ "room": "general" })).await;
    let mut names: Vec<&str> = online["online"]
        .as_array()
        .expect("online")
        .iter()
        .filter_map(|u| u["name"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Ada", "Ben"]);

    // A reply asked for on node a streams on node b, and node b cancels it.
    ada.call("add", json!({ "room": "general", "user": "bot" }))
        .await;
    ada.call(
        "send",
        json!({ "room": "general", "text": "@bot why?", "clientId": "q1" }),
    )
    .await;
    let start = ben.event("bot:start").await;
    let delta = ben.event("bot:delta").await;
    assert_eq!(
        (delta["n"].as_u64(), delta["text"].as_str()),
        (Some(1), Some("Let me think"))
    );
    ben.call("cancel", json!({ "room": "general", "id": start["id"] }))
        .await;
    for client in [&mut ben, &mut ada] {
        let end = client.event("bot:end").await;
        assert_eq!(end["id"], start["id"]);
        assert_eq!(end["finishReason"], "cancelled");
        assert_eq!(end["text"], "Let me think");
    }

    // Ada's second tab, on node b: a room she makes on node a reaches it, and leaving there
    // takes it away here.
    let (mut ada_b, _) = Client::connect(&b, json!({ "token": session["token"] })).await;
    let made = ada.call("create", json!({ "name": "Plans" })).await;
    let joined = ada_b.event("joined").await;
    assert_eq!(joined["id"], made["id"]);
    ada.call(
        "send",
        json!({ "room": made["id"], "text": "on a", "clientId": "p1" }),
    )
    .await;
    let m = ada_b.event("message").await;
    assert_eq!(
        (&m["room"], m["text"].as_str()),
        (&made["id"], Some("on a"))
    );
    ada.call("leave", json!({ "room": made["id"] })).await;
    assert_eq!(ada_b.event("left").await["room"], made["id"]);

    // Membership events a node fell behind on are made good from storage: Ben became a member
    // of a room without an event reaching node b, and node b then lost a thousand events.
    let ben_id = ben_session["userId"].as_str().expect("user id");
    store
        .create_room("quiet", "Quiet", false, false, ben_id, 0)
        .await
        .expect("room");
    for n in 0..1100 {
        shared.membership.publish(server::ports::MemberEvent {
            node: "elsewhere".into(),
            user_id: format!("nobody-{n}"),
            room: "nowhere".into(),
            joined: true,
        });
    }
    // (Ben's `joined` of general is still queued from the start.)
    while ben.event("joined").await["id"] != "quiet" {}
}
