//! Payload shapes shared by handlers: the chat protocol of `docs/PROTOCOL.md`. Only this module
//! derives Serialize/Deserialize for what travels over Socket.IO.
//!
//! - [`admin`]: what the `/admin` namespace sends the socket.io Admin UI.
//! - [`args`]: a tuple-like list of an event's arguments.
//! - [`envelope`]: `{ ok, data | error }` and the error codes.
//! - [`events`]: what clients send.
//! - [`notices`]: what the server answers and emits about rooms, messages, presence, receipts.
//! - [`bot`]: the chatbot's events.
//! - [`settings`]: the chatbot's settings, regenerate, continue and usage.

pub mod admin;
pub mod args;
pub mod bot;
pub mod envelope;
pub mod events;
pub mod notices;
pub mod settings;

pub use args::Args;
pub use bot::*;
pub use envelope::*;
pub use events::*;
pub use notices::*;
pub use settings::*;
