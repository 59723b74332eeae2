//! The checks every HTTP request passes before the Socket.IO layer, in one tower service.
//!
//! They were four `axum` middlewares (`from_fn` and `map_request`), and each added its own level
//! to every request: a boxed clone of the stack under it, a boxed future. Under long-polling,
//! where every round trip is two HTTP requests, those levels cost more than a quarter of the
//! server's CPU per ack (docs/BENCHMARKS.md). [`Front`] does the same checks in one synchronous
//! `call`, in this order:
//!
//! 1. marks `Authorization` sensitive, so nothing that logs the request prints a key;
//! 2. refuses Engine.IO v3 handshakes unless allowed;
//! 3. refuses the requests of long-polling sessions the server cut ([`Cuts`]);
//! 4. copies the head of a request that opens a session out of hyper's read buffer;
//! 5. notes the connection of each WebSocket upgrade ([`Cuts`]).

use std::{
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Json,
    extract::Request,
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use futures_util::future::{Either, Ready, ready};
use tower::{Layer, Service};

use crate::cut::Cuts;

/// The path Socket.IO clients connect to, as in every official client's default.
pub const SOCKET_IO_PATH: &str = "/socket.io";

/// The layer of [`Front`].
#[derive(Clone, Debug)]
pub struct FrontLayer {
    allow_eio3: bool,
    cuts: Arc<Cuts>,
}

impl FrontLayer {
    /// Checks in front of the Socket.IO layer: `allow_eio3` lets Engine.IO v3 handshakes
    /// through, `cuts` holds the sessions the server cut.
    pub fn new(allow_eio3: bool, cuts: Arc<Cuts>) -> Self {
        Self { allow_eio3, cuts }
    }
}

impl<S> Layer<S> for FrontLayer {
    type Service = Front<S>;

    fn layer(&self, inner: S) -> Front<S> {
        Front {
            inner,
            allow_eio3: self.allow_eio3,
            cuts: self.cuts.clone(),
        }
    }
}

/// The service: see the module's documentation.
#[derive(Clone, Debug)]
pub struct Front<S> {
    inner: S,
    allow_eio3: bool,
    cuts: Arc<Cuts>,
}

impl<S> Service<Request> for Front<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<Ready<Result<Response, S::Error>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        hide_credentials(&mut req);
        if let Some(refused) = self.refusal(&req) {
            return Either::Left(ready(Ok(refused)));
        }
        detach_head(&mut req);
        self.cuts.track(&req);
        Either::Right(self.inner.call(req))
    }
}

impl<S> Front<S> {
    fn refusal(&self, req: &Request) -> Option<Response> {
        if !self.allow_eio3
            && req.uri().path().starts_with(SOCKET_IO_PATH)
            && req.uri().query().and_then(engine_io_version) == Some("3")
        {
            // The answer Node's server gives.
            return Some(
                (
                    StatusCode::BAD_REQUEST,
                    Json(
                        serde_json::json!({ "code": 5, "message": "Unsupported protocol version" }),
                    ),
                )
                    .into_response(),
            );
        }
        self.cuts.refusal(req)
    }
}

/// The Engine.IO protocol version a request asks for, read exactly as engineioxide reads it: the
/// first `EIO=` pair of the query, cut at the next `=`. Any other reading could disagree with
/// the engine (`EIO=3=1` is version 3 to the engine).
pub fn engine_io_version(query: &str) -> Option<&str> {
    query
        .split('&')
        .find(|pair| pair.starts_with("EIO="))
        .and_then(|pair| pair.split('=').nth(1))
}

/// Marks `Authorization` sensitive (the HTTP API's keys): `Debug` prints it as `Sensitive`.
fn hide_credentials(req: &mut Request) {
    if let Some(value) = req.headers_mut().get_mut(header::AUTHORIZATION) {
        value.set_sensitive(true);
    }
}

/// Copies a request's URI and header values out of the connection's read buffer.
///
/// hyper hands them over as slices of the buffer it read the request into (8 KiB or more), and
/// the Engine.IO layer keeps each session's request head for as long as the session lives; one
/// header slice kept the whole buffer alive, about half of an idle connection's memory
/// (`docs/BENCHMARKS.md`). Only a request that opens a session is copied; one that carries a
/// `sid` (every long-polling round trip, an upgrade) is passed on as it is.
fn detach_head(req: &mut Request) {
    let opens_session = req
        .uri()
        .query()
        .is_none_or(|q| !q.split('&').any(|pair| pair.starts_with("sid=")));
    if !opens_session {
        return;
    }
    if let Ok(uri) = Uri::try_from(req.uri().to_string()) {
        // axum's router keeps a clone of the URI as it came (`OriginalUri`): the same slice.
        if let Some(original) = req.extensions_mut().get_mut::<axum::extract::OriginalUri>() {
            original.0 = uri.clone();
        }
        *req.uri_mut() = uri;
    }
    for value in req.headers_mut().values_mut() {
        if let Ok(mut copy) = HeaderValue::from_bytes(value.as_bytes()) {
            copy.set_sensitive(value.is_sensitive());
            *value = copy;
        }
    }
}
