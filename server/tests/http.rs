//! The HTTP application in-process: health endpoints, the Engine.IO handshake, the v3 gate,
//! CORS and compression, through `tower::ServiceExt::oneshot`; and the real server booted on
//! port 0 and shut down gracefully.

use std::time::Duration;

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Method, Request, Response, StatusCode, header},
};
use http_body_util::BodyExt;
use server::{
    Config,
    app::{self, Readiness},
    serve,
};
use socketioxide::{SocketIo, extract::SocketRef};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

/// How long any single in-process request may take before the test fails.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// Size of the event the "big" namespace handler emits on connect.
const BIG_LEN: usize = 20_000;

fn config(flags: &[&str]) -> Config {
    let args = std::iter::once("server").chain(flags.iter().copied());
    match Config::load_from(args, &[]) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("flags {flags:?} should load: {e}"),
    }
}

/// The router as the server builds it, with an empty handler on `/`.
fn app(cfg: &Config) -> (Router, Readiness, SocketIo) {
    let (layer, io) = app::socket_io_builder(cfg).build_layer();
    io.ns("/", async |_: SocketRef| {});
    let readiness = Readiness::default();
    let router = app::router(
        cfg,
        layer,
        readiness.clone(),
        Default::default(),
        Router::new(),
    );
    (router, readiness, io)
}

/// The router with a `/` handler that emits a `BIG_LEN`-character string on connect.
fn big_app(cfg: &Config) -> Router {
    let (layer, io) = app::socket_io_builder(cfg).build_layer();
    io.ns("/", async |socket: SocketRef| {
        socket
            .emit("big", &"x".repeat(BIG_LEN))
            .expect("emit to a freshly connected socket");
    });
    app::router(
        cfg,
        layer,
        Readiness::default(),
        Default::default(),
        Router::new(),
    )
}

async fn send(router: &Router, req: Request<Body>) -> Response<Body> {
    let what = format!("{} {}", req.method(), req.uri());
    match tokio::time::timeout(REQUEST_DEADLINE, router.clone().oneshot(req)).await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => match e {},
        Err(_) => panic!("{what} did not answer within {REQUEST_DEADLINE:?}"),
    }
}

async fn body_bytes(res: Response<Body>) -> Bytes {
    res.into_body()
        .collect()
        .await
        .expect("read the response body")
        .to_bytes()
}

async fn body_text(res: Response<Body>) -> String {
    String::from_utf8(body_bytes(res).await.to_vec()).expect("a UTF-8 body")
}

async fn body_json(res: Response<Body>) -> serde_json::Value {
    serde_json::from_slice(&body_bytes(res).await).expect("a JSON body")
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .body(Body::empty())
        .expect("a valid request")
}

fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("an ASCII header value"))
}

const HANDSHAKE: &str = "/socket.io/?EIO=4&transport=polling";

