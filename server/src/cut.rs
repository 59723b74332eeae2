//! Cutting one client's transport from the server side.
//!
//! socketioxide can disconnect a socket only by queueing a DISCONNECT packet, which fails when
//! the socket's queue is full (exactly the client that must go), and a client told "server
//! disconnect" does not reconnect. Cutting the transport instead makes the engine close the
//! session, and the client reconnects and recovers by `seq`.
//!
//! - Every accepted connection is wrapped by [`CutAcceptor`] in a [`Cuttable`] stream and tagged
//!   with its [`Cut`] in each request's extensions.
//! - A socket finds the [`Cut`] of the connection that opened its session in its request head; a
//!   session that upgrades to WebSocket later is registered by sid in [`Cuts`] when the upgrade
//!   request passes the router (`Cuts::track`).
//! - Long-polling sessions are cut by refusing their later requests (as unknown sessions).

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    io,
    pin::Pin,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    extract::Request,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use axum_server::accept::Accept;
use futures_util::task::AtomicWaker;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The switch of one TCP connection; cloning shares it.
#[derive(Clone, Debug, Default)]
pub struct Cut(Arc<Switch>);

#[derive(Debug, Default)]
struct Switch {
    cut: AtomicBool,
    reader: AtomicWaker,
    writer: AtomicWaker,
}

impl Cut {
    /// Closes the connection: its next read and write fail, and a pending one is woken to fail.
    pub fn cut(&self) {
        self.0.cut.store(true, Ordering::Release);
        self.0.reader.wake();
        self.0.writer.wake();
    }

    /// Whether [`Cut::cut`] was called.
    pub fn is_cut(&self) -> bool {
        self.0.cut.load(Ordering::Acquire)
    }
}

fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "cut by the server")
}

/// Counts the bytes a write took (every client connection's, see [`crate::metrics`]).
fn count_sent(polled: &Poll<io::Result<usize>>) {
    if let Poll::Ready(Ok(n)) = polled {
        crate::metrics::meters().sent_bytes.increment(*n as u64);
    }
}

/// A stream that fails once its [`Cut`] is cut.
#[derive(Debug)]
pub struct Cuttable<S> {
    inner: S,
    cut: Cut,
}

