//! Answering a request again: `bot:regenerate` writes a new reply to the message a reply
//! answered, as that message reads now (so editing it first is "edit and resend"), and
//! `bot:continue` writes a reply that carries on one cut short (`length` or `cancelled`).

use tokio_util::sync::CancellationToken;

use super::{Admission, Again, BOT_ID, Bot, BotError, admission::Request};
use crate::{
    store::{MessageStatus, StoredMessage},
    wire::{ErrorBody, ErrorCode},
};

fn refused(code: ErrorCode, message: &str) -> BotError {
    BotError::Refused(ErrorBody::new(code, message))
}

/// What a finished reply's `meta` says about how it ended.
fn finish_reason(reply: &StoredMessage) -> Option<String> {
    let meta: serde_json::Value = serde_json::from_str(reply.meta.as_deref()?).ok()?;
    meta.get("finishReason")?.as_str().map(str::to_owned)
}

impl Bot {
    /// The request to answer again for the reply `id` of `room`, and how: `continues` for
    /// `bot:continue`. Refused when `id` is no finished bot reply, when it says of no request
    /// what it answered (replies written before replies recorded it), when that request is
    /// deleted, and for a continue, when the reply did not end `length` or `cancelled`.
    pub async fn again_for(
        &self,
        room: &str,
        id: &str,
        continues: bool,
    ) -> Result<(StoredMessage, Again), BotError> {
        let reply = self.0.store.message(room, id).await?;
        let Some(reply) = reply.filter(|m| m.user_id == BOT_ID && !m.deleted) else {
            return Err(refused(ErrorCode::NotFound, "no bot reply with that id"));
        };
        if reply.status != MessageStatus::Done {
            return Err(refused(
                ErrorCode::BadRequest,
                "the reply is still being written",
            ));
        }
        let finish = finish_reason(&reply);
        if continues && !matches!(finish.as_deref(), Some("length" | "cancelled")) {
            return Err(refused(
                ErrorCode::BadRequest,
                "only a reply that ended at its length or was cancelled can be continued",
            ));
        }
        let Some(request_id) = reply.links.reply_to.clone() else {
            return Err(refused(
                ErrorCode::BadRequest,
                "this reply does not say which message it answered",
            ));
        };
        let request = self.0.store.message(room, &request_id).await?;
        let Some(request) = request.filter(|m| !m.deleted) else {
            return Err(refused(
                ErrorCode::NotFound,
                "the message this reply answered is gone",
            ));
        };
        let again = if continues {
            Again::Continue {
                reply: reply.id,
                text: reply.text,
            }
        } else {
            Again::Regenerate(reply.id)
        };
        Ok((request, again))
    }

    /// Queues a new answer to `request` (see [`again_for`](Self::again_for)).
    pub async fn submit_again(
        &self,
        mut admission: Admission,
        request: &StoredMessage,
        again: Again,
    ) {
        admission.used = true;
        ::metrics::counter!(crate::metrics::BOT_REQUESTS_TOTAL).increment(1);
        let queued = Request {
            room: admission.room.clone(),
            request_id: request.id.clone(),
            request_seq: request.seq,
            user_id: admission.user_id.clone(),
            cancel: CancellationToken::new(),
            again: Some(again),
        };
        self.enqueue(&admission, queued).await;
    }
}
