//! The reply loop: one request at a time per room, a backend's answer streamed into the room
//! and stored when it ends.

use futures_util::StreamExt;
use tracing::warn;

use super::{
    Again, BOT_ID, Bot,
    admission::Request,
    backend::{Chunk, Completion, Role, Turn},
    now_ms,
};
use crate::{
    store::{Links, MessageStatus, NewMessage, UsageLine},
    wire::{BotEnd, BotStart, FinishReason, ReplyError, Usage},
};
impl Bot {
    /// Answers requests of one room, one after the other, until none waits.
    pub(super) async fn work(self, next: Request) {
        self.0.running.send_modify(|n| *n += 1);
        let running = ::metrics::gauge!(crate::metrics::BOT_REPLIES_RUNNING);
        running.increment(1.0);
        self.work_queue(next).await;
        running.decrement(1.0);
        self.0.running.send_modify(|n| *n = n.saturating_sub(1));
    }

    async fn work_queue(&self, mut next: Request) {
        loop {
            if self.0.stopping.is_cancelled() {
                // Requests still waiting are dropped: their questions stay in the history.
                self.0.admissions.clear(&next.room);
                return;
            }
            if !self.reply(&next).await {
                self.settle(&next.user_id).await;
            }
            match self.0.admissions.finished(&next.room) {
                Some((following, positions)) => {
                    self.announce_queued(&next.room, positions).await;
                    next = following;
                }
                None => return,
            }
        }
    }

    /// Writes one reply holding the room's lease, and gives the lease back before the room's
    /// next request; `false` if the reply could not start (nothing settled).
    async fn reply(&self, request: &Request) -> bool {
        let Some(lease) = self.hold_room(request).await else {
            return false;
        };
        let started = self.write_reply(request).await;
        lease.give_back().await;
        started
    }

    /// Writes one reply. Its cost is settled with admission before its end is published, so
    /// a member who sees the end and asks again finds the budgets already updated; `false` if
    /// the reply could not start (nothing settled).
    async fn write_reply(&self, request: &Request) -> bool {
        let cfg = &self.0.config;
        let Ok(writer) = self.0.writers.get(&request.room).await else {
            return false;
        };
        let settings = match self.settings(&request.room).await {
            Ok(s) => s,
            Err(e) => {
                warn!(cause = %e, "cannot read the room's bot settings");
                return false;
            }
        };
        let links = Links {
            reply_to: Some(request.request_id.clone()),
            replaces: match &request.again {
                Some(Again::Regenerate(id)) => Some(id.clone()),
                _ => None,
            },
            continues: match &request.again {
                Some(Again::Continue { reply, .. }) => Some(reply.clone()),
                _ => None,
            },
        };
        let stored = writer
            .send(NewMessage {
                id: crate::ids::new_id("m_", 16),
                user_id: BOT_ID.to_owned(),
                user_name: cfg.name.clone(),
                text: String::new(),
                ts: now_ms(),
                client_id: None,
                status: MessageStatus::Streaming,
                node: Some(cfg.node.clone()),
                links,
            })
            .await;
        let reply = match stored {
            Ok(appended) => appended.message().clone(),
            Err(e) => {
                warn!(cause = %e, "cannot start a reply");
                return false;
            }
        };
        self.0.admissions.started(&request.room, &reply.id);
        writer.stream_start(BotStart {
            room: request.room.clone(),
            id: reply.id.clone(),
            seq: reply.seq,
            request_id: request.request_id.clone(),
            user_id: BOT_ID.to_owned(),
            name: cfg.name.clone(),
            ts: reply.ts,
        });
        let mut deltas = 0;
        let mut delta = |text: String| {
            deltas += 1;
            writer.stream_delta(&reply.id, deltas, text);
        };

        let mut turns = self
            .context(&request.room, request.request_seq, &settings.system_prompt)
            .await;
        if let Some(Again::Continue { text, .. }) = &request.again {
            turns.push(Turn {
                role: Role::Assistant,
                content: text.clone(),
            });
        }
        let first_in_room = !self
            .0
            .store
            .wrote_before(&request.room, BOT_ID, reply.seq)
            .await
            .unwrap_or(true);
        let prompt_chars: usize = turns.iter().map(|t| t.content.len()).sum();
        let default_model = self.0.backend.model();
        let mut stream = self.0.backend.complete(Completion {
            turns,
            model: (settings.model != default_model).then(|| settings.model.clone()),
            temperature: settings.temperature,
            first_in_room,
        });
        let asked = tokio::time::Instant::now();
        let mut first_text: Option<tokio::time::Instant> = None;
        let mut text = String::new();
        let mut pending = String::new();
        // Merging: text that arrives at least `coalesce` after the last delta goes out at once;
        // text that follows sooner waits until `coalesce` has passed since that delta. No text
        // waits longer than `coalesce`, and a reply sends at most one delta per `coalesce`.
        let mut last_delta: Option<tokio::time::Instant> = None;
        let mut flush_at: Option<tokio::time::Instant> = None;
        let mut usage: Option<Usage> = None;
        let mut finish = FinishReason::Stop;
        let mut error: Option<ReplyError> = None;
        loop {
            tokio::select! {
                biased;
                () = request.cancel.cancelled() => {
                    finish = FinishReason::Cancelled;
                    break;
                }
                () = self.0.stopping.cancelled() => {
                    finish = FinishReason::Error;
                    error = Some(ReplyError {
                        code: "interrupted".to_owned(),
                        message: "the server stopped while writing this reply".to_owned(),
                    });
                    break;
                }
                () = sleep_until(flush_at) => {
                    delta(std::mem::take(&mut pending));
                    last_delta = flush_at.take();
                }
                chunk = stream.next() => match chunk {
                    None => break,
                    Some(Ok(Chunk::Text(t))) => {
                        if first_text.is_none() {
                            first_text = Some(tokio::time::Instant::now());
                            ::metrics::histogram!(crate::metrics::BOT_FIRST_TOKEN_SECONDS)
                                .record(asked.elapsed().as_secs_f64());
                        }
                        text.push_str(&t);
                        pending.push_str(&t);
                        let now = tokio::time::Instant::now();
                        let due = last_delta.map_or(now, |at| at + cfg.coalesce);
                        if now >= due || pending.len() >= cfg.coalesce_bytes {
                            delta(std::mem::take(&mut pending));
                            last_delta = Some(now);
                            flush_at = None;
                        } else {
                            flush_at = Some(due);
                        }
                    }
                    Some(Ok(Chunk::Usage(u))) => usage = Some(u),
                    Some(Ok(Chunk::Finish(reason))) => finish = FinishReason::from_model(reason),
                    Some(Err(e)) => {
                        warn!(code = e.code, message = %e.message, "reply failed");
                        ::metrics::counter!(crate::metrics::BOT_UPSTREAM_ERRORS_TOTAL, "kind" => e.code)
                            .increment(1);
                        finish = FinishReason::Error;
                        error = Some(ReplyError { code: e.code.to_owned(), message: e.message });
                        break;
                    }
                }
            }
        }
        // Dropping the stream closes the upstream request now (a cancel, an error).
        drop(stream);
        if !pending.is_empty() {
            delta(pending);
        }
        record_reply(&finish, first_text, usage, text.len());
        let meta = serde_json::json!({ "finishReason": finish, "usage": usage, "error": error });
        let end = BotEnd {
            room: request.room.clone(),
            id: reply.id.clone(),
            seq: reply.seq,
            rev: 0,
            text: text.clone(),
            finish_reason: finish,
            usage,
            error,
        };
        let tokens = match usage {
            Some(u) => u.prompt_tokens + u.completion_tokens,
            None => ((prompt_chars + text.len()) / 4) as u64,
        };
        self.settle(&request.user_id).await;
        self.0.budgets.spend(&request.user_id, tokens).await;
        let line = UsageLine {
            reply_id: reply.id.clone(),
            room: request.room.clone(),
            user_id: request.user_id.clone(),
            ts: now_ms(),
            prompt_tokens: usage.map_or(prompt_chars / 4, |u| u.prompt_tokens as usize) as i64,
            completion_tokens: usage
                .map_or(text.len().div_ceil(4), |u| u.completion_tokens as usize)
                as i64,
            estimated: usage.is_none(),
        };
        if let Err(e) = self.0.store.record_usage(&line).await {
            warn!(cause = %e, "cannot record the reply's usage");
        }
        if let Err(e) = writer.finish(end, meta.to_string()).await {
            warn!(cause = %e, "cannot store the reply");
        }
        true
    }