impl<S: AsyncRead + Unpin> AsyncRead for Cuttable<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = buf.filled().len().saturating_sub(before);
            crate::metrics::meters()
                .received_bytes
                .increment(read as u64);
        }
        if polled.is_pending() {
            self.cut.0.reader.register(cx.waker());
            if self.cut.is_cut() {
                return Poll::Ready(Err(aborted()));
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Cuttable<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        count_sent(&polled);
        if polled.is_pending() {
            self.cut.0.writer.register(cx.waker());
            if self.cut.is_cut() {
                return Poll::Ready(Err(aborted()));
            }
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.cut.is_cut() {
            return Poll::Ready(Err(aborted()));
        }
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        count_sent(&polled);
        if polled.is_pending() {
            self.cut.0.writer.register(cx.waker());
            if self.cut.is_cut() {
                return Poll::Ready(Err(aborted()));
            }
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Wraps an acceptor: each connection becomes [`Cuttable`] and its requests carry its [`Cut`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CutAcceptor<A>(pub A);

impl<I, S, A> Accept<I, S> for CutAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
{
    type Stream = Cuttable<A::Stream>;
    type Service = Tagged<A::Service>;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.0.accept(stream, service);
        Box::pin(async move {
            let (inner, service) = inner.await?;
            let cut = Cut::default();
            Ok((
                Cuttable {
                    inner,
                    cut: cut.clone(),
                },
                Tagged {
                    inner: service,
                    cut,
                },
            ))
        })
    }
}

/// A connection's service that puts the connection's [`Cut`] in every request's extensions.
#[derive(Clone, Debug)]
pub struct Tagged<S> {
    inner: S,
    cut: Cut,
}

impl<S, B> tower::Service<axum::http::Request<B>> for Tagged<S>
where
    S: tower::Service<axum::http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: axum::http::Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.cut.clone());
        self.inner.call(req)
    }
}

/// Sessions the server may cut: WebSocket upgrades by sid, and long-polling sids refused.
#[derive(Debug, Default)]
pub struct Cuts {
    state: Mutex<CutState>,
    /// Long-polling sessions refused now: most of the time none, and no lock is taken.
    refusing: AtomicUsize,
}

#[derive(Debug, Default)]
struct CutState {
    upgraded: HashMap<String, Weak<Switch>>,
    /// Size of `upgraded` after the last sweep of closed connections.
    swept: usize,
    polling: HashSet<String>,
}

impl Cuts {
    fn lock(&self) -> std::sync::MutexGuard<'_, CutState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes the connection of a WebSocket upgrade of session `sid`.
    pub(crate) fn track(&self, req: &Request) {
        let Some(query) = req.uri().query() else {
            return;
        };
        let mut sid = None;
        let mut websocket = false;
        for pair in query.split('&') {
            if let Some(s) = pair.strip_prefix("sid=") {
                sid = Some(s);
            } else if pair == "transport=websocket" {
                websocket = true;
            }
        }
        let (Some(sid), true, Some(cut)) = (sid, websocket, req.extensions().get::<Cut>()) else {
            return;
        };
        let mut state = self.lock();
        state
            .upgraded
            .insert(sid.to_owned(), Arc::downgrade(&cut.0));
        if state.upgraded.len() > 2 * state.swept.max(512) {
            state.upgraded.retain(|_, w| w.strong_count() > 0);
            state.swept = state.upgraded.len();
        }
    }

    /// Cuts session `sid`: its upgraded WebSocket if any, and its long-polling requests.
    pub fn cut(&self, sid: &str) {
        let mut state = self.lock();
        if let Some(switch) = state.upgraded.remove(sid).and_then(|w| w.upgrade()) {
            Cut(switch).cut();
        }
        if state.polling.insert(sid.to_owned()) {
            self.refusing.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Forgets a session that has ended.
    pub fn forget(&self, sid: &str) {
        let mut state = self.lock();
        state.upgraded.remove(sid);
        if state.polling.remove(sid) {
            self.refusing.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// The answer for a request of a cut session, as the engine answers an unknown one.
    pub(crate) fn refusal(&self, req: &Request) -> Option<Response> {
        if self.refusing.load(Ordering::Acquire) == 0 {
            return None;
        }
        let sid = req
            .uri()
            .query()?
            .split('&')
            .find_map(|p| p.strip_prefix("sid="))?;
        if !self.lock().polling.contains(sid) {
            return None;
        }
        Some(
            (
                StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({ "code": 1, "message": "Session ID unknown" })),
            )
                .into_response(),
        )
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_cut_fails_a_pending_read_and_every_later_write() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let cut = Cut::default();
        let mut stream = Cuttable {
            inner: ours,
            cut: cut.clone(),
        };
        theirs.write_all(b"hi").await.expect("write");
        let mut buf = [0u8; 2];
        stream
            .read_exact(&mut buf)
            .await
            .expect("read before the cut");
        let reading = tokio::spawn(async move {
            let mut more = [0u8; 1];
            let read = stream.read(&mut more).await;
            (read.map_err(|e| e.kind()), stream)
        });
        tokio::task::yield_now().await;
        assert!(!reading.is_finished(), "nothing to read yet");
        cut.cut();
        let (read, mut stream) = reading.await.expect("task");
        assert_eq!(read, Err(io::ErrorKind::ConnectionAborted));
        let write = stream.write_all(b"x").await.map_err(|e| e.kind());
        assert_eq!(write, Err(io::ErrorKind::ConnectionAborted));
    }

    #[test]
    fn a_cut_polling_session_is_refused_until_forgotten() {
        let cuts = Cuts::default();
        let req = |q: &str| {
            Request::builder()
                .uri(format!("/socket.io/?EIO=4&transport=polling&{q}"))
                .body(axum::body::Body::empty())
                .expect("request")
        };
        assert!(cuts.refusal(&req("sid=abc")).is_none());
        cuts.cut("abc");
        let refused = cuts.refusal(&req("sid=abc")).expect("refused");
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(cuts.refusal(&req("sid=other")).is_none());
        cuts.forget("abc");
        assert!(cuts.refusal(&req("sid=abc")).is_none());
    }
}
