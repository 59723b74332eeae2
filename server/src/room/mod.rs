//! The room layer, below the chat and the bot: each room's log of changes, written on one side
//! and delivered on the other, with a bus between them so that a room can live on many nodes.
//!
//! - `writer`: a room's writer on this node. It stores the room's changes in order (sends in
//!   batches), each taking the room's next position in the storing transaction, answers after
//!   the commit, and publishes what it committed on the bus.
//! - [`bus`]: the [`RoomBus`] trait and [`MemoryBus`]: committed log entries and a bot reply's
//!   stream, per room, to every node's feed; the reply's text so far for late feeds.
//! - `feed`: a room's feed on this node. It follows the bus and delivers to this node's
//!   subscribed sockets, each at its own position; a jump in positions is a gap it replays from
//!   storage, so a lost bus message costs latency, never data.
//! - `replay`: bringing a lagging socket level: new messages, then changes, then the stream.
//! - [`sink`]: where a feed delivers ([`Sink`]: a socket and its flow control).
//! - `hub`: the handles the chat and the bot hold ([`Writers`], [`Feeds`]).
//! - [`keys`]: the names of rooms in socketioxide's adapter.
//! - [`convert`]: stored messages (and storage failures) in their wire forms.
//!
//! **Positions.** A room's log counts messages with `seq` (1, 2, 3, … without gaps) and changes
//! with `rev`: every new message, edit, delete and reply end takes the next `rev`. A socket's
//! position is the pair: it has every message up to `seq` and every change up to `rev` to
//! those messages.
//!
//! **Delivery** is per socket, not a socketioxide broadcast, because a broadcast cannot tell
//! which socket refused a packet. socketioxide refuses an emit once `max_buffer_size` packets
//! wait for a socket; a refused socket is marked *lagging*: live entries skip it, its position
//! stays, and on each tick the feed replays what it missed until it is level again. Nothing is
//! dropped, a slow socket never holds up the room, and what waits for it is bounded. With the
//! JSON parser each payload is serialized once per room (see [`Frame`](crate::flow::Frame)).
//!
//! Writers and feeds of a room with nothing to do stop after [`IDLE`]; the next use starts
//! fresh ones from storage. Their command channels hold at most [`COMMANDS`]: beyond that the
//! sender waits (writers and the bot are slowed down, nothing is dropped or grows).

pub mod bus;
pub mod convert;
mod feed;
mod hub;
pub mod keys;
mod registry;
mod reorder;
mod replay;
pub mod sink;
mod writer;

use std::time::Duration;

pub use bus::{MemoryBus, RoomBus};
pub use convert::{store_error, to_wire};
pub use feed::Since;
pub use hub::{Feeds, RoomWriter, Writers};
pub use keys::{chat_room, user_room};
pub use sink::{Sink, SocketSink};

/// How long a room's writer or feed with nothing to do keeps running.
pub const IDLE: Duration = Duration::from_secs(60);

/// Commands that may wait for a room's task.
pub const COMMANDS: usize = 1024;