/// Opens an Engine.IO v4 polling session and returns its sid.
async fn handshake(router: &Router) -> String {
    let res = send(router, get(HANDSHAKE)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_text(res).await;
    let open: serde_json::Value = serde_json::from_str(
        body.strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {body}")),
    )
    .expect("the open packet is JSON");
    open["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("no sid in {body}"))
        .to_owned()
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (router, _readiness, _io) = app(&config(&[]));
    let res = send(&router, get("/healthz")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header_str(res.headers(), &header::CACHE_CONTROL),
        Some("no-store")
    );
    assert_eq!(body_text(res).await, "ok");
}

#[tokio::test]
async fn readyz_reports_a_backend_that_is_down() {
    let cfg = config(&[]);
    let (layer, _io) = app::socket_io_builder(&cfg).build_layer();
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = down.clone();
    let readiness = Readiness::default().with_check(
        "database",
        std::sync::Arc::new(move || {
            let down = flag.load(std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                if down {
                    Err("unreachable".to_owned())
                } else {
                    Ok(())
                }
            })
        }),
    );
    readiness.set(true);
    let router = app::router(&cfg, layer, readiness, Default::default(), Router::new());

    let res = send(&router, get("/readyz")).await;
    assert_eq!(res.status(), StatusCode::OK);
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let res = send(&router, get("/readyz")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body_json(res).await,
        serde_json::json!({ "ready": false, "down": [{ "name": "database", "reason": "unreachable" }] })
    );
}

#[tokio::test]
async fn readyz_follows_readiness() {
    let (router, readiness, _io) = app(&config(&[]));

    let res = send(&router, get("/readyz")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body_json(res).await["down"][0]["name"], "server");

    readiness.set(true);
    let res = send(&router, get("/readyz")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_json(res).await, serde_json::json!({ "ready": true }));

    readiness.set(false);
    let res = send(&router, get("/readyz")).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn unknown_path_is_not_found() {
    let (router, _readiness, _io) = app(&config(&[]));
    let res = send(&router, get("/no-such-page")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn engine_io_v4_polling_handshake() {
    let (router, _readiness, _io) = app(&config(&[]));
    let res = send(&router, get(HANDSHAKE)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_text(res).await;
    assert!(body.starts_with("0{"), "not an open packet: {body}");
    assert!(body.contains("\"pingInterval\":25000"), "{body}");
    assert!(body.contains("\"pingTimeout\":20000"), "{body}");
    assert!(body.contains("\"maxPayload\":1000000"), "{body}");

    let open: serde_json::Value = serde_json::from_str(&body[1..]).expect("JSON open packet");
    assert!(
        open["sid"].as_str().is_some_and(|s| !s.is_empty()),
        "{body}"
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]), "{body}");
}

#[tokio::test]
async fn handshake_reflects_configured_engine_options() {
    let cfg = config(&[
        "--ping-interval-ms",
        "1500",
        "--ping-timeout-ms",
        "700",
        "--max-payload-bytes",
        "4096",
        "--transports",
        "polling",
    ]);
    let (router, _readiness, _io) = app(&cfg);
    let res = send(&router, get(HANDSHAKE)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_text(res).await;
    let open: serde_json::Value = serde_json::from_str(
        body.strip_prefix('0')
            .unwrap_or_else(|| panic!("not an open packet: {body}")),
    )
    .expect("JSON open packet");
    assert_eq!(open["pingInterval"], 1500, "{body}");
    assert_eq!(open["pingTimeout"], 700, "{body}");
    assert_eq!(open["maxPayload"], 4096, "{body}");
    // Not checked: `upgrades` still lists `websocket` with `--transports polling`; engineioxide
    // always advertises it on polling handshakes (Node's engine.io would send `[]`).
}

#[tokio::test]
async fn engine_io_v3_is_refused_by_default() {
    let (router, _readiness, _io) = app(&config(&[]));
    for uri in [
        "/socket.io/?EIO=3&transport=polling",
        "/socket.io/?transport=polling&EIO=3",
        "/socket.io/?EIO=3&transport=websocket",
        // The engine reads the first `EIO=` pair cut at the next `=`: each of these is
        // version 3 to it, so each must be refused too.
        "/socket.io/?EIO=3=1&transport=polling",
        "/socket.io/?EIO=3=&transport=polling",
        "/socket.io/?EIO=3=x&transport=polling",
        "/socket.io/?transport=polling&EIO=3=4",
        "/socket.io/?EIO=3=1&transport=websocket",
    ] {
        let res = send(&router, get(uri)).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            header_str(res.headers(), &header::CONTENT_TYPE),
            Some("application/json"),
            "{uri}"
        );
        let body: serde_json::Value =
            serde_json::from_slice(&body_bytes(res).await).expect("a JSON body");
        assert_eq!(
            body,
            serde_json::json!({ "code": 5, "message": "Unsupported protocol version" }),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn engine_io_v3_gate_only_guards_socket_io() {
    let (router, _readiness, _io) = app(&config(&[]));
    let res = send(&router, get("/healthz?EIO=3")).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Only an `EIO=3` pair counts, not a value that merely contains it.
    let res = send(&router, get("/socket.io/?EIO=4&transport=polling&x=EIO=3")).await;
    assert_eq!(res.status(), StatusCode::OK);
    // A later `EIO=3` pair is not the one the engine reads.
    let res = send(&router, get("/socket.io/?EIO=4&transport=polling&EIO=3")).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[test]
fn the_gate_reads_the_version_as_the_engine_does() {
    for (query, version) in [
        ("EIO=4&transport=polling", Some("4")),
        ("EIO=3=1", Some("3")),
        ("EIO=3=", Some("3")),
        ("EIO==3", Some("")),
        ("transport=polling&EIO=3&EIO=4", Some("3")),
        ("XEIO=3&EIO=4", Some("4")),
        ("transport=polling", None),
    ] {
        assert_eq!(server::front::engine_io_version(query), version, "{query}");
    }
}

#[tokio::test]
async fn engine_io_v3_is_accepted_with_allow_eio3() {
    let (router, _readiness, _io) = app(&config(&["--allow-eio3"]));
    let res = send(&router, get("/socket.io/?EIO=3&transport=polling")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_text(res).await;
    // Engine.IO v3 polling prefixes each packet with its length: `<len>:0{...}`.
    let (len, packet) = body
        .split_once(':')
        .unwrap_or_else(|| panic!("no v3 length prefix: {body}"));
    assert!(packet.starts_with("0{"), "not an open packet: {body}");
    assert_eq!(
        len.parse::<usize>().expect("a numeric length"),
        packet.chars().count(),
        "{body}"
    );
    assert!(packet.contains("\"pingInterval\":25000"), "{body}");
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(HANDSHAKE)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .body(Body::empty())
        .expect("a valid request")
}

fn get_with_origin(uri: &str, origin: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::ORIGIN, origin)
        .body(Body::empty())
        .expect("a valid request")
}

#[tokio::test]
async fn cors_allows_listed_origins_with_credentials() {
    let (router, _readiness, _io) = app(&config(&["--cors-origin", "http://a.test"]));

    let res = send(&router, preflight("http://a.test")).await;
    assert!(res.status().is_success(), "preflight: {}", res.status());
    let h = res.headers();
    assert_eq!(
        header_str(h, &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("http://a.test")
    );
    assert_eq!(
        header_str(h, &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        Some("true")
    );
    let methods = header_str(h, &header::ACCESS_CONTROL_ALLOW_METHODS).expect("allowed methods");
    assert!(
        methods.contains("POST") && methods.contains("GET"),
        "{methods}"
    );
    let headers = header_str(h, &header::ACCESS_CONTROL_ALLOW_HEADERS).expect("allowed headers");
    assert!(headers.contains("content-type"), "{headers}");

    // Actual (non-preflight) requests carry the headers too.
    let res = send(&router, get_with_origin(HANDSHAKE, "http://a.test")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        header_str(res.headers(), &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("http://a.test")
    );
    assert_eq!(
        header_str(res.headers(), &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
        Some("true")
    );
}

#[tokio::test]
async fn cors_refuses_other_origins() {
    let (router, _readiness, _io) = app(&config(&[
        "--cors-origin",
        "http://a.test",
        "--cors-origin",
        "https://b.test",
    ]));

    let res = send(&router, preflight("https://b.test")).await;
    assert_eq!(
        header_str(res.headers(), &header::ACCESS_CONTROL_ALLOW_ORIGIN),
        Some("https://b.test"),
        "the second listed origin is allowed too"
    );

    for origin in ["http://evil.test", "https://a.test", "http://a.test:8080"] {
        let res = send(&router, preflight(origin)).await;
        assert!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "preflight from {origin} must not be allowed: {:?}",
            res.headers()
        );
        let res = send(&router, get_with_origin("/healthz", origin)).await;
        assert!(
            res.headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .is_none(),
            "GET from {origin} must not be allowed: {:?}",
            res.headers()
        );
    }
}

#[tokio::test]
async fn cors_star_mirrors_any_origin() {
    let (router, _readiness, _io) = app(&config(&["--cors-origin", "*"]));
    for origin in ["http://anything.test", "https://other.example:8443"] {
        let res = send(&router, preflight(origin)).await;
        assert!(res.status().is_success(), "preflight: {}", res.status());
        assert_eq!(
            header_str(res.headers(), &header::ACCESS_CONTROL_ALLOW_ORIGIN),
            Some(origin),
            "`*` mirrors the origin (a literal `*` is invalid with credentials)"
        );
        assert_eq!(
            header_str(res.headers(), &header::ACCESS_CONTROL_ALLOW_CREDENTIALS),
            Some("true")
        );
    }
}

#[tokio::test]
async fn no_cors_flag_means_no_cors_headers() {
    let (router, _readiness, _io) = app(&config(&[]));
    let responses = [
        send(&router, preflight("http://a.test")).await,
        send(&router, get_with_origin("/healthz", "http://a.test")).await,
        send(&router, get_with_origin(HANDSHAKE, "http://a.test")).await,
    ];
    for res in responses {
        let cors: Vec<_> = res
            .headers()
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .collect();
        assert!(cors.is_empty(), "unexpected CORS headers: {cors:?}");
    }
}

#[tokio::test]
async fn small_responses_are_not_compressed() {
    let (router, _readiness, _io) = app(&config(&[]));
    let req = Request::get(HANDSHAKE)
        .header(header::ACCEPT_ENCODING, "gzip, br")
        .body(Body::empty())
        .expect("a valid request");
    let res = send(&router, req).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers().get(header::CONTENT_ENCODING).is_none(),
        "{:?}",
        res.headers()
    );
    let body = body_text(res).await;
    assert!(body.len() < 1024, "the handshake should be small: {body}");
    assert!(body.starts_with("0{"), "{body}");
}

/// Handshake, join `/`, then poll with `accept_encoding` until the big event arrives; returns
/// that response's headers and raw body, after checking that smaller polls were not compressed.
async fn poll_big_event(router: &Router, accept_encoding: Option<&str>) -> (HeaderMap, Bytes) {
    let sid = handshake(router).await;
    let session = format!("{HANDSHAKE}&sid={sid}");

    let connect = Request::post(&session)
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Body::from("40"))
        .expect("a valid request");
    let res = send(router, connect).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "ok");

    // The connect reply (`40{"sid":...}`) and the event may come in one poll or two.
    for _ in 0..5 {
        let mut req = Request::get(&session);
        if let Some(enc) = accept_encoding {
            req = req.header(header::ACCEPT_ENCODING, enc);
        }
        let res = send(router, req.body(Body::empty()).expect("a valid request")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let headers = res.headers().clone();
        let body = body_bytes(res).await;
        if headers.contains_key(header::CONTENT_ENCODING) || body.len() > BIG_LEN {
            return (headers, body);
        }
        let text = String::from_utf8_lossy(&body);
        assert!(
            text.starts_with("40{"),
            "only the connect reply may come before the event: {text}"
        );
    }
    panic!("the big event never arrived");
}

#[tokio::test]
async fn large_polling_responses_are_gzipped() {
    let router = big_app(&config(&[]));
    let (headers, body) = poll_big_event(&router, Some("gzip")).await;
    assert_eq!(
        header_str(&headers, &header::CONTENT_ENCODING),
        Some("gzip"),
        "{headers:?}"
    );
    assert!(
        header_str(&headers, &header::VARY)
            .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
        "{headers:?}"
    );
    assert_eq!(body[..2], [0x1f, 0x8b], "gzip magic bytes");
    assert!(
        body.len() < BIG_LEN / 10,
        "{BIG_LEN} repeated characters compress well, got {} bytes",
        body.len()
    );
    // The gzip trailer ends with the uncompressed length (mod 2^32): the whole event, at least.
    let tail: [u8; 4] = body[body.len() - 4..].try_into().expect("four bytes");
    let inflated = u32::from_le_bytes(tail) as usize;
    let event_len = format!("42[\"big\",\"{}\"]", "x".repeat(BIG_LEN)).len();
    assert!(
        (event_len..event_len + 200).contains(&inflated),
        "uncompressed size {inflated}, event is {event_len}"
    );
}

#[tokio::test]
async fn large_polling_responses_are_plain_without_accept_encoding() {
    let router = big_app(&config(&[]));
    let (headers, body) = poll_big_event(&router, None).await;
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "{headers:?}"
    );
    let text = String::from_utf8(body.to_vec()).expect("a text payload");
    assert!(
        text.contains(&format!("42[\"big\",\"{}\"]", "x".repeat(BIG_LEN))),
        "the event should arrive whole"
    );
}

#[tokio::test]
async fn compression_threshold_is_configurable() {
    // With the threshold above the event's size, even the big poll stays plain.
    let router = big_app(&config(&["--compression-min-bytes", "100000"]));
    let (headers, body) = poll_big_event(&router, Some("gzip")).await;
    assert!(
        headers.get(header::CONTENT_ENCODING).is_none(),
        "{headers:?}"
    );
    assert!(body.len() > BIG_LEN);
}

/// Sends one HTTP/1.1 request on a fresh connection and returns the raw response.
async fn raw_request(addr: std::net::SocketAddr, path: &str) -> String {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connect to the server");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("send the request");
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .expect("read the response");
        String::from_utf8(response).expect("a UTF-8 response")
    };
    tokio::time::timeout(REQUEST_DEADLINE, exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} did not complete within {REQUEST_DEADLINE:?}"))
}

#[tokio::test]
async fn real_server_serves_and_shuts_down_gracefully() {
    let cfg = config(&["--port", "0", "--shutdown-timeout-ms", "2000"]);
    let (router, readiness, io) = app(&cfg);
    let listener = serve::bind(&cfg).expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the bound address");
    assert_ne!(addr.port(), 0, "port 0 picks a free port");
    assert_eq!(
        serve::listening_line(&cfg, addr),
        format!("listening on http://{addr}")
    );

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let cfg = cfg.clone();
        let readiness = readiness.clone();
        async move {
            let shutdown = async move {
                // A dropped sender also means "stop".
                drop(stop_rx.await);
            };
            serve::serve(&cfg, listener, router, io, readiness, shutdown).await
        }
    });

    let response = raw_request(addr, "/healthz").await;
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n"),
        "unexpected response: {response}"
    );
    assert!(
        response.ends_with("\r\n\r\nok"),
        "unexpected body: {response}"
    );

    // serve() marks the server ready once it accepts connections.
    let response = raw_request(addr, "/readyz").await;
    assert!(
        response.starts_with("HTTP/1.1 200 OK\r\n"),
        "ready while serving: {response}"
    );
    assert!(readiness.is_serving());

    stop_tx
        .send(())
        .expect("the server is still waiting for shutdown");
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve() returns within the shutdown deadline")
        .expect("the serve task does not panic");
    assert!(result.is_ok(), "serve() failed: {result:?}");
    assert!(!readiness.is_serving(), "draining clears readiness");

    // The listener is closed: new connections are refused.
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "still accepting after shutdown");
}
