//! Any OpenAI-compatible chat API: `POST {base}/chat/completions` with `stream: true`, answered
//! with server-sent events (`data: {chunk}` lines, then `data: [DONE]`). Works with OpenAI,
//! Ollama's `/v1`, llama.cpp's server and vLLM.
//!
//! Each reply runs in its own task feeding a channel; the task watches the channel, so when the
//! caller drops the stream (a cancel) the HTTP response is dropped at once and the upstream sees
//! its connection closed.

use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::{StreamExt, stream::BoxStream};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::debug;

use super::backend::{Backend, BackendError, Chunk, Completion};
use crate::wire::Usage;

/// Settings of the upstream.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// Base URL, for example `https://api.openai.com/v1`.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Bearer token.
    pub api_key: Option<String>,
    /// Until the first token.
    pub first_token_timeout: Duration,
    /// Between tokens.
    pub idle_timeout: Duration,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// The OpenAI-compatible backend.
#[derive(Debug, Clone)]
pub struct OpenAi {
    client: reqwest::Client,
    config: OpenAiConfig,
}

impl OpenAi {
    /// A backend with its own connection pool.
    pub fn new(config: OpenAiConfig, connect_timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { client, config })
    }
}

#[derive(Debug, Deserialize)]
struct StreamChunk {
    #[serde(default)]
    choices: Vec<StreamChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
struct StreamChoice {
    #[serde(default)]
    delta: Option<StreamDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct StreamDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// What one `data:` line says. `None` for the final `[DONE]`.
pub fn decode_event(data: &str) -> Result<Option<Vec<Chunk>>, BackendError> {
    let data = data.trim();
    if data == "[DONE]" {
        return Ok(None);
    }
    let chunk: StreamChunk = serde_json::from_str(data).map_err(|e| {
        BackendError::new(
            "upstream_malformed",
            format!("the model sent an unreadable chunk: {e}"),
        )
    })?;
    let mut out = Vec::new();
    for choice in chunk.choices {
        if let Some(text) = choice
            .delta
            .and_then(|d| d.content)
            .filter(|t| !t.is_empty())
        {
            out.push(Chunk::Text(text));
        }
        if let Some(reason) = choice.finish_reason {
            out.push(Chunk::Finish(reason));
        }
    }
    if let Some(u) = chunk.usage {
        out.push(Chunk::Usage(Usage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        }));
    }
    Ok(Some(out))
}

type Tx = mpsc::Sender<Result<Chunk, BackendError>>;

impl Backend for OpenAi {
    fn complete(&self, request: Completion) -> BoxStream<'static, Result<Chunk, BackendError>> {
        let (tx, rx) = mpsc::channel(64);
        let this = self.clone();
        tokio::spawn(async move {
            // Stops as soon as the caller drops the stream, whatever the upstream is doing.
            tokio::select! {
                () = tx.closed() => debug!("reply cancelled; upstream request dropped"),
                () = this.run(request, &tx) => {}
            }
        });
        tokio_stream_from(rx)
    }

    fn kind(&self) -> &'static str {
        "openai"
    }

    fn model(&self) -> &str {
        &self.config.model
    }
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<Result<Chunk, BackendError>>,
) -> BoxStream<'static, Result<Chunk, BackendError>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

impl OpenAi {
    async fn run(&self, request: Completion, tx: &Tx) {
        if let Err(e) = self.stream(request, tx).await {
            tx.send(Err(e)).await.ok();
        }
    }

