//! Posting a message into a room: what a socket's `send` and the HTTP API's message post share
//! (the text rules, the bot's admission before anything is stored, the message as stored, the
//! bot handed its request), so a message from either is stored and delivered alike.

use socketioxide::adapter::Adapter;

use super::Chat;
use crate::{
    bot::Admission,
    clock::now_ms,
    store::{Appended, MessageStatus, NewMessage, StoredMessage},
    wire::{ErrorBody, ErrorCode},
};

/// Whether a message may be stored, as far as the bot is concerned.
pub enum Admit {
    /// Go ahead; with the bot's admission when the message asks the bot.
    Go(Option<Admission>),
    /// The bot refused, but this is a resend of a message already stored: answer with it.
    Stored(Box<StoredMessage>),
}

/// Who writes a message: the author's user id and display name.
#[derive(Debug, Clone, Copy)]
pub struct Author<'a> {
    /// The user id.
    pub user_id: &'a str,
    /// The display name stored with the message.
    pub name: &'a str,
}

impl<A: Adapter> Chat<A> {
    /// A message's text as every send and edit checks it: not blank, no control characters but
    /// tabs and line breaks, at most `--max-message-bytes`.
    pub fn check_text(&self, text: &str) -> Result<(), ErrorBody> {
        if text.trim().is_empty() {
            return Err(ErrorBody::new(ErrorCode::BadRequest, "text is empty"));
        }
        if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(ErrorBody::new(
                ErrorCode::BadRequest,
                "text has control characters (only tabs and line breaks are allowed)",
            ));
        }
        if text.len() > self.limits.max_message_bytes {
            return Err(ErrorBody::new(
                ErrorCode::TooLarge,
                format!("text is over {} bytes", self.limits.max_message_bytes),
            ));
        }
        Ok(())
    }

    /// A request for the bot is admitted (or refused) before anything is stored; a refused
    /// resend of a message already stored gets that message, not the refusal.
    pub async fn admit(
        &self,
        room: &str,
        user_id: &str,
        text: &str,
        client_id: &str,
    ) -> Result<Admit, ErrorBody> {
        if !self.bot.addressed(room, text).await {
            return Ok(Admit::Go(None));
        }
        match self.bot.admit(room, user_id).await {
            Ok(admission) => Ok(Admit::Go(Some(admission))),
            Err(refused) => match self.store.by_client_id(room, user_id, client_id).await {
                Ok(Some(m)) => Ok(Admit::Stored(Box::new(m))),
                _ => Err(refused),
            },
        }
    }

    /// The message to store for `author`, now.
    pub fn new_message(author: Author<'_>, text: String, client_id: String) -> NewMessage {
        NewMessage {
            id: crate::ids::new_id("m_", 16),
            user_id: author.user_id.to_owned(),
            user_name: author.name.to_owned(),
            text,
            ts: now_ms(),
            client_id: Some(client_id),
            status: MessageStatus::Done,
            node: None,
            links: Default::default(),
        }
    }

    /// A message was stored: a new one that asked the bot is its request now.
    pub async fn stored(&self, admission: Option<Admission>, appended: &Appended) {
        if let (Some(admission), Appended::New(m)) = (admission, appended) {
            self.bot.submit(admission, m).await;
        }
    }

    /// Stores `text` by `author` in `room` through the room's writer and delivers it to every
    /// node's members, idempotent by `client_id` per author and room. For callers without a
    /// socket (the HTTP API): no membership or rate check here; the text is checked.
    pub async fn post(
        &self,
        room: &str,
        author: Author<'_>,
        text: String,
        client_id: String,
    ) -> Result<Appended, ErrorBody> {
        self.check_text(&text)?;
        let writer = self.writers.get(room).await?;
        let admission = match self.admit(room, author.user_id, &text, &client_id).await? {
            Admit::Go(admission) => admission,
            Admit::Stored(m) => return Ok(Appended::Duplicate(*m)),
        };
        let appended = writer
            .send(Self::new_message(author, text, client_id))
            .await?;
        self.stored(admission, &appended).await;
        Ok(appended)
    }
}
