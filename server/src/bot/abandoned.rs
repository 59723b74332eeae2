//! Replies whose node is gone: another node ends them, as a shutdown ends its own.

use tracing::warn;

use super::Bot;
use crate::{
    store::StoreError,
    wire::{BotEnd, FinishReason, ReplyError},
};

impl Bot {
    /// Ends every reply `node` was writing (it died or was cut off from the cluster): each
    /// keeps the text the bus last showed of it (or what was stored, if nothing streamed
    /// here), members on every node get `bot:end` with `finishReason: "error"` and
    /// `error.code: "interrupted"`, and the room may ask again. Returns how many.
    pub async fn end_abandoned(&self, node: &str) -> Result<usize, StoreError> {
        let replies = self.0.store.streaming_of(node, false).await?;
        let mut ended = 0;
        for reply in replies {
            let text = self
                .0
                .writers
                .streaming(&reply.room)
                .filter(|s| s.start.id == reply.id)
                .map_or(reply.text, |s| s.text);
            let error = ReplyError {
                code: "interrupted".to_owned(),
                message: "the server writing this reply stopped".to_owned(),
            };
            let meta = serde_json::json!({
                "finishReason": FinishReason::Error,
                "error": error,
            });
            let end = BotEnd {
                room: reply.room.clone(),
                id: reply.id,
                seq: reply.seq,
                rev: 0,
                text,
                finish_reason: FinishReason::Error,
                usage: None,
                error: Some(error),
            };
            let writer = match self.0.writers.get(&reply.room).await {
                Ok(writer) => writer,
                Err(e) => {
                    warn!(
                        room = reply.room,
                        error = e.message,
                        "cannot end an abandoned reply"
                    );
                    continue;
                }
            };
            match writer.finish(end, meta.to_string()).await {
                Ok(_) => ended += 1,
                Err(e) => warn!(
                    room = reply.room,
                    error = e.message,
                    "cannot end an abandoned reply"
                ),
            }
        }
        Ok(ended)
    }
}