    async fn stream(&self, request: Completion, tx: &Tx) -> Result<(), BackendError> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let messages: Vec<_> = request
            .turns
            .iter()
            .map(|t| json!({ "role": t.role.as_str(), "content": t.content }))
            .collect();
        let model = request.model.as_deref().unwrap_or(&self.config.model);
        let mut body = json!({
            "model": model,
            "messages": messages,
            "stream": true,
            "stream_options": { "include_usage": true },
        });
        if let Some(t) = request.temperature {
            body["temperature"] = json!(t);
        }
        let mut call = self.client.post(&url).json(&body);
        if let Some(key) = &self.config.api_key {
            call = call.bearer_auth(key);
        }
        let first = self.config.first_token_timeout;
        let response = tokio::time::timeout(first, call.send())
            .await
            .map_err(|_| BackendError::new("upstream_timeout", "the model did not answer in time"))?
            .map_err(|e| {
                let what = if e.is_connect() {
                    "cannot reach the model"
                } else {
                    "the request to the model failed"
                };
                BackendError::new("upstream_unreachable", what)
            })?;
        let status = response.status();
        if !status.is_success() {
            let detail = tokio::time::timeout(Duration::from_secs(2), response.text())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|t| upstream_error_message(&t))
                .unwrap_or_default();
            return Err(BackendError::new(
                "upstream_http",
                format!("the model answered HTTP {}{detail}", status.as_u16()),
            ));
        }
        let mut events = response.bytes_stream().eventsource();
        let mut got_text = false;
        loop {
            let wait = if got_text {
                self.config.idle_timeout
            } else {
                first
            };
            let event = match tokio::time::timeout(wait, events.next()).await {
                Err(_) => {
                    return Err(BackendError::new(
                        "upstream_timeout",
                        "the model stopped sending",
                    ));
                }
                Ok(None) => {
                    return Err(BackendError::new(
                        "upstream_broken",
                        "the model's stream ended early",
                    ));
                }
                Ok(Some(Err(e))) => {
                    return Err(BackendError::new(
                        "upstream_broken",
                        format!("the model's stream broke: {e}"),
                    ));
                }
                Ok(Some(Ok(event))) => event,
            };
            let Some(chunks) = decode_event(&event.data)? else {
                return Ok(());
            };
            for chunk in chunks {
                got_text |= matches!(chunk, Chunk::Text(_));
                if tx.send(Ok(chunk)).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
}

/// The upstream's own error message, when its body is OpenAI's `{ "error": { "message" } }`.
fn upstream_error_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        })
        .map(|m| format!(": {}", m.chars().take(200).collect::<String>()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
        : a comment line\n\
        data: {\"choices\":[{\"delta\":{\"content\":\"lo, wörld\"},\"finish_reason\":null}]}\r\n\r\n\
        data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
        data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3,\"total_tokens\":10}}\n\n\
        data: [DONE]\n\n";

    async fn decode_split_at(cut: usize) -> Vec<Chunk> {
        let bytes = STREAM.as_bytes();
        let parts: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
            Ok(bytes::Bytes::copy_from_slice(&bytes[..cut])),
            Ok(bytes::Bytes::copy_from_slice(&bytes[cut..])),
        ];
        let mut events = futures_util::stream::iter(parts).eventsource();
        let mut out = Vec::new();
        while let Some(event) = events.next().await {
            let event = event.expect("well-formed stream");
            match decode_event(&event.data).expect("valid chunk") {
                Some(chunks) => out.extend(chunks),
                None => break,
            }
        }
        out
    }

    #[tokio::test]
    async fn events_decode_the_same_whatever_byte_the_stream_is_split_at() {
        let expected = vec![
            Chunk::Text("Hel".into()),
            Chunk::Text("lo, wörld".into()),
            Chunk::Finish("stop".into()),
            Chunk::Usage(Usage {
                prompt_tokens: 7,
                completion_tokens: 3,
            }),
        ];
        // Every split point, including inside the multi-byte 'ö' and inside "\r\n".
        for cut in 0..=STREAM.len() {
            assert_eq!(decode_split_at(cut).await, expected, "split at byte {cut}");
        }
    }

    #[test]
    fn a_malformed_chunk_is_an_error_not_a_panic() {
        let err = decode_event("{not json").expect_err("malformed");
        assert_eq!(err.code, "upstream_malformed");
        assert_eq!(decode_event(" [DONE] "), Ok(None));
    }

    #[test]
    fn upstream_errors_show_their_message() {
        assert_eq!(
            upstream_error_message(r#"{"error":{"message":"Incorrect API key"}}"#),
            ": Incorrect API key"
        );
        assert_eq!(upstream_error_message("<html>"), "");
    }
}