    /// The conversation for a reply: the system prompt, then the room's messages up to and
    /// including the request (`request_seq`; the newest that fit the budget, oldest first), so
    /// the reply answers its request even when more messages arrived while it waited.
    async fn context(&self, room: &str, request_seq: i64, system_prompt: &str) -> Vec<Turn> {
        let cfg = &self.0.config;
        let recent = self
            .0
            .store
            .history(room, Some(request_seq + 1), None, 100)
            .await
            .unwrap_or_default();
        let mut budget = cfg.context_chars;
        let mut turns = Vec::new();
        for m in recent.iter().rev() {
            if m.deleted || m.text.is_empty() {
                continue;
            }
            let (role, content) = if m.user_id == BOT_ID {
                (Role::Assistant, m.text.clone())
            } else {
                (Role::User, format!("{}: {}", m.user_name, m.text))
            };
            if content.len() > budget {
                if turns.is_empty() {
                    // The request itself is always sent: its first `budget` bytes.
                    let mut end = budget;
                    while !content.is_char_boundary(end) {
                        end -= 1;
                    }
                    turns.push(Turn {
                        role,
                        content: content[..end].to_owned(),
                    });
                }
                break;
            }
            budget -= content.len();
            turns.push(Turn { role, content });
        }
        turns.push(Turn {
            role: Role::System,
            content: format!(
                "{system_prompt}\n\nMessages from people start with the speaker's name and a colon."
            ),
        });
        turns.reverse();
        turns
    }
}

/// Counts an ended reply by its finish reason and records its speed: completion tokens (as
/// reported, else text length / 4) over the time since its first text.
fn record_reply(
    finish: &FinishReason,
    first_text: Option<tokio::time::Instant>,
    usage: Option<Usage>,
    text_len: usize,
) {
    let finish = crate::metrics::finish_label(finish.as_str());
    ::metrics::counter!(crate::metrics::BOT_REPLIES_TOTAL, "finish" => finish).increment(1);
    let Some(first) = first_text else {
        return;
    };
    let tokens = usage.map_or((text_len / 4) as u64, |u| u.completion_tokens);
    let took = first.elapsed().as_secs_f64();
    if tokens > 0 && took > 0.0 {
        ::metrics::histogram!(crate::metrics::BOT_TOKENS_PER_SECOND).record(tokens as f64 / took);
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
