//! The room layer, below the chat and the bot: each active room's task stores its messages
//! (getting their `seq`) and delivers them to the room's sockets in `seq` order, each once.
//!
//! - `hub`: the handle on a room's task and the registry of running rooms.
//! - `task`: the task's loop, its batching writer and its retirement when idle.
//! - `feed`: delivery to the room's sockets: cursors, lag, replay, the bot's stream.
//! - [`keys`]: the names of rooms in socketioxide's adapter.
//! - [`convert`]: stored messages in their wire form.
//!
//! Delivery is per socket, not a socketioxide broadcast, because a broadcast cannot tell which
//! socket refused a packet. socketioxide refuses an emit once `max_buffer_size` packets wait for a
//! socket; a refused socket is marked *lagging*: live messages skip it, its position (`cursor`)
//! stays, and on each tick the hub replays what it missed in `messages` batches (from a ring of
//! recent messages, else from storage) until it is level again. Nothing is dropped, a slow socket
//! never holds up the room, and what waits for it is bounded.
//!
//! With the default (JSON) parser each payload is serialized once per room, not once per
//! recipient (see [`Frame`](crate::flow::Frame)). Every delivery goes through the socket's
//! [`Flow`](crate::flow::Flow), so it counts
//! against the socket's output budget; a socket over it is treated as a full queue.
//!
//! A room with no subscriber, no reply streaming and no handle held elsewhere stops its task
//! after [`IDLE`]; the next use starts a fresh one from storage.

pub mod convert;
mod feed;
mod hub;
pub mod keys;
mod task;

pub use convert::to_wire;
pub use hub::{Hub, Hubs, IDLE};
pub use keys::{room_key, user_room};
