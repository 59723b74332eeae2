//! Each room's bot settings: what applies (the stored values over the server's defaults), who
//! may change them (the room's creator), and which bot answers by default.

use super::Bot;
use crate::{
    store::{StoreError, StoredBotSettings},
    wire::{BotSettings, BotSettingsArgs, ErrorBody, ErrorCode, ReplyMode, SessionBot},
};

/// The longest system prompt a room may set, in characters.
pub const MAX_PROMPT_CHARS: usize = 4_000;
/// The longest model name, in characters.
pub const MAX_MODEL_CHARS: usize = 200;

/// Why the bot did not do what a member asked (settings, regenerate, continue).
#[derive(Debug)]
pub enum BotError {
    /// Refused (bad value, not the creator).
    Refused(ErrorBody),
    /// Storage failed.
    Store(StoreError),
}

impl From<StoreError> for BotError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

fn refused(code: ErrorCode, message: impl Into<String>) -> BotError {
    BotError::Refused(ErrorBody::new(code, message))
}

impl Bot {
    /// Which bot answers when a room names no model.
    pub fn describe(&self) -> SessionBot {
        SessionBot {
            name: self.0.config.name.clone(),
            kind: self.0.backend.kind().to_owned(),
            model: self.0.backend.model().to_owned(),
        }
    }

    /// The settings that apply in `room`: what its creator set, else the server's defaults
    /// (its prompt and model, the model's temperature, `every` in a private bot room and
    /// `mention` elsewhere).
    pub async fn settings(&self, room: &str) -> Result<BotSettings, StoreError> {
        let stored = self.0.store.bot_settings(room).await?;
        let bot_room = matches!(self.0.store.room(room).await?, Some(r) if r.bot);
        Ok(self.resolve(room, stored, bot_room))
    }

    fn resolve(&self, room: &str, stored: StoredBotSettings, bot_room: bool) -> BotSettings {
        let default_mode = if bot_room {
            ReplyMode::Every
        } else {
            ReplyMode::Mention
        };
        BotSettings {
            room: room.to_owned(),
            system_prompt: stored
                .system_prompt
                .unwrap_or_else(|| self.0.config.system_prompt.clone()),
            model: stored
                .model
                .unwrap_or_else(|| self.0.backend.model().to_owned()),
            temperature: stored.temperature,
            reply_mode: stored
                .reply_mode
                .as_deref()
                .and_then(ReplyMode::parse)
                .unwrap_or(default_mode),
        }
    }

    /// Changes the settings of `room` as `user` asks (the room's creator only), stores them
    /// and tells the room's members (`bot:settings`). The next reply uses them.
    pub async fn change_settings(
        &self,
        user: &str,
        args: BotSettingsArgs,
    ) -> Result<BotSettings, BotError> {
        let room = args.room.as_str();
        let creator = self.0.store.room_creator(room).await?;
        if creator.as_deref() != Some(user) {
            return Err(refused(
                ErrorCode::Forbidden,
                "only the room's creator may change its bot settings",
            ));
        }
        let mut stored = self.0.store.bot_settings(room).await?;
        if let Some(prompt) = args.system_prompt {
            if prompt.chars().count() > MAX_PROMPT_CHARS {
                return Err(refused(
                    ErrorCode::BadRequest,
                    format!("systemPrompt is at most {MAX_PROMPT_CHARS} characters"),
                ));
            }
            stored.system_prompt = (!prompt.trim().is_empty()).then_some(prompt);
        }
        if let Some(model) = args.model {
            let model = model.trim();
            if model.chars().count() > MAX_MODEL_CHARS || model.chars().any(char::is_control) {
                return Err(refused(
                    ErrorCode::BadRequest,
                    format!("model is a name of at most {MAX_MODEL_CHARS} characters"),
                ));
            }
            stored.model = (!model.is_empty()).then(|| model.to_owned());
        }
        if let Some(temperature) = args.temperature {
            if temperature.is_some_and(|t| !(0.0..=2.0).contains(&t)) {
                return Err(refused(
                    ErrorCode::BadRequest,
                    "temperature is from 0 to 2, or null for the model's default",
                ));
            }
            stored.temperature = temperature;
        }
        if let Some(mode) = args.reply_mode {
            stored.reply_mode = Some(mode.as_str().to_owned());
        }
        self.0.store.set_bot_settings(room, &stored).await?;
        let bot_room = matches!(self.0.store.room(room).await?, Some(r) if r.bot);
        let settings = self.resolve(room, stored, bot_room);
        self.0.writers.notice(room, "bot:settings", &settings, None);
        Ok(settings)
    }

    /// Whether the bot answers every message in `room` (else only mentions), as its settings
    /// say; a room the bot is not in gets no answers at all.
    pub(super) async fn answers_every(&self, room: &str, bot_room: bool) -> bool {
        match self.0.store.bot_settings(room).await {
            Ok(stored) => self.resolve(room, stored, bot_room).reply_mode == ReplyMode::Every,
            Err(_) => bot_room,
        }
    }
}
