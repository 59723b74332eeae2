//! A tiny fake of an OpenAI-compatible streaming API, for the bot scenario: every
//! `POST …/chat/completions` is answered with server-sent events, one token every
//! `1/rate` seconds, then `data: [DONE]`. Token `i` is the text ` w<i>`, and the moment each
//! token is written is kept, so that the viewers can tell how long each one took to reach them.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::AbortHandle,
};

use crate::eio::{Result, now_us};

/// A running fake, on 127.0.0.1.
#[derive(Clone)]
pub struct FakeLlm {
    addr: SocketAddr,
    emitted: Arc<Mutex<Vec<u64>>>,
    task: AbortHandle,
}

impl FakeLlm {
    /// Starts it in this process (as a task of the load generator's runtime).
    pub async fn start(rate: u64, tokens: usize) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let emitted = Arc::new(Mutex::new(Vec::with_capacity(tokens)));
        let e = emitted.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(answer(stream, rate, tokens, e.clone()));
            }
        })
        .abort_handle();
        Ok(Self {
            addr,
            emitted,
            task,
        })
    }

    /// The base URL to give the chat server (`--llm-base-url`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// When token `i` of the current reply was written (µs on the harness clock).
    pub fn emitted(&self, i: usize) -> Option<u64> {
        self.emitted.lock().ok().and_then(|e| e.get(i).copied())
    }

    /// Stops accepting (streams in progress end with the runtime or their client).
    pub fn stop(&self) {
        self.task.abort();
    }
}

async fn answer(stream: TcpStream, rate: u64, tokens: usize, emitted: Arc<Mutex<Vec<u64>>>) {
    stream.set_nodelay(true).ok();
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).await.is_err() {
        return;
    }
    let mut stream = reader.into_inner();
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    if let Ok(mut e) = emitted.lock() {
        e.clear();
    }
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate.max(1)));
    for i in 0..tokens {
        tick.tick().await;
        if let Ok(mut e) = emitted.lock() {
            e.push(now_us());
        }
        let chunk = format!(
            "data: {{\"id\":\"fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" w{i}\"}},\"finish_reason\":null}}]}}\n\n"
        );
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            return;
        }
    }
    let end = format!(
        "data: {{\"id\":\"fake\",\"object\":\"chat.completion.chunk\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"stop\"}}],\"usage\":{{\"prompt_tokens\":10,\"completion_tokens\":{tokens}}}}}\n\ndata: [DONE]\n\n"
    );
    let _ = stream.write_all(end.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// `bench fake-llm`: serves until interrupted, printing its base URL.
pub async fn serve_forever(port: u16, rate: u64, tokens: usize) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("fake LLM at http://{}/v1", listener.local_addr()?);
    let emitted = Arc::new(Mutex::new(Vec::new()));
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(answer(stream, rate, tokens, emitted.clone()));
    }
}
